//! The server's storage: one schema, on SQLite (a file, the default) or PostgreSQL (by URL).
//!
//! Both run through sqlx's `Any` driver with portable SQL (`$n` parameters, TEXT and BIGINT
//! columns, times as Unix seconds), so every query is written once and the same storage tests
//! run against both engines. Statements that must be atomic under concurrency are single
//! conditional `UPDATE`s whose affected-row count says whether they won.

mod batch;
mod borrows;
mod changes;
mod portal;
mod portal_users;
mod rows;
mod search;
mod staff;
mod usage;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};
use tenure_core::protocol::OverdraftDay;
use tenure_core::{Binding, LicenseTerms};
use tenure_storage::{Durability, Failure, PoolOptions, Step};

pub use batch::{EventRow, MAX_BATCH, Stamp, Stamped};
pub use borrows::{EARLY_RETURNS_PER_30_DAYS, EarlyReturn};
pub use portal::{AccountRow, PortalSessionRow};
pub use portal_users::PortalUserRow;
pub use rows::{FormerHolder, LicenseRow, RebindRow};
pub use search::{SEARCH_COUNT_CAP, Searched};
pub use staff::{ConsoleSessionRow, StaffRow};
pub use usage::{DayUsage, EventCursor, EventFilter, EventsPage, OutcomeFilter, UsageOf};
pub use webhooks::{Attempt, DeliveryRow, NewDelivery, WebhookRow};

/// Storage failures. Messages name the problem and what to do; no internals leak to clients
/// (the HTTP layer maps these to a generic 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the server database: {0}")]
    Open(String),
    /// A migration failed.
    #[error("cannot create or upgrade the server database schema: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("server database error: {0}")]
    Query(#[from] sqlx::Error),
    /// Stored data could not be decoded.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A batched write failed (the batch's error, shared by every request in it).
    #[error("server database error: {message}")]
    Batch {
        /// What the database said.
        message: String,
        /// What it means, from the engine's error code.
        failure: Failure,
    },
}

impl StoreError {
    /// What went wrong, in the terms an operator acts on: from the engine's own error codes
    /// (SQLite's result code, PostgreSQL's SQLSTATE), never from the words of a message.
    pub fn failure(&self) -> Failure {
        match self {
            StoreError::Open(_) | StoreError::Migrate(_) => Failure::Unreachable,
            StoreError::Query(e) => tenure_storage::classify(e),
            StoreError::Corrupt(_) => Failure::Damaged,
            StoreError::Batch { failure, .. } => *failure,
        }
    }

    fn batch(message: impl Into<String>) -> Self {
        StoreError::Batch {
            message: message.into(),
            failure: Failure::Other,
        }
    }
}

pub use tenure_storage::Engine;

/// The server store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// Where the writer connects (it may hold a password: never printed).
    url: Arc<str>,
    /// The group-commit writer for validations and usage events, with its own thread and
    /// connection: started by the first write that needs it (a CLI command that logs nothing
    /// never pays for it) or by [`Store::start_writer`].
    batcher: Arc<tokio::sync::OnceCell<batch::Batcher>>,
}

impl std::fmt::Debug for Store {
    /// Without the URL, which may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .field("writer_started", &self.batcher.initialized())
            .finish_non_exhaustive()
    }
}

