//! The screens on the happy path: Overview, Users, Sessions, Offline.

use super::support::*;
#[test]
fn validate_now_updates_status_and_days_left() {
    // Activated 10 days ago (server clock), so 20 days of grace are left.
    let (setup, ws) = setup(true, chrono::Duration::days(-10));
    let mut h = harness(ws);
    // The start-up validation runs in the background; stop the server's clock from moving it.
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    assert_eq!(
        days_left(h.state()),
        Some(30),
        "the start-up validation reset grace"
    );
    h.state_mut().model.notices.clear();
    h.get_by_label("Validate now").click();
    wait_for(&mut h, "validation", |app| {
        app.model.notice(JobKind::Validate).is_some() && idle(app)
    });
    assert_eq!(days_left(h.state()), Some(30));
    h.get_by_label("30 days of offline grace left");
    h.get_by_label_contains("Validated: 30 days");
    drop(setup);
}

#[test]
fn startup_validation_resets_an_aging_license() {
    let (setup, ws) = setup(true, chrono::Duration::days(-10));
    // Before the worker runs, the cached license has 20 days left.
    let report = ws.report(Utc::now()).unwrap();
    assert_eq!(report.status.grace().unwrap().days_left, 20);
    let mut h = harness(ws);
    wait_for(&mut h, "start-up validation", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    assert_eq!(
        days_left(h.state()),
        Some(30),
        "{:?}",
        h.state().model.notice(JobKind::Validate)
    );
    drop(setup);
}

#[test]
fn mistyped_key_shows_its_error_and_never_calls_the_server() {
    let (setup, ws) = setup(false, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    // Nothing to validate yet: the start-up check stays quiet, and there is no Validate button.
    assert!(h.state().model.notice(JobKind::Validate).is_none());
    assert!(h.query_by_label("Validate now").is_none());
    let status = &h
        .state()
        .model
        .snapshot
        .as_ref()
        .unwrap()
        .report
        .as_ref()
        .unwrap()
        .status;
    assert_eq!(status, &tenure_core::Status::Unlicensed);
    h.get_by_label("Request a license…").click();
    h.run_steps(2);
    let mut typo: Vec<char> = setup.issued.key.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == '0' { '1' } else { '0' };
    let typo: String = typo.into_iter().collect();
    h.get_by_label("License key (13 digits)").click();
    h.run_steps(2);
    h.get_by_label("License key (13 digits)").type_text(&typo);
    h.run_steps(2);
    h.get_by_label_contains("a digit is mistyped or two digits are swapped");
    // The binding fields come filled in from the product database.
    assert_eq!(h.state().screens.activation.form.database, "prod");
    h.run_steps(2);
    let activate = h.get_by_label("Activate");
    assert!(
        activate.accesskit_node().is_disabled(),
        "Activate stays disabled for a bad key"
    );
    activate.click();
    h.run_steps(3);
    assert!(
        !h.state().sent.contains(&JobKind::Activate),
        "no activation was sent"
    );
    drop(setup);
}

#[test]
fn stopped_server_shows_offline_while_the_license_stays_valid() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    setup.sandbox.stop();
    std::thread::sleep(Duration::from_millis(100));
    h.get_by_label("Validate now").click();
    wait_for(&mut h, "failed validation", |app| {
        idle(app)
            && app
                .model
                .notice(JobKind::Validate)
                .is_some_and(|n| n.is_error)
    });
    h.get_by_label_contains("server unreachable");
    h.get_by_label_contains("Could not validate");
    assert_eq!(
        days_left(h.state()),
        Some(30),
        "still licensed within grace"
    );
    h.get_by_label("✔ Licensed — valid");
    drop(setup);
}

#[test]
fn extension_request_raises_the_grace() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    ws.server()
        .login(&Credentials {
            account: "acme".into(),
            token: setup.issued.account_token.clone(),
        })
        .unwrap();
    let mut h = harness(ws);
    h.state_mut().model.prefs.planned_offline_days = 60;
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    h.get_by_label_contains("Your grace ends 30 days before you are back");
    // The return and the grace's end are named apart.
    h.get_by_label("Back on");
    h.get_by_label("Grace ends");
    // A day's margin is asked for.
    h.get_by_label_contains("Request extension to 61 days (grace to")
        .click();
    wait_for(&mut h, "extension", |app| {
        idle(app) && app.model.notice(JobKind::ExtendGrace).is_some()
    });
    assert_eq!(days_left(h.state()), Some(61));
    h.get_by_label_contains("Extension granted");
    h.get_by_label_contains("Your grace covers the trip");
    drop(setup);
}

