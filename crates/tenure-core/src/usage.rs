//! Usage of concurrent seats, from the sessions' intervals: seats in use over time, the peak and
//! the refusals of each day (UTC), and how long each user held a seat.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// A seat held from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Who.
    pub login: String,
    /// From.
    pub start: DateTime<Utc>,
    /// Until (the end, the lease's end, or now for a live session).
    pub end: DateTime<Utc>,
    /// Given beyond the license's count, under its overdraft.
    pub overdraft: bool,
}

/// One day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayUsage {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Most seats in use at once.
    pub peak: u32,
    /// Checkouts refused for want of a seat.
    pub refusals: u32,
    /// Seat time used, in seconds.
    pub seat_seconds: i64,
    /// Seats given beyond the count (overdraft) that started this day.
    pub overdraft: u32,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserUsage {
    /// Who.
    pub login: String,
    /// Seat time, in seconds.
    pub seat_seconds: i64,
    /// Sessions.
    pub sessions: u32,
}

/// A usage report over `from..to`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Usage {
    /// Seats in use: each change, from `from` to `to`.
    pub timeline: Vec<(DateTime<Utc>, u32)>,
    /// Each day from `from` to `to`.
    pub days: Vec<DayUsage>,
    /// Each user, most seat time first.
    pub users: Vec<UserUsage>,
}

fn clip(
    held: &Held,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (start, end) = (held.start.max(from), held.end.min(to));
    (start < end).then_some((start, end))
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Computes the report. Sessions outside `from..to` count only for their part inside it.
pub fn usage(
    held: &[Held],
    refusals: &[DateTime<Utc>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Usage {
    if to <= from {
        return Usage::default();
    }
    // +1 at a start, −1 at an end; at one instant, ends first, so back-to-back is not overlap.
    let mut changes: Vec<(DateTime<Utc>, i64)> = Vec::new();
    let mut users: BTreeMap<&str, UserUsage> = BTreeMap::new();
    let mut days: BTreeMap<NaiveDate, DayUsage> = BTreeMap::new();
    let mut day = from.date_naive();
    while day <= to.date_naive() {
        days.insert(
            day,
            DayUsage {
                day,
                peak: 0,
                refusals: 0,
                seat_seconds: 0,
                overdraft: 0,
            },
        );
        day = day.succ_opt().unwrap_or(NaiveDate::MAX);
        if day == NaiveDate::MAX {
            break;
        }
    }
    for h in held {
        if h.overdraft
            && h.start >= from
            && let Some(d) = days.get_mut(&h.start.date_naive())
        {
            d.overdraft += 1;
        }
        let Some((start, end)) = clip(h, from, to) else {
            continue;
        };
        changes.push((start, 1));
        changes.push((end, -1));
        let user = users.entry(&h.login).or_insert_with(|| UserUsage {
            login: h.login.clone(),
            seat_seconds: 0,
            sessions: 0,
        });
        user.seat_seconds += (end - start).num_seconds();
        user.sessions += 1;
        // Seat time per day, split at midnight.
        let mut cursor = start;
        while cursor < end {
            let next_day = day_start(cursor.date_naive() + Duration::days(1));
            let piece_end = end.min(next_day);
            if let Some(d) = days.get_mut(&cursor.date_naive()) {
                d.seat_seconds += (piece_end - cursor).num_seconds();
            }
            cursor = piece_end;
        }
    }
    changes.sort_by_key(|(at, delta)| (*at, *delta));
    let mut timeline = vec![(from, 0u32)];
    let mut in_use: i64 = 0;
    for (at, delta) in changes {
        in_use += delta;
        let count = u32::try_from(in_use).unwrap_or(0);
        if let Some(d) = days.get_mut(&at.date_naive()) {
            d.peak = d.peak.max(count);
        }
        match timeline.last_mut() {
            Some(last) if last.0 == at => last.1 = count,
            _ => timeline.push((at, count)),
        }
    }
    // A seat held across midnight is in use at the start of the next day.
    let mut running = 0u32;
    let mut points = timeline.iter().peekable();
    for d in days.values_mut() {
        let start = day_start(d.day);
        while let Some((at, count)) = points.peek() {
            if *at > start {
                break;
            }
            running = *count;
            points.next();
        }
        d.peak = d.peak.max(running);
    }
    for at in refusals {
        if *at >= from
            && *at < to
            && let Some(d) = days.get_mut(&at.date_naive())
        {
            d.refusals += 1;
        }
    }
    let mut users: Vec<UserUsage> = users.into_values().collect();
    users.sort_by(|a, b| {
        b.seat_seconds
            .cmp(&a.seat_seconds)
            .then_with(|| a.login.cmp(&b.login))
    });
    Usage {
        timeline,
        days: days.into_values().collect(),
        users,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn held(login: &str, start: &str, end: &str) -> Held {
        Held {
            login: login.into(),
            start: at(start),
            end: at(end),
            overdraft: false,
        }
    }

    #[test]
    fn peaks_refusals_and_seat_time() {
        let sessions = [
            held("ana", "2026-11-01T08:00:00Z", "2026-11-01T12:00:00Z"),
            held("bo", "2026-11-01T11:00:00Z", "2026-11-02T01:00:00Z"),
            // Back to back with ana's end: not an overlap.
            held("cy", "2026-11-01T12:00:00Z", "2026-11-01T13:00:00Z"),
        ];
        let refusals = [at("2026-11-01T11:30:00Z"), at("2026-11-02T09:00:00Z")];
        let u = usage(
            &sessions,
            &refusals,
            at("2026-11-01T00:00:00Z"),
            at("2026-11-03T00:00:00Z"),
        );
        assert_eq!(u.days.len(), 3);
        assert_eq!((u.days[0].peak, u.days[0].refusals), (2, 1));
        // bo held the seat past midnight: one in use at the start of the 2nd.
        assert_eq!((u.days[1].peak, u.days[1].refusals), (1, 1));
        assert_eq!(u.days[2].peak, 0);
        assert_eq!(u.days[1].seat_seconds, 3600);
        assert_eq!(u.users[0].login, "bo");
        assert_eq!(u.users[0].seat_seconds, 14 * 3600);
        let peak = u.timeline.iter().map(|(_, n)| *n).max();
        assert_eq!(peak, Some(2));
    }

    #[test]
    fn overdraft_grants_count_on_the_day_they_start() {
        let mut over = held("dan", "2026-11-01T23:00:00Z", "2026-11-02T02:00:00Z");
        over.overdraft = true;
        let mut again = held("eve", "2026-11-02T09:00:00Z", "2026-11-02T10:00:00Z");
        again.overdraft = true;
        // Started before the report's window: not counted in it.
        let mut before = held("fay", "2026-10-31T22:00:00Z", "2026-11-01T01:00:00Z");
        before.overdraft = true;
        let sessions = [
            over,
            again,
            before,
            held("ana", "2026-11-02T08:00:00Z", "2026-11-02T12:00:00Z"),
        ];
        let u = usage(
            &sessions,
            &[],
            at("2026-11-01T00:00:00Z"),
            at("2026-11-03T00:00:00Z"),
        );
        let counts: Vec<u32> = u.days.iter().map(|d| d.overdraft).collect();
        assert_eq!(counts, [1, 1, 0]);
    }
}
