//! The license model: what the vendor sells ([`LicenseTerms`]) and the signed document a
//! workstation holds ([`License`]).
//!
//! Every time in a license comes from the server's clock. Dates of validity are whole UTC days:
//! a license that `expires` on 2027-12-31 is valid until 2028-01-01T00:00Z.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::allocation::{Quantity, QuantityKind, name_problem};
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
    /// Every quantity the license counts, when it counts more than its seats (devices, mobile
    /// devices, servers, connections…). Empty on licenses issued before quantities, which count
    /// one: their `seats` of `kind` (see [`LicenseTerms::quantities`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantities: Vec<Quantity>,
    /// How a concurrent pool's seats float: linger, idle release and overdraft. Absent on licenses issued
    /// before them, which float as [`Floating::default`] does.
    #[serde(default, skip_serializing_if = "Floating::is_default")]
    pub floating: Floating,
    /// Limits on how fast seats change hands (churn caps), off when absent.
    #[serde(default, skip_serializing_if = "Churn::is_default")]
    pub churn: Churn,
}

/// Limits on how fast named seats change hands, as the vendor signed them. All zero: none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Churn {
    /// A user whose named seat was taken away (freed, trimmed, removed) cannot be given one
    /// again for this many hours (RLM's 48 h).
    pub seat_cooldown_hours: u32,
    /// At most this many named seats given back out in any 30 days after being taken from
    /// someone (reassignments).
    pub reassignments_per_30_days: u32,
    /// At most this many devices take a license (a new device, or one whose license was taken
    /// away) in any 30 days.
    pub device_registrations_per_30_days: u32,
}

impl Churn {
    /// True for the terms of licenses issued before churn caps.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// How a concurrent pool's seats float, as the vendor signed it. All zero: a seat checked in
/// comes free at once and the count is a hard limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Floating {
    /// A seat checked in stays its user's for this many minutes: taken again
    /// from the same machine meanwhile, it is the same seat. A minimum: the customer may set
    /// a longer one, never a shorter.
    pub linger_mins: u32,
    /// A seat whose product has reported it idle this many minutes is freed for the next
    /// user who asks (0: never). A minimum like the linger; where the vendor set none, the
    /// customer cannot set one (it would stretch the count).
    pub idle_timeout_mins: u32,
    /// Seats that may be given beyond the count (Keygen's overdraft); each such grant is marked
    /// and counted.
    pub overdraft: u32,
}

impl Floating {
    /// True for the terms of licenses issued before floating policies.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The name a license's seats go by when it lists no quantities.
pub fn seats_quantity_name(kind: SeatKind) -> &'static str {
    match kind {
        SeatKind::Named => "users",
        SeatKind::Concurrent => "connections",
    }
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
    /// A quantity's name cannot be used.
    #[error("quantity name: {0}")]
    BadQuantityName(String),
    /// Two quantities with one name.
    #[error("quantity {0:?} is listed twice: give it one count")]
    DuplicateQuantity(String),
    /// A quantity of none.
    #[error("quantity {0:?} counts nothing: give it a count of at least one")]
    EmptyQuantity(String),
    /// The seats do not match the license's first named or concurrent quantity.
    #[error(
        "the license's seats ({seats} {kind}) must be its first named or concurrent quantity, which workstations of earlier versions read: {first}"
    )]
    SeatsNotFirstQuantity {
        /// The seats.
        seats: u32,
        /// Their kind.
        kind: &'static str,
        /// The first quantity, as `name: count kind`, or "none".
        first: String,
    },
}

impl LicenseTerms {
    /// Every quantity the license counts: its list, or for a license that lists none, its
    /// seats as one quantity (`users` for named seats, `connections` for concurrent).
    pub fn quantities(&self) -> Vec<Quantity> {
        if self.quantities.is_empty() {
            vec![Quantity {
                name: seats_quantity_name(self.kind).to_owned(),
                kind: self.kind.into(),
                count: self.seats,
            }]
        } else {
            self.quantities.clone()
        }
    }

    /// What the license counts, in words: "10 connections (concurrent), 120 devices".
    pub fn counts_text(&self) -> String {
        let counts: Vec<String> = self.quantities().iter().map(ToString::to_string).collect();
        counts.join(", ")
    }

    /// The quantity called `name`, if the license counts it.
    pub fn quantity(&self, name: &str) -> Option<Quantity> {
        self.quantities().into_iter().find(|q| q.name == name)
    }

    /// The first quantity of `kind`: the one a product's users take when no group says
    /// otherwise.
    pub fn first_of_kind(&self, kind: QuantityKind) -> Option<Quantity> {
        self.quantities().into_iter().find(|q| q.kind == kind)
    }

