//! Counted quantities and how an admin splits them among groups.
//!
//! A license counts one or more quantities: named users, concurrent connections, devices of a
//! type. Licenses for the same quantity stack: the pool at a moment is the sum of the grants
//! valid then ([`pool_at`]). An admin splits a pool among groups (roles, tenants, sites) with
//! fixed counts and at most one group taking what remains ([`check`] refuses a plan that asks
//! for more than the pool). When the pool shrinks — a stacked license expires — [`settle`] gives
//! the earliest allocations theirs first, so the latest give way, as named seats do; every
//! workstation reading the same plan settles it the same way.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::license::{SeatKind, Validity};

/// What a quantity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuantityKind {
    /// Seats given to named users.
    Named,
    /// At most this many at once, leased by whoever runs the product.
    Concurrent,
    /// Endpoints: a device of this type gets one when it first connects.
    Device,
}

impl QuantityKind {
    /// The word a CLI takes and shows: `named`, `concurrent`, `device`.
    pub fn word(self) -> &'static str {
        match self {
            QuantityKind::Named => "named",
            QuantityKind::Concurrent => "concurrent",
            QuantityKind::Device => "device",
        }
    }
}

impl From<SeatKind> for QuantityKind {
    fn from(kind: SeatKind) -> Self {
        match kind {
            SeatKind::Named => QuantityKind::Named,
            SeatKind::Concurrent => QuantityKind::Concurrent,
        }
    }
}

impl std::str::FromStr for QuantityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "named" => Ok(QuantityKind::Named),
            "concurrent" => Ok(QuantityKind::Concurrent),
            "device" => Ok(QuantityKind::Device),
            other => Err(format!(
                "unknown quantity kind {other:?}: use \"named\", \"concurrent\" or \"device\""
            )),
        }
    }
}

/// One counted quantity of a license: "500 devices", "10 concurrent connections".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quantity {
    /// Its name, which is also a device's type for device quantities (`devices`, `mobile`).
    pub name: String,
    /// What it counts.
    pub kind: QuantityKind,
    /// How many.
    pub count: u32,
}

impl std::fmt::Display for Quantity {
    /// "120 devices", "10 users (named)", "5 connections (concurrent)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.count, self.name)?;
        match self.kind {
            QuantityKind::Device => Ok(()),
            kind => write!(f, " ({})", kind.word()),
        }
    }
}

/// The longest quantity or group name.
pub const MAX_NAME_LEN: usize = 40;

/// Why a name cannot name a quantity or a group: the one text rule of names
/// ([`crate::text::check_name`]), at most [`MAX_NAME_LEN`] characters, and no colon (it
/// separates the parts of `NAME:COUNT:KIND`).
pub fn name_problem(name: &str) -> Option<String> {
    if let Err(problem) = crate::text::check_name("name", name, MAX_NAME_LEN) {
        return Some(match problem {
            crate::text::TextProblem::Empty { .. } => "a name cannot be empty".into(),
            crate::text::TextProblem::TooLong { .. } => {
                format!("{name:?} is longer than {MAX_NAME_LEN} characters")
            }
            other => format!("{name:?}: {other}"),
        });
    }
    if name.contains(':') {
        return Some(format!(
            "{name:?} holds a colon: use letters, digits, spaces, - and _"
        ));
    }
    None
}

impl std::str::FromStr for Quantity {
    type Err = String;

    /// `NAME:COUNT:KIND`, e.g. `devices:500:device` or `connections:10:concurrent`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split(':');
        let (Some(name), Some(count), Some(kind), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "expected NAME:COUNT:KIND such as devices:500:device, got {text:?}"
            ));
        };
        let name = name.trim();
        if let Some(problem) = name_problem(name) {
            return Err(problem);
        }
        let count = count
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("{count:?} is not a count such as 500"))?;
        Ok(Quantity {
            name: name.to_owned(),
            kind: kind.parse()?,
            count,
        })
    }
}

/// One license's part of a pool: its count of the quantity and its dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The license it comes from.
    pub license_id: String,
    /// How many it adds.
    pub count: u32,
    /// When it counts.
    pub validity: Validity,
}

