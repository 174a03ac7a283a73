//! The web console for the vendor's staff at `/console`, on the server's own listener: sign
//! in, find licenses, read one, revoke it (admins). Server-rendered HTML (`pages.rs`), no
//! script; every change is a form carrying the session's CSRF token, and the session cookie
//! is `HttpOnly`, `Secure` and `SameSite=Strict`.

mod pages;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::handler::Handler as _;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::AppState;
use crate::service::{Denial, Role, StaffSession};

/// The session cookie's name.
const COOKIE: &str = "tenure_console";

/// The console's routes.
pub(super) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/licenses") }),
        )
        .route("/console/style.css", get(style))
        .route(
            "/console/sign-in",
            get(sign_in_form).post(sign_in.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                super::limit::sign_ins,
            ))),
        )
        .route("/console/sign-out", post(sign_out))
        .route("/console/licenses", get(licenses))
        .route("/console/licenses/{id}", get(license))
        .route("/console/licenses/{id}/revoke", post(revoke))
        .layer(axum::middleware::map_response(page_headers))
}

/// What every console answer carries: no script, no framing, no caching, no sniffing.
async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}

/// A signed-in member of staff, with the token of their session; a request without one is
/// sent to the sign-in page.
struct SignedIn {
    session: StaffSession,
    token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let Some(token) = session_token(&parts.headers) else {
            return Err(to_sign_in());
        };
        match state.vendor.staff().session(&token).await {
            Ok(Some(session)) => Ok(Self { session, token }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(refusal(None, e)),
        }
    }
}

/// The session token the request's cookie carries.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A refusal as a page, with its status.
fn refusal(staff: Option<&StaffSession>, denial: Denial) -> Response {
    let error = super::error::HttpError::from(denial);
    (
        error.status(),
        pages::refused(staff, "Refused", error.message()),
    )
        .into_response()
}

/// A form's CSRF token must be its session's: a page of another site cannot post for the
/// signed-in member of staff. The refusal when it is not.
fn csrf_refused(session: &StaffSession, sent: &str) -> Option<Response> {
    use subtle::ConstantTimeEq as _;
    if bool::from(session.csrf.as_bytes().ct_eq(sent.as_bytes())) {
        None
    } else {
        Some((
            StatusCode::FORBIDDEN,
            pages::refused(
                Some(session),
                "Refused",
                "this form is out of date or was not sent from this console: open the page again and resend",
            ),
        )
            .into_response())
    }
}

/// A sign-in must come from the console's own page: a cross-site form cannot sign a browser
/// in to an attacker's session.
fn same_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site" || site == "same-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    origin_host.is_some() && origin_host == host
}

async fn sign_in_form() -> impl IntoResponse {
    pages::sign_in(None, "")
}

#[derive(Deserialize)]
struct SignInForm {
    name: String,
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !same_site(&headers) {
        return (
            StatusCode::FORBIDDEN,
            pages::sign_in(Some("sign in from the console's own page"), ""),
        )
            .into_response();
    }
    match state
        .vendor
        .staff()
        .sign_in(&form.name, &form.password)
        .await
    {
        Ok(signed_in) => {
            let cookie = format!(
                "{COOKIE}={}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                signed_in.token,
                crate::service::SESSION_HOURS * 3600
            );
            let mut response = Redirect::to("/console/licenses").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(denial) => {
            let error = super::error::HttpError::from(denial);
            (
                error.status(),
                pages::sign_in(Some(error.message()), &form.name),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = csrf_refused(&signed_in.session, &form.csrf) {
        return refused;
    }
    if let Err(e) = state.vendor.staff().sign_out(&signed_in.token).await {
        return refusal(Some(&signed_in.session), e);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "tenure_console=; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u64>,
}

async fn licenses(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<SearchQuery>,
) -> Response {
    let staff = &signed_in.session;
    match state
        .vendor
        .licenses()
        .search(&query.q, query.page.unwrap_or(1))
        .await
    {
        Ok(found) => pages::licenses(staff, query.q.trim(), &found).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

#[derive(Deserialize)]
struct Said {
    #[serde(default)]
    said: Option<String>,
}

async fn license(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(said): Query<Said>,
) -> Response {
    let staff = &signed_in.session;
    let since = state.vendor.now().date_naive() - chrono::Days::new(30);
    match state.vendor.licenses().show(&id, since).await {
        Ok(detail) => {
            let said = said.said.as_deref().map(|what| match what {
                "revoked" => "Revoked: its workstations are refused from their next validation on.",
                _ => "Done.",
            });
            pages::license(staff, &detail, said).into_response()
        }
        Err(e) => refusal(Some(staff), e),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    confirm: String,
}

async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let staff = &signed_in.session;
    if let Some(refused) = csrf_refused(staff, &form.csrf) {
        return refused;
    }
    if staff.role != Role::Admin {
        let denial = Denial::Forbidden {
            code: "admin_only",
            message: "only an admin may revoke a license: ask one".into(),
        };
        return refusal(Some(staff), denial);
    }
    if form.confirm.trim() != id {
        let denial = Denial::Invalid(format!(
            "type the license id ({id}) to confirm: nothing was revoked"
        ));
        return refusal(Some(staff), denial);
    }
    let by = format!("staff {}", staff.name);
    match state.vendor.licenses().revoke_as(&id, &by).await {
        Ok(()) => Redirect::to(&format!("/console/licenses/{id}?said=revoked")).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}
