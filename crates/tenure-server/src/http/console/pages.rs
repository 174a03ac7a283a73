//! The console's pages, rendered on the server with maud: every value is escaped as it is
//! written, so a license named `<script>` shows as text. No script runs; every form works as
//! plain HTML.

use maud::{Markup, html};

use super::CONSOLE;
use crate::http::web::{Visitor, offline, percent_encode};

use tenure_core::protocol::OfflineRequest;

use crate::service::{LicenseDetail, LicensePage, ListedLicense, Released, Role, StaffSession};

/// A signed-in member of staff as the frame shows them.
pub(super) fn visitor(staff: &StaffSession) -> Visitor<'_> {
    Visitor {
        who: format!("{} ({})", staff.name, staff.role.word()),
        csrf: &staff.csrf,
    }
}

pub(super) fn page(title: &str, staff: Option<&StaffSession>, body: &Markup) -> Markup {
    CONSOLE.page(title, staff.map(visitor).as_ref(), body)
}

/// The sign-in form, with what went wrong last time if anything did.
pub(super) fn sign_in(problem: Option<&str>, name: &str) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(problem) = problem {
            p.problem role="alert" { (problem) }
        }
        form method="post" action="/console/sign-in" {
            label for="name" { "Name" }
            input id="name" name="name" type="text" autocomplete="username" required value=(name);
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
    };
    page("Sign in", None, &body)
}

/// A page of licenses with the search that found them.
pub(super) fn licenses(staff: &StaffSession, query: &str, found: &LicensePage) -> Markup {
    let body = html! {
        h1 { "Licenses" }
        form.search method="get" action="/console/licenses" role="search" {
            label for="q" { "Search by id, account or customer" }
            input id="q" name="q" type="search" value=(query);
            button type="submit" { "Search" }
        }
        p {
            @if found.more { "More than " (found.total) " licenses · page " (found.page) }
            @else { (found.total) " licenses · page " (found.page) " of " (found.pages) }
        }
        div.scroll {
            table {
                thead { tr { th { "License" } th { "Account" } th { "Customer" } th { "Seats" } th { "Until" } th { "Bound to" } th { "State" } } }
                tbody {
                    @for license in &found.licenses { (license_row(license)) }
                }
            }
        }
        nav.pages aria-label="Pages" {
            @if found.page > 1 {
                a href=(page_link(query, found.page - 1)) { "← Newer" }
            }
            @if found.older {
                a href=(page_link(query, found.page + 1)) { "Older →" }
            }
        }
    };
    page("Licenses", Some(staff), &body)
}

fn license_row(license: &ListedLicense) -> Markup {
    let terms = &license.terms;
    html! {
        tr {
            td { a href={ "/console/licenses/" (license.id) } { (license.id) } }
            td { (license.account) }
            td { (terms.customer) }
            td { (terms.seats) " " (terms.kind.label()) }
            td { (terms.validity.expires) }
            td { @match &license.binding { Some(b) => (b.to_string()), None => "not activated" } }
            td { @if license.revoked { strong { "revoked" } } @else { "in force" } }
        }
    }
}

fn page_link(query: &str, page: u64) -> String {
    let mut link = format!("/console/licenses?page={page}");
    if !query.is_empty() {
        link.push_str("&q=");
        link.push_str(&percent_encode(query));
    }
    link
}

