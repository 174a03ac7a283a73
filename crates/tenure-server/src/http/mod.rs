//! The HTTP API: thin handlers over [`crate::service::Vendor`].

pub(crate) mod admin;
mod auth;
pub mod error;
pub(crate) mod licensing;
pub mod limit;

use axum::extract::{DefaultBodyLimit, FromRequest, State};
use axum::routing::get;
use axum::{Json, Router};
use tenure_core::protocol::Health;
use utoipa::OpenApi as _;

use crate::AppState;
use error::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Json` whose rejections become [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The router for the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
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
    response
}

/// Prometheus text exposition.
async fn metrics() -> String {
    crate::metrics::handle().map_or_else(
        String::new,
        metrics_exporter_prometheus::PrometheusHandle::render,
    )
}

/// Liveness and the signing key's id.
#[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        key_id: state.vendor.key().key_id().to_string(),
        certified: state.vendor.certificate().is_some(),
    })
}

/// The OpenAPI document, generated from the handlers' annotations.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::ApiDoc::openapi())
}
