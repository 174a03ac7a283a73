//! Allocations on the workstation: the pool of each quantity the license counts, the plan that
//! splits it among groups, and devices taking their type's license when they connect.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tenure_core::QuantityKind;
use tenure_core::allocation::{Grant, pool_at};

use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{ActivationRequest, ValidationRequest};
use tenure_core::{LicenseKey, VerifiedLicense};

use super::{EngineError, Report, Workstation, fresh_nonce, new_credential};
use crate::api::ApiClient;
use tenure_core::allocation::{Bucket, Share};

use crate::product_db::{
    AllocationBook, AllocationChange, AllocationError, DbError, DeviceAnswer, DeviceCounts,
    GroupKind, Held, ProductDb, StackedLicense, device_id_problem,
};

/// "10 connections (concurrent) · 120 devices, until 2027-12-31", for the audit log.
fn describe_counts(license: &VerifiedLicense) -> String {
    format!(
        "license {}: {}, {} to {}",
        license.id,
        license.terms.counts_text(),
        license.terms.validity.starts,
        license.terms.validity.expires
    )
}

/// Why an allocation request could not be answered. A device refused for want of a free
/// license is not an error: it is a [`DeviceAnswer::Refused`].
#[derive(Debug, thiserror::Error)]
pub enum AllocationsError {
    /// Groups and devices live in the product database, which is not connected.
    #[error("no product database is connected: groups, allocations and devices live there")]
    NoDatabase,
    /// The license counts no such device type.
    #[error("the license counts no device type {asked:?}; it counts: {counted}")]
    UnknownDeviceType {
        /// The type the device gave.
        asked: String,
        /// The device quantities the license has, or "no devices".
        counted: String,
    },
    /// A device id that is empty, too long or holds control characters; the text says which.
    #[error("{problem}")]
    BadDeviceId {
        /// The id given.
        id: String,
        /// Why it cannot be used.
        problem: String,
    },
    /// The key stacked is the license this database already holds.
    #[error("that key is this database's license already: stack the key of another license")]
    AlreadyHeld,
    /// A save was refused or lost a race.
    #[error("{0}")]
    Save(#[from] AllocationError),
    /// The product database failed.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The license on this workstation could not be read.
    #[error(transparent)]
    Workstation(#[from] EngineError),
}

/// One quantity's pool now, with the license it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The quantity's name.
    pub quantity: String,
    /// What it counts.
    pub kind: QuantityKind,
    /// Its size now: the stacked licenses in force, added up (0 when none is).
    pub size: u32,
    /// The licenses it stacks, with their counts and dates.
    pub grants: Vec<Grant>,
}

/// One line of a quantity's split: a group's or a tenant's share, or the part no group was
/// given, with what it holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLine {
    /// The group or tenant; `None` for the part of `tenant` no group was given.
    pub group: Option<String>,
    /// What the group stands for.
    pub kind: Option<GroupKind>,
    /// The tenant the line lies in (a tenant's own line: empty).
    pub tenant: String,
    /// The share asked for; `None` for the part no group was given.
    pub share: Option<Share>,
    /// What it gets of the pool now.
    pub allocated: u32,
    /// What its users or devices hold now.
    pub used: u32,
    /// True when the pool is smaller than the plan and this share was cut.
    pub cut: bool,
}

/// A quantity's pool and how it is split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityView {
    /// The pool.
    pub pool: Pool,
    /// Its shares: the default tenant's groups and tenants (each tenant followed by its own
    /// groups), then the parts no group was given.
    pub lines: Vec<ShareLine>,
}

/// What an Allocations screen or `tenure groups` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// Groups, members, plans and devices.
    pub book: AllocationBook,
    /// Each quantity the license counts, split.
    pub quantities: Vec<QuantityView>,
}

