//! Opening the product database: the file checked, the pool opened, Tenure's tables created or
//! upgraded, the binding derived — and, for a start, the rows it reads first.
//!
//! All of it runs on the pool's first connection, held: a connection given back to the pool is
//! tested on a task before it can be taken again, and a statement sent meanwhile would open
//! another (on SQLite a thread, the file opened again, its schema read again).

use std::collections::BTreeMap;
use std::str::FromStr as _;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row as _};
use tenure_core::status::ClockMark;
use tenure_core::{Binding, ServerContext};
use tenure_storage::{Durability, PoolOptions};

use super::{
    DbError, DbSpec, MIGRATIONS, POSTGRES_DEFAULT_PORT, ProductDb, classify, sqlite_words,
};

/// Our own bookkeeping table, so a product that uses sqlx migrations itself is not disturbed.
const MIGRATIONS_TABLE: &str = "tenure_schema_migrations";

/// The rows a start reads before anything else, read on the connection that opened the
/// database.
#[derive(Debug)]
pub(crate) struct FirstRows {
    /// Its signed documents (revocation list, moved notice, release record) by name, as stored:
    /// unverified.
    pub documents: Result<BTreeMap<String, String>, DbError>,
    /// The license it holds, armored.
    pub license: Result<Option<String>, DbError>,
    /// Its copy of the clock mark.
    pub clock_mark: Result<Option<ClockMark>, DbError>,
    /// How many named seats are given.
    pub seats_held: Result<u64, DbError>,
}

impl ProductDb {
    /// Connects, creates or upgrades Tenure's tables, and derives the binding.
    pub async fn connect(spec: &DbSpec, local_host: &str) -> Result<Self, DbError> {
        Ok(Self::open(spec, local_host).await?.0)
    }

    /// [`Self::connect`], then reads the rows a start needs first on the same connection.
    pub(crate) async fn connect_reading(
        spec: &DbSpec,
        local_host: &str,
    ) -> Result<(Self, FirstRows), DbError> {
        let (db, mut conn) = Self::open(spec, local_host).await?;
        let rows = FirstRows::read(&mut conn).await;
        Ok((db, rows))
    }

    /// Opens the database, and hands back the connection that opened it, still held.
    async fn open(spec: &DbSpec, local_host: &str) -> Result<(Self, PoolConnection<Any>), DbError> {
        if let DbSpec::Sqlite(path) = spec {
            check_sqlite_file(path)?;
        }
        let options = PoolOptions {
            max_connections: if matches!(spec, DbSpec::Sqlite(_)) {
                4
            } else {
                8
            },
            durability: Durability::Normal,
            acquire_timeout: PoolOptions::PATIENT,
        };
        let held = tenure_storage::connect_held(&spec.url(), options)
            .await
            .map_err(|e| named(spec, &e))?;
        let mut conn = held.first;
        migrate(&mut conn, &held.pool).await?;
        let binding = derive_binding(spec, &mut conn, local_host).await?;
        let db = Self {
            pool: held.pool,
            spec: spec.clone(),
            binding,
            registrations: std::sync::Arc::default(),
            freed: super::freed::FreedSignal::default(),
        };
        Ok((db, conn))
    }
}

impl FirstRows {
    async fn read(conn: &mut AnyConnection) -> Self {
        let documents = sqlx::query("SELECT name, document FROM tenure_trust")
            .fetch_all(&mut *conn)
            .await
            .map(|rows| {
                rows.into_iter()
                    .map(|r| (r.get("name"), r.get("document")))
                    .collect()
            })
            .map_err(DbError::from);
        let license = super::read_license(&mut *conn).await;
        let clock_mark = sqlx::query("SELECT seen, reset FROM tenure_clock WHERE slot = 'mark'")
            .fetch_optional(&mut *conn)
            .await
            .map(|row| {
                let from_ms = tenure_storage::time_from_millis;
                row.map(|r| ClockMark {
                    seen: from_ms(r.get("seen")),
                    reset: from_ms(r.get("reset")),
                })
            })
            .map_err(DbError::from);
        let seats_held = super::users::count_seats(conn).await;
        Self {
            documents,
            license,
            clock_mark,
            seats_held,
        }
    }
}

