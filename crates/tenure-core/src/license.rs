//! The license model: what the vendor sells ([`LicenseTerms`]) and the signed document a
//! workstation holds ([`License`]).
//!
//! Every time in a license comes from the server's clock. Dates of validity are whole UTC days:
//! a license that `expires` on 2027-12-31 is valid until 2028-01-01T00:00Z.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::binding::Binding;

/// Default offline grace period, in days.
pub const DEFAULT_GRACE_DAYS: u32 = 30;
/// Default concurrent-seat lease, in seconds.
pub const DEFAULT_LEASE_SECS: u32 = 300;

/// Named users (each seat given to a person) or concurrent (at most N at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SeatKind {
    /// Seats are assigned to named users.
    Named,
    /// Seats are leased by whoever runs the product, up to the count.
    Concurrent,
}

impl SeatKind {
    /// Words for people: "named users" / "concurrent".
    pub fn label(self) -> &'static str {
        match self {
            SeatKind::Named => "named users",
            SeatKind::Concurrent => "concurrent",
        }
    }
}

impl std::str::FromStr for SeatKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "named" => Ok(SeatKind::Named),
            "concurrent" => Ok(SeatKind::Concurrent),
            other => Err(format!(
                "unknown seat kind {other:?}: use \"named\" or \"concurrent\""
            )),
        }
    }
}

/// How a license may be activated and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivationMode {
    /// Over the network against the license server.
    #[default]
    Online,
    /// Only by signed request and response files; the app never tries the network.
    Offline,
}

/// A span of whole UTC days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Validity {
    /// First day of validity.
    pub starts: NaiveDate,
    /// Last day of validity.
    pub expires: NaiveDate,
}

impl Validity {
    /// The instant validity begins.
    pub fn starts_at(&self) -> DateTime<Utc> {
        self.starts.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The instant validity ends (midnight after the last day).
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.expires
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }

    /// True when `inner` lies within `self`.
    pub fn contains(&self, inner: &Validity) -> bool {
        self.starts <= inner.starts && inner.expires <= self.expires
    }
}

/// A licensed module (feature) with its own validity inside the license's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Module {
    /// Module name, e.g. `inspect`.
    pub name: String,
    /// When the module may be used.
    pub validity: Validity,
}

/// What the vendor sells: everything about a license except where and when it was activated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseTerms {
    /// Customer name as printed on the license.
    pub customer: String,
    /// Named or concurrent.
    pub kind: SeatKind,
    /// How many seats.
    pub seats: u32,
    /// Offline grace period in days, restarted by each validation.
    pub grace_days: u32,
    /// The most grace days an extension may grant.
    pub max_grace_days: u32,
    /// Validity of the whole license.
    pub validity: Validity,
    /// Online or offline-only.
    pub activation_mode: ActivationMode,
    /// Licensed modules.
    pub modules: Vec<Module>,
    /// How long a seat may be borrowed onto a laptop, in days (0: never).
    pub max_borrow_days: u32,
    /// How many rebinds the license may do in any 30 days.
    pub max_rebinds_per_30_days: u32,
    /// Concurrent-seat lease, in seconds.
    pub lease_secs: u32,
}

/// Why a set of terms cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// Seats must be at least one.
    #[error("a license needs at least one seat")]
    NoSeats,
    /// Grace must be at least one day.
    #[error("the grace period must be at least one day")]
    NoGrace,
    /// The extension cap is below the normal grace.
    #[error(
        "the maximum grace ({max} days) is below the normal grace ({grace} days): raise --max-grace-days"
    )]
    MaxGraceBelowGrace {
        /// Normal grace days.
        grace: u32,
        /// The cap given.
        max: u32,
    },
    /// The license ends before it starts.
    #[error("the license expires ({expires}) before it starts ({starts})")]
    EndsBeforeStart {
        /// First day.
        starts: NaiveDate,
        /// Last day.
        expires: NaiveDate,
    },
    /// A module's dates fall outside the license's.
    #[error(
        "module {name:?} runs {starts}..{expires}, outside the license's {license_starts}..{license_expires}: give it dates inside the license"
    )]
    ModuleOutsideLicense {
        /// Module name.
        name: String,
        /// Module's first day.
        starts: NaiveDate,
        /// Module's last day.
        expires: NaiveDate,
        /// License's first day.
        license_starts: NaiveDate,
        /// License's last day.
        license_expires: NaiveDate,
    },
    /// Two modules with one name.
    #[error("module {0:?} is listed twice")]
    DuplicateModule(String),
    /// A module with no name.
    #[error("a module needs a name")]
    UnnamedModule,
}

