//! What the license server's store and the workstation's product database share: a sqlx `Any`
//! pool per engine with its settings (the SQLite pragmas are set here, in [`connect`]),
//! migrations from a list of SQL files, ids, times kept as Unix seconds, and what a failed
//! connection means. Both sides write portable SQL (`$n` parameters, TEXT and BIGINT columns),
//! so each query is written once for SQLite and PostgreSQL.
#![warn(missing_docs)]

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor as _, SqlStr};

/// Which engine a database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A local SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Engine {
    /// The engine a URL names: `sqlite:…` or `postgres://…` / `postgresql://…`.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else {
            None
        }
    }
}

/// How long a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every acknowledged commit is on disk (SQLite `synchronous=FULL`, PostgreSQL
    /// `synchronous_commit=on`): the server, which answers only after committing.
    Full,
    /// SQLite WAL with `synchronous=NORMAL`: a crash cannot corrupt the file; at worst the last
    /// commits before a power cut are lost, never a half-written one. The workstation's product
    /// database, which the product itself also writes.
    Normal,
}

/// How a pool is set up.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Connections at most.
    pub max_connections: u32,
    /// How long a commit waits for the disk.
    pub durability: Durability,
    /// How long a query waits for a connection (and, with the database down, keeps trying to
    /// open one) before it fails: a server answering a load balancer keeps this short.
    pub acquire_timeout: Duration,
}

impl PoolOptions {
    /// The usual wait for a connection: long enough for a database server that is starting.
    pub const PATIENT: Duration = Duration::from_secs(10);
}

/// Connects a pool to `url` (`sqlite:…?mode=rwc` or `postgres://…`) with Tenure's settings on
/// every connection: on SQLite a busy timeout (other processes share the file), foreign keys and
/// the durability asked for, in WAL mode; on PostgreSQL the commit durability.
pub async fn connect(url: &str, options: PoolOptions) -> Result<(AnyPool, Engine), sqlx::Error> {
    let held = connect_held(url, options).await?;
    Ok((held.pool, held.engine))
}

/// A pool and its first connection, still held.
#[derive(Debug)]
pub struct Held {
    /// The pool.
    pub pool: AnyPool,
    /// Its first connection, open and set up: statements run on it at once.
    pub first: PoolConnection<Any>,
    /// The engine behind it.
    pub engine: Engine,
}

/// [`connect`], handing back the pool's first connection held, for the caller's first
/// statements. A connection given back to a sqlx pool is tested (a round trip) on a task before
/// it can be taken again: a statement sent meanwhile opens a second connection, which on SQLite
/// is a thread, the file opened again and its schema read again, at a product's start.
///
/// A connection whose settings fail ends the wait at once with that error: sqlx would retry it
/// until the acquire timeout, and nothing here fails for a reason that passes (a damaged or
/// read-only file, a setting the server refuses).
pub async fn connect_held(url: &str, options: PoolOptions) -> Result<Held, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of_url(url).ok_or_else(|| {
        sqlx::Error::Configuration("the database URL must start with postgres:// or sqlite:".into())
    })?;
    let settings = match (engine, options.durability) {
        (Engine::Sqlite, durability) => Some(format!(
            "{} PRAGMA journal_mode = WAL;",
            sqlite_settings(durability)
        )),
        (Engine::Postgres, Durability::Full) => Some("SET synchronous_commit = on".to_owned()),
        (Engine::Postgres, Durability::Normal) => None,
    };
    let (report, first_failure) = tokio::sync::oneshot::channel::<sqlx::Error>();
    let report = Arc::new(Mutex::new(Some(report)));
    let reporter = report.clone();
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            let report = reporter.clone();
            Box::pin(async move {
                let Some(settings) = settings else {
                    return Ok(());
                };
                match conn.execute(sqlx::AssertSqlSafe(settings)).await {
                    Ok(_) => Ok(()),
                    Err(e) => match report.lock().ok().and_then(|mut r| r.take()) {
                        Some(report) => {
                            let told = sqlx::Error::Protocol(e.to_string());
                            let _ = report.send(e);
                            Err(told)
                        }
                        None => Err(e),
                    },
                }
            })
        })
        .connect_lazy(url)?;
    let first = tokio::select! {
        first = pool.acquire() => first,
        Ok(failure) = first_failure => Err(failure),
    };
    // Later connections' failures are retried as usual (the database may come back).
    if let Ok(mut report) = report.lock() {
        report.take();
    }
    match first {
        Ok(first) => Ok(Held {
            pool,
            first,
            engine,
        }),
        Err(e) => {
            pool.close().await;
            Err(e)
        }
    }
}

