//! Device registrations on real databases (SQLite file, PostgreSQL cluster): 64 devices
//! connecting at once, each new (it takes a license) or known (it keeps its own), with the pool
//! split among sites. Criterion reports time per registration over all clients, so
//! registrations per second = 1 / time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_client::Workstation;
use tenure_client::product_db::{AllocationChange, DeviceAnswer, GroupKind};
use tenure_core::allocation::Share;

mod support;

const CLIENTS: u64 = 64;

/// Runs `iters` registrations spread over 64 concurrent clients, the device ids from
/// `id(client, n)` with `n` counting every registration; returns the wall time.
async fn spread(
    ws: Arc<Workstation>,
    iters: u64,
    id: fn(u64, u64) -> String,
    next: Arc<AtomicU64>,
) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (ws, next) = (ws.clone(), next.clone());
            tokio::spawn(async move {
                let mut i = client;
                while i < iters {
                    let id = id(client, next.fetch_add(1, Ordering::Relaxed));
                    let answer = ws
                        .allocations()
                        .register_device(&id, "devices", Utc::now())
                        .await
                        .expect("registration");
                    assert!(matches!(answer, DeviceAnswer::Licensed { .. }), "{answer}");
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

fn registrations(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let world = support::World::start(&runtime);
    let (sandbox, cluster, data) = (&world.sandbox, &world.cluster, &world.data);
    let mut group = c.benchmark_group("allocations");
    group.sample_size(10);
    for (name, spec) in support::databases(data.path(), cluster, "devices") {
        let home = tempfile::tempdir().expect("dir");
        let mut terms = tenure_server::sandbox::sample_terms("Acme");
        terms.quantities = vec![
            "users:10:named".parse().expect("quantity"),
            "devices:10000000:device".parse().expect("quantity"),
        ];
        let ws = Arc::new(runtime.block_on(support::activated(
            sandbox,
            &format!("acme-{name}"),
            &terms,
            &spec,
            home.path(),
        )));
        // The pool split among ten sites, so every registration settles a plan.
        let changes: Vec<_> = (0..10)
            .flat_map(|i| {
                [
                    AllocationChange::AddGroup {
                        name: format!("site-{i}"),
                        kind: GroupKind::Site,
                        tenant: String::new(),
                    },
                    AllocationChange::Allocate {
                        quantity: "devices".into(),
                        group: format!("site-{i}"),
                        share: Some(Share::Fixed(1000)),
                    },
                ]
            })
            .collect();
        runtime
            .block_on(ws.allocations().save(None, &changes, None, Utc::now()))
            .expect("plan");
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("register_new_64_clients_{name}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                spread(ws.clone(), iters, |_, n| format!("new-{n}"), next.clone())
            });
        });
        // Known devices: the same 64 ids again and again, each keeping its license.
        group.bench_function(format!("register_known_64_clients_{name}"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                spread(
                    ws.clone(),
                    iters,
                    |client, _| format!("known-{client}"),
                    next.clone(),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, registrations);
criterion_main!(benches);
