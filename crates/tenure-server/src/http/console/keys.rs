//! The console's keys page: the key this instance signs with, its certificate from the
//! vendor's root and how long it has left, whether the deployment moved to another key, and the
//! commands that rotate or revoke it. The root never comes online: those commands run where it
//! is kept, and the server picks up what they write.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;

use super::SignedIn;
use super::pages::page;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/console/keys", get(keys))
}

async fn keys(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    let staff = &signed_in.session;
    let vendor = &state.vendor;
    let now = vendor.now();
    let certificate = vendor.certificate_terms();
    let body = html! {
        h1 { "Signing key" }
        @if let Some(other) = vendor.replaced_by() {
            p.problem role="alert" { "The database names key " (other) " as the deployment's current one: this instance signs nothing until it is restarted with that key." }
        }
        dl {
            dt { "Key id" } dd { (vendor.key().key_id().to_string()) }
            @match certificate {
                Some(cert) => {
                    dt { "Certified as" } dd { (cert.label) }
                    dt { "Valid" } dd { (cert.not_before.format("%Y-%m-%d")) " to " (cert.not_after.format("%Y-%m-%d")) }
                    dt { "Days left" } dd {
                        @let left = (cert.not_after - now).num_days();
                        @if left < 30 { strong { (left) " days: rotate it soon" } } @else { (left) " days" }
                    }
                    dt { "Longest grace it may give" } dd { (cert.max_grace_days) " days" }
                }
                None => {
                    dt { "Certificate" } dd { strong { "none: workstations that pin the vendor's root refuse what this key signs" } }
                }
            }
            dt { "Revocation list" } dd { @if vendor.revocations().is_some() { "sent with every answer" } @else { "none" } }
        }
        h2 { "Rotate or revoke" }
        p { "The root key stays offline. On the machine that keeps it, with the server's data folder reachable:" }
        pre { "tenure-server --data-dir /srv/tenure key rotate --root /media/offline/root.key\n"
              "tenure-server --data-dir /srv/tenure key revoke --root /media/offline/root.key KEY_ID --reason \"laptop stolen\"" }
        p { "A rotated key signs from the next start of each instance; the old key's licenses keep working until their next validation replaces them. A revoked key's licenses are refused by workstations once they hear of it." }
    };
    page("Signing key", Some(staff), &body).into_response()
}
