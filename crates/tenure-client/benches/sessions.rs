//! Concurrent seats on real databases (SQLite file, PostgreSQL cluster): checkouts and
//! heartbeats with 64 clients at once, the time a refused checkout takes, and how long a seat
//! freed takes to reach the head of the line. Criterion reports time per operation over all
//! clients, so operations per second = 1 / time.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_client::product_db::{Activity, DbSpec};
use tenure_client::{SeatAnswer, SeatKeeper, Workstation};
use tenure_core::SeatKind;

mod support;

const CLIENTS: u64 = 64;

async fn pool(
    sandbox: &tenure_server::sandbox::Sandbox,
    account: &str,
    seats: u32,
    spec: &DbSpec,
    home: &std::path::Path,
) -> Workstation {
    let mut terms = tenure_server::sandbox::sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = seats;
    support::activated(sandbox, account, &terms, spec, home).await
}

/// Runs `iters` operations spread over 64 concurrent clients; returns the wall time.
async fn spread<F, Fut>(iters: u64, op: F) -> Duration
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut i = client;
                while i < iters {
                    op(client, i).await;
                    i += CLIENTS;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    start.elapsed()
}

#[expect(
    clippy::too_many_lines,
    reason = "one set-up per database, read top to bottom"
)]
fn sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let world = support::World::start(&runtime);
    let (sandbox, cluster, data) = (&world.sandbox, &world.cluster, &world.data);
    let specs = support::databases(data.path(), cluster, "prod");
    let mut group = c.benchmark_group("sessions");
    group.sample_size(10);
    for (name, spec) in specs {
        let home = tempfile::tempdir().expect("dir");
        let ws = Arc::new(runtime.block_on(pool(
            sandbox,
            &format!("acme-{name}"),
            1_000_000,
            &spec,
            home.path(),
        )));
        // Each checkout a new user: a new seat every time.
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("checkout_64_clients_{name}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (ws, next) = (ws.clone(), next.clone());
                async move {
                    spread(iters, move |_, _| {
                        let (ws, n) = (ws.clone(), next.fetch_add(1, Ordering::Relaxed));
                        async move {
                            let answer = ws
                                .concurrent_seats()
                                .checkout(&format!("u{n}"), "pc", Utc::now())
                                .await
                                .expect("checkout");
                            assert!(answer.session().is_some());
                        }
                    })
                    .await
                }
            });
        });
        // One session per client, renewed again and again.
        let ids: Arc<Vec<String>> = Arc::new(runtime.block_on(async {
            let mut ids = Vec::new();
            for client in 0..CLIENTS {
                let answer = ws
                    .concurrent_seats()
                    .checkout(&format!("hb{client}"), "pc", Utc::now())
                    .await
                    .expect("checkout");
                ids.push(answer.session().expect("seat").id.clone());
            }
            ids
        }));
        group.bench_function(format!("heartbeat_64_clients_{name}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (ws, ids) = (ws.clone(), ids.clone());
                async move {
                    spread(iters, move |client, _| {
                        let (ws, ids) = (ws.clone(), ids.clone());
                        async move {
                            let index = usize::try_from(client).unwrap_or(0);
                            ws.concurrent_seats()
                                .heartbeat(&ids[index], Activity::Active, Utc::now())
                                .await
                                .expect("heartbeat");
                        }
                    })
                    .await
                }
            });
        });

        // A full pool of one seat: the time a refusal takes (one client).
        let full_home = tempfile::tempdir().expect("dir");
        let full_spec = match &spec {
            DbSpec::Sqlite(_) => DbSpec::Sqlite(data.path().join("full.db")),
            DbSpec::Postgres(_) => DbSpec::Postgres(cluster.create_database("full")),
        };
        let full = runtime.block_on(async {
            let ws = pool(
                sandbox,
                &format!("full-{name}"),
                1,
                &full_spec,
                full_home.path(),
            )
            .await;
            ws.concurrent_seats()
                .checkout("holder", "pc", Utc::now())
                .await
                .expect("seat");
            ws
        });
        let full = Arc::new(full);
        group.bench_function(format!("handoff_to_the_head_of_the_line_{name}"), |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| handoffs(full.clone(), iters));
        });
        group.bench_function(format!("refused_checkout_{name}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let answer = full
                    .concurrent_seats()
                    .checkout("late", "pc2", Utc::now())
                    .await
                    .expect("answer");
                assert!(matches!(answer, SeatAnswer::Refused(_)));
                black_box(answer)
            });
        });
    }
    group.finish();
}

/// `iters` times: the seat's holder checks in while a waiter stands at the head of the line;
/// the time from the check-in to the waiter holding the seat. The waiter then gives it back
/// (not timed); the holder holds the seat again at the end.
async fn handoffs(ws: Arc<Workstation>, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let holder = ws
            .concurrent_seats()
            .checkout("holder", "pc", Utc::now())
            .await
            .expect("checkout");
        let holder = holder.session().expect("the holder's seat").id.clone();
        let waiting = tokio::spawn({
            let ws = ws.clone();
            async move {
                let keeper = SeatKeeper::wait(ws, "waiter", "pc-w", None, |_| {})
                    .await
                    .expect("wait")
                    .expect("a seat");
                (Instant::now(), keeper)
            }
        });
        while ws
            .concurrent_seats()
            .queue(Utc::now())
            .await
            .expect("queue")
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let freed = Instant::now();
        ws.concurrent_seats()
            .checkin(&holder, Utc::now())
            .await
            .expect("checkin");
        let (granted, keeper) = waiting.await.expect("waiter");
        total += granted - freed;
        keeper.release().await.expect("release");
    }
    // The pool full again, as the benches after this one expect.
    let holder = ws
        .concurrent_seats()
        .checkout("holder", "pc", Utc::now())
        .await
        .expect("checkout");
    assert!(holder.session().is_some());
    total
}

criterion_group!(benches, sessions);
criterion_main!(benches);
