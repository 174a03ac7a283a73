//! Load benchmark of the real server over loopback: `POST /v1/validations` per second and its
//! p50/p99 latency with 64 concurrent clients on SQLite, next to a bare `GET /v1/health` in the
//! same run. Bounded in time and count; only 127.0.0.1 is contacted.
//!
//! Run with `cargo bench -p tenure-server --bench load`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tenure_core::Binding;
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{ActivationRequest, ValidationRequest};
use tenure_server::sandbox::{Sandbox, sample_terms};

const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(5);
const MAX_REQUESTS_PER_CLIENT: usize = 20_000;

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn phase<F, Fut>(make_request: F) -> Figures
where
    F: Fn(reqwest::Client) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make_request = Arc::new(make_request);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let make_request = make_request.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut errors = 0;
            while start.elapsed() < PHASE && latencies.len() < MAX_REQUESTS_PER_CLIENT {
                let t = Instant::now();
                if !make_request(client.clone()).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.expect("client task");
        all.extend(latencies);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a sorted sample"
        )]
        let i = ((all.len() as f64 - 1.0) * q).round() as usize;
        all.get(i).copied().unwrap_or_default()
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "request counts are far below 2^52"
    )]
    let per_sec = all.len() as f64 / elapsed;
    Figures {
        per_sec,
        p50: pick(0.50),
        p99: pick(0.99),
        errors,
    }
}

fn main() {
    tenure_server::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let sandbox = Sandbox::start_sqlite(dir.path()).await.expect("server");
        let issued = sandbox
            .issue("acme", &sample_terms("Acme"))
            .await
            .expect("license");
        let url = sandbox.url();
        let binding = Binding {
            server: "srv1".into(),
            database: "prod".into(),
        };
        let http = reqwest::Client::new();
        let credential = Credential::from_secret([7; 32]);
        http.post(format!("{url}/v1/activations"))
            .json(&ActivationRequest {
                key: issued.key.clone(),
                binding: binding.clone(),
                nonce: "n".into(),
                holder: credential.public_hex(),
            })
            .send()
            .await
            .expect("activate")
            .error_for_status()
            .expect("activated");

        let health_url = format!("{url}/v1/health");
        let health = phase(move |client| {
            let health_url = health_url.clone();
            async move {
                client
                    .get(&health_url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;

        let validate_url = format!("{url}/v1/validations");
        let license_id = issued.license_id.clone();
        let validations = phase(move |client| {
            let nonce = "0123456789abcdef";
            let request = ValidationRequest {
                license_id: license_id.clone(),
                binding: binding.clone(),
                nonce: nonce.into(),
                proof: credential.prove(ProofAction::Validate, &license_id, &binding, nonce),
            };
            let validate_url = validate_url.clone();
            async move {
                client
                    .post(&validate_url)
                    .json(&request)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;

        println!(
            "load benchmark: {CLIENTS} concurrent clients, {} s per phase, SQLite store, loopback",
            PHASE.as_secs()
        );
        for (name, f) in [
            ("GET /v1/health", &health),
            ("POST /v1/validations", &validations),
        ] {
            println!(
                "{name:<22} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
                f.per_sec,
                f.p50.as_secs_f64() * 1e3,
                f.p99.as_secs_f64() * 1e3,
                f.errors
            );
        }
        println!(
            "validations / health throughput ratio: {:.3}",
            validations.per_sec / health.per_sec
        );
    });
}