/// The server's schema, step by step.
const MIGRATIONS: &[Step] = &[
    Step {
        version: 1,
        name: "init",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    Step {
        version: 2,
        name: "holder",
        sql: include_str!("../../migrations/0002_holder.sql"),
    },
    Step {
        version: 3,
        name: "signing identity",
        sql: include_str!("../../migrations/0003_signing_identity.sql"),
    },
    Step {
        version: 4,
        name: "account state",
        sql: include_str!("../../migrations/0004_account_state.sql"),
    },
    Step {
        version: 5,
        name: "usage daily",
        sql: include_str!("../../migrations/0005_usage_daily.sql"),
    },
    Step {
        version: 6,
        name: "key hash",
        sql: include_str!("../../migrations/0006_key_hash.sql"),
    },
    Step {
        version: 7,
        name: "events by time",
        sql: include_str!("../../migrations/0007_events_by_time.sql"),
    },
    Step {
        version: 8,
        name: "former holders",
        sql: include_str!("../../migrations/0008_former_holders.sql"),
    },
    Step {
        version: 9,
        name: "overdraft days",
        sql: include_str!("../../migrations/0009_overdraft_days.sql"),
    },
    Step {
        version: 10,
        name: "borrow revocations",
        sql: include_str!("../../migrations/0010_borrow_revocations.sql"),
    },
    Step {
        version: 11,
        name: "staff",
        sql: include_str!("../../migrations/0011_staff.sql"),
    },
    Step {
        version: 12,
        name: "portal sessions",
        sql: include_str!("../../migrations/0012_portal_sessions.sql"),
    },
    Step {
        version: 13,
        name: "webhooks",
        sql: include_str!("../../migrations/0013_webhooks.sql"),
    },
    Step {
        version: 14,
        name: "forgiven moves",
        sql: include_str!("../../migrations/0014_forgiven_moves.sql"),
    },
    Step {
        version: 15,
        name: "event counts",
        sql: include_str!("../../migrations/0015_event_counts.sql"),
    },
];

/// The steps after those whose SQL differs by engine.
const LATER_MIGRATIONS: &[Step] = &[Step {
    version: 17,
    name: "portal users",
    sql: include_str!("../../migrations/0017_portal_users.sql"),
}];

/// The steps one engine runs: [`MIGRATIONS`], then those whose SQL differs by engine (a
/// database is only ever one engine, so each keeps one checksum).
fn migrations(engine: Engine) -> Vec<Step> {
    let search_index = match engine {
        Engine::Sqlite => include_str!("../../migrations/0016_search_index.sqlite.sql"),
        Engine::Postgres => include_str!("../../migrations/0016_search_index.sql"),
    };
    let mut steps = MIGRATIONS.to_vec();
    steps.push(Step {
        version: 16,
        name: "search index",
        sql: search_index,
    });
    steps.extend_from_slice(LATER_MIGRATIONS);
    steps
}

/// `former_holders` after the holder is replaced by the parameter `$new` at `$at` (Unix
/// seconds, as text): the old holder goes first, the list is cut to eight entries. Every SET of
/// one UPDATE reads the row as it was, so `holder_key` here is the one being replaced.
macro_rules! former_holders_after {
    ($new:literal, $at:literal) => {
        concat!(
            "former_holders = CASE WHEN ",
            $new,
            " IS NULL OR holder_key IS NULL OR holder_key = ",
            $new,
            " THEN former_holders ELSE substr(holder_key || '@' || ",
            $at,
            " || COALESCE(' ' || former_holders, ''), 1, 607) END"
        )
    };
}

/// How long a request waits for a database connection before it is refused with 503: while
/// the database is down, requests fail within two seconds and health checks within one.
pub const DB_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn to_time(secs: i64) -> DateTime<Utc> {
    tenure_storage::time_from_secs(secs)
}

impl Store {
    /// Opens (creating if needed) the SQLite store `tenure-server.db` in `data_dir`.
    pub async fn open_sqlite_dir(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Open(format!(
                "cannot create the data folder: {e} ({})",
                data_dir.display()
            ))
        })?;
        let file = data_dir.join("tenure-server.db");
        private_file(&file)?;
        Self::open(&format!("sqlite://{}?mode=rwc", file.display())).await
    }

    /// Opens a store by URL: `sqlite://PATH?mode=rwc` or `postgres://…`. Every write it
    /// acknowledges is durable; group commit shares the flush among a batch of requests.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let max_connections = match Engine::of_url(url) {
            Some(Engine::Sqlite) => 8,
            _ => 16,
        };
        let options = PoolOptions {
            max_connections,
            durability: Durability::Full,
            acquire_timeout: DB_WAIT,
        };
        // Requests wait at most `DB_WAIT` for a connection, but a server starting beside its
        // database gives it the usual while to come up.
        let started = std::time::Instant::now();
        let (pool, engine) = loop {
            match tenure_storage::connect(url, options).await {
                Ok(connected) => break connected,
                Err(e)
                    if tenure_storage::classify(&e) == tenure_storage::Failure::Unreachable
                        && started.elapsed() < PoolOptions::PATIENT =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => return Err(StoreError::Open(describe_connect_error(&e))),
            }
        };
        tenure_storage::migrator(&migrations(engine), None)
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Self {
            pool,
            engine,
            url: url.into(),
            batcher: Arc::default(),
        })
    }

    /// Starts the group-commit writer now rather than at the first validation, so a server
    /// that cannot open the writer's connection says so as it starts.
    pub(crate) async fn start_writer(&self) -> Result<(), StoreError> {
        self.batcher().await.map(|_| ())
    }

    /// Whether the writer's thread and connection are running.
    pub fn writer_started(&self) -> bool {
        self.batcher.initialized()
    }

    async fn batcher(&self) -> Result<&batch::Batcher, StoreError> {
        self.batcher
            .get_or_try_init(|| batch::Batcher::start(&self.url))
            .await
    }

    /// Stamps a validation, only if the license is still bound to `binding`, to the holder
    /// proved, and not revoked, and logs it — committed with the other requests of its batch.
    pub async fn record_validation(
        &self,
        stamp: Stamp,
        event: EventRow,
    ) -> Result<Stamped, StoreError> {
        self.batcher().await?.write(Some(stamp), Some(event)).await
    }

    /// Creates an account with the SHA-256 of its token. `false` if the name is taken.
    pub(crate) async fn insert_account(
        &self,
        name: &str,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO accounts (name, token_sha256, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(token_sha256)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// An account's token hash, and whether it is disabled.
    pub(crate) async fn account(&self, name: &str) -> Result<Option<(String, bool)>, StoreError> {
        let row = sqlx::query("SELECT token_sha256, disabled FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                r.try_get("token_sha256")?,
                r.try_get::<i64, _>("disabled")? != 0,
            ))
        })
        .transpose()
    }

    /// Replaces an account's token hash (and enables it again). `false` for no such account.
    pub(crate) async fn set_account_token(
        &self,
        name: &str,
        token_sha256: &str,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE accounts SET token_sha256 = $1, disabled = 0 WHERE name = $2")
                .bind(token_sha256)
                .bind(name)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Disables an account: its token is refused from now on. `false` for no such account.
    pub(crate) async fn disable_account(&self, name: &str) -> Result<bool, StoreError> {
        self.set_flag("UPDATE accounts SET disabled = 1 WHERE name = $1", name)
            .await
    }

    /// Runs a one-row flag update keyed by `key`; `false` when no row has that key.
    async fn set_flag(&self, sql: &'static str, key: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(sql).bind(key).execute(&self.pool).await?;
        Ok(result.rows_affected() == 1)
    }

    /// Stores a new license under its key's hash. `false` if the key is taken (the caller draws
    /// another).
    pub(crate) async fn insert_license(
        &self,
        id: &str,
        key_hash: &str,
        key_last4: &str,
        account: &str,
        terms: &LicenseTerms,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let terms_ron = ron::to_string(terms).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = sqlx::query(
            "INSERT INTO licenses \
             (id, key_digits, key_last4, account, terms_ron, created_at, search_text) \
             VALUES ($1, $2, $6, $3, $4, $5, $7) ON CONFLICT (key_digits) DO NOTHING",
        )
        .bind(id)
        .bind(key_hash)
        .bind(account)
        .bind(terms_ron)
        .bind(now.timestamp())
        .bind(key_last4)
        .bind(search::search_text(id, account, &terms.customer))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces keys stored in plain digits (by an older server) with their keyed hash.
    /// Returns how many were replaced.
    pub(crate) async fn hash_plain_keys(
        &self,
        hasher: &crate::keyhash::KeyHasher,
    ) -> Result<usize, StoreError> {
        let plain =
            sqlx::query("SELECT id, key_digits FROM licenses WHERE key_digits NOT LIKE 'hmac:%'")
                .fetch_all(&self.pool)
                .await?;
        for row in &plain {
            let id: String = row.try_get("id")?;
            let digits: String = row.try_get("key_digits")?;
            sqlx::query("UPDATE licenses SET key_digits = $1, key_last4 = $2 WHERE id = $3")
                .bind(hasher.hash(&digits))
                .bind(crate::keyhash::last4(&digits))
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(plain.len())
    }

    /// Records `fingerprint` as the key-hash secret's, or checks it against the one recorded:
    /// `Err(recorded)` when another secret hashed this database's keys.
    pub(crate) async fn check_key_hash_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Result<(), String>, StoreError> {
        self.check_shared_setting("key_hash_fingerprint", fingerprint)
            .await
    }

    /// Records `value` as setting `name` if none is recorded, or checks it against the one
    /// recorded: `Err(recorded)` when every instance on this database must agree and this one
    /// does not.
    pub(crate) async fn check_shared_setting(
        &self,
        name: &str,
        value: &str,
    ) -> Result<Result<(), String>, StoreError> {
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        let recorded: String = row.try_get("value")?;
        Ok(if recorded == value {
            Ok(())
        } else {
            Err(recorded)
        })
    }

    /// Setting `name`, if one is recorded.
    pub(crate) async fn shared_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    /// Records `value` as setting `name`, replacing the one recorded.
    pub(crate) async fn set_shared_setting(
        &self,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A license by its key's hash.
    pub(crate) async fn license_by_key(
        &self,
        key_hash: &str,
    ) -> Result<Option<LicenseRow>, StoreError> {
        let row = sqlx::query(rows::SELECT_LICENSE_BY_KEY)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(LicenseRow::from_row).transpose()
    }

    /// A license by its id.
    pub async fn license_by_id(&self, id: &str) -> Result<Option<LicenseRow>, StoreError> {
        let row = sqlx::query(rows::SELECT_LICENSE_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(LicenseRow::from_row).transpose()
    }

    /// All licenses, or one account's, oldest first.
    pub(crate) async fn list_licenses(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<LicenseRow>, StoreError> {
        let rows: Vec<AnyRow> = match account {
            Some(account) => {
                sqlx::query(rows::SELECT_LICENSES_BY_ACCOUNT)
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(rows::SELECT_ALL_LICENSES)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(LicenseRow::from_row).collect()
    }

    /// Binds a license that was never activated and registers its holder's credential, in one
    /// statement. `false` when it is activated already (of two racing activations, one wins).
    pub(crate) async fn bind_if_free(
        &self,
        id: &str,
        binding: &Binding,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE licenses SET bound_server = $1, bound_database = $2, holder_key = $3, \
             activated_at = COALESCE(activated_at, $4), last_validated_at = $4 \
             WHERE id = $5 AND bound_server IS NULL",
        )
        .bind(&binding.server)
        .bind(&binding.database)
        .bind(holder)
        .bind(now.timestamp())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces the holder's credential of a license still bound to `binding` (a re-activation
    /// by the account, e.g. after the product database was lost).
    pub(crate) async fn replace_holder(
        &self,
        id: &str,
        binding: &Binding,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(concat!(
            "UPDATE licenses SET holder_key = $1, last_validated_at = $2, ",
            former_holders_after!("$1", "$6"),
            " WHERE id = $3 AND bound_server = $4 AND bound_database = $5"
        ))
        .bind(holder)
        .bind(now.timestamp())
        .bind(id)
        .bind(&binding.server)
        .bind(&binding.database)
        .bind(now.timestamp().to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Extends grace until `until` and stamps a validation, if still bound to `binding`.
    pub(crate) async fn extend_grace(
        &self,
        id: &str,
        binding: &Binding,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE licenses SET grace_extended_until = $1, last_validated_at = $2 \
             WHERE id = $3 AND bound_server = $4 AND bound_database = $5",
        )
        .bind(until.timestamp())
        .bind(now.timestamp())
        .bind(id)
        .bind(&binding.server)
        .bind(&binding.database)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Moves a license from `old` to `new` and records it, in one transaction. `false` when the
    /// license is no longer bound to `old` (another rebind won).
    pub(crate) async fn rebind(
        &self,
        rebind: &RebindRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(concat!(
            "UPDATE licenses SET bound_server = $1, bound_database = $2, last_validated_at = $3, \
             holder_key = COALESCE($7, holder_key), ",
            former_holders_after!("$7", "$8"),
            " WHERE id = $4 AND bound_server = $5 AND bound_database = $6"
        ))
        .bind(&rebind.new.server)
        .bind(&rebind.new.database)
        .bind(now.timestamp())
        .bind(&rebind.license_id)
        .bind(&rebind.old.server)
        .bind(&rebind.old.database)
        .bind(rebind.holder.as_deref())
        .bind(now.timestamp().to_string())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO rebinds (id, license_id, old_server, old_database, new_server, \
             new_database, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id("rb"))
        .bind(&rebind.license_id)
        .bind(&rebind.old.server)
        .bind(&rebind.old.database)
        .bind(&rebind.new.server)
        .bind(&rebind.new.database)
        .bind(&rebind.reason)
        .bind(rebind.at.timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Frees a license bound to `old` so its key can be activated elsewhere: the holder's
    /// credential joins the former ones (its next validation hears that the license moved), and
    /// the release is recorded as a move, in one transaction. `false` when it is no longer bound
    /// to `old`.
    pub(crate) async fn release(
        &self,
        license_id: &str,
        old: &Binding,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let freed = sqlx::query(concat!(
            "UPDATE licenses SET bound_server = NULL, bound_database = NULL, holder_key = NULL, ",
            "former_holders = CASE WHEN holder_key IS NULL THEN former_holders ELSE ",
            "substr(holder_key || '@' || $4 || COALESCE(' ' || former_holders, ''), 1, 607) END",
            " WHERE id = $1 AND bound_server = $2 AND bound_database = $3"
        ))
        .bind(license_id)
        .bind(&old.server)
        .bind(&old.database)
        .bind(now.timestamp().to_string())
        .execute(&mut *tx)
        .await?;
        if freed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO rebinds (id, license_id, old_server, old_database, new_server, \
             new_database, reason, at) VALUES ($1, $2, $3, $4, '', '', 'released', $5)",
        )
        .bind(new_id("rb"))
        .bind(license_id)
        .bind(&old.server)
        .bind(&old.database)
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Rebinds of a license since `since` that count against its limit (not forgiven), newest
    /// first.
    pub async fn rebinds_since(
        &self,
        license_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RebindRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT license_id, old_server, old_database, new_server, new_database, reason, at \
             FROM rebinds WHERE license_id = $1 AND at >= $2 AND forgiven_at IS NULL \
             ORDER BY at DESC",
        )
        .bind(license_id)
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(RebindRow::from_row).collect()
    }

    /// Revokes a license. `false` if there is no such license.
    pub(crate) async fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        self.set_flag("UPDATE licenses SET revoked = 1 WHERE id = $1", id)
            .await
    }

    /// Appends to the usage log (batched).
    pub async fn log_event(
        &self,
        license_id: Option<&str>,
        kind: &str,
        outcome: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let event = EventRow {
            license_id: license_id.map(str::to_owned),
            kind: kind.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.to_owned(),
            at: now,
            count: 1,
        };
        self.log_row(event).await
    }

    /// Appends one row to the usage log (batched), which may stand for several requests.
    pub async fn log_row(&self, event: EventRow) -> Result<(), StoreError> {
        self.batcher()
            .await?
            .write(None, Some(event))
            .await
            .map(|_| ())
    }

    /// Keeps the overdraft a license's workstation reported, day by day (a day reported again
    /// takes the new count).
    pub(crate) async fn record_overdraft(
        &self,
        license_id: &str,
        days: &[OverdraftDay],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for day in days {
            sqlx::query(
                "INSERT INTO overdraft_days (license_id, day, grants, reported_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (license_id, day) \
                 DO UPDATE SET grants = excluded.grants, reported_at = excluded.reported_at",
            )
            .bind(license_id)
            .bind(day_secs(day.day))
            .bind(i64::from(day.grants))
            .bind(now.timestamp())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The overdraft a license's workstation reported for days from `since`, oldest first.
    pub async fn overdraft_since(
        &self,
        license_id: &str,
        since: NaiveDate,
    ) -> Result<Vec<OverdraftDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, grants FROM overdraft_days WHERE license_id = $1 AND day >= $2 \
             ORDER BY day",
        )
        .bind(license_id)
        .bind(day_secs(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let day = DateTime::from_timestamp(row.try_get(0)?, 0)
                    .unwrap_or_default()
                    .date_naive();
                let grants = u32::try_from(row.try_get::<i64, _>(1)?).unwrap_or(u32::MAX);
                Ok(OverdraftDay { day, grants })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The signing key recorded as current for this database, with its certificate.
    pub async fn current_signing_key(
        &self,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT key_id, certificate FROM signing_keys WHERE current = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("key_id")?, r.try_get("certificate")?)))
            .transpose()
    }

    /// Records `key_id` (and its certificate, when given) as the current signing key, in one
    /// transaction: every other key stops being current.
    pub(crate) async fn record_signing_key(
        &self,
        key_id: &str,
        certificate: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET current = 0 WHERE key_id <> $1")
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO signing_keys (key_id, certificate, current, recorded_at) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (key_id) DO UPDATE SET current = 1, \
             certificate = COALESCE(excluded.certificate, signing_keys.certificate)",
        )
        .bind(key_id)
        .bind(certificate)
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the health probe row: `Err` when the database cannot take a write.
    pub(crate) async fn probe_write(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO health_probe (slot, at) VALUES ('probe', $1) \
             ON CONFLICT (slot) DO UPDATE SET at = excluded.at",
        )
        .bind(now.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rolls usage events from before `before` up into daily counts, and deletes them, in one
    /// transaction. Returns how many events were rolled up.
    pub async fn roll_up_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Postgres {
            // Instances rolling up at once take turns, so no event is counted twice (SQLite's
            // one writer already serialises them).
            sqlx::query("LOCK TABLE usage_daily IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO usage_daily (license_id, day, kind, outcome, count) \
             SELECT COALESCE(license_id, ''), at / 86400, kind, outcome, SUM(count) \
             FROM usage_events WHERE at < $1 \
             GROUP BY COALESCE(license_id, ''), at / 86400, kind, outcome \
             ON CONFLICT (license_id, day, kind, outcome) \
             DO UPDATE SET count = usage_daily.count + excluded.count",
        )
        .bind(before.timestamp())
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM usage_events WHERE at < $1")
            .bind(before.timestamp())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected())
    }

    /// Usage of one kind and outcome for a license, rolled up and not, in all.
    pub async fn total_events(
        &self,
        license_id: &str,
        kind: &str,
        outcome: &str,
    ) -> Result<i64, StoreError> {
        let rolled = self
            .event_count(
                "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM usage_daily \
                 WHERE license_id = $1 AND kind = $2 AND outcome = $3",
                license_id,
                kind,
                outcome,
            )
            .await?;
        Ok(rolled + self.count_events(license_id, kind, outcome).await?)
    }

    /// Rows in the usage log (not yet rolled up), of every license and none.
    pub async fn event_rows(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM usage_events")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Counts usage events of one kind and outcome for a license.
    pub async fn count_events(
        &self,
        license_id: &str,
        kind: &str,
        outcome: &str,
    ) -> Result<i64, StoreError> {
        self.event_count(
            "SELECT COUNT(*) FROM usage_events WHERE license_id = $1 AND kind = $2 AND outcome = $3",
            license_id,
            kind,
            outcome,
        )
        .await
    }

    /// Runs a count over usage by license, kind and outcome (`$1`, `$2`, `$3`).
    async fn event_count(
        &self,
        sql: &'static str,
        license_id: &str,
        kind: &str,
        outcome: &str,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(sql)
            .bind(license_id)
            .bind(kind)
            .bind(outcome)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// Creates the database file readable by its owner only (SQLite gives its `-wal` and `-shm`
/// files the same permissions), and the folder owner-only too.
fn private_file(file: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Open(format!("{e} ({})", file.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if let Some(dir) = file.parent() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(file)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    #[cfg(not(unix))]
    let _ = (file, io);
    Ok(())
}

pub use tenure_storage::new_id;
pub use tenure_storage::new_ordered_id;

fn describe_connect_error(e: &sqlx::Error) -> String {
    let text = e.to_string();
    match tenure_storage::classify(e) {
        Failure::Auth => format!("the database refused the user name or password ({text})"),
        Failure::Missing => format!("the database does not exist: create it first ({text})"),
        Failure::Unreachable => {
            format!("the database server is not running or not reachable at that address ({text})")
        }
        Failure::Damaged => format!("the database is damaged: restore it from a backup ({text})"),
        Failure::Full => format!("the database's disk is full ({text})"),
        Failure::Other => text,
    }
}

/// A day as stored: its UTC midnight in Unix seconds.
fn day_secs(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
}
