//! The console's usage page: validations and refusals per day as charts, and the usage log
//! below them, filtered by days, license, kind and outcome, page by page. One form (GET) sets
//! every filter, so a filtered view is a link staff can share.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::SignedIn;
use super::pages::page;
use crate::AppState;
use crate::http::web::{chart, percent_encode};
use crate::service::{Denial, StaffSession};
use crate::store::{DayUsage, EventCursor, EventFilter, EventsPage, OutcomeFilter, UsageOf};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/console/usage", get(usage))
}

/// The kinds of event the log holds, as the filter offers them.
const KINDS: &[&str] = &[
    "validation",
    "activation",
    "grace_extension",
    "rebind",
    "release",
    "license",
    "account",
    "staff",
    "webhook",
];

/// The filters as typed: text, so a mistyped day is named on the page instead of refused by
/// the framework.
#[derive(Debug, Default, Deserialize)]
struct UsageQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    license: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    after: String,
}

/// The days shown when none are asked for.
const DEFAULT_DAYS: u64 = 30;

async fn usage(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<UsageQuery>,
) -> Response {
    let staff = &signed_in.session;
    let today = state.vendor.now().date_naive();
    let filter = match filter_of(&query, today) {
        Ok(filter) => filter,
        Err(problem) => {
            let body =
                html! { h1 { "Usage" } (form(&query, None)) p.problem role="alert" { (problem) } };
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Usage", Some(staff), &body),
            )
                .into_response();
        }
    };
    let after = cursor_of(&query.after);
    let licenses = state.vendor.licenses();
    let whose = if filter.license_id.is_empty() {
        UsageOf::All
    } else {
        UsageOf::License(&filter.license_id)
    };
    let read = async {
        let days = licenses.usage_by_day(filter.from, filter.to, whose).await?;
        let events = licenses.events(&filter, after.as_ref()).await?;
        Ok::<_, Denial>((days, events))
    };
    match read.await {
        Ok((days, events)) => {
            let days = chart::every_day(&days, filter.from, filter.to);
            usage_page(staff, &query, &filter, &days, &events).into_response()
        }
        Err(denial) => super::refusal(Some(staff), denial),
    }
}

/// The filter the query asks for, or what is wrong with it.
fn filter_of(query: &UsageQuery, today: NaiveDate) -> Result<EventFilter, String> {
    let day = |text: &str, name: &str, default: NaiveDate| -> Result<NaiveDate, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(default);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("the {name} day is a date as YYYY-MM-DD, not {text:?}"))
    };
    let to = day(&query.to, "last", today)?;
    let from = day(
        &query.from,
        "first",
        to - chrono::Days::new(DEFAULT_DAYS - 1),
    )?;
    let outcome = match query.outcome.as_str() {
        "" => OutcomeFilter::All,
        "accepted" => OutcomeFilter::Accepted,
        "refused" => OutcomeFilter::Refused,
        other => {
            return Err(format!(
                "the outcome is accepted, refused or empty, not {other:?}"
            ));
        }
    };
    let kind = query.kind.trim();
    if !kind.is_empty() && !KINDS.contains(&kind) {
        return Err(format!(
            "there is no kind of event {kind:?}: choose one from the list"
        ));
    }
    Ok(EventFilter {
        license_id: query.license.trim().to_owned(),
        kind: kind.to_owned(),
        outcome,
        from,
        to,
    })
}

/// A page's cursor as its link carries it (`1764806400.ev_…`); anything else starts from
/// the newest.
fn cursor_of(text: &str) -> Option<EventCursor> {
    let (at, id) = text.split_once('.')?;
    Some(EventCursor {
        at: at.parse().ok()?,
        id: id.to_owned(),
    })
}