/// One license: its terms, where it is bound, its last validation, the overdraft reported,
/// the early returns confirmed; revoking it for an admin.
pub(super) fn license(staff: &StaffSession, detail: &LicenseDetail, said: Option<&str>) -> Markup {
    let license = &detail.license;
    let terms = &license.terms;
    let body = html! {
        h1 { "License " (license.id) }
        @if let Some(said) = said { p.said role="status" { (said) } }
        dl {
            dt { "Customer" } dd { (terms.customer) }
            dt { "Account" } dd { (license.account) }
            dt { "Key" } dd { (license.key) }
            dt { "Seats" } dd { (terms.seats) " " (terms.kind.label()) }
            dt { "Valid" } dd { (terms.validity.starts) " to " (terms.validity.expires) }
            dt { "Grace" } dd { (terms.grace_days) " days (at most " (terms.max_grace_days) ")" }
            dt { "Bound to" } dd { @match &license.binding { Some(b) => (b.to_string()), None => "not activated" } }
            dt { "Last validated" } dd { @match license.last_validated_at { Some(at) => (at.format("%Y-%m-%d %H:%M UTC")), None => "never" } }
            dt { "State" } dd { @if license.revoked { strong { "revoked" } } @else { "in force" } }
        }
        h2 { "Overdraft reported" }
        @if detail.overdraft.is_empty() { p { "None in the last 30 days." } }
        @else {
            ul { @for day in &detail.overdraft { li { (day.day) ": " (day.grants) " seats beyond the count" } } }
        }
        h2 { "Early returns of borrowed seats" }
        @if detail.early_returns.is_empty() { p { "None in the last 30 days." } }
        @else {
            ul { @for early in &detail.early_returns {
                li { "session " (early.session_id) ", confirmed " (early.confirmed_at.format("%Y-%m-%d %H:%M UTC")) }
            } }
        }
        h2 { "Moves in the last 30 days" }
        @if detail.moves.is_empty() { p { "None: it may move " (terms.max_rebinds_per_30_days) " times." } }
        @else {
            ul { @for m in &detail.moves {
                li {
                    (m.at.format("%Y-%m-%d %H:%M UTC")) ": from " (m.old.to_string()) " "
                    @if m.new.server.is_empty() { "(released)" } @else { "to " (m.new.to_string()) }
                    " — " (m.reason)
                }
            } }
            @if staff.role == Role::Admin {
                form method="post" action={ "/console/licenses/" (license.id) "/reset-moves" } {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    button type="submit" { "Forgive these moves" }
                }
            }
        }
        h2 { "Latest events" }
        p { a href={ "/console/usage?license=" (percent_encode(&license.id)) } { "Its usage per day, and every event" } }
        @if detail.events.is_empty() { p { "None yet." } }
        @else {
            div.scroll { table {
                thead { tr { th { "When" } th { "What" } th { "Outcome" } th { "Detail" } } }
                tbody { @for e in &detail.events { tr {
                    td { (e.at.format("%Y-%m-%d %H:%M:%S")) } td { (e.kind) } td { (e.outcome) } td { (e.detail) }
                } } }
            } }
        }
        @if staff.role == Role::Admin && !license.revoked {
            h2 { "Extend" }
            form method="post" action={ "/console/licenses/" (license.id) "/extend" } {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="expires" { "New last day" }
                input id="expires" name="expires" type="date" required min=(terms.validity.expires.succ_opt().unwrap_or(terms.validity.expires).to_string());
                button type="submit" { "Extend the license" }
            }
            h2 { "Revoke" }
            form method="post" action={ "/console/licenses/" (license.id) "/revoke" } {
                input type="hidden" name="csrf" value=(staff.csrf);
                p { "Its workstations are refused from their next validation on; offline ones stop when their grace ends." }
                label for="confirm" { "Type the license id to confirm" }
                input id="confirm" name="confirm" type="text" autocomplete="off" required;
                button.danger type="submit" { "Revoke this license" }
            }
        }
    };
    page(&format!("License {}", license.id), Some(staff), &body)
}

/// The upload form for a customer's offline file, with what went wrong last time if anything
/// did.
pub(super) fn offline(staff: &StaffSession, problem: Option<&str>) -> Markup {
    let intro = html! {
        p { "A customer with no internet sends a request file (" code { "tenure offline request …" } ") or a release file (" code { "tenure offline release" } "). Upload it to see what it asks, then answer it: the same rules as online, recorded under your name." }
    };
    let body = offline::upload(CONSOLE.root, &staff.csrf, &intro, problem);
    page("Offline files", Some(staff), &body)
}

/// What an uploaded request asks, with the button that answers it.
pub(super) fn preview(staff: &StaffSession, request: &OfflineRequest, text: &str) -> Markup {
    let body = html! {
        h1 { "Offline file" }
        (offline::preview(CONSOLE.root, &staff.csrf, request, text))
    };
    page("Offline file", Some(staff), &body)
}

/// A release taken.
pub(super) fn released(staff: &StaffSession, released: &Released) -> Markup {
    let back = format!("/console/licenses/{}", released.license_id);
    page("Released", Some(staff), &offline::released(released, &back))
}

/// A refusal, in a page of its own.
pub(super) fn refused(staff: Option<&StaffSession>, sentence: &str) -> Markup {
    CONSOLE.refused(staff.map(visitor).as_ref(), sentence)
}
