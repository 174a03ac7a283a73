//! The product database: the customer's own SQLite file or PostgreSQL database, where Tenure
//! keeps the signed license for that database, users, seats, sessions and the audit log.
//!
//! The binding comes from the connection, never from typing: the server name from the
//! connection's host and port (canonicalised, so `localhost:5432` and this machine's name are
//! one server), the database name from the database itself (`current_database()` on PostgreSQL,
//! the file's stem on SQLite). A restored copy of the database carries its license along, and
//! the status then shows the mismatch.

mod allocations;
mod churn;
mod freed;
mod open;
mod policy;
mod queue;
mod sessions;
mod spec;
mod users;

use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row as _};
use tenure_core::Binding;
use tenure_core::status::ClockMark;
use tenure_storage::{Failure, Step};

pub use allocations::{
    AllocationBook, AllocationChange, AllocationError, Device, DeviceAnswer, DeviceCounts, Group,
    GroupKind, Held, device_id_problem,
};
pub use policy::FloatingPolicy;
pub use queue::{Line, WAITER_GONE, Waiter};
pub use sessions::{Activity, Checkout, CheckoutRequest, GroupShare, Session, SessionError};
pub use spec::DbSpec;
pub use users::{SaveError, Saved, SeatCheck, SeatCount};

/// The default PostgreSQL port, dropped from server names.
pub const POSTGRES_DEFAULT_PORT: u16 = 5432;

/// Why the product database could not be used. Each names the problem and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The connection text is not understood.
    #[error("the product database {0}")]
    BadSpec(String),
    /// Nothing answered.
    #[error(
        "the product database server is not reachable: is it running, and is the address right? ({0})"
    )]
    Unreachable(String),
    /// Wrong user or password.
    #[error(
        "the product database refused the user name or password: check the connection's credentials ({0})"
    )]
    Auth(String),
    /// The database does not exist.
    #[error(
        "the product database does not exist on that server: check its name, or create it ({0})"
    )]
    Missing(String),
    /// The schema could not be created or upgraded; nothing was changed.
    #[error(
        "cannot create or upgrade Tenure's tables in the product database; nothing was changed ({0})"
    )]
    Migrate(String),
    /// The file is not a database, or its content is damaged.
    #[error(
        "{0}: restore it from a backup (tenure db backup makes one), or move it aside to start an empty one"
    )]
    Damaged(String),
    /// The disk holding it is full; nothing was changed.
    #[error(
        "the product database cannot write: its disk is full; free some space and try again ({0})"
    )]
    Full(String),
    /// A query failed.
    #[error("product database error: {0}")]
    Query(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        classify(&e)
    }
}

fn classify(e: &sqlx::Error) -> DbError {
    let text = e.to_string();
    match tenure_storage::classify(e) {
        Failure::Auth => DbError::Auth(text),
        Failure::Missing => DbError::Missing(text),
        Failure::Unreachable => DbError::Unreachable(text),
        Failure::Damaged => DbError::Damaged(format!(
            "the product database is damaged ({})",
            sqlite_words(e)
        )),
        Failure::Full => DbError::Full(text),
        Failure::Other => DbError::Query(text),
    }
}

/// What SQLite (or PostgreSQL) said, without the code sqlx puts before it.
fn sqlite_words(e: &sqlx::Error) -> String {
    e.as_database_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// "changed by NAME on HOST at TIME — reload to see their change, then try again": the end of
/// a refused save's sentence, the same for every table two admins can edit at once.
fn saved_since(version: &tenure_core::directory::Version) -> String {
    format!(
        "changed by {} on {} at {} — reload to see their change, then try again",
        version.by,
        version.host,
        version
            .at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
    )
}

/// A stacked license as stored: more of a quantity for this database, with its own dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackedLicense {
    /// Its id.
    pub license_id: String,
    /// The signed document, as the server sent it.
    pub armored: String,
    /// Its activation credential (private half, hex), which proves it at each validation.
    pub holder_secret: String,
    /// When it was last validated.
    pub validated_at: DateTime<Utc>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// `activation`, `validation`, `rebind`, …
    pub kind: String,
    /// `ok` or what failed.
    pub outcome: String,
    /// The OS user who did it.
    pub login: String,
    /// The machine it was done on.
    pub host: String,
    /// More words.
    pub detail: String,
}

/// An open product database.
#[derive(Debug, Clone)]
pub struct ProductDb {
    pool: AnyPool,
    spec: DbSpec,
    binding: Binding,
    /// Device registrations that take a license pass one at a time in this process.
    registrations: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Notices that a seat may have come free (PostgreSQL), for waiters in line.
    freed: freed::FreedSignal,
}

