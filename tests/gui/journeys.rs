//! Whole journeys as users make them, with no desktop portal: the database given on the
//! command line, files by typed path, sign-in checked by the server, messages that replace each
//! other and never move the content.

use super::support::*;
use tenure_client::product_db::DbSpec;

/// These journeys click buttons that would open a native file dialog: they need a session with
/// none (scripts/with-keyring runs one with no desktop portal).
fn no_file_dialog_here() {
    if let Ok(()) = tenure::gui::files::native_dialog_available() {
        panic!(
            "a desktop file dialog is available in this session: run the tests under scripts/with-keyring (a session bus with no xdg-desktop-portal, and no zenity)"
        );
    }
}

/// The window shows one trusted vendor root.
fn trusts_one_root(app: &TenureApp) -> bool {
    app.model
        .snapshot
        .as_ref()
        .is_some_and(|s| s.roots.len() == 1)
}

/// A workstation on `home` with no vendor roots built in (a development build), as the CLI
/// binary of the tests is.
fn development_workstation(home: &std::path::Path) -> Workstation {
    let profile = Profile::at(home);
    Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        tenure_client::Roots::Development,
    )
    .unwrap()
}

#[test]
fn a_restored_postgresql_database_given_by_tenure_db_is_back_to_valid_in_three_clicks() {
    let pg = tenure_testkit::PgCluster::start();
    let prod = pg.create_database("prod");
    let (setup, mut ws) = setup(false, chrono::Duration::zero());
    // Licensed on PostgreSQL database `prod`, the one saved in Settings.
    let prod_spec = DbSpec::parse(&prod).unwrap();
    ws.configure().choose_database(&prod_spec).unwrap();
    setup
        .runtime
        .block_on(ws.connect_db(&prod_spec, Utc::now()))
        .unwrap();
    let binding = ws.database().current_binding().unwrap();
    let api = ws.server().api(None).unwrap();
    setup
        .runtime
        .block_on(ws.activate(&api, &setup.issued.key, binding, Utc::now()))
        .unwrap();
    ws.server()
        .login(&Credentials {
            account: "acme".into(),
            token: setup.issued.account_token.clone(),
        })
        .unwrap();
    setup.runtime.block_on(ws.close());
    // IT restores it as `restored` and starts the window with TENURE_DB pointing there.
    let out = pg.tool("createdb", &["-T", "prod", "restored"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = DbSpec::parse(&pg.url("restored")).unwrap();
    let ws = tenure::gui::apply_flags(ws, None, Some(restored)).unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Database)
    });
    // The database in use is in view, and the license is not valid here yet.
    h.get_by_label_contains("restored on");
    h.get_by_label("✖ This database is not the one the license was validated for");
    // Click 1: asks first, naming both sides and the moves left.
    h.get_by_label("Re-validate online").click();
    wait_for(&mut h, "the moves left", |app| {
        idle(app) && app.model.account_licenses.is_some()
    });
    h.get_by_label_contains("Move the license from");
    h.get_by_label_contains("/ prod to");
    h.get_by_label_contains("/ restored?");
    h.get_by_label_contains("3 of 3 moves left in any 30 days");
    // Click 2: moved.
    h.get_by_label("Move the license").click();
    wait_for(&mut h, "the move", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Rebind)
    });
    let status = status_of(h.state()).unwrap();
    assert!(
        status.is_licensed(),
        "{status:?} {:?}",
        h.state().model.toast
    );
    h.get_by_label("✔ Licensed — valid");
    // The server now binds it to `restored`; Settings still names `prod` for later runs.
    let licenses = setup
        .runtime
        .block_on(setup.sandbox.vendor().accounts().licenses("acme"))
        .unwrap();
    let binding = licenses[0].binding.clone().unwrap();
    assert_eq!(binding.database, "restored");
    assert_eq!(licenses[0].rebinds_left, Some(2));
    let saved =
        tenure_client::Settings::load(&setup.home.path().join("config/settings.ron")).unwrap();
    assert!(
        saved.db.as_deref().is_some_and(|db| db.ends_with("/prod")),
        "{:?}",
        saved.db
    );
    drop(h);
    drop(setup);
}

/// Types `path` into the path field shown where no dialog could open, then clicks `button`.
fn type_path(h: &mut Harness<'static, TenureApp>, path: &std::path::Path, button: &str) {
    wait_for(h, "the path field", |app| app.model.files.typing.is_some());
    h.get_by_label_contains("No file dialog can open here");
    h.get_by_label("File path").click();
    h.run_steps(1);
    h.get_by_label("File path")
        .type_text(&path.display().to_string());
    h.run_steps(1);
    h.get_by_label(button).click();
    h.run_steps(1);
}

