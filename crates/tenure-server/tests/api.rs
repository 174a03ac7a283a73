//! The HTTP API through `app()`, and once over a real loopback socket.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tenure_server::{AppState, Store, Vendor, system_clock};
use tower::ServiceExt as _;

const ADMIN: &str = "test-admin-token";

async fn state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let vendor = Vendor::new(
        store,
        tenure_core::VendorKey::from_secret([1; 32]),
        system_clock(),
    );
    (AppState::new(vendor, ADMIN), dir)
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

    let activation =
        json!({"key": key, "binding": {"server": "srv1", "database": "prod"}, "nonce": "abc"})
            .to_string();
    let (status, body) = call(&state, "POST", "/v1/activations", Some(&activation), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["license"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN TENURE LICENSE-----")
    );

    let elsewhere =
        json!({"key": key, "binding": {"server": "srv2", "database": "prod"}, "nonce": "abc"})
            .to_string();
    let (status, body) = call(&state, "POST", "/v1/activations", Some(&elsewhere), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "bound_elsewhere");

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
    assert_eq!(body["key_id"].as_str().unwrap().len(), 16);
    server.abort();
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
    let request = |ask: OfflineAsk| {
        let text = tenure_core::signed::write_unsigned(
            tenure_core::DocKind::Request,
            &OfflineRequest {
                ask,
                binding: tenure_core::Binding {
                    server: "srv1".into(),
                    database: "prod".into(),
                },
                nonce: "0123456789abcdef0123456789abcdef".into(),
                app_version: "test".into(),
                created_at: chrono::Utc::now(),
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
    let mut trusted = tenure_core::TrustedKeys::new();
    trusted.add(tenure_core::VendorKey::from_secret([1; 32]).verifying_key());
    let license =
        tenure_core::signed::open_license(answer["license"].as_str().unwrap(), &trusted).unwrap();
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
    // A file that is not a request.
    let (status, refusal) = call(
        &state,
        "POST",
        "/v1/offline/responses",
        Some(&json!({ "request": "hello" }).to_string()),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refusal.to_string().contains("not a Tenure file"),
        "{refusal}"
    );
}