/// Tenure's tables in the product database, step by step.
const MIGRATIONS: &[Step] = &[
    Step {
        version: 1,
        name: "tenure tables",
        sql: include_str!("../../migrations/0001_product.sql"),
    },
    Step {
        version: 2,
        name: "named seats",
        sql: include_str!("../../migrations/0002_seats.sql"),
    },
    Step {
        version: 3,
        name: "concurrent sessions",
        sql: include_str!("../../migrations/0003_sessions.sql"),
    },
    Step {
        version: 4,
        name: "possession and clock",
        sql: include_str!("../../migrations/0004_possession_and_clock.sql"),
    },
    Step {
        version: 5,
        name: "allocations",
        sql: include_str!("../../migrations/0005_allocations.sql"),
    },
    Step {
        version: 6,
        name: "trust documents",
        sql: include_str!("../../migrations/0006_trust.sql"),
    },
    Step {
        version: 7,
        name: "seat queue",
        sql: include_str!("../../migrations/0007_queue.sql"),
    },
    Step {
        version: 8,
        name: "floating policies",
        sql: include_str!("../../migrations/0008_floating.sql"),
    },
    Step {
        version: 9,
        name: "idle release and the customer's floating policy",
        sql: include_str!("../../migrations/0009_idle_and_local_policy.sql"),
    },
    Step {
        version: 10,
        name: "named seats changing hands",
        sql: include_str!("../../migrations/0010_seat_churn.sql"),
    },
    Step {
        version: 11,
        name: "borrow revocation",
        sql: include_str!("../../migrations/0011_borrow_revocation.sql"),
    },
];

impl ProductDb {
    /// The binding derived from this connection.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The connection, for display (never with a password).
    pub fn spec(&self) -> &DbSpec {
        &self.spec
    }

