//! The HTTP API through `app()`, and once over a real loopback socket.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tenure_core::VendorKey;
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::CreateLicenseRequest;
use tenure_server::{AppState, Store, Vendor, system_clock};
use tower::ServiceExt as _;

const ADMIN: &str = "test-admin-token";

async fn state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let key = VendorKey::from_secret([1; 32]);
    let now = chrono::Utc::now();
    let certificate = root()
        .certify(
            &key.verifying_key(),
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
            now,
            "test",
            90,
        )
        .unwrap();
    let vendor =
        Vendor::new(store, key, system_clock()).with_trust_documents(Some(certificate), None);
    (AppState::new(vendor, ADMIN), dir)
}

/// The test vendor's root.
fn root() -> VendorKey {
    VendorKey::from_secret([2; 32])
}

/// What a product pinning the test root trusts.
fn trust() -> tenure_core::Trust {
    let mut roots = tenure_core::TrustedKeys::new();
    roots.add(root().verifying_key());
    tenure_core::Trust::new(roots)
}

/// A workstation's activation credential, as hex: its public half.
fn holder() -> Credential {
    Credential::from_secret([7; 32])
}

async fn call(
    state: &AppState,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let request = request
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .unwrap();
    let response = tenure_server::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn license_body(account: &str) -> String {
    json!({
        "account": account,
        "terms": {
            "customer": "Acme", "kind": "named", "seats": 10, "grace_days": 30, "max_grace_days": 60,
            "validity": {"starts": "2026-01-01", "expires": "2099-12-31"},
            "activation_mode": "online", "modules": [], "max_borrow_days": 14,
            "max_rebinds_per_30_days": 3, "lease_secs": 300
        }
    })
    .to_string()
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn admin_creates_license_and_client_activates() {
    let (state, _dir) = state().await;
    let (status, _) = call(
        &state,
        "POST",
        "/v1/admin/licenses",
        Some(&license_body("acme")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &state,
        "POST",
        "/v1/admin/licenses",
        Some(&license_body("acme")),
        Some("wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(
        &state,
        "POST",
        "/v1/admin/licenses",
        Some(&license_body("nobody")),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, account) = call(
        &state,
        "POST",
        "/v1/admin/accounts",
        Some(r#"{"name":"acme"}"#),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let account_token = format!("acme:{}", account["token"].as_str().unwrap());
    let (status, created) = call(
        &state,
        "POST",
        "/v1/admin/licenses",
        Some(&license_body("acme")),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let key = created["key"].as_str().unwrap();
    assert_eq!(key.len(), 16, "shown as 1234-5678-9012-3");

    let activation = |server: &str, holder: &Credential| {
        json!({"key": key, "binding": {"server": server, "database": "prod"}, "nonce": "abc",
               "holder": holder.public_hex()})
        .to_string()
    };
    let (status, body) = call(
        &state,
        "POST",
        "/v1/activations",
        Some(&activation("srv1", &holder())),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = body["license"].as_str().unwrap();
    assert!(text.starts_with("-----BEGIN TENURE LICENSE-----"));
    assert!(text.contains("-----BEGIN TENURE KEY CERTIFICATE-----"));
    let license = trust().open_license(text).unwrap();

    // A stranger holding the key learns nothing: not where it is bound, not that it exists.
    let stranger = Credential::from_secret([8; 32]);
    let (status, refused) = call(
        &state,
        "POST",
        "/v1/activations",
        Some(&activation("srv2", &stranger)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["error"], "cannot_activate");
    assert!(!refused.to_string().contains("srv1"), "{refused}");
    let unknown =
        json!({"key": "0000-0000-0000-0", "binding": {"server": "srv2", "database": "prod"},
                         "nonce": "abc", "holder": stranger.public_hex()})
        .to_string();
    let (status, refused_unknown) =
        call(&state, "POST", "/v1/activations", Some(&unknown), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused_unknown, refused,
        "the same answer as for an unknown key"
    );
    // Nor can a license id plus its binding validate without the credential's proof.
    let at = tenure_core::Binding {
        server: "srv1".into(),
        database: "prod".into(),
    };
    let validation = |proof: String| {
        json!({"license_id": license.id, "binding": at, "nonce": "n2", "proof": proof}).to_string()
    };
    let stolen = validation(stranger.prove(ProofAction::Validate, &license.id, &at, "n2"));
    let (status, refused) = call(&state, "POST", "/v1/validations", Some(&stolen), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    let genuine = validation(holder().prove(ProofAction::Validate, &license.id, &at, "n2"));
    let (status, body) = call(&state, "POST", "/v1/validations", Some(&genuine), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // With the account's credentials, the owner activates the key again: a new credential.
    let (status, body) = call(
        &state,
        "POST",
        "/v1/activations",
        Some(&activation("srv1", &stranger)),
        Some(&account_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The old credential validates nothing now: it hears, signed, that the license moved
    // (issue 25), and nothing of where.
    let (status, moved) = call(&state, "POST", "/v1/validations", Some(&genuine), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{moved}");
    assert_eq!(moved["error"], "moved");
    let notice = trust()
        .open_moved_notice(moved["notice"].as_str().unwrap())
        .unwrap();
    assert_eq!(notice.license_id, license.id);
    assert_eq!(notice.nonce, "n2");
    assert_eq!(notice.holder, holder().public_hex());
    assert!(!moved.to_string().contains("srv2"), "{moved}");

    let (status, list) = call(
        &state,
        "GET",
        "/v1/account/licenses",
        None,
        Some(&account_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &state,
        "GET",
        "/v1/account/licenses",
        None,
        Some("acme:wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_error_never_a_500() {
    let (state, _dir) = state().await;
    let cases: [(&str, &str); 6] = [
        ("/v1/activations", "{not json"),
        (
            "/v1/activations",
            r#"{"key": 5, "binding": {}, "nonce": "x"}"#,
        ),
        (
            "/v1/activations",
            r#"{"key": "12", "binding": {"server":"a","database":"b"}, "nonce": "x"}"#,
        ),
        (
            "/v1/activations",
            r#"{"key": "0000000000000", "binding": {"server":"","database":"b"}, "nonce": "x"}"#,
        ),
        (
            "/v1/validations",
            r#"{"license_id": "nope", "binding": {"server":"a","database":"b"}, "nonce": "x"}"#,
        ),
        ("/v1/validations", r"[]"),
    ];
    for (path, body) in cases {
        let (status, json) = call(&state, "POST", path, Some(body), None).await;
        assert!(status.is_client_error(), "{path} {body} gave {status}");
        assert!(
            json["error"].is_string() && json["message"].is_string(),
            "{json}"
        );
    }
    let huge = format!(r#"{{"key": "{}"}}"#, "1".repeat(200_000));
    let (status, json) = call(&state, "POST", "/v1/activations", Some(&huge), None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
}

#[tokio::test]
async fn openapi_is_generated_from_the_handlers() {
    let (state, _dir) = state().await;
    let (status, doc) = call(&state, "GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/activations",
        "/v1/validations",
        "/v1/grace-extensions",
        "/v1/rebinds",
        "/v1/admin/licenses",
        "/v1/health",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["LicenseTerms"].is_object());
    // Every answer an endpoint can give is documented, the common ones included.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let codes = operation["responses"].as_object().unwrap();
            let mut expected = vec!["408", "503"];
            if method == "post" {
                expected.extend(["400", "413", "415"]);
            }
            if operation.get("security").is_some() {
                expected.push("401");
            }
            for code in expected {
                assert!(codes.contains_key(code), "{method} {path} lacks {code}");
            }
        }
    }
    assert!(doc["paths"]["/v1/activations"]["post"]["responses"]["429"].is_object());
    // A list states its bound, as text and numbers do.
    let overdraft = &doc["components"]["schemas"]["ValidationRequest"]["properties"]["overdraft"];
    assert_eq!(overdraft["maxItems"], 400, "{overdraft}");
}

#[tokio::test]
async fn health_over_a_real_socket() {
    let (state, _dir) = state().await;
    let (addr, server) = tenure_server::spawn_on_loopback(state).await.unwrap();
    tenure_server::install_crypto_provider();
    let body: Value = reqwest::get(format!("http://{addr}/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["key_id"].as_str().unwrap().len(), 16);
    server.abort();
}

/// Metrics are not served on the API's address: request counts by route and refusals by
/// reason would tell a stranger how the vendor's customers use their licenses.
#[tokio::test]
async fn a_stranger_cannot_read_the_metrics_on_the_api_address() {
    let (state, _dir) = state().await;
    let (status, _) = call(&state, "GET", "/v1/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for token in [None, Some(ADMIN)] {
        let (status, _) = call(&state, "GET", "/metrics", None, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "token {token:?}");
    }
}

/// Requests are counted and timed in bucketed histograms (which add up across instances), and
/// a thread folds samples into them whether or not anyone scrapes: an unscraped server must
/// not keep every sample it ever recorded.
#[tokio::test]
async fn metrics_are_bucketed_histograms_kept_up_without_a_scrape() {
    let (state, _dir) = state().await;
    for _ in 0..3 {
        let (status, _) = call(&state, "GET", "/v1/health", None, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(
        threads
            .iter()
            .any(|t| t == tenure_server::metrics::UPKEEP_THREAD),
        "no metrics upkeep thread among {threads:?}"
    );
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = tenure_server::http::metrics_router()
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let bucket = text
        .lines()
        .find(|l| {
            l.starts_with("tenure_http_request_seconds_bucket")
                && l.contains("route=\"/v1/health\"")
                && l.contains("le=\"+Inf\"")
        })
        .unwrap_or_else(|| panic!("no health latency bucket in:\n{text}"));
    let count: u64 = bucket.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3, "{bucket}");
}

#[tokio::test]
async fn offline_requests_are_answered_for_the_vendor_only_by_the_online_rules() {
    use tenure_core::protocol::{OfflineAsk, OfflineRequest};
    let (state, _dir) = state().await;
    call(
        &state,
        "POST",
        "/v1/admin/accounts",
        Some(r#"{"name":"acme"}"#),
        Some(ADMIN),
    )
    .await;
    let (_, created) = call(
        &state,
        "POST",
        "/v1/admin/licenses",
        Some(&license_body("acme")),
        Some(ADMIN),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let binding = tenure_core::Binding {
        server: "srv1".into(),
        database: "prod".into(),
    };
    let nonce = "0123456789abcdef0123456789abcdef";
    let request = |ask: OfflineAsk| {
        let (holder_key, proof) = match &ask {
            OfflineAsk::Activate { .. } => (Some(holder().public_hex()), None),
            OfflineAsk::Extend { license_id, .. } => (
                None,
                Some(holder().prove(ProofAction::Extend, license_id, &binding, nonce)),
            ),
            _ => (None, None),
        };
        let text = tenure_core::signed::write_unsigned(
            tenure_core::DocKind::Request,
            &OfflineRequest {
                ask,
                binding: binding.clone(),
                nonce: nonce.into(),
                app_version: "test".into(),
                created_at: chrono::Utc::now(),
                holder: holder_key,
                proof,
            },
        )
        .unwrap();
        json!({ "request": text }).to_string()
    };
    let activate = request(OfflineAsk::Activate { key: key.clone() });
    let (status, _) = call(
        &state,
        "POST",
        "/v1/offline/responses",
        Some(&activate),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "vendor staff only");
    let (status, answer) = call(
        &state,
        "POST",
        "/v1/offline/responses",
        Some(&activate),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let license = trust()
        .open_license(answer["license"].as_str().unwrap())
        .unwrap();
    assert_eq!(license.nonce, "0123456789abcdef0123456789abcdef");

    // The grace cap holds for files too.
    let extend = request(OfflineAsk::Extend {
        license_id: license.id.clone(),
        days: 61,
    });
    let (status, refusal) = call(
        &state,
        "POST",
        "/v1/offline/responses",
        Some(&extend),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refusal}");
    assert!(refusal.to_string().contains("at most 60 days"), "{refusal}");
    // A file that is not a request: the body keeps to its schema, the file breaks a rule.
    let (status, refusal) = call(
        &state,
        "POST",
        "/v1/offline/responses",
        Some(&json!({ "request": "hello" }).to_string()),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refusal.to_string().contains("not a Tenure file"),
        "{refusal}"
    );
}

#[tokio::test]
async fn an_activation_flood_gets_429_while_the_real_customer_still_activates() {
    let (state, _dir) = state().await;
    let limits = tenure_server::http::limit::ActivationLimits {
        per_address_per_minute: 6,
        per_address_burst: 5,
        global_per_second: 50,
        global_burst: 100,
    };
    let state = state.with_activation_limits(limits);
    state.vendor.accounts().create("acme").await.unwrap();
    let terms = tenure_server::sandbox::sample_terms("Acme");
    let created = state
        .vendor
        .licenses()
        .create(&CreateLicenseRequest {
            account: "acme".into(),
            terms: terms.clone(),
        })
        .await
        .unwrap();
    let (addr, server) = tenure_server::spawn_on_loopback(state).await.unwrap();
    tenure_server::install_crypto_provider();

    // The guesser on 127.0.0.1 tries keys as fast as it can.
    let guesser = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 1]))
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..30u64 {
        let mut random = [3u8; 12];
        random[0] = u8::try_from(i).unwrap();
        let key = tenure_core::LicenseKey::from_random_digits(random).to_string();
        let body = json!({"key": key, "binding": {"server": "x", "database": "y"},
                          "nonce": "n", "holder": holder().public_hex()});
        let response = guesser
            .post(format!("http://{addr}/v1/activations"))
            .json(&body)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
        }
        statuses.push(response.status());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        limited >= 20,
        "most guesses are refused with 429: {statuses:?}"
    );
    assert!(
        retry_after.is_some_and(|secs| secs >= 1),
        "429 says when to retry"
    );

    // The customer, from another address, activates at once.
    let customer = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let body = json!({"key": created.key, "binding": {"server": "srv1", "database": "prod"},
                      "nonce": "n", "holder": holder().public_hex()});
    let response = customer
        .post(format!("http://{addr}/v1/activations"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.abort();
}

/// A client that never finishes its headers is dropped after `HEADER_READ_TIMEOUT`, on the API's
/// listener and on the metrics one alike: slow sockets cannot hold the process's connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_dropped_on_both_listeners() {
    use std::io::{Read as _, Write as _};
    let (state, _dir) = state().await;
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_addr = api.local_addr().unwrap();
    tokio::spawn(tenure_server::serve_plain(api, state));
    let metrics_addr = tenure_server::spawn_metrics(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let slow = |addr: std::net::SocketAddr| {
        std::thread::Builder::new()
            .name(format!("slow client of {addr}"))
            .spawn(move || {
                let mut socket = std::net::TcpStream::connect(addr).unwrap();
                socket
                    .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
                socket
                    .set_read_timeout(Some(
                        tenure_server::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(10),
                    ))
                    .unwrap();
                let started = std::time::Instant::now();
                let mut answer = Vec::new();
                // The server closes the connection (after a 408, or without a word); a read that
                // times out instead fails here.
                let closed = socket.read_to_end(&mut answer);
                (closed.is_ok(), started.elapsed(), answer)
            })
            .unwrap()
    };
    let (on_api, on_metrics) = (slow(api_addr), slow(metrics_addr));
    for (name, waiting) in [("API", on_api), ("metrics", on_metrics)] {
        let (closed, after, answer) = waiting.join().unwrap();
        assert!(
            closed,
            "the {name} listener kept a half-sent request open for {after:?}"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{name}: {answer}"
        );
    }
    // Both still answer whole requests.
    tenure_server::install_crypto_provider();
    for url in [
        format!("http://{api_addr}/v1/health"),
        format!("http://{metrics_addr}/metrics"),
    ] {
        let status = reqwest::get(&url).await.unwrap().status();
        assert_eq!(status, 200, "{url}");
    }
}

/// A wrong token is no way around the limit. The global budget refills one request a second,
/// so on a loaded machine it may have refilled by the time the probe is sent (then the probe
/// meets the token check, 401, as it should): the budget is spent again just before each
/// probe, and a wrong token that bypassed the limit would never see 429.
async fn wrong_token_meets_the_spent_budget(
    fresh: &reqwest::Client,
    url: &str,
    guess: &impl Fn(u32) -> serde_json::Value,
) {
    let mut probes = Vec::new();
    for round in 0..3u32 {
        for i in 0..5 {
            let spent = fresh
                .post(url)
                .json(&guess(9_100 + round * 10 + i))
                .send()
                .await
                .unwrap();
            if spent.status() == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
        }
        let probe = fresh
            .post(url)
            .bearer_auth("acme:wrong")
            .json(&guess(9_999))
            .send()
            .await
            .unwrap();
        probes.push(probe.status());
        if probe.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert!(
        probes.contains(&StatusCode::TOO_MANY_REQUESTS),
        "a wrong token got past a spent budget: {probes:?}"
    );
}

/// Issue 25 (5): forty loopback addresses guessing ten keys each spend the anonymous budget,
/// and a fresh address is refused; the customer who proves its account still activates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_many_addresses_does_not_lock_the_account_out() {
    let (state, _dir) = state().await;
    let state = state.with_activation_limits(tenure_server::http::limit::ActivationLimits {
        per_address_per_minute: 10,
        per_address_burst: 10,
        global_per_second: 1,
        global_burst: 100,
    });
    let token = state.vendor.accounts().create("acme").await.unwrap();
    let terms = tenure_server::sandbox::sample_terms("Acme");
    let created = state
        .vendor
        .licenses()
        .create(&CreateLicenseRequest {
            account: "acme".into(),
            terms: terms.clone(),
        })
        .await
        .unwrap();
    let (addr, server) = tenure_server::spawn_on_loopback(state).await.unwrap();
    tenure_server::install_crypto_provider();
    let from = |a: u8, b: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, a, b]))
            .build()
            .unwrap()
    };
    let guess = |i: u32| {
        let mut random = [5u8; 12];
        random[..4].copy_from_slice(&i.to_be_bytes());
        json!({"key": tenure_core::LicenseKey::from_random_digits(random).to_string(),
               "binding": {"server": "x", "database": "y"}, "nonce": "n",
               "holder": holder().public_hex()})
    };
    let url = format!("http://{addr}/v1/activations");
    for a in 1..=40u8 {
        let client = from(1, a);
        for i in 0..10 {
            client
                .post(&url)
                .json(&guess(u32::from(a) * 100 + i))
                .send()
                .await
                .unwrap();
        }
    }
    let fresh = from(2, 1);
    let mut anonymous = Vec::new();
    for i in 0..3 {
        let response = fresh
            .post(&url)
            .json(&guess(9_000 + i))
            .send()
            .await
            .unwrap();
        anonymous.push(response.status());
    }
    assert!(
        anonymous
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count()
            >= 2,
        "the anonymous budget is spent: {anonymous:?}"
    );
    wrong_token_meets_the_spent_budget(&fresh, &url, &guess).await;
    let body = json!({"key": created.key, "binding": {"server": "srv1", "database": "prod"},
                      "nonce": "n", "holder": holder().public_hex()});
    let response = fresh
        .post(&url)
        .bearer_auth(format!("acme:{token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the account activates");
    server.abort();
}

/// Issue 25 (5): behind a trusted balancer each client counts by the address it forwards, an
/// IPv6 client by its /64; from any other peer a forged `X-Forwarded-For` changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_trusted_balancer_count_by_their_own_address() {
    let (state, _dir) = state().await;
    let state = state
        .with_activation_limits(tenure_server::http::limit::ActivationLimits {
            per_address_per_minute: 5,
            per_address_burst: 5,
            global_per_second: 1_000,
            global_burst: 1_000,
        })
        .with_trusted_proxies(vec!["127.0.3.1/32".parse().unwrap()]);
    let (addr, server) = tenure_server::spawn_on_loopback(state).await.unwrap();
    tenure_server::install_crypto_provider();
    let url = format!("http://{addr}/v1/activations");
    let body = json!({"key": "0000-0000-0000-0", "binding": {"server": "x", "database": "y"},
                      "nonce": "n", "holder": holder().public_hex()});
    let statuses = async |peer: [u8; 4], forwarded: &dyn Fn(u32) -> String, n: u32| {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(peer))
            .build()
            .unwrap();
        let mut limited = 0;
        for i in 0..n {
            let response = client
                .post(&url)
                .header("x-forwarded-for", forwarded(i))
                .json(&body)
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                limited += 1;
            }
        }
        limited
    };
    let balancer = [127, 0, 3, 1];
    // Eight addresses of one IPv6 /64: one client, limited after five.
    assert_eq!(
        statuses(balancer, &|i| format!("2001:db8:1:1::{i:x}"), 8).await,
        3
    );
    // Another /64, and an IPv4 client, each with a budget of its own.
    assert_eq!(
        statuses(balancer, &|_| "2001:db8:1:2::1".into(), 5).await,
        0
    );
    assert_eq!(
        statuses(balancer, &|_| "203.0.113.5, 127.0.3.1".into(), 5).await,
        0
    );
    // A stranger forging a new address on every request is still one peer.
    assert_eq!(
        statuses([127, 0, 3, 9], &|i| format!("198.51.100.{i}"), 8).await,
        3
    );
    server.abort();
}

/// Issue 26: control and invisible formatting characters — NUL, a line break, a tab at the
/// start, a right-to-left override, a line separator, a byte-order mark — in any identifier or
/// name on any endpoint are refused with 400 before anything else: before the credentials, the
/// proof or the store, so nothing of them is stored. Spaces at the ends are refused too, never
/// trimmed silently.
#[tokio::test]
async fn odd_characters_are_refused_first_on_every_endpoint() {
    let (state, dir) = state().await;
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let token = state.vendor.accounts().create("acme").await.unwrap();
    let account = format!("acme:{token}");
    let rows_before = store.event_rows().await.unwrap();
    let proof = "ab".repeat(64);
    let binding = |server: &str| json!({"server": server, "database": "prod"});
    for odd in [
        "a\u{0}b",
        "a\nb",
        "\tab",
        "a\u{202E}b",
        "a\u{2028}b",
        "\u{FEFF}ab",
        " ab",
        "ab ",
    ] {
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            (
                "/v1/activations",
                json!({"key": "0000-0000-0000-0", "binding": binding(odd), "nonce": "n",
                       "holder": "ab".repeat(32)}),
                None,
            ),
            (
                "/v1/validations",
                json!({"license_id": odd, "binding": binding("srv1"), "nonce": "n",
                       "proof": proof}),
                None,
            ),
            (
                "/v1/grace-extensions",
                json!({"license_id": "lic_1", "binding": binding(odd), "days": 10, "nonce": "n",
                       "proof": proof}),
                Some("acme:wrong"),
            ),
            (
                "/v1/rebinds",
                json!({"license_id": "lic_1", "binding": binding(odd), "reason": "x",
                       "nonce": "n", "proof": proof}),
                Some(account.as_str()),
            ),
            (
                "/v1/admin/accounts",
                json!({"name": odd}),
                Some("wrong-admin-token"),
            ),
            (
                "/v1/admin/licenses",
                json!({"account": "acme",
                       "terms": {"customer": odd, "kind": "named", "seats": 1, "grace_days": 30,
                                 "max_grace_days": 60,
                                 "validity": {"starts": "2026-01-01", "expires": "2027-01-01"},
                                 "activation_mode": "online", "modules": [], "max_borrow_days": 0,
                                 "max_rebinds_per_30_days": 3, "lease_secs": 300}}),
                Some(ADMIN),
            ),
        ];
        for (path, body, token) in cases {
            let (status, refused) =
                call(&state, "POST", path, Some(&body.to_string()), token).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{path} with {odd:?}: {refused}"
            );
            assert_eq!(refused["error"], "bad_request", "{path}: {refused}");
        }
    }
    // A nonce and a reason are free text, but not invisible formatting either.
    let body = json!({"license_id": "lic_1", "binding": binding("srv1"), "reason": "moved\u{202E}",
                      "nonce": "n", "proof": proof});
    let (status, _) = call(
        &state,
        "POST",
        "/v1/rebinds",
        Some(&body.to_string()),
        Some(&account),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    state.vendor.flush_refusals().await;
    assert_eq!(
        store.event_rows().await.unwrap(),
        rows_before,
        "nothing of them reached the usage log"
    );
}
