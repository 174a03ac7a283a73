//! Criterion benchmarks of the workstation engine: opening the encrypted cache (read, decrypt,
//! verify the license inside) and computing a full status report. Secrets come from the
//! in-memory store so the figure is the engine's own work, not the keyring daemon's.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_client::cache::{Cache, CacheData};
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::signed::open_license;
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
    let mut ws = Workstation::open(Profile::at(home.path()), SecretStore::memory()).expect("open");
    ws.trust(&sandbox.public_key()).expect("trust");
    let api = tenure_client::ApiClient::new(&sandbox.url()).expect("client");
    let binding = ws.binding_for("srv1", "prod");
    runtime
        .block_on(ws.activate(&api, &issued.key, binding, Utc::now()))
        .expect("activate");

    c.bench_function("workstation_report", |b| {
        b.iter(|| ws.report(black_box(Utc::now())));
    });

    // The cache alone: decrypt, then verify the license it holds.
    let key = VendorKey::from_secret([3; 32]);
    let mut trusted = TrustedKeys::new();
    trusted.add(key.verifying_key());
    let text = key
        .sign(
            DocKind::License,
            &ws.license()
                .expect("cache")
                .expect("license")
                .value()
                .clone(),
        )
        .expect("sign");
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
            let license =
                open_license(data.license.as_deref().expect("license"), &trusted).expect("verify");
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

criterion_group!(client, benches);
criterion_main!(client);
