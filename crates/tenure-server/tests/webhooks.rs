//! Webhooks end to end, on SQLite and PostgreSQL: a real receiver on loopback that fails its
//! first post, the server's delivery worker retrying it, every post's signature checked here
//! with an HMAC of our own, the delivery log, a replay, a removed webhook owed nothing more,
//! and `grace.ending` owed once when a license's grace nears its end.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac as _};
use tenure_server::Store;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_testkit::PgCluster;

/// One post the receiver took: its event, delivery id, signature and body.
#[derive(Debug, Clone)]
struct Post {
    event: String,
    delivery: String,
    signature: String,
    body: String,
}

/// A receiver on loopback that answers 500 to its first post and 200 after: its URL and the
/// posts it got (the failed one included).
async fn receiver() -> (String, Arc<Mutex<Vec<Post>>>) {
    let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
    let kept = posts.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut posts = kept.lock().unwrap();
                posts.push(Post {
                    event: header("tenure-event"),
                    delivery: header("tenure-delivery"),
                    signature: header("tenure-signature"),
                    body,
                });
                if posts.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, posts)
}

/// Waits up to 20 s for the posts to hold what `done` looks for.
async fn wait_for(posts: &Arc<Mutex<Vec<Post>>>, what: &str, done: impl Fn(&[Post]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&posts.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "no {what}: {:#?}",
            posts.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The signature a receiver expects, computed here apart from the server's code.
fn signed_by(secret: &str, post: &Post) -> bool {
    let (t, v1) = post.signature.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", post.body).as_bytes());
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    hex::encode(mac.finalize().into_bytes()) == v1 && age.abs() < 300
}

async fn webhooks_hold(sandbox: &Sandbox) {
    let (url, posts) = receiver().await;
    let vendor = sandbox.vendor();
    let added = vendor.webhooks().add(&url, &[], "the test").await.unwrap();
    assert!(added.secret.starts_with("whsec_"));

    // Created: the first post fails, the retry half a second later is taken.
    let issued = sandbox.issue("rig7", &sample_terms("Rig 7")).await.unwrap();
    wait_for(&posts, "license.created taken", |p| p.len() >= 2).await;
    let taken = posts.lock().unwrap().clone();
    assert_eq!(
        taken[0].delivery, taken[1].delivery,
        "the same delivery, tried again"
    );
    assert_eq!(taken[1].event, "license.created");
    assert!(taken[1].body.contains(&issued.license_id));
    assert!(signed_by(&added.secret, &taken[1]), "{:?}", taken[1]);
    assert!(!signed_by("whsec_another", &taken[1]));
    assert!(tenure_server::webhooks::verify(
        &added.secret,
        &taken[1].signature,
        &taken[1].body,
        chrono::Utc::now()
    ));

    // The log says so: two tries, delivered, answered 200.
    let log = vendor.webhooks().deliveries(Some(&added.id)).await.unwrap();
    let created = log.iter().find(|d| d.event == "license.created").unwrap();
    assert_eq!(created.attempts, 2);
    assert!(created.delivered_at.is_some());
    assert_eq!(created.last_status.as_deref(), Some("200"));

    // Revoked, and a replay of the creation: both posted, signed.
    vendor
        .licenses()
        .revoke_as(&issued.license_id, "staff ana")
        .await
        .unwrap();
    vendor
        .webhooks()
        .replay(&created.id, "the test")
        .await
        .unwrap();
    wait_for(&posts, "license.revoked and the replay", |p| {
        p.iter().any(|p| p.event == "license.revoked")
            && p.iter().filter(|p| p.event == "license.created").count() >= 3
    })
    .await;
    assert!(
        posts
            .lock()
            .unwrap()
            .iter()
            .all(|p| signed_by(&added.secret, p))
    );

    // Removed: a license created now is owed to no one.
    vendor
        .webhooks()
        .remove(&added.id, "the test")
        .await
        .unwrap();
    let before = posts.lock().unwrap().len();
    sandbox
        .issue_more("rig7", &sample_terms("Rig 7"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(posts.lock().unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_hold_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    webhooks_hold(&sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_hold_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_webhooks");
    let sandbox = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    webhooks_hold(&sandbox).await;
}

/// A license activated with 30 days of grace, the server's clock 25 days on: `grace.ending`
/// is owed, once however often the hourly scan runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_ending_is_owed_once() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let (url, posts) = receiver().await;
    let added = sandbox
        .vendor()
        .webhooks()
        .add(&url, &["grace.ending".parse().unwrap()], "the test")
        .await
        .unwrap();
    let issued = sandbox.issue("rig7", &sample_terms("Rig 7")).await.unwrap();
    let holder = tenure_core::possession::Credential::from_secret([7; 32]);
    tenure_server::install_crypto_provider();
    let activated = reqwest::Client::new()
        .post(format!("{}/v1/activations", sandbox.url()))
        .json(&serde_json::json!({
            "key": issued.key,
            "binding": { "server": "db1", "database": "rig" },
            "nonce": "n1",
            "holder": holder.public_hex(),
        }))
        .send()
        .await
        .unwrap();
    assert!(
        activated.status().is_success(),
        "{}",
        activated.text().await.unwrap()
    );
    sandbox.set_clock_offset(chrono::Duration::days(25));
    for _ in 0..3 {
        tenure_server::webhooks::owe_grace_endings(sandbox.vendor()).await;
    }
    wait_for(&posts, "grace.ending taken", |p| p.len() >= 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let posts = posts.lock().unwrap().clone();
    assert!(
        posts.iter().all(|p| p.event == "grace.ending"),
        "{posts:#?}"
    );
    let deliveries: std::collections::BTreeSet<&str> =
        posts.iter().map(|p| p.delivery.as_str()).collect();
    assert_eq!(deliveries.len(), 1, "owed once: {posts:#?}");
    assert!(posts[1].body.contains(&issued.license_id));
    // Signed at the server's clock, 25 days on.
    let server_now = chrono::Utc::now() + chrono::Duration::days(25);
    assert!(tenure_server::webhooks::verify(
        &added.secret,
        &posts[1].signature,
        &posts[1].body,
        server_now
    ));
}
