//! Concurrent seats on the workstation: checkout, heartbeat, check-in, sessions, ending a
//! session, borrowing a seat onto a laptop and returning it, and usage reports.

use chrono::{DateTime, Duration, Utc};
use tenure_core::SeatKind;
use tenure_core::protocol::RevokedBorrow;
use tenure_core::usage::{Held, Usage, usage};

use super::{EngineError, Workstation};
use crate::authorize::Reason;
use crate::cache::BorrowRecord;
use crate::cache::CacheError;
use crate::checkout::{SeatAnswer, SeatRefusal};
use crate::product_db::{
    Activity, Checkout, CheckoutRequest, DbError, FloatingPolicy, Session, SessionError, Waiter,
};

/// Why a concurrent-seat request could not be answered. A full pool is not an error: it is a
/// [`SeatAnswer::Refused`].
#[derive(Debug, thiserror::Error)]
pub enum ConcurrentSeatsError {
    /// The seats' pool lives in the product database, which is not connected.
    #[error("no product database is connected: the seats' pool lives there")]
    NoDatabase,
    /// A session was ended by an admin, ran out, or is unknown.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// The license no longer allows a seat (expired, grace over, not concurrent).
    #[error("{0}")]
    Refused(SeatRefusal),
    /// The product database failed.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The cache, where a borrowed seat is kept, could not be read or written.
    #[error("{0}")]
    Cache(#[from] CacheError),
    /// The license on this workstation could not be read.
    #[error(transparent)]
    Workstation(#[from] EngineError),
    /// A floating policy the license does not allow.
    #[error("{0}")]
    Policy(String),
}

/// What ending a session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Ended: its seat is free now; its holder hears it at the next heartbeat.
    Ended,
    /// A borrowed seat: revoked, still counted until `until` or until the laptop, back in
    /// reach of the pool, drops it (then it is free at once).
    BorrowRevoked {
        /// When the borrow ends.
        until: DateTime<Utc>,
    },
    /// No such session held a seat.
    NotHeld,
}

/// How a borrowed seat stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowStatus {
    /// The borrow as cached.
    pub record: BorrowRecord,
    /// False once its time is over (it is back in the pool).
    pub active: bool,
}

/// The concurrent seats a license grants, with its lease and borrow limits.
struct Pool {
    /// The concurrent quantity's name (its groups' shares are kept under it).
    quantity: String,
    seats: u32,
    lease: Duration,
    max_borrow_days: u32,
    license_id: String,
    /// How long a seat checked in stays its user's.
    linger: Duration,
    /// Seats that may be given beyond the count.
    overdraft: u32,
    /// What the vendor signed about floating: the minimums of the policy in force.
    floating: tenure_core::Floating,
}

fn session_of_borrow(record: &BorrowRecord) -> Session {
    Session {
        id: record.session_id.clone(),
        login: record.login.clone(),
        machine: record.machine.clone(),
        started_at: record.since,
        heartbeat_at: record.since,
        lease_until: record.until,
        borrowed_until: Some(record.until),
        ended_at: None,
        ended_by: None,
        admin: false,
        overdraft: false,
        lingering_since: None,
        idle_since: None,
        revoked: None,
    }
}

