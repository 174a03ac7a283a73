//! Named-user seats against real databases: two admins saving at once on PostgreSQL, trimming,
//! a hand-edited seat table, CSV imports, and every reason `authorize` can give.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, Utc};
use tenure_client::Reason;
use tenure_client::product_db::{DbSpec, SaveError};
use tenure_client::{Authorization, NamedSeatsError, SecretStore, Workstation, users_csv};
use tenure_core::directory::{Change, Effect, SeatPolicy};
use tenure_server::sandbox::sample_terms;
use tenure_testkit::PgCluster;

pub mod support;
use support::{Site, activate, site_with, workstation_with};

fn add(login: &str) -> Change {
    Change::Add {
        login: login.into(),
        name: String::new(),
        email: String::new(),
    }
}

fn assign(login: &str) -> Change {
    Change::Assign {
        login: login.into(),
    }
}

fn refusal(answer: &Authorization) -> &Reason {
    match answer {
        Authorization::Refused(r) => &r.reason,
        Authorization::Granted(g) => panic!("expected a refusal, got {g:?}"),
    }
}

/// A licensed workstation (named, `seats` seats) on `spec`, plus a second one on the same
/// database, which picks the license up from it. Secrets stay in memory: the keyring is tested
/// in `product_db.rs` and `end_to_end.rs`.
async fn two_admins(
    seats: u32,
    spec: &DbSpec,
) -> (Site, Workstation, Workstation, [tempfile::TempDir; 2]) {
    let mut terms = sample_terms("Acme");
    terms.seats = seats;
    let site = site_with(&terms).await;
    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut first = workstation_with(&site, &homes[0], spec, SecretStore::memory()).await;
    activate(&mut first, &site).await;
    let second = workstation_with(&site, &homes[1], spec, SecretStore::memory()).await;
    assert!(second.report(Utc::now()).unwrap().status.is_licensed());
    (site, first, second, homes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_on_postgres_never_overwrite_each_other() {
    let pg = PgCluster::start();
    let spec = DbSpec::parse(&pg.create_database("plant")).unwrap();
    let (_site, alice, bob, _homes) = two_admins(10, &spec).await;
    let now = Utc::now();

    // Both open the Users screen at the same version.
    let seen = alice.named_seats().users().await.unwrap().version.number;
    assert_eq!(
        bob.named_seats().users().await.unwrap().version.number,
        seen
    );

    let alice_changes = [add("ana"), assign("ana")];
    alice
        .named_seats()
        .save_users(seen, &alice_changes, now)
        .await
        .unwrap();

    // Bob's save over the older version is refused, names Alice's save, and writes nothing.
    let bob_changes = [add("bo"), assign("bo")];
    let Err(NamedSeatsError::Save(SaveError::Conflict(by))) =
        bob.named_seats().save_users(seen, &bob_changes, now).await
    else {
        panic!("expected a conflict");
    };
    assert_eq!(by.host, alice.named_seats().actor().host);
    let message = SaveError::Conflict(by).to_string();
    assert!(
        message.contains("changed by") && message.contains("reload"),
        "{message}"
    );
    let after = bob.named_seats().users().await.unwrap();
    assert!(after.users.contains_key("ana") && !after.users.contains_key("bo"));

    // Nothing lost on Bob's side either: his changes apply on the reloaded version.
    let saved = bob
        .named_seats()
        .save_users(after.version.number, &bob_changes, now)
        .await
        .unwrap();
    assert_eq!(saved.directory.seats_in_use(), 2);

    // Two saves racing over one version: exactly one wins.
    let version = saved.directory.version.number;
    let (cy, dee) = ([add("cy")], [add("dee")]);
    let (a, b) = tokio::join!(
        alice.named_seats().save_users(version, &cy, now),
        bob.named_seats().save_users(version, &dee, now),
    );
    let conflicts = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(NamedSeatsError::Save(SaveError::Conflict(_)))))
        .count();
    assert_eq!(
        (usize::from(a.is_ok()) + usize::from(b.is_ok()), conflicts),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticking_past_the_limit_trims_and_a_hand_edited_table_grants_nothing_extra() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _other, _homes) = two_admins(2, &spec).await;
    let now = Utc::now();

    let dir = ws.named_seats().users().await.unwrap();
    let changes = [
        add("ana"),
        add("bo"),
        add("cy"),
        assign("ana"),
        assign("bo"),
    ];
    let saved = ws
        .named_seats()
        .save_users(dir.version.number, &changes, now)
        .await
        .unwrap();
    let later = now + Duration::seconds(5);
    let saved = ws
        .named_seats()
        .save_users(saved.directory.version.number, &[assign("cy")], later)
        .await
        .unwrap();
    assert_eq!(
        saved.effects,
        [Effect::Trimmed {
            login: "cy".into(),
            seats: 2
        }]
    );
    let events = ws.database().recent_events(5).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "seat trimmed" && e.detail.starts_with("cy: cy lost the named seat")),
        "{events:?}"
    );

    // Someone inserts a seat by hand: it is not honoured, and the next trim removes it.
    sqlx::query(
        "INSERT INTO tenure_seats (login, assigned_at, assigned_by) VALUES ('cy', $1, 'sql')",
    )
    .bind(later.timestamp())
    .execute(ws.database().connected().unwrap().pool())
    .await
    .unwrap();
    let answer = ws.named_seats().authorize("cy", later).await.unwrap();
    assert_eq!(refusal(&answer), &Reason::BeyondLimit { seats: 2 });
    assert!(
        ws.named_seats()
            .authorize("ana", later)
            .await
            .unwrap()
            .is_granted()
    );
    let trimmed = ws
        .named_seats()
        .trim_to_license(later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trimmed.directory.seats_in_use(), 2);
    assert!(
        ws.named_seats()
            .trim_to_license(later)
            .await
            .unwrap()
            .is_none()
    );
    let counts = ws
        .named_seats()
        .seat_counts(now - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(counts.last().map(|c| (c.in_use, c.limit)), Some((2, 2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_gives_each_reason_as_a_sentence() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, mut ws, _other, _homes) = two_admins(3, &spec).await;
    let now = Utc::now();
    ws.named_seats()
        .change_users(&[add("ana"), add("bo"), add("cy"), assign("cy")], now)
        .await
        .unwrap();

    let answer = ws.named_seats().authorize("ana", now).await.unwrap();
    assert_eq!(
        answer.to_string(),
        "User ana is not authorised: no named-user seat is assigned. Ask your license administrator."
    );
    assert_eq!(refusal(&answer).code(), "no_seat");
    assert_eq!(
        refusal(&ws.named_seats().authorize("zed", now).await.unwrap()),
        &Reason::UnknownUser
    );
    assert!(
        ws.named_seats()
            .authorize("cy", now)
            .await
            .unwrap()
            .is_granted()
    );
    ws.named_seats()
        .change_users(
            &[Change::SetDisabled {
                login: "cy".into(),
                disabled: true,
            }],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        refusal(&ws.named_seats().authorize("cy", now).await.unwrap()),
        &Reason::Disabled
    );

    // Another database than the licensed one.
    let elsewhere = ws.database().binding_for("other-server", "plant");
    ws.configure().override_binding(Some(elsewhere));
    let moved = ws.named_seats().authorize("cy", now).await.unwrap();
    assert!(moved.to_string().contains("re-validate"), "{moved}");
    ws.configure().override_binding(None);

    // Time passes with no validation, then the license ends; a clock set back is caught.
    let grace = refusal(
        &ws.named_seats()
            .authorize("cy", now + Duration::days(31))
            .await
            .unwrap(),
    )
    .clone();
    assert_eq!(grace.code(), "grace_expired");
    let expired = ws
        .named_seats()
        .authorize("cy", now + Duration::days(500))
        .await
        .unwrap();
    assert!(
        expired.to_string().contains("the license expired on"),
        "{expired}"
    );
    let back = ws
        .named_seats()
        .authorize("cy", now - Duration::days(3))
        .await
        .unwrap();
    assert_eq!(refusal(&back).code(), "clock_set_back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_seats_are_given_once_and_only_while_free() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _other, _homes) = two_admins(2, &spec).await;
    let now = Utc::now();
    let policy = SeatPolicy {
        auto_assign: true,
        free_on_disable: true,
    };
    ws.named_seats()
        .change_users(&[Change::SetPolicy(policy), add("ana")], now)
        .await
        .unwrap();

    // A known user and an unknown one get the two free seats; the third finds none.
    let ana = ws.named_seats().authorize("ana", now).await.unwrap();
    assert!(
        matches!(&ana, Authorization::Granted(g) if g.auto_assigned),
        "{ana}"
    );
    assert!(
        ws.named_seats()
            .authorize("newcomer", now)
            .await
            .unwrap()
            .is_granted()
    );
    let third = ws.named_seats().authorize("late", now).await.unwrap();
    assert_eq!(refusal(&third).code(), "unknown_user");

    // Disabling frees the seat under the policy; a seat taken back is not given again.
    let saved = ws
        .named_seats()
        .change_users(
            &[Change::SetDisabled {
                login: "ana".into(),
                disabled: true,
            }],
            now,
        )
        .await
        .unwrap();
    assert_eq!(saved.directory.seats_in_use(), 1);
    ws.named_seats()
        .change_users(
            &[Change::Unassign {
                login: "newcomer".into(),
            }],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        refusal(&ws.named_seats().authorize("newcomer", now).await.unwrap()).code(),
        "no_seat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_with_a_bad_row_imports_nothing_and_a_good_one_is_trimmed_by_the_rule() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _other, _homes) = two_admins(2, &spec).await;
    let now = Utc::now();

    let bad = "login,name,email,licensed\nana,Ana,ana@x.example,yes\nbo,Bo,bo@x.example,maybe\n";
    let err = users_csv::parse(bad.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("line 3: licensed"), "{err}");
    assert!(ws.named_seats().users().await.unwrap().users.is_empty());

    let good = "login,name,email,licensed\nana,Ana,,yes\nbo,Bo,,yes\ncy,Cy,,yes\n";
    let rows = users_csv::parse(good.as_bytes()).unwrap();
    let dir = ws.named_seats().users().await.unwrap();
    let saved = ws
        .named_seats()
        .save_users(
            dir.version.number,
            &users_csv::import_changes(&dir, &rows),
            now,
        )
        .await
        .unwrap();
    assert_eq!(saved.directory.users.len(), 3);
    let trimmed: Vec<_> = saved
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::Trimmed { .. }))
        .collect();
    // All three were ticked at one time: the tie goes by login, so cy is the one trimmed.
    assert_eq!(
        trimmed,
        [&Effect::Trimmed {
            login: "cy".into(),
            seats: 2
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_with_fewer_seats_trims_the_latest_assigned() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (site, mut ws, _other, _homes) = two_admins(10, &spec).await;
    let now = Utc::now();
    ws.named_seats()
        .change_users(
            &[add("ana"), add("bo"), add("cy"), assign("cy")],
            now - Duration::days(3),
        )
        .await
        .unwrap();
    ws.named_seats()
        .change_users(&[assign("ana"), assign("bo")], now - Duration::days(1))
        .await
        .unwrap();

    // The renewed license grants two seats.
    let mut terms = sample_terms("Acme");
    terms.seats = 2;
    let renewal = site.sandbox.issue("acme-renewal", &terms).await.unwrap();
    let api = ws.server().api(None).unwrap();
    let binding = ws.database().current_binding().unwrap();
    let report = ws.activate(&api, &renewal.key, binding, now).await.unwrap();
    assert_eq!(report.seats_trimmed, ["bo"]);
    let note = report.seats_trimmed_note().unwrap();
    assert!(
        note.contains("grants 2 named seats: bo lost the seat"),
        "{note}"
    );

    let directory = ws.named_seats().users().await.unwrap();
    let holders: Vec<&str> = directory
        .users
        .values()
        .filter(|u| u.seat.is_some())
        .map(|u| u.login.as_str())
        .collect();
    // cy was first; ana and bo tie, so the login decides.
    assert_eq!(holders, ["ana", "cy"]);
    let events = ws.database().recent_events(10).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "seat trimmed" && e.detail.contains("bo lost the named seat")),
        "{events:?}"
    );
}

/// Issue 31: churn caps the vendor signs. A user whose seat was taken waits out the cool-down;
/// seats given back out after being taken are capped per 30 days, with the date the next one
/// can be made; trims are never refused, and the cap counts from the oldest in the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_caps_hold_a_cool_down_and_reassignments_per_30_days() {
    let mut terms = sample_terms("Acme");
    terms.seats = 2;
    terms.churn = tenure_core::Churn {
        seat_cooldown_hours: 48,
        reassignments_per_30_days: 2,
        ..tenure_core::Churn::default()
    };
    let site = site_with(&terms).await;
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let mut ws = workstation_with(&site, &home, &spec, SecretStore::memory()).await;
    activate(&mut ws, &site).await;
    let seats = ws.named_seats();
    let now = Utc::now();
    let at = |hours: i64| now + Duration::hours(hours);
    let unassign = |login: &str| Change::Unassign {
        login: login.into(),
    };
    let change =
        |changes: Vec<Change>, when| async move { seats.change_users(&changes, when).await };
    let mut everyone: Vec<Change> = ["ana", "bo", "cy", "dan", "eve"].map(add).into();
    everyone.extend([assign("ana"), assign("bo")]);
    change(everyone, now).await.unwrap();

    change(vec![unassign("ana")], at(1)).await.unwrap();
    // A product asking for ana with automatic seats on: refused, not an error.
    let policy = SeatPolicy {
        auto_assign: true,
        free_on_disable: false,
    };
    change(vec![Change::SetPolicy(policy)], at(1))
        .await
        .unwrap();
    let answer = seats.authorize("ana", at(2)).await.unwrap();
    assert!(matches!(answer, Authorization::Refused(_)), "{answer}");
    change(vec![Change::SetPolicy(SeatPolicy::default())], at(1))
        .await
        .unwrap();
    let e = change(vec![assign("ana")], at(2))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ana's seat was taken away") && e.contains("no sooner than 48 hours"),
        "{e}"
    );
    change(vec![assign("cy")], at(2)).await.unwrap();
    change(vec![unassign("bo"), assign("dan")], at(3))
        .await
        .unwrap();
    change(vec![unassign("cy")], at(4)).await.unwrap();
    let e = change(vec![assign("eve")], at(4)).await.unwrap_err();
    assert!(
        matches!(e, NamedSeatsError::Save(SaveError::Churn(_))),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("allows 2 seat reassignments in any 30 days and 2 are used")
            && e.contains("the next can be made from"),
        "{e}"
    );
    // Nothing of the refused save was kept.
    let directory = seats.users().await.unwrap();
    assert!(directory.users["eve"].seat.is_none());
    // Past the window, and past ana's cool-down.
    let later = now + Duration::days(31);
    change(vec![assign("eve")], later).await.unwrap();
}
