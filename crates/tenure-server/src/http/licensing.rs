//! Activation, validation, grace extension, rebind, and an account's own licenses.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use tenure_core::protocol::{
    AccountLicense, ActivationRequest, ErrorBody, GraceExtensionRequest, KeysResponse,
    LicenseResponse, RebindRequest, ValidationRequest,
};

use super::ApiJson;
use super::auth::{Account, Credentials};
use super::error::HttpError;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/activations",
            post(activate).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                super::limit::activations,
            )),
        )
        .route("/v1/keys", get(keys))
        .route("/v1/validations", post(validate))
        .route("/v1/grace-extensions", post(extend_grace))
        .route("/v1/rebinds", post(rebind))
        .route("/v1/account/licenses", get(account_licenses))
}

fn answer(state: &AppState, license: String) -> Json<LicenseResponse> {
    Json(LicenseResponse {
        license,
        revocations: state.vendor.revocations().map(str::to_owned),
    })
}

/// Activates a license by key for a binding, registering the holder's credential. An activated
/// key is activated again only with its account's credentials. Every other refusal reads "this
/// key cannot be activated here". Rate-limited per address and overall.
#[utoipa::path(post, path = "/v1/activations", request_body = ActivationRequest,
    responses((status = 200, body = LicenseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody),
              (status = 429, body = ErrorBody, headers(("Retry-After" = u64)))))]
pub(crate) async fn activate(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<ActivationRequest>,
) -> Result<Json<LicenseResponse>, HttpError> {
    let account = credentials.maybe_account(&state).await?;
    let license = state.vendor.activate(&req, account.as_deref()).await?;
    Ok(answer(&state, license))
}

/// The server's signing key, its certificate from a vendor root, and the root's revocations.
#[utoipa::path(get, path = "/v1/keys", responses((status = 200, body = KeysResponse)))]
pub(crate) async fn keys(State(state): State<AppState>) -> Json<KeysResponse> {
    Json(KeysResponse {
        key_id: state.vendor.key().key_id().to_string(),
        certificate: state.vendor.certificate().map(str::to_owned),
        revocations: state.vendor.revocations().map(str::to_owned),
    })
}

/// Validates an activated license: a fresh signed license, grace restarted.
#[utoipa::path(post, path = "/v1/validations", request_body = ValidationRequest,
    responses((status = 200, body = LicenseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn validate(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ValidationRequest>,
) -> Result<Json<LicenseResponse>, HttpError> {
    let license = state.vendor.validate(&req).await?;
    Ok(answer(&state, license))
}

/// Extends the offline grace (account token required).
#[utoipa::path(post, path = "/v1/grace-extensions", request_body = GraceExtensionRequest,
    security(("account" = [])),
    responses((status = 200, body = LicenseResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn extend_grace(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<GraceExtensionRequest>,
) -> Result<Json<LicenseResponse>, HttpError> {
    let account = credentials.account(&state).await?;
    let license = state.vendor.extend_grace(&account, &req).await?;
    Ok(answer(&state, license))
}

/// Moves a license to a new binding (account token required).
#[utoipa::path(post, path = "/v1/rebinds", request_body = RebindRequest,
    security(("account" = [])),
    responses((status = 200, body = LicenseResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn rebind(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<RebindRequest>,
) -> Result<Json<LicenseResponse>, HttpError> {
    let account = credentials.account(&state).await?;
    let license = state.vendor.rebind(&account, &req).await?;
    Ok(answer(&state, license))
}

/// The licenses the signed-in account owns.
#[utoipa::path(get, path = "/v1/account/licenses", security(("account" = [])),
    responses((status = 200, body = [AccountLicense]), (status = 401, body = ErrorBody)))]
pub(crate) async fn account_licenses(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<Json<Vec<AccountLicense>>, HttpError> {
    Ok(Json(state.vendor.accounts().licenses(&account).await?))
}