#[test]
fn with_no_file_dialog_a_key_a_csv_and_an_answer_are_opened_by_typed_path() {
    no_file_dialog_here();
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let request = setup
        .runtime
        .block_on(
            ws.offline_files()
                .offline_request(&tenure_client::OfflineWish::Extend(60), Utc::now()),
        )
        .unwrap();
    // A development workstation on another profile, with nothing trusted yet.
    let other = tempfile::tempdir().unwrap();
    let key_file = other.path().join("vendor.pub");
    std::fs::write(&key_file, setup.sandbox.root_public_key()).unwrap();
    let mut h = harness(development_workstation(other.path()));
    wait_for(&mut h, "start-up", idle);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label("Add from file…").click();
    type_path(&mut h, &key_file, "Open");
    wait_for(&mut h, "the key trusted", |app| {
        idle(app) && trusts_one_root(app)
    });
    assert!(h.state().model.files.typing.is_none(), "the field closes");
    drop(h);

    // The licensed workstation: a CSV of users, then the vendor's answer.
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    let csv = setup.home.path().join("users.csv");
    std::fs::write(
        &csv,
        "login,name,email\nzhang,张伟,zhang@example.com\nahmed,أحمد Ahmed,\n",
    )
    .unwrap();
    h.get_by_label("Users").click();
    wait_for(&mut h, "users loaded", |app| {
        app.screens.users.state.loaded.is_some() && idle(app)
    });
    h.get_by_label("Import CSV…").click();
    type_path(&mut h, &csv, "Open");
    wait_for(&mut h, "the import saved", |app| {
        idle(app)
            && app.screens.users.state.unsaved() == 0
            && app
                .screens
                .users
                .state
                .loaded
                .as_ref()
                .is_some_and(|l| l.directory.users.contains_key("ahmed"))
    });

    std::thread::sleep(Duration::from_millis(1100));
    let answer = setup
        .runtime
        .block_on(setup.sandbox.answer_offline(&request))
        .unwrap();
    let answer_file = setup.home.path().join("answer.txt");
    std::fs::write(&answer_file, answer).unwrap();
    h.get_by_label("Offline").click();
    h.run_steps(2);
    h.get_by_label("Open answer file…").click();
    type_path(&mut h, &answer_file, "Open");
    wait_for(&mut h, "the import", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Offline)
    });
    assert_eq!(
        days_left(h.state()),
        Some(60),
        "{:?}",
        h.state().model.toast
    );
    drop(h);
    drop(setup);
}

#[test]
fn a_vendor_key_can_be_pasted_where_no_dialog_opens() {
    no_file_dialog_here();
    let (setup, _ws) = setup(false, chrono::Duration::zero());
    let other = tempfile::tempdir().unwrap();
    let mut h = harness(development_workstation(other.path()));
    wait_for(&mut h, "start-up", idle);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label("Add from file…").click();
    wait_for(&mut h, "the path field", |app| {
        app.model.files.typing.is_some()
    });
    let typing = h.state_mut().model.files.typing.as_mut().unwrap();
    typing.pasted = setup.sandbox.root_public_key();
    h.run_steps(1);
    h.get_by_label("Trust pasted text").click();
    wait_for(&mut h, "the key trusted", |app| {
        idle(app) && trusts_one_root(app)
    });
    drop(setup);
}

#[test]
fn sign_in_asks_the_server_and_keeps_nothing_it_refuses() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Settings").click();
    h.run_steps(2);
    for (account, token) in [
        ("acme", "wrong-token"),
        ("nobody", setup.issued.account_token.as_str()),
    ] {
        h.state_mut().screens.settings.form.account = account.into();
        h.state_mut().screens.settings.form.token = token.into();
        h.run_steps(1);
        let before = h.state().model.completed.len();
        h.get_by_label("Sign in").click();
        wait_for(&mut h, "the refusal", |app| {
            idle(app) && app.model.completed.len() > before
        });
        h.get_by_label_contains(&format!("did not accept account {account}"));
        assert_eq!(h.state().model.snapshot.as_ref().unwrap().account, None);
    }
    h.state_mut().screens.settings.form.account = "acme".into();
    h.state_mut().screens.settings.form.token = setup.issued.account_token.clone();
    h.run_steps(1);
    h.get_by_label("Sign in").click();
    wait_for(&mut h, "signed in", |app| {
        idle(app) && app.model.snapshot.as_ref().unwrap().account.is_some()
    });
    // The new result replaced the refusal: never both at once.
    h.get_by_label_contains("Signed in as acme: 1 license on this account.");
    assert!(h.query_by_label_contains("did not accept").is_none());
    drop(setup);
}

