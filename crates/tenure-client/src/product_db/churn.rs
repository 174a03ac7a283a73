//! Churn caps on named seats, as a license may sign them (`LicenseTerms::churn`): a cool-down
//! before a user whose seat was taken away gets one again, and a cap on seats given back out
//! in any 30 days. Judged inside the save's transaction, on the seats it takes and gives.
//!
//! Devices are capped the same way: at most so many take a license in any 30 days
//! (`Churn::device_registrations_per_30_days`), judged where a device registers.
//!
//! The log (`tenure_seat_churn`) is kept in the product database with the seats themselves:
//! seats taken away are logged whether or not the license caps anything, so a cap signed
//! later counts from what happened before it.

use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;
use sqlx::Row as _;
use tenure_core::Churn;
use tenure_core::directory::Directory;

/// A seat taken from a user.
const TAKEN: &str = "taken";
/// A seat given back out after one was taken.
const REASSIGNED: &str = "reassigned";

/// A device that took a license.
pub(super) const DEVICE_LICENSED: &str = "device licensed";

/// The window the caps count in.
pub(super) const WINDOW_DAYS: i64 = 30;

/// Logs the seats this save takes and gives, or refuses it (a sentence) when it breaks a cap.
pub(super) async fn judge_and_log(
    conn: &mut AnyConnection,
    before: &Directory,
    after: &Directory,
    churn: Churn,
    now: DateTime<Utc>,
) -> Result<Result<(), String>, sqlx::Error> {
    let holds = |d: &Directory, login: &str| d.users.get(login).is_some_and(|u| u.seat.is_some());
    let taken: Vec<&str> = before
        .users
        .keys()
        .map(String::as_str)
        .filter(|login| holds(before, login) && !holds(after, login))
        .collect();
    let given: Vec<&str> = after
        .users
        .keys()
        .map(String::as_str)
        .filter(|login| holds(after, login) && !holds(before, login))
        .collect();
    if churn.seat_cooldown_hours > 0 {
        let since = now - Duration::hours(i64::from(churn.seat_cooldown_hours));
        for login in &given {
            if let Some(at) = last_taken(conn, login, since).await? {
                let until = at + Duration::hours(i64::from(churn.seat_cooldown_hours));
                return Ok(Err(format!(
                    "{login}'s seat was taken away at {}, and this license gives it back no sooner than {} hours later: {login} can have a seat again from {}",
                    local(at),
                    churn.seat_cooldown_hours,
                    local(until)
                )));
            }
        }
    }
    for login in &taken {
        log(conn, login, TAKEN, now).await?;
    }
    // A seat given while more were taken in the window than given back out is a reassignment.
    let since = now - Duration::days(WINDOW_DAYS);
    let (taken_in_window, _) = window(conn, TAKEN, since).await?;
    let (reassigned, oldest_reassigned) = window(conn, REASSIGNED, since).await?;
    let new = u64::try_from(given.len())
        .unwrap_or(u64::MAX)
        .min(taken_in_window.saturating_sub(reassigned));
    let cap = u64::from(churn.reassignments_per_30_days);
    if cap > 0 && reassigned + new > cap {
        let next = oldest_reassigned.map(|at| at + Duration::days(WINDOW_DAYS));
        return Ok(Err(format!(
            "this license allows {cap} seat reassignments in any {WINDOW_DAYS} days and {reassigned} are used{}",
            next.map_or_else(String::new, |at| format!(
                "; the next can be made from {}",
                local(at)
            ))
        )));
    }
    for login in given
        .iter()
        .take(usize::try_from(new).unwrap_or(usize::MAX))
    {
        log(conn, login, REASSIGNED, now).await?;
    }
    Ok(Ok(()))
}

fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Logs `what` for `login` (a user, or a device's id).
pub(super) async fn log(
    conn: &mut AnyConnection,
    login: &str,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tenure_seat_churn (login, what, at) VALUES ($1, $2, $3)")
        .bind(login)
        .bind(what)
        .bind(now.timestamp())
        .execute(conn)
        .await?;
    Ok(())
}

async fn last_taken(
    conn: &mut AnyConnection,
    login: &str,
    since: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MAX(at) FROM tenure_seat_churn WHERE login = $1 AND what = $2 AND at > $3",
    )
    .bind(login)
    .bind(TAKEN)
    .bind(since.timestamp())
    .fetch_one(conn)
    .await?;
    Ok(row
        .try_get::<Option<i64>, _>(0)?
        .map(tenure_storage::time_from_secs))
}

/// How many entries of `what` the log holds since `since`, and the oldest of them.
pub(super) async fn window(
    conn: &mut AnyConnection,
    what: &str,
    since: DateTime<Utc>,
) -> Result<(u64, Option<DateTime<Utc>>), sqlx::Error> {
    let row =
        sqlx::query("SELECT COUNT(*), MIN(at) FROM tenure_seat_churn WHERE what = $1 AND at > $2")
            .bind(what)
            .bind(since.timestamp())
            .fetch_one(conn)
            .await?;
    Ok((
        u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0),
        row.try_get::<Option<i64>, _>(1)?
            .map(tenure_storage::time_from_secs),
    ))
}
