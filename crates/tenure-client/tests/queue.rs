//! The line for a concurrent seat, on real databases: the next seat freed goes to the head of
//! the line, not to whoever asks first; a waiter that stops asking leaves; an admin moves or
//! removes a waiter; a licensee editing the line gains no seat over the count; and, over random
//! schedules, no later arrival ever takes a seat an earlier waiter needed.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use tenure_client::product_db::{
    Checkout, CheckoutRequest, DbSpec, GroupShare, ProductDb, WAITER_GONE,
};
use tenure_testkit::PgCluster;
pub mod support;

fn request(login: &str, seats: u32, wait: bool) -> CheckoutRequest<'_> {
    CheckoutRequest {
        login,
        machine: "pc",
        seats,
        overdraft: 0,
        idle_timeout_mins: 0,
        lease: Duration::hours(1),
        borrow: false,
        share: None,
        admin: false,
        wait,
    }
}

async fn ask(db: &ProductDb, login: &str, wait: bool, now: DateTime<Utc>) -> Checkout {
    db.checkout(&request(login, 1, wait), now).await.unwrap()
}

fn place(answer: &Checkout) -> Option<u32> {
    match answer {
        Checkout::InLine { position, .. } => *position,
        other => panic!("expected a place in line, got {other:?}"),
    }
}

fn granted(answer: &Checkout) -> String {
    match answer {
        Checkout::Granted(session) => session.id.clone(),
        other => panic!("expected a seat, got {other:?}"),
    }
}

/// Runs statements on the SQLite product database in `dir` as its owner may, behind Tenure.
async fn run_sql(dir: &std::path::Path, statements: &[&'static str]) {
    support::run_sql(&dir.join("plant.db"), statements).await;
}

async fn line(db: &ProductDb, now: DateTime<Utc>) -> Vec<String> {
    db.line()
        .waiters(now)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.login)
        .collect()
}

async fn the_next_seat_goes_to_the_head_of_the_line(spec: DbSpec) {
    let db = ProductDb::connect(&spec, "ws").await.unwrap();
    let now = Utc::now();
    let ana = granted(&ask(&db, "ana", false, now).await);
    assert_eq!(place(&ask(&db, "ben", true, now).await), Some(1));
    assert_eq!(place(&ask(&db, "cat", true, now).await), Some(2));
    // Asking again keeps the place.
    assert_eq!(place(&ask(&db, "ben", true, now).await), Some(1));
    // One who does not wait is told the pool is full.
    assert!(matches!(
        ask(&db, "dan", false, now).await,
        Checkout::Full { .. }
    ));
    assert_eq!(line(&db, now).await, ["ben", "cat"]);

    assert!(db.end_session(&ana, "checked in", now).await.unwrap());
    // The seat is free, but two wait for it: neither a newcomer nor the second in line gets it.
    match ask(&db, "dan", false, now).await {
        Checkout::InLine {
            position: None,
            ahead: 2,
            ..
        } => {}
        other => panic!("a newcomer must not pass the line: {other:?}"),
    }
    assert_eq!(place(&ask(&db, "cat", true, now).await), Some(2));
    let ben = granted(&ask(&db, "ben", true, now).await);
    assert_eq!(line(&db, now).await, ["cat"]);
    assert!(db.end_session(&ben, "checked in", now).await.unwrap());
    granted(&ask(&db, "cat", true, now).await);
    assert!(line(&db, now).await.is_empty());
}

#[tokio::test]
async fn the_next_seat_goes_to_the_head_of_the_line_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    the_next_seat_goes_to_the_head_of_the_line(DbSpec::Sqlite(dir.path().join("plant.db"))).await;
}

