//! The HTTP API: thin handlers over [`crate::service::Vendor`].

pub(crate) mod admin;
mod auth;
pub mod error;
pub(crate) mod licensing;
pub mod limit;

use axum::extract::{DefaultBodyLimit, FromRequest, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tenure_core::protocol::Health;
use utoipa::OpenApi as _;

use crate::AppState;
use error::HttpError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Json` whose rejections become [`HttpError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(HttpError))]
pub struct ApiJson<T>(pub T);

/// The router for the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .merge(licensing::router(&state))
        .merge(admin::router())
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

/// Liveness, the signing key, and whether the database takes writes (probed at most once a
/// second, for at most [`HealthProbe::LIMIT`]): 503 naming the database when it does not, so a
/// load balancer stops sending traffic here — within a second even while the database hangs.
#[utoipa::path(get, path = "/v1/health",
    responses((status = 200, body = Health),
              (status = 503, body = Health, headers(("Retry-After" = u64)))))]
pub(crate) async fn health(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let database = state.health.check(&state.vendor).await;
    let ok = database.is_ok();
    let health = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        key_id: state.vendor.key().key_id().to_string(),
        certified: state.vendor.certificate().is_some(),
        database: database.map_or_else(|e| e, |()| "ok".into()),
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
    Json(crate::openapi::ApiDoc::openapi())
}