impl Overview {
    /// Only what `tenant`'s admin sees: the tenant's lines, groups, members and devices.
    #[must_use]
    pub fn for_tenant(mut self, tenant: &str) -> Overview {
        let in_tenant = |book: &AllocationBook, group: &str| book.tenant_of(group) == tenant;
        let book = self.book.clone();
        self.book.groups.retain(|name, _| in_tenant(&book, name));
        self.book.members.retain(|_, group| in_tenant(&book, group));
        self.book.devices.retain(|_, d| in_tenant(&book, &d.group));
        for quantity in &mut self.quantities {
            quantity
                .lines
                .retain(|line| line.tenant == tenant || line.group.as_deref() == Some(tenant));
        }
        self
    }
}

fn held_for(pool: &Pool, held: &[Held]) -> Vec<(String, u32)> {
    held.iter()
        .filter(|h| {
            h.kind == pool.kind
                && (h.kind != QuantityKind::Device || h.device_type == pool.quantity)
        })
        .map(|h| (h.group.clone(), h.count))
        .collect()
}

/// Splits each pool by the plan and counts what each part holds.
fn split_view(book: &AllocationBook, pools: Vec<Pool>, held: &[Held]) -> Vec<QuantityView> {
    pools
        .into_iter()
        .map(|pool| {
            let split = book.split(&pool.quantity, pool.size);
            let holders: Vec<(Bucket, u32)> = held_for(&pool, held)
                .into_iter()
                .map(|(group, n)| (book.bucket(&split, &group), n))
                .collect();
            let used_in = |bucket: &Bucket| -> u32 {
                holders
                    .iter()
                    .filter(|(b, _)| b.same_as(bucket))
                    .map(|(_, n)| n)
                    .sum()
            };
            let plan = book.plans.get(&pool.quantity).cloned().unwrap_or_default();
            let mut lines = Vec::new();
            let mut tenants_seen = Vec::new();
            let mut ordered = plan.clone();
            // Each tenant right before its own groups.
            let is_tenant = |group: &str| {
                book.groups
                    .get(group)
                    .is_some_and(|g| g.kind == GroupKind::Tenant)
            };
            ordered.sort_by(|a, b| {
                book.tenant_of(&a.group)
                    .cmp(book.tenant_of(&b.group))
                    .then_with(|| is_tenant(&b.group).cmp(&is_tenant(&a.group)))
                    .then_with(|| a.group.cmp(&b.group))
            });
            for allocation in &ordered {
                let group = book.groups.get(&allocation.group);
                let kind = group.map(|g| g.kind);
                let tenant = book.tenant_of(&allocation.group).to_owned();
                let (allocated, used, line_tenant) = if kind == Some(GroupKind::Tenant) {
                    tenants_seen.push(allocation.group.clone());
                    let given = split.top().count_of(&allocation.group).unwrap_or(0);
                    let used = holders
                        .iter()
                        .filter(|(b, _)| b.tenant == allocation.group)
                        .map(|(_, n)| n)
                        .sum();
                    (given, used, String::new())
                } else {
                    let bucket = book.bucket(&split, &allocation.group);
                    (bucket.size, used_in(&bucket), tenant)
                };
                let asked = match allocation.share {
                    Share::Fixed(n) => n,
                    Share::Remaining => allocated,
                };
                lines.push(ShareLine {
                    group: Some(allocation.group.clone()),
                    kind,
                    tenant: line_tenant,
                    share: Some(allocation.share),
                    allocated,
                    used,
                    cut: allocated < asked,
                });
            }
            for tenant in std::iter::once(String::new()).chain(tenants_seen) {
                let bucket = split.bucket(&tenant, None);
                lines.push(ShareLine {
                    group: None,
                    kind: None,
                    used: used_in(&bucket),
                    allocated: bucket.size,
                    tenant,
                    share: None,
                    cut: false,
                });
            }
            QuantityView { pool, lines }
        })
        .collect()
}

