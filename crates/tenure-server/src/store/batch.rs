//! Group commit: validations and the usage events they write are gathered by one writer task and
//! committed together, one transaction per batch, so the cost of a durable commit (an fsync on
//! SQLite, a WAL flush on PostgreSQL) is shared by every request in the batch. A request is
//! answered only after its batch committed.
//!
//! The writer takes whatever is waiting (up to [`MAX_BATCH`]) and commits it while the next batch
//! gathers. When the last batch held more than one request (requests are arriving together), it
//! first lets [`GATHER`] pass, so a commit's fixed cost (the fsync, the statements) is shared by
//! more of them. Under light load a batch is one request and waits for nothing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;
use tenure_core::Binding;
use tokio::sync::{mpsc, oneshot};

use sqlx::AnyPool;
use tenure_storage::{Durability, PoolOptions, new_ordered_ids};

use super::{Engine, StoreError, describe_connect_error};

/// The most requests in one transaction.
pub const MAX_BATCH: usize = 512;
/// How long a batch gathers once requests arrive together (tokio's timer counts milliseconds).
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);
/// Requests waiting for the writer before senders wait too (backpressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// One row of the usage log.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// The license, if known.
    pub license_id: Option<String>,
    /// "validation", "activation", ….
    pub kind: String,
    /// "ok", "refused_…".
    pub outcome: String,
    /// Where (the binding), in words.
    pub detail: String,
    /// When (server clock).
    pub at: DateTime<Utc>,
}

/// A validation's write: stamp the license if it is still bound here, to the same holder, and
/// not revoked — checked in the write itself, so a request may be judged on a cached copy of
/// the license and still never stamp one that changed.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The license.
    pub license_id: String,
    /// Where the request came from: the stamp applies only if the license is bound there.
    pub binding: Binding,
    /// The holder credential the request proved.
    pub holder: String,
    /// When (server clock).
    pub at: DateTime<Utc>,
}

/// What became of a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamped {
    /// The license was stamped; the grace extension in force, if any.
    Yes {
        /// From the license row, as committed.
        grace_extended_until: Option<DateTime<Utc>>,
    },
    /// The license is no longer bound there, to that holder, or it was revoked.
    No,
}

/// What one request asks the writer to do.
#[derive(Debug)]
struct Job {
    stamp: Option<Stamp>,
    event: Option<EventRow>,
    done: oneshot::Sender<Result<Stamped, String>>,
}

/// The handle requests send their writes through.
#[derive(Debug, Clone)]
pub(super) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the writer on a thread of its own with its own connection to `url`, so a commit
    /// never waits for a turn on the async threads behind requests being signed and verified.
    pub(super) async fn start(url: &str) -> Result<Self, StoreError> {
        let (jobs, receiver) = mpsc::channel(QUEUE);
        let (ready, started) = oneshot::channel();
        let url = url.to_owned();
        let writer = move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(format!("cannot start the database writer: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let options = PoolOptions {
                    max_connections: 1,
                    durability: Durability::Full,
                };
                match tenure_storage::connect(&url, options).await {
                    Ok((pool, engine)) => {
                        let _ = ready.send(Ok(()));
                        run(&pool, engine, receiver).await;
                        pool.close().await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(describe_connect_error(&e)));
                    }
                }
            });
        };
        std::thread::Builder::new()
            .name("tenure-writer".into())
            .spawn(writer)
            .map_err(|e| StoreError::Open(format!("cannot start the database writer: {e}")))?;
        started
            .await
            .map_err(|_| StoreError::Open("the database writer stopped as it started".into()))?
            .map_err(StoreError::Open)?;
        Ok(Self { jobs })
    }

    /// Queues a write and waits until its batch committed. An event alone is always `Yes`.
    pub(super) async fn write(
        &self,
        stamp: Option<Stamp>,
        event: Option<EventRow>,
    ) -> Result<Stamped, StoreError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { stamp, event, done })
            .await
            .map_err(|_| StoreError::Batch("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Batch("the database writer has stopped".into()))?
            .map_err(StoreError::Batch)
    }
}

