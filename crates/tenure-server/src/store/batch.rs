//! Group commit: validations and the usage events they write are gathered by one writer task and
//! committed together, one transaction per batch, so the cost of a durable commit (an fsync on
//! SQLite, a WAL flush on PostgreSQL) is shared by every request in the batch. A request is
//! answered only after its batch committed.
//!
//! The writer adds no delay of its own: it takes whatever is waiting (up to [`MAX_BATCH`]),
//! commits it, and meanwhile the next batch gathers. Under light load a batch is one request.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sqlx::Row as _;
use tenure_core::Binding;
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError, new_ordered_id};

/// The most requests in one transaction (SQLite allows 32,766 parameters; this uses 6 each).
pub const MAX_BATCH: usize = 512;
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
    /// Starts the writer task for `store` on the current runtime.
    pub(super) fn start(store: Store) -> Self {
        let (jobs, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, receiver));
        Self { jobs }
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

async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let outcome = commit(&store, &jobs).await;
        crate::metrics::batch_committed(jobs.len(), started.elapsed(), outcome.is_ok());
        match outcome {
            Ok(matched) => {
                for job in jobs.drain(..) {
                    let answer = match &job.stamp {
                        None => Stamped::Yes {
                            grace_extended_until: None,
                        },
                        Some(s) => matched
                            .iter()
                            .find(|(id, binding, _)| *id == s.license_id && *binding == s.binding)
                            .map_or(Stamped::No, |(_, _, grace)| Stamped::Yes {
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

/// What a batch stamped: license, binding, and the grace extension in force.
type Matched = Vec<(String, Binding, Option<DateTime<Utc>>)>;

/// Writes one batch in one transaction; returns what it stamped.
async fn commit(store: &Store, jobs: &[Job]) -> Result<Matched, StoreError> {
    let mut tx = store.pool.begin().await?;
    let stamps: Vec<&Stamp> = jobs.iter().filter_map(|j| j.stamp.as_ref()).collect();
    let mut matched = Vec::new();
    if !stamps.is_empty() {
        // One statement for the whole batch: the license is stamped only where it is still
        // bound to the binding the request came from, to the holder it proved, and not revoked
        // (a rebind, a re-activation or a revocation may have come meanwhile).
        let mut sql =
            String::from("UPDATE licenses SET last_validated_at = v.column4 FROM (VALUES ");
        for i in 0..stamps.len() {
            let n = i * 5;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, CAST(${} AS BIGINT), ${})",
                if i == 0 { "" } else { ", " },
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            );
        }
        sql.push_str(
            ") AS v WHERE licenses.id = v.column1 AND licenses.bound_server = v.column2 \
             AND licenses.bound_database = v.column3 AND licenses.holder_key = v.column5 \
             AND licenses.revoked = 0 \
             RETURNING licenses.id, licenses.bound_server, licenses.bound_database, \
             licenses.grace_extended_until",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for stamp in &stamps {
            query = query
                .bind(&stamp.license_id)
                .bind(&stamp.binding.server)
                .bind(&stamp.binding.database)
                .bind(stamp.at.timestamp())
                .bind(&stamp.holder);
        }
        for row in query.fetch_all(&mut *tx).await? {
            matched.push((
                row.try_get::<String, _>("id")?,
                Binding {
                    server: row.try_get("bound_server")?,
                    database: row.try_get("bound_database")?,
                },
                row.try_get::<Option<i64>, _>("grace_extended_until")?
                    .map(super::to_time),
            ));
        }
    }
    let events: Vec<&EventRow> = jobs.iter().filter_map(|j| j.event.as_ref()).collect();
    if !events.is_empty() {
        let mut sql = String::from(
            "INSERT INTO usage_events (id, license_id, kind, outcome, detail, at) VALUES ",
        );
        for i in 0..events.len() {
            let n = i * 6;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, ${}, ${}, ${})",
                if i == 0 { "" } else { ", " },
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6
            );
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in &events {
            query = query
                .bind(new_ordered_id("ev", event.at))
                .bind(event.license_id.as_deref())
                .bind(&event.kind)
                .bind(&event.outcome)
                .bind(&event.detail)
                .bind(event.at.timestamp());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(matched)
}