#[test]
fn the_trim_notice_floats_over_the_table_and_a_removed_seat_can_be_undone() {
    let seated = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"];
    let (setup, mut h) = users_screen(&seated, &["zoe"]);
    let row_before = h.get_by_label("Licensed: u3").rect();
    h.get_by_label("Licensed: zoe").click();
    wait_for(&mut h, "the save", saved);
    h.get_by_label_contains("zoe did not keep a named seat");
    // Nothing under the pointer moved.
    assert_eq!(h.get_by_label("Licensed: u3").rect(), row_before);
    // Unticking u3 by mistake: Undo gives the seat back.
    h.get_by_label("Licensed: u3").click();
    wait_for(&mut h, "the save", |app| {
        saved(app) && app.model.toast.as_ref().is_some_and(|t| !t.undo.is_empty())
    });
    assert!(saved_directory(&h).users["u3"].seat.is_none());
    h.get_by_label("Undo").click();
    wait_for(&mut h, "the undo saved", |app| {
        saved(app)
            && app
                .screens
                .users
                .state
                .loaded
                .as_ref()
                .is_some_and(|l| l.directory.users["u3"].seat.is_some())
    });
    h.get_by_label("10 of 10 named seats used");
    drop(setup);
}

#[test]
fn the_window_shows_what_the_cli_changed_without_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let (setup, _ws) = setup(false, chrono::Duration::zero());
    let mut h = harness(development_workstation(home.path()));
    wait_for(&mut h, "start-up", idle);
    assert!(h.state().model.snapshot.as_ref().unwrap().roots.is_empty());
    let key_file = home.path().join("vendor.pub");
    std::fs::write(&key_file, setup.sandbox.root_public_key()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(["trust", key_file.to_str().unwrap()])
        .env("TENURE_HOME", home.path())
        .env("TENURE_DB", home.path().join("product.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(&mut h, "the key the CLI trusted", trusts_one_root);
    drop(setup);
}

#[test]
fn a_license_signed_by_an_untrusted_key_says_so_instead_of_no_license() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    setup.runtime.block_on(ws.close());
    // A fresh workstation on the same product database, trusting nothing.
    let other = tempfile::tempdir().unwrap();
    let mut fresh = development_workstation(other.path());
    let spec = DbSpec::Sqlite(setup.home.path().join("prod.db"));
    fresh.configure().choose_database(&spec).unwrap();
    let mut h = harness(fresh);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Database)
    });
    h.get_by_label_contains("The product database holds a license this workstation cannot use");
    h.get_by_label("Open Settings");
    drop(setup);
}

#[test]
fn an_offline_license_offers_no_validate_now_and_never_claims_the_server_answered() {
    let mut terms = tenure_server::sandbox::sample_terms("Rig 7");
    terms.activation_mode = tenure_core::ActivationMode::Offline;
    let (setup, mut ws) = setup_with(&terms, false, chrono::Duration::zero());
    let request = setup
        .runtime
        .block_on(ws.offline_files().offline_request(
            &tenure_client::OfflineWish::Activate(setup.issued.key.clone()),
            Utc::now(),
        ))
        .unwrap();
    let answer = setup
        .runtime
        .block_on(setup.sandbox.answer_offline(&request))
        .unwrap();
    setup
        .runtime
        .block_on(ws.offline_import(answer.as_bytes(), Utc::now()))
        .unwrap();
    // The server URL points at a closed port.
    ws.update_settings(|s| s.server_url = Some("http://127.0.0.1:9".into()))
        .unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("✔ Licensed — valid");
    assert!(h.query_by_label("Validate now").is_none());
    h.get_by_label("Validate with files (Offline)");
    assert!(h.query_by_label_contains("server reachable").is_none());
    // It needs no server, and the strip says so rather than "not checked yet" forever.
    h.get_by_label_contains("kept up to date by files (no server needed)");
    drop(setup);
}

