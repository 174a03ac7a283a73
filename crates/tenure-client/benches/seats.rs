//! Named seats on real databases (SQLite file, PostgreSQL cluster) with 10,000 users: saving
//! 1,000 assignment changes in one save, and `authorize` on a warm connection.

use std::cell::Cell;
use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_core::directory::Change;

mod support;

const USERS: usize = 10_000;
const CHANGES: usize = 1_000;

fn login(i: usize) -> String {
    format!("user{i:05}")
}

fn seats(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let world = support::World::start(&runtime);
    let (sandbox, cluster, data) = (&world.sandbox, &world.cluster, &world.data);
    let mut terms = tenure_server::sandbox::sample_terms("Acme");
    terms.seats = u32::try_from(CHANGES + 10).expect("seats");
    for (name, spec) in support::databases(data.path(), cluster, "prod") {
        let home = tempfile::tempdir().expect("dir");
        let ws = runtime.block_on(async {
            let account = format!("acme-{name}");
            let ws = support::activated(sandbox, &account, &terms, &spec, home.path()).await;
            let mut users: Vec<Change> = (0..USERS)
                .map(|i| Change::Add {
                    login: login(i),
                    name: format!("User {i}"),
                    email: format!("{}@example.com", login(i)),
                })
                .collect();
            users.push(Change::Assign { login: login(0) });
            ws.named_seats()
                .change_users(&users, Utc::now())
                .await
                .expect("users");
            ws
        });

        // Alternately give and take back 1,000 seats: each save is one transaction that reads
        // the 10,000 users, applies and trims, and writes the 1,000 seat rows and events.
        let give = Cell::new(true);
        let mut group = c.benchmark_group("seats");
        group.sample_size(10);
        group.bench_function(format!("save_1000_assignment_changes_{name}"), |b| {
            b.to_async(&runtime).iter(|| {
                let changes: Vec<Change> = (1..=CHANGES)
                    .map(|i| {
                        if give.get() {
                            Change::Assign { login: login(i) }
                        } else {
                            Change::Unassign { login: login(i) }
                        }
                    })
                    .collect();
                give.set(!give.get());
                let ws = &ws;
                async move {
                    black_box(
                        ws.named_seats()
                            .change_users(&changes, Utc::now())
                            .await
                            .expect("save"),
                    )
                }
            });
        });
        group.finish();

        c.bench_function(&format!("authorize_warm_{name}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let answer = ws
                    .named_seats()
                    .authorize(&login(0), Utc::now())
                    .await
                    .expect("authorize");
                assert!(answer.is_granted());
                black_box(answer)
            });
        });
    }
}

criterion_group!(benches, seats);
criterion_main!(benches);
