//! The console's webhooks: the list, adding one (its secret shown once), removing one, and the
//! delivery log with a replay for each delivery. Admins change them; support reads.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};

use super::pages::page;
use super::{CsrfForm, SignedIn, admin_change, refusal};
use crate::AppState;
use crate::service::{Event, Role, StaffSession};
use crate::store::{DeliveryRow, WebhookRow};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/webhooks", get(list).post(add))
        .route("/console/webhooks/{id}/remove", post(remove))
        .route("/console/deliveries/{id}/replay", post(replay))
}

async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    shown(&state, &signed_in.session, None).await
}

/// The page, with what was just done.
async fn shown(state: &AppState, staff: &StaffSession, said: Option<&str>) -> Response {
    let webhooks = state.vendor.webhooks();
    match (webhooks.list().await, webhooks.deliveries(None).await) {
        (Ok(hooks), Ok(log)) => webhooks_page(staff, &hooks, &log, said).into_response(),
        (Err(e), _) | (_, Err(e)) => refusal(Some(staff), e),
    }
}

/// The add form: a URL and the events ticked (all when none is).
struct AddForm {
    csrf: String,
    url: String,
    events: Vec<String>,
}

async fn add(
    State(state): State<AppState>,
    signed_in: SignedIn,
    raw: axum::extract::RawForm,
) -> Response {
    let staff = &signed_in.session;
    let form = match read_add_form(&raw.0) {
        Ok(form) => form,
        Err(problem) => return refusal(Some(staff), crate::service::Denial::Invalid(problem)),
    };
    let by = match admin_change(staff, &form.csrf, "add a webhook") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let events: Result<Vec<Event>, String> = form.events.iter().map(|e| e.parse()).collect();
    let events = match events {
        Ok(events) => events,
        Err(problem) => return refusal(Some(staff), crate::service::Denial::Invalid(problem)),
    };
    match state.vendor.webhooks().add(&form.url, &events, &by).await {
        Ok(added) => {
            let body = html! {
                h1 { "Webhook " (added.id) }
                p.said role="status" { "Added. Its secret, shown only now: the receiver checks each post's Tenure-Signature with it." }
                p.token { (added.secret) }
                p { a href="/console/webhooks" { "Back to the webhooks" } }
            };
            page("Webhook added", Some(staff), &body).into_response()
        }
        Err(e) => refusal(Some(staff), e),
    }
}

/// A form with repeated `events` fields (which `Form` cannot read into a list).
fn read_add_form(body: &[u8]) -> Result<AddForm, String> {
    let mut form = AddForm {
        csrf: String::new(),
        url: String::new(),
        events: Vec::new(),
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| format!("the form could not be read ({e}): open the page again"))?;
    for (name, value) in pairs {
        match name.as_str() {
            "csrf" => form.csrf = value,
            "url" => form.url = value,
            "events" => form.events.push(value),
            _ => {}
        }
    }
    Ok(form)
}

async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let done = format!("{id} removed: nothing more is posted to it.");
    let vendor = state.vendor.clone();
    change(
        &state,
        &signed_in.session,
        &form,
        "remove a webhook",
        &done,
        |by| async move { vendor.webhooks().remove(&id, &by).await },
    )
    .await
}

async fn replay(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let done = format!("{id} is owed again: it is posted within a second.");
    let vendor = state.vendor.clone();
    change(
        &state,
        &signed_in.session,
        &form,
        "replay a delivery",
        &done,
        |by| async move { vendor.webhooks().replay(&id, &by).await },
    )
    .await
}

/// An admin's change (`what`: "remove a webhook"), checked for its CSRF token and role, made
/// under the staff member's name; the page again, saying `done`.
async fn change<F, Fut>(
    state: &AppState,
    staff: &StaffSession,
    form: &CsrfForm,
    what: &str,
    done: &str,
    make: F,
) -> Response
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::service::Denial>>,
{
    let by = match admin_change(staff, &form.csrf, what) {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    match make(by).await {
        Ok(()) => shown(state, staff, Some(done)).await,
        Err(e) => refusal(Some(staff), e),
    }
}

fn webhooks_page(
    staff: &StaffSession,
    hooks: &[WebhookRow],
    log: &[DeliveryRow],
    said: Option<&str>,
) -> Markup {
    let admin = staff.role == Role::Admin;
    let body = html! {
        h1 { "Webhooks" }
        @if let Some(said) = said { p.said role="status" { (said) } }
        @if hooks.is_empty() { p { "No webhook yet." } }
        @else {
            div.scroll { table {
                thead { tr { th { "Webhook" } th { "URL" } th { "Events" } th { "State" } @if admin { th { "Actions" } } } }
                tbody { @for hook in hooks { tr {
                    td { (hook.id) } td { (hook.url) } td { (hook.events.join(", ")) }
                    td { @if hook.disabled { "removed" } @else { "active" } }
                    @if admin { td { @if !hook.disabled {
                        form.inline method="post" action={ "/console/webhooks/" (hook.id) "/remove" } {
                            input type="hidden" name="csrf" value=(staff.csrf);
                            button.danger type="submit" aria-label={ "Remove " (hook.id) } { "Remove" }
                        }
                    } } }
                } } }
            } }
        }
        @if admin {
            h2 { "Add a webhook" }
            form method="post" action="/console/webhooks" {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="url" { "URL" }
                input id="url" name="url" type="url" required placeholder="https://hooks.example.com/tenure";
                fieldset {
                    legend { "Events (all when none is ticked)" }
                    @for event in Event::ALL {
                        label { input type="checkbox" name="events" value=(event.name()); " " (event.name()) }
                    }
                }
                button type="submit" { "Add the webhook" }
            }
        }
        h2 { "Deliveries" }
        @if log.is_empty() { p { "None yet." } }
        @else {
            div.scroll { table {
                thead { tr { th { "Delivery" } th { "Event" } th { "Webhook" } th { "Tries" } th { "State" } th { "Last answer" } @if admin { th { "" } } } }
                tbody { @for d in log { tr {
                    td { (d.id) } td { (d.event) } td { (d.webhook_id) } td { (d.attempts) }
                    td { @match (d.delivered_at, d.next_attempt_at) {
                        (Some(at), _) => { "delivered " (at.format("%Y-%m-%d %H:%M:%S")) }
                        (None, Some(next)) => { "next try " (next.format("%H:%M:%S")) }
                        (None, None) => { strong { "given up" } }
                    } }
                    td { (d.last_status.as_deref().unwrap_or("—")) }
                    @if admin { td {
                        form.inline method="post" action={ "/console/deliveries/" (d.id) "/replay" } {
                            input type="hidden" name="csrf" value=(staff.csrf);
                            button type="submit" aria-label={ "Replay " (d.id) } { "Replay" }
                        }
                    } }
                } } }
            } }
        }
    };
    page("Webhooks", Some(staff), &body)
}
