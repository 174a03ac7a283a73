//! Helpers: a real in-process license server, a workstation on a temp profile with the real
//! keyring, and the window around it in `egui_kittest`.

pub use std::time::{Duration, Instant};

pub use chrono::Utc;
pub use egui_kittest::Harness;
pub use egui_kittest::kittest::{NodeT as _, Queryable as _};
pub use tenure::gui::app::TenureApp;
pub use tenure::gui::model::Prefs;
pub use tenure::gui::worker::{JobKind, Worker};
pub use tenure_client::{Credentials, Profile, SecretStore, Workstation};
pub use tenure_server::sandbox::{Issued, Sandbox, sample_terms};

pub struct Setup {
    pub runtime: tokio::runtime::Runtime,
    pub sandbox: Sandbox,
    pub issued: Issued,
    pub _server_dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

/// The real keyring for a fresh profile, or a failure that says what to install.
pub fn keyring_for(profile: &Profile) -> SecretStore {
    // Each profile plays a machine of its own: its machine-wide entries (clock mark,
    // revocations) apart from other tests'.
    let machine = format!("machine-{}", profile.keyring_namespace());
    let store = SecretStore::keyring_on(profile.keyring_namespace(), &machine);
    store
        .probe()
        .unwrap_or_else(|e| panic!("{e}\n{}", tenure_testkit::KEYRING_HINT));
    store
}

/// A server with one license, and a workstation that trusts it (activated when `activate`).
pub fn setup(activate: bool, clock_offset: chrono::Duration) -> (Setup, Workstation) {
    setup_with(&sample_terms("Acme Offshore"), activate, clock_offset)
}

/// As [`setup`], with a license of these terms.
pub fn setup_with(
    terms: &tenure_core::LicenseTerms,
    activate: bool,
    clock_offset: chrono::Duration,
) -> (Setup, Workstation) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server_dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start_sqlite(server_dir.path()))
        .unwrap();
    let issued = runtime.block_on(sandbox.issue("acme", terms)).unwrap();
    let profile = Profile::at(home.path());
    let mut ws = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        tenure_client::Roots::pinned_from_text(&sandbox.root_public_key()).unwrap(),
    )
    .unwrap();
    ws.update_settings(|s| s.server_url = Some(sandbox.url()))
        .unwrap();
    // The product database is prod.db in the profile: the binding comes from it.
    let spec = tenure_client::product_db::DbSpec::Sqlite(home.path().join("prod.db"));
    ws.configure().choose_database(&spec).unwrap();
    runtime.block_on(ws.connect_db(&spec, Utc::now())).unwrap();
    if activate {
        sandbox.set_clock_offset(clock_offset);
        let api = ws.server().api(None).unwrap();
        let binding = ws.database().current_binding().unwrap();
        runtime
            .block_on(ws.activate(&api, &issued.key, binding, Utc::now()))
            .unwrap();
        sandbox.set_clock_offset(chrono::Duration::zero());
    }
    (
        Setup {
            runtime,
            sandbox,
            issued,
            _server_dir: server_dir,
            home,
        },
        ws,
    )
}

pub fn harness(ws: Workstation) -> Harness<'static, TenureApp> {
    let app = TenureApp::new(Some(Worker::spawn(ws).unwrap()), Prefs::default(), None);
    Harness::builder()
        .with_size([1024.0, 700.0])
        .build_ui_state(|ui, app: &mut TenureApp| app.ui_root(ui), app)
}

/// Steps the UI until `done` holds, failing after 60 s: a fresh machine's first run builds its
/// font cache and starts its keyring while two tests draw at once, and a wait that holds
/// returns at once (one run on a fresh machine took over 20 s).
pub fn wait_for(
    harness: &mut Harness<'_, TenureApp>,
    what: &str,
    done: impl Fn(&TenureApp) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "timed out waiting for {what}; busy {:?}, completed {:?}, message {:?}, notices {:?}",
            harness.state().model.busy.keys().collect::<Vec<_>>(),
            harness.state().model.completed,
            harness
                .state()
                .model
                .toast
                .as_ref()
                .map(|t| (t.tone, &t.text)),
            harness
                .state()
                .model
                .notices
                .values()
                .map(|n| &n.text)
                .collect::<Vec<_>>(),
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

pub fn idle(app: &TenureApp) -> bool {
    app.model.snapshot.is_some() && app.model.busy.is_empty()
}

/// The license's status as the window last computed it.
pub fn status_of(app: &TenureApp) -> Option<tenure_core::Status> {
    let report = app.model.snapshot.as_ref()?.report.as_ref().ok()?;
    Some(report.status.clone())
}

pub fn days_left(app: &TenureApp) -> Option<u32> {
    let report = app.model.snapshot.as_ref()?.report.as_ref().ok()?;
    report.status.grace().map(|g| g.days_left)
}

/// An activated workstation (10 named seats) whose database lists `seated` users holding seats
/// and `free` users without, and the window open on the Users screen with them loaded.
pub fn users_screen(seated: &[&str], free: &[&str]) -> (Setup, Harness<'static, TenureApp>) {
    let (setup, harness, _) = users_screen_with_admin(seated, free);
    (setup, harness)
}

/// As [`users_screen`], plus a second handle on the same workstation: another admin.
pub fn users_screen_with_admin(
    seated: &[&str],
    free: &[&str],
) -> (Setup, Harness<'static, TenureApp>, Workstation) {
    use tenure_core::directory::Change;
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut changes: Vec<Change> = seated
        .iter()
        .chain(free)
        .map(|login| Change::Add {
            login: (*login).into(),
            name: format!("{login} name"),
            email: String::new(),
        })
        .collect();
    changes.extend(seated.iter().map(|login| Change::Assign {
        login: (*login).into(),
    }));
    setup
        .runtime
        .block_on(
            ws.named_seats()
                .change_users(&changes, Utc::now() - chrono::Duration::hours(1)),
        )
        .unwrap();
    let other_admin = ws.clone();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Users").click();
    wait_for(&mut h, "users loaded", |app| {
        app.screens.users.state.loaded.is_some() && idle(app)
    });
    (setup, h, other_admin)
}

/// The directory as the window last loaded or saved it.
pub fn saved_directory(
    h: &Harness<'_, TenureApp>,
) -> std::sync::Arc<tenure_core::directory::Directory> {
    let loaded = h.state().screens.users.state.loaded.as_ref();
    loaded.expect("users loaded").directory.clone()
}

pub fn saved(app: &TenureApp) -> bool {
    app.screens.users.state.unsaved() == 0
        && app.model.completed.contains(&JobKind::SaveUsers)
        && idle(app)
}

#[derive(Debug)]
pub struct Dropped(pub std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}
