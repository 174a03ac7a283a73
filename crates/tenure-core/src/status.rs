//! The license status: a pure, total function of the license, the binding now, the clock now and
//! the clock's high-water mark.
//!
//! Grace runs from the server's `validated_at`; the workstation clock is only compared against
//! it. A clock earlier than the latest time already seen (by more than [`CLOCK_TOLERANCE`], which
//! absorbs time-zone mistakes and NTP steps) is `ClockRolledBack`, and it extends nothing.

use chrono::{DateTime, Duration, Utc};

use crate::binding::Binding;
use crate::signed::VerifiedLicense;

/// Days left at or below which the status is a warning.
pub const WARNING_DAYS: u32 = 7;

/// How far the clock may go back before it counts as set back: covers a wrong time zone (up to
/// 14 hours) and NTP corrections.
pub const CLOCK_TOLERANCE: Duration = Duration::hours(24);

const SECS_PER_DAY: i64 = 86_400;

/// Offline grace in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    /// Whole days left, rounded up: 30 right after a 30-day validation.
    pub days_left: u32,
    /// When grace ends (or the license, if sooner).
    pub offline_until: DateTime<Utc>,
    /// The last successful validation (server clock).
    pub validated_at: DateTime<Utc>,
}

/// Where the license stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Licensed, with more than [`WARNING_DAYS`] of grace left.
    Valid(Grace),
    /// Licensed, but grace runs out soon.
    Warning(Grace),
    /// No validation within the grace period.
    GraceExpired {
        /// When grace ran out.
        ended_at: DateTime<Utc>,
    },
    /// The license's validity is over.
    LicenseExpired {
        /// When it ended.
        ended_at: DateTime<Utc>,
    },
    /// The license's validity has not begun.
    NotYetValid {
        /// When it starts.
        starts_at: DateTime<Utc>,
    },
    /// The license is bound to another database.
    BindingMismatch {
        /// Where the license is bound.
        licensed: Binding,
        /// Where this workstation is connected.
        current: Binding,
    },
    /// The license's account activated it on another database, which replaced this
    /// workstation's credential: the server said so in a signed notice. Or this workstation
    /// released it to be activated elsewhere (`released`).
    Moved {
        /// When it was activated elsewhere (server clock), or released here.
        at: DateTime<Utc>,
        /// Released here (`tenure offline release`), not replaced by the server.
        released: bool,
    },
    /// The clock is earlier than a time already seen.
    ClockRolledBack {
        /// The clock now.
        now: DateTime<Utc>,
        /// The latest time seen before.
        seen: DateTime<Utc>,
    },
    /// No license.
    Unlicensed,
}

impl Status {
    /// True when the product may run.
    pub fn is_licensed(&self) -> bool {
        matches!(self, Status::Valid(_) | Status::Warning(_))
    }

    /// Grace in force, when licensed.
    pub fn grace(&self) -> Option<&Grace> {
        match self {
            Status::Valid(g) | Status::Warning(g) => Some(g),
            _ => None,
        }
    }