    /// Copies a SQLite product database into a new file `to` (`VACUUM INTO`, so the copy is
    /// consistent while others write): written beside it under a temporary name, then renamed,
    /// so `to` is either absent or complete. Refuses to overwrite a file. PostgreSQL databases
    /// are backed up with the server's own tools: the error says which.
    pub async fn backup_into(&self, to: &std::path::Path) -> Result<(), DbError> {
        if let DbSpec::Postgres(_) = &self.spec {
            return Err(DbError::BadSpec(format!(
                "is on PostgreSQL, where Tenure's tables live in the database itself: back it up with the server's tools, e.g. pg_dump --format=custom --file {} '{}'",
                to.display(),
                self.spec.to_string().trim_start_matches("PostgreSQL ")
            )));
        }
        if to.exists() {
            return Err(DbError::BadSpec(format!(
                "backup was not written: {} exists already; choose another name or remove it",
                to.display()
            )));
        }
        let dir = to
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let name = to
            .file_name()
            .map_or_else(|| "backup".to_owned(), |n| n.to_string_lossy().into_owned());
        let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
        let _ = std::fs::remove_file(&partial);
        let result = sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await;
        if let Err(e) = result {
            let _ = std::fs::remove_file(&partial);
            return Err(DbError::Query(format!(
                "cannot write the backup to {}: {e}",
                to.display()
            )));
        }
        let renamed = std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&partial, to));
        if let Err(e) = renamed {
            let _ = std::fs::remove_file(&partial);
            return Err(DbError::Query(format!(
                "cannot write the backup to {}: {e}",
                to.display()
            )));
        }
        Ok(())
    }

    /// Closes every connection, waiting for those in use; SQLite checkpoints its write-ahead log
    /// into the main file when the last one closes.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for the SDK's own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The signed license stored in this database, as armored text.
    pub async fn load_license(&self) -> Result<Option<String>, DbError> {
        let mut conn = self.pool.acquire().await?;
        read_license(&mut conn).await
    }

    /// Stores the signed license (one statement: the row is replaced whole or not at all).
    pub async fn save_license(
        &self,
        license_id: &str,
        armored: &str,
        validated_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenure_license (slot, license_id, armored, validated_at, updated_at) \
             VALUES ('current', $1, $2, $3, $4) \
             ON CONFLICT (slot) DO UPDATE SET license_id = excluded.license_id, \
             armored = excluded.armored, validated_at = excluded.validated_at, \
             updated_at = excluded.updated_at, \
             holder_secret = CASE WHEN tenure_license.license_id = excluded.license_id \
                 THEN tenure_license.holder_secret END",
        )
        .bind(license_id)
        .bind(armored)
        .bind(validated_at.timestamp())
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps a stacked license (one more for this database, beside the current one) with its
    /// activation credential; a newer copy of the same license replaces the older.
    pub async fn save_stacked(
        &self,
        stacked: &StackedLicense,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenure_stacked (license_id, armored, holder_secret, validated_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (license_id) DO UPDATE SET armored = excluded.armored, \
             validated_at = excluded.validated_at, updated_at = excluded.updated_at",
        )
        .bind(&stacked.license_id)
        .bind(&stacked.armored)
        .bind(&stacked.holder_secret)
        .bind(stacked.validated_at.timestamp())
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stacked licenses, as stored (not yet verified: the workstation verifies each).
    pub async fn stacked(&self) -> Result<Vec<StackedLicense>, DbError> {
        let rows = sqlx::query(
            "SELECT license_id, armored, holder_secret, validated_at FROM tenure_stacked \
             ORDER BY license_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StackedLicense {
                    license_id: row.try_get("license_id")?,
                    armored: row.try_get("armored")?,
                    holder_secret: row.try_get("holder_secret")?,
                    validated_at: tenure_storage::time_from_secs(row.try_get("validated_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }

    /// The activation credential (private half, hex) stored with license `license_id`.
    pub(crate) async fn load_holder_secret(
        &self,
        license_id: &str,
    ) -> Result<Option<String>, DbError> {
        let row = sqlx::query(
            "SELECT holder_secret FROM tenure_license WHERE slot = 'current' AND license_id = $1",
        )
        .bind(license_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| r.get::<Option<String>, _>("holder_secret")))
    }

    /// Whether the license stored here is `license_id` and the credential kept with it has the
    /// public key `holder` (hex): then a record another workstation left here about them (a
    /// moved notice, a release) is about this database's license and credential.
    pub(crate) async fn holds_credential(&self, license_id: &str, holder: &str) -> bool {
        let secret = self.load_holder_secret(license_id).await.ok().flatten();
        secret
            .as_deref()
            .and_then(tenure_core::possession::Credential::from_hex)
            .is_some_and(|c| c.public_hex() == holder)
    }

    /// Stores the activation credential with license `license_id` (when that is the license
    /// stored here).
    pub(crate) async fn save_holder_secret(
        &self,
        license_id: &str,
        secret: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE tenure_license SET holder_secret = $1 WHERE slot = 'current' AND license_id = $2",
        )
        .bind(secret)
        .bind(license_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The database server's clock, to the millisecond. Concurrent-seat leases are judged by it,
    /// so a workstation whose own clock is wrong can neither end other people's leases early nor
    /// keep its own alive.
    pub(crate) async fn clock(&self) -> Result<DateTime<Utc>, DbError> {
        let sql = match self.spec {
            DbSpec::Sqlite(_) => {
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT) AS ms"
            }
            DbSpec::Postgres(_) => {
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS ms"
            }
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        Ok(tenure_storage::time_from_millis(row.try_get("ms")?))
    }

    /// Writes this database's copy of the clock mark (replaced whole).
    pub(crate) async fn save_clock_mark(&self, mark: &ClockMark) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenure_clock (slot, seen, reset) VALUES ('mark', $1, $2) \
             ON CONFLICT (slot) DO UPDATE SET seen = excluded.seen, reset = excluded.reset",
        )
        .bind(mark.seen.timestamp_millis())
        .bind(mark.reset.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A signed document kept for every workstation on this database (`revocations`,
    /// `moved`), as stored: unverified.
    pub(crate) async fn load_trust_document(&self, name: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query("SELECT document FROM tenure_trust WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("document")))
    }

    /// Keeps a signed document under `name`, unless one with a higher or equal `serial` is
    /// there: a copy never goes down, whatever order workstations write in.
    pub(crate) async fn save_trust_document(
        &self,
        name: &str,
        serial: i64,
        document: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenure_trust (name, serial, document) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET serial = excluded.serial, \
             document = excluded.document WHERE tenure_trust.serial < excluded.serial",
        )
        .bind(name)
        .bind(serial)
        .bind(document)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends an audit event.
    pub async fn log_event(&self, event: &AuditEvent) -> Result<(), DbError> {
        let mut conn = self.pool.acquire().await?;
        Ok(insert_event(&mut conn, event).await?)
    }

    /// A stamp that moves whenever anything is audited here — users and seats saved, devices
    /// registered, allocations changed, sessions — by this process or any other: a window
    /// compares it to show what another wrote. (Events are only ever appended, so their number
    /// and latest time together move with each.)
    pub async fn change_stamp(&self) -> Result<(i64, i64), DbError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(at), 0) AS latest FROM tenure_events")
                .fetch_one(&self.pool)
                .await?;
        Ok((row.try_get("n")?, row.try_get("latest")?))
    }

    /// The latest audit events, newest first.
    pub async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>, DbError> {
        let rows = sqlx::query(
            "SELECT at, kind, outcome, login, host, detail FROM tenure_events \
             ORDER BY at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: tenure_storage::time_from_secs(r.try_get("at")?),
                    kind: r.try_get("kind")?,
                    outcome: r.try_get("outcome")?,
                    login: r.try_get("login")?,
                    host: r.try_get("host")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }
}

/// A new event's id, which sorts by when it was written: events share their second (`at`) with
/// others, and the most recent must come first. The time in milliseconds, then a count kept by
/// this process (events written in one millisecond here), then random bytes (other processes).
fn event_id() -> String {
    static WRITTEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let count = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 6];
    let _ = getrandom::fill(&mut random);
    format!("{millis:012x}{count:08x}{}", hex::encode(random))
}

/// Appends an audit event on a connection (or inside a transaction).
async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tenure_events (id, at, kind, outcome, login, host, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event_id())
    .bind(event.at.timestamp())
    .bind(&event.kind)
    .bind(&event.outcome)
    .bind(&event.login)
    .bind(&event.host)
    .bind(&event.detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The license the database holds, armored.
async fn read_license(conn: &mut sqlx::AnyConnection) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT armored FROM tenure_license WHERE slot = 'current'")
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}