async fn run(pool: &AnyPool, engine: Engine, mut receiver: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut last = 0;
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        if last > 1 && jobs.len() < MAX_BATCH {
            tokio::time::sleep(GATHER).await;
            while jobs.len() < MAX_BATCH
                && let Ok(job) = receiver.try_recv()
            {
                jobs.push(job);
            }
        }
        last = jobs.len();
        let started = std::time::Instant::now();
        let outcome = commit(pool, engine, &jobs).await;
        crate::metrics::batch_committed(jobs.len(), started.elapsed(), outcome.is_ok());
        match outcome {
            Ok(matched) => {
                for job in jobs.drain(..) {
                    let answer = match &job.stamp {
                        None => Stamped::Yes {
                            grace_extended_until: None,
                        },
                        Some(s) => matched
                            .get(&s.license_id)
                            .filter(|(binding, _)| *binding == s.binding)
                            .map_or(Stamped::No, |(_, grace)| Stamped::Yes {
                                grace_extended_until: *grace,
                            }),
                    };
                    let _ = job.done.send(Ok(answer));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = jobs.len(), "a batch of writes failed");
                let text = e.to_string();
                for job in jobs.drain(..) {
                    let _ = job.done.send(Err(text.clone()));
                }
            }
        }
    }
}

/// What a batch stamped, by license: where it is bound, and the grace extension in force. A
/// request is stamped when its license is here with the binding it came from.
type Matched = HashMap<String, (Binding, Option<DateTime<Utc>>)>;

/// A license's `last_validated_at` is rewritten at most this often: it says when a license was
/// last seen, to the minute. Rewriting it on every validation rewrote the license's page (with
/// its terms) in the log on every request.
const STAMP_EVERY_SECS: i64 = 60;

/// A batch's three statements in one engine's SQL. The batch's rows travel as one JSON
/// parameter, so each statement is the same text whatever the batch size: prepared once per
/// connection, with one bind instead of five or six per row. The engines differ only in how
/// they read JSON rows: SQLite's `jsonb_each` parses the text once and hands each row over in
/// its binary form, where `json_each` gave each row back as text that every `->>` parsed again.
struct Statements {
    /// The requests' licenses that are still bound where the request came from, to the holder
    /// it proved, and not revoked (a rebind, a re-activation or a revocation may have come
    /// meanwhile).
    matching: &'static str,
    /// Rewrites `last_validated_at` of the licenses listed.
    restamp: &'static str,
    /// Inserts the usage events.
    events: &'static str,
}

const SQLITE: Statements = Statements {
    matching: "SELECT l.id, l.bound_server, l.bound_database, \
     l.grace_extended_until, l.last_validated_at FROM licenses l JOIN \
     (SELECT value->>'id' AS id, value->>'srv' AS srv, value->>'db' AS db, \
     value->>'holder' AS holder FROM jsonb_each($1)) AS v \
     ON l.id = v.id AND l.bound_server = v.srv AND l.bound_database = v.db \
     AND l.holder_key = v.holder WHERE l.revoked = 0",
    restamp: "UPDATE licenses SET last_validated_at = $1 \
     WHERE id IN (SELECT value FROM jsonb_each($2))",
    events: "INSERT INTO usage_events (id, license_id, kind, outcome, detail, at) \
     SELECT value->>'id', value->>'license', value->>'kind', value->>'outcome', \
     value->>'detail', value->>'at' FROM jsonb_each($1)",
};

