//! Usage as the console reads it: requests per day (rolled up and recent alike) for the chart,
//! and the usage log page by page with filters.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{EventRow, Store, StoreError, day_secs, to_time};

/// One day's requests, as the console's chart shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DayUsage {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Validations answered.
    pub validations: u64,
    /// Activations answered (first and again).
    pub activations: u64,
    /// Requests refused, of every kind.
    pub refusals: u64,
}

/// Which events a page of the usage log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// One license's, or every license's when empty.
    pub license_id: String,
    /// One kind's ("validation", "license", …), or every kind's when empty.
    pub kind: String,
    /// Accepted, refused, or both.
    pub outcome: OutcomeFilter,
    /// From this day on (UTC), inclusive.
    pub from: NaiveDate,
    /// Up to this day (UTC), inclusive.
    pub to: NaiveDate,
}

/// The outcomes an events page shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutcomeFilter {
    /// Every outcome.
    #[default]
    All,
    /// Requests answered (`ok…`).
    Accepted,
    /// Requests refused (`refused…`).
    Refused,
}

impl OutcomeFilter {
    /// The `LIKE` pattern the outcome column is matched with.
    fn pattern(self) -> &'static str {
        match self {
            Self::All => "%",
            Self::Accepted => "ok%",
            Self::Refused => "refused%",
        }
    }
}

/// Where a page of the usage log ends: the next page starts just before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCursor {
    /// The last event's time, Unix seconds.
    pub at: i64,
    /// The last event's id (ids grow with time, so they order events of one second).
    pub id: String,
}

/// One page of the usage log, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsPage {
    /// The events.
    pub events: Vec<EventRow>,
    /// Where the next (older) page starts; `None` on the last page.
    pub next: Option<EventCursor>,
}

/// Whose requests a chart counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageOf<'a> {
    /// Every license's (and those of none).
    All,
    /// One license's.
    License(&'a str),
    /// One account's licenses'.
    Account(&'a str),
}

/// Per day: validations, activations and refusals, each as the sum of what its rows stand
/// for, from the daily roll-up and the recent log alike. `$1`, `$2`: the days (Unix days,
/// end exclusive); `$3`: the license, or '' for all; `$4`: the account, or '' for all.
const USAGE_BY_DAY: &str = "SELECT day, \
     CAST(SUM(CASE WHEN kind = 'validation' AND outcome LIKE 'ok%' THEN n ELSE 0 END) AS BIGINT) AS validations, \
     CAST(SUM(CASE WHEN kind = 'activation' AND outcome LIKE 'ok%' THEN n ELSE 0 END) AS BIGINT) AS activations, \
     CAST(SUM(CASE WHEN outcome LIKE 'refused%' THEN n ELSE 0 END) AS BIGINT) AS refusals \
     FROM (SELECT day, kind, outcome, count AS n FROM usage_daily \
           WHERE day >= $1 AND day < $2 AND ($3 = '' OR license_id = $3) \
           AND ($4 = '' OR license_id IN (SELECT id FROM licenses WHERE account = $4)) \
           UNION ALL \
           SELECT at / 86400 AS day, kind, outcome, count AS n FROM usage_events \
           WHERE at >= $1 * 86400 AND at < $2 * 86400 AND ($3 = '' OR license_id = $3) \
           AND ($4 = '' OR license_id IN (SELECT id FROM licenses WHERE account = $4))) AS u \
     GROUP BY day ORDER BY day";

/// A page of the usage log, newest first, from the cursor (`$2`, `$3`) back to `$1`, with
/// the filter's license (`$4`), kind (`$5`) and outcome pattern (`$6`); `$7` rows.
const EVENTS_PAGE: &str = "SELECT id, license_id, kind, outcome, detail, at, count \
     FROM usage_events WHERE at >= $1 AND (at < $2 OR (at = $2 AND id < $3)) \
     AND ($4 = '' OR license_id = $4) AND ($5 = '' OR kind = $5) AND outcome LIKE $6 \
     ORDER BY at DESC, id DESC LIMIT $7";

impl Store {
    /// Requests per day from `from` to `to` (inclusive), of `whose`; days with none are
    /// left out.
    pub async fn usage_by_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        whose: UsageOf<'_>,
    ) -> Result<Vec<DayUsage>, StoreError> {
        let unix_day = |day: NaiveDate| day_secs(day) / 86_400;
        let (license, account) = match whose {
            UsageOf::All => ("", ""),
            UsageOf::License(id) => (id, ""),
            UsageOf::Account(name) => ("", name),
        };
        let rows = sqlx::query(USAGE_BY_DAY)
            .bind(unix_day(from))
            .bind(unix_day(to) + 1)
            .bind(license)
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        let count = |row: &AnyRow, name: &str| -> Result<u64, sqlx::Error> {
            Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                let day: i64 = row.try_get("day")?;
                Ok(DayUsage {
                    day: to_time(day * 86_400).date_naive(),
                    validations: count(row, "validations")?,
                    activations: count(row, "activations")?,
                    refusals: count(row, "refusals")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// A page of at most `limit` events that pass `filter`, newest first, starting just
    /// before `after` (from the newest when `None`). Events rolled up into daily counts are
    /// no longer listed one by one.
    pub async fn events_page(
        &self,
        filter: &EventFilter,
        after: Option<&EventCursor>,
        limit: u32,
    ) -> Result<EventsPage, StoreError> {
        let end = day_secs(filter.to) + 86_400;
        let (before_at, before_id) = match after {
            Some(cursor) => (cursor.at.min(end), cursor.id.as_str()),
            None => (end, ""),
        };
        let rows = sqlx::query(EVENTS_PAGE)
            .bind(day_secs(filter.from))
            .bind(before_at)
            .bind(before_id)
            .bind(filter.license_id.as_str())
            .bind(filter.kind.as_str())
            .bind(filter.outcome.pattern())
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let shown = rows.len().min(limit as usize);
        let next = if rows.len() > shown {
            rows.get(shown - 1)
                .map(|last| -> Result<EventCursor, sqlx::Error> {
                    Ok(EventCursor {
                        at: last.try_get("at")?,
                        id: last.try_get("id")?,
                    })
                })
                .transpose()?
        } else {
            None
        };
        let events = rows[..shown]
            .iter()
            .map(event_of)
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(EventsPage { events, next })
    }

    /// A license's latest `limit` usage events (activations, validations, refusals, staff
    /// changes), newest first.
    pub async fn latest_events(
        &self,
        license_id: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<EventRow>, StoreError> {
        let filter = EventFilter {
            license_id: license_id.to_owned(),
            from: NaiveDate::MIN,
            to: now.date_naive(),
            ..EventFilter::default()
        };
        Ok(self.events_page(&filter, None, limit).await?.events)
    }
}

fn event_of(row: &AnyRow) -> Result<EventRow, sqlx::Error> {
    Ok(EventRow {
        license_id: row.try_get("license_id")?,
        kind: row.try_get("kind")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        at: to_time(row.try_get("at")?),
        count: u64::try_from(row.try_get::<i64, _>("count")?).unwrap_or(1),
    })
}