    /// Checks the terms before a license is issued.
    pub fn check(&self) -> Result<(), TermsError> {
        self.check_quantities()?;
        if self.seats == 0 && self.quantities.is_empty() {
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

    /// Names unique and usable, counts of at least one, and `seats`/`kind` (what earlier
    /// workstations read) the first named or concurrent quantity, or no seats when none is.
    fn check_quantities(&self) -> Result<(), TermsError> {
        if self.quantities.is_empty() {
            return Ok(());
        }
        let mut seen = std::collections::BTreeSet::new();
        for q in &self.quantities {
            if let Some(problem) = name_problem(&q.name) {
                return Err(TermsError::BadQuantityName(problem));
            }
            if !seen.insert(q.name.as_str()) {
                return Err(TermsError::DuplicateQuantity(q.name.clone()));
            }
            if q.count == 0 {
                return Err(TermsError::EmptyQuantity(q.name.clone()));
            }
        }
        let first = self
            .quantities
            .iter()
            .find(|q| q.kind != QuantityKind::Device);
        let agrees = match first {
            Some(q) => QuantityKind::from(self.kind) == q.kind && self.seats == q.count,
            None => self.seats == 0,
        };
        if agrees {
            Ok(())
        } else {
            Err(TermsError::SeatsNotFirstQuantity {
                seats: self.seats,
                kind: self.kind.label(),
                first: first.map_or_else(
                    || "none".to_owned(),
                    |q| format!("{}: {} {}", q.name, q.count, q.kind.word()),
                ),
            })
        }
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
    /// Borrowed seats (session ids) an admin revoked and the vendor confirmed, whose borrow has
    /// not ended: the pool frees them at once, and a laptop holding one drops it. Listed only in
    /// an answer to a request that asked about borrows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_borrows: Vec<String>,
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

/// A license's terms encoded once. The terms are most of a license document and do not change
/// between validations, so a server that signs the same license again and again encodes them
/// once ([`LicenseToSign`]).
#[derive(Debug, Clone)]
pub struct EncodedTerms(Box<ron::value::RawValue>);

impl EncodedTerms {
    /// `terms`, encoded as a signed license carries them.
    pub fn new(terms: &LicenseTerms) -> Result<Self, crate::DocError> {
        ron::value::RawValue::from_rust(terms)
            .map(Self)
            .map_err(|e| crate::DocError::Encode(e.to_string()))
    }

    /// The encoded text, to place in a [`LicenseToSign`].
    pub fn raw(&self) -> &ron::value::RawValue {
        &self.0
    }
}

/// A [`License`] to sign, with its terms already encoded: it encodes to the same text, field
/// for field, so what a workstation reads back is a `License`.
#[derive(Debug, Serialize)]
#[serde(rename = "License")]
pub struct LicenseToSign<'a> {
    /// As [`License::id`].
    pub id: &'a str,
    /// As [`License::account`].
    pub account: &'a str,
    /// As [`License::terms`], encoded.
    pub terms: &'a ron::value::RawValue,
    /// As [`License::grace_days`].
    pub grace_days: u32,
    /// As [`License::binding`].
    pub binding: &'a Binding,
    /// As [`License::issued_at`].
    pub issued_at: DateTime<Utc>,
    /// As [`License::validated_at`].
    pub validated_at: DateTime<Utc>,
    /// As [`License::nonce`].
    pub nonce: &'a str,
    /// As [`License::revoked_borrows`].
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub revoked_borrows: &'a [String],
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
            quantities: vec![],
            floating: Floating::default(),
            churn: Churn::default(),
        }
    }

    #[test]
    fn good_terms_pass() {
        assert_eq!(terms().check(), Ok(()));
    }

    #[test]
    fn a_license_without_quantities_counts_its_seats() {
        let t = terms();
        let quantities = t.quantities();
        assert_eq!(quantities.len(), 1);
        assert_eq!(quantities[0].name, "users");
        assert_eq!(quantities[0].kind, QuantityKind::Named);
        assert_eq!(quantities[0].count, 10);
        // Terms written before quantities existed read back the same.
        let old = ron::to_string(&t).unwrap();
        assert!(!old.contains("quantities"), "{old}");
        assert_eq!(ron::from_str::<LicenseTerms>(&old).unwrap(), t);
    }

    #[test]
    fn several_quantities_with_the_seats_first() {
        let mut t = terms();
        t.quantities = [
            "devices:500:device",
            "mobile:50:device",
            "users:10:named",
            "connections:10:concurrent",
        ]
        .iter()
        .map(|q| q.parse().unwrap())
        .collect();
        assert_eq!(t.check(), Ok(()));
        assert_eq!(t.quantity("mobile").map(|q| q.count), Some(50));
        assert_eq!(
            t.first_of_kind(QuantityKind::Concurrent).map(|q| q.name),
            Some("connections".to_owned())
        );
        t.seats = 12;
        let e = t.check().unwrap_err();
        assert!(e.to_string().contains("users: 10 named"), "{e}");
        t.seats = 10;
        t.quantities.push("mobile:5:device".parse().unwrap());
        assert_eq!(
            t.check(),
            Err(TermsError::DuplicateQuantity("mobile".into()))
        );
        // Devices only: no seats for earlier workstations to give.
        let mut devices = terms();
        devices.seats = 0;
        devices.quantities = vec!["devices:500:device".parse().unwrap()];
        assert_eq!(devices.check(), Ok(()));
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