impl Grant {
    /// True while the grant adds to the pool.
    pub fn counts_at(&self, now: DateTime<Utc>) -> bool {
        self.validity.starts_at() <= now && now < self.validity.ends_at()
    }
}

/// The pool at `now`: the stacked grants valid then, added up (a license counted once however
/// often it is listed).
pub fn pool_at(grants: &[Grant], now: DateTime<Utc>) -> u32 {
    let mut seen = BTreeSet::new();
    grants
        .iter()
        .filter(|g| g.counts_at(now) && seen.insert(g.license_id.as_str()))
        .fold(0u32, |sum, g| sum.saturating_add(g.count))
}

/// How much of a pool a group is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Share {
    /// This many.
    Fixed(u32),
    /// Whatever the fixed shares leave.
    Remaining,
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Share::Fixed(n) => write!(f, "{n}"),
            Share::Remaining => f.write_str("all remaining"),
        }
    }
}

impl std::str::FromStr for Share {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "rest" | "remaining" | "all remaining" => Ok(Share::Remaining),
            n => n
                .parse()
                .map(Share::Fixed)
                .map_err(|_| format!("{s:?} is neither a count such as 6 nor \"remaining\"")),
        }
    }
}

/// A group's share of one pool, and when it was given (the trimming order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The group's name.
    pub group: String,
    /// How much.
    pub share: Share,
    /// When the share was last set.
    pub allocated_at: DateTime<Utc>,
}

/// Why an allocation plan cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The fixed shares add up to more than the pool.
    #[error(
        "the groups would be given {asked} of {pool} {quantity}: lower a group's count, or buy more"
    )]
    OverPool {
        /// The quantity's name.
        quantity: String,
        /// The fixed shares' sum.
        asked: u64,
        /// The pool.
        pool: u32,
    },
    /// Two groups both asked for what remains.
    #[error(
        "both {0} and {1} are to take all remaining {2}: only one group can; give the other a count"
    )]
    TwoRemaining(String, String, String),
    /// A group listed twice for one quantity.
    #[error("group {0} is given {1} twice: give it one count")]
    Duplicate(String, String),
}

/// Refuses a plan an admin asks for that gives out more than `pool` of `quantity`.
pub fn check(quantity: &str, pool: u32, plan: &[Allocation]) -> Result<(), PlanError> {
    let mut seen = BTreeSet::new();
    let mut remaining: Option<&str> = None;
    let mut asked = 0u64;
    for allocation in plan {
        if !seen.insert(allocation.group.as_str()) {
            return Err(PlanError::Duplicate(
                allocation.group.clone(),
                quantity.to_owned(),
            ));
        }
        match allocation.share {
            Share::Fixed(n) => asked += u64::from(n),
            Share::Remaining => {
                if let Some(first) = remaining {
                    return Err(PlanError::TwoRemaining(
                        first.to_owned(),
                        allocation.group.clone(),
                        quantity.to_owned(),
                    ));
                }
                remaining = Some(&allocation.group);
            }
        }
    }
    if asked > u64::from(pool) {
        return Err(PlanError::OverPool {
            quantity: quantity.to_owned(),
            asked,
            pool,
        });
    }
    Ok(())
}

/// What one group gets of the pool once settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The group.
    pub group: String,
    /// What it asked for.
    pub share: Share,
    /// What it gets.
    pub count: u32,
}

/// A plan settled against a pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Every group in the plan with what it gets, by group name.
    pub groups: Vec<Settled>,
    /// Fixed shares cut because the pool is smaller than they add up to, latest first.
    pub trimmed: Vec<Settled>,
}

impl Settlement {
    /// What `group` gets, if it is in the plan.
    pub fn count_of(&self, group: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|s| s.group == group)
            .map(|s| s.count)
    }

    /// The pool's part no group holds.
    pub fn unallocated(&self, pool: u32) -> u32 {
        let given = self
            .groups
            .iter()
            .fold(0u32, |sum, s| sum.saturating_add(s.count));
        pool.saturating_sub(given)
    }
}

