//! Dates and durations in words, in local time.

use chrono::{DateTime, Local, Utc};

/// `Tue 22 Dec 2026`
pub fn date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%a %d %b %Y").to_string()
}

/// `22 Dec 2026`, for table cells.
pub fn short_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%d %b %Y").to_string()
}

/// `22 Dec 09:12`, for table cells (the year on hover).
pub fn short_date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%d %b %H:%M").to_string()
}

/// `Fri 20 Nov 2026, 09:12`
pub fn date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%a %d %b %Y, %H:%M")
        .to_string()
}

/// The local zone, shown once per screen: `UTC+01:00`.
pub fn zone() -> String {
    Local::now().format("UTC%:z").to_string()
}

/// `just now`, `5 minutes ago`, `3 days ago`.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3_600 => plural(s / 60, "minute") + " ago",
        s if s < 86_400 => plural(s / 3_600, "hour") + " ago",
        s => plural(s / 86_400, "day") + " ago",
    }
}

pub use crate::present::{countdown, plural};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_in_words() {
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now, now - chrono::Duration::minutes(1)), "1 minute ago");
        assert_eq!(ago(now, now - chrono::Duration::days(3)), "3 days ago");
    }

    #[test]
    fn countdown_in_words() {
        let left = chrono::Duration::days(2) + chrono::Duration::hours(4);
        assert_eq!(countdown(left), "2 days 4 hours");
        assert_eq!(countdown(chrono::Duration::minutes(61)), "1 hour 1 minute");
        assert_eq!(countdown(chrono::Duration::seconds(-5)), "0 minutes");
    }
}