#[test]
fn names_in_chinese_and_arabic_get_real_glyphs() {
    let (setup, mut h) = users_screen(&["u0"], &[]);
    let changes = [
        tenure_core::directory::Change::Add {
            login: "zhang".into(),
            name: "张伟".into(),
            email: String::new(),
        },
        tenure_core::directory::Change::Add {
            login: "ahmed".into(),
            name: "أحمد Ahmed".into(),
            email: String::new(),
        },
    ];
    h.state_mut()
        .screens
        .users
        .state
        .edit_all(changes.to_vec(), "", "Not added");
    wait_for(&mut h, "the names shown", |app| {
        app.screens.users.state.unsaved() == 0 && idle(app)
    });
    h.get_by_label("张伟");
    h.get_by_label("أحمد Ahmed");
    // The OS's fonts are loaded in the background: wait until they cover both names.
    let font = egui::FontId::proportional(14.0);
    wait_for(&mut h, "the system fonts", |_| true);
    let start = Instant::now();
    loop {
        h.step();
        let covered = h.ctx.fonts_mut(|f| f.has_glyphs(&font, "张伟أحمد"));
        if covered {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "no font for Chinese or Arabic was found: install fonts-wqy-microhei and fonts-dejavu-core (scripts/install-deps)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(setup);
}

#[test]
fn the_offline_screen_checks_the_key_before_a_request_is_written() {
    let (setup, ws) = setup(false, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", idle);
    h.get_by_label("Offline").click();
    h.run_steps(2);
    let mut digits: Vec<char> = setup.issued.key.chars().collect();
    let last = digits.len() - 1;
    digits[last] = if digits[last] == '9' { '8' } else { '9' };
    h.state_mut().screens.offline.form.key = digits.into_iter().collect();
    h.run_steps(2);
    h.get_by_label_contains("a digit is mistyped or two digits are swapped");
    assert!(
        h.get_by_label("Save request file…")
            .accesskit_node()
            .is_disabled()
    );
    h.state_mut()
        .screens
        .offline
        .form
        .key
        .clone_from(&setup.issued.key);
    h.run_steps(2);
    h.get_by_label_contains("the check digit is right");
    assert!(
        !h.get_by_label("Save request file…")
            .accesskit_node()
            .is_disabled()
    );
    drop(setup);
}

#[test]
fn the_window_keeps_its_own_state_in_the_profile() {
    let home = tempfile::tempdir().unwrap();
    let profile = Profile::at(home.path());
    assert!(tenure::gui::window_state_file(&profile).starts_with(home.path()));
}

#[test]
fn a_licensed_site_s_offline_screen_asks_to_validate_and_nothing_moves_under_the_pointer() {
    no_file_dialog_here();
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Offline").click();
    h.run_steps(4);
    // Licensed: the request is a validation, ready to save with no key typed.
    assert_eq!(
        h.state().screens.offline.form.choice,
        tenure::gui::screens::offline::OfflineChoice::Validate
    );
    let save = h.get_by_label("Save request file…");
    assert!(!save.accesskit_node().is_disabled());
    let before = save.rect();
    // A key typed: its check line appears, and the button stays where it was.
    h.state_mut()
        .screens
        .offline
        .form
        .key
        .clone_from(&setup.issued.key);
    h.state_mut().screens.offline.form.choice =
        tenure::gui::screens::offline::OfflineChoice::Activate;
    h.run_steps(2);
    h.get_by_label_contains("the check digit is right");
    assert_eq!(h.get_by_label("Save request file…").rect(), before);
    // No dialog can open here: the path field appears with the keyboard in it.
    h.get_by_label("Save request file…").click();
    wait_for(&mut h, "the path field", |app| {
        app.model.files.typing.is_some()
    });
    h.run_steps(2);
    assert!(h.get_by_label("File path").is_focused());
    drop(setup);
}

/// Leaving the site from the window: the release is armed by a tick, saved where no dialog
/// opens, and the license stops here at once (the status says released).
#[test]
fn the_window_releases_the_license_for_another_site() {
    no_file_dialog_here();
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Offline").click();
    h.run_steps(4);
    let release = "Release and save file…";
    assert!(h.get_by_label(release).accesskit_node().is_disabled());
    h.get_by_label("Stop the license on this database").click();
    h.run_steps(2);
    assert!(!h.get_by_label(release).accesskit_node().is_disabled());
    h.get_by_label(release).click();
    h.run_steps(1);
    let file = setup.home.path().join("rig7.release");
    type_path(&mut h, &file, "Save");
    wait_for(&mut h, "the release", |app| {
        idle(app)
            && matches!(
                status_of(app),
                Some(tenure_core::Status::Moved { released: true, .. })
            )
    });
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("TENURE REQUEST"), "{written}");
    let released = setup
        .runtime
        .block_on(
            setup
                .sandbox
                .vendor()
                .offline()
                .release(&written, None, "the test"),
        )
        .unwrap();
    assert_eq!(released.license_id, setup.issued.license_id);
    drop(h);
    drop(setup);
}
