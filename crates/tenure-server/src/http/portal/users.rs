//! The account's own users in the portal: the account (signed in with its token) lists, adds
//! and removes them; a user signs in with the account, its name and its password, and sets a
//! new password here.

use axum::extract::State;
use axum::handler::Handler as _;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::page;
use super::{Customer, PORTAL};
use crate::AppState;
use crate::service::{MIN_PASSWORD_CHARS, Portal, PortalSession};
use crate::store::PortalUserRow;

pub(super) fn routes(state: &AppState) -> Router<AppState> {
    let limited = axum::middleware::from_fn_with_state(state.clone(), crate::http::limit::sign_ins);
    Router::new()
        .route("/portal/sign-in-user", post(sign_in_user.layer(limited)))
        .route("/portal/users", axum::routing::get(users).post(add_user))
        .route("/portal/users/remove", post(remove_user))
        .route("/portal/password", post(set_password))
}

#[derive(Deserialize)]
struct UserSignIn {
    account: String,
    user: String,
    password: String,
}

async fn sign_in_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<UserSignIn>,
) -> Response {
    let account = form.account.trim();
    let portal = state.vendor.portal();
    let attempt = || portal.sign_in_user(account, form.user.trim(), &form.password);
    super::sign_in_answer(&headers, account, attempt).await
}

/// The account's users, or, for a user, the form that sets its password.
async fn users(State(state): State<AppState>, customer: Customer) -> Response {
    let session = &customer.session;
    if session.user.is_some() {
        return password_page(session, None).into_response();
    }
    users_listed(&state.vendor.portal(), &customer, None).await
}

/// The account's users page (after a change, with the first password of one just added,
/// shown once), or the refusal.
async fn users_listed(
    portal: &Portal<'_>,
    customer: &Customer,
    added: Option<(&str, &str)>,
) -> Response {
    match portal.users(&customer.session).await {
        Ok(users) => users_page(&customer.session, &users, added).into_response(),
        Err(e) => customer.refused(e),
    }
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    name: String,
}

async fn add_user(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<UserForm>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    let portal = state.vendor.portal();
    let session = &customer.session;
    let name = form.name.trim();
    match portal.add_user(session, name).await {
        Ok(password) => users_listed(&portal, &customer, Some((name, &password))).await,
        Err(e) => customer.refused(e),
    }
}

async fn remove_user(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<UserForm>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    let portal = state.vendor.portal();
    let session = &customer.session;
    match portal.remove_user(session, form.name.trim()).await {
        Ok(()) => users_listed(&portal, &customer, None).await,
        Err(e) => customer.refused(e),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

async fn set_password(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(refused) = customer.csrf_refused(&form.csrf) {
        return refused;
    }
    let portal = state.vendor.portal();
    match portal
        .set_password(&customer.session, &form.current, &form.new)
        .await
    {
        Ok(signed_in) => {
            let said = "Password set: every other browser signed in as you was signed out.";
            let mut response = password_page(&signed_in.session, Some(said)).into_response();
            PORTAL.set_cookie(&mut response, Some(&signed_in.token));
            response
        }
        Err(e) => customer.refused(e),
    }
}

/// The account's users, with the first password of one just added (shown once).
fn users_page(
    session: &PortalSession,
    users: &[PortalUserRow],
    added: Option<(&str, &str)>,
) -> Markup {
    let body = html! {
        h1 { "Users" }
        @if let Some((name, password)) = added {
            p.said role="status" { (name) " may now sign in with the account's name, " (name) " and this first password, shown only now. They set their own from the Users page." }
            p.token { (password) }
        }
        p { "People of your company who sign in with their own name and password instead of the account's token. They see and answer what the account does, but manage no users and never rotate the token." }
        @if users.is_empty() { p { "No users yet." } }
        @else {
            div.scroll { table {
                thead { tr { th { "Name" } th { "Added" } th { span.hidden { "Remove" } } } }
                tbody { @for user in users { tr {
                    td { (user.name) }
                    td { (user.created_at.format("%Y-%m-%d")) }
                    td { form.inline method="post" action="/portal/users/remove" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        input type="hidden" name="name" value=(user.name);
                        button.danger type="submit" aria-label={ "Remove " (user.name) } { "Remove" }
                    } }
                } } }
            } }
        }
        h2 { "Add a user" }
        form method="post" action="/portal/users" {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="name" { "Name (an e-mail address, say)" }
            input id="name" name="name" type="text" autocomplete="off" required;
            button type="submit" { "Add the user" }
        }
    };
    page("Users", session, &body)
}

/// A user's own password form.
fn password_page(session: &PortalSession, said: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Your password" }
        @if let Some(said) = said { p.said role="status" { (said) } }
        p { "Only the account, signed in with its token, adds or removes users." }
        form method="post" action="/portal/password" {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="current" { "Current password" }
            input id="current" name="current" type="password" autocomplete="current-password" required;
            label for="new" { "New password (at least " (MIN_PASSWORD_CHARS) " characters)" }
            input id="new" name="new" type="password" autocomplete="new-password" required minlength=(MIN_PASSWORD_CHARS);
            button type="submit" { "Set the password" }
        }
    };
    page("Your password", session, &body)
}
