//! The HTTP API: thin handlers over [`crate::service::Vendor`].

pub(crate) mod admin;
mod auth;
mod console;
pub mod error;
pub(crate) mod licensing;
pub mod limit;
pub mod openapi;
mod portal;
mod web;

use axum::extract::{DefaultBodyLimit, FromRequest, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tenure_core::protocol::{CheckFields, Health};
use utoipa::OpenApi as _;

use crate::AppState;
use error::HttpError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body held to its schema's limits ([`CheckFields`]) before anything else is done with
/// it: a field that breaks them is answered 400, whatever else is wrong with the request.
/// Bodies that keep to the schema but break a rule it cannot state (a check digit, a license
/// ending before it starts) are refused by the vendor service with 422.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned + CheckFields,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, HttpError> {
        if !is_json(request.headers()) {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_json",
                "the request body was refused: send it as JSON (Content-Type: application/json)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| {
                HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the request body was refused: {}", e.body_text()),
                )
            })?;
        let value = match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => value,
            // JSON's numbers have no integer type: `30.0` is thirty, as JSON Schema reads it.
            Err(rejection) => whole_numbers_as_integers(&bytes)
                .and_then(|normal| serde_json::from_value::<T>(normal).ok())
                .ok_or(rejection)?,
        };
        value
            .check_fields()
            .map_err(|e| HttpError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
        Ok(Self(value))
    }
}

/// True when the request says its body is JSON (`application/json`, or `…+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|mime| {
            let mime = mime.to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// The body with every number that is whole (`30.0`, `1e3`) written as an integer, or `None`
/// when it is not JSON.
fn whole_numbers_as_integers(bytes: &[u8]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Number(n) if n.is_f64() => {
                if let Some(f) = n.as_f64()
                    && f.fract() == 0.0
                    && f.abs() < 9.0e15
                {
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a whole number well inside i64, checked just above"
                    )]
                    let whole = f as i64;
                    *value = serde_json::Value::from(whole);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value);
    Some(value)
}

/// The router for the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .merge(licensing::router(&state))
        .merge(admin::router())
        .merge(console::router(&state))
        .merge(portal::router(&state))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(record_request))
        .with_state(state)
}

/// Counts and times every request by its route pattern (never by raw path: ids stay out).
async fn record_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::request(&route, response.status().as_u16(), started.elapsed());
    // A request that needed the database succeeded: an outage in progress has ended; one
    // refused with 503 counts toward it.
    if response.status().is_success() && !DATABASE_FREE_ROUTES.contains(&route.as_str()) {
        crate::outage::current().answered();
    } else if response.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        crate::outage::current().refused();
    }
    response
}

/// Routes answered without the database.
const DATABASE_FREE_ROUTES: &[&str] = &["/v1/health", "/v1/openapi.json", "/v1/keys", "unmatched"];

/// The metrics router: `GET /metrics` alone, for a listener of its own (`serve
/// --metrics-listen`). Never on the API's address: request counts and refusals by reason tell
/// a stranger how the vendor's customers use their licenses.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus text exposition.
async fn metrics() -> String {
    crate::metrics::handle().map_or_else(
        String::new,
        metrics_exporter_prometheus::PrometheusHandle::render,
    )
}

/// Liveness, the signing key, whether the database takes writes (probed at most once a second,
/// for at most [`HealthProbe::LIMIT`]) and whether this instance may sign: 503 naming the
/// database or the key when not, so a load balancer stops sending traffic here — within a
/// second even while the database hangs.
#[utoipa::path(get, path = "/v1/health",
    responses((status = 200, body = Health),
              (status = 503, body = Health, headers(("Retry-After" = u64)))))]
pub(crate) async fn health(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let database = state.health.check(&state.vendor).await;
    let signing = state.vendor.may_sign();
    let ok = database.is_ok() && signing.is_ok();
    let health = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        key_id: state.vendor.key().key_id().to_string(),
        certified: state.vendor.certificate().is_some(),
        database: database.map_or_else(|e| e, |()| "ok".into()),
        signing: signing.map_or_else(|e| e, |()| "ok".into()),
    };
    if ok {
        (StatusCode::OK, Json(health)).into_response()
    } else {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(health)).into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            error::RETRY_AFTER_SECS.into(),
        );
        response
    }
}

/// The last write probe and when it ran.
#[derive(Debug, Default)]
pub struct HealthProbe {
    last: tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

impl HealthProbe {
    /// How long one probe's answer is reused.
    const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
    /// How long a probe may take before the database counts as down.
    pub const LIMIT: std::time::Duration = std::time::Duration::from_millis(600);

    async fn check(&self, vendor: &crate::Vendor) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref()
            && at.elapsed() < Self::FRESH
        {
            return result.clone();
        }
        let probe = tokio::time::timeout(Self::LIMIT, vendor.store().probe_write(vendor.now()));
        let result = match probe.await {
            Ok(Ok(())) => {
                crate::outage::current().answered();
                Ok(())
            }
            Ok(Err(e)) => {
                let failure = e.failure();
                crate::outage::current().failed(failure, &e.to_string());
                Err(if failure == tenure_storage::Failure::Full {
                    "unavailable: the database's disk is full".to_owned()
                } else {
                    "unavailable: the database does not take writes".to_owned()
                })
            }
            Err(_) => {
                crate::outage::current()
                    .failed(tenure_storage::Failure::Unreachable, "no answer in time");
                Err(format!(
                    "unavailable: the database did not answer within {} ms",
                    Self::LIMIT.as_millis()
                ))
            }
        };
        *last = Some((std::time::Instant::now(), result.clone()));
        result
    }
}
/// The OpenAPI document, generated from the handlers' annotations.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::ApiDoc::openapi())
}