/// Settles `plan` against `pool`: fixed shares in the order they were given (ties by group
/// name) each get what they asked while the pool lasts, so the latest are cut first; the group
/// taking what remains gets the rest. A group listed twice keeps its earliest share; a second
/// "remaining" group gets nothing. Deterministic: the order of `plan` does not matter.
pub fn settle(pool: u32, plan: &[Allocation]) -> Settlement {
    let mut ordered: Vec<&Allocation> = plan.iter().collect();
    ordered.sort_by(|a, b| {
        a.allocated_at
            .cmp(&b.allocated_at)
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| a.share.cmp(&b.share))
    });
    let mut seen = BTreeSet::new();
    ordered.retain(|a| seen.insert(a.group.as_str()));
    let mut left = pool;
    let mut groups = Vec::with_capacity(ordered.len());
    let mut trimmed = Vec::new();
    for allocation in &ordered {
        if let Share::Fixed(asked) = allocation.share {
            let count = asked.min(left);
            left -= count;
            let settled = Settled {
                group: allocation.group.clone(),
                share: allocation.share,
                count,
            };
            if count < asked {
                trimmed.push(settled.clone());
            }
            groups.push(settled);
        }
    }
    if let Some(rest) = ordered.iter().find(|a| a.share == Share::Remaining) {
        groups.push(Settled {
            group: rest.group.clone(),
            share: Share::Remaining,
            count: left,
        });
    }
    for extra in ordered
        .iter()
        .filter(|a| a.share == Share::Remaining)
        .skip(1)
    {
        groups.push(Settled {
            group: extra.group.clone(),
            share: Share::Remaining,
            count: 0,
        });
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    trimmed.reverse();
    Settlement { groups, trimmed }
}

/// A pool split two levels deep: the default tenant's admin gives shares to groups and to
/// tenants; each tenant's admin splits the tenant's share among the tenant's own groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    pool: u32,
    top: Settlement,
    tenants: std::collections::BTreeMap<String, (u32, Settlement)>,
}

/// The part of a pool a holder draws from, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The group whose share it is; `None` for the part no group of `tenant` was given.
    pub group: Option<String>,
    /// The tenant it lies in (empty: the default tenant).
    pub tenant: String,
    /// How many it holds.
    pub size: u32,
}

impl Bucket {
    /// True when `other` draws from the same part of the pool.
    pub fn same_as(&self, other: &Bucket) -> bool {
        self.group == other.group && self.tenant == other.tenant
    }

    /// "the Designers group", "tenant North's unallocated part", "the unallocated part".
    pub fn describe(&self) -> String {
        match (&self.group, self.tenant.as_str()) {
            (Some(group), _) => format!("the {group} group"),
            (None, "") => "the part no group was given".to_owned(),
            (None, tenant) => format!("tenant {tenant}'s part no group was given"),
        }
    }
}

impl Split {
    /// Settles the default tenant's plan against `pool`, then each tenant's plan against what
    /// the tenant was given.
    pub fn new(
        pool: u32,
        top: &[Allocation],
        tenant_plans: &std::collections::BTreeMap<String, Vec<Allocation>>,
    ) -> Split {
        let top = settle(pool, top);
        let tenants = tenant_plans
            .iter()
            .map(|(tenant, plan)| {
                let given = top.count_of(tenant).unwrap_or(0);
                (tenant.clone(), (given, settle(given, plan)))
            })
            .collect();
        Split { pool, top, tenants }
    }

    /// The default tenant's settlement.
    pub fn top(&self) -> &Settlement {
        &self.top
    }

    /// What `tenant` was given and how it split it, if it has a plan.
    pub fn tenant(&self, tenant: &str) -> Option<&(u32, Settlement)> {
        self.tenants.get(tenant)
    }

