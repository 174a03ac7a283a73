//! The web console for the vendor's staff at `/console`, on the server's own listener: sign
//! in, find licenses, read one, revoke it (admins). Server-rendered HTML (`pages.rs`), no
//! script; every change is a form carrying the session's CSRF token, and the session cookie
//! is `HttpOnly`, `Secure` and `SameSite=Strict`.

mod accounts;
mod changes;
mod keys;
mod pages;
mod usage;
mod webhooks;

use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::handler::Handler as _;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::web::{self, Site, offline};
use crate::AppState;
use crate::service::{Denial, OfflineAnswer, Role, StaffSession};

/// The console as a site: its pages, cookie and navigation.
pub(super) const CONSOLE: Site = Site {
    name: "Tenure console",
    root: "/console",
    cookie: "tenure_console",
    nav: &[
        ("Licenses", "/console/licenses"),
        ("Accounts", "/console/accounts"),
        ("Usage", "/console/usage"),
        ("Offline requests", "/console/offline"),
        ("Webhooks", "/console/webhooks"),
        ("Keys", "/console/keys"),
    ],
};

/// The console's routes.
pub(super) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/licenses") }),
        )
        .route("/console/style.css", get(web::style))
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
        .merge(accounts::routes())
        .merge(changes::routes())
        .merge(keys::routes())
        .merge(usage::routes())
        .merge(webhooks::routes())
        .route("/console/offline", get(offline_form).post(offline_preview))
        .route("/console/offline/answer", post(offline_answer))
        .route("/console/offline/release", post(offline_release))
        .layer(axum::middleware::map_response(web::page_headers))
}

/// A signed-in member of staff, with the token of their session; a request without one is
/// sent to the sign-in page.
pub(super) struct SignedIn {
    pub(super) session: StaffSession,
    token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let Some(token) = CONSOLE.session_token(&parts.headers) else {
            return Err(to_sign_in());
        };
        match state.vendor.staff().session(&token).await {
            Ok(Some(session)) => Ok(Self { session, token }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(refusal(None, e)),
        }
    }
}

/// A refusal as a page, with its status.
pub(super) fn refusal(staff: Option<&StaffSession>, denial: Denial) -> Response {
    let error = super::error::HttpError::from(denial);
    (error.status(), pages::refused(staff, error.message())).into_response()
}

/// The refusal when a form's CSRF token is not its session's.
pub(super) fn csrf_refused(session: &StaffSession, sent: &str) -> Option<Response> {
    CONSOLE.csrf_refused(&pages::visitor(session), &session.csrf, sent)
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
    if !web::same_site(&headers) {
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
            let mut response = Redirect::to("/console/licenses").into_response();
            CONSOLE.set_cookie(&mut response, Some(&signed_in.token));
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

/// A form that carries nothing but the session's CSRF token (a button).
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
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
    CONSOLE.set_cookie(&mut response, None);
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
                "extended" => {
                    "Extended: its workstations get the new last day at their next validation."
                }
                "moves-reset" => "Moves forgiven: it may move its full limit again.",
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
    let by = match admin_change(staff, &form.csrf, "revoke a license") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    if form.confirm.trim() != id {
        let denial = Denial::Invalid(format!(
            "type the license id ({id}) to confirm: nothing was revoked"
        ));
        return refusal(Some(staff), denial);
    }
    match state.vendor.licenses().revoke_as(&id, &by).await {
        Ok(()) => Redirect::to(&format!("/console/licenses/{id}?said=revoked")).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

/// An admin's change (`what`: "revoke a license"): the form's CSRF token must be the
/// session's and its member of staff an admin. The name the change is recorded under
/// (`staff ana`), or the refusal.
pub(super) fn admin_change(
    staff: &StaffSession,
    csrf: &str,
    what: &str,
) -> Result<String, Box<Response>> {
    match csrf_refused(staff, csrf).or_else(|| admin_only(staff, what)) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(acting(staff)),
    }
}

/// The name a member of staff's change is recorded under: `staff ana`.
pub(super) fn acting(staff: &StaffSession) -> String {
    format!("staff {}", staff.name)
}

/// The refusal when a member of support tries what only an admin may (`what`: "revoke a
/// license").
pub(super) fn admin_only(staff: &StaffSession, what: &str) -> Option<Response> {
    (staff.role != Role::Admin).then(|| {
        let denial = Denial::Forbidden {
            code: "admin_only",
            message: format!("only an admin may {what}: ask one"),
        };
        refusal(Some(staff), denial)
    })
}

async fn offline_form(signed_in: SignedIn) -> Response {
    pages::offline(&signed_in.session, None).into_response()
}

async fn offline_preview(signed_in: SignedIn, form: Multipart) -> Response {
    let staff = &signed_in.session;
    let upload = match offline::read_upload(form).await {
        Ok(upload) => upload,
        Err(problem) => return pages::offline(staff, Some(&problem)).into_response(),
    };
    if let Some(refused) = csrf_refused(staff, &upload.csrf) {
        return refused;
    }
    match offline::read_request(&upload.text) {
        Ok(request) => pages::preview(staff, &request, &upload.text).into_response(),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::offline(staff, Some(&problem)),
        )
            .into_response(),
    }
}

/// Support and admins answer offline requests, by the same rules as online.
async fn offline_answer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<offline::Previewed>,
) -> Response {
    let staff = &signed_in.session;
    if let Some(refused) = csrf_refused(staff, &form.csrf) {
        return refused;
    }
    let text = offline::normalized(&form.request);
    let request = match offline::read_request(&text) {
        Ok(request) => request,
        Err(problem) => return refusal(Some(staff), Denial::Invalid(problem)),
    };
    let answer = OfflineAnswer {
        request: &text,
        reactivate: false,
    };
    let by = acting(staff);
    match state.vendor.offline().answer_as(&answer, &by).await {
        Ok(answer) => offline::download(&request, answer),
        Err(e) => refusal(Some(staff), e),
    }
}

async fn offline_release(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<offline::Previewed>,
) -> Response {
    let staff = &signed_in.session;
    if let Some(refused) = csrf_refused(staff, &form.csrf) {
        return refused;
    }
    let text = offline::normalized(&form.request);
    let by = acting(staff);
    match state.vendor.offline().release(&text, None, &by).await {
        Ok(released) => pages::released(staff, &released).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}
