//! Bearer tokens: the admin token for `/v1/admin/*`, and account tokens (`ACCOUNT:TOKEN`) for
//! requests that move or stretch a license. A handler without a body takes [`Account`] as an
//! extractor, so it says so in its signature and cannot forget to check it; a handler with a
//! body takes [`Credentials`] and checks them once the body kept to its schema (a body's limits
//! are checked before anything else).

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

/// Vendor staff: the request carried the admin token.
pub struct Admin;

/// The signed-in account, named by `Bearer ACCOUNT:TOKEN`.
pub struct Account(pub String);

impl FromRequestParts<AppState> for Account {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        require_account(state, &parts.headers).await.map(Account)
    }
}

/// The request's `Authorization` header, to be checked once the body is known to be well
/// formed: `credentials.admin(&state)?`, `credentials.account(&state).await?`.
pub struct Credentials(HeaderMap);

impl<S: Send + Sync> FromRequestParts<S> for Credentials {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Credentials(parts.headers.clone()))
    }
}

impl Credentials {
    /// Vendor staff: the admin token.
    pub fn admin(&self, state: &AppState) -> Result<Admin, HttpError> {
        require_admin(state, &self.0).map(|()| Admin)
    }

    /// The account the credentials name (refused if wrong).
    pub async fn account(&self, state: &AppState) -> Result<String, HttpError> {
        require_account(state, &self.0).await
    }

    /// The account, when credentials are given (wrong ones are refused); `None` without.
    pub async fn maybe_account(&self, state: &AppState) -> Result<Option<String>, HttpError> {
        if self.0.contains_key(header::AUTHORIZATION) {
            require_account(state, &self.0).await.map(Some)
        } else {
            Ok(None)
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
    state.vendor.accounts().authenticate(account, token).await?;
    Ok(account.to_owned())
}
