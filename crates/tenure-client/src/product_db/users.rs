//! Users and named seats in the product database.
//!
//! A save is one transaction that first moves the directory's version on — `UPDATE … WHERE
//! version = expected` — so of two admins saving over the same version, the second finds no row
//! to update and is told who saved before them. The transaction then reads the users as they
//! are, applies the changes with [`Directory::apply`] (which trims to the license's seats), and
//! writes only the difference, the audit events and the new seat count.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row as _};
use tenure_core::directory::{
    Actor, Change, ChangeError, Directory, Effect, Seat, SeatLimit, SeatPolicy, User, Version,
};

use super::{AuditEvent, DbError, ProductDb, insert_event};

/// Why a save did not happen. In every case nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    /// Someone saved after the version this save started from.
    #[error("not saved: the users were {}", super::saved_since(.0))]
    Conflict(Version),
    /// A change was refused.
    #[error("not saved: {0}")]
    Refused(#[from] ChangeError),
    /// A seat given would break the license's churn caps (cool-down, reassignments).
    #[error("not saved: {0}")]
    Churn(String),
    /// The database failed.
    #[error("not saved: {0}")]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> Self {
        SaveError::Db(e.into())
    }
}

/// A save that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The directory as saved, at its new version.
    pub directory: Directory,
    /// What the save did, trimming included.
    pub effects: Vec<Effect>,
}

/// One user's standing, as the product's authorisation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatCheck {
    /// The user is disabled.
    pub disabled: bool,
    /// The user has been authorised before.
    pub authorized_before: bool,
    /// The user's seat in the table, with how many seats rank before it by the trimming rule.
    pub seat: Option<(DateTime<Utc>, u64)>,
    /// Seats in the table.
    pub in_use: u64,
}

/// Seats in use at one moment, for the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCount {
    /// When.
    pub at: DateTime<Utc>,
    /// Seats held.
    pub in_use: u32,
    /// Seats the license granted then (0 when none could be given).
    pub limit: u32,
}

fn time(secs: i64) -> DateTime<Utc> {
    tenure_storage::time_from_secs(secs)
}

/// The directory's head row, read by [`version_of`].
const SELECT_HEAD: &str = "SELECT version, changed_by, changed_host, changed_at, auto_assign, \
     free_on_disable FROM tenure_directory WHERE slot = 'users'";

fn version_of(row: &sqlx::any::AnyRow) -> Result<(Version, SeatPolicy), sqlx::Error> {
    Ok((
        Version {
            number: row.try_get("version")?,
            by: row.try_get("changed_by")?,
            host: row.try_get("changed_host")?,
            at: time(row.try_get("changed_at")?),
        },
        SeatPolicy {
            auto_assign: row.try_get::<i64, _>("auto_assign")? != 0,
            free_on_disable: row.try_get::<i64, _>("free_on_disable")? != 0,
        },
    ))
}

