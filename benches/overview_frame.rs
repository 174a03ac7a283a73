//! CPU time of one frame in a headless egui context, with a real activated license, for every
//! screen: the Overview; the Users screen with 100,000 users (still, and while scrolling); the
//! Allocations screen with 100 groups and 10,000 devices; Offline, Sessions, each part of
//! History (with the product database's audit log) and Settings. The goal (issue 28): every
//! screen at most 1 ms a frame, the Overview at most 50 µs.

use std::hint::black_box;
use std::sync::Arc;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure::gui::app::TenureApp;
use tenure::gui::model::{Prefs, Screen};
use tenure::gui::screens::history::HistoryTab;
use tenure::gui::screens::users_state::Loaded;
use tenure::gui::worker::snapshot;
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::directory::{Actor, Change, Directory, SeatLimit};

#[expect(
    clippy::too_many_lines,
    reason = "one set-up, then one screen after another, read top to bottom"
)]
fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server_dir = tempfile::tempdir().expect("dir");
    let sandbox = runtime
        .block_on(tenure_server::sandbox::Sandbox::start_sqlite(
            server_dir.path(),
        ))
        .expect("server");
    let mut terms = tenure_server::sandbox::sample_terms("Acme Offshore");
    terms.modules = vec![tenure_core::Module {
        name: "Inspect".into(),
        validity: terms.validity,
    }];
    terms.quantities = vec![
        "users:10:named".parse().expect("quantity"),
        "devices:20000:device".parse().expect("quantity"),
    ];
    let issued = runtime
        .block_on(sandbox.issue("acme", &terms))
        .expect("license");
    let home = tempfile::tempdir().expect("dir");
    let mut ws = Workstation::open(
        Profile::at(home.path()),
        SecretStore::memory(),
        tenure_client::Roots::pinned_from_text(&sandbox.root_public_key()).expect("roots"),
    )
    .expect("open");
    let api = tenure_client::ApiClient::new(&sandbox.url()).expect("client");
    let spec = tenure_client::product_db::DbSpec::Sqlite(home.path().join("prod.db"));
    runtime
        .block_on(ws.connect_db(&spec, Utc::now()))
        .expect("product database");
    let binding = ws.database().current_binding().expect("binding");
    runtime
        .block_on(ws.activate(&api, &issued.key, binding, Utc::now()))
        .expect("activate");

    let mut app = TenureApp::new(None, Prefs::default(), None);
    app.model.snapshot = Some(runtime.block_on(snapshot(&ws)));
    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1024.0, 700.0),
        )),
        ..Default::default()
    };
    // Warm up fonts and layout caches as a running window would have.
    for _ in 0..3 {
        let _ = ctx.run_ui(input(), |ui| app.ui_root(ui));
    }
    c.bench_function("overview_frame_1024x700", |b| {
        b.iter(|| black_box(ctx.run_ui(input(), |ui| app.ui_root(ui))));
    });
    // The floor, in the same run: egui alone drawing a window of the same shape (a sidebar of
    // eight screens, a status strip, a heading and twenty lines), so a figure on a slower or
    // busier machine can be read as a ratio.
    let floor = egui::Context::default();
    c.bench_function("egui_floor_frame_1024x700", |b| {
        b.iter(|| black_box(floor.run_ui(input(), floor_window)));
    });

    // The Users screen over 100,000 users (10 named seats held).
    let mut changes: Vec<Change> = (0..USERS)
        .map(|i| Change::Add {
            login: format!("user{i:05}"),
            name: format!("User {i}"),
            email: format!("user{i:05}@example.com"),
        })
        .collect();
    changes.extend((0..10).map(|i| Change::Assign {
        login: format!("user{i:05}"),
    }));
    let actor = Actor {
        login: "it".into(),
        host: "ws".into(),
    };
    let directory = Directory::empty()
        .apply(&changes, &SeatLimit::Named(10), &actor, Utc::now())
        .expect("directory")
        .directory;
    app.model.prefs.screen = Screen::Users;
    app.screens.users.state.on_loaded(Ok(Loaded {
        directory: Arc::new(directory),
        limit: SeatLimit::Named(10),
    }));
    for _ in 0..3 {
        let _ = ctx.run_ui(input(), |ui| app.ui_root(ui));
    }
    c.bench_function("users_frame_100000_users", |b| {
        b.iter(|| black_box(ctx.run_ui(input(), |ui| app.ui_root(ui))));
    });
    // Scrolling: the pointer over the table and a wheel step every frame.
    let scrolling = || {
        let mut raw = input();
        raw.events = vec![
            egui::Event::PointerMoved(egui::pos2(500.0, 400.0)),
            egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: egui::vec2(0.0, -40.0),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: egui::Modifiers::NONE,
            },
        ];
        raw
    };
    c.bench_function("users_frame_100000_users_scrolling", |b| {
        b.iter(|| black_box(ctx.run_ui(scrolling(), |ui| app.ui_root(ui))));
    });

    // The Allocations screen: 10 tenants with 9 sites each (100 groups), 10,000 devices.
    runtime.block_on(allocations_of_a_fleet(&ws));
    let overview = runtime
        .block_on(ws.allocations().overview(Utc::now()))
        .expect("overview");
    app.model.prefs.screen = Screen::Allocations;
    app.screens
        .allocations
        .state
        .on_loaded(Ok(Arc::new(overview)));
    app.screens.allocations.state.quantity = 1;
    for _ in 0..3 {
        let _ = ctx.run_ui(input(), |ui| app.ui_root(ui));
    }
    c.bench_function("allocations_frame_100_groups_10000_devices", |b| {
        b.iter(|| black_box(ctx.run_ui(input(), |ui| app.ui_root(ui))));
    });

    // The other screens, over the same workstation (its audit log now holds the fleet's
    // events).
    app.model.snapshot = Some(runtime.block_on(snapshot(&ws)));
    let others = [
        ("offline", Screen::Offline, HistoryTab::Grace),
        ("sessions", Screen::Sessions, HistoryTab::Grace),
        ("history_grace", Screen::History, HistoryTab::Grace),
        ("history_seats", Screen::History, HistoryTab::Seats),
        ("history_audit", Screen::History, HistoryTab::Audit),
        ("settings", Screen::Settings, HistoryTab::Grace),
    ];
    for (name, screen, tab) in others {
        app.model.prefs.screen = screen;
        app.screens.history.tab = tab;
        for _ in 0..3 {
            let _ = ctx.run_ui(input(), |ui| app.ui_root(ui));
        }
        c.bench_function(&format!("{name}_frame"), |b| {
            b.iter(|| black_box(ctx.run_ui(input(), |ui| app.ui_root(ui))));
        });
    }
}