fn usage_page(
    staff: &StaffSession,
    query: &UsageQuery,
    filter: &EventFilter,
    days: &[DayUsage],
    events: &EventsPage,
) -> Markup {
    let whose = if filter.license_id.is_empty() {
        "every license".to_owned()
    } else {
        format!("license {}", filter.license_id)
    };
    let body = html! {
        h1 { "Usage" }
        (form(query, Some(filter)))
        h2 { "Requests per day, " (filter.from) " to " (filter.to) ", " (whose) }
        (chart::usage(days))
        h2 { "Events" }
        @if events.events.is_empty() {
            p { "No event passes these filters. Events older than the server keeps one by one are in the daily figures above." }
        } @else {
            div.scroll { table {
                thead { tr { th { "When (UTC)" } th { "License" } th { "What" } th { "Outcome" } th { "Requests" } th { "Detail" } } }
                tbody { @for e in &events.events { tr {
                    td { (e.at.format("%Y-%m-%d %H:%M:%S")) }
                    td { @match &e.license_id {
                        Some(id) => a href={ "/console/licenses/" (percent_encode(id)) } { (id) },
                        None => "—",
                    } }
                    td { (e.kind) } td { (e.outcome) } td { (e.count) } td { (e.detail) }
                } } }
            } }
        }
        @if let Some(next) = &events.next {
            nav.pages aria-label="Pages" {
                a href=(older_link(query, next)) { "Older →" }
            }
        }
    };
    page("Usage", Some(staff), &body)
}

/// The filters' form, filled with what was asked (the days shown when none were).
fn form(query: &UsageQuery, shown: Option<&EventFilter>) -> Markup {
    let day = |asked: &str, shown: Option<NaiveDate>| match shown {
        Some(day) if asked.trim().is_empty() => day.to_string(),
        _ => asked.to_owned(),
    };
    let from = day(&query.from, shown.map(|f| f.from));
    let to = day(&query.to, shown.map(|f| f.to));
    html! {
        form.search method="get" action="/console/usage" aria-label="Filters" {
            div { label for="from" { "From" } input id="from" name="from" type="date" value=(from); }
            div { label for="to" { "To" } input id="to" name="to" type="date" value=(to); }
            div { label for="license" { "License id" } input id="license" name="license" type="text" value=(query.license); }
            div {
                label for="kind" { "Kind" }
                select id="kind" name="kind" {
                    option value="" { "every kind" }
                    @for kind in KINDS { option value=(kind) selected[query.kind == *kind] { (kind) } }
                }
            }
            div {
                label for="outcome" { "Outcome" }
                select id="outcome" name="outcome" {
                    option value="" { "every outcome" }
                    option value="accepted" selected[query.outcome == "accepted"] { "accepted" }
                    option value="refused" selected[query.outcome == "refused"] { "refused" }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

/// The link to the page after `next`, with the same filters.
fn older_link(query: &UsageQuery, next: &EventCursor) -> String {
    use std::fmt::Write as _;
    let mut link = String::from("/console/usage?");
    for (name, value) in [
        ("from", &query.from),
        ("to", &query.to),
        ("license", &query.license),
        ("kind", &query.kind),
        ("outcome", &query.outcome),
    ] {
        if !value.is_empty() {
            let _ = write!(link, "{name}={}&", percent_encode(value));
        }
    }
    let _ = write!(link, "after={}.{}", next.at, percent_encode(&next.id));
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_day_or_kind_is_named_and_the_default_is_the_last_thirty_days() {
        let today: NaiveDate = "2026-12-04".parse().expect("day");
        let filter = filter_of(&UsageQuery::default(), today).expect("defaults");
        assert_eq!(
            (filter.from.to_string(), filter.to),
            ("2026-11-05".into(), today)
        );
        let typo = UsageQuery {
            from: "04/12/2026".into(),
            ..UsageQuery::default()
        };
        let problem = filter_of(&typo, today).expect_err("a mistyped day");
        assert!(
            problem.contains("YYYY-MM-DD") && problem.contains("04/12/2026"),
            "{problem}"
        );
        let kind = UsageQuery {
            kind: "drop table".into(),
            ..UsageQuery::default()
        };
        assert!(filter_of(&kind, today).is_err());
        assert_eq!(cursor_of("17.ev_1").map(|c| c.at), Some(17));
        assert_eq!(cursor_of("garbage"), None);
    }
}
