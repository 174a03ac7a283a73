//! Whether a refused activation's time tells a stranger that a key exists (issue 25): refused
//! activations of a key that is in use elsewhere, alternating with keys that do not exist, one
//! at a time over loopback HTTP to the real server, on SQLite and PostgreSQL. Prints the median
//! and 90th percentile of each and their ratio, measured in the same run.
//!
//! `cargo bench -p tenure-server --bench refusals` (`-- sqlite` or `-- postgres` for one).

use std::time::{Duration, Instant};

use tenure_core::possession::Credential;
use tenure_core::{LicenseKey, VendorKey};
use tenure_server::http::limit::ActivationLimits;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_server::{AppState, Store};

const ROUNDS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn run(label: &str, store: Store) {
    let sandbox = Sandbox::start_with(store, VendorKey::from_secret([1; 32]), |vendor, token| {
        AppState::new(vendor, token).with_activation_limits(ActivationLimits {
            per_address_per_minute: 1_000_000,
            per_address_burst: 1_000_000,
            global_per_second: 1_000_000,
            global_burst: 1_000_000,
        })
    })
    .await
    .expect("server");
    let issued = sandbox
        .issue("acme", &sample_terms("Acme"))
        .await
        .expect("license");
    let client = reqwest::Client::new();
    let url = format!("{}/v1/activations", sandbox.url());
    let owner = Credential::from_secret([2; 32]).public_hex();
    let stranger = Credential::from_secret([3; 32]).public_hex();
    let body = |key: &str, holder: &str| {
        serde_json::json!({"key": key, "binding": {"server": "srv1", "database": "prod"},
                           "nonce": "n", "holder": holder})
    };
    let first = client
        .post(&url)
        .json(&body(&issued.key, &owner))
        .send()
        .await
        .expect("activate");
    assert!(first.status().is_success(), "{}", first.status());
    let (mut known, mut unknown) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for i in 0..ROUNDS {
        let mut random = [9u8; 12];
        random[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let guess = LicenseKey::from_random_digits(random).to_string();
        for (key, times) in [
            (issued.key.as_str(), &mut known),
            (guess.as_str(), &mut unknown),
        ] {
            let started = Instant::now();
            let response = client
                .post(&url)
                .json(&body(key, &stranger))
                .send()
                .await
                .expect("send");
            let status = response.status();
            let _ = response.bytes().await;
            times.push(started.elapsed());
            assert_eq!(status.as_u16(), 403, "refused");
        }
    }
    known.sort();
    unknown.sort();
    let (k50, u50) = (percentile(&known, 0.5), percentile(&unknown, 0.5));
    println!(
        "{label}: refused activation, key in use elsewhere: median {:.0} µs, p90 {:.0} µs; \
         unknown key: median {:.0} µs, p90 {:.0} µs; medians' ratio {:.2}",
        k50.as_secs_f64() * 1e6,
        percentile(&known, 0.9).as_secs_f64() * 1e6,
        u50.as_secs_f64() * 1e6,
        percentile(&unknown, 0.9).as_secs_f64() * 1e6,
        k50.as_secs_f64() / u50.as_secs_f64()
    );
}

fn wanted(store: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| ["sqlite", "postgres"].contains(&a.as_str()))
        .collect();
    named.is_empty() || named.iter().any(|a| a == store)
}

fn main() {
    tenure_server::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        if wanted("sqlite") {
            run(
                "SQLite",
                Store::open_sqlite_dir(dir.path()).await.expect("sqlite"),
            )
            .await;
        }
        if wanted("postgres") {
            let cluster = tenure_testkit::PgCluster::start();
            let store = Store::open(&cluster.create_database("refusals"))
                .await
                .expect("postgres");
            run("PostgreSQL", store).await;
        }
    });
}
