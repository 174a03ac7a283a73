//! The customer portal at `/portal`: a customer signs in with its account's name and token,
//! sees its licenses, answers its own offline requests (upload the file, download the signed
//! answer), releases a license from a database it left, and rotates its token. It sees and
//! changes only its own account's licenses. Server-rendered, no script, every change a form
//! carrying the session's CSRF token.

mod pages;
mod users;

use axum::extract::{FromRequestParts, Multipart, State};
use axum::handler::Handler as _;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::web::{self, Site, Visitor, offline};
use crate::AppState;
use crate::service::{Denial, PortalSession, PortalSignIn};

/// The portal as a site: its pages, cookie and navigation.
const PORTAL: Site = Site {
    name: "Tenure portal",
    root: "/portal",
    cookie: "tenure_portal",
    nav: &[
        ("Licenses", "/portal/licenses"),
        ("Offline files", "/portal/offline"),
        ("Users", "/portal/users"),
        ("Token", "/portal/token"),
    ],
};

/// The portal's routes.
pub(super) fn router(state: &AppState) -> Router<AppState> {
    let limited = || axum::middleware::from_fn_with_state(state.clone(), super::limit::sign_ins);
    Router::new()
        .route(
            "/portal",
            get(|| async { Redirect::to("/portal/licenses") }),
        )
        .route("/portal/style.css", get(web::style))
        .route(
            "/portal/sign-in",
            get(|| async { pages::sign_in(None, "") }).post(sign_in.layer(limited())),
        )
        .route("/portal/sign-out", post(sign_out))
        .route("/portal/licenses", get(licenses))
        .route("/portal/offline", get(offline_form).post(offline_preview))
        .route("/portal/offline/answer", post(offline_answer))
        .route("/portal/offline/release", post(offline_release))
        .route("/portal/token", get(token_form).post(rotate_token))
        .merge(users::routes(state))
        .layer(axum::middleware::map_response(web::page_headers))
}

/// A signed-in customer, with the token of its session; a request without one is sent to the
/// sign-in page.
struct Customer {
    session: PortalSession,
    token: String,
}

impl Customer {
    /// Who a change is recorded under: `account acme`, `user acme/ana`.
    fn acting(&self) -> String {
        match &self.session.user {
            Some(user) => format!("user {}/{user}", self.session.account),
            None => format!("account {}", self.session.account),
        }
    }

    fn visitor(&self) -> Visitor<'_> {
        pages::visitor(&self.session)
    }

    /// The refusal as a page, with its status.
    fn refused(&self, denial: Denial) -> Response {
        refusal(Some(&self.session), denial)
    }

    /// The refusal when a form's CSRF token is not this session's.
    fn csrf_refused(&self, sent: &str) -> Option<Response> {
        PORTAL.csrf_refused(&self.visitor(), &self.session.csrf, sent)
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/portal/sign-in").into_response();
        let Some(token) = PORTAL.session_token(&parts.headers) else {
            return Err(to_sign_in());
        };
        match state.vendor.portal().session(&token).await {
            Ok(Some(session)) => Ok(Self { session, token }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(refusal(None, e)),
        }
    }
}