#[tokio::test]
async fn the_next_seat_goes_to_the_head_of_the_line_on_postgres() {
    let pg = PgCluster::start();
    the_next_seat_goes_to_the_head_of_the_line(
        DbSpec::parse(&pg.create_database("plant")).unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_waiter_that_stops_asking_leaves_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = ProductDb::connect(&DbSpec::Sqlite(dir.path().join("plant.db")), "ws")
        .await
        .unwrap();
    let now = Utc::now();
    let ana = granted(&ask(&db, "ana", false, now).await);
    assert_eq!(place(&ask(&db, "ben", true, now).await), Some(1));
    let later = now + Duration::from_std(WAITER_GONE).unwrap() + Duration::seconds(1);
    assert_eq!(
        place(&ask(&db, "cat", true, later).await),
        Some(1),
        "ben has left"
    );
    assert!(db.end_session(&ana, "checked in", later).await.unwrap());
    granted(&ask(&db, "cat", true, later).await);
    // One who gives up leaves at once.
    assert_eq!(place(&ask(&db, "dan", true, later).await), Some(1));
    db.line().leave("dan", "pc").await.unwrap();
    assert!(line(&db, later).await.is_empty());
}

#[tokio::test]
async fn an_admin_moves_and_removes_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let db = ProductDb::connect(&DbSpec::Sqlite(dir.path().join("plant.db")), "ws")
        .await
        .unwrap();
    let now = Utc::now();
    let ana = granted(&ask(&db, "ana", false, now).await);
    for login in ["ben", "cat", "dan"] {
        ask(&db, login, true, now).await;
    }
    let waiters = db.line().waiters(now).await.unwrap();
    let dan = waiters
        .iter()
        .find(|w| w.login == "dan")
        .unwrap()
        .id
        .clone();
    let ben = waiters
        .iter()
        .find(|w| w.login == "ben")
        .unwrap()
        .id
        .clone();
    assert!(db.line().move_to(&dan, 1).await.unwrap());
    assert_eq!(line(&db, now).await, ["dan", "ben", "cat"]);
    assert!(db.line().remove(&ben).await.unwrap());
    assert!(!db.line().remove(&ben).await.unwrap(), "already gone");
    assert_eq!(line(&db, now).await, ["dan", "cat"]);
    assert_eq!(
        db.line()
            .waiters(now)
            .await
            .unwrap()
            .iter()
            .map(|w| w.position)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(db.end_session(&ana, "checked in", now).await.unwrap());
    assert_eq!(place(&ask(&db, "cat", true, now).await), Some(2));
    granted(&ask(&db, "dan", true, now).await);
}

#[tokio::test]
async fn a_group_of_higher_priority_waits_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(dir.path().join("plant.db"));
    let db = ProductDb::connect(&spec, "ws").await.unwrap();
    run_sql(
        dir.path(),
        &[
            "INSERT INTO tenure_groups (name, kind, created_at) VALUES ('drilling', 'role', 0)",
            "INSERT INTO tenure_group_members VALUES ('dan', 'drilling', 0)",
        ],
    )
    .await;
    assert!(db.line().set_group_priority("drilling", 10).await.unwrap());
    assert!(!db.line().set_group_priority("nobody", 10).await.unwrap());
    let now = Utc::now();
    let ana = granted(&ask(&db, "ana", false, now).await);
    assert_eq!(place(&ask(&db, "ben", true, now).await), Some(1));
    // Dan came last, but his group goes first.
    assert_eq!(place(&ask(&db, "dan", true, now).await), Some(1));
    assert_eq!(line(&db, now).await, ["dan", "ben"]);
    assert!(db.end_session(&ana, "checked in", now).await.unwrap());
    assert_eq!(place(&ask(&db, "ben", true, now).await), Some(2));
    granted(&ask(&db, "dan", true, now).await);
}

