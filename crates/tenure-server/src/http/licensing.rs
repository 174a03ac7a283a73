//! Activation, validation, grace extension, rebind, and an account's own licenses.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use tenure_core::protocol::{
    AccountLicense, ActivationRequest, ErrorBody, GraceExtensionRequest, LicenseResponse,
    RebindRequest, ValidationRequest,
};

use super::ApiJson;
use super::auth::require_account;
use super::error::ApiError;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/activations", post(activate))
        .route("/v1/validations", post(validate))
        .route("/v1/grace-extensions", post(extend_grace))
        .route("/v1/rebinds", post(rebind))
        .route("/v1/account/licenses", get(account_licenses))
}

/// Activates a license by key for a binding.
#[utoipa::path(post, path = "/v1/activations", request_body = ActivationRequest,
    responses((status = 200, body = LicenseResponse), (status = 404, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn activate(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ActivationRequest>,
) -> Result<Json<LicenseResponse>, ApiError> {
    let license = state
        .vendor
        .activate(&req.key, &req.binding, &req.nonce)
        .await?;
    Ok(Json(LicenseResponse { license }))
}

/// Validates an activated license: a fresh signed license, grace restarted.
#[utoipa::path(post, path = "/v1/validations", request_body = ValidationRequest,
    responses((status = 200, body = LicenseResponse), (status = 404, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn validate(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ValidationRequest>,
) -> Result<Json<LicenseResponse>, ApiError> {
    let license = state
        .vendor
        .validate(&req.license_id, &req.binding, &req.nonce)
        .await?;
    Ok(Json(LicenseResponse { license }))
}

/// Extends the offline grace (account token required).
#[utoipa::path(post, path = "/v1/grace-extensions", request_body = GraceExtensionRequest,
    security(("account" = [])),
    responses((status = 200, body = LicenseResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn extend_grace(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<GraceExtensionRequest>,
) -> Result<Json<LicenseResponse>, ApiError> {
    let account = require_account(&state, &headers).await?;
    let license = state
        .vendor
        .extend_grace(
            &account,
            &req.license_id,
            &req.binding,
            req.days,
            &req.nonce,
        )
        .await?;
    Ok(Json(LicenseResponse { license }))
}

/// Moves a license to a new binding (account token required).
#[utoipa::path(post, path = "/v1/rebinds", request_body = RebindRequest,
    security(("account" = [])),
    responses((status = 200, body = LicenseResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn rebind(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RebindRequest>,
) -> Result<Json<LicenseResponse>, ApiError> {
    let account = require_account(&state, &headers).await?;
    let license = state
        .vendor
        .rebind(
            &account,
            &req.license_id,
            &req.binding,
            &req.reason,
            &req.nonce,
        )
        .await?;
    Ok(Json(LicenseResponse { license }))
}

/// The licenses the signed-in account owns.
#[utoipa::path(get, path = "/v1/account/licenses", security(("account" = [])),
    responses((status = 200, body = [AccountLicense]), (status = 401, body = ErrorBody)))]
pub(crate) async fn account_licenses(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<AccountLicense>>, ApiError> {
    let account = require_account(&state, &headers).await?;
    Ok(Json(state.vendor.account_licenses(&account).await?))
}