#[test]
fn a_trip_longer_than_the_license_allows_asks_for_its_maximum_only() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    h.state_mut().model.prefs.planned_offline_days = 120;
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    h.get_by_label_contains("This license allows at most 90 days offline");
    // Nobody is signed in: the account is asked for right there.
    h.get_by_label_contains("Sign in and request extension to 90 days");
    assert!(h.query_by_label_contains("extension to 120 days").is_none());
    assert!(h.query_by_label_contains("extension to 121 days").is_none());
    drop(setup);
}

#[test]
fn overview_renders_and_shows_the_state_in_words_and_colour() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    let image = h
        .render()
        .expect("render with wgpu (apt-get install mesa-vulkan-drivers)");
    // The valid state's green appears, and the frame is not blank.
    let greens = image
        .pixels()
        .filter(|p| p[1] > 150 && p[0] < 140 && p[2] < 150)
        .count();
    assert!(
        greens > 200,
        "expected the green valid headline, found {greens} green pixels"
    );
    let distinct: std::collections::BTreeSet<[u8; 4]> =
        image.pixels().map(|p| p.0).take(200_000).collect();
    assert!(distinct.len() > 20, "the frame looks blank");
    std::fs::create_dir_all("target/screenshots").unwrap();
    image
        .save("target/screenshots/overview-kittest.png")
        .unwrap();
    drop(setup);
}

#[test]
fn restored_database_shows_the_mismatch_and_revalidates_in_the_window() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    ws.server()
        .login(&Credentials {
            account: "acme".into(),
            token: setup.issued.account_token.clone(),
        })
        .unwrap();
    // IT restores the database under another name (copied with its write-ahead log).
    for suffix in ["", "-wal"] {
        let from = setup.home.path().join(format!("prod.db{suffix}"));
        if from.exists() {
            std::fs::copy(from, setup.home.path().join(format!("restored.db{suffix}"))).unwrap();
        }
    }
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.state_mut().model.notices.clear();
    h.state_mut().screens.settings.form.database =
        Some(setup.home.path().join("restored.db").display().to_string());
    h.get_by_label("Connect").click();
    wait_for(&mut h, "connect", |app| {
        idle(app) && app.model.notice(JobKind::Database).is_some()
    });
    h.get_by_label_contains("This workstation is on server");
    h.get_by_label("Overview").click();
    h.run_steps(2);
    h.get_by_label("✖ This database is not the one the license was validated for");
    h.get_by_label("⬅ differs");
    h.get_by_label("Re-validate online").click();
    wait_for(&mut h, "the moves left", |app| {
        idle(app) && app.model.account_licenses.is_some()
    });
    h.get_by_label("Move the license").click();
    wait_for(&mut h, "re-validation", |app| {
        idle(app) && app.model.notice(JobKind::Rebind).is_some()
    });
    let status = &h
        .state()
        .model
        .snapshot
        .as_ref()
        .unwrap()
        .report
        .as_ref()
        .unwrap()
        .status;
    assert!(
        status.is_licensed(),
        "{status:?} {:?}",
        h.state().model.notice(JobKind::Rebind)
    );
    drop(setup);
}

