//! The Sessions screen's jobs: end a session, borrow and return a seat, export usage.

use chrono::{DateTime, Utc};
use tenure_client::product_db::{FloatingPolicy, Session, Waiter};
use tenure_client::{Ending, SeatAnswer, Workstation, reports};
use tenure_core::usage::Usage;

use super::{Job, explained};
use crate::present::{Outcome, Written};

/// Days of usage the window shows.
const USAGE_DAYS: u32 = 30;

/// What the Sessions screen shows of a concurrent pool.
#[derive(Debug, Default)]
pub(super) struct ConcurrentView {
    pub sessions: Vec<Session>,
    pub queue: Vec<Waiter>,
    pub usage: Option<Usage>,
    pub policy: Option<FloatingPolicy>,
}

/// Sessions now, the line and usage, when the license is `concurrent` and the database is
/// connected.
pub(super) async fn concurrent_view(
    ws: &Workstation,
    concurrent: bool,
    now: DateTime<Utc>,
) -> ConcurrentView {
    if !concurrent || ws.database().connected().is_none() {
        return ConcurrentView::default();
    }
    let seats = ws.concurrent_seats();
    ConcurrentView {
        sessions: seats.sessions(now).await.unwrap_or_default(),
        queue: seats.queue(now).await.unwrap_or_default(),
        usage: seats.usage(USAGE_DAYS, now).await.ok(),
        policy: seats.floating_policy(now).await.ok(),
    }
}

/// Runs one sessions job; the returned text is its notice.
pub(super) async fn sessions_job(ws: &Workstation, job: Job) -> Result<Outcome, String> {
    let now = ws.database().clock(Utc::now()).await;
    match job {
        Job::EndSession(id) => {
            match ws
                .concurrent_seats()
                .end_session(&id, now)
                .await
                .map_err(explained)?
            {
                Ending::Ended => Ok(Outcome::SessionEnded),
                Ending::BorrowRevoked { until } => {
                    Ok(Outcome::Said(crate::present::borrow_revoked(until)))
                }
                Ending::NotHeld => Err("That session had already ended.".into()),
            }
        }
        Job::RemoveWaiter(id) => {
            if ws
                .concurrent_seats()
                .remove_waiter(&id, now)
                .await
                .map_err(explained)?
            {
                Ok(Outcome::Said("Taken out of the line.".into()))
            } else {
                Err("That user no longer waits in line.".into())
            }
        }
        Job::MoveWaiter { id, place } => {
            if ws
                .concurrent_seats()
                .move_waiter(&id, place, now)
                .await
                .map_err(explained)?
            {
                Ok(Outcome::Said(format!("Moved to place {place} in line.")))
            } else {
                Err("That user no longer waits in line.".into())
            }
        }
        Job::Borrow(days) => {
            let login = ws.named_seats().actor().login;
            let machine = tenure_client::local_host_name();
            match ws
                .concurrent_seats()
                .borrow(&login, &machine, days, now)
                .await
                .map_err(explained)?
            {
                answer @ SeatAnswer::Granted(_) => Ok(Outcome::Said(answer.to_string())),
                SeatAnswer::Refused(r) => Err(r.to_string()),
            }
        }
        Job::ReturnBorrow => {
            let returned = ws
                .concurrent_seats()
                .return_borrow(now)
                .await
                .map_err(explained)?;
            Ok(Outcome::BorrowReturned(returned))
        }
        Job::ExportUsage { path, by_user } => {
            let report = ws
                .concurrent_seats()
                .usage(USAGE_DAYS, now)
                .await
                .map_err(explained)?;
            let text = if by_user {
                reports::users_csv(&report)
            } else {
                reports::days_csv(&report)
            };
            tenure_client::write_atomic(&path, text.as_bytes(), false)
                .map_err(|e| format!("Cannot write {}: {e}", path.display()))?;
            Ok(Outcome::Written {
                what: Written::Usage,
                path,
            })
        }
        _ => Ok(Outcome::Quiet),
    }
}