    /// A short name: "Valid", "Warning", ….
    pub fn label(&self) -> &'static str {
        match self {
            Status::Valid(_) => "Valid",
            Status::Warning(_) => "Warning",
            Status::GraceExpired { .. } => "Grace expired",
            Status::LicenseExpired { .. } => "License expired",
            Status::NotYetValid { .. } => "Not yet valid",
            Status::BindingMismatch { .. } => "Binding mismatch",
            Status::Moved { .. } => "Moved elsewhere",
            Status::ClockRolledBack { .. } => "Clock set back",
            Status::Unlicensed => "Unlicensed",
        }
    }

    /// The state as `tenure status`'s exit code, which the C library's state enum matches:
    /// 0 licensed (valid or warning), 2 grace expired, 3 binding mismatch, 4 unlicensed,
    /// 5 expired or not yet valid, 6 clock set back, 8 moved elsewhere.
    pub fn exit_code(&self) -> u8 {
        match self {
            Status::Valid(_) | Status::Warning(_) => 0,
            Status::GraceExpired { .. } => 2,
            Status::BindingMismatch { .. } => 3,
            Status::Unlicensed => 4,
            Status::LicenseExpired { .. } | Status::NotYetValid { .. } => 5,
            Status::ClockRolledBack { .. } => 6,
            Status::Moved { .. } => 8,
        }
    }

    /// A stable machine name for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Status::Valid(_) => "valid",
            Status::Warning(_) => "warning",
            Status::GraceExpired { .. } => "grace_expired",
            Status::LicenseExpired { .. } => "license_expired",
            Status::NotYetValid { .. } => "not_yet_valid",
            Status::BindingMismatch { .. } => "binding_mismatch",
            Status::Moved { .. } => "moved",
            Status::ClockRolledBack { .. } => "clock_rolled_back",
            Status::Unlicensed => "unlicensed",
        }
    }

    /// One sentence on what to do.
    pub fn advice(&self) -> String {
        match self {
            Status::Valid(g) => format!(
                "Nothing to do. Validate before {} to keep working offline.",
                g.offline_until.format("%a %d %b %Y")
            ),
            Status::Warning(g) => format!(
                "Only {} days left in grace period: connect to the network and validate now, or request an extension.",
                g.days_left
            ),
            Status::GraceExpired { .. } => {
                "The offline grace period is over: connect to the network and validate now.".into()
            }
            Status::LicenseExpired { .. } => {
                "The license has expired: ask your vendor for a renewal, then validate.".into()
            }
            Status::NotYetValid { starts_at } => format!(
                "The license starts on {}: wait until then, or check the computer's clock.",
                starts_at.format("%a %d %b %Y")
            ),
            Status::BindingMismatch { licensed, current } => format!(
                "This database is not the one the license was validated for ({}): re-validate to move the license here.",
                licensed.describe_change(current)
            ),
            Status::Moved { at, released: true } => format!(
                "This workstation released the license on {} so that it can be activated elsewhere, so it no longer works here: activate it here again with its key to use it here.",
                at.format("%a %d %b %Y")
            ),
            Status::Moved { at, released: false } => format!(
                "The license's account activated it on another database on {}, so it no longer works here: use it where it is now, or activate it here again with its key while signed in to the account (that stops it there).",
                at.format("%a %d %b %Y")
            ),
            Status::ClockRolledBack { .. } => {
                "The computer's clock is earlier than a time already seen: set the correct date and time, then validate.".into()
            }
            Status::Unlicensed => {
                "No license yet: request a license with your 13-digit key.".into()
            }
        }
    }
}

/// Computes the status. `current` is where the workstation is connected now (`None` when not
/// known, in which case the binding is not checked); `high_water` is the latest clock reading
/// seen before.
pub fn status(
    license: Option<&VerifiedLicense>,
    current: Option<&Binding>,
    now: DateTime<Utc>,
    high_water: Option<DateTime<Utc>>,
) -> Status {
    let Some(license) = license else {
        return Status::Unlicensed;
    };
    let seen = high_water.map_or(license.validated_at, |hw| hw.max(license.validated_at));
    if now + CLOCK_TOLERANCE < seen {
        return Status::ClockRolledBack { now, seen };
    }
    if let Some(current) = current
        && !license.binding.matches(current)
    {
        return Status::BindingMismatch {
            licensed: license.binding.clone(),
            current: current.clone(),
        };
    }
    let validity = license.terms.validity;
    if now < validity.starts_at() {
        return Status::NotYetValid {
            starts_at: validity.starts_at(),
        };
    }
    if now >= validity.ends_at() {
        return Status::LicenseExpired {
            ended_at: validity.ends_at(),
        };
    }
    let offline_until = license.grace_ends_at();
    let secs_left = (offline_until - now).num_seconds();
    if secs_left <= 0 {
        return Status::GraceExpired {
            ended_at: offline_until,
        };
    }
    let whole_days_left =
        secs_left.div_euclid(SECS_PER_DAY) + i64::from(secs_left % SECS_PER_DAY != 0);
    // Never more than granted: a workstation clock a little behind the server's must not show
    // "31 days" right after a 30-day validation.
    let days_left = u32::try_from(whole_days_left)
        .unwrap_or(u32::MAX)
        .min(license.grace_days);
    let grace = Grace {
        days_left,
        offline_until,
        validated_at: license.validated_at,
    };
    if days_left <= WARNING_DAYS {
        Status::Warning(grace)
    } else {
        Status::Valid(grace)
    }
}

/// The clock's high-water mark, one copy of it. Copies are kept in several places (the cache,
/// the product database, the keyring) so deleting or restoring one does not reset it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClockMark {
    /// The latest clock reading seen.
    pub seen: DateTime<Utc>,
    /// The server time of the verified answer that last set the mark: only such an answer may
    /// move it back (clearing a clock that was once ahead).
    pub reset: DateTime<Utc>,
}

