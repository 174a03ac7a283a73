//! Criterion benchmarks of the workstation engine: opening the encrypted cache (read, decrypt,
//! verify the license inside) and computing a full status report. Secrets come from the
//! in-memory store so the figure is the engine's own work, not the keyring daemon's.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_client::cache::{Cache, CacheData};
use tenure_client::product_db::{DbSpec, ProductDb};
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::{Binding, DocKind, TrustedKeys, VendorKey};

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server_dir = tempfile::tempdir().expect("dir");
    let sandbox = runtime
        .block_on(tenure_server::sandbox::Sandbox::start_sqlite(
            server_dir.path(),
        ))
        .expect("server");
    let issued = runtime
        .block_on(sandbox.issue("acme", &tenure_server::sandbox::sample_terms("Acme")))
        .expect("license");
    let home = tempfile::tempdir().expect("dir");
    let mut ws = Workstation::open(
        Profile::at(home.path()),
        SecretStore::memory(),
        tenure_client::Roots::pinned_from_text(&sandbox.root_public_key()).expect("roots"),
    )
    .expect("open");
    let api = tenure_client::ApiClient::new(&sandbox.url()).expect("client");
    let binding = ws.database().binding_for("srv1", "prod");
    runtime
        .block_on(ws.activate(&api, &issued.key, binding, Utc::now()))
        .expect("activate");

    c.bench_function("workstation_report", |b| {
        b.iter(|| ws.report(black_box(Utc::now())));
    });

    // The cache alone: decrypt, then verify the license it holds (and its signer's certificate).
    let trust = tenure_core::Trust::new(
        tenure_core::trust::parse_roots(&sandbox.root_public_key()).expect("roots"),
    );
    let text = ws
        .license()
        .expect("cache")
        .expect("license")
        .text()
        .to_owned();
    let secrets = SecretStore::memory();
    let cache = Cache::new(home.path().join("bench-cache.bin"), secrets);
    cache
        .save(&CacheData {
            license: Some(text),
            ..CacheData::default()
        })
        .expect("save");
    c.bench_function("cache_open_decrypt_verify", |b| {
        b.iter(|| {
            let data = cache.load().expect("load");
            let license = trust
                .open_license(data.license.as_deref().expect("license"))
                .expect("verify");
            black_box(
                license.binding
                    == Binding {
                        server: String::new(),
                        database: String::new(),
                    },
            )
        });
    });
}

/// The work done at every app start: open the product database (pool + migrations check),
/// read and verify the license it holds, compute the status — on SQLite and on PostgreSQL.
fn startup(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let key = VendorKey::from_secret([5; 32]);
    let root = VendorKey::from_secret([6; 32]);
    let mut roots = TrustedKeys::new();
    roots.add(root.verifying_key());
    let trust = tenure_core::Trust::new(roots);
    let now = Utc::now();
    let certificate = root
        .certify(
            &key.verifying_key(),
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(365),
            now,
            "bench",
            90,
        )
        .expect("certify");
    let cluster = tenure_testkit::PgCluster::start();
    let data = tempfile::tempdir().expect("dir");
    let specs = [
        ("sqlite", DbSpec::Sqlite(data.path().join("prod.db"))),
        (
            "postgres",
            DbSpec::Postgres(cluster.create_database("prod")),
        ),
    ];
    for (name, spec) in specs {
        let license = runtime.block_on(async {
            let db = ProductDb::connect(&spec, "ws1").await.expect("connect");
            let mut terms = tenure_server::sandbox::sample_terms("Acme");
            terms.modules.clear();
            let license = tenure_core::License {
                id: "lic_bench".into(),
                account: "acme".into(),
                terms,
                grace_days: 30,
                binding: db.binding().clone(),
                issued_at: Utc::now(),
                validated_at: Utc::now(),
                nonce: "n".into(),
                revoked_borrows: Vec::new(),
            };
            let text = tenure_core::trust::bundle(
                &key.sign(DocKind::License, &license).expect("sign"),
                &certificate,
            );
            db.save_license("lic_bench", &text, Utc::now(), Utc::now())
                .await
                .expect("save");
            text
        });
        drop(license);
        c.bench_function(&format!("startup_open_read_verify_status_{name}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let db = ProductDb::connect(&spec, "ws1").await.expect("connect");
                let text = db.load_license().await.expect("read").expect("license");
                let license = trust.open_license(&text).expect("verify");
                let status =
                    tenure_core::status(Some(&license), Some(db.binding()), Utc::now(), None);
                db.pool().close().await;
                black_box(status)
            });
        });
    }
}

criterion_group!(client, benches, startup);
criterion_main!(client);