/// A failure opening `spec`, in words that name the file when it is damaged.
fn named(spec: &DbSpec, e: &sqlx::Error) -> DbError {
    match (classify(e), spec) {
        (DbError::Damaged(_), DbSpec::Sqlite(path)) => DbError::Damaged(format!(
            "the product database {} is damaged ({})",
            path.display(),
            sqlite_words(e)
        )),
        (other, _) => other,
    }
}

/// Before the pool opens a SQLite file: a folder in its place is refused, and a file that is
/// not a database, or is shorter than its header says (cut off), is named as damaged — without
/// opening it, so nothing is written to it. Damage inside (a schema page) fails the pool's
/// first connection, which says so at once.
fn check_sqlite_file(path: &std::path::Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbError::BadSpec(format!("folder cannot be created: {e} ({})", dir.display()))
        })?;
    }
    let damaged = |detail: &str| {
        DbError::Damaged(format!(
            "the product database {} is damaged ({detail})",
            path.display()
        ))
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        return Err(DbError::BadSpec(format!(
            "{} is a folder, not a database file: give the file's path",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let header = read_header(path)
        .map_err(|e| DbError::BadSpec(format!("cannot be read: {e} ({})", path.display())))?;
    if !header.starts_with(b"SQLite format 3\0") {
        return Err(damaged("file is not a database"));
    }
    // Bytes 16-17: the page size (1 means 65,536); 24-27 and 92-95: the change counter and
    // the version the in-header size is valid for; 28-31: the size in pages.
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(word(28));
    if pages > 0 && word(24) == word(92) && meta.len() < page_size * pages && !changes_pending(path)
    {
        return Err(damaged(&format!(
            "the file is {} bytes, but its header says {}: it was cut off",
            meta.len(),
            page_size * pages
        )));
    }
    Ok(())
}

/// Whether a write-ahead log or a rollback journal beside the file holds changes: the file may
/// then be shorter than its header says while a checkpoint copies pages into it (another
/// process's, now, or one cut short by a crash, which SQLite finishes on opening it).
fn changes_pending(path: &std::path::Path) -> bool {
    ["-wal", "-journal"].iter().any(|suffix| {
        let mut beside = path.as_os_str().to_owned();
        beside.push(suffix);
        std::fs::metadata(beside).is_ok_and(|m| m.len() > 0)
    })
}

/// The first 100 bytes of a SQLite file (its header), zero-filled when shorter.
fn read_header(path: &std::path::Path) -> std::io::Result<[u8; 100]> {
    use std::io::Read as _;
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path)?;
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(header)
}

/// Creates or upgrades Tenure's tables. A database already at the latest step (every start
/// after the first) is told by one query on `conn` instead of the migrator's four; the
/// migrator, when needed, runs on the pool.
async fn migrate(conn: &mut AnyConnection, pool: &AnyPool) -> Result<(), DbError> {
    let latest = MIGRATIONS.iter().map(|step| step.version).max();
    let applied: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(sqlx::AssertSqlSafe(
        format!("SELECT MAX(version) FROM {MIGRATIONS_TABLE} WHERE success"),
    ))
    .fetch_one(&mut *conn)
    .await;
    if matches!(applied, Ok(version) if version == latest) {
        return Ok(());
    }
    tenure_storage::migrator(MIGRATIONS, Some(MIGRATIONS_TABLE))
        .run(pool)
        .await
        .map_err(|e| DbError::Migrate(e.to_string()))
}

async fn derive_binding(
    spec: &DbSpec,
    conn: &mut AnyConnection,
    local_host: &str,
) -> Result<Binding, DbError> {
    let ctx = ServerContext {
        local_host,
        default_port: Some(POSTGRES_DEFAULT_PORT),
    };
    match spec {
        DbSpec::Sqlite(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A SQLite file lives on this machine.
            Ok(Binding::new(local_host, &stem, ctx))
        }
        DbSpec::Postgres(url) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(|e| DbError::BadSpec(format!("URL is not valid: {e}")))?;
            let host = options.get_host();
            // A Unix socket folder means this machine.
            let host = if host.starts_with('/') {
                "localhost"
            } else {
                host
            };
            let server = format!("{host}:{}", options.get_port());
            let row = sqlx::query("SELECT current_database()::text")
                .fetch_one(conn)
                .await?;
            let database: String = row.try_get(0)?;
            Ok(Binding::new(&server, &database, ctx))
        }
    }
}
