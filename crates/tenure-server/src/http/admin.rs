//! Vendor administration under `/v1/admin/` (admin bearer token).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenure_core::protocol::{
    CheckFields, CreateLicenseRequest, CreateLicenseResponse, ErrorBody, FieldError,
    LicenseResponse, limits,
};
use utoipa::ToSchema;

use super::ApiJson;
use super::auth::Credentials;
use super::error::HttpError;
use crate::AppState;
use crate::service::OfflineAnswer;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/licenses", post(create_license))
        .route("/v1/admin/accounts", post(create_account))
        .route("/v1/offline/responses", post(answer_offline))
}

/// `POST /v1/offline/responses`: an offline request file's text.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfflineRequestBody {
    /// The armored request file, as the workstation exported it.
    pub request: String,
}

impl CheckFields for OfflineRequestBody {
    fn check_fields(&self) -> Result<(), FieldError> {
        if self.request.is_empty() {
            return Err(FieldError("the request file is empty".into()));
        }
        Ok(())
    }
}

/// Answers an offline request file with a signed license file (vendor staff only).
#[utoipa::path(post, path = "/v1/offline/responses", request_body = OfflineRequestBody,
    security(("admin" = [])),
    responses((status = 200, body = LicenseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn answer_offline(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<OfflineRequestBody>,
) -> Result<Json<LicenseResponse>, HttpError> {
    credentials.admin(&state)?;
    let license = state
        .vendor
        .offline()
        .answer(&OfflineAnswer {
            request: &req.request,
            reactivate: false,
        })
        .await?;
    Ok(Json(LicenseResponse {
        license,
        revocations: state.vendor.revocations().map(str::to_owned),
    }))
}

/// `POST /v1/admin/accounts`
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateAccountRequest {
    /// Account name.
    pub name: String,
}

impl CheckFields for CreateAccountRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        Ok(tenure_core::text::check_name(
            "account name",
            &self.name,
            limits::ACCOUNT_NAME_CHARS,
        )?)
    }
}

/// The new account's token, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateAccountResponse {
    /// Account name.
    pub name: String,
    /// The account token; give it to the customer.
    pub token: String,
}

/// Creates a license and returns its key.
#[utoipa::path(post, path = "/v1/admin/licenses", request_body = CreateLicenseRequest,
    security(("admin" = [])),
    responses((status = 200, body = CreateLicenseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_license(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<CreateLicenseRequest>,
) -> Result<Json<CreateLicenseResponse>, HttpError> {
    credentials.admin(&state)?;
    Ok(Json(state.vendor.licenses().create(&req).await?))
}

/// Creates a customer account and returns its token.
#[utoipa::path(post, path = "/v1/admin/accounts", request_body = CreateAccountRequest,
    security(("admin" = [])),
    responses((status = 200, body = CreateAccountResponse), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_account(
    State(state): State<AppState>,
    credentials: Credentials,
    ApiJson(req): ApiJson<CreateAccountRequest>,
) -> Result<Json<CreateAccountResponse>, HttpError> {
    credentials.admin(&state)?;
    let token = state.vendor.accounts().create(&req.name).await?;
    Ok(Json(CreateAccountResponse {
        name: req.name,
        token,
    }))
}