/// egui alone: the shape of Tenure's window with nothing of Tenure's in it.
fn floor_window(ui: &mut egui::Ui) {
    egui::Panel::left("floor-side").show(ui, |ui| {
        for screen in 0..8 {
            let _ = ui.selectable_label(screen == 0, format!("Screen {screen}"));
        }
    });
    egui::Panel::bottom("floor-status").show(ui, |ui| {
        ui.label("status");
    });
    egui::CentralPanel::default().show(ui, |ui| {
        ui.heading("Heading");
        for line in 0..20 {
            ui.label(format!("Line {line} of the floor's content"));
        }
    });
}

/// The users of the Users screen's benchmark.
const USERS: usize = 100_000;

async fn allocations_of_a_fleet(ws: &Workstation) {
    use tenure_client::product_db::{AllocationChange as C, GroupKind};
    use tenure_core::allocation::Share;
    let mut changes = Vec::new();
    for t in 0..10 {
        let tenant = format!("tenant-{t}");
        changes.push(C::AddGroup {
            name: tenant.clone(),
            kind: GroupKind::Tenant,
            tenant: String::new(),
        });
        changes.push(C::Allocate {
            quantity: "devices".into(),
            group: tenant.clone(),
            share: Some(Share::Fixed(1800)),
        });
        for site in 0..9 {
            let name = format!("{tenant}-site-{site}");
            changes.push(C::AddGroup {
                name: name.clone(),
                kind: GroupKind::Site,
                tenant: tenant.clone(),
            });
            changes.push(C::Allocate {
                quantity: "devices".into(),
                group: name,
                share: Some(Share::Fixed(200)),
            });
        }
    }
    changes.extend((0..10_000).map(|i| C::AssignDevice {
        id: format!("pc-{i:05}"),
        device_type: "devices".into(),
        group: format!("tenant-{}-site-{}", i % 10, (i / 10) % 9),
    }));
    ws.allocations()
        .save(None, &changes, None, Utc::now())
        .await
        .expect("allocations");
}

criterion_group!(gui, benches);
criterion_main!(gui);
