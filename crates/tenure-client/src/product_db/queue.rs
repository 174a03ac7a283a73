//! The line of users waiting for a concurrent seat (`tenure_queue`).
//!
//! A waiter asks again every second or so; each ask refreshes `seen_at`, and a waiter not seen
//! for [`WAITER_GONE`] has left. Lines are per part of the pool (`share_key`: '' when the pool
//! is not split among groups), ordered by the group's priority, higher first, then by place:
//! first come, first served. The helpers taking a connection run inside a checkout's
//! transaction, after the pool lock. Nothing here grants a seat: the checkout still counts
//! every grant against the signed seats, so a row written by hand wins nothing.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{DbError, ProductDb};

/// A waiter not heard from for this long has left the line.
pub const WAITER_GONE: std::time::Duration = std::time::Duration::from_secs(10);

/// One user waiting for a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// Random id, for an admin to move or remove it.
    pub id: String,
    /// The user.
    pub login: String,
    /// The machine.
    pub machine: String,
    /// The group whose share of the pool it waits for; `None` for an undivided pool.
    pub line: Option<String>,
    /// Its group's priority.
    pub priority: i64,
    /// 1 for the head of its line.
    pub position: u32,
    /// When it joined.
    pub joined_at: DateTime<Utc>,
    /// When it last asked.
    pub seen_at: DateTime<Utc>,
}

/// Where a user stands: the waiters ahead of it in its line, and its own row if it has one.
pub(super) struct Standing {
    pub ahead: u32,
    in_line: bool,
    /// Its group's priority; `None` when no one waits (not looked up).
    priority: Option<i64>,
}

fn gone_before(now: DateTime<Utc>) -> i64 {
    now.timestamp() - i64::try_from(WAITER_GONE.as_secs()).unwrap_or(i64::MAX)
}

