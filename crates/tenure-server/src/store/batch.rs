//! Group commit: validations and the usage events they write are gathered by one writer task and
//! committed together, one transaction per batch, so the cost of a durable commit (an fsync on
//! SQLite, a WAL flush on PostgreSQL) is shared by every request in the batch. A request is
//! answered only after its batch committed.
//!
//! The writer takes whatever is waiting (up to [`MAX_BATCH`]) and commits it while the next batch
//! gathers. When the last batch held more than one request (requests are arriving together), it
//! first lets [`GATHER`] pass, so a commit's fixed cost (the fsync, the statements) is shared by
//! more of them. Under light load a batch is one request and waits for nothing.
//!
//! How a batch is written differs by engine ([`sqlite`], [`postgres`]); what it writes, and what
//! its requests learn, is here.

mod postgres;
mod sqlite;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenure_core::Binding;
use tokio::sync::{mpsc, oneshot};

use tenure_storage::{Durability, PoolOptions, new_ordered_ids};

use super::{Engine, NewDelivery, StoreError, describe_connect_error};
use tenure_storage::Failure;

/// The most requests in one transaction.
pub const MAX_BATCH: usize = 512;
/// How long a batch gathers once requests arrive together (tokio's timer counts milliseconds).
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);
/// Requests waiting for the writer before senders wait too (backpressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// One row of the usage log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    /// How many requests it stands for: 1, or a minute's refusals of one kind and reason.
    pub count: u64,
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
    /// Webhook deliveries owed, and when.
    owed: Option<(Vec<NewDelivery>, DateTime<Utc>)>,
    done: oneshot::Sender<Result<Stamped, (String, Failure)>>,
}

/// The handle requests send their writes through.
#[derive(Debug, Clone)]
pub(super) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

/// The writer's own connection.
enum Connection {
    /// Called directly on the writer's thread: sqlx's SQLite driver would run each statement on
    /// a thread of its own and hand the result back, two thread switches per statement, and on a
    /// busy machine each switch waits for a core.
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::AnyPool),
}

impl Connection {
    async fn open(url: &str) -> Result<Self, String> {
        if Engine::of_url(url) == Some(Engine::Sqlite) {
            return sqlite::open(url).map(Self::Sqlite);
        }
        let options = PoolOptions {
            max_connections: 1,
            durability: Durability::Full,
            acquire_timeout: super::DB_WAIT,
        };
        match tenure_storage::connect(url, options).await {
            Ok((pool, _)) => Ok(Self::Postgres(pool)),
            Err(e) => Err(describe_connect_error(&e)),
        }
    }

    async fn commit(&mut self, batch: &Batch) -> Result<Matched, StoreError> {
        match self {
            Self::Sqlite(conn) => sqlite::commit(conn, batch),
            Self::Postgres(pool) => postgres::commit(pool, batch).await,
        }
    }

    async fn close(self) {
        match self {
            Self::Sqlite(conn) => drop(conn),
            Self::Postgres(pool) => pool.close().await,
        }
    }
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
                match Connection::open(&url).await {
                    Ok(mut connection) => {
                        let _ = ready.send(Ok(()));
                        run(&mut connection, receiver).await;
                        connection.close().await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
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
        self.send(stamp, event, None).await
    }

    /// Queues webhook deliveries owed at `now` and waits until their batch committed: they
    /// share its one commit instead of taking the writer for one of their own.
    pub(super) async fn owe(
        &self,
        owed: Vec<NewDelivery>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.send(None, None, Some((owed, now))).await.map(|_| ())
    }

    async fn send(
        &self,
        stamp: Option<Stamp>,
        event: Option<EventRow>,
        owed: Option<(Vec<NewDelivery>, DateTime<Utc>)>,
    ) -> Result<Stamped, StoreError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                stamp,
                event,
                owed,
                done,
            })
            .await
            .map_err(|_| StoreError::batch("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::batch("the database writer has stopped"))?
            .map_err(|(message, failure)| StoreError::Batch { message, failure })
    }
}

