//! The plain structs and enums C sees, and how the SDK's answers become them.

use std::ffi::c_char;

use chrono::{DateTime, Utc};
use tenure_client::embedded::{ProductStatus, Verdict};
use tenure_core::SeatKind;

use crate::args::owned;

/// Where the license stands; the values are `tenure status`'s exit codes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureState {
    /// The product may run (`warning` says when grace runs out soon).
    Licensed = 0,
    /// Offline longer than the grace period: validate.
    GraceExpired = 2,
    /// The license is bound to another database (after a restore or a move): re-validate.
    BindingMismatch = 3,
    /// No license here yet.
    Unlicensed = 4,
    /// The license has expired, or has not started.
    Expired = 5,
    /// The clock was set back.
    ClockSetBack = 6,
    /// The license's account activated it on another database.
    Moved = 8,
    /// The product database cannot be used.
    DatabaseUnusable = 9,
}

/// How the license counts seats.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureSeatKind {
    /// No license.
    None = 0,
    /// Named users, given seats by an admin.
    Named = 1,
    /// Concurrent seats, taken and given back by whoever runs the product.
    Concurrent = 2,
}

/// The license's status (`tenure_status`, `tenure_validate`). Times are Unix seconds, 0 when
/// there is none.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenureStatus {
    /// Where the license stands.
    pub state: TenureState,
    /// Licensed, but the grace runs out within days: validate soon.
    pub warning: bool,
    /// Offline grace days left; -1 when not licensed.
    pub grace_days_left: i32,
    /// When the grace ends.
    pub offline_until: i64,
    /// When the license ends.
    pub expires_at: i64,
    /// How the license counts seats.
    pub seat_kind: TenureSeatKind,
    /// Seats the license grants.
    pub seats: u32,
    /// Modules usable today (`tenure_status_modules` names them).
    pub module_count: u32,
    /// A development build: no vendor roots built in, so licenses are not protected.
    pub development_build: bool,
}

fn unix(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp())
}

impl From<&ProductStatus> for TenureStatus {
    fn from(s: &ProductStatus) -> Self {
        let state = match s.code() {
            0 => TenureState::Licensed,
            2 => TenureState::GraceExpired,
            3 => TenureState::BindingMismatch,
            5 => TenureState::Expired,
            6 => TenureState::ClockSetBack,
            8 => TenureState::Moved,
            9 => TenureState::DatabaseUnusable,
            _ => TenureState::Unlicensed,
        };
        let (seat_kind, seats) = match s.seats {
            None => (TenureSeatKind::None, 0),
            Some((SeatKind::Named, n)) => (TenureSeatKind::Named, n),
            Some((SeatKind::Concurrent, n)) => (TenureSeatKind::Concurrent, n),
        };
        Self {
            state,
            warning: matches!(s.status, tenure_core::Status::Warning(_)),
            grace_days_left: s
                .grace_days_left
                .map_or(-1, |d| i32::try_from(d).unwrap_or(i32::MAX)),
            offline_until: unix(s.offline_until),
            expires_at: unix(s.expires_at),
            seat_kind,
            seats,
            module_count: u32::try_from(s.modules.len()).unwrap_or(u32::MAX),
            development_build: s.development_build,
        }
    }
}