#[test]
fn ticking_a_box_changes_the_counter_and_saves_the_seat() {
    let (setup, mut h) = users_screen(&["ana", "bo"], &["cy"]);
    h.get_by_label("2 of 10 named seats used");
    h.get_by_label("Licensed: cy").click();
    h.run_steps(2);
    // The counter moves at once, before the save answers.
    h.get_by_label("3 of 10 named seats used");
    wait_for(&mut h, "the save", saved);
    h.get_by_label("3 of 10 named seats used");
    h.get_by_label_contains("cy was given a named seat");
    let directory = saved_directory(&h);
    assert!(
        directory.users["cy"].seat.is_some(),
        "saved in the database"
    );
    drop(setup);
}

#[test]
fn ticking_past_the_limit_shows_the_trim_notice_naming_the_user() {
    let seated = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"];
    let (setup, mut h) = users_screen(&seated, &["zoe"]);
    h.get_by_label("10 of 10 named seats used");
    h.get_by_label("Licensed: zoe").click();
    wait_for(&mut h, "the save", saved);
    h.get_by_label_contains("zoe did not keep a named seat: the license allows 10");
    h.get_by_label("10 of 10 named seats used");
    let directory = saved_directory(&h);
    assert!(directory.users["zoe"].seat.is_none());
    assert_eq!(directory.seats_in_use(), 10);
    drop(setup);
}

/// Seats split among groups: ticking a user whose group's share is taken gives the seat (it is
/// the admin's to give) and says at once that the user will be refused at sign-in, and why.
#[test]
fn ticking_a_user_past_their_groups_share_says_they_will_be_refused() {
    use tenure_client::product_db::{AllocationChange, GroupKind};
    let (setup, mut h, other) = users_screen_with_admin(&["ana"], &["bo"]);
    let changes = [
        AllocationChange::AddGroup {
            name: "North".into(),
            kind: GroupKind::Role,
            tenant: String::new(),
        },
        AllocationChange::Allocate {
            quantity: "users".into(),
            group: "North".into(),
            share: Some(tenure_core::allocation::Share::Fixed(1)),
        },
        AllocationChange::AddMember {
            group: "North".into(),
            login: "ana".into(),
        },
        AllocationChange::AddMember {
            group: "North".into(),
            login: "bo".into(),
        },
    ];
    setup
        .runtime
        .block_on(other.allocations().save(None, &changes, None, Utc::now()))
        .unwrap();
    h.get_by_label("Licensed: bo").click();
    wait_for(&mut h, "the save", saved);
    h.get_by_label_contains("bo has a seat, but North's share of 1 is taken");
    assert!(
        saved_directory(&h).users["bo"].seat.is_some(),
        "the seat stands"
    );
    let refused = setup
        .runtime
        .block_on(other.named_seats().authorize("bo", Utc::now()))
        .unwrap();
    assert!(!refused.is_granted(), "{refused:?}");
    drop(setup);
}

#[test]
fn a_save_over_another_admins_change_is_refused_and_loses_nothing() {
    use tenure_core::directory::Change;
    let (setup, mut h, other) = users_screen_with_admin(&["ana"], &["bo", "cy"]);
    // Another admin gives bo a seat after this window loaded the users.
    setup
        .runtime
        .block_on(
            other
                .named_seats()
                .change_users(&[Change::Assign { login: "bo".into() }], Utc::now()),
        )
        .unwrap();
    h.get_by_label("Licensed: cy").click();
    wait_for(&mut h, "the refused save", |app| {
        app.screens.users.state.blocked.is_some() && idle(app)
    });
    h.get_by_label_contains("not saved: the users were changed by");
    // The tick is kept, and shown.
    h.get_by_label("2 of 10 named seats used");
    h.get_by_label("Reload").click();
    wait_for(&mut h, "the reload", |app| {
        app.screens.users.state.blocked == Some(tenure::gui::screens::users_state::Blocked::Review)
            && idle(app)
    });
    // Both changes are in view: bo's from the other admin, cy's still unsaved.
    h.get_by_label("3 of 10 named seats used");
    h.get_by_label("Save my changes").click();
    wait_for(&mut h, "the save", saved);
    let directory = saved_directory(&h);
    assert!(
        ["ana", "bo", "cy"]
            .iter()
            .all(|l| directory.users[*l].seat.is_some())
    );
    drop(setup);
}