fn refusal(session: Option<&PortalSession>, denial: Denial) -> Response {
    let error = super::error::HttpError::from(denial);
    let visitor = session.map(pages::visitor);
    (
        error.status(),
        PORTAL.refused(visitor.as_ref(), error.message()),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    account: String,
    token: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let account = form.account.trim();
    let portal = state.vendor.portal();
    sign_in_answer(&headers, account, || {
        portal.sign_in(account, form.token.trim())
    })
    .await
}

/// A sign-in form's answer (the account's token, or a user's password): refused when posted
/// from another site, before any secret is checked; else to the licenses with the session's
/// cookie, or the form again with what went wrong.
async fn sign_in_answer<F>(
    headers: &HeaderMap,
    account: &str,
    attempt: impl FnOnce() -> F,
) -> Response
where
    F: std::future::Future<Output = Result<PortalSignIn, Denial>>,
{
    if !web::same_site(headers) {
        let page = pages::sign_in(Some("sign in from the portal's own page"), "");
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    match attempt().await {
        Ok(signed_in) => self::signed_in(&signed_in.token),
        Err(denial) => {
            let error = super::error::HttpError::from(denial);
            let page = pages::sign_in(Some(error.message()), account);
            (error.status(), page).into_response()
        }
    }
}

/// A sign-in that worked: to the licenses, with the session's cookie.
fn signed_in(token: &str) -> Response {
    let mut response = Redirect::to("/portal/licenses").into_response();
    PORTAL.set_cookie(&mut response, Some(token));
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    if let Err(e) = state.vendor.portal().sign_out(&customer.token).await {
        return customer.refused(e);
    }
    let mut response = Redirect::to("/portal/sign-in").into_response();
    PORTAL.set_cookie(&mut response, None);
    response
}

/// The days the portal's usage chart covers.
const USAGE_DAYS: u64 = 30;

async fn licenses(State(state): State<AppState>, customer: Customer) -> Response {
    let account = &customer.session.account;
    let to = state.vendor.now().date_naive();
    let from = to - chrono::Days::new(USAGE_DAYS - 1);
    let read = async {
        let licenses = state.vendor.accounts().licenses(account).await?;
        let whose = crate::store::UsageOf::Account(account);
        let days = state
            .vendor
            .licenses()
            .usage_by_day(from, to, whose)
            .await?;
        Ok::<_, Denial>((licenses, web::chart::every_day(&days, from, to)))
    };
    match read.await {
        Ok((licenses, days)) => {
            pages::licenses(&customer.session, &licenses, &days).into_response()
        }
        Err(e) => customer.refused(e),
    }
}

async fn offline_form(customer: Customer) -> Response {
    pages::offline(&customer.session, None).into_response()
}

async fn offline_preview(customer: Customer, form: Multipart) -> Response {
    let upload = match offline::read_upload(form).await {
        Ok(upload) => upload,
        Err(problem) => return pages::offline(&customer.session, Some(&problem)).into_response(),
    };
    if let Some(refused) = customer.csrf_refused(&upload.csrf) {
        return refused;
    }
    match offline::read_request(&upload.text) {
        Ok(request) => pages::preview(&customer.session, &request, &upload.text).into_response(),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::offline(&customer.session, Some(&problem)),
        )
            .into_response(),
    }
}

async fn offline_answer(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<offline::Previewed>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    let text = offline::normalized(&form.request);
    let request = match offline::read_request(&text) {
        Ok(request) => request,
        Err(problem) => return customer.refused(Denial::Invalid(problem)),
    };
    let answer = state
        .vendor
        .offline()
        .answer_for_account(&customer.session.account, &text)
        .await;
    match answer {
        Ok(answer) => offline::download(&request, answer),
        Err(e) => customer.refused(e),
    }
}

async fn offline_release(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<offline::Previewed>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    let text = offline::normalized(&form.request);
    let released = state
        .vendor
        .offline()
        .release(
            &text,
            Some(&customer.session.account),
            &format!("{} in the portal", customer.acting()),
        )
        .await;
    match released {
        Ok(released) => pages::released(&customer.session, &released).into_response(),
        Err(e) => customer.refused(e),
    }
}

async fn token_form(customer: Customer) -> Response {
    pages::token(&customer.session, None).into_response()
}

async fn rotate_token(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    match state.vendor.portal().rotate_token(&customer.session).await {
        Ok((account_token, signed_in)) => {
            let mut response =
                pages::token(&signed_in.session, Some(&account_token)).into_response();
            PORTAL.set_cookie(&mut response, Some(&signed_in.token));
            response
        }
        Err(e) => customer.refused(e),
    }
}