/// The licensee owns the product database and may rewrite the line as it likes; that orders
/// its own users, and never gives one seat more than the license's count.
#[tokio::test]
async fn editing_the_line_gains_no_seat_over_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(dir.path().join("plant.db"));
    let db = ProductDb::connect(&spec, "ws").await.unwrap();
    let now = Utc::now();
    let seats = 2;
    for login in ["ana", "ben"] {
        granted(
            &db.checkout(&request(login, seats, false), now)
                .await
                .unwrap(),
        );
    }
    // Every trick at once: a line emptied, then refilled with the attacker first, at a priority
    // no group has, in a part of the pool that does not exist.
    run_sql(
        dir.path(),
        &[
            "DELETE FROM tenure_queue",
            "INSERT INTO tenure_queue VALUES ('x1', 'eve', 'pc', '', 999999, -5, 0, 99999999999)",
            "INSERT INTO tenure_queue VALUES ('x2', 'eve', 'pc2', 'share:ghost', 999999, -6, 0, 99999999999)",
        ],
    )
    .await;
    for machine in ["pc", "pc2", "pc3"] {
        let mut asking = request("eve", seats, true);
        asking.machine = machine;
        let answer = db.checkout(&asking, now).await.unwrap();
        assert!(
            matches!(answer, Checkout::InLine { .. }),
            "no seat beyond the count: {answer:?}"
        );
    }
    let held = db.line().waiters(now).await.unwrap();
    assert!(held.iter().any(|w| w.login == "eve"));
}

#[derive(Debug, Clone)]
enum Step {
    /// A user asks, waiting in line if need be.
    Wait(usize),
    /// A user asks once, without waiting.
    Ask(usize),
    /// A user gives its seat back.
    CheckIn(usize),
    /// Time passes (seconds).
    Pass(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..6_usize).prop_map(Step::Wait),
        1 => (0..6_usize).prop_map(Step::Ask),
        2 => (0..6_usize).prop_map(Step::CheckIn),
        1 => (1..15_u8).prop_map(Step::Pass),
    ]
}