#[test]
fn sessions_screen_ends_a_session_and_borrows_a_seat() {
    let mut terms = sample_terms("Acme Offshore");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 5;
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    for (user, machine) in [("ana", "pc1"), ("bo", "pc2")] {
        let answer = setup
            .runtime
            .block_on(ws.concurrent_seats().checkout(user, machine, Utc::now()))
            .unwrap();
        assert!(answer.session().is_some(), "{answer}");
    }
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Sessions").click();
    h.run_steps(2);
    h.get_by_label("2 of 5 seats in use");
    h.get_all_by_label("End session").next().unwrap().click();
    h.run_steps(2);
    // Asked first: a second click on the same spot keeps the seat.
    h.get_by_label("Keep").click();
    h.run_steps(2);
    assert!(!h.state().sent.contains(&JobKind::Sessions));
    h.get_all_by_label("End session").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label_contains("'s session").click();
    wait_for(&mut h, "the end", |app| {
        app.model.completed.contains(&JobKind::Sessions) && idle(app)
    });
    h.get_by_label("1 of 5 seats in use");
    h.get_by_label_contains("Session ended");

    // A question left open is closed by the next action, not answered by it.
    h.get_all_by_label("End session").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label("Keep");
    h.get_by_label("Borrow").click();
    wait_for(&mut h, "the borrow", |app| {
        app.model.completed.contains(&JobKind::Borrow) && idle(app)
    });
    assert!(h.query_by_label("Keep").is_none());
    h.get_by_label("2 of 5 seats in use");
    h.get_by_label_contains("This machine holds a borrowed seat");
    // The borrowed row offers Return now, not End session.
    assert_eq!(h.query_all_by_label("End session").count(), 1);
    assert_eq!(h.query_all_by_label("Return now").count(), 2);
    h.get_all_by_label("Return now").next().unwrap().click();
    wait_for(&mut h, "the return", |app| {
        app.model
            .completed
            .iter()
            .filter(|k| **k == JobKind::Borrow)
            .count()
            == 2
            && idle(app)
    });
    h.get_by_label("1 of 5 seats in use");
    drop(setup);
}

