//! Allocations on the workstation: the pool of each quantity the license counts, the plan that
//! splits it among groups, and devices taking their type's license when they connect.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tenure_core::QuantityKind;
use tenure_core::allocation::{Grant, pool_at};

use super::{EngineError, Workstation};
use crate::product_db::{
    AllocationBook, AllocationChange, AllocationError, DbError, DeviceAnswer, ProductDb,
};

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

    /// Each quantity the license counts, with its pool now. A license not in force (expired,
    /// grace over, for another database) gives pools of none.
    pub fn pools(self, now: DateTime<Utc>) -> Result<Vec<Pool>, AllocationsError> {
        let report = self.report(now)?;
        let Some(license) = report.license else {
            return Ok(Vec::new());
        };
        let in_force = report.status.is_licensed();
        Ok(license
            .terms
            .quantities()
            .into_iter()
            .map(|q| {
                let grants = vec![Grant {
                    license_id: license.id.clone(),
                    count: q.count,
                    validity: license.terms.validity,
                }];
                Pool {
                    size: if in_force { pool_at(&grants, now) } else { 0 },
                    quantity: q.name,
                    kind: q.kind,
                    grants,
                }
            })
            .collect())
    }

    fn pool_sizes(self, now: DateTime<Utc>) -> Result<BTreeMap<String, u32>, AllocationsError> {
        Ok(self
            .pools(now)?
            .into_iter()
            .map(|p| (p.quantity, p.size))
            .collect())
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
        let pools = self.pool_sizes(now)?;
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
        let pools = self.pools(now)?;
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
        Ok(db.register_device(id, device_type, pool.size, now).await?)
    }
}