impl LicenseTerms {
    /// Checks the terms before a license is issued.
    pub fn check(&self) -> Result<(), TermsError> {
        if self.seats == 0 {
            return Err(TermsError::NoSeats);
        }
        if self.grace_days == 0 {
            return Err(TermsError::NoGrace);
        }
        if self.max_grace_days < self.grace_days {
            return Err(TermsError::MaxGraceBelowGrace {
                grace: self.grace_days,
                max: self.max_grace_days,
            });
        }
        let v = self.validity;
        if v.expires < v.starts {
            return Err(TermsError::EndsBeforeStart {
                starts: v.starts,
                expires: v.expires,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for module in &self.modules {
            if module.name.trim().is_empty() {
                return Err(TermsError::UnnamedModule);
            }
            if !seen.insert(module.name.as_str()) {
                return Err(TermsError::DuplicateModule(module.name.clone()));
            }
            let m = module.validity;
            if m.expires < m.starts || !v.contains(&m) {
                return Err(TermsError::ModuleOutsideLicense {
                    name: module.name.clone(),
                    starts: m.starts,
                    expires: m.expires,
                    license_starts: v.starts,
                    license_expires: v.expires,
                });
            }
        }
        Ok(())
    }
}

/// The signed license a workstation holds: terms plus where and when it was activated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    /// Server-side license id.
    pub id: String,
    /// The account that owns the license.
    pub account: String,
    /// What was sold.
    pub terms: LicenseTerms,
    /// The grace in force now, in days: the terms' grace, or more after an extension.
    pub grace_days: u32,
    /// Where the license is activated.
    pub binding: Binding,
    /// When this document was signed (server clock).
    pub issued_at: DateTime<Utc>,
    /// When the license was last validated (server clock); grace runs from here.
    pub validated_at: DateTime<Utc>,
    /// The nonce of the request this document answers.
    pub nonce: String,
}

impl License {
    /// When offline grace runs out, capped by the end of the license.
    pub fn grace_ends_at(&self) -> DateTime<Utc> {
        let grace_end = self
            .validated_at
            .checked_add_days(Days::new(u64::from(self.grace_days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        grace_end.min(self.terms.validity.ends_at())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn terms() -> LicenseTerms {
        LicenseTerms {
            customer: "Acme".into(),
            kind: SeatKind::Named,
            seats: 10,
            grace_days: 30,
            max_grace_days: 90,
            validity: Validity {
                starts: date("2026-01-01"),
                expires: date("2027-12-31"),
            },
            activation_mode: ActivationMode::Online,
            modules: vec![Module {
                name: "inspect".into(),
                validity: Validity {
                    starts: date("2026-01-01"),
                    expires: date("2027-06-30"),
                },
            }],
            max_borrow_days: 14,
            max_rebinds_per_30_days: 3,
            lease_secs: DEFAULT_LEASE_SECS,
        }
    }

    #[test]
    fn good_terms_pass() {
        assert_eq!(terms().check(), Ok(()));
    }

    #[test]
    fn module_outside_license_refused() {
        let mut t = terms();
        t.modules[0].validity.expires = date("2028-01-01");
        let err = t.check().unwrap_err();
        assert!(matches!(err, TermsError::ModuleOutsideLicense { .. }));
        assert!(err.to_string().contains("inspect"));
    }

    #[test]
    fn other_bad_terms_refused() {
        let mut t = terms();
        t.seats = 0;
        assert_eq!(t.check(), Err(TermsError::NoSeats));
        let mut t = terms();
        t.validity.expires = date("2025-01-01");
        assert!(matches!(t.check(), Err(TermsError::EndsBeforeStart { .. })));
        let mut t = terms();
        t.modules.push(t.modules[0].clone());
        assert!(matches!(t.check(), Err(TermsError::DuplicateModule(_))));
        let mut t = terms();
        t.max_grace_days = 10;
        assert!(matches!(
            t.check(),
            Err(TermsError::MaxGraceBelowGrace { .. })
        ));
    }

    #[test]
    fn validity_ends_at_midnight_after_last_day() {
        let v = terms().validity;
        assert_eq!(v.ends_at().to_rfc3339(), "2028-01-01T00:00:00+00:00");
    }
}
