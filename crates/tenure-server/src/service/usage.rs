//! Usage as the vendor's staff read it: requests per day for the chart, and the usage log page
//! by page with filters. Both read the database only.

use chrono::NaiveDate;
use tenure_core::protocol::limits;

use super::{Denial, Licenses, check_text};
use crate::store::{DayUsage, EventCursor, EventFilter, EventsPage, UsageOf};

/// The longest span the chart and the log are read over, in days.
pub const MAX_USAGE_DAYS: i64 = 366;

/// Events on one page of the usage log.
pub const EVENTS_PER_PAGE: u32 = 100;

impl Licenses<'_> {
    /// Validations, activations and refusals per day from `from` to `to` (inclusive), of
    /// every license, one license, or one account's; days with none are left out.
    pub async fn usage_by_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        whose: UsageOf<'_>,
    ) -> Result<Vec<DayUsage>, Denial> {
        check_span(from, to)?;
        match whose {
            UsageOf::All => {}
            UsageOf::License(id) => check_text("license id", id, limits::LICENSE_ID_CHARS)?,
            UsageOf::Account(name) => check_text("account", name, limits::ACCOUNT_NAME_CHARS)?,
        }
        Ok(self.vendor.store.usage_by_day(from, to, whose).await?)
    }

    /// A page of the usage log that passes `filter`, newest first, starting just before
    /// `after` (from the newest when `None`).
    pub async fn events(
        &self,
        filter: &EventFilter,
        after: Option<&EventCursor>,
    ) -> Result<EventsPage, Denial> {
        check_span(filter.from, filter.to)?;
        for (field, text) in [("license id", &filter.license_id), ("kind", &filter.kind)] {
            if !text.is_empty() {
                check_text(field, text, limits::LICENSE_ID_CHARS)?;
            }
        }
        Ok(self
            .vendor
            .store
            .events_page(filter, after, EVENTS_PER_PAGE)
            .await?)
    }
}

/// A span of days the chart or the log may be read over.
fn check_span(from: NaiveDate, to: NaiveDate) -> Result<(), Denial> {
    if from > to {
        return Err(Denial::Invalid(format!(
            "the first day ({from}) is after the last ({to}): swap them"
        )));
    }
    if (to - from).num_days() >= MAX_USAGE_DAYS {
        return Err(Denial::Invalid(format!(
            "{from} to {to} is longer than {MAX_USAGE_DAYS} days: ask for a shorter span"
        )));
    }
    Ok(())
}