/// Whole milliseconds: every copy keeps the same precision (a database column holds
/// milliseconds), so copies of one reset compare equal wherever they are kept.
fn whole_ms(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

impl ClockMark {
    /// The mark right after a verified server answer stamped `server_time`.
    pub fn reset_to(server_time: DateTime<Utc>) -> Self {
        let server_time = whole_ms(server_time);
        Self {
            seen: server_time,
            reset: server_time,
        }
    }

    /// A mark never reset by a server answer, seen at `now`.
    pub fn first(now: DateTime<Utc>) -> Self {
        Self {
            seen: whole_ms(now),
            reset: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// This mark after reading the clock: `seen` never moves back.
    #[must_use]
    pub fn advanced(self, now: DateTime<Utc>) -> Self {
        Self {
            seen: self.seen.max(whole_ms(now)),
            reset: self.reset,
        }
    }

    /// The later of two copies by the merge rule (no server-time filter).
    #[must_use]
    pub fn max_with(self, other: Self) -> Self {
        if (other.reset, other.seen) > (self.reset, self.seen) {
            other
        } else {
            self
        }
    }

    /// The mark in force among `copies`. The latest reset wins (an older copy, restored or left
    /// behind, cannot undo a later reset); among copies of the same reset the largest reading
    /// wins (deleting one copy loses nothing). A copy claiming a reset later than `latest_server`
    /// — the newest verified server time held — cannot reset the mark: either it was forged, or
    /// the license held is an older one restored from a backup. Its reading still counts as a
    /// floor, so restoring an old license and cache never winds the clock back.
    pub fn merge(
        copies: impl IntoIterator<Item = ClockMark>,
        latest_server: Option<DateTime<Utc>>,
    ) -> Option<ClockMark> {
        let (held, later): (Vec<ClockMark>, Vec<ClockMark>) = copies
            .into_iter()
            .partition(|c| latest_server.is_none_or(|latest| c.reset <= latest));
        let floor = later.iter().map(|c| c.seen).max();
        match (held.into_iter().max_by_key(|c| (c.reset, c.seen)), floor) {
            (Some(mark), Some(floor)) => Some(mark.advanced(floor)),
            (Some(mark), None) => Some(mark),
            (None, Some(floor)) => Some(ClockMark::first(floor)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::{Binding, ServerContext};
    use crate::signed::VendorKey;
    use proptest::prelude::*;

    const CTX: ServerContext<'static> = ServerContext {
        local_host: "ws1",
        default_port: Some(5432),
    };

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn license(validated_at: &str) -> VerifiedLicense {
        let mut lic = crate::trust::tests::sample_license();
        lic.issued_at = at(validated_at);
        lic.validated_at = at(validated_at);
        crate::trust::tests::verified_for_test(&VendorKey::from_secret([5; 32]), &lic)
    }

    fn here() -> Binding {
        Binding::new("SRV1:5432", "PROD", CTX)
    }

    #[test]
    fn fresh_validation_has_full_grace() {
        let lic = license("2026-11-23T09:00:00Z");
        let s = status(Some(&lic), Some(&here()), at("2026-11-23T09:00:00Z"), None);
        let Status::Valid(g) = s else { panic!("{s:?}") };
        assert_eq!(g.days_left, 30);
        assert_eq!(g.offline_until, at("2026-12-23T09:00:00Z"));
    }

    #[test]
    fn warning_then_expired() {
        let lic = license("2026-11-23T09:00:00Z");
        let s = status(Some(&lic), Some(&here()), at("2026-12-18T09:00:00Z"), None);
        assert!(
            matches!(s, Status::Warning(Grace { days_left: 5, .. })),
            "{s:?}"
        );
        assert!(s.advice().contains("Only 5 days left in grace period"));
        let s = status(Some(&lic), Some(&here()), at("2026-12-23T09:00:00Z"), None);
        assert!(matches!(s, Status::GraceExpired { .. }));
    }

    #[test]
    fn mismatch_rollback_unlicensed_expired() {
        let lic = license("2026-11-23T09:00:00Z");
        let elsewhere = Binding::new("srv2:5433", "prod", CTX);
        let s = status(
            Some(&lic),
            Some(&elsewhere),
            at("2026-11-24T00:00:00Z"),
            None,
        );
        assert!(matches!(s, Status::BindingMismatch { .. }));
        assert!(s.advice().contains("server srv1 → srv2:5433"));

        let hw = at("2026-11-30T00:00:00Z");
        let back = at("2026-11-20T00:00:00Z"); // 10 days before what was seen
        assert!(matches!(
            status(Some(&lic), Some(&here()), back, Some(hw)),
            Status::ClockRolledBack { .. }
        ));
        // Within the tolerance is fine.
        let slightly = hw - Duration::hours(12);
        assert!(status(Some(&lic), Some(&here()), slightly, Some(hw)).is_licensed());

        assert_eq!(status(None, Some(&here()), hw, None), Status::Unlicensed);
        let late = license("2027-12-20T00:00:00Z");
        let s = status(Some(&late), Some(&here()), at("2028-01-01T00:00:01Z"), None);
        assert!(matches!(s, Status::LicenseExpired { .. }));
    }

    #[test]
    fn a_clock_slightly_behind_the_server_shows_no_extra_day() {
        let lic = license("2026-11-23T09:00:00Z");
        let s = status(Some(&lic), Some(&here()), at("2026-11-23T08:59:58Z"), None);
        assert_eq!(s.grace().unwrap().days_left, 30);
    }

    #[test]
    fn grace_capped_by_license_end() {
        let lic = license("2027-12-20T00:00:00Z");
        let s = status(Some(&lic), Some(&here()), at("2027-12-20T00:00:00Z"), None);
        assert_eq!(s.grace().unwrap().offline_until, at("2028-01-01T00:00:00Z"));
    }

    proptest! {
        #[test]
        fn days_left_never_grows(a in 0i64..(40 * 86_400), b in 0i64..(40 * 86_400)) {
            let lic = license("2026-11-23T09:00:00Z");
            let base = at("2026-11-23T09:00:00Z");
            let (early, late) = (a.min(b), a.max(b));
            let days = |offset: i64| {
                status(Some(&lic), Some(&here()), base + Duration::seconds(offset), None)
                    .grace()
                    .map_or(0, |g| g.days_left)
            };
            prop_assert!(days(late) <= days(early));
        }

        #[test]
        fn status_is_total(offset in -(400i64 * 86_400)..(900 * 86_400), hw_offset in proptest::option::of(-(400i64 * 86_400)..(900 * 86_400))) {
            let lic = license("2026-11-23T09:00:00Z");
            let base = at("2026-11-23T09:00:00Z");
            let s = status(Some(&lic), Some(&here()), base + Duration::seconds(offset), hw_offset.map(|h| base + Duration::seconds(h)));
            prop_assert!(!s.label().is_empty());
        }

        /// Deleting or restoring any one copy never winds the mark back, and a copy that claims
        /// a reset later than any verified server time is ignored.
        #[test]
        fn no_single_copy_winds_the_mark_back(
            seen in proptest::collection::vec(0i64..(90 * 86_400), 3),
            resets in proptest::collection::vec(0i64..3, 3),
            drop in 0usize..3,
        ) {
            let base = at("2026-11-23T09:00:00Z");
            let server = |n: i64| base + Duration::days(n);
            let copies: Vec<ClockMark> = seen
                .iter()
                .zip(&resets)
                .map(|(s, r)| ClockMark::reset_to(server(*r)).advanced(server(*r) + Duration::seconds(*s)))
                .collect();
            let latest = Some(server(2));
            let all = ClockMark::merge(copies.clone(), latest).unwrap();
            // All copies that carry the latest reset agree that the mark is at least theirs.
            let newest_reset = copies.iter().map(|c| c.reset).max().unwrap();
            let count_newest = copies.iter().filter(|c| c.reset == newest_reset).count();
            let without: Vec<ClockMark> = copies
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, c)| *c)
                .collect();
            if count_newest > 1 || copies[drop].reset != newest_reset {
                let after = ClockMark::merge(without, latest).unwrap();
                prop_assert_eq!(after.reset, all.reset);
                prop_assert!(after.seen <= all.seen);
            }
            // A copy forged with a reset after the newest server time cannot reset the mark
            // (its reset is not taken, and a low reading in it lowers nothing).
            let forged = ClockMark {
                seen: base,
                reset: server(5),
            };
            let with_forged = ClockMark::merge(copies.iter().copied().chain([forged]), latest).unwrap();
            prop_assert_eq!(with_forged, all);
            // A copy from after the license held (an older license restored) keeps its reading
            // as a floor.
            let later = ClockMark::reset_to(server(3)).advanced(server(60));
            let with_later = ClockMark::merge(copies.iter().copied().chain([later]), latest).unwrap();
            prop_assert_eq!(with_later.reset, all.reset);
            prop_assert_eq!(with_later.seen, all.seen.max(server(60)));
        }
    }
}
