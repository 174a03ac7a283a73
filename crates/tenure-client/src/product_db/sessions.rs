//! Concurrent seats in the product database: a session is a lease row in `tenure_sessions`.
//!
//! A checkout is one transaction that first bumps `tenure_pool`'s single row. That write takes
//! the database's write lock on SQLite and the row's lock on PostgreSQL, so checkouts run one at
//! a time and the count each one judges by cannot change under it: never more sessions than
//! seats, however many clients ask at once. Leases that ran out are ended in the same
//! transaction, before the count.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row as _;

use super::{DbError, ProductDb, freed, policy, queue};

/// How a session that an idle product held ends (`ended_by`).
const ENDED_IDLE: &str = "idle";

/// What a product reports with each heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activity {
    /// In use.
    #[default]
    Active,
    /// Idle (no input, nothing running): under the license's idle release, the seat is
    /// freed for the next user once idle long enough.
    Idle,
}

/// One session: a seat held by a user on a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Random id, given to the client.
    pub id: String,
    /// The user.
    pub login: String,
    /// The machine.
    pub machine: String,
    /// When the seat was taken.
    pub started_at: DateTime<Utc>,
    /// The last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// The seat is held until then unless renewed.
    pub lease_until: DateTime<Utc>,
    /// For a borrowed (detached) seat: when the borrow ends.
    pub borrowed_until: Option<DateTime<Utc>>,
    /// When it ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended: "checked in", "lease ended", "returned", or the admin who ended it.
    pub ended_by: Option<String>,
    /// The administrative connection, taken when no seat was free: it holds none.
    pub admin: bool,
    /// Given beyond the license's count, under its overdraft.
    pub overdraft: bool,
    /// Checked in under the license's linger: the seat stays its user's until `lease_until`.
    pub lingering_since: Option<DateTime<Utc>>,
    /// Since when its product reports it idle (`None` while in use).
    pub idle_since: Option<DateTime<Utc>>,
    /// A borrow an admin revoked: by whom and when. Still counted until the borrow ends or
    /// the laptop learns of it.
    pub revoked: Option<(String, DateTime<Utc>)>,
}

/// The answer to a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// A seat: new, or the one this user already holds on this machine (renewed).
    Granted(Session),
    /// Every seat is taken (in the pool, or in the user's group's share of it).
    Full {
        /// Seats in use.
        in_use: u32,
        /// Seats there are: the pool's, or the group's share.
        limit: u32,
        /// The group whose share is full; `None` when the whole pool is.
        group: Option<String>,
        /// When the first lease in use ends.
        next_free: Option<DateTime<Utc>>,
    },
    /// Others wait for the seats there are: this user now stands in line (when it asked to
    /// wait) or was turned away for them.
    InLine {
        /// Its place, 1 for the head; `None` when it did not ask to wait.
        position: Option<u32>,
        /// Waiters ahead of it.
        ahead: u32,
        /// When the first lease in use ends.
        next_free: Option<DateTime<Utc>>,
        /// True when this answer is news: the user joined the line, or was turned away; false
        /// when a waiter asked again.
        news: bool,
    },
}