/// Issue 31: a laptop away with a borrowed seat is lost. The admin revokes the borrow from the
/// Sessions screen (asked twice); the row says revoked; after Validate now the vendor confirms
/// it and the seat is free.
#[test]
fn sessions_screen_revokes_a_lost_laptops_borrow_and_the_vendor_frees_it() {
    let mut terms = sample_terms("Acme Offshore");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 2;
    terms.max_borrow_days = 7;
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    let laptop_home = tempfile::tempdir().unwrap();
    let mut laptop = Workstation::open(
        Profile::at(laptop_home.path()),
        SecretStore::memory(),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
    let spec = tenure_client::product_db::DbSpec::Sqlite(setup.home.path().join("prod.db"));
    let borrowed = setup.runtime.block_on(async {
        laptop.connect_db(&spec, Utc::now()).await.unwrap();
        let seats = laptop.concurrent_seats();
        seats
            .borrow("cy", "cy-laptop", 5, Utc::now())
            .await
            .unwrap()
    });
    assert!(borrowed.session().is_some(), "{borrowed}");
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Sessions").click();
    h.run_steps(2);
    h.get_by_label("1 of 2 seats in use");
    assert!(h.query_by_label("End session").is_none());
    h.get_by_label("Revoke borrow").click();
    h.run_steps(2);
    h.get_by_label("Revoke cy's borrow").click();
    wait_for(&mut h, "the revocation", |app| {
        app.model.completed.contains(&JobKind::Sessions) && idle(app)
    });
    h.get_by_label_contains("Borrow revoked.");
    h.get_by_label("revoked");
    // Still counted until the vendor confirms.
    h.get_by_label("1 of 2 seats in use");
    h.get_by_label("Overview").click();
    h.run_steps(2);
    let before = h
        .state()
        .model
        .completed
        .iter()
        .filter(|k| **k == JobKind::Validate)
        .count();
    h.get_by_label("Validate now").click();
    wait_for(&mut h, "the validation", |app| {
        idle(app)
            && app
                .model
                .completed
                .iter()
                .filter(|k| **k == JobKind::Validate)
                .count()
                > before
    });
    h.get_by_label("Sessions").click();
    h.run_steps(2);
    h.get_by_label("0 of 2 seats in use");
    drop(setup);
}

#[test]
fn sessions_screen_shows_the_line_and_an_admin_reorders_it() {
    let mut terms = sample_terms("Acme Offshore");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 1;
    terms.lease_secs = 86_400;
    terms.floating = tenure_core::Floating {
        linger_mins: 5,
        idle_timeout_mins: 10,
        overdraft: 0,
    };
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    // The waiters ask "later", so they stay in line however slowly this test runs (a waiter
    // not heard from for 10 s leaves it).
    let now = Utc::now() + chrono::Duration::minutes(10);
    let ask = |user: &str, wait: bool| {
        let seats = ws.concurrent_seats();
        setup
            .runtime
            .block_on(async {
                if wait {
                    seats.checkout_or_wait(user, "pc", now).await
                } else {
                    seats.checkout(user, "pc", now).await
                }
            })
            .unwrap()
    };
    let ana = ask("ana", false).session().cloned().unwrap();
    // Ana's product reports itself idle.
    setup
        .runtime
        .block_on(ws.concurrent_seats().heartbeat(
            &ana.id,
            tenure_client::product_db::Activity::Idle,
            now,
        ))
        .unwrap();
    for user in ["bo", "cy"] {
        let answer = ask(user, true);
        assert!(
            answer.to_string().contains("in line for a seat"),
            "{answer}"
        );
    }
    let mut h = harness(ws.clone());
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Sessions").click();
    h.run_steps(2);
    h.get_by_label("1 of 1 seats in use");
    h.get_by_label(
        "A seat given back stays its user's for 5 min; one idle 10 min goes to the next user.",
    );
    h.get_by_label_contains("idle since");
    h.get_by_label("Waiting in line (2)");
    // Only cy, second, can be moved to the front.
    assert_eq!(h.query_all_by_label("Move to front").count(), 1);
    h.get_by_label("Move to front").click();
    wait_for(&mut h, "the move", |app| {
        app.model.completed.contains(&JobKind::Sessions) && idle(app)
    });
    let line: Vec<String> = setup
        .runtime
        .block_on(ws.concurrent_seats().queue(now))
        .unwrap()
        .into_iter()
        .map(|w| w.login)
        .collect();
    assert_eq!(line, ["cy", "bo"]);
    h.get_all_by_label("Remove").next().unwrap().click();
    wait_for(&mut h, "the removal", |app| {
        app.model
            .completed
            .iter()
            .filter(|k| **k == JobKind::Sessions)
            .count()
            == 2
            && idle(app)
    });
    h.get_by_label("Waiting in line (1)");
    let line = setup
        .runtime
        .block_on(ws.concurrent_seats().queue(now))
        .unwrap();
    assert_eq!(line.len(), 1);
    assert_eq!(line[0].login, "bo");
    drop(setup);
}

/// A file dropped onto the window, as the windowing layer hands it over.
#[test]
fn an_answer_dropped_on_the_window_is_imported_and_a_bad_one_changes_nothing() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let request = setup
        .runtime
        .block_on(
            ws.offline_files()
                .offline_request(&tenure_client::OfflineWish::Extend(60), Utc::now()),
        )
        .unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    // The vendor signs after the start-up validation, so the answer is the newest license.
    std::thread::sleep(Duration::from_millis(1100));
    let answer = setup
        .runtime
        .block_on(setup.sandbox.answer_offline(&request))
        .unwrap();
    let good = setup.home.path().join("answer.txt");
    std::fs::write(&good, &answer).unwrap();
    let bad = setup.home.path().join("not-an-answer.txt");
    std::fs::write(&bad, "hello").unwrap();
    let offline_jobs = |app: &TenureApp| {
        app.model
            .completed
            .iter()
            .filter(|k| **k == JobKind::Offline)
            .count()
    };
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(bad.clone())));
    wait_for(&mut h, "the refusal", |app| {
        offline_jobs(app) == 1 && idle(app)
    });
    h.get_by_label_contains("was not imported: the license was refused: this is not a Tenure file");
    assert_eq!(days_left(h.state()), Some(30), "nothing changed");

    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(good.clone())));
    wait_for(&mut h, "the import", |app| {
        offline_jobs(app) == 2 && idle(app)
    });
    h.get_by_label_contains("Answer imported: licensed, 60 days of offline grace");
    assert_eq!(days_left(h.state()), Some(60));
    drop(setup);
}