impl Workstation {
    /// The time concurrent-seat leases are judged by: the product database server's clock when
    /// connected (one clock for every workstation on the pool), else `fallback` — a laptop away
    /// from the pool, where only its own borrow counts.
    pub(crate) async fn lease_clock(&self, fallback: DateTime<Utc>) -> DateTime<Utc> {
        let Some(db) = &self.db else {
            return fallback;
        };
        match db.clock().await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the database clock; using this computer's");
                fallback
            }
        }
    }

    /// The pool, or why no concurrent seat can be taken now.
    fn pool(&self, now: DateTime<Utc>) -> Result<Result<Pool, SeatRefusal>, EngineError> {
        let report = self.report(now)?;
        if let Some(reason) = Reason::from_status(&report.status) {
            return Ok(Err(SeatRefusal::NotLicensed(reason)));
        }
        let Some(license) = report.license else {
            return Ok(Err(SeatRefusal::NotLicensed(Reason::NoLicense)));
        };
        if license.terms.kind != SeatKind::Concurrent {
            return Ok(Err(SeatRefusal::NotConcurrent));
        }
        let quantity = license
            .terms
            .first_of_kind(tenure_core::QuantityKind::Concurrent)
            .map_or_else(|| "connections".to_owned(), |q| q.name);
        Ok(Ok(Pool {
            quantity,
            seats: license.terms.seats,
            lease: Duration::seconds(i64::from(license.terms.lease_secs.max(1))),
            max_borrow_days: license.terms.max_borrow_days,
            license_id: license.id.clone(),
            linger: Duration::minutes(i64::from(license.terms.floating.linger_mins)),
            overdraft: license.terms.floating.overdraft,
            floating: license.terms.floating,
        }))
    }
}

/// Whole days of overdraft a validation reports: the server keeps one count per day and a day
/// reported again replaces it, so each validation sends them all afresh and nothing here has
/// to remember what was sent.
const OVERDRAFT_REPORT_DAYS: i64 = 60;

impl Workstation {
    /// Seats given beyond the count on each whole day (UTC) of the last
    /// [`OVERDRAFT_REPORT_DAYS`], for the vendor: empty without a pool, an overdraft, or any.
    pub(crate) async fn overdraft_to_report(
        &self,
        now: DateTime<Utc>,
    ) -> Vec<tenure_core::protocol::OverdraftDay> {
        let (Some(db), Ok(Ok(pool))) = (&self.db, self.pool(now)) else {
            return Vec::new();
        };
        if pool.overdraft == 0 {
            return Vec::new();
        }
        let today = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let from = today - Duration::days(OVERDRAFT_REPORT_DAYS);
        let sessions = match db.sessions_since(from).await {
            Ok(sessions) => sessions,
            Err(e) => {
                tracing::warn!(error = %e, "the overdraft could not be read for the report");
                return Vec::new();
            }
        };
        let mut days = std::collections::BTreeMap::new();
        for s in &sessions {
            if s.overdraft && s.started_at >= from && s.started_at < today {
                *days.entry(s.started_at.date_naive()).or_insert(0u32) += 1;
            }
        }
        days.into_iter()
            .map(|(day, grants)| tenure_core::protocol::OverdraftDay { day, grants })
            .collect()
    }
}

/// Concurrent seats: the pool of the connected product database (checkout, heartbeat,
/// check-in, sessions an admin can end), seats borrowed for a trip, and the usage report. A view
/// of the [`Workstation`] (`workstation.concurrent_seats()`).
#[derive(Clone, Copy)]
pub struct ConcurrentSeats<'w> {
    ws: &'w Workstation,
}

impl std::ops::Deref for ConcurrentSeats<'_> {
    type Target = Workstation;

    fn deref(&self) -> &Workstation {
        self.ws
    }
}

/// The session a checkout gave, or the refusal and whether it is news (worth recording).
fn seat_or_refusal(checkout: Checkout) -> Result<Session, (SeatRefusal, bool)> {
    match checkout {
        Checkout::Granted(session) => Ok(session),
        Checkout::Full {
            in_use,
            limit,
            group,
            next_free,
        } => Err((
            SeatRefusal::Full {
                in_use,
                seats: limit,
                group,
                next_free,
            },
            true,
        )),
        Checkout::InLine {
            position,
            ahead,
            next_free,
            news,
        } => Err((
            SeatRefusal::InLine {
                position,
                ahead,
                next_free,
            },
            news,
        )),
    }
}

impl Workstation {
    /// Concurrent seats in the connected product database.
    pub fn concurrent_seats(&self) -> ConcurrentSeats<'_> {
        ConcurrentSeats { ws: self }
    }
}

