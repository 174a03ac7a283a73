//! Every screen at every size a window is opened at, from 800×600 to 2560×1440 and at 150%
//! scale: nothing runs off the window's side, no two texts overlap (a cell cut short by its
//! column would), and every control can be scrolled into view.

use super::support::*;
use egui::accesskit::Role;
use tenure::gui::model::Screen;
use tenure::gui::screens::history::HistoryTab;

/// One view of a screen: the screen, and which part of it.
#[derive(Debug, Clone, Copy)]
enum View {
    Screen(Screen),
    History(HistoryTab),
    /// The Allocations screen on its n-th quantity.
    Quantity(usize),
    /// The Allocations screen as a tenant's admin.
    Tenant,
    /// The Request-a-license dialog over the Overview.
    RequestDialog,
}

/// Every view checked.
fn views() -> Vec<View> {
    let mut views: Vec<View> = Screen::ALL
        .into_iter()
        .filter(|s| !matches!(s, Screen::History | Screen::Allocations))
        .map(View::Screen)
        .collect();
    views.extend([HistoryTab::Grace, HistoryTab::Seats, HistoryTab::Audit].map(View::History));
    views.extend((0..3).map(View::Quantity));
    views.extend([View::Tenant, View::RequestDialog]);
    views
}

/// Shows `view`.
fn show(h: &mut Harness<'static, TenureApp>, view: View) {
    let app = h.state_mut();
    app.screens.activation.form.open = false;
    app.screens.allocations.state.acting_tenant = None;
    match view {
        View::Screen(screen) => app.model.prefs.screen = screen,
        View::History(tab) => {
            app.model.prefs.screen = Screen::History;
            app.screens.history.tab = tab;
        }
        View::Quantity(n) => {
            app.model.prefs.screen = Screen::Allocations;
            app.screens.allocations.state.quantity = n;
        }
        View::Tenant => {
            app.model.prefs.screen = Screen::Allocations;
            app.screens.allocations.state.quantity = 2;
            app.screens.allocations.state.acting_tenant = Some("Contoso".into());
        }
        View::RequestDialog => {
            app.model.prefs.screen = Screen::Overview;
            app.screens.activation.form.open = true;
        }
    }
}

/// The sizes checked, in points (the window's pixels over its scale), with the scale: the
/// smallest window, the smallest at 150%, a laptop at 150%, a large monitor.
const SIZES: [(f32, f32, f32); 4] = [
    (800.0, 600.0, 1.0),
    (800.0, 600.0, 1.5),
    (1280.0, 720.0, 1.5),
    (2560.0, 1440.0, 1.0),
];

/// A workstation with a license of several quantities, 60 users (some seated), groups with
/// shares and devices that connected: every screen has something to show.
fn busy_workstation() -> (Setup, Workstation) {
    use tenure_client::product_db::{AllocationChange, GroupKind};
    use tenure_core::allocation::Share;
    use tenure_core::directory::Change;
    let mut terms = sample_terms("Acme Offshore Drilling Services");
    terms.seats = 40;
    terms.quantities = vec![
        "users:40:named".parse().unwrap(),
        "connections:10:concurrent".parse().unwrap(),
        "servers:300:device".parse().unwrap(),
    ];
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    let now = Utc::now();
    let mut changes: Vec<Change> = (0..60)
        .map(|i| Change::Add {
            login: format!("user{i:02}"),
            name: format!("Engineer Number {i} Of The Night Shift"),
            email: format!("user{i:02}@offshore.example.com"),
        })
        .collect();
    changes.extend((0..30).map(|i| Change::Assign {
        login: format!("user{i:02}"),
    }));
    setup
        .runtime
        .block_on(ws.named_seats().change_users(&changes, now))
        .unwrap();
    let group = |name: &str, kind, tenant: &str| AllocationChange::AddGroup {
        name: name.into(),
        kind,
        tenant: tenant.into(),
    };
    let share = |quantity: &str, group: &str, n| AllocationChange::Allocate {
        quantity: quantity.into(),
        group: group.into(),
        share: Some(Share::Fixed(n)),
    };
    let plan = [
        group("North Sea Operations", GroupKind::Site, ""),
        share("servers", "North Sea Operations", 200),
        group("Contoso", GroupKind::Tenant, ""),
        share("servers", "Contoso", 50),
        group("Reservoir engineering", GroupKind::Role, ""),
        share("connections", "Reservoir engineering", 4),
    ];
    setup
        .runtime
        .block_on(ws.allocations().save(None, &plan, None, now))
        .unwrap();
    for i in 0..40 {
        setup
            .runtime
            .block_on(ws.allocations().register_device(
                &format!("rig-{i:03}.north-sea.offshore.example.com"),
                "servers",
                now,
            ))
            .unwrap();
    }
    (setup, ws)
}