/// The Allocations screen: a license counting connections and servers; the default tenant's
/// admin adds a group and gives it a share by typing; a device that connected shows up; a share
/// over the pool is refused with the sentence, and what stood is kept; a member is added by login,
/// and the group removed after a confirmation.
#[test]
fn allocations_screen_adds_a_group_gives_it_a_share_and_refuses_one_over_the_pool() {
    let mut terms = sample_terms("Acme Offshore");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 10;
    terms.quantities = vec![
        "connections:10:concurrent".parse().unwrap(),
        "servers:3:device".parse().unwrap(),
    ];
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    let answer = setup
        .runtime
        .block_on(
            ws.allocations()
                .register_device("srv-1", "servers", Utc::now()),
        )
        .unwrap();
    assert!(
        answer.to_string().contains("took a servers license"),
        "{answer}"
    );
    let db_ws = ws.clone();
    let mut h = allocations_screen(ws);
    h.get_by_label("0 of 10 connections in use · 0 given to groups");
    h.get_by_label("srv-1");

    // A new group (a role, as the kind starts), by name.
    let text_input = egui::accesskit::Role::TextInput;
    h.get_by_role_and_label(text_input, "New group").click();
    h.run_steps(1);
    h.get_by_role_and_label(text_input, "New group")
        .type_text("North");
    h.run_steps(2);
    h.get_by_label("Add group").click();
    wait_for(&mut h, "the group saved", |app| {
        app.screens
            .allocations
            .state
            .loaded()
            .is_some_and(|o| o.book.groups.contains_key("North"))
            && idle(app)
    });

    // Its place in the line for a seat: a priority typed, then set.
    assert!(h.query_by_label("Set priority").is_none());
    h.state_mut()
        .screens
        .allocations
        .state
        .priorities
        .insert("North".into(), 5);
    h.run_steps(2);
    h.get_by_label("Set priority").click();
    wait_for(&mut h, "the priority set", |app| {
        app.screens
            .allocations
            .state
            .loaded()
            .is_some_and(|o| o.book.groups["North"].priority == 5)
            && idle(app)
    });
    assert!(h.query_by_label("Set priority").is_none());

    // Its share, typed into its row.
    h.get_by_role_and_label(text_input, "North").click();
    h.run_steps(1);
    h.get_by_role_and_label(text_input, "North").type_text("6");
    h.run_steps(2);
    h.get_by_label("Save 1 share").click();
    wait_for(&mut h, "the share saved", |app| {
        app.screens.allocations.state.edits.is_empty()
            && app.model.completed.contains(&JobKind::Allocations)
            && idle(app)
    });
    h.get_by_label("0 of 10 connections in use · 6 given to groups");
    let book = setup.runtime.block_on(db_ws.allocations().book()).unwrap();
    assert_eq!(book.plans["connections"].len(), 1);

    // Over the pool: refused, said, and the standing share kept.
    h.get_by_role_and_label(text_input, "North").click();
    h.run_steps(1);
    h.get_by_role_and_label(text_input, "North").type_text("5");
    h.run_steps(2);
    h.get_by_label("Save 1 share").click();
    wait_for(&mut h, "the refusal", |app| {
        let refused = app.model.toast.as_ref();
        refused.is_some_and(|t| t.tone == tenure::gui::style::Tone::Bad) && idle(app)
    });
    let toast = h.state().model.toast.as_ref().map(|t| t.text.clone());
    let toast = toast.unwrap_or_default();
    // "6" and then "5" typed after it: 65 asked of 10.
    assert!(toast.contains("65 of 10 connections"), "{toast}");
    let book = setup.runtime.block_on(db_ws.allocations().book()).unwrap();
    assert_eq!(
        book.plans["connections"][0].share,
        tenure_core::allocation::Share::Fixed(6)
    );
    // The refusal goes with the edit it refused.
    h.get_by_label("Discard").click();
    h.run_steps(2);
    assert!(
        h.state().model.toast.is_none(),
        "{:?}",
        h.state().model.toast
    );

    add_a_member_then_remove_the_group(&mut h, &setup, &db_ws);
    stack_a_second_license(&mut h, &setup);
    drop(setup);
}