/// Drops the waiters that stopped asking.
async fn drop_gone(conn: &mut sqlx::AnyConnection, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tenure_queue WHERE seen_at < $1")
        .bind(gone_before(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where `login` on `machine` stands in line `share_key`, once the waiters that stopped asking
/// have left. One not in line stands behind every waiter of its priority or higher.
pub(super) async fn standing(
    conn: &mut sqlx::AnyConnection,
    login: &str,
    machine: &str,
    share_key: &str,
    now: DateTime<Utc>,
) -> Result<Standing, sqlx::Error> {
    // The common case, no one waiting, costs one look.
    let waiting: i64 = sqlx::query("SELECT COUNT(*) FROM tenure_queue")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if waiting == 0 {
        return Ok(Standing {
            ahead: 0,
            in_line: false,
            priority: None,
        });
    }
    drop_gone(conn, now).await?;
    let mine = sqlx::query(
        "SELECT priority, place FROM tenure_queue WHERE login = $1 AND machine = $2 \
         AND share_key = $3",
    )
    .bind(login)
    .bind(machine)
    .bind(share_key)
    .fetch_optional(&mut *conn)
    .await?;
    let (in_line, priority, place) = match mine {
        Some(row) => (true, row.try_get("priority")?, row.try_get("place")?),
        None => (false, group_priority(conn, login).await?, i64::MAX),
    };
    let ahead: i64 = sqlx::query(
        "SELECT COUNT(*) FROM tenure_queue WHERE share_key = $1 \
         AND NOT (login = $2 AND machine = $3) \
         AND (priority > $4 OR (priority = $4 AND place < $5))",
    )
    .bind(share_key)
    .bind(login)
    .bind(machine)
    .bind(priority)
    .bind(place)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok(Standing {
        ahead: u32::try_from(ahead).unwrap_or(u32::MAX),
        in_line,
        priority: Some(priority),
    })
}

/// The priority of the group `login` belongs to (0 for none).
async fn group_priority(conn: &mut sqlx::AnyConnection, login: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT g.priority FROM tenure_group_members m \
         JOIN tenure_groups g ON g.name = m.group_name WHERE m.login = $1",
    )
    .bind(login)
    .fetch_optional(&mut *conn)
    .await?;
    row.map_or(Ok(0), |row| row.try_get(0))
}

/// Puts `login` on `machine` in line `share_key`, or notes that it asked again. True when it
/// joined just now.
pub(super) async fn stand(
    conn: &mut sqlx::AnyConnection,
    login: &str,
    machine: &str,
    share_key: &str,
    standing: &Standing,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    if standing.in_line {
        sqlx::query("UPDATE tenure_queue SET seen_at = $1 WHERE login = $2 AND machine = $3")
            .bind(now.timestamp())
            .bind(login)
            .bind(machine)
            .execute(&mut *conn)
            .await?;
        return Ok(false);
    }
    // A row in another line (the user's group changed) is left for this one.
    leave(conn, login, machine).await?;
    let priority = match standing.priority {
        Some(priority) => priority,
        None => group_priority(conn, login).await?,
    };
    sqlx::query(
        "INSERT INTO tenure_queue (id, login, machine, share_key, priority, place, joined_at, \
         seen_at) SELECT $1, $2, $3, $4, $5, COALESCE(MAX(place), 0) + 1, $6, $6 \
         FROM tenure_queue",
    )
    .bind(tenure_storage::new_id(""))
    .bind(login)
    .bind(machine)
    .bind(share_key)
    .bind(priority)
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Takes `login` on `machine` out of line (given a seat, or gone).
pub(super) async fn leave(
    conn: &mut sqlx::AnyConnection,
    login: &str,
    machine: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tenure_queue WHERE login = $1 AND machine = $2")
        .bind(login)
        .bind(machine)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn time(secs: i64) -> DateTime<Utc> {
    tenure_storage::time_from_secs(secs)
}

/// The line for a concurrent seat in one product database (`db.line()`): who waits, and an
/// admin's changes to it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    db: &'a ProductDb,
}

impl ProductDb {
    /// The line for a concurrent seat.
    pub fn line(&self) -> Line<'_> {
        Line { db: self }
    }
}

impl Line<'_> {
    /// Everyone waiting for a seat, line by line, head first (waiters that stopped asking are
    /// left out).
    pub async fn waiters(self, now: DateTime<Utc>) -> Result<Vec<Waiter>, DbError> {
        let rows = sqlx::query(
            "SELECT id, login, machine, share_key, priority, joined_at, seen_at \
             FROM tenure_queue WHERE seen_at >= $1 ORDER BY share_key, priority DESC, place",
        )
        .bind(gone_before(now))
        .fetch_all(&self.db.pool)
        .await?;
        let mut waiters: Vec<Waiter> = Vec::with_capacity(rows.len());
        for row in &rows {
            let key: String = row.try_get("share_key")?;
            let line = key.strip_prefix("share:").map(str::to_owned);
            let position = match waiters.last() {
                Some(before) if before.line == line => before.position + 1,
                _ => 1,
            };
            waiters.push(Waiter {
                id: row.try_get("id")?,
                login: row.try_get("login")?,
                machine: row.try_get("machine")?,
                line,
                priority: row.try_get("priority")?,
                position,
                joined_at: time(row.try_get("joined_at")?),
                seen_at: time(row.try_get("seen_at")?),
            });
        }
        Ok(waiters)
    }

    /// Takes `login` on `machine` out of line at once (it stopped waiting).
    pub async fn leave(self, login: &str, machine: &str) -> Result<(), DbError> {
        let mut conn = self.db.pool.acquire().await?;
        leave(&mut conn, login, machine).await?;
        Ok(())
    }

    /// Takes a waiter out of line. False when there is no such waiter.
    pub async fn remove(self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM tenure_queue WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a waiter to `position` (1 = head) in its line; a position past the end puts it
    /// last. It takes the priority of the waiter it now stands before (or after, when last), so
    /// the order holds on every later ask. False when there is no such waiter.
    pub async fn move_to(self, id: &str, position: u32) -> Result<bool, DbError> {
        let mut tx = self.db.pool.begin().await?;
        // The pool lock: no checkout reads the line while it is rewritten.
        sqlx::query("UPDATE tenure_pool SET generation = generation + 1 WHERE slot = 'seats'")
            .execute(&mut *tx)
            .await?;
        let Some(row) = sqlx::query("SELECT share_key FROM tenure_queue WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let key: String = row.try_get(0)?;
        let rows = sqlx::query(
            "SELECT id, priority FROM tenure_queue WHERE share_key = $1 \
             ORDER BY priority DESC, place",
        )
        .bind(&key)
        .fetch_all(&mut *tx)
        .await?;
        let mut line: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let Some(from) = line.iter().position(|(w, _)| w == id) else {
            return Ok(false);
        };
        let moved = line.remove(from);
        let to = usize::try_from(position.max(1) - 1)
            .unwrap_or(usize::MAX)
            .min(line.len());
        let neighbour = line.get(to).or_else(|| line.last()).map(|(_, p)| *p);
        line.insert(to, (moved.0, neighbour.unwrap_or(moved.1)));
        for (place, (waiter, priority)) in (1_i64..).zip(&line) {
            sqlx::query("UPDATE tenure_queue SET place = $1, priority = $2 WHERE id = $3")
                .bind(place)
                .bind(priority)
                .bind(waiter)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a group's priority in the line: its waiters go ahead of those of groups with a
    /// lower one. False when there is no such group.
    pub async fn set_group_priority(self, group: &str, priority: i64) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE tenure_groups SET priority = $1 WHERE name = $2")
            .bind(priority)
            .bind(group)
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