async fn read_directory(conn: &mut AnyConnection) -> Result<Directory, sqlx::Error> {
    let head = sqlx::query(SELECT_HEAD).fetch_one(&mut *conn).await?;
    let (version, policy) = version_of(&head)?;
    let rows = sqlx::query(
        "SELECT u.login, u.name, u.email, u.disabled, u.created_at, s.assigned_at, s.assigned_by \
         FROM tenure_users u LEFT JOIN tenure_seats s ON s.login = u.login",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut users = BTreeMap::new();
    for row in &rows {
        let login: String = row.try_get("login")?;
        let assigned_at: Option<i64> = row.try_get("assigned_at")?;
        let assigned_by: Option<String> = row.try_get("assigned_by")?;
        let user = User {
            login: login.clone(),
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            created_at: time(row.try_get("created_at")?),
            seat: assigned_at.map(|at| Seat {
                assigned_at: time(at),
                assigned_by: assigned_by.unwrap_or_default(),
            }),
        };
        users.insert(login, user);
    }
    Ok(Directory {
        version,
        policy,
        users,
    })
}

/// Writes the difference between two directories. Seats go before the users they name, and
/// after them when a user is added.
async fn write_difference(
    conn: &mut AnyConnection,
    before: &Directory,
    after: &Directory,
) -> Result<(), sqlx::Error> {
    for (login, old) in &before.users {
        let new = after.users.get(login);
        if old.seat.is_some() && new.is_none_or(|n| n.seat.is_none()) {
            sqlx::query("DELETE FROM tenure_seats WHERE login = $1")
                .bind(login)
                .execute(&mut *conn)
                .await?;
        }
        match new {
            None => {
                sqlx::query("DELETE FROM tenure_users WHERE login = $1")
                    .bind(login)
                    .execute(&mut *conn)
                    .await?;
            }
            Some(new)
                if new.name != old.name
                    || new.email != old.email
                    || new.disabled != old.disabled =>
            {
                sqlx::query(
                    "UPDATE tenure_users SET name = $1, email = $2, disabled = $3 WHERE login = $4",
                )
                .bind(&new.name)
                .bind(&new.email)
                .bind(i64::from(new.disabled))
                .bind(login)
                .execute(&mut *conn)
                .await?;
            }
            Some(_) => {}
        }
    }
    for (login, new) in &after.users {
        let old = before.users.get(login);
        if old.is_none() {
            sqlx::query(
                "INSERT INTO tenure_users (login, name, email, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(login)
            .bind(&new.name)
            .bind(&new.email)
            .bind(i64::from(new.disabled))
            .bind(new.created_at.timestamp())
            .execute(&mut *conn)
            .await?;
        }
        if let Some(seat) = &new.seat
            && old.is_none_or(|o| o.seat.is_none())
        {
            sqlx::query(
                "INSERT INTO tenure_seats (login, assigned_at, assigned_by) VALUES ($1, $2, $3)",
            )
            .bind(login)
            .bind(seat.assigned_at.timestamp())
            .bind(&seat.assigned_by)
            .execute(&mut *conn)
            .await?;
        }
    }
    if before.policy != after.policy {
        sqlx::query(
            "UPDATE tenure_directory SET auto_assign = $1, free_on_disable = $2 WHERE slot = 'users'",
        )
        .bind(i64::from(after.policy.auto_assign))
        .bind(i64::from(after.policy.free_on_disable))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn event_detail(effect: &Effect) -> String {
    match effect {
        Effect::PolicyChanged(_) => effect.to_string(),
        _ => format!("{}: {effect}", effect.login().unwrap_or_default()),
    }
}

impl ProductDb {
    /// The users, seats and policy as stored. Seats beyond the license are still listed here;
    /// [`Directory::over_limit`] names them.
    pub(crate) async fn load_directory(&self) -> Result<Directory, DbError> {
        let mut conn = self.pool.acquire().await?;
        Ok(read_directory(&mut conn).await?)
    }

    /// How many named seats the table holds (beyond the license or not).
    pub(crate) async fn seats_held(&self) -> Result<u64, DbError> {
        count_seats(&mut *self.pool.acquire().await?).await
    }

    /// The seat policy alone.
    pub(crate) async fn load_directory_policy(&self) -> Result<SeatPolicy, DbError> {
        let row = sqlx::query(SELECT_HEAD).fetch_one(&self.pool).await?;
        Ok(version_of(&row)?.1)
    }

    /// Applies `changes` in one transaction, if the directory is still at `expected` (or
    /// whatever it is, with `None`: for saves not based on what someone saw, such as trimming
    /// after a renewal or an automatic seat).
    pub(crate) async fn save_directory(
        &self,
        expected: Option<i64>,
        changes: &[Change],
        limit: &SeatLimit,
        churn: tenure_core::Churn,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Saved, SaveError> {
        let mut tx = self.pool.begin().await?;
        // Taking the version first also takes the write lock, so the read below is the state
        // this save is judged on.
        let bumped = sqlx::query(
            "UPDATE tenure_directory SET version = version + 1, changed_by = $1, \
             changed_host = $2, changed_at = $3 \
             WHERE slot = 'users' AND ($4 < 0 OR version = $4) \
             RETURNING version, changed_by, changed_host, changed_at, auto_assign, free_on_disable",
        )
        .bind(&actor.login)
        .bind(&actor.host)
        .bind(now.timestamp())
        .bind(expected.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(bumped) = bumped else {
            drop(tx);
            let current = self.load_directory().await?;
            return Err(SaveError::Conflict(current.version));
        };
        let (version, _) = version_of(&bumped)?;
        let before = read_directory(&mut tx).await?;
        let applied = before.apply(changes, limit, actor, now)?;
        if let Err(sentence) =
            super::churn::judge_and_log(&mut tx, &before, &applied.directory, churn, now).await?
        {
            return Err(SaveError::Churn(sentence));
        }
        write_difference(&mut tx, &before, &applied.directory).await?;
        for effect in &applied.effects {
            let event = AuditEvent {
                at: now,
                kind: effect.event_kind().to_owned(),
                outcome: "ok".to_owned(),
                login: actor.login.clone(),
                host: actor.host.clone(),
                detail: event_detail(effect),
            };
            insert_event(&mut tx, &event).await?;
        }
        let mut directory = applied.directory;
        directory.version = version;
        let in_use = directory.seats_in_use();
        if in_use != before.seats_in_use() || matches!(limit, SeatLimit::Named(_)) {
            let seat_limit = match limit {
                SeatLimit::Named(n) => i64::from(*n),
                SeatLimit::Unavailable(_) => 0,
            };
            sqlx::query(
                "INSERT INTO tenure_seat_counts (at, in_use, seat_limit) VALUES ($1, $2, $3)",
            )
            .bind(now.timestamp())
            .bind(i64::try_from(in_use).unwrap_or(i64::MAX))
            .bind(seat_limit)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Saved {
            directory,
            effects: applied.effects,
        })
    }

    /// How many seats of `share`'s groups rank before `login`'s (assigned at `assigned_at`) by
    /// the trimming rule, and how many its groups hold.
    pub(crate) async fn seat_rank_in_share(
        &self,
        login: &str,
        assigned_at: DateTime<Utc>,
        share: &super::GroupShare,
    ) -> Result<(u64, u64), DbError> {
        let placeholders: Vec<String> = (3..share.groups.len() + 3)
            .map(|i| format!("${i}"))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) AS held, \
             COUNT(CASE WHEN s.assigned_at < $1 OR (s.assigned_at = $1 AND s.login < $2) \
                 THEN 1 END) AS ahead \
             FROM tenure_seats s LEFT JOIN tenure_group_members m ON m.login = s.login \
             WHERE COALESCE(m.group_name, '') IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(assigned_at.timestamp())
            .bind(login);
        for group in &share.groups {
            query = query.bind(group);
        }
        let row = query.fetch_one(&self.pool).await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((count(row.try_get("ahead")?), count(row.try_get("held")?)))
    }

    /// One user's standing for authorisation, in one query on a warm connection. `None`: no
    /// such user.
    pub(crate) async fn seat_check(&self, login: &str) -> Result<Option<SeatCheck>, DbError> {
        let row = sqlx::query(
            "SELECT u.disabled, u.first_authorized_at, s.assigned_at, \
             (SELECT COUNT(*) FROM tenure_seats e WHERE e.assigned_at < s.assigned_at \
                OR (e.assigned_at = s.assigned_at AND e.login < s.login)) AS seat_rank, \
             (SELECT COUNT(*) FROM tenure_seats) AS in_use \
             FROM tenure_users u LEFT JOIN tenure_seats s ON s.login = u.login WHERE u.login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let first: Option<i64> = row.try_get("first_authorized_at")?;
        let assigned_at: Option<i64> = row.try_get("assigned_at")?;
        let rank: i64 = row.try_get("seat_rank")?;
        let in_use: i64 = row.try_get("in_use")?;
        Ok(Some(SeatCheck {
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            authorized_before: first.is_some(),
            seat: assigned_at.map(|at| (time(at), u64::try_from(rank).unwrap_or(0))),
            in_use: u64::try_from(in_use).unwrap_or(0),
        }))
    }

    /// Records the first authorisation of a user. True if this call was the first.
    pub(crate) async fn mark_first_authorized(
        &self,
        login: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE tenure_users SET first_authorized_at = $1 \
             WHERE login = $2 AND first_authorized_at IS NULL",
        )
        .bind(now.timestamp())
        .bind(login)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Seats in use over time, oldest first, since `since`.
    pub async fn seat_counts(&self, since: DateTime<Utc>) -> Result<Vec<SeatCount>, DbError> {
        let rows = sqlx::query(
            "SELECT at, in_use, seat_limit FROM tenure_seat_counts WHERE at >= $1 ORDER BY at",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SeatCount {
                    at: time(r.try_get("at")?),
                    in_use: u32::try_from(r.try_get::<i64, _>("in_use")?).unwrap_or(0),
                    limit: u32::try_from(r.try_get::<i64, _>("seat_limit")?).unwrap_or(0),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }
}

/// How many named seats are given, on `conn`.
pub(super) async fn count_seats(conn: &mut AnyConnection) -> Result<u64, DbError> {
    let row = sqlx::query("SELECT COUNT(*) FROM tenure_seats")
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}
