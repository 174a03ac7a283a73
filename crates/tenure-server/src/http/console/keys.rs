//! The console's keys page: the key this instance signs with, its certificate from the
//! vendor's root and how long it has left, whether the deployment moved to another key.
//!
//! The root never comes online. An admin downloads what the root needs (this key's public key,
//! the revocation list in force), carries it to the root's machine, runs the command the page
//! shows there, and uploads the file the root signed: a new certificate for this key, or the
//! next revocation list. It is checked against the root and recorded in the database, where
//! every instance finds it at its next start.

use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::pages::page;
use super::{SignedIn, admin_change, refusal};
use crate::AppState;
use crate::http::web::offline;
use crate::service::{Denial, Role, StaffSession};
use crate::signed_files::{self, Accepted};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/keys", get(keys).post(upload))
        .route("/console/keys/signing.pub", get(public_key))
        .route("/console/keys/revocations.txt", get(revocations))
}

async fn keys(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    keys_page(&state, &signed_in.session, None).into_response()
}

fn keys_page(state: &AppState, staff: &StaffSession, said: Option<Result<&str, &str>>) -> Markup {
    let vendor = &state.vendor;
    let now = vendor.now();
    let certificate = vendor.certificate_terms();
    let key_id = vendor.key().key_id().to_string();
    let body = html! {
        h1 { "Signing key" }
        @match said {
            Some(Ok(said)) => p.said role="status" { (said) },
            Some(Err(problem)) => p.problem role="alert" { (problem) },
            None => {},
        }
        @if let Some(other) = vendor.replaced_by() {
            p.problem role="alert" { "The database names key " (other) " as the deployment's current one: this instance signs nothing until it is restarted with that key." }
        }
        dl {
            dt { "Key id" } dd { (key_id) }
            @match certificate {
                Some(cert) => {
                    dt { "Certified as" } dd { (cert.label) }
                    dt { "Valid" } dd { (cert.not_before.format("%Y-%m-%d")) " to " (cert.not_after.format("%Y-%m-%d")) }
                    dt { "Days left" } dd {
                        @let left = (cert.not_after - now).num_days();
                        @if left < 30 { strong { (left) " days: renew it soon" } } @else { (left) " days" }
                    }
                    dt { "Longest grace it may give" } dd { (cert.max_grace_days) " days" }
                }
                None => {
                    dt { "Certificate" } dd { strong { "none: workstations that pin the vendor's root refuse what this key signs" } }
                }
            }
            dt { "Revocation list" } dd { @if vendor.revocations().is_some() { "sent with every answer" } @else { "none" } }
        }
        h2 { "Renew the certificate, or revoke a key" }
        p { "The root key stays offline. Take what it needs to its machine, run the command there, and upload the file it writes." }
        ol {
            li { "Renew this key's certificate: download " a href="/console/keys/signing.pub" download { "this key's public key" } ", then run" }
        }
        pre { "tenure-server root certify --root root.key --public-key signing.pub --days 730 -o vendor-signing.cert" }
        ol start="2" {
            li { "Revoke a key (a stolen laptop, a leaked key): "
                @if vendor.revocations().is_some() { "download " a href="/console/keys/revocations.txt" download { "the list in force" } ", then run" }
                @else { "run" } }
        }
        pre { "tenure-server root revoke --root root.key "
              @if vendor.revocations().is_some() { "--list key-revocations.txt " }
              "KEY_ID --reason \"laptop stolen\" -o key-revocations.txt" }
        @if staff.role == Role::Admin {
            @if state.root_public.is_some() {
                (offline::file_form("/console/keys", &staff.csrf, "Signed file (certificate or revocation list)", "Check and record it"))
            } @else {
                p.problem { "This deployment was never certified by a root, so there is no root to check a file against: run `tenure-server key certify --root root.key` once where the data folder is." }
            }
        } @else {
            p { "An admin uploads the signed file." }
        }
        p { "An accepted file is recorded in the database; each instance sends it from its next start. Where the root and the data folder are on one machine, " code { "tenure-server key rotate" } " and " code { "key revoke" } " do it all in one step." }
    };
    page("Signing key", Some(staff), &body)
}

/// An admin uploads a certificate or revocation list the root signed.
async fn upload(State(state): State<AppState>, signed_in: SignedIn, form: Multipart) -> Response {
    let staff = &signed_in.session;
    let upload = match offline::read_upload(form).await {
        Ok(upload) => upload,
        Err(problem) => {
            let page = keys_page(&state, staff, Some(Err(&problem)));
            return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
        }
    };
    let by = match admin_change(staff, &upload.csrf, "record a file the root signed") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let Some(root_public) = state.root_public.as_deref() else {
        let denial = Denial::Invalid("this deployment has no root to check the file against: run `tenure-server key certify` once".into());
        return refusal(Some(staff), denial);
    };
    match signed_files::accept(&state.vendor, root_public, &upload.text, &by).await {
        Ok(accepted) => keys_page(&state, staff, Some(Ok(&said_of(&accepted)))).into_response(),
        Err(Denial::Invalid(problem)) => {
            let page = keys_page(&state, staff, Some(Err(&problem)));
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Err(e) => refusal(Some(staff), e),
    }
}

fn said_of(accepted: &Accepted) -> String {
    match accepted {
        Accepted::Certificate {
            until,
            max_grace_days,
        } => format!(
            "Recorded: a certificate for this key until {}, giving at most {max_grace_days} days of grace. Restart the instances to send it.",
            until.format("%Y-%m-%d")
        ),
        Accepted::Revocations {
            serial,
            keys,
            revokes_own_key,
        } => {
            let warning = if *revokes_own_key {
                " It revokes this deployment's own signing key: rotate it now, or workstations refuse every answer."
            } else {
                ""
            };
            format!(
                "Recorded: revocation list {serial}, revoking {keys} keys. Restart the instances to send it.{warning}"
            )
        }
    }
}

/// This key's public key file, for the root to certify.
async fn public_key(State(state): State<AppState>, _signed_in: SignedIn) -> Response {
    let key = state.vendor.key();
    download(
        &format!("signing-{}.pub", key.key_id()),
        key.public_key_text(),
    )
}

/// The revocation list in force, for the root to extend.
async fn revocations(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    match state.vendor.revocations() {
        Some(list) => download("key-revocations.txt", list.to_owned()),
        None => refusal(
            Some(&signed_in.session),
            Denial::NotFound("no key was ever revoked: there is no list yet".into()),
        ),
    }
}

fn download(name: &str, text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}