/// Why a heartbeat or a check-in found no live session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// An admin (or the user elsewhere) ended it.
    #[error("Your session was ended by {by} at {}; check out a seat again to go on.", .at.with_timezone(&chrono::Local).format("%H:%M"))]
    Ended {
        /// Who.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Its product was idle longer than the license's idle timeout and the seat went to
    /// another user.
    #[error("Your seat was freed for another user at {} after the product had been idle longer than the license allows; check out a seat again to go on.", .0.with_timezone(&chrono::Local).format("%H:%M"))]
    Idle(DateTime<Utc>),
    /// A borrowed seat an admin revoked (a lost laptop), dropped now that the laptop is back
    /// in reach of the pool.
    #[error("Your borrowed seat was revoked by {by} at {}, and is back in the pool; check out a seat again to go on.", .at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M"))]
    Revoked {
        /// Who.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// No heartbeat came before the lease ran out; the seat may be someone else's now.
    #[error("Your seat's lease ran out at {}; check out a seat again to go on.", .0.with_timezone(&chrono::Local).format("%H:%M"))]
    Expired(DateTime<Utc>),
    /// No such session.
    #[error("there is no session {0} in this database")]
    Unknown(String),
    /// The database failed.
    #[error("{0}")]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for SessionError {
    fn from(e: sqlx::Error) -> Self {
        SessionError::Db(e.into())
    }
}

fn time(secs: i64) -> DateTime<Utc> {
    tenure_storage::time_from_secs(secs)
}

const SESSION_COLUMNS: &str = "id, login, machine, started_at, heartbeat_at, lease_until, borrowed_until, ended_at, ended_by, \
     admin, overdraft, checked_in_at, idle_since, revoked_at, revoked_by";

fn session_of(row: &sqlx::any::AnyRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        machine: row.try_get("machine")?,
        started_at: time(row.try_get("started_at")?),
        heartbeat_at: time(row.try_get("heartbeat_at")?),
        lease_until: time(row.try_get("lease_until")?),
        borrowed_until: row.try_get::<Option<i64>, _>("borrowed_until")?.map(time),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(time),
        ended_by: row.try_get("ended_by")?,
        admin: row.try_get::<i64, _>("admin")? != 0,
        overdraft: row.try_get::<i64, _>("overdraft")? != 0,
        lingering_since: row.try_get::<Option<i64>, _>("checked_in_at")?.map(time),
        idle_since: row.try_get::<Option<i64>, _>("idle_since")?.map(time),
        revoked: match row.try_get::<Option<i64>, _>("revoked_at")? {
            Some(at) => Some((
                row.try_get::<Option<String>, _>("revoked_by")?
                    .unwrap_or_default(),
                time(at),
            )),
            None => None,
        },
    })
}

fn new_id() -> String {
    tenure_storage::new_id("")
}

/// A checkout request.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    /// The user.
    pub login: &'a str,
    /// The machine.
    pub machine: &'a str,
    /// Seats in the pool.
    pub seats: u32,
    /// Seats that may be given beyond `seats`, each marked as overdraft.
    pub overdraft: u32,
    /// The signed idle timeout in minutes (0: seats are never freed for being idle).
    pub idle_timeout_mins: u32,
    /// The lease's length (a borrow's length for a borrow).
    pub lease: Duration,
    /// True for a borrow: the seat is detached until `now + lease`, with no heartbeats.
    pub borrow: bool,
    /// The user's group's share of the pool, when the pool is split among groups.
    pub share: Option<&'a GroupShare>,
    /// Asks for the administrative connection when no seat is free.
    pub admin: bool,
    /// Waits in line when no seat is free for this user (see `queue.rs`), instead of being
    /// turned away.
    pub wait: bool,
}

/// The part of a split pool a user's seats come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShare {
    /// The group it is named after, for the refusal; `None` for the part no group was given.
    pub label: Option<String>,
    /// Every group drawing on it ("" for users in none).
    pub groups: Vec<String>,
    /// Its size.
    pub size: u32,
}