/// The window on `ws`, started, on the Allocations screen with its overview loaded.
fn allocations_screen(ws: Workstation) -> Harness<'static, TenureApp> {
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Allocations").click();
    wait_for(&mut h, "allocations loaded", |app| {
        app.screens.allocations.state.loaded().is_some() && idle(app)
    });
    h
}

/// A license for 5 more connections, stacked by its key: the pool shows 15.
fn stack_a_second_license(h: &mut Harness<'static, TenureApp>, setup: &Setup) {
    let mut more = sample_terms("Acme Offshore");
    more.kind = tenure_core::SeatKind::Concurrent;
    more.seats = 5;
    more.quantities = vec!["connections:5:concurrent".parse().unwrap()];
    let issued = setup
        .runtime
        .block_on(setup.sandbox.issue_more("acme", &more))
        .unwrap();
    let text_input = egui::accesskit::Role::TextInput;
    h.get_by_role_and_label(text_input, "Stack another license")
        .click();
    h.run_steps(1);
    h.get_by_role_and_label(text_input, "Stack another license")
        .type_text(&issued.key);
    h.run_steps(2);
    h.get_by_label("Stack").click();
    wait_for(h, "the stacked license", |app| {
        app.screens.allocations.state.loaded().is_some_and(|o| {
            o.quantities
                .iter()
                .any(|q| q.pool.quantity == "connections" && q.pool.size == 15)
        }) && idle(app)
    });
    h.get_by_label_contains("of 15 connections in use");
    h.get_by_label_contains("stacked");
}

/// On the Allocations screen with role North: a member added by login, then the group removed,
/// asked first.
fn add_a_member_then_remove_the_group(
    h: &mut Harness<'static, TenureApp>,
    setup: &Setup,
    db_ws: &Workstation,
) {
    let text_input = egui::accesskit::Role::TextInput;
    h.get_by_role_and_label(text_input, "North (role)").click();
    h.run_steps(1);
    h.get_by_role_and_label(text_input, "North (role)")
        .type_text("ana");
    h.run_steps(1);
    h.get_by_label("Add member").click();
    wait_for(h, "the member saved", |app| {
        app.screens
            .allocations
            .state
            .loaded()
            .is_some_and(|o| o.book.members.contains_key("ana"))
            && idle(app)
    });
    h.get_by_label("ana ×");
    h.get_by_label("Remove group").click();
    h.run_steps(2);
    h.get_by_label("Keep");
    h.get_by_label("Remove North").click();
    wait_for(h, "the group removed", |app| {
        app.screens
            .allocations
            .state
            .loaded()
            .is_some_and(|o| o.book.groups.is_empty())
            && idle(app)
    });
    let book = setup.runtime.block_on(db_ws.allocations().book()).unwrap();
    assert!(book.members.is_empty() && book.plans.values().all(Vec::is_empty));
}