/// The shares a smaller pool cuts, in words, latest first: for each quantity `after` counts
/// less of than `before` (a renewal with fewer, or a stacked license gone), the groups and
/// tenants whose shares give way. Empty when no pool shrank.
pub fn cuts_of(
    book: &AllocationBook,
    before: &[tenure_core::Quantity],
    after: &[tenure_core::Quantity],
) -> Vec<String> {
    let mut said = Vec::new();
    for quantity in after {
        let shrank = before
            .iter()
            .find(|q| q.name == quantity.name)
            .is_some_and(|old| quantity.count < old.count);
        if !shrank {
            continue;
        }
        let split = book.split(&quantity.name, quantity.count);
        let tenants = book
            .groups
            .values()
            .filter(|g| g.kind == GroupKind::Tenant)
            .filter_map(|g| split.tenant(&g.name).map(|(_, s)| s));
        for settled in std::iter::once(split.top()).chain(tenants) {
            for cut in &settled.trimmed {
                said.push(format!(
                    "{} now gets {} of the {} {} it was given: the pool is {} now (the latest shares give way first)",
                    cut.group, cut.count, cut.share, quantity.name, quantity.count
                ));
            }
        }
    }
    said
}

/// Groups, allocations and devices: the pools of the license's quantities and how the customer's
/// admin splits them (among roles, sites and tenants). A view of the [`Workstation`]
/// (`workstation.allocations()`).
#[derive(Clone, Copy)]
pub struct Allocations<'w> {
    ws: &'w Workstation,
}

impl std::ops::Deref for Allocations<'_> {
    type Target = Workstation;

    fn deref(&self) -> &Workstation {
        self.ws
    }
}

impl Workstation {
    /// Groups, allocations and devices in the connected product database.
    pub fn allocations(&self) -> Allocations<'_> {
        Allocations { ws: self }
    }
}