const POSTGRES: Statements = Statements {
    matching: "SELECT l.id, l.bound_server, l.bound_database, \
     l.grace_extended_until, l.last_validated_at FROM licenses l JOIN \
     json_to_recordset($1::json) AS v(id TEXT, srv TEXT, db TEXT, holder TEXT) \
     ON l.id = v.id AND l.bound_server = v.srv AND l.bound_database = v.db \
     AND l.holder_key = v.holder WHERE l.revoked = 0",
    restamp: "UPDATE licenses SET last_validated_at = $1 \
     WHERE id IN (SELECT json_array_elements_text($2::json))",
    events: "INSERT INTO usage_events (id, license_id, kind, outcome, detail, at) \
     SELECT id, license, kind, outcome, detail, at FROM json_to_recordset($1::json) \
     AS v(id TEXT, license TEXT, kind TEXT, outcome TEXT, detail TEXT, at BIGINT)",
};

/// A stamp as the match statement reads it (field names as in [`Statements::matching`]).
#[derive(Serialize)]
struct AskedRow<'a> {
    id: &'a str,
    srv: &'a str,
    db: &'a str,
    holder: &'a str,
}

/// A usage event as the insert reads it (field names as in [`Statements::events`]).
#[derive(Serialize)]
struct EventJson<'a> {
    id: String,
    license: Option<&'a str>,
    kind: &'a str,
    outcome: &'a str,
    detail: &'a str,
    at: i64,
}

fn to_json(rows: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::Batch(e.to_string()))
}

/// Writes one batch in one transaction; returns what it stamped.
async fn commit(pool: &AnyPool, engine: Engine, jobs: &[Job]) -> Result<Matched, StoreError> {
    let sqlite = engine == Engine::Sqlite;
    let sql = if sqlite { &SQLITE } else { &POSTGRES };
    // On SQLite the writer's lock is taken at the start, so what the match reads cannot change
    // before the commit (and the commit cannot fail on a snapshot another writer moved). On
    // PostgreSQL the match is the moment the validation takes effect, as if it came just before
    // a rebind or revocation that commits meanwhile.
    let mut tx = if sqlite {
        pool.begin_with("BEGIN IMMEDIATE").await?
    } else {
        pool.begin().await?
    };
    let stamps: Vec<&Stamp> = jobs.iter().filter_map(|j| j.stamp.as_ref()).collect();
    let mut matched = Matched::new();
    if let Some(at) = stamps.iter().map(|s| s.at).max() {
        let asked: Vec<AskedRow<'_>> = stamps
            .iter()
            .map(|s| AskedRow {
                id: &s.license_id,
                srv: &s.binding.server,
                db: &s.binding.database,
                holder: &s.holder,
            })
            .collect();
        let rows = sqlx::query(sql.matching)
            .bind(to_json(&asked)?)
            .fetch_all(&mut *tx)
            .await?;
        let mut stale = BTreeSet::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            let last = row.try_get::<Option<i64>, _>("last_validated_at")?;
            if last.is_none_or(|last| at.timestamp() - last >= STAMP_EVERY_SECS) {
                stale.insert(id.clone());
            }
            let binding = Binding {
                server: row.try_get("bound_server")?,
                database: row.try_get("bound_database")?,
            };
            let grace = row
                .try_get::<Option<i64>, _>("grace_extended_until")?
                .map(super::to_time);
            matched.insert(id, (binding, grace));
        }
        if !stale.is_empty() {
            sqlx::query(sql.restamp)
                .bind(at.timestamp())
                .bind(to_json(&stale)?)
                .execute(&mut *tx)
                .await?;
        }
    }
    let logged: Vec<&EventRow> = jobs.iter().filter_map(|j| j.event.as_ref()).collect();
    let times: Vec<DateTime<Utc>> = logged.iter().map(|e| e.at).collect();
    let events: Vec<EventJson<'_>> = logged
        .iter()
        .zip(new_ordered_ids("ev", &times))
        .map(|(e, id)| EventJson {
            id,
            license: e.license_id.as_deref(),
            kind: &e.kind,
            outcome: &e.outcome,
            detail: &e.detail,
            at: e.at.timestamp(),
        })
        .collect();
    if !events.is_empty() {
        sqlx::query(sql.events)
            .bind(to_json(&events)?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(matched)
}
