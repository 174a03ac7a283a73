//! The product's question "may this user work now?", answered as a grant or a refusal whose
//! text is a sentence ready to show the user.

use std::fmt;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use tenure_core::{Binding, Status};

/// A user may work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Who.
    pub login: String,
    /// True when the seat was given just now by the automatic-seat policy.
    pub auto_assigned: bool,
    /// Offline grace days left on the license.
    pub grace_days_left: u32,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "User {} is authorised", self.login)?;
        if self.auto_assigned {
            write!(f, " (a free named-user seat was given automatically)")?;
        }
        write!(f, ".")
    }
}

/// Why a user may not work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// No license on this workstation.
    NoLicense,
    /// The license's validity is over.
    LicenseExpired {
        /// When.
        ended_at: DateTime<Utc>,
    },
    /// The license has not started.
    NotYetValid {
        /// When it starts.
        starts_at: DateTime<Utc>,
    },
    /// Offline too long.
    GraceExpired {
        /// When grace ended.
        ended_at: DateTime<Utc>,
    },
    /// The database is not the one licensed.
    BindingMismatch {
        /// Where the license is bound.
        licensed: Binding,
        /// This database.
        current: Binding,
    },
    /// The license's account activated it on another database.
    Moved {
        /// When.
        at: DateTime<Utc>,
    },
    /// The clock was set back.
    ClockSetBack {
        /// The latest time seen before.
        seen: DateTime<Utc>,
    },
    /// The license counts concurrent seats, not named users.
    NotNamedLicense,
    /// The user is not in the database's user list.
    UnknownUser,
    /// The user is disabled.
    Disabled,
    /// The user holds no seat.
    NoSeat {
        /// Seats in use.
        in_use: u64,
        /// Seats the license grants.
        seats: u32,
    },
    /// The user's seat is one too many: others were assigned earlier.
    BeyondLimit {
        /// Seats the license grants.
        seats: u32,
    },
    /// The user's group has used its share of the seats: others in it were assigned earlier.
    GroupFull {
        /// The group; `None` for the part of the seats no group was given.
        group: Option<String>,
        /// Seats its members hold.
        in_use: u64,
        /// Its share.
        seats: u32,
    },
}

impl Reason {
    /// Maps a status that does not allow work to a reason; `None` when the status allows it.
    pub fn from_status(status: &Status) -> Option<Self> {
        Some(match status {
            Status::Valid(_) | Status::Warning(_) => return None,
            Status::Unlicensed => Reason::NoLicense,
            Status::LicenseExpired { ended_at } => Reason::LicenseExpired {
                ended_at: *ended_at,
            },
            Status::NotYetValid { starts_at } => Reason::NotYetValid {
                starts_at: *starts_at,
            },
            Status::GraceExpired { ended_at } => Reason::GraceExpired {
                ended_at: *ended_at,
            },
            Status::BindingMismatch { licensed, current } => Reason::BindingMismatch {
                licensed: licensed.clone(),
                current: current.clone(),
            },
            Status::Moved { at, .. } => Reason::Moved { at: *at },
            Status::ClockRolledBack { seen, .. } => Reason::ClockSetBack { seen: *seen },
        })
    }