    /// The part of the pool a holder in `group` of `tenant` draws from: the group's share when
    /// it was given one, else the part of its tenant no group was given.
    pub fn bucket(&self, tenant: &str, group: Option<&str>) -> Bucket {
        let (settlement, whole) = if tenant.is_empty() {
            (&self.top, self.pool)
        } else {
            let Some((given, settlement)) = self.tenants.get(tenant) else {
                // A tenant with no plan of its own draws on its whole share.
                return Bucket {
                    group: None,
                    tenant: tenant.to_owned(),
                    size: self.top.count_of(tenant).unwrap_or(0),
                };
            };
            (settlement, *given)
        };
        match group.and_then(|g| settlement.count_of(g).map(|n| (g, n))) {
            Some((group, size)) => Bucket {
                group: Some(group.to_owned()),
                tenant: tenant.to_owned(),
                size,
            },
            None => Bucket {
                group: None,
                tenant: tenant.to_owned(),
                size: settlement.unallocated(whole),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn fixed(group: &str, n: u32, secs: i64) -> Allocation {
        Allocation {
            group: group.into(),
            share: Share::Fixed(n),
            allocated_at: at(secs),
        }
    }

    fn rest(group: &str, secs: i64) -> Allocation {
        Allocation {
            group: group.into(),
            share: Share::Remaining,
            allocated_at: at(secs),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn grant(id: &str, count: u32, starts: &str, expires: &str) -> Grant {
        Grant {
            license_id: id.into(),
            count,
            validity: Validity {
                starts: day(starts),
                expires: day(expires),
            },
        }
    }

    #[test]
    fn quantities_parse_from_the_command_line() {
        let q: Quantity = "devices:500:device".parse().unwrap();
        assert_eq!(
            q,
            Quantity {
                name: "devices".into(),
                kind: QuantityKind::Device,
                count: 500
            }
        );
        let e = "devices:many:device".parse::<Quantity>().unwrap_err();
        assert!(e.contains("not a count"), "{e}");
        let e = "devices:5:printer".parse::<Quantity>().unwrap_err();
        assert!(e.contains("named\", \"concurrent\" or \"device"), "{e}");
        assert!("devices:5".parse::<Quantity>().is_err());
        assert!(":5:device".parse::<Quantity>().is_err());
    }

    #[test]
    fn a_stacked_license_adds_to_the_pool_until_it_expires() {
        let grants = [
            grant("first", 10, "2026-01-01", "2027-12-31"),
            grant("more", 5, "2026-06-01", "2026-12-31"),
        ];
        let may: DateTime<Utc> = "2026-05-01T00:00:00Z".parse().unwrap();
        let july: DateTime<Utc> = "2026-07-01T00:00:00Z".parse().unwrap();
        let next_year: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(pool_at(&grants, may), 10);
        assert_eq!(pool_at(&grants, july), 15);
        assert_eq!(pool_at(&grants, next_year), 10);
        // Listing a license twice does not count it twice.
        let twice = [grants[0].clone(), grants[0].clone()];
        assert_eq!(pool_at(&twice, may), 10);
    }

    #[test]
    fn designers_six_reviewers_the_rest() {
        let plan = [fixed("Designers", 6, 1), rest("Reviewers", 2)];
        assert_eq!(check("connections", 15, &plan), Ok(()));
        let settled = settle(15, &plan);
        assert_eq!(settled.count_of("Designers"), Some(6));
        assert_eq!(settled.count_of("Reviewers"), Some(9));
        assert!(settled.trimmed.is_empty());
    }

    #[test]
    fn an_expired_stack_trims_the_latest_allocation_first() {
        // 15 connections while the stacked license lasts, 10 after.
        let plan = [
            fixed("Designers", 6, 1),
            fixed("Reviewers", 5, 3),
            fixed("Interns", 3, 2),
        ];
        assert_eq!(check("connections", 15, &plan), Ok(()));
        let settled = settle(10, &plan);
        assert_eq!(settled.count_of("Designers"), Some(6));
        assert_eq!(settled.count_of("Interns"), Some(3));
        assert_eq!(settled.count_of("Reviewers"), Some(1));
        let cut: Vec<_> = settled.trimmed.iter().map(|s| s.group.as_str()).collect();
        assert_eq!(cut, ["Reviewers"]);
    }

    #[test]
    fn an_admin_cannot_give_out_more_than_the_pool() {
        let plan = [fixed("Engine A", 300, 1), fixed("Engine B", 201, 2)];
        let e = check("devices", 500, &plan).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the groups would be given 501 of 500 devices: lower a group's count, or buy more"
        );
        let e = check("devices", 500, &[rest("A", 1), rest("B", 2)]).unwrap_err();
        assert!(matches!(e, PlanError::TwoRemaining(..)), "{e}");
        let e = check("devices", 500, &[fixed("A", 1, 1), fixed("A", 2, 2)]).unwrap_err();
        assert!(matches!(e, PlanError::Duplicate(..)), "{e}");
    }

    fn plans() -> impl Strategy<Value = Vec<Allocation>> {
        prop::collection::vec(("[A-E]", prop::option::of(0u32..40), 0i64..20), 0..12).prop_map(
            |raw| {
                raw.into_iter()
                    .map(|(group, n, secs)| Allocation {
                        group,
                        share: n.map_or(Share::Remaining, Share::Fixed),
                        allocated_at: at(secs),
                    })
                    .collect()
            },
        )
    }

    #[test]
    fn tenants_split_their_own_share() {
        let top = [fixed("North", 300, 1), fixed("South", 150, 2)];
        let mut within = std::collections::BTreeMap::new();
        within.insert("North".to_owned(), vec![fixed("Engine A", 200, 3)]);
        let split = Split::new(500, &top, &within);
        let a = split.bucket("North", Some("Engine A"));
        assert_eq!((a.group.as_deref(), a.size), (Some("Engine A"), 200));
        let rest_of_north = split.bucket("North", None);
        assert_eq!(rest_of_north.size, 100);
        assert_eq!(
            rest_of_north.describe(),
            "tenant North's part no group was given"
        );
        // South has no plan: its whole share; the default tenant keeps what is left.
        assert_eq!(split.bucket("South", Some("Anything")).size, 150);
        assert_eq!(split.bucket("", None).size, 50);
        // A smaller pool cuts South (latest) first, then North's groups within what is left.
        let split = Split::new(250, &top, &within);
        assert_eq!(split.bucket("South", None).size, 0);
        assert_eq!(split.bucket("North", Some("Engine A")).size, 200);
        assert_eq!(split.bucket("North", None).size, 50);
    }

    proptest! {
        #[test]
        fn no_plan_ever_gives_out_more_than_the_pool(plan in plans(), pool in 0u32..100) {
            let settled = settle(pool, &plan);
            let given: u64 = settled.groups.iter().map(|s| u64::from(s.count)).sum();
            prop_assert!(given <= u64::from(pool));
            for s in &settled.groups {
                if let Share::Fixed(asked) = s.share {
                    prop_assert!(s.count <= asked);
                }
            }
            // A plan the check accepts is settled exactly as asked.
            if check("q", pool, &plan).is_ok() {
                prop_assert!(settled.trimmed.is_empty());
            }
        }

        #[test]
        fn settling_is_deterministic(plan in plans(), pool in 0u32..100) {
            let mut reversed = plan.clone();
            reversed.reverse();
            prop_assert_eq!(settle(pool, &plan), settle(pool, &reversed));
        }

        #[test]
        fn a_smaller_pool_never_gives_a_group_more(plan in plans(), pool in 1u32..100, cut in 0u32..100) {
            let big = settle(pool, &plan);
            let small = settle(pool.saturating_sub(cut), &plan);
            for (b, s) in big.groups.iter().zip(&small.groups) {
                prop_assert_eq!(&b.group, &s.group);
                prop_assert!(s.count <= b.count);
            }
        }

        #[test]
        fn the_pool_is_the_sum_of_the_licenses_valid_then(
            counts in prop::collection::vec((1u32..50, 0u32..4), 0..6),
            probe in 0i64..5,
        ) {
            let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let grants: Vec<Grant> = counts.iter().enumerate().map(|(i, (count, years))| Grant {
                license_id: format!("l{i}"),
                count: *count,
                validity: Validity {
                    starts: base,
                    expires: base.with_year(2026 + i32::try_from(*years).unwrap()).unwrap(),
                },
            }).collect();
            let now = base.with_year(2026 + i32::try_from(probe).unwrap()).unwrap()
                .and_hms_opt(12, 0, 0).unwrap().and_utc();
            let expected: u32 = counts.iter().filter(|(_, years)| i64::from(*years) >= probe).map(|(c, _)| c).sum();
            prop_assert_eq!(pool_at(&grants, now), expected);
        }
    }
}