/// A text or control on screen: what it says, its role, the rect it wants and the part of
/// it its clip rect lets show.
struct Shown {
    text: String,
    role: Role,
    rect: egui::Rect,
    visible: egui::Rect,
    layer: egui::LayerId,
}

/// Each node that carries text or takes input, with its full rect and the part that shows.
fn shown(h: &Harness<'static, TenureApp>) -> Vec<Shown> {
    let widgets = h.ctx.viewport(|vp| vp.prev_pass.widgets.clone());
    let by_id: std::collections::HashMap<u64, egui::WidgetRect> = widgets
        .layers()
        .flat_map(|(_, rects)| rects.iter().map(|w| (w.id.value(), *w)))
        .collect();
    h.query_all(egui_kittest::kittest::by().predicate(|_| true))
        .filter_map(|node| {
            let ak = node.accesskit_node();
            let role = ak.role();
            let text = ak.label().or_else(|| ak.value()).unwrap_or_default();
            let interesting = matches!(
                role,
                Role::Label
                    | Role::Button
                    | Role::TextInput
                    | Role::CheckBox
                    | Role::ComboBox
                    | Role::Link
                    | Role::RadioButton
                    | Role::SpinButton
            );
            if !interesting || text.trim().is_empty() {
                return None;
            }
            let widget = by_id.get(&ak.locate().0.0)?;
            Some(Shown {
                text,
                role,
                rect: widget.rect,
                visible: widget.interact_rect,
                layer: widget.layer_id,
            })
        })
        .collect()
}

/// What is wrong with the screen shown at `size`: a text or control cut short at its side
/// (by a column or the window), texts that overlap.
fn faults(h: &Harness<'static, TenureApp>, size: egui::Vec2) -> Vec<String> {
    let nodes = shown(h);
    let mut faults = Vec::new();
    for node in &nodes {
        let (rect, visible) = (node.rect, node.visible);
        // Scrolled out of view up or down is fine; cut at the side is not.
        let cut = visible.is_positive()
            && (rect.max.x > visible.max.x + 1.0 || rect.min.x < visible.min.x - 1.0);
        if cut || rect.max.x > size.x + 1.0 {
            faults.push(format!(
                "{:?} \"{}\" is cut at the side: it needs {:.0}..{:.0}, shows {:.0}..{:.0}",
                node.role, node.text, rect.min.x, rect.max.x, visible.min.x, visible.max.x
            ));
        }
    }
    for (i, a) in nodes.iter().enumerate() {
        for b in &nodes[i + 1..] {
            let overlap = a.visible.intersect(b.visible);
            // Containers label their children's rects too: only texts side by side count; a
            // dialog lies over the screen on a layer of its own.
            if a.layer == b.layer
                && overlap.is_positive()
                && overlap.area() > 20.0
                && !a.visible.contains_rect(b.visible)
                && !b.visible.contains_rect(a.visible)
            {
                faults.push(format!(
                    "\"{}\" {:?} overlaps \"{}\" {:?}",
                    a.text, a.visible, b.text, b.visible
                ));
            }
        }
    }
    faults
}

#[test]
fn every_screen_fits_every_size() {
    let (setup, ws) = busy_workstation();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    let dump = std::env::var_os("TENURE_SIZES_DUMP").map(std::path::PathBuf::from);
    let mut all = Vec::new();
    for (w, hgt, scale) in SIZES {
        // The scale first: changing it resizes the window to keep its pixels.
        h.set_pixels_per_point(scale);
        h.run_steps(2);
        h.set_size(egui::vec2(w, hgt));
        h.run_steps(2);
        let screen = h.ctx.viewport_rect();
        assert_eq!(
            screen.size(),
            egui::vec2(w, hgt),
            "the window's size in points"
        );
        for view in views() {
            show(&mut h, view);
            wait_for(&mut h, "the screen loaded", |app| {
                let screen = app.model.prefs.screen;
                idle(app)
                    && (screen != Screen::Allocations
                        || app.screens.allocations.state.loaded().is_some())
                    && (screen != Screen::Users || app.screens.users.state.loaded.is_some())
            });
            h.run_steps(3);
            if let Some(dir) = &dump {
                std::fs::create_dir_all(dir).unwrap();
                let image = h.render().unwrap();
                image
                    .save(dir.join(format!("{view:?}-{w}x{hgt}@{scale}.png")))
                    .unwrap();
            }
            for fault in faults(&h, egui::vec2(w, hgt)) {
                all.push(format!("{view:?} at {w}×{hgt} ×{scale}: {fault}"));
            }
        }
    }
    assert!(all.is_empty(), "{} faults:\n{}", all.len(), all.join("\n"));
    drop(setup);
}