impl ConcurrentSeats<'_> {
    /// The seat borrowed onto this machine, if any.
    pub fn borrow_status(
        self,
        now: DateTime<Utc>,
    ) -> Result<Option<BorrowStatus>, ConcurrentSeatsError> {
        Ok(self.cache.load()?.borrow.map(|record| BorrowStatus {
            active: record.until > now && record.revoked_at.is_none(),
            record,
        }))
    }

    /// Takes a concurrent seat for `login` on `machine` (the same pair holds one seat however
    /// many copies run). With no product database in reach, a seat borrowed onto this machine
    /// answers instead, until it ends.
    pub async fn checkout(
        self,
        login: &str,
        machine: &str,
        now: DateTime<Utc>,
    ) -> Result<SeatAnswer, ConcurrentSeatsError> {
        self.take_seat(login, machine, false, false, now).await
    }

    /// As [`ConcurrentSeats::checkout`], but when no seat is free for `login` it stands in
    /// line (or keeps its place) and the answer says where: ask again every second or so
    /// until granted ([`crate::SeatKeeper::wait`] does); one that stops asking for
    /// [`crate::product_db::WAITER_GONE`] leaves the line. The next seat freed goes to the
    /// head of the line, not to whoever asks first.
    pub async fn checkout_or_wait(
        self,
        login: &str,
        machine: &str,
        now: DateTime<Utc>,
    ) -> Result<SeatAnswer, ConcurrentSeatsError> {
        self.take_seat(login, machine, false, true, now).await
    }

    /// As [`ConcurrentSeats::checkout`], for an admin's backup or configuration: when no seat
    /// is free, the one administrative connection is given if no one holds it.
    pub async fn admin_checkout(
        self,
        login: &str,
        machine: &str,
        now: DateTime<Utc>,
    ) -> Result<SeatAnswer, ConcurrentSeatsError> {
        self.take_seat(login, machine, true, false, now).await
    }

    async fn take_seat(
        self,
        login: &str,
        machine: &str,
        admin: bool,
        wait: bool,
        now: DateTime<Utc>,
    ) -> Result<SeatAnswer, ConcurrentSeatsError> {
        let pool = match self.pool(now)? {
            Ok(pool) => pool,
            Err(refusal) => return Ok(SeatAnswer::Refused(refusal)),
        };
        // The cache is read once: for a revoked borrow to drop, and to answer from it offline.
        let mut borrow = self.borrow_status(now)?;
        if self
            .drop_revoked_borrow(borrow.as_ref(), now)
            .await?
            .is_some()
        {
            borrow = None;
        }
        let Some(db) = &self.db else {
            return match borrow {
                Some(b) if b.record.login == login && b.active => {
                    Ok(SeatAnswer::Granted(session_of_borrow(&b.record)))
                }
                Some(b) if b.record.login == login => {
                    Ok(SeatAnswer::Refused(SeatRefusal::BorrowEnded {
                        ended_at: b.record.revoked_at.unwrap_or(b.record.until),
                    }))
                }
                _ => Err(ConcurrentSeatsError::NoDatabase),
            };
        };
        let share = db.share_for(login, &pool.quantity, pool.seats).await?;
        let request = CheckoutRequest {
            login,
            machine,
            seats: pool.seats,
            overdraft: pool.overdraft,
            idle_timeout_mins: pool.floating.idle_timeout_mins,
            lease: pool.lease,
            borrow: false,
            share: share.as_ref(),
            admin,
            wait,
        };
        Ok(match seat_or_refusal(db.checkout(&request, now).await?) {
            Ok(session) => SeatAnswer::Granted(session),
            Err((refusal, news)) => {
                // Asking again in line is not news: only joining it is recorded.
                if news {
                    self.audit(
                        "seat refused",
                        "refused",
                        &format!("{login} on {machine}: {refusal}"),
                        now,
                    )
                    .await;
                }
                SeatAnswer::Refused(refusal)
            }
        })
    }

    /// Renews a session's lease, with whether its product is in use or idle (see
    /// [`Activity`]); says so when it was ended, ran out, or was freed for being idle.
    pub async fn heartbeat(
        self,
        id: &str,
        activity: Activity,
        now: DateTime<Utc>,
    ) -> Result<Session, ConcurrentSeatsError> {
        let borrow = self.borrow_status(now)?;
        let dropped = self.drop_revoked_borrow(borrow.as_ref(), now).await?;
        let mine = borrow.filter(|b| b.record.session_id == id);
        // Only the borrowed session's own heartbeat hears of the revocation; another session's
        // goes on as usual once the borrow is dropped.
        if let Some(b) = mine {
            if let Some((by, at)) = dropped {
                return Err(SessionError::Revoked { by, at }.into());
            }
            if let Some(at) = b.record.revoked_at {
                let by = "your administrator, confirmed by the vendor".to_owned();
                return Err(SessionError::Revoked { by, at }.into());
            }
            return if b.active {
                Ok(session_of_borrow(&b.record))
            } else {
                Err(SessionError::Expired(b.record.until).into())
            };
        }
        let lease = match self.pool(now)? {
            Ok(pool) => pool.lease,
            Err(refusal) => {
                return Err(ConcurrentSeatsError::Refused(refusal));
            }
        };
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        Ok(db.heartbeat(id, lease, activity, now).await?)
    }

    /// Gives a seat back: free at once, or, under the license's linger, still its user's for
    /// that long. True if it was held.
    pub async fn checkin(self, id: &str, now: DateTime<Utc>) -> Result<bool, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let linger = match self.pool(now)? {
            Ok(pool) => pool.linger,
            Err(_) => Duration::zero(),
        };
        Ok(db.check_in(id, linger, now).await?)
    }

    /// The floating policy in force: the license's linger and idle timeout, and the longer
    /// ones set on this database.
    pub async fn floating_policy(
        self,
        now: DateTime<Utc>,
    ) -> Result<FloatingPolicy, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let pool = self.pool(now)?.map_err(ConcurrentSeatsError::Refused)?;
        Ok(db.floating_policy(pool.floating).await?)
    }

    /// Sets this database's own linger or idle timeout (`None` keeps one, `Some(0)` goes back
    /// to the license's): only ever longer than the license's. Audited.
    pub async fn set_floating_policy(
        self,
        linger_mins: Option<u32>,
        idle_timeout_mins: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<FloatingPolicy, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let current = self.floating_policy(now).await?;
        let next = current
            .changed(linger_mins, idle_timeout_mins)
            .map_err(ConcurrentSeatsError::Policy)?;
        db.save_floating_policy(&next).await?;
        let idle = next.idle_timeout_mins().map_or_else(
            || "no idle release".to_owned(),
            |m| format!("idle timeout {m} min"),
        );
        self.audit(
            "floating policy",
            "set",
            &format!("linger {} min, {idle}", next.linger_mins()),
            now,
        )
        .await;
        Ok(next)
    }

    /// Everyone waiting in line for a seat, head first.
    pub async fn queue(self, now: DateTime<Utc>) -> Result<Vec<Waiter>, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        Ok(db.line().waiters(now).await?)
    }

    /// Where a waiter hears that a seat may have come free, when the database can say so
    /// (PostgreSQL); see [`ProductDb::freed_signal`](crate::product_db::ProductDb::freed_signal).
    pub async fn freed_signal(self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.db.as_ref()?.freed_signal().await
    }

    /// Leaves the line `login` on `machine` waits in (a waiter that gives up).
    pub async fn leave_line(self, login: &str, machine: &str) -> Result<(), ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        Ok(db.line().leave(login, machine).await?)
    }

    /// Sets a group's priority in the line as an admin (audited): its users wait ahead of those
    /// of groups with a lower one. False when there is no such group.
    pub async fn set_group_priority(
        self,
        group: &str,
        priority: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let set = db.line().set_group_priority(group, priority).await?;
        if set {
            let what = format!("group {group} waits at priority {priority}");
            self.audit("queue changed", "ok", &what, now).await;
        }
        Ok(set)
    }

    /// Takes a waiter out of line as an admin (audited). False when there is no such waiter.
    pub async fn remove_waiter(
        self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let removed = db.line().remove(id).await?;
        if removed {
            let what = format!("waiter {id} taken out of line");
            self.audit("queue changed", "ok", &what, now).await;
        }
        Ok(removed)
    }

    /// Moves a waiter to `position` in its line as an admin (audited). False when there is no
    /// such waiter.
    pub async fn move_waiter(
        self,
        id: &str,
        position: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let moved = db.line().move_to(id, position).await?;
        if moved {
            let what = format!("waiter {id} moved to place {position}");
            self.audit("queue changed", "ok", &what, now).await;
        }
        Ok(moved)
    }

    /// The sessions holding a seat now.
    pub async fn sessions(self, now: DateTime<Utc>) -> Result<Vec<Session>, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        Ok(db.active_sessions(now).await?)
    }

    /// Ends a session as an admin: the seat is free at once, and the client's next heartbeat is
    /// told who ended it.
    pub async fn end_session(
        self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Ending, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let actor = self.actor();
        let by = format!("{} on {}", actor.login, actor.host);
        // A borrowed seat is on a laptop that works without the pool until the borrow ends:
        // freeing it here would let the pool give it twice. It is revoked instead.
        if let Ok(session) = db.session(id).await
            && session.ended_at.is_none()
            && let Some(until) = session.borrowed_until.filter(|until| *until > now)
        {
            if db.revoke_borrow(id, &by, now).await? {
                self.audit(
                    "borrow revoked",
                    "ok",
                    &format!("session {id} revoked by {by}"),
                    now,
                )
                .await;
            }
            return Ok(Ending::BorrowRevoked { until });
        }
        let ended = db.end_session(id, &by, now).await?;
        if !ended {
            return Ok(Ending::NotHeld);
        }
        self.audit(
            "session ended",
            "ok",
            &format!("session {id} ended by {by}"),
            now,
        )
        .await;
        Ok(Ending::Ended)
    }

    /// Back in reach of the pool, a laptop whose borrow an admin revoked drops it: the session
    /// ends and its seat is free at once. Returns who revoked it, when it was.
    async fn drop_revoked_borrow(
        self,
        borrow: Option<&BorrowStatus>,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, DateTime<Utc>)>, ConcurrentSeatsError> {
        let (Some(db), Some(BorrowStatus { record: borrow, .. })) = (&self.db, borrow) else {
            return Ok(None);
        };
        let Ok(session) = db.session(&borrow.session_id).await else {
            return Ok(None);
        };
        let Some((by, at)) = session.revoked else {
            return Ok(None);
        };
        db.end_session(&borrow.session_id, &format!("{by} (revoked)"), now)
            .await?;
        self.cache.update(|data| {
            data.borrow
                .take_if(|held| held.session_id == borrow.session_id)
                .map(|_| ())
        })?;
        self.audit("borrow dropped", "ok", &borrow.login, now).await;
        Ok(Some((by, at)))
    }

    /// The borrowed seats an admin revoked that are still out, for the next validation to
    /// report: the vendor's server may confirm them, and the pool then frees them at once.
    pub(crate) async fn revoked_borrows_to_report(self, now: DateTime<Utc>) -> Vec<RevokedBorrow> {
        let Some(db) = &self.db else {
            return Vec::new();
        };
        match db.revoked_borrows_out(now).await {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "the revoked borrows could not be read for the report");
                Vec::new()
            }
        }
    }

    /// Acts on the revoked borrows a fresh signed license lists (the vendor confirmed them):
    /// each one this pool's admin revoked ends now, its seat free; a borrow this machine holds
    /// among them grants nothing from now on, even with no network.
    pub(crate) async fn act_on_confirmed_revocations(
        self,
        confirmed: &[String],
        now: DateTime<Utc>,
    ) {
        if confirmed.is_empty() {
            return;
        }
        if let Some(db) = &self.db {
            for id in confirmed {
                let revoked = db
                    .session(id)
                    .await
                    .ok()
                    .and_then(|s| s.ended_at.is_none().then_some(s.revoked).flatten());
                let Some((by, _)) = revoked else { continue };
                let by = format!("{by} (confirmed by the vendor)");
                match db.end_session(id, &by, now).await {
                    Ok(true) => {
                        let what = format!("session {id} back in the pool: {by}");
                        self.audit("borrow returned early", "ok", &what, now).await;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, session = %id, "a confirmed revocation could not free its seat");
                    }
                }
            }
        }
        let marked = self.cache.update(|data| {
            let held = data
                .borrow
                .as_mut()
                .filter(|b| b.revoked_at.is_none() && confirmed.contains(&b.session_id))?;
            held.revoked_at = Some(now);
            Some(held.login.clone())
        });
        match marked {
            Ok(Some(login)) => {
                self.audit("borrow revoked by the vendor", "ok", &login, now)
                    .await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a revoked borrow could not be marked in the cache");
            }
        }
    }

    /// Borrows a seat onto this machine for `days`: the pool counts it as taken until it ends,
    /// and this machine keeps it in its cache, so it works with no network until then.
    pub async fn borrow(
        self,
        login: &str,
        machine: &str,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<SeatAnswer, ConcurrentSeatsError> {
        let pool = match self.pool(now)? {
            Ok(pool) => pool,
            Err(refusal) => return Ok(SeatAnswer::Refused(refusal)),
        };
        if days == 0 || days > pool.max_borrow_days {
            return Ok(SeatAnswer::Refused(SeatRefusal::BorrowTooLong {
                asked: days,
                max: pool.max_borrow_days,
            }));
        }
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let share = db.share_for(login, &pool.quantity, pool.seats).await?;
        let request = CheckoutRequest {
            login,
            machine,
            seats: pool.seats,
            overdraft: pool.overdraft,
            // A borrowed seat sends no heartbeat, so it is never idle.
            idle_timeout_mins: 0,
            lease: Duration::days(i64::from(days)),
            borrow: true,
            share: share.as_ref(),
            admin: false,
            wait: false,
        };
        let session = match seat_or_refusal(db.checkout(&request, now).await?) {
            Ok(session) => session,
            Err((refusal, _)) => return Ok(SeatAnswer::Refused(refusal)),
        };
        // Under the cache's lock: a request file made meanwhile keeps its nonce (issue 25).
        let record = BorrowRecord {
            session_id: session.id.clone(),
            login: login.to_owned(),
            machine: machine.to_owned(),
            since: now,
            until: session.lease_until,
            license_id: pool.license_id,
            revoked_at: None,
        };
        self.cache.update(|data| {
            data.borrow = Some(record);
            Some(())
        })?;
        self.audit(
            "seat borrowed",
            "ok",
            &format!("{login} on {machine} for {days} days"),
            now,
        )
        .await;
        Ok(SeatAnswer::Granted(session))
    }

    /// Returns the borrowed seat to the pool now. True if there was one to return.
    pub async fn return_borrow(self, now: DateTime<Utc>) -> Result<bool, ConcurrentSeatsError> {
        let Some(record) = self.cache.load()?.borrow else {
            return Ok(false);
        };
        if record.until > now {
            let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
            db.end_session(&record.session_id, "returned", now).await?;
            self.audit("seat returned", "ok", &record.login, now).await;
        }
        self.cache.update(|data| {
            data.borrow
                .take_if(|held| held.session_id == record.session_id)
                .map(|_| ())
        })?;
        Ok(true)
    }

    /// Seat use over the last `days` days.
    pub async fn usage(self, days: u32, now: DateTime<Utc>) -> Result<Usage, ConcurrentSeatsError> {
        let db = self.db.as_ref().ok_or(ConcurrentSeatsError::NoDatabase)?;
        let from = now - Duration::days(i64::from(days));
        let sessions = db.sessions_since(from).await?;
        let held: Vec<Held> = sessions
            .iter()
            .map(|s| Held {
                login: s.login.clone(),
                start: s.started_at,
                end: s.ended_at.unwrap_or(s.lease_until).min(now),
                overdraft: s.overdraft,
            })
            .collect();
        let refusals = db.refusals_since(from).await?;
        Ok(usage(&held, &refusals, from, now))
    }
}