/// Why a user, seat or device was refused (`TENURE_REASON_NONE` when granted).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureReason {
    /// Granted.
    None = 0,
    /// No license on this workstation.
    NoLicense,
    /// The license's validity is over.
    LicenseExpired,
    /// The license has not started.
    NotYetValid,
    /// Offline longer than the grace.
    GraceExpired,
    /// The database is not the one licensed.
    BindingMismatch,
    /// The license's account activated it on another database.
    Moved,
    /// The clock was set back.
    ClockSetBack,
    /// The license counts concurrent seats, not named users.
    NotNamedLicense,
    /// The user is not in the product database's user list.
    UnknownUser,
    /// The user is disabled.
    Disabled,
    /// The user holds no named seat.
    NoSeat,
    /// The user's seat is one too many: others were assigned earlier.
    BeyondLimit,
    /// The user's group has used its share of the seats.
    GroupFull,
    /// Every concurrent seat is in use.
    NoSeatFree,
    /// The license counts named users, not concurrent seats.
    NotConcurrentLicense,
    /// A borrow longer than the license allows.
    BorrowTooLong,
    /// The seat borrowed onto this machine has ended.
    BorrowEnded,
    /// No license of the device's type is free.
    DevicesFull,
    /// A reason this version of the header does not name (a newer library).
    Other,
    /// A license of the device's type is free, but the license's cap on devices taking one in
    /// any 30 days is used. (Added after `Other`, so the values before keep their numbers.)
    DeviceChurn,
}

impl TenureReason {
    /// From the SDK's stable reason codes (`Reason::code`, `SeatRefusal::code`).
    pub fn from_code(code: &str) -> Self {
        match code {
            "no_license" => Self::NoLicense,
            "license_expired" => Self::LicenseExpired,
            "not_yet_valid" => Self::NotYetValid,
            "grace_expired" => Self::GraceExpired,
            "binding_mismatch" => Self::BindingMismatch,
            "moved" => Self::Moved,
            "clock_set_back" => Self::ClockSetBack,
            "not_named_license" => Self::NotNamedLicense,
            "unknown_user" => Self::UnknownUser,
            "disabled" => Self::Disabled,
            "no_seat" => Self::NoSeat,
            "beyond_limit" => Self::BeyondLimit,
            "group_full" => Self::GroupFull,
            "no_seat_free" => Self::NoSeatFree,
            "not_concurrent_license" => Self::NotConcurrentLicense,
            "borrow_too_long" => Self::BorrowTooLong,
            "borrow_ended" => Self::BorrowEnded,
            "devices_full" => Self::DevicesFull,
            "device_churn" => Self::DeviceChurn,
            _ => Self::Other,
        }
    }
}

/// A grant or a refusal, with the sentence to show the user (free it with
/// `tenure_answer_free`).
#[repr(C)]
#[derive(Debug)]
pub struct TenureAnswer {
    /// True when granted.
    pub granted: bool,
    /// Why not, when refused.
    pub reason: TenureReason,
    /// The sentence the app shows (owned: `tenure_answer_free`).
    pub sentence: *mut c_char,
}

impl From<Verdict> for TenureAnswer {
    fn from(verdict: Verdict) -> Self {
        Self {
            granted: verdict.granted,
            reason: if verdict.granted {
                TenureReason::None
            } else {
                TenureReason::from_code(verdict.reason)
            },
            sentence: owned(&verdict.sentence),
        }
    }
}

/// What happened to a held seat (`TenureSeatCallback`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureSeatEvent {
    /// The seat is gone: an admin ended the session, or the lease ran out. Stop the work
    /// that needs it.
    Lost = 1,
    /// A heartbeat failed for a passing reason (database unreachable); still trying.
    Trouble = 2,
    /// Heartbeats go through again.
    Recovered = 3,
    /// While `tenure_seat_wait` waits: the place in line given (the sentence says it).
    InLine = 4,
}

/// The seat borrowed onto this machine (`tenure_borrow_status`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenureBorrow {
    /// A borrow is recorded here.
    pub held: bool,
    /// It is still running (false once its time is over).
    pub active: bool,
    /// When it comes back to the pool (Unix seconds), 0 when none.
    pub until: i64,
}

/// What an offline request file asks the vendor for (`tenure_offline_request`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenureOfflineWish {
    /// Activate the key given as the argument.
    Activate = 1,
    /// Validate the license here: the grace restarts.
    Validate = 2,
    /// Move the license to this database; the argument says why.
    Rebind = 3,
    /// Extend the grace to `days`.
    Extend = 4,
}