async fn run(connection: &mut Connection, mut receiver: mpsc::Receiver<Job>) {
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
        let outcome = match Batch::of(&jobs) {
            Ok(batch) => connection.commit(&batch).await,
            Err(e) => Err(e),
        };
        crate::metrics::batch_committed(jobs.len(), started.elapsed(), outcome.is_ok());
        match outcome {
            Ok(matched) => {
                crate::outage::current().answered();
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
                // Each request answers 503; the outage is logged once, where it starts and
                // ends (`crate::outage`), not once per batch.
                tracing::debug!(error = %e, batch = jobs.len(), "a batch of writes failed");
                let failure = e.failure();
                let text = match e {
                    StoreError::Batch { message, .. } => message,
                    other => other.to_string(),
                };
                for job in jobs.drain(..) {
                    let _ = job.done.send(Err((text.clone(), failure)));
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
/// its terms) in the log on every request. SQLite's writer applies it in Rust, PostgreSQL's in
/// its one statement, both with this figure.
const STAMP_EVERY_SECS: i64 = 60;

/// One batch as the statements read it. Its rows travel as JSON parameters, so each statement is
/// the same text whatever the batch size: prepared once per connection, with one bind instead of
/// five or six per row.
struct Batch {
    /// The stamps asked, as [`AskedRow`]s, and the time they stamp (the batch's latest); `None`
    /// when no request in the batch stamps.
    stamps: Option<(String, i64)>,
    /// The usage events, as [`EventJson`]s; `None` when there are none.
    events: Option<String>,
    /// The webhook deliveries owed, as [`DeliveryJson`]s; `None` when there are none.
    deliveries: Option<String>,
}

/// A stamp as the match statements read it (`id`, `srv`, `db`, `holder`).
#[derive(Serialize)]
struct AskedRow<'a> {
    id: &'a str,
    srv: &'a str,
    db: &'a str,
    holder: &'a str,
}

/// A usage event as the insert statements read it.
#[derive(Serialize)]
struct EventJson<'a> {
    id: String,
    license: Option<&'a str>,
    kind: &'a str,
    outcome: &'a str,
    detail: &'a str,
    at: i64,
    n: u64,
}

/// A webhook delivery owed, as the insert statements read it.
#[derive(Serialize)]
struct DeliveryJson<'a> {
    id: String,
    hook: &'a str,
    event: &'a str,
    body: &'a str,
    dedup: Option<&'a str>,
    at: i64,
}

fn to_json(rows: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::batch(e.to_string()))
}

/// Rows as the statements read them, or `None` when there are none (the statement is skipped).
fn rows_json(rows: &[impl Serialize]) -> Result<Option<String>, StoreError> {
    if rows.is_empty() {
        Ok(None)
    } else {
        to_json(&rows).map(Some)
    }
}

impl Batch {
    fn of(jobs: &[Job]) -> Result<Self, StoreError> {
        let stamps: Vec<&Stamp> = jobs.iter().filter_map(|j| j.stamp.as_ref()).collect();
        let stamps = match stamps.iter().map(|s| s.at).max() {
            None => None,
            Some(at) => {
                let asked: Vec<AskedRow<'_>> = stamps
                    .iter()
                    .map(|s| AskedRow {
                        id: &s.license_id,
                        srv: &s.binding.server,
                        db: &s.binding.database,
                        holder: &s.holder,
                    })
                    .collect();
                Some((to_json(&asked)?, at.timestamp()))
            }
        };
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
                n: e.count,
            })
            .collect();
        let events = rows_json(&events)?;
        let owed: Vec<(&NewDelivery, DateTime<Utc>)> = jobs
            .iter()
            .filter_map(|j| j.owed.as_ref())
            .flat_map(|(owed, at)| owed.iter().map(|d| (d, *at)))
            .collect();
        let times: Vec<DateTime<Utc>> = owed.iter().map(|(_, at)| *at).collect();
        let deliveries: Vec<DeliveryJson<'_>> = owed
            .iter()
            .zip(new_ordered_ids("whd", &times))
            .map(|((d, at), id)| DeliveryJson {
                id,
                hook: &d.webhook_id,
                event: &d.event,
                body: &d.body,
                dedup: d.dedup_key.as_deref(),
                at: at.timestamp(),
            })
            .collect();
        Ok(Self {
            stamps,
            events,
            deliveries: rows_json(&deliveries)?,
        })
    }
}

/// A license the match statement found still bound where a request came from, to the holder it
/// proved, and not revoked.
struct Found {
    id: String,
    binding: Binding,
    grace_extended_until: Option<i64>,
}

/// What the licenses found tell the batch's requests.
fn matched_of(found: impl IntoIterator<Item = Found>) -> Matched {
    found
        .into_iter()
        .map(|row| {
            let grace = row.grace_extended_until.map(super::to_time);
            (row.id, (row.binding, grace))
        })
        .collect()
}