/// A tenant's admin sees the tenant's part of the pool, changes the tenant's own groups, and is
/// offered nothing the save would refuse: the tenant's share and the tenant itself are shown,
/// not editable.
#[test]
fn a_tenant_admin_sees_and_changes_only_the_tenant() {
    use tenure_client::product_db::{AllocationChange, GroupKind};
    use tenure_core::allocation::Share;
    let mut terms = sample_terms("Acme Offshore");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 10;
    terms.quantities = vec!["connections:10:concurrent".parse().unwrap()];
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    let group = |name: &str, kind, tenant: &str| AllocationChange::AddGroup {
        name: name.into(),
        kind,
        tenant: tenant.into(),
    };
    let share = |group: &str, n| AllocationChange::Allocate {
        quantity: "connections".into(),
        group: group.into(),
        share: Some(Share::Fixed(n)),
    };
    let changes = [
        group("Contoso", GroupKind::Tenant, ""),
        share("Contoso", 4),
        group("Ops", GroupKind::Role, "Contoso"),
        share("Ops", 2),
        group("North", GroupKind::Role, ""),
        share("North", 3),
    ];
    setup
        .runtime
        .block_on(ws.allocations().save(None, &changes, None, Utc::now()))
        .unwrap();
    let mut h = allocations_screen(ws);
    h.get_by_label("0 of 10 connections in use · 7 given to groups");

    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Acting as")
        .click();
    h.run_steps(2);
    h.get_by_label("Contoso's admin").click();
    h.run_steps(3);
    h.get_by_label("0 of the 4 connections given to Contoso in use · 2 given to its groups");
    let text_input = egui::accesskit::Role::TextInput;
    assert!(
        h.query_by_role_and_label(text_input, "Ops (Contoso)")
            .is_some(),
        "the tenant's own group takes a share"
    );
    assert!(
        h.query_by_role_and_label(text_input, "Contoso").is_none(),
        "the tenant's own share is the default tenant admin's to give"
    );
    assert!(
        h.query_by_label_contains("North").is_none(),
        "another part of the pool"
    );
    assert!(h.query_by_label("Stack another license").is_none());
    h.get_by_label("changed by the default tenant's admin");
    assert_eq!(
        h.query_all_by_label("Remove group").count(),
        1,
        "only Ops can be removed"
    );
    drop(setup);
}

/// Issue 26: a product database that was cut short is named as damaged in the window, as the
/// CLI names it — not as a server that cannot be reached.
#[test]
fn a_damaged_product_database_is_named_in_the_window() {
    let (setup, ws) = setup(true, chrono::Duration::zero());
    setup.runtime.block_on(ws.close());
    let file = setup.home.path().join("prod.db");
    let full = std::fs::read(&file).unwrap();
    std::fs::write(&file, &full[..4096]).unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "the database's connection", |app| {
        idle(app) && app.model.notice(JobKind::Database).is_some()
    });
    let notice = h.state().model.notice(JobKind::Database).unwrap();
    assert!(notice.is_error, "{}", notice.text);
    assert!(notice.text.contains("is damaged"), "{}", notice.text);
    assert!(!notice.text.contains("not reachable"), "{}", notice.text);
    h.get_by_label_contains("is damaged");
    drop(setup);
}

/// The demo trusts a root made for it, and says so; the program behind it is a development
/// build (no roots built in), and the demo says that too, as the normal window does.
#[test]
fn the_demo_names_its_own_root_and_the_development_build_behind_it() {
    let demo = tenure::gui::demo::start().unwrap();
    assert!(demo.banner.contains("development build"), "{}", demo.banner);
    let app = TenureApp::new(
        Some(Worker::spawn(demo.workstation).unwrap()),
        Prefs::default(),
        Some(demo.banner),
    );
    let mut h = Harness::builder()
        .with_size([1024.0, 700.0])
        .build_ui_state(|ui, app: &mut TenureApp| app.ui_root(ui), app);
    wait_for(&mut h, "start-up", idle);
    h.get_by_label_contains("DEMO");
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("The demo's own vendor root, made for this demo only");
    h.get_by_label_contains("This program has no vendor roots built in");
    assert!(
        h.query_by_label_contains("built into this program (")
            .is_none()
    );
}
