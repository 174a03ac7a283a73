//! Concurrent seats against real databases: 1,000 simultaneous checkouts for 100 seats on SQLite
//! and PostgreSQL, one seat per user and machine, leases running out, an admin ending a session,
//! borrowing with the clock passed in, and the usage report.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::sync::Arc;

use chrono::{Duration, Timelike as _, Utc};
use tenure_client::product_db::{Activity, DbSpec, SessionError};
use tenure_client::{
    ConcurrentSeatsError, SeatAnswer, SeatKeeper, SeatRefusal, SecretStore, Workstation,
};
use tenure_core::SeatKind;
use tenure_server::sandbox::sample_terms;
use tenure_testkit::PgCluster;

pub mod support;
use support::{Site, activate, site_with, workstation_with};

/// A workstation on `spec` with an activated concurrent license of `seats` seats and a
/// `lease_secs` lease.
async fn pool(
    seats: u32,
    lease_secs: u32,
    spec: &DbSpec,
) -> (Site, Workstation, tempfile::TempDir) {
    let mut terms = sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = seats;
    terms.lease_secs = lease_secs;
    terms.max_borrow_days = 7;
    let site = site_with(&terms).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation_with(&site, &home, spec, SecretStore::memory()).await;
    activate(&mut ws, &site).await;
    (site, ws, home)
}

fn granted(answer: &SeatAnswer) -> &tenure_client::product_db::Session {
    answer
        .session()
        .unwrap_or_else(|| panic!("expected a seat, got: {answer}"))
}