/// The pragmas every SQLite connection of Tenure's runs as it opens, whichever driver opens it:
/// a busy timeout (other connections and processes share the file), foreign keys, the
/// durability asked for, statement journals (a multi-row write in a transaction keeps one) in
/// memory, and a 16 MB page cache, so a batch of writes rereads no page.
pub fn sqlite_settings(durability: Durability) -> String {
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    format!(
        "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -16000;"
    )
}

/// One migration: a version, a name for people, and its SQL (portable to both engines).
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Applied in this order, once.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// A migrator for these steps. `table` names the bookkeeping table, so Tenure's tables can live
/// in a database whose owner uses sqlx migrations too.
pub fn migrator(steps: &[Step], table: Option<&'static str>) -> Migrator {
    let migrations = steps
        .iter()
        .map(|step| {
            Migration::new(
                step.version,
                Cow::Borrowed(step.name),
                MigrationType::Simple,
                SqlStr::from_static(step.sql),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    if let Some(table) = table {
        migrator.dangerous_set_table_name(table);
    }
    migrator
}

/// A random id, with a readable prefix when one is given: `lic_5f0c…`.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    // getrandom only fails when the OS has no entropy source at all; an all-zero id would then
    // collide on insert and be reported, never silently reused.
    let _ = getrandom::fill(&mut bytes);
    if prefix.is_empty() {
        hex::encode(bytes)
    } else {
        format!("{prefix}_{}", hex::encode(bytes))
    }
}

/// A random id that sorts by creation time: `ev_0193…` (milliseconds, then 8 random bytes). For
/// rows written many times a second into an indexed table: each insert lands at the right edge of
/// the key's index instead of on a random page, so a batch dirties a few pages, not one per row.
pub fn new_ordered_id(prefix: &str, at: DateTime<Utc>) -> String {
    new_ordered_ids(prefix, &[at]).pop().unwrap_or_default()
}

/// [`new_ordered_id`] for each of `times`, with one call for entropy for them all (a batch of
/// writes would otherwise make a system call per row).
pub fn new_ordered_ids(prefix: &str, times: &[DateTime<Utc>]) -> Vec<String> {
    let mut bytes = vec![0u8; 8 * times.len()];
    // As in `new_id`: without entropy the ids still differ by time, and a collision is reported.
    let _ = getrandom::fill(&mut bytes);
    times
        .iter()
        .zip(bytes.chunks_exact(8))
        .map(|(at, random)| {
            let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
            format!("{prefix}_{millis:012x}{}", hex::encode(random))
        })
        .collect()
}

/// A time stored as Unix seconds.
pub fn time_from_secs(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A time stored as Unix milliseconds.
pub fn time_from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// What went wrong reaching a database, in the terms people act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing answered at that address, or not in time.
    Unreachable,
    /// The user name or password was refused.
    Auth,
    /// The database does not exist on that server.
    Missing,
    /// The file is not a database, or its content is damaged (SQLite `SQLITE_CORRUPT`,
    /// `SQLITE_NOTADB`; PostgreSQL `XX001`, `XX002`).
    Damaged,
    /// The disk is full (SQLite `SQLITE_FULL`; PostgreSQL `53100`).
    Full,
    /// Anything else.
    Other,
}

/// SQLite's primary result codes Tenure tells apart.
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_NOTADB: i32 = 26;

/// What a SQLite result code (primary or extended) means.
pub fn classify_sqlite_code(code: i32) -> Failure {
    match code & 0xff {
        SQLITE_CORRUPT | SQLITE_NOTADB => Failure::Damaged,
        SQLITE_FULL => Failure::Full,
        _ => Failure::Other,
    }
}

/// What a PostgreSQL SQLSTATE means.
fn classify_sqlstate(code: &str) -> Option<Failure> {
    Some(match code {
        "28P01" | "28000" => Failure::Auth,
        "3D000" => Failure::Missing,
        "53100" => Failure::Full,
        "XX001" | "XX002" => Failure::Damaged,
        "57P01" | "57P02" | "57P03" | "08000" | "08001" | "08003" | "08004" | "08006" => {
            Failure::Unreachable
        }
        _ => return None,
    })
}

/// Classifies a sqlx error: the engine's own error code first (SQLite result codes,
/// PostgreSQL SQLSTATEs), then what the connection said.
pub fn classify(e: &sqlx::Error) -> Failure {
    if let Some(db) = e.as_database_error() {
        let code = db.code().map(Cow::into_owned).unwrap_or_default();
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            if let Ok(code) = code.parse::<i32>()
                && classify_sqlite_code(code) != Failure::Other
            {
                return classify_sqlite_code(code);
            }
        } else if let Some(failure) = classify_sqlstate(&code) {
            return failure;
        }
    }
    let text = e.to_string();
    if matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)
        || text.to_ascii_lowercase().contains("connection refused")
    {
        Failure::Unreachable
    } else if text.contains("password authentication failed") {
        Failure::Auth
    } else if text.contains("does not exist") && text.contains("database") {
        Failure::Missing
    } else {
        Failure::Other
    }
}

