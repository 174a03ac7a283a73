//! The answer to "may I take a concurrent seat?": a session, or a refusal that reads as a
//! sentence ready to show.

use std::fmt;

use chrono::{DateTime, Local, Utc};

use crate::authorize::Reason;
use crate::product_db::Session;

/// Why no seat was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatRefusal {
    /// Every seat is in use: the pool's, or the user's group's share of it.
    Full {
        /// Seats in use.
        in_use: u32,
        /// Seats in the pool, or in the group's share.
        seats: u32,
        /// The group whose share is full; `None` when the whole pool is.
        group: Option<String>,
        /// When the first lease ends.
        next_free: Option<DateTime<Utc>>,
    },
    /// Others wait for the seats there are: this user now stands in line, or (when it did not
    /// ask to wait) was turned away for them.
    InLine {
        /// Its place, 1 for the head; `None` when it did not ask to wait.
        position: Option<u32>,
        /// Waiters ahead of it.
        ahead: u32,
        /// When the first lease in use ends.
        next_free: Option<DateTime<Utc>>,
    },
    /// The license does not allow work now (expired, grace over, another database …).
    NotLicensed(Reason),
    /// The license counts named users, not concurrent seats.
    NotConcurrent,
    /// A borrow longer than the license allows.
    BorrowTooLong {
        /// Days asked for.
        asked: u32,
        /// Days allowed.
        max: u32,
    },
    /// The seat borrowed onto this machine has ended.
    BorrowEnded {
        /// When.
        ended_at: DateTime<Utc>,
    },
}

impl SeatRefusal {
    /// A stable name for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            SeatRefusal::Full { .. } => "no_seat_free",
            SeatRefusal::InLine {
                position: Some(_), ..
            } => "waiting_in_line",
            SeatRefusal::InLine { position: None, .. } => "others_waiting",
            SeatRefusal::NotLicensed(reason) => reason.code(),
            SeatRefusal::NotConcurrent => "not_concurrent_license",
            SeatRefusal::BorrowTooLong { .. } => "borrow_too_long",
            SeatRefusal::BorrowEnded { .. } => "borrow_ended",
        }
    }
}

fn clock(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    if local.date_naive() == Local::now().date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%a %d %b %H:%M").to_string()
    }
}

/// "1st", "2nd", "3rd", "4th", … "11th", "21st".
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl fmt::Display for SeatRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeatRefusal::Full {
                in_use,
                seats,
                group,
                next_free,
            } => {
                let whose = group.as_deref().map_or(String::new(), |g| format!("{g} "));
                write!(
                    f,
                    "No {whose}seat is free ({in_use} of {seats} in use). Try again later"
                )?;
                match next_free {
                    Some(t) => write!(f, " — the next lease ends at {}.", clock(*t)),
                    None => write!(f, "."),
                }
            }
            SeatRefusal::InLine {
                position,
                ahead,
                next_free,
            } => {
                match position {
                    Some(p) => write!(f, "You are {} in line for a seat", ordinal(*p))?,
                    None => write!(
                        f,
                        "{ahead} {} waiting in line for the seats there are; wait in line to be \
                         given the next one",
                        if *ahead == 1 { "user is" } else { "users are" }
                    )?,
                }
                match next_free {
                    Some(t) => write!(f, "; the next lease ends at {}.", clock(*t)),
                    None => write!(f, "."),
                }
            }
            SeatRefusal::NotLicensed(reason) => {
                let refusal = crate::authorize::Refusal {
                    login: String::new(),
                    reason: reason.clone(),
                };
                let text = refusal.to_string();
                let sentence = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest);
                write!(f, "No seat can be taken: {sentence}")
            }
            SeatRefusal::NotConcurrent => write!(
                f,
                "The license counts named users, not concurrent seats: ask whether the user is \
                 authorised instead."
            ),
            SeatRefusal::BorrowTooLong { asked, max } => write!(
                f,
                "A seat can be borrowed for at most {max} days under this license, not {asked}."
            ),
            SeatRefusal::BorrowEnded { ended_at } => write!(
                f,
                "The seat borrowed onto this machine ended at {}: connect to the product \
                 database to take a seat again.",
                clock(*ended_at)
            ),
        }
    }
}

/// The answer to a checkout or a borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatAnswer {
    /// A seat, held by this session.
    Granted(Session),
    /// No seat, and why.
    Refused(SeatRefusal),
}

impl SeatAnswer {
    /// The session, when granted.
    pub fn session(&self) -> Option<&Session> {
        match self {
            SeatAnswer::Granted(s) => Some(s),
            SeatAnswer::Refused(_) => None,
        }
    }
}

impl fmt::Display for SeatAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeatAnswer::Granted(s) => match s.borrowed_until {
                Some(until) => write!(
                    f,
                    "Seat borrowed for {} on {} until {} (session {}).",
                    s.login,
                    s.machine,
                    clock(until),
                    s.id
                ),
                None => write!(
                    f,
                    "Seat taken for {} on {} (session {}); the lease runs to {} and renews with \
                     each heartbeat.",
                    s.login,
                    s.machine,
                    s.id,
                    clock(s.lease_until)
                ),
            }
            .and_then(|()| {
                if s.overdraft {
                    write!(
                        f,
                        " Every seat the license counts was in use: this one is over the count \
                         (its overdraft), and is recorded as such."
                    )
                } else {
                    Ok(())
                }
            }),
            SeatAnswer::Refused(r) => r.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_line_read_as_english() {
        let said: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            said,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
        let waiting = SeatRefusal::InLine {
            position: Some(2),
            ahead: 1,
            next_free: None,
        };
        assert_eq!(waiting.to_string(), "You are 2nd in line for a seat.");
        assert_eq!(waiting.code(), "waiting_in_line");
    }
}
