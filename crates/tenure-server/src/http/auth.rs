//! Bearer tokens: the admin token for `/v1/admin/*`, and account tokens (`ACCOUNT:TOKEN`) for
//! requests that move or stretch a license. Each is an extractor ([`Admin`], [`Account`],
//! [`MaybeAccount`]), so a handler that needs one says so in its signature and cannot forget to
//! check it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use subtle_eq::constant_time_eq;

use super::error::HttpError;
use crate::AppState;
use crate::service::token_sha256;

mod subtle_eq {
    /// Compares without an early exit, so timing does not reveal how much matched.
    pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized(message: &str) -> HttpError {
    HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Vendor staff: the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        require_admin(state, &parts.headers).map(|()| Admin)
    }
}

/// The signed-in account, named by `Bearer ACCOUNT:TOKEN`.
pub struct Account(pub String);

impl FromRequestParts<AppState> for Account {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        require_account(state, &parts.headers).await.map(Account)
    }
}

/// The account, when the request carries credentials (wrong ones are refused); `None` when it
/// carries none.
pub struct MaybeAccount(pub Option<String>);

impl FromRequestParts<AppState> for MaybeAccount {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            require_account(state, &parts.headers)
                .await
                .map(|a| MaybeAccount(Some(a)))
        } else {
            Ok(MaybeAccount(None))
        }
    }
}

/// Checks the admin token.
fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), HttpError> {
    let token = bearer(headers).ok_or_else(|| unauthorized("an admin bearer token is required"))?;
    if constant_time_eq(
        token_sha256(token).as_bytes(),
        state.admin_token_sha256.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(unauthorized("the admin token is wrong"))
    }
}

/// Checks an account token given as `Bearer ACCOUNT:TOKEN`; returns the account name.
async fn require_account(state: &AppState, headers: &HeaderMap) -> Result<String, HttpError> {
    let value = bearer(headers).ok_or_else(|| {
        unauthorized("this request needs the account's credentials: sign in (tenure login) first")
    })?;
    let (account, token) = value
        .split_once(':')
        .ok_or_else(|| unauthorized("the credentials must be ACCOUNT:TOKEN"))?;
    state.vendor.authenticate_account(account, token).await?;
    Ok(account.to_owned())
}