impl Allocations<'_> {
    fn require_db(&self) -> Result<&ProductDb, AllocationsError> {
        self.db.as_ref().ok_or(AllocationsError::NoDatabase)
    }

    /// Each quantity the license counts, with its pool now: the license's count, plus each
    /// stacked license's while it is valid, bound here and within its own grace. A license not
    /// in force (expired, grace over, for another database) gives pools of none.
    pub async fn pools(self, now: DateTime<Utc>) -> Result<Vec<Pool>, AllocationsError> {
        let report = self.report(now)?;
        self.pools_in(report, now).await
    }

    /// [`Allocations::pools`], from a report already made.
    async fn pools_in(
        self,
        report: Report,
        now: DateTime<Utc>,
    ) -> Result<Vec<Pool>, AllocationsError> {
        let Some(license) = report.license else {
            return Ok(Vec::new());
        };
        let in_force = report.status.is_licensed();
        let stacked = if in_force {
            self.stacked_in_force(now).await?
        } else {
            Vec::new()
        };
        Ok(license
            .terms
            .quantities()
            .into_iter()
            .map(|q| {
                let grants: Vec<Grant> = std::iter::once(&license)
                    .chain(&stacked)
                    .filter_map(|l| {
                        let counted = l.terms.quantity(&q.name).filter(|s| s.kind == q.kind)?;
                        Some(Grant {
                            license_id: l.id.clone(),
                            count: counted.count,
                            validity: l.terms.validity,
                        })
                    })
                    .collect();
                Pool {
                    size: if in_force { pool_at(&grants, now) } else { 0 },
                    quantity: q.name,
                    kind: q.kind,
                    grants,
                }
            })
            .collect())
    }

    /// The stacked licenses that count now: each verified (signed by a trusted key, like any
    /// license), bound to this database, and within its dates and its own grace. One that is
    /// not is left out, and the log says why.
    async fn stacked_in_force(
        self,
        now: DateTime<Utc>,
    ) -> Result<Vec<VerifiedLicense>, AllocationsError> {
        let Some(db) = &self.db else {
            return Ok(Vec::new());
        };
        let here = self.current_binding();
        let mut counted = Vec::new();
        for row in db.stacked().await? {
            let license = match self.open_license(&row.armored) {
                Ok(license) => license,
                Err(e) => {
                    tracing::warn!(license = %row.license_id, error = %e, "a stacked license was refused");
                    continue;
                }
            };
            let bound_here = here.as_ref().is_some_and(|b| license.binding.matches(b));
            let in_dates =
                license.terms.validity.starts_at() <= now && now < license.grace_ends_at();
            if bound_here && in_dates && license.id == row.license_id {
                counted.push(license);
            }
        }
        Ok(counted)
    }

    /// Activates another license's key for this database and stacks it: its counts add to the
    /// pools while it is valid. Checked as any activation is (signature, nonce, binding).
    pub async fn stack(
        self,
        api: &ApiClient,
        key_text: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedLicense, AllocationsError> {
        let key = LicenseKey::parse(key_text).map_err(EngineError::from)?;
        self.require_trust()?;
        let db = self.require_db()?;
        let binding = self.current_binding().ok_or(EngineError::NoBinding)?;
        let Some(held) = self.license()? else {
            return Err(EngineError::NotActivated.into());
        };
        let nonce = fresh_nonce();
        let credential = new_credential();
        let account = self.credentials()?;
        let request = ActivationRequest {
            key: key.digits(),
            binding: binding.clone(),
            nonce: nonce.clone(),
            holder: credential.public_hex(),
        };
        let answer = api
            .activate(&request, account.as_ref())
            .await
            .map_err(EngineError::from)?;
        let license = self.accept_answer(&answer, &nonce, &binding, None)?;
        if held.id == license.id {
            return Err(AllocationsError::AlreadyHeld);
        }
        db.save_stacked(
            &StackedLicense {
                license_id: license.id.clone(),
                armored: license.text().to_owned(),
                holder_secret: credential.secret_hex(),
                validated_at: license.validated_at,
            },
            now,
        )
        .await?;
        self.audit("license stacked", "ok", &describe_counts(&license), now)
            .await;
        Ok(license)
    }

    /// Validates each stacked license online (its grace restarts); returns how many were. A
    /// refusal stops at that license and says which.
    pub async fn validate_stacked(
        self,
        api: &ApiClient,
        now: DateTime<Utc>,
    ) -> Result<usize, AllocationsError> {
        let Some(db) = &self.db else { return Ok(0) };
        let binding = self.current_binding().ok_or(EngineError::NoBinding)?;
        let mut validated = 0;
        for row in db.stacked().await? {
            let credential =
                Credential::from_hex(&row.holder_secret).ok_or(EngineError::NoCredential)?;
            let nonce = fresh_nonce();
            let request = ValidationRequest {
                license_id: row.license_id.clone(),
                binding: binding.clone(),
                nonce: nonce.clone(),
                proof: credential.prove(ProofAction::Validate, &row.license_id, &binding, &nonce),
                // Overdraft is the main license's pool, reported with its own validation.
                overdraft: Vec::new(),
                revoked_borrows: Vec::new(),
                borrowed_session: None,
            };
            let answer = api.validate(&request).await.map_err(EngineError::from)?;
            let license = self.accept_answer(&answer, &nonce, &binding, Some(&row.license_id))?;
            db.save_stacked(
                &StackedLicense {
                    armored: license.text().to_owned(),
                    validated_at: license.validated_at,
                    ..row
                },
                now,
            )
            .await?;
            validated += 1;
        }
        Ok(validated)
    }

    async fn pool_sizes(
        self,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, u32>, AllocationsError> {
        Ok(self
            .pools(now)
            .await?
            .into_iter()
            .map(|p| (p.quantity, p.size))
            .collect())
    }

    /// The pools, how they are split, and what each part holds now.
    pub async fn overview(self, now: DateTime<Utc>) -> Result<Overview, AllocationsError> {
        let pools = self.pools(now).await?;
        let db = self.require_db()?;
        let book = db.load_allocations().await?;
        self.audit_shrunk_pools(&book, &pools, now).await;
        let held = db.held_by_group(now).await?;
        let quantities = split_view(&book, pools, &held);
        Ok(Overview { book, quantities })
    }

    /// When a pool is smaller than when last seen (a stacked license ended), audits once, by
    /// name, the shares that give way.
    async fn audit_shrunk_pools(self, book: &AllocationBook, pools: &[Pool], now: DateTime<Utc>) {
        let Some(db) = &self.db else { return };
        let sizes: BTreeMap<String, u32> =
            pools.iter().map(|p| (p.quantity.clone(), p.size)).collect();
        let changed = match db.note_pool_sizes(&sizes).await {
            Ok(changed) => changed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot record the pools' sizes");
                return;
            }
        };
        let as_quantities = |sizes: &BTreeMap<String, u32>| -> Vec<tenure_core::Quantity> {
            pools
                .iter()
                .filter_map(|p| {
                    Some(tenure_core::Quantity {
                        name: p.quantity.clone(),
                        kind: p.kind,
                        count: *sizes.get(&p.quantity)?,
                    })
                })
                .collect()
        };
        for cut in cuts_of(book, &as_quantities(&changed), &as_quantities(&sizes)) {
            tracing::warn!(cut = %cut, "a share was cut to the pool");
            self.audit("share cut", "ok", &cut, now).await;
        }
    }

    /// Audits, by name, the shares a license just stored cuts from those `before` granted.
    pub(super) async fn audit_cuts(
        self,
        before: &[tenure_core::Quantity],
        after: &[tenure_core::Quantity],
        now: DateTime<Utc>,
    ) {
        let Some(db) = &self.db else { return };
        let book = match db.load_allocations().await {
            Ok(book) => book,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the allocations to trim them");
                return;
            }
        };
        for cut in cuts_of(&book, before, after) {
            tracing::warn!(cut = %cut, "a share was cut to the license");
            self.audit("share cut", "ok", &cut, now).await;
        }
    }

    /// Groups, members, plans and devices as they stand.
    pub async fn book(self) -> Result<AllocationBook, AllocationsError> {
        Ok(self.require_db()?.load_allocations().await?)
    }

    /// Saves changes made on top of version `expected` (any version with `None`); refused if
    /// someone saved since, or if a plan would give out more than its pool. `tenant`: the save
    /// is a tenant admin's, limited to that tenant's own groups.
    pub async fn save(
        self,
        expected: Option<i64>,
        changes: &[AllocationChange],
        tenant: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AllocationBook, AllocationsError> {
        let pools = self.pool_sizes(now).await?;
        let db = self.require_db()?;
        Ok(db
            .save_allocations(expected, changes, &pools, tenant, &self.actor(), now)
            .await?)
    }

    /// A device connects, saying its id and type: it keeps or takes a license of its type
    /// if one is free in its group's share, or is refused with the group named.
    pub async fn register_device(
        self,
        id: &str,
        device_type: &str,
        now: DateTime<Utc>,
    ) -> Result<DeviceAnswer, AllocationsError> {
        if let Some(problem) = device_id_problem(id) {
            return Err(AllocationsError::BadDeviceId {
                id: id.to_owned(),
                problem,
            });
        }
        let report = self.report(now)?;
        let cap = report
            .license
            .as_ref()
            .map_or(0, |l| l.terms.churn.device_registrations_per_30_days);
        let pools = self.pools_in(report, now).await?;
        let Some(pool) = pools
            .iter()
            .find(|p| p.kind == QuantityKind::Device && p.quantity == device_type)
        else {
            let counted: Vec<_> = pools
                .iter()
                .filter(|p| p.kind == QuantityKind::Device)
                .map(|p| p.quantity.as_str())
                .collect();
            return Err(AllocationsError::UnknownDeviceType {
                asked: device_type.to_owned(),
                counted: if counted.is_empty() {
                    "no devices".to_owned()
                } else {
                    counted.join(", ")
                },
            });
        };
        let db = self.require_db()?;
        let counts = DeviceCounts {
            pool: pool.size,
            registrations_per_30_days: cap,
        };
        Ok(db.register_device(id, device_type, counts, now).await?)
    }
}