    /// A stable name for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NoLicense => "no_license",
            Reason::LicenseExpired { .. } => "license_expired",
            Reason::NotYetValid { .. } => "not_yet_valid",
            Reason::GraceExpired { .. } => "grace_expired",
            Reason::BindingMismatch { .. } => "binding_mismatch",
            Reason::Moved { .. } => "moved",
            Reason::ClockSetBack { .. } => "clock_set_back",
            Reason::NotNamedLicense => "not_named_license",
            Reason::UnknownUser => "unknown_user",
            Reason::Disabled => "disabled",
            Reason::NoSeat { .. } => "no_seat",
            Reason::BeyondLimit { .. } => "beyond_limit",
            Reason::GroupFull { .. } => "group_full",
        }
    }

    /// For an admin who just gave `login` a seat that this refusal will meet at sign-in (the
    /// group's share is taken): what happens and how to fix it. `None` for other reasons.
    pub fn beyond_share_warning(&self, login: &str) -> Option<String> {
        let Reason::GroupFull {
            group,
            in_use,
            seats,
        } = self
        else {
            return None;
        };
        Some(match group {
            Some(group) => format!(
                "{login} has a seat, but {group}'s share of {seats} is taken ({in_use} in use, \
                 assigned earlier): {login} is refused at sign-in until {group} gets a larger \
                 share on the Allocations screen or one of its seats is freed."
            ),
            None => format!(
                "{login} has a seat, but the seats outside the groups are taken ({in_use} of \
                 {seats}, assigned earlier): {login} is refused at sign-in until a seat is freed \
                 or {login} joins a group with room."
            ),
        })
    }

    /// What is wrong and who can fix it, after "User X is not authorised: ".
    fn sentence(&self) -> String {
        const ADMIN: &str = "Ask your license administrator.";
        let day = |t: &DateTime<Utc>| t.with_timezone(&Local).format("%a %d %b %Y").to_string();
        match self {
            Reason::NoLicense => format!("no license is activated for this database. {ADMIN}"),
            Reason::LicenseExpired { ended_at } => format!(
                "the license expired on {}. Ask your license administrator to renew it.",
                day(ended_at)
            ),
            Reason::NotYetValid { starts_at } => format!(
                "the license starts on {}. Wait until then, or check the computer's clock.",
                day(starts_at)
            ),
            Reason::GraceExpired { ended_at } => format!(
                "the offline grace period ended on {}; the license must be validated with the \
                 license server. {ADMIN}",
                day(ended_at)
            ),
            Reason::BindingMismatch { licensed, current } => format!(
                "the license belongs to another database ({}). Ask IT to re-validate the license \
                 for this database.",
                licensed.describe_change(current)
            ),
            Reason::Moved { at } => format!(
                "the license was activated on another database on {}, so it no longer works \
                 here. {ADMIN}",
                day(at)
            ),
            Reason::ClockSetBack { seen } => format!(
                "the computer's clock is set back (a later time, {}, was already seen). Set the \
                 correct date and time.",
                seen.with_timezone(&Local).format("%Y-%m-%d %H:%M")
            ),
            Reason::NotNamedLicense => format!(
                "the license counts concurrent seats, not named users, so the product must check \
                 out a seat instead. {ADMIN}"
            ),
            Reason::UnknownUser => {
                format!("the user is not in this database's user list. {ADMIN}")
            }
            Reason::Disabled => format!("the user is disabled. {ADMIN}"),
            Reason::NoSeat { .. } => format!("no named-user seat is assigned. {ADMIN}"),
            Reason::BeyondLimit { seats } => format!(
                "the user's named-user seat is beyond the license's {seats} seats (others were \
                 assigned earlier). {ADMIN}"
            ),
            Reason::GroupFull {
                group,
                in_use,
                seats,
            } => {
                let which = group.as_deref().map_or_else(
                    || "seat outside the groups".to_owned(),
                    |g| format!("{g} seat"),
                );
                format!(
                    "no {which} is free ({in_use} of {seats} in use; others were assigned \
                     earlier). {ADMIN}"
                )
            }
        }
    }
}

/// A user may not work, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Who.
    pub login: String,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User {} is not authorised: {}",
            self.login,
            self.reason.sentence()
        )
    }
}

/// The answer to `authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Authorization {
    /// The user may work.
    Granted(Grant),
    /// The user may not.
    Refused(Refusal),
}

impl Authorization {
    /// True for a grant.
    pub fn is_granted(&self) -> bool {
        matches!(self, Authorization::Granted(_))
    }

    pub(crate) fn refused(login: &str, reason: Reason) -> Self {
        Authorization::Refused(Refusal {
            login: login.to_owned(),
            reason,
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authorization::Granted(g) => g.fmt(f),
            Authorization::Refused(r) => r.fmt(f),
        }
    }
}
