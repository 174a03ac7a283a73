//! Journeys counted in clicks, as a person makes them: what a request needs is asked for in
//! the dialog that needs it, the first field has the keyboard, Tab goes on to the next, and
//! nobody is sent to Settings and back.

use super::support::*;
use tenure_client::product_db::DbSpec;

/// The clicks a journey took.
#[derive(Default)]
struct Clicks(u32);

impl Clicks {
    /// Clicks the control labelled `label`, counted.
    fn on(&mut self, h: &mut Harness<'static, TenureApp>, label: &str) {
        h.get_by_label(label).click();
        self.0 += 1;
        h.run_steps(2);
    }

    /// Clicks the control whose label contains `part`, counted.
    fn on_containing(&mut self, h: &mut Harness<'static, TenureApp>, part: &str) {
        h.get_by_label_contains(part).click();
        self.0 += 1;
        h.run_steps(2);
    }
}

/// Types `text` into the field that has the keyboard, which must be the one labelled `label`:
/// no click was needed to get there.
fn type_into_focused(h: &mut Harness<'static, TenureApp>, label: &str, text: &str) {
    assert!(
        h.get_by_label(label).is_focused(),
        "the field \"{label}\" should have the keyboard"
    );
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

/// Tab: the keyboard goes on to the next field.
fn tab(h: &mut Harness<'static, TenureApp>) {
    h.key_press(egui::Key::Tab);
    h.run_steps(1);
}

#[test]
fn an_engineer_gets_from_an_empty_profile_to_a_valid_license_and_45_days_offline_in_at_most_8_clicks()
 {
    let (setup, _) = setup(false, chrono::Duration::zero());
    // An empty profile: no server, nobody signed in; the product gives its database with --db.
    let home = tempfile::tempdir().unwrap();
    let profile = Profile::at(home.path());
    let ws = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        tenure_client::Roots::pinned_from_text(&setup.sandbox.root_public_key()).unwrap(),
    )
    .unwrap();
    let db = DbSpec::Sqlite(home.path().join("product.db"));
    let ws = tenure::gui::apply_flags(ws, None, Some(db)).unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Database)
    });
    let mut clicks = Clicks::default();

    clicks.on(&mut h, "Request a license…");
    // No server is set: the dialog asks for it, first, with the keyboard there.
    type_into_focused(&mut h, "License server", &setup.sandbox.url());
    tab(&mut h);
    type_into_focused(&mut h, "License key (13 digits)", &setup.issued.key);
    h.get_by_label_contains("the check digit is right");
    clicks.on(&mut h, "Activate");
    wait_for(&mut h, "the activation", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Activate)
    });
    let status = status_of(h.state()).unwrap();
    assert!(
        status.is_licensed(),
        "{status:?} {:?}",
        h.state().model.toast
    );
    assert!(!h.state().screens.activation.form.open, "the dialog closed");

    // Going offshore for 45 days with 30 days of grace: the planner asks, signing in there.
    clicks.on(&mut h, "I will be offline for");
    h.get_by_label("I will be offline for").type_text("45");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().model.prefs.planned_offline_days, 45);
    h.get_by_label_contains("Your grace ends 15 days before you are back");
    clicks.on(&mut h, "Account");
    h.get_by_label("Account").type_text("acme");
    h.run_steps(1);
    tab(&mut h);
    type_into_focused(&mut h, "Account token", &setup.issued.account_token);
    clicks.on_containing(&mut h, "Sign in and request extension to 46 days");
    wait_for(&mut h, "the extension", |app| {
        idle(app) && app.model.completed.contains(&JobKind::ExtendGrace)
    });
    assert_eq!(
        days_left(h.state()),
        Some(46),
        "{:?}",
        h.state().model.toast
    );
    h.get_by_label_contains("Your grace covers the trip");
    assert_eq!(
        h.state()
            .model
            .snapshot
            .as_ref()
            .unwrap()
            .account
            .as_deref(),
        Some("acme"),
        "signed in on the way"
    );
    // The status strip follows the requests that reached the server.
    h.get_by_label_contains("server reachable");
    assert!(clicks.0 <= 8, "{} clicks", clicks.0);
    drop(h);
    drop(setup);
}

/// An activated workstation whose database is restored as another file, and the window
/// started on that copy with --db, its database connected.
fn window_on_a_restored_database() -> (Setup, Harness<'static, TenureApp>) {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    setup.runtime.block_on(ws.close());
    let restored = setup.home.path().join("restored.db");
    std::fs::copy(setup.home.path().join("prod.db"), &restored).unwrap();
    let ws = tenure::gui::apply_flags(ws, None, Some(DbSpec::Sqlite(restored))).unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Database)
    });
    (setup, h)
}

#[test]
fn it_moves_the_license_to_a_restored_database_in_at_most_3_clicks_signing_in_on_the_way() {
    let (setup, mut h) = window_on_a_restored_database();
    h.get_by_label("✖ This database is not the one the license was validated for");
    // Validating cannot help here, so it is not offered, and the headline is not said twice.
    assert!(h.query_by_label("Validate now").is_none());
    assert!(
        h.query_by_label_contains("re-validate to move the license here")
            .is_none()
    );
    let mut clicks = Clicks::default();
    clicks.on(&mut h, "Re-validate online");
    h.get_by_label_contains("This license can move 3 times in any 30 days");
    type_into_focused(&mut h, "Account", "acme");
    tab(&mut h);
    type_into_focused(&mut h, "Account token", &setup.issued.account_token);
    clicks.on(&mut h, "Move the license");
    wait_for(&mut h, "the move", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Rebind)
    });
    let status = status_of(h.state()).unwrap();
    assert!(
        status.is_licensed(),
        "{status:?} {:?}",
        h.state().model.toast
    );
    let licenses = setup
        .runtime
        .block_on(setup.sandbox.vendor().accounts().licenses("acme"))
        .unwrap();
    assert_eq!(licenses[0].binding.as_ref().unwrap().database, "restored");
    assert!(clicks.0 <= 3, "{} clicks", clicks.0);
    drop(h);
    drop(setup);
}

#[test]
fn a_wrong_token_in_the_move_dialog_moves_nothing_and_says_why() {
    let (setup, mut h) = window_on_a_restored_database();
    h.get_by_label("Re-validate online").click();
    h.run_steps(2);
    type_into_focused(&mut h, "Account", "acme");
    tab(&mut h);
    type_into_focused(&mut h, "Account token", "not-the-token");
    h.get_by_label("Move the license").click();
    wait_for(&mut h, "the refusal", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Rebind)
    });
    h.get_by_label_contains("did not accept account acme");
    assert!(matches!(
        status_of(h.state()),
        Some(tenure_core::Status::BindingMismatch { .. })
    ));
    let licenses = setup
        .runtime
        .block_on(setup.sandbox.vendor().accounts().licenses("acme"))
        .unwrap();
    assert_eq!(licenses[0].binding.as_ref().unwrap().database, "prod");
    assert_eq!(h.state().model.snapshot.as_ref().unwrap().account, None);
    drop(h);
    drop(setup);
}