impl ProductDb {
    /// Takes a seat, or renews the one `login` holds on `machine`; refuses when the pool is full
    /// (and records the refusal).
    pub async fn checkout(
        &self,
        request: &CheckoutRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<Checkout, DbError> {
        let lease_until = now + request.lease;
        let borrowed_until = request.borrow.then_some(lease_until.timestamp());
        let mut tx = self.pool.begin().await?;
        // The pool lock: every checkout passes here one at a time.
        sqlx::query("UPDATE tenure_pool SET generation = generation + 1 WHERE slot = 'seats'")
            .execute(&mut *tx)
            .await?;
        let ran_out = sqlx::query(
            "UPDATE tenure_sessions SET ended_at = lease_until, ended_by = 'lease ended' \
             WHERE ended_at IS NULL AND lease_until <= $1",
        )
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        let idle_freed = match policy::idle_timeout(&mut tx, request.idle_timeout_mins).await? {
            Some(idle) => sqlx::query(
                "UPDATE tenure_sessions SET ended_at = $1, ended_by = $2 \
                     WHERE ended_at IS NULL AND idle_since IS NOT NULL AND idle_since <= $3 \
                     AND borrowed_until IS NULL",
            )
            .bind(now.timestamp())
            .bind(ENDED_IDLE)
            .bind((now - idle).timestamp())
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            None => 0,
        };
        if ran_out.rows_affected() + idle_freed > 0 {
            self.announce_freed(&mut tx).await?;
        }
        let held = sqlx::query(
            "SELECT id FROM tenure_sessions WHERE ended_at IS NULL AND login = $1 AND machine = $2",
        )
        .bind(request.login)
        .bind(request.machine)
        .fetch_optional(&mut *tx)
        .await?;
        let id = if let Some(row) = held {
            let id: String = row.try_get(0)?;
            // A borrow never shortens: renewing keeps the later of the two ends.
            sqlx::query(
                "UPDATE tenure_sessions SET heartbeat_at = $1, checked_in_at = NULL, \
                 lease_until = CASE WHEN lease_until > $2 THEN lease_until ELSE $2 END, \
                 borrowed_until = CASE WHEN $3 < 0 THEN borrowed_until ELSE $3 END WHERE id = $4",
            )
            .bind(now.timestamp())
            .bind(lease_until.timestamp())
            .bind(borrowed_until.unwrap_or(-1))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            queue::leave(&mut tx, request.login, request.machine).await?;
            id
        } else {
            let grant = match seat_or_line(&mut tx, request, now).await? {
                Ok(grant) => grant,
                Err(answer) => {
                    tx.commit().await?;
                    return Ok(answer);
                }
            };
            queue::leave(&mut tx, request.login, request.machine).await?;
            let id = new_id();
            sqlx::query(
                "INSERT INTO tenure_sessions (id, login, machine, started_at, heartbeat_at, \
                 lease_until, borrowed_until, admin, overdraft) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(request.login)
            .bind(request.machine)
            .bind(now.timestamp())
            .bind(lease_until.timestamp())
            .bind(borrowed_until)
            .bind(i64::from(grant.admin_slot))
            .bind(i64::from(grant.overdraft))
            .execute(&mut *tx)
            .await?;
            id
        };
        let session = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM tenure_sessions WHERE id = $1"
        )))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let session = session_of(&session)?;
        tx.commit().await?;
        Ok(Checkout::Granted(session))
    }

    /// Renews a session's lease, noting whether its product is idle (since the first idle
    /// report). Tells the client when its session was ended or ran out.
    pub async fn heartbeat(
        &self,
        id: &str,
        lease: Duration,
        activity: Activity,
        now: DateTime<Utc>,
    ) -> Result<Session, SessionError> {
        // A borrowed seat needs no heartbeat and is never shortened by one.
        sqlx::query(
            "UPDATE tenure_sessions SET heartbeat_at = $1, lease_until = $2, checked_in_at = NULL, \
             idle_since = CASE WHEN $4 = 0 THEN NULL ELSE COALESCE(idle_since, $1) END \
             WHERE id = $3 AND ended_at IS NULL AND lease_until > $1 AND borrowed_until IS NULL",
        )
        .bind(now.timestamp())
        .bind((now + lease).timestamp())
        .bind(id)
        .bind(i64::from(activity == Activity::Idle))
        .execute(&self.pool)
        .await?;
        live(self.session(id).await?, now)
    }

    /// Gives a seat back. True if it was held.
    pub async fn end_session(
        &self,
        id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE tenure_sessions SET ended_at = $1, ended_by = $2 \
             WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(now.timestamp())
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            let mut conn = self.pool.acquire().await?;
            self.announce_freed(&mut conn).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Revokes a borrowed seat that is still out (a lost laptop): it stays counted, marked, until
    /// the borrow ends or the laptop drops it. True if such a borrow was revoked now.
    pub(crate) async fn revoke_borrow(
        &self,
        id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE tenure_sessions SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND ended_at IS NULL AND borrowed_until > $1 AND revoked_at IS NULL",
        )
        .bind(now.timestamp())
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A user gives a seat back. Under a linger it stays theirs until `now + linger` (taken
    /// again from the same machine meanwhile, it is the same seat); without one, it is free at
    /// once. `signed_linger` is the license's; a longer one the customer set here wins. True
    /// if it was held.
    pub async fn check_in(
        &self,
        id: &str,
        signed_linger: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let (local_mins, _) = policy::local_minutes(&mut *self.pool.acquire().await?).await?;
        let linger = signed_linger.max(Duration::minutes(i64::from(local_mins)));
        if linger <= Duration::zero() {
            return self.end_session(id, "checked in", now).await;
        }
        let done = sqlx::query(
            "UPDATE tenure_sessions SET checked_in_at = $1, heartbeat_at = $1, lease_until = $2 \
             WHERE id = $3 AND ended_at IS NULL AND lease_until > $1 AND borrowed_until IS NULL",
        )
        .bind(now.timestamp())
        .bind((now + linger).timestamp())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// On PostgreSQL, tells the waiters in line that a seat may have come free.
    async fn announce_freed(&self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        if matches!(self.spec, super::DbSpec::Postgres(_)) {
            freed::announce(conn).await?;
        }
        Ok(())
    }

    /// Where a waiter in line hears that a seat may have come free: on PostgreSQL, a notice
    /// shared by the process's waiters; `None` on SQLite (ask again every
    /// [`crate::WAIT_POLL`]), or where the database cannot be listened to.
    pub async fn freed_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        match &self.spec {
            super::DbSpec::Postgres(url) => self.freed.hear(url).await,
            super::DbSpec::Sqlite(_) => None,
        }
    }

    /// Borrowed seats revoked by an admin whose borrow has not ended: the laptop has not been
    /// back, so each still counts.
    pub(crate) async fn revoked_borrows_out(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<tenure_core::protocol::RevokedBorrow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, borrowed_until FROM tenure_sessions WHERE ended_at IS NULL \
             AND revoked_at IS NOT NULL AND borrowed_until > $1 ORDER BY revoked_at LIMIT $2",
        )
        .bind(now.timestamp())
        .bind(i64::try_from(tenure_core::protocol::limits::REVOKED_BORROWS).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(tenure_core::protocol::RevokedBorrow {
                    session_id: row.try_get(0)?,
                    until: tenure_storage::time_from_secs(row.try_get(1)?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }

    /// One session, live or ended.
    pub async fn session(&self, id: &str) -> Result<Session, SessionError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM tenure_sessions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(session_of(&row)?),
            None => Err(SessionError::Unknown(id.to_owned())),
        }
    }

    /// Sessions holding a seat now (not ended, lease not run out), earliest first.
    pub(crate) async fn active_sessions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, DbError> {
        self.sessions_where("ended_at IS NULL AND lease_until > $1", now)
            .await
    }

    /// Sessions that overlap `since..`, for usage reports.
    pub(crate) async fn sessions_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Session>, DbError> {
        self.sessions_where("ended_at IS NULL OR ended_at >= $1", since)
            .await
    }

    /// Sessions matching a fixed condition on one time, earliest first.
    async fn sessions_where(
        &self,
        condition: &'static str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Session>, DbError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM tenure_sessions WHERE {condition} \
             ORDER BY started_at, id"
        )))
        .bind(at.timestamp())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(session_of)
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Times of refused checkouts since `since`.
    pub(crate) async fn refusals_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, DbError> {
        let rows = sqlx::query("SELECT at FROM tenure_refusals WHERE at >= $1 ORDER BY at")
            .bind(since.timestamp())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(time(r.try_get(0)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }
}

/// A new session to give: the administrative connection, or a seat beyond the count.
struct Grant {
    admin_slot: bool,
    overdraft: bool,
}

/// Whether a new session may be given, and how, or the answer that refuses it — in line, when
/// the request waits. A free seat goes to the waiters ahead first: `room.free` must exceed them.
async fn seat_or_line(
    conn: &mut sqlx::AnyConnection,
    request: &CheckoutRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Result<Grant, Checkout>, sqlx::Error> {
    let room = room_for(conn, request).await?;
    let key = share_key(request.share);
    let standing = queue::standing(conn, request.login, request.machine, &key, now).await?;
    if room.free > standing.ahead {
        return Ok(Ok(Grant {
            admin_slot: false,
            overdraft: room.in_pool >= request.seats,
        }));
    }
    if request.admin && admin_slot_free(conn).await? {
        return Ok(Ok(Grant {
            admin_slot: true,
            overdraft: false,
        }));
    }
    if !request.wait {
        record_refusal(conn, request, now).await?;
        return Ok(Err(if room.free == 0 {
            room.full
        } else {
            Checkout::InLine {
                position: None,
                ahead: standing.ahead,
                next_free: room.next_free(),
                news: true,
            }
        }));
    }
    let joined = queue::stand(conn, request.login, request.machine, &key, &standing, now).await?;
    // Waiting counts as refused once, when the user joins the line.
    if joined {
        record_refusal(conn, request, now).await?;
    }
    Ok(Err(Checkout::InLine {
        position: Some(standing.ahead + 1),
        ahead: standing.ahead,
        next_free: room.next_free(),
        news: joined,
    }))
}

/// The seats free for a new session: the fewer of the pool's and the user's group's share's.
/// The administrative connection holds no seat and is not counted.
struct Room {
    free: u32,
    /// Seats held in the whole pool (the administrative connection aside).
    in_pool: u32,
    /// The answer when none is free, naming the part that is full.
    full: Checkout,
}

impl Room {
    fn next_free(&self) -> Option<DateTime<Utc>> {
        match self.full {
            Checkout::Full { next_free, .. } => next_free,
            _ => None,
        }
    }
}

async fn room_for(
    conn: &mut sqlx::AnyConnection,
    request: &CheckoutRequest<'_>,
) -> Result<Room, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS in_use, MIN(lease_until) AS next_free FROM tenure_sessions \
         WHERE ended_at IS NULL AND admin = 0",
    )
    .fetch_one(&mut *conn)
    .await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let in_use = count(row.try_get("in_use")?);
    let limit = request.seats.saturating_add(request.overdraft);
    let pool = Room {
        free: limit.saturating_sub(in_use),
        in_pool: in_use,
        full: Checkout::Full {
            in_use,
            limit,
            group: None,
            next_free: row.try_get::<Option<i64>, _>("next_free")?.map(time),
        },
    };
    let Some(share) = request.share.filter(|_| pool.free > 0) else {
        return Ok(pool);
    };
    // `$1, $2, …` for the groups drawing on the share: a short list, bound, never spliced.
    let placeholders: Vec<String> = (1..=share.groups.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT COUNT(*) AS in_use, MIN(s.lease_until) AS next_free FROM tenure_sessions s \
         LEFT JOIN tenure_group_members m ON m.login = s.login \
         WHERE s.ended_at IS NULL AND s.admin = 0 AND COALESCE(m.group_name, '') IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for group in &share.groups {
        query = query.bind(group);
    }
    let row = query.fetch_one(&mut *conn).await?;
    let in_group = count(row.try_get("in_use")?);
    let free = share.size.saturating_sub(in_group);
    if free >= pool.free {
        return Ok(pool);
    }
    Ok(Room {
        free,
        in_pool: pool.in_pool,
        full: Checkout::Full {
            in_use: in_group,
            limit: share.size,
            group: share.label.clone(),
            next_free: row.try_get::<Option<i64>, _>("next_free")?.map(time),
        },
    })
}

/// The line a request waits in: one per part of a split pool.
fn share_key(share: Option<&GroupShare>) -> String {
    share.map_or_else(String::new, |share| {
        format!("share:{}", share.label.as_deref().unwrap_or(""))
    })
}

async fn record_refusal(
    conn: &mut sqlx::AnyConnection,
    request: &CheckoutRequest<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tenure_refusals (at, login, machine) VALUES ($1, $2, $3)")
        .bind(now.timestamp())
        .bind(request.login)
        .bind(request.machine)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// True when no administrative connection is held now.
async fn admin_slot_free(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS held FROM tenure_sessions WHERE ended_at IS NULL AND admin = 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>("held")? == 0)
}

/// A session as a heartbeat sees it: live, or why not.
fn live(session: Session, now: DateTime<Utc>) -> Result<Session, SessionError> {
    match (&session.ended_at, &session.ended_by) {
        (Some(at), Some(by)) if by == ENDED_IDLE => Err(SessionError::Idle(*at)),
        (Some(at), Some(by)) if by != "lease ended" => Err(SessionError::Ended {
            by: by.clone(),
            at: *at,
        }),
        (Some(at), _) => Err(SessionError::Expired(*at)),
        (None, _) if session.lease_until <= now => Err(SessionError::Expired(session.lease_until)),
        (None, _) => Ok(session),
    }
}