/// Runs a schedule and checks, after each step, that no more seats are held than there are and
/// that a seat given went to no one behind a waiter who needed it.
async fn run_schedule(steps: Vec<Step>) {
    const SEATS: u32 = 2;
    let dir = tempfile::tempdir().unwrap();
    let db = ProductDb::connect(&DbSpec::Sqlite(dir.path().join("plant.db")), "ws")
        .await
        .unwrap();
    let users: Vec<String> = (0..6).map(|i| format!("u{i}")).collect();
    let mut sessions: Vec<Option<String>> = vec![None; users.len()];
    let mut now = Utc::now();
    for step in steps {
        let line_before: Vec<String> = line(&db, now).await;
        let (who, wait) = match step {
            Step::Pass(secs) => {
                now += Duration::seconds(i64::from(secs));
                continue;
            }
            Step::CheckIn(i) => {
                if let Some(id) = sessions[i].take() {
                    db.end_session(&id, "checked in", now).await.unwrap();
                }
                continue;
            }
            Step::Wait(i) => (i, true),
            Step::Ask(i) => (i, false),
        };
        let answer = db
            .checkout(&request(&users[who], SEATS, wait), now)
            .await
            .unwrap();
        if let Checkout::Granted(session) = &answer {
            let was_holding = sessions[who].replace(session.id.clone()).is_some();
            if !was_holding {
                // Everyone ahead of it in line a moment ago (still within the waiting time)
                // must still find a seat: no later arrival took theirs.
                let ahead = match line_before.iter().position(|l| *l == users[who]) {
                    Some(p) => p,
                    None => line_before.len(),
                };
                let held = sessions.iter().flatten().count();
                let free = usize::try_from(SEATS).unwrap() - held;
                let still_waiting = line(&db, now).await;
                let waiting_ahead = line_before[..ahead]
                    .iter()
                    .filter(|l| still_waiting.contains(l))
                    .count();
                assert!(
                    free >= waiting_ahead,
                    "{} took a seat {waiting_ahead} waiters ahead of it needed ({free} free)",
                    users[who]
                );
            }
        }
        let held = sessions.iter().flatten().count();
        assert!(
            held <= usize::try_from(SEATS).unwrap(),
            "{held} seats held of {SEATS}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_later_arrival_takes_a_waiters_seat(steps in prop::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run_schedule(steps));
    }
}

/// On PostgreSQL a check-in and a lease run out are announced, so waiters hear at once instead
/// of at their next ask; SQLite has no such thing and says so.
#[tokio::test]
async fn a_seat_freed_is_announced_to_waiters_on_postgres() {
    let pg = PgCluster::start();
    let db = ProductDb::connect(&DbSpec::parse(&pg.create_database("plant")).unwrap(), "ws")
        .await
        .unwrap();
    let signal = db
        .freed_signal()
        .await
        .expect("PostgreSQL can be listened to");
    let now = Utc::now();
    for (freeing, how) in [(true, "a check-in"), (false, "a lease run out")] {
        let ana = granted(&ask(&db, "ana", false, now).await);
        let heard = signal.notified();
        let mut heard = std::pin::pin!(heard);
        heard.as_mut().enable();
        if freeing {
            assert!(db.end_session(&ana, "checked in", now).await.unwrap());
        } else {
            // The next checkout, an hour on, ends the lease that ran out.
            let later = now + Duration::hours(2);
            granted(&ask(&db, "bo", false, later).await);
        }
        tokio::time::timeout(std::time::Duration::from_secs(20), heard)
            .await
            .unwrap_or_else(|_| panic!("{how} was not announced"));
    }

    let dir = tempfile::tempdir().unwrap();
    let sqlite = ProductDb::connect(&DbSpec::Sqlite(dir.path().join("plant.db")), "ws")
        .await
        .unwrap();
    assert!(sqlite.freed_signal().await.is_none());
}

/// A request of `login` from `share` of a 3-seat pool that may go one over.
fn asks<'a>(login: &'a str, share: &'a GroupShare, wait: bool) -> CheckoutRequest<'a> {
    let mut asking = request(login, 3, wait);
    asking.overdraft = 1;
    asking.share = Some(share);
    asking
}

/// Issue 31: a group's reserved share holds with the line and the overdraft. North has 2 of
/// 3 seats, everyone else 1, and the pool may go one over: a waiter of the other part never
/// gets a seat North holds in reserve, and North's own waiter gets the next North seat.
#[tokio::test]
async fn a_reserved_share_holds_with_the_line_and_the_overdraft() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(dir.path().join("plant.db"));
    let db = ProductDb::connect(&spec, "ws").await.unwrap();
    run_sql(
        dir.path(),
        &[
            "INSERT INTO tenure_groups (name, kind, created_at) VALUES ('north', 'site', 0)",
            "INSERT INTO tenure_group_members VALUES ('n1', 'north', 0)",
            "INSERT INTO tenure_group_members VALUES ('n2', 'north', 0)",
        ],
    )
    .await;
    let north = GroupShare {
        label: Some("north".into()),
        groups: vec!["north".into()],
        size: 2,
    };
    let rest = GroupShare {
        label: None,
        groups: vec![String::new()],
        size: 1,
    };
    let now = Utc::now();
    let (north, rest) = (&north, &rest);
    // The other part fills its one seat; then its next users wait, North's seats free or not.
    granted(&db.checkout(&asks("r1", rest, false), now).await.unwrap());
    assert_eq!(
        place(&db.checkout(&asks("r2", rest, true), now).await.unwrap()),
        Some(1)
    );
    let n1 = granted(&db.checkout(&asks("n1", north, false), now).await.unwrap());
    // A seat North holds in reserve stays free for North, though r2 waits.
    assert_eq!(
        place(&db.checkout(&asks("r2", rest, true), now).await.unwrap()),
        Some(1)
    );
    granted(&db.checkout(&asks("n2", north, false), now).await.unwrap());
    // North full too; the overdraft's extra seat goes to neither part past its share.
    assert_eq!(
        place(&db.checkout(&asks("r3", rest, true), now).await.unwrap()),
        Some(2)
    );
    run_sql(
        dir.path(),
        &["INSERT INTO tenure_group_members VALUES ('n3', 'north', 0)"],
    )
    .await;
    assert_eq!(
        place(&db.checkout(&asks("n3", north, true), now).await.unwrap()),
        Some(1)
    );
    // A North seat comes free: North's waiter takes it, not the other part's head.
    assert!(db.end_session(&n1, "checked in", now).await.unwrap());
    assert_eq!(
        place(&db.checkout(&asks("r2", rest, true), now).await.unwrap()),
        Some(1)
    );
    granted(&db.checkout(&asks("n3", north, true), now).await.unwrap());
}