async fn never_over_granted(spec: DbSpec) {
    let (_site, ws, _home) = pool(100, 300, &spec).await;
    let ws = Arc::new(ws);
    let now = Utc::now();
    let tasks: Vec<_> = (0..1_000)
        .map(|i| {
            let ws = ws.clone();
            tokio::spawn(async move {
                ws.concurrent_seats()
                    .checkout(&format!("user{i}"), &format!("pc{i}"), now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            SeatAnswer::Granted(_) => granted += 1,
            SeatAnswer::Refused(SeatRefusal::Full { in_use, seats, .. }) => {
                assert_eq!((in_use, seats), (100, 100));
                refused += 1;
            }
            SeatAnswer::Refused(other) => panic!("{other}"),
        }
    }
    assert_eq!((granted, refused), (100, 900));
    assert_eq!(
        ws.concurrent_seats().sessions(now).await.unwrap().len(),
        100
    );
    let usage = ws
        .concurrent_seats()
        .usage(1, now + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(usage.days.iter().map(|d| d.refusals).sum::<u32>(), 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_checkouts_for_a_hundred_seats_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    never_over_granted(DbSpec::Sqlite(data.path().join("plant.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_checkouts_for_a_hundred_seats_on_postgres() {
    let pg = PgCluster::start();
    never_over_granted(DbSpec::parse(&pg.create_database("plant")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_seat_per_user_and_machine_and_the_full_answer_names_the_next_lease() {
    let data = tempfile::tempdir().unwrap();
    let (_site, ws, _home) = pool(2, 300, &DbSpec::Sqlite(data.path().join("plant.db"))).await;
    let now = Utc::now();
    let first = ws
        .concurrent_seats()
        .checkout("ana", "pc1", now)
        .await
        .unwrap();
    let again = ws
        .concurrent_seats()
        .checkout("ana", "pc1", now + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        granted(&first).id,
        granted(&again).id,
        "a second copy shares the seat"
    );
    ws.concurrent_seats()
        .checkout("bo", "pc2", now)
        .await
        .unwrap();
    let full = ws
        .concurrent_seats()
        .checkout("cy", "pc3", now)
        .await
        .unwrap();
    let text = full.to_string();
    assert!(
        text.starts_with(
            "No seat is free (2 of 2 in use). Try again later — the next lease ends at"
        ),
        "{text}"
    );
    // Checked in: the seat is free for the next one at once.
    assert!(
        ws.concurrent_seats()
            .checkin(&granted(&first).id, now)
            .await
            .unwrap()
    );
    granted(
        &ws.concurrent_seats()
            .checkout("cy", "pc3", now)
            .await
            .unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_loses_its_seat_when_the_lease_ends_and_an_ended_one_is_told_who() {
    let data = tempfile::tempdir().unwrap();
    let (_site, ws, _home) = pool(1, 60, &DbSpec::Sqlite(data.path().join("plant.db"))).await;
    let now = Utc::now();
    let silent = granted(
        &ws.concurrent_seats()
            .checkout("ana", "pc1", now)
            .await
            .unwrap(),
    )
    .clone();
    // Heartbeats keep it: at 50 s the lease is renewed to 110 s.
    ws.concurrent_seats()
        .heartbeat(&silent.id, Activity::Active, now + Duration::seconds(50))
        .await
        .unwrap();
    assert!(matches!(
        ws.concurrent_seats()
            .checkout("bo", "pc2", now + Duration::seconds(100))
            .await
            .unwrap(),
        SeatAnswer::Refused(SeatRefusal::Full { .. })
    ));
    // Then nothing: after the lease, the seat is bo's, and ana's next heartbeat says so.
    let bo = granted(
        &ws.concurrent_seats()
            .checkout("bo", "pc2", now + Duration::seconds(111))
            .await
            .unwrap(),
    )
    .clone();
    let late = ws
        .concurrent_seats()
        .heartbeat(&silent.id, Activity::Active, now + Duration::seconds(112))
        .await;
    assert!(
        matches!(
            late,
            Err(ConcurrentSeatsError::Session(SessionError::Expired(_)))
        ),
        "{late:?}"
    );

    // An admin ends bo's session: the seat is free at once, and bo is told by whom.
    assert_eq!(
        ws.concurrent_seats()
            .end_session(&bo.id, now + Duration::seconds(120))
            .await
            .unwrap(),
        tenure_client::Ending::Ended
    );
    let told = ws
        .concurrent_seats()
        .heartbeat(&bo.id, Activity::Active, now + Duration::seconds(121))
        .await
        .unwrap_err();
    assert!(
        told.to_string().starts_with("Your session was ended by"),
        "{told}"
    );
    granted(
        &ws.concurrent_seats()
            .checkout("cy", "pc3", now + Duration::seconds(122))
            .await
            .unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowed_seat_works_offline_until_it_ends_and_can_come_back_early() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (site, ws, home) = pool(1, 300, &spec).await;
    let now = Utc::now();
    let too_long = ws
        .concurrent_seats()
        .borrow("ana", "laptop", 8, now)
        .await
        .unwrap();
    assert_eq!(
        too_long.to_string(),
        "A seat can be borrowed for at most 7 days under this license, not 8."
    );
    let borrowed = granted(
        &ws.concurrent_seats()
            .borrow("ana", "laptop", 3, now)
            .await
            .unwrap(),
    )
    .clone();
    assert_eq!(borrowed.borrowed_until, Some(borrowed.lease_until));
    // The pool counts it as taken.
    assert!(matches!(
        ws.concurrent_seats()
            .checkout("bo", "pc2", now + Duration::days(1))
            .await
            .unwrap(),
        SeatAnswer::Refused(SeatRefusal::Full { .. })
    ));

    // Offshore: the same profile with no product database in reach.
    let offline = Workstation::open(
        tenure_client::Profile::at(home.path()),
        ws.secrets().clone(),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
    let day2 = now + Duration::days(2);
    granted(
        &offline
            .concurrent_seats()
            .checkout("ana", "laptop", day2)
            .await
            .unwrap(),
    );
    offline
        .concurrent_seats()
        .heartbeat(&borrowed.id, Activity::Active, day2)
        .await
        .unwrap();
    let after = offline
        .concurrent_seats()
        .checkout("ana", "laptop", now + Duration::days(4))
        .await
        .unwrap();
    assert!(
        matches!(after, SeatAnswer::Refused(SeatRefusal::BorrowEnded { .. })),
        "{after}"
    );
    // Back in the pool by itself once it ends.
    granted(
        &ws.concurrent_seats()
            .checkout("bo", "pc2", now + Duration::days(3) + Duration::seconds(1))
            .await
            .unwrap(),
    );
    drop(site);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_a_borrow_early_frees_the_seat() {
    let data = tempfile::tempdir().unwrap();
    let (_site, ws, _home) = pool(1, 300, &DbSpec::Sqlite(data.path().join("plant.db"))).await;
    let now = Utc::now();
    granted(
        &ws.concurrent_seats()
            .borrow("ana", "laptop", 5, now)
            .await
            .unwrap(),
    );
    assert!(
        ws.concurrent_seats()
            .borrow_status(now)
            .unwrap()
            .unwrap()
            .active
    );
    assert!(
        ws.concurrent_seats()
            .return_borrow(now + Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(ws.concurrent_seats().borrow_status(now).unwrap().is_none());
    granted(
        &ws.concurrent_seats()
            .checkout("bo", "pc2", now + Duration::hours(2))
            .await
            .unwrap(),
    );
    let events = ws.database().recent_events(10).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "seat returned"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_seat_outlives_its_lease_and_hears_when_an_admin_ends_it() {
    use tenure_client::SeatKeeper;
    let data = tempfile::tempdir().unwrap();
    let (_site, ws, _home) = pool(1, 3, &DbSpec::Sqlite(data.path().join("plant.db"))).await;
    let ws = Arc::new(ws);
    let keeper = SeatKeeper::take(ws.clone(), "ana", "pc1")
        .await
        .unwrap()
        .unwrap();
    // Past two leases, heartbeats keep the seat.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert!(matches!(
        ws.concurrent_seats()
            .checkout("bo", "pc2", Utc::now())
            .await
            .unwrap(),
        SeatAnswer::Refused(SeatRefusal::Full { .. })
    ));
    assert_eq!(keeper.state().lost, None);
    ws.concurrent_seats()
        .end_session(&keeper.session().id, Utc::now())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let lost = keeper.state().lost.unwrap();
    assert!(lost.starts_with("Your session was ended by"), "{lost}");

    // A released seat is free at once.
    let again = SeatKeeper::take(ws.clone(), "ana", "pc1")
        .await
        .unwrap()
        .unwrap();
    assert!(again.release().await.unwrap());
    granted(
        &ws.concurrent_seats()
            .checkout("bo", "pc2", Utc::now())
            .await
            .unwrap(),
    );
}

/// A workstation on SQLite with an activated concurrent license floating as `floating`.
async fn floating_pool(
    seats: u32,
    floating: tenure_core::Floating,
) -> (Site, Workstation, tempfile::TempDir, tempfile::TempDir) {
    floating_pool_leasing(seats, floating, 300).await
}

/// As [`floating_pool`], with leases of `lease_secs`.
async fn floating_pool_leasing(
    seats: u32,
    floating: tenure_core::Floating,
    lease_secs: u32,
) -> (Site, Workstation, tempfile::TempDir, tempfile::TempDir) {
    let mut terms = sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = seats;
    terms.lease_secs = lease_secs;
    terms.floating = floating;
    let site = site_with(&terms).await;
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let mut ws = workstation_with(&site, &home, &spec, SecretStore::memory()).await;
    activate(&mut ws, &site).await;
    (site, ws, home, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdraft_seats_are_marked_and_the_count_plus_overdraft_holds() {
    let floating = tenure_core::Floating {
        overdraft: 1,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, _data) = floating_pool(2, floating).await;
    let now = Utc::now();
    let seats = ws.concurrent_seats();
    let mut marked = Vec::new();
    for user in ["ana", "bo", "cy"] {
        let answer = seats.checkout(user, "pc", now).await.unwrap();
        marked.push(granted(&answer).overdraft);
        if user == "cy" {
            assert!(answer.to_string().contains("over the count"), "{answer}");
        }
    }
    assert_eq!(marked, [false, false, true]);
    let answer = seats.checkout("dan", "pc", now).await.unwrap();
    assert!(
        matches!(
            answer,
            SeatAnswer::Refused(SeatRefusal::Full { in_use: 3, .. })
        ),
        "never past the count plus the overdraft: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_checked_in_lingers_for_its_user_then_comes_free() {
    let floating = tenure_core::Floating {
        linger_mins: 5,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, _data) = floating_pool(1, floating).await;
    let now = Utc::now();
    let seats = ws.concurrent_seats();
    let ana = granted(&seats.checkout("ana", "pc1", now).await.unwrap()).clone();
    assert!(seats.checkin(&ana.id, now).await.unwrap());
    let listed = seats.sessions(now).await.unwrap();
    assert_eq!(
        listed[0].lingering_since,
        Some(now.with_nanosecond(0).unwrap())
    );
    // Still ana's: bo is refused, ana takes the same seat back.
    let bo = seats.checkout("bo", "pc2", now).await.unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    let again = seats.checkout("ana", "pc1", now).await.unwrap();
    assert_eq!(granted(&again).id, ana.id);
    assert_eq!(granted(&again).lingering_since, None);
    // Given back again; after the linger it is anyone's.
    assert!(seats.checkin(&ana.id, now).await.unwrap());
    let later = now + Duration::minutes(6);
    granted(&seats.checkout("bo", "pc2", later).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_reported_idle_past_the_timeout_goes_to_the_next_user() {
    let floating = tenure_core::Floating {
        idle_timeout_mins: 10,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, _data) = floating_pool(1, floating).await;
    let now = Utc::now().with_nanosecond(0).unwrap();
    let at = |mins: i64| now + Duration::minutes(mins);
    let seats = ws.concurrent_seats();
    let ana = granted(&seats.checkout("ana", "pc1", now).await.unwrap()).clone();
    seats
        .heartbeat(&ana.id, Activity::Idle, at(1))
        .await
        .unwrap();
    // In use again: the idle time starts over at the next idle report.
    let back = seats
        .heartbeat(&ana.id, Activity::Active, at(3))
        .await
        .unwrap();
    assert_eq!(back.idle_since, None);
    let idle = seats
        .heartbeat(&ana.id, Activity::Idle, at(4))
        .await
        .unwrap();
    assert_eq!(idle.idle_since, Some(at(4)));
    seats
        .heartbeat(&ana.id, Activity::Idle, at(8))
        .await
        .unwrap();
    seats
        .heartbeat(&ana.id, Activity::Idle, at(12))
        .await
        .unwrap();
    // Idle 9 minutes, counted from the last idle report after use: still ana's.
    let bo = seats.checkout("bo", "pc2", at(13)).await.unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    seats
        .heartbeat(&ana.id, Activity::Idle, at(14))
        .await
        .unwrap();
    granted(&seats.checkout("bo", "pc2", at(15)).await.unwrap());
    let lost = seats
        .heartbeat(&ana.id, Activity::Active, at(16))
        .await
        .unwrap_err();
    assert!(
        matches!(lost, ConcurrentSeatsError::Session(SessionError::Idle(_))),
        "{lost}"
    );
    assert!(
        lost.to_string()
            .contains("idle longer than the license allows"),
        "{lost}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_may_lengthen_linger_and_idle_release_never_shorten_them() {
    let floating = tenure_core::Floating {
        linger_mins: 5,
        idle_timeout_mins: 10,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, _data) = floating_pool(1, floating).await;
    let now = Utc::now();
    let seats = ws.concurrent_seats();
    let e = seats
        .set_floating_policy(Some(3), None, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("linger of 5 minutes") && e.contains("give 5 or more"),
        "{e}"
    );
    let e = seats
        .set_floating_policy(None, Some(9), now)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("after 10 idle minutes"), "{e}");
    let policy = seats
        .set_floating_policy(Some(20), Some(30), now)
        .await
        .unwrap();
    assert_eq!(
        (policy.linger_mins(), policy.idle_timeout_mins()),
        (20, Some(30))
    );
    // Kept on the database: another read sees it.
    let read = seats.floating_policy(now).await.unwrap();
    assert_eq!(read, policy);

    // The longer linger holds: bo is refused ten minutes after ana checked in.
    let ana = granted(&seats.checkout("ana", "pc1", now).await.unwrap()).clone();
    assert!(seats.checkin(&ana.id, now).await.unwrap());
    let bo = seats
        .checkout("bo", "pc2", now + Duration::minutes(10))
        .await
        .unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    granted(
        &seats
            .checkout("bo", "pc2", now + Duration::minutes(21))
            .await
            .unwrap(),
    );
    // 0 goes back to the license's.
    let policy = seats
        .set_floating_policy(Some(0), Some(0), now)
        .await
        .unwrap();
    assert_eq!(
        (policy.linger_mins(), policy.idle_timeout_mins()),
        (5, Some(10))
    );
}

/// Attack: the licensee lowers the customer's policy in the database by hand, to free seats
/// sooner than the vendor signed (a shorter linger, an idle release the license has none of).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_lowered_by_hand_frees_no_seat_sooner_than_signed() {
    let floating = tenure_core::Floating {
        linger_mins: 5,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, data) = floating_pool(1, floating).await;
    let now = Utc::now();
    let seats = ws.concurrent_seats();
    let e = seats
        .set_floating_policy(None, Some(1), now)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not free idle seats"), "{e}");
    support::run_sql(
        &data.path().join("plant.db"),
        &[
            "INSERT INTO tenure_floating_policy (slot, linger_mins, idle_timeout_mins) \
           VALUES ('pool', 1, 1)",
        ],
    )
    .await;
    let policy = seats.floating_policy(now).await.unwrap();
    assert_eq!(
        (policy.linger_mins(), policy.idle_timeout_mins()),
        (5, None)
    );

    let ana = granted(&seats.checkout("ana", "pc1", now).await.unwrap()).clone();
    seats
        .heartbeat(&ana.id, Activity::Idle, now + Duration::minutes(1))
        .await
        .unwrap();
    // Idle three minutes under a forged one-minute release: still ana's.
    let bo = seats
        .checkout("bo", "pc2", now + Duration::minutes(4))
        .await
        .unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    // Checked in: the signed five-minute linger holds, not the forged one.
    assert!(
        seats
            .checkin(&ana.id, now + Duration::minutes(4))
            .await
            .unwrap()
    );
    let bo = seats
        .checkout("bo", "pc2", now + Duration::minutes(6))
        .await
        .unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    granted(
        &seats
            .checkout("bo", "pc2", now + Duration::minutes(10))
            .await
            .unwrap(),
    );
}

/// The product says it is idle through its kept seat; the heartbeats carry it, and the seat,
/// freed for another user, is heard lost in the idle sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_seat_reports_idle_with_its_heartbeats_and_hears_it_freed() {
    let floating = tenure_core::Floating {
        idle_timeout_mins: 10,
        ..tenure_core::Floating::default()
    };
    let (_site, ws, _home, data) = floating_pool_leasing(1, floating, 3).await;
    let ws = Arc::new(ws);
    let (told, heard) = std::sync::mpsc::sync_channel(16);
    let listener: tenure_client::SeatListener =
        Arc::new(move |event: &tenure_client::SeatEvent| {
            let _ = told.send(format!("{event:?}"));
        });
    let kept = SeatKeeper::take_with(ws.clone(), "ana", "pc1", Some(listener))
        .await
        .unwrap()
        .unwrap();
    let idle_since = || async {
        let listed = ws.concurrent_seats().sessions(Utc::now()).await.unwrap();
        listed[0].idle_since
    };
    kept.set_idle(true);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(idle_since().await.is_some(), "a heartbeat reported idle");
    kept.set_idle(false);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert_eq!(idle_since().await, None, "a heartbeat reported use again");
    kept.set_idle(true);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    // Idle eleven minutes (moved back by hand: the heartbeats keep the lease meanwhile), bo
    // asks: the idle seat is his.
    support::run_sql(
        &data.path().join("plant.db"),
        &["UPDATE tenure_sessions SET idle_since = idle_since - 660"],
    )
    .await;
    granted(
        &ws.concurrent_seats()
            .checkout("bo", "pc2", Utc::now())
            .await
            .unwrap(),
    );
    let event = heard
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert!(event.contains("Lost") && event.contains("idle"), "{event}");
    assert!(kept.state().lost.is_some());
}

/// Seats given beyond the count are counted per day in the usage report and reach the
/// vendor with the next validation, where `license show` reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdraft_is_counted_per_day_and_reported_to_the_vendor_at_validation() {
    let floating = tenure_core::Floating {
        overdraft: 1,
        ..tenure_core::Floating::default()
    };
    let (site, ws, _home, _data) = floating_pool(1, floating).await;
    let now = Utc::now();
    let yesterday = now - Duration::days(1);
    let seats = ws.concurrent_seats();
    granted(&seats.checkout("ana", "pc1", yesterday).await.unwrap());
    let bo = seats.checkout("bo", "pc2", yesterday).await.unwrap();
    assert!(granted(&bo).overdraft);
    // Today's overdraft is counted here, and reported once the day is whole.
    granted(&seats.checkout("cy", "pc3", now).await.unwrap());
    let dan = seats.checkout("dan", "pc4", now).await.unwrap();
    assert!(granted(&dan).overdraft);

    let usage = seats.usage(3, now).await.unwrap();
    let counted: Vec<(chrono::NaiveDate, u32)> = usage
        .days
        .iter()
        .filter(|d| d.overdraft > 0)
        .map(|d| (d.day, d.overdraft))
        .collect();
    assert_eq!(
        counted,
        [(yesterday.date_naive(), 1), (now.date_naive(), 1)]
    );

    let api = ws.server().api(None).unwrap();
    ws.validate(&api, now).await.unwrap();
    let since = now.date_naive() - chrono::Days::new(30);
    let reported = site
        .sandbox
        .vendor()
        .licenses()
        .show(&site.issued.license_id, since)
        .await
        .unwrap()
        .overdraft;
    assert_eq!(
        reported,
        [tenure_core::protocol::OverdraftDay {
            day: yesterday.date_naive(),
            grants: 1
        }]
    );
    // Reported again with the next validation: the day's count is replaced, not added.
    ws.validate(&api, now).await.unwrap();
    let again = site
        .sandbox
        .vendor()
        .licenses()
        .show(&site.issued.license_id, since)
        .await
        .unwrap()
        .overdraft;
    assert_eq!(again, reported);
}

/// Issue 31, attack: an admin "ends" the session of a seat borrowed onto a laptop that keeps
/// working offline, to give the seat to someone else as well. The borrow is revoked instead:
/// still counted, so the pool never gives the seat twice; once the laptop is back in reach of
/// the pool it drops the borrow, hears who revoked it, and the seat is free at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_borrow_is_never_given_twice_and_ends_when_the_laptop_is_back() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (site, laptop, _home) = pool(1, 300, &spec).await;
    let now = Utc::now();
    let borrowed = granted(
        &laptop
            .concurrent_seats()
            .borrow("ana", "laptop", 5, now)
            .await
            .unwrap(),
    )
    .clone();
    let admin_home = tempfile::tempdir().unwrap();
    let admin = support::workstation_with(&site, &admin_home, &spec, SecretStore::memory()).await;
    let ending = admin
        .concurrent_seats()
        .end_session(&borrowed.id, now + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        matches!(ending, tenure_client::Ending::BorrowRevoked { until } if until == borrowed.borrowed_until.unwrap()),
        "{ending:?}"
    );
    // Still counted: the seat is not given twice while the laptop may still use it.
    let bo = admin
        .concurrent_seats()
        .checkout("bo", "pc2", now + Duration::hours(2))
        .await
        .unwrap();
    assert!(
        matches!(bo, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{bo}"
    );
    let listed = admin
        .concurrent_seats()
        .sessions(now + Duration::hours(2))
        .await
        .unwrap();
    assert!(listed[0].revoked.is_some(), "{listed:?}");
    // The laptop, back on the pool: told, borrow dropped, seat free.
    let told = laptop
        .concurrent_seats()
        .heartbeat(&borrowed.id, Activity::Active, now + Duration::hours(3))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        told.contains("Your borrowed seat was revoked by") && told.contains("back in the pool"),
        "{told}"
    );
    assert!(
        laptop
            .concurrent_seats()
            .borrow_status(now)
            .unwrap()
            .is_none()
    );
    granted(
        &admin
            .concurrent_seats()
            .checkout("bo", "pc2", now + Duration::hours(3))
            .await
            .unwrap(),
    );
}

/// A laptop holding a borrowed seat and a kept session: once the borrow is revoked, the other
/// session's heartbeat drops the borrow and goes on; only the borrow itself is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_borrow_does_not_end_the_laptops_other_session() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (site, laptop, _home) = pool(2, 300, &spec).await;
    let now = Utc::now();
    let seats = laptop.concurrent_seats();
    let borrowed = granted(&seats.borrow("ana", "laptop", 5, now).await.unwrap()).clone();
    let other = granted(&seats.checkout("bo", "laptop", now).await.unwrap()).clone();
    let admin_home = tempfile::tempdir().unwrap();
    let admin = support::workstation_with(&site, &admin_home, &spec, SecretStore::memory()).await;
    admin
        .concurrent_seats()
        .end_session(&borrowed.id, now)
        .await
        .unwrap();
    let renewed = seats
        .heartbeat(&other.id, Activity::Active, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(renewed.id, other.id);
    assert!(
        seats.borrow_status(now).unwrap().is_none(),
        "the borrow is dropped"
    );
    granted(
        &admin
            .concurrent_seats()
            .checkout("cy", "pc3", now + Duration::minutes(1))
            .await
            .unwrap(),
    );
}

/// Issue 31: a lost laptop's borrowed seat comes back at once when the vendor confirms the
/// revocation. The pool reports it at its next validation; the signed answer lists it, so the
/// pool frees the seat; the laptop, away from the pool, hears it from the vendor at its own
/// next validation and its borrow grants nothing from then on, even offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_the_vendor_confirms_frees_the_seat_at_once_and_stops_the_laptop() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let mut terms = sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = 1;
    terms.max_borrow_days = 7;
    let site = site_with(&terms).await;
    let laptop_home = tempfile::tempdir().unwrap();
    let laptop_secrets = SecretStore::memory();
    let mut laptop = workstation_with(&site, &laptop_home, &spec, laptop_secrets.clone()).await;
    activate(&mut laptop, &site).await;
    let now = Utc::now();
    let borrowed = granted(
        &laptop
            .concurrent_seats()
            .borrow("ana", "laptop", 5, now)
            .await
            .unwrap(),
    )
    .clone();
    // The laptop leaves: the same profile, with no product database in reach.
    let roots = laptop.vendor_keys().roots().clone();
    drop(laptop);
    let laptop = Workstation::open(
        tenure_client::Profile::at(laptop_home.path()),
        laptop_secrets,
        roots,
    )
    .unwrap();

    let admin_home = tempfile::tempdir().unwrap();
    let admin = workstation_with(&site, &admin_home, &spec, SecretStore::memory()).await;
    admin
        .concurrent_seats()
        .end_session(&borrowed.id, now)
        .await
        .unwrap();
    let full = admin
        .concurrent_seats()
        .checkout("bo", "pc2", now)
        .await
        .unwrap();
    assert!(
        matches!(full, SeatAnswer::Refused(SeatRefusal::Full { .. })),
        "{full}"
    );

    // The pool validates: the vendor confirms, and the seat is free at once.
    let api = admin.server().api(None).unwrap();
    admin.validate(&api, now).await.unwrap();
    let license = admin.license().unwrap().unwrap();
    assert_eq!(license.revoked_borrows, vec![borrowed.id.clone()]);
    granted(
        &admin
            .concurrent_seats()
            .checkout("bo", "pc2", now)
            .await
            .unwrap(),
    );
    let ended = admin
        .database()
        .connected()
        .unwrap()
        .session(&borrowed.id)
        .await
        .unwrap();
    assert!(
        ended
            .ended_by
            .as_deref()
            .is_some_and(|by| by.contains("confirmed by the vendor")),
        "{ended:?}"
    );
    let since = now.date_naive() - chrono::Days::new(1);
    let vendor = site.sandbox.vendor();
    let shown = vendor.licenses().show(&site.issued.license_id, since).await;
    let early = shown.unwrap().early_returns;
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].session_id, borrowed.id);
    let events = admin.database().recent_events(5).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "borrow returned early"),
        "{events:?}"
    );

    // Still offline, the laptop works on its borrow until it hears from the vendor.
    let seats = laptop.concurrent_seats();
    granted(&seats.checkout("ana", "laptop", now).await.unwrap());
    laptop.validate(&api, now).await.unwrap();
    let told = seats
        .heartbeat(&borrowed.id, Activity::Active, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(told.contains("Your borrowed seat was revoked by"), "{told}");
    let refused = seats.checkout("ana", "laptop", now).await.unwrap();
    assert!(
        matches!(
            refused,
            SeatAnswer::Refused(SeatRefusal::BorrowEnded { .. })
        ),
        "{refused}"
    );
}

/// Attack: a licensee "revokes" borrows it still uses to free their seats early. The vendor
/// confirms at most its 30-day cap of early returns per license; the rest stay counted in the
/// pool until their borrows end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_returns_beyond_the_vendors_cap_are_not_confirmed() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = pool(4, 300, &spec).await;
    let now = Utc::now();
    let seats = ws.concurrent_seats();
    let mut borrowed = Vec::new();
    for user in ["ana", "bo", "cy"] {
        let answer = seats
            .borrow(user, &format!("{user}-laptop"), 5, now)
            .await
            .unwrap();
        borrowed.push(granted(&answer).id.clone());
    }
    for id in &borrowed {
        seats.end_session(id, now).await.unwrap();
    }
    let api = ws.server().api(None).unwrap();
    ws.validate(&api, now).await.unwrap();
    let cap = usize::try_from(tenure_server::store::EARLY_RETURNS_PER_30_DAYS).unwrap();
    assert_eq!(ws.license().unwrap().unwrap().revoked_borrows.len(), cap);
    let still_out = seats.sessions(now).await.unwrap();
    assert_eq!(still_out.len(), borrowed.len() - cap, "{still_out:?}");
    assert!(still_out[0].revoked.is_some());
    // Reported again, the one over the cap is still refused.
    ws.validate(&api, now).await.unwrap();
    assert_eq!(
        seats.sessions(now).await.unwrap().len(),
        borrowed.len() - cap
    );
}
