//! SIGTERM while validations pour in: the server stops taking connections, lets the requests in
//! flight finish, and every validation it acknowledged is in the database afterwards. Its
//! metrics, meanwhile, are on the metrics listener (`TENURE_SERVER_METRICS_LISTEN`), not the API's.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tenure_core::Binding;
use tenure_core::possession::{Credential, ProofAction};

pub mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_loses_no_acknowledged_validation() {
    let dir = tempfile::tempdir().unwrap();
    let (license_id, key) = support::acme_license(dir.path());
    let (mut server, port, metrics_port) = start_server(dir.path());
    let base = format!("http://127.0.0.1:{port}");
    tenure_server::install_crypto_provider();
    let http = reqwest::Client::new();
    let holder = Credential::from_secret([9; 32]);
    let binding = Binding {
        server: "srv1".into(),
        database: "prod".into(),
    };
    let activated = http
        .post(format!("{base}/v1/activations"))
        .json(&json!({"key": key, "binding": binding, "nonce": "a", "holder": holder.public_hex()}))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 200);

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..32)
        .map(|c| {
            let (http, base, holder) = (http.clone(), base.clone(), holder.clone());
            let (license_id, binding) = (license_id.clone(), binding.clone());
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let nonce = format!("c{c}-{i}");
                    let body = json!({"license_id": license_id, "binding": binding, "nonce": nonce,
                        "proof": holder.prove(ProofAction::Validate, &license_id, &binding, &nonce)});
                    let Ok(response) = http
                        .post(format!("{base}/v1/validations"))
                        .json(&body)
                        .send()
                        .await
                    else {
                        break;
                    };
                    if response.status() != 200 || response.bytes().await.is_err() {
                        break;
                    }
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    metrics_are_on_their_own_listener(&http, &base, metrics_port).await;
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for client in clients {
        client.await.unwrap();
    }
    let status = server.wait().unwrap();
    assert!(status.success(), "a clean stop: {status}");

    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(
        acknowledged > 0,
        "validations were answered before the stop"
    );
    let store = tenure_server::Store::open_sqlite_dir(dir.path())
        .await
        .unwrap();
    let stored = store
        .count_events(&license_id, "validation", "ok")
        .await
        .unwrap();
    assert!(
        usize::try_from(stored).unwrap() >= acknowledged,
        "{acknowledged} validations acknowledged, {stored} stored"
    );
}

/// `/metrics` answers on the metrics listener, counting the validations, and not on the API's.
async fn metrics_are_on_their_own_listener(http: &reqwest::Client, base: &str, metrics_port: u16) {
    let on_api = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(on_api.status(), 404, "metrics are not on the API's address");
    let metrics = http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tenure_http_requests_total")
                && l.contains("route=\"/v1/validations\"")
                && l.contains("status=\"200\"")),
        "validations counted on the metrics listener:\n{metrics}"
    );
}

/// `serve` on free loopback ports, metrics on their own (from the environment, as a container
/// would set it); returns once the API takes connections.
fn start_server(dir: &std::path::Path) -> (std::process::Child, u16, u16) {
    let port = tenure_testkit::free_port();
    let metrics_port = tenure_testkit::free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_tenure-server"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env(
            "TENURE_SERVER_METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port, metrics_port)
}
