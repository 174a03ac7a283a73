//! The portal's pages, rendered on the server with maud (every value escaped as written).

use maud::{Markup, html};
use tenure_core::protocol::{AccountLicense, OfflineRequest};

use super::PORTAL;
use crate::http::web::{Visitor, offline};
use crate::service::{PortalSession, Released};

/// The signed-in account as the frame shows it.
pub(super) fn visitor(session: &PortalSession) -> Visitor<'_> {
    Visitor {
        who: match &session.user {
            Some(user) => format!("{user} ({})", session.account),
            None => session.account.clone(),
        },
        csrf: &session.csrf,
    }
}

pub(super) fn page(title: &str, session: &PortalSession, body: &Markup) -> Markup {
    PORTAL.page(title, Some(&visitor(session)), body)
}

/// The sign-in form, with what went wrong last time if anything did.
pub(super) fn sign_in(problem: Option<&str>, account: &str) -> Markup {
    let body = html! {
        h1 { "Sign in to your licenses" }
        @if let Some(problem) = problem {
            p.problem role="alert" { (problem) }
        }
        form method="post" action="/portal/sign-in" {
            label for="account" { "Account" }
            input id="account" name="account" type="text" autocomplete="username" required value=(account);
            label for="token" { "Account token (from your vendor, tnr_…)" }
            input id="token" name="token" type="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
        h2 { "Or as one of the account's users" }
        form method="post" action="/portal/sign-in-user" {
            label for="user-account" { "Account" }
            input id="user-account" name="account" type="text" required value=(account);
            label for="user" { "Your name" }
            input id="user" name="user" type="text" autocomplete="username" required;
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
    };
    PORTAL.page("Sign in", None, &body)
}

/// The account's licenses: where each is bound and the moves it has left.
pub(super) fn licenses(
    session: &PortalSession,
    licenses: &[AccountLicense],
    usage: &[crate::store::DayUsage],
) -> Markup {
    let body = html! {
        h1 { "Your licenses" }
        @if licenses.is_empty() { p { "This account has no licenses yet." } }
        @else {
            div.scroll {
                table {
                    thead { tr { th { "License" } th { "Key" } th { "Seats" } th { "Until" } th { "Offline grace" } th { "Bound to" } th { "Moves left (30 days)" } th { "State" } } }
                    tbody {
                        @for license in licenses {
                            @let terms = &license.terms;
                            tr {
                                td { (license.id) }
                                td { (license.key) }
                                td { (terms.seats) " " (terms.kind.label()) }
                                td { (terms.validity.expires) }
                                td { (terms.grace_days) " days (up to " (terms.max_grace_days) ")" }
                                td { @match &license.binding { Some(b) => (b.to_string()), None => "not activated" } }
                                td { @match license.rebinds_left { Some(left) => (left), None => "—" } }
                                td { @if license.revoked { strong { "revoked" } } @else { "in force" } }
                            }
                        }
                    }
                }
            }
        }
        p { "A site with no internet? " a href="/portal/offline" { "Answer its request file here" } "." }
        h2 { "Usage, the last 30 days" }
        (crate::http::web::chart::usage(usage))
    };
    page("Your licenses", session, &body)
}

/// The upload form, with what went wrong last time if anything did.
pub(super) fn offline(session: &PortalSession, problem: Option<&str>) -> Markup {
    let intro = html! {
        p { "On the workstation with no internet, write a request (" code { "tenure offline request …" } ") or a release (" code { "tenure offline release -o FILE" } "). Upload it here; for a request, import the answer you download with " code { "tenure offline import FILE" } "." }
    };
    let body = offline::upload(PORTAL.root, &session.csrf, &intro, problem);
    page("Offline files", session, &body)
}

/// What an uploaded request asks, with the button that answers it.
pub(super) fn preview(session: &PortalSession, request: &OfflineRequest, text: &str) -> Markup {
    let body = html! {
        h1 { "Offline file" }
        (offline::preview(PORTAL.root, &session.csrf, request, text))
    };
    page("Offline file", session, &body)
}

/// A release taken.
pub(super) fn released(session: &PortalSession, released: &Released) -> Markup {
    page(
        "Released",
        session,
        &offline::released(released, "/portal/licenses"),
    )
}

/// The token page: rotate, and the new token shown once.
pub(super) fn token(session: &PortalSession, new_token: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Account token" }
        @if session.user.is_some() {
            p { "Only the account, signed in with its token, gives it a new token." }
        } @else if let Some(token) = new_token {
            p.said role="status" { "Your new token, shown only now: keep it in your password manager. The old one works no more, and every other signed-in browser was signed out." }
            p.token { (token) }
        } @else {
            p { "A new token replaces the old one at once: workstations signed in to the account with the old token must sign in again, and every other browser is signed out." }
            form method="post" action="/portal/token" {
                input type="hidden" name="csrf" value=(session.csrf);
                button.danger type="submit" { "Give the account a new token" }
            }
        }
    };
    page("Account token", session, &body)
}
