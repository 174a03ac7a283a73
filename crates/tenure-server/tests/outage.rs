//! Issue 26: PostgreSQL stops under a running server. Health says so within a second (503
//! naming the database), every request is refused within two with 503 and `Retry-After`, and
//! once the database is back the same process serves again — no restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tenure_core::Binding;
use tenure_core::possession::{Credential, ProofAction};
use tenure_server::Store;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_testkit::PgCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_fast_and_ends_without_a_restart() {
    let cluster = PgCluster::start();
    let store = Store::open(&cluster.create_database("tenure"))
        .await
        .unwrap();
    let sandbox = Sandbox::start(store).await.unwrap();
    let issued = sandbox.issue("acme", &sample_terms("Acme")).await.unwrap();
    tenure_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let holder = Credential::from_secret([4; 32]);
    let at = Binding {
        server: "srv1".into(),
        database: "prod".into(),
    };
    let activated = client
        .post(format!("{}/v1/activations", sandbox.url()))
        .json(&json!({"key": issued.key, "binding": at, "nonce": "n0",
                      "holder": holder.public_hex()}))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), StatusCode::OK);
    let validate = async |nonce: &str| {
        let proof = holder.prove(ProofAction::Validate, &issued.license_id, &at, nonce);
        let started = Instant::now();
        let response = client
            .post(format!("{}/v1/validations", sandbox.url()))
            .json(
                &json!({"license_id": issued.license_id, "binding": at, "nonce": nonce,
                          "proof": proof}),
            )
            .send()
            .await
            .unwrap();
        (response, started.elapsed())
    };
    let health = async || {
        let started = Instant::now();
        let response = client
            .get(format!("{}/v1/health", sandbox.url()))
            .send()
            .await
            .unwrap();
        (response, started.elapsed())
    };
    assert_eq!(validate("n1").await.0.status(), StatusCode::OK);

    cluster.stop();
    for round in 0..3 {
        let (response, took) = health().await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["database"].as_str().unwrap().contains("database"),
            "{body}"
        );
        assert!(took < Duration::from_secs(1), "health took {took:?}");
        let (response, took) = validate(&format!("down{round}")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "storage_unavailable");
        assert!(took < Duration::from_secs(2), "a validation took {took:?}");
    }

    cluster.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if health().await.0.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "health never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(validate("up").await.0.status(), StatusCode::OK);
}