/// Uses ring for rustls in this process (idempotent): sqlx's TLS to PostgreSQL and the HTTP
/// clients and servers all use it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sqlite_pool_is_in_wal_mode_with_the_durability_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        for (durability, expected) in [(Durability::Full, 2_i64), (Durability::Normal, 1)] {
            let (pool, engine) = connect(
                &url,
                PoolOptions {
                    max_connections: 1,
                    durability,
                    acquire_timeout: PoolOptions::PATIENT,
                },
            )
            .await
            .expect("connect");
            assert_eq!(engine, Engine::Sqlite);
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&pool)
                .await
                .expect("journal_mode");
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&pool)
                .await
                .expect("synchronous");
            assert_eq!(sync, expected, "{durability:?}");
            pool.close().await;
        }
    }

    #[test]
    fn ids_are_random_and_prefixed() {
        let (a, b) = (new_id("lic"), new_id("lic"));
        assert!(a.starts_with("lic_") && a.len() == 28, "{a}");
        assert_ne!(a, b);
        assert_eq!(new_id("").len(), 24);
    }

    #[test]
    fn ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let early = Utc::now();
        let late = early + chrono::Duration::milliseconds(1);
        let (a, b) = (new_ordered_id("ev", early), new_ordered_id("ev", early));
        assert!(a.starts_with("ev_") && a.len() == 31, "{a}");
        assert_ne!(a, b);
        assert!(a.max(b) < new_ordered_id("ev", late));
        // A batch's ids: one each, all different, in time order across milliseconds.
        let batch = new_ordered_ids("ev", &[late, early, early]);
        assert_eq!(batch.len(), 3);
        assert!(batch.iter().all(|id| id.len() == 31));
        assert!(batch[1] != batch[2] && batch[1] < batch[0] && batch[2] < batch[0]);
    }

    /// A file that is not a database is told apart from an unreachable server by SQLite's own
    /// code (issue 26). (A pool would retry it until its timeout: the product database checks a
    /// file on a connection of its own first.)
    #[tokio::test]
    async fn a_damaged_sqlite_file_is_classified_by_its_code() {
        use sqlx::ConnectOptions as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x5a_u8; 8192]).expect("write");
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&garbage);
        let error = match options.connect().await {
            Ok(mut conn) => sqlx::query("SELECT count(*) FROM sqlite_master")
                .execute(&mut conn)
                .await
                .map(|_| ())
                .expect_err("a file of garbage"),
            Err(e) => e,
        };
        assert_eq!(classify(&error), Failure::Damaged, "{error}");
        assert_eq!(classify_sqlite_code(13), Failure::Full);
        assert_eq!(
            classify_sqlite_code(267),
            Failure::Damaged,
            "SQLITE_CORRUPT_VTAB"
        );
        assert_eq!(classify_sqlstate("53100"), Some(Failure::Full));
    }

    #[test]
    fn an_unknown_url_is_refused_with_a_reason() {
        assert_eq!(Engine::of_url("mysql://x"), None);
        assert_eq!(Engine::of_url("postgresql://x"), Some(Engine::Postgres));
    }
}
