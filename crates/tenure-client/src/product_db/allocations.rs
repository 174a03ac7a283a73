//! Allocations in the product database: groups (roles, sites, tenants), who belongs to which,
//! each quantity's plan, and devices.
//!
//! A save is one transaction that first moves the 'allocations' version on — `UPDATE … WHERE
//! version = expected` — so of two admins saving over the same version the second is told who
//! saved first; the changes are then written, every plan is checked against the license's pool
//! ([`tenure_core::allocation::check`], per tenant too), and a plan over the pool rolls it all
//! back. A device registration takes the devices' pool lock first, so registrations pass one at a
//! time and the count they judge by cannot change under them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row as _};
use tenure_core::QuantityKind;
use tenure_core::allocation::{Allocation, Bucket, Share, Split, check, name_problem};
use tenure_core::directory::{Actor, Version, check_login};

use super::{AuditEvent, DbError, GroupShare, ProductDb, churn, insert_event};

fn time(secs: i64) -> DateTime<Utc> {
    tenure_storage::time_from_secs(secs)
}

/// What a group stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKind {
    /// People with one job ("Designers").
    Role,
    /// An engine, plant or office: where devices are.
    Site,
    /// A customer of the customer, with its own admin and its own groups.
    Tenant,
}

impl GroupKind {
    /// `role`, `site`, `tenant`.
    pub fn word(self) -> &'static str {
        match self {
            GroupKind::Role => "role",
            GroupKind::Site => "site",
            GroupKind::Tenant => "tenant",
        }
    }
}

impl std::str::FromStr for GroupKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "role" => Ok(GroupKind::Role),
            "site" => Ok(GroupKind::Site),
            "tenant" => Ok(GroupKind::Tenant),
            other => Err(format!(
                "unknown group kind {other:?}: use \"role\", \"site\" or \"tenant\""
            )),
        }
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its name, unique in the database.
    pub name: String,
    /// What it stands for.
    pub kind: GroupKind,
    /// The tenant it lies in; empty for the default tenant (and for tenants themselves).
    pub tenant: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Its place in the line for a concurrent seat: a waiter of a higher priority waits ahead.
    pub priority: i64,
}

/// One device known to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id (as the product reports it).
    pub id: String,
    /// Its type: the device quantity it takes (`devices`, `mobile`, `servers`).
    pub device_type: String,
    /// The group it belongs to; empty for none.
    pub group: String,
    /// When it was added or assigned.
    pub assigned_at: DateTime<Utc>,
    /// When it took its license; `None` while it waits for first contact.
    pub licensed_at: Option<DateTime<Utc>>,
    /// When it last connected.
    pub last_contact: Option<DateTime<Utc>>,
}

/// Groups, members, plans and devices at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationBook {
    /// Who saved last, and when.
    pub version: Version,
    /// Every group, by name.
    pub groups: BTreeMap<String, Group>,
    /// Each user's group, by login.
    pub members: BTreeMap<String, String>,
    /// Each quantity's plan, by quantity name.
    pub plans: BTreeMap<String, Vec<Allocation>>,
    /// Every device not removed, by id.
    pub devices: BTreeMap<String, Device>,
}

impl AllocationBook {
    /// Applies a change that was just written, as the database now has it (what later changes
    /// of the same save are judged on).
    fn apply(&mut self, change: &AllocationChange, now: DateTime<Utc>) {
        match change {
            AllocationChange::AddGroup { name, kind, tenant } => {
                self.groups.insert(
                    name.clone(),
                    Group {
                        name: name.clone(),
                        kind: *kind,
                        tenant: tenant.clone(),
                        created_at: now,
                        priority: 0,
                    },
                );
            }
            AllocationChange::RemoveGroup(group) => {
                self.groups.remove(group);
                self.members.retain(|_, g| g != group);
                for plan in self.plans.values_mut() {
                    plan.retain(|a| &a.group != group);
                }
                for device in self.devices.values_mut() {
                    if &device.group == group {
                        device.group.clear();
                    }
                }
            }
            AllocationChange::Allocate {
                quantity,
                group,
                share,
            } => {
                let plan = self.plans.entry(quantity.clone()).or_default();
                plan.retain(|a| &a.group != group);
                if let Some(share) = share {
                    plan.push(Allocation {
                        group: group.clone(),
                        share: *share,
                        allocated_at: now,
                    });
                }
            }
            AllocationChange::AddMember { group, login } => {
                self.members.insert(login.clone(), group.clone());
            }
            AllocationChange::RemoveMember(login) => {
                self.members.remove(login);
            }
            AllocationChange::AssignDevice {
                id,
                device_type,
                group,
            } => {
                let device = self.devices.entry(id.clone()).or_insert_with(|| Device {
                    id: id.clone(),
                    device_type: device_type.clone(),
                    group: String::new(),
                    assigned_at: now,
                    licensed_at: None,
                    last_contact: None,
                });
                device.device_type.clone_from(device_type);
                device.group.clone_from(group);
                device.assigned_at = now;
            }
            AllocationChange::RemoveDevice(id) => {
                self.devices.remove(id);
            }
        }
    }

    /// The logins in `group`, in order.
    pub fn members_of(&self, group: &str) -> Vec<&str> {
        self.members
            .iter()
            .filter(|(_, g)| *g == group)
            .map(|(login, _)| login.as_str())
            .collect()
    }

    /// The tenant `group` lies in: a tenant is its own; a role or site its `tenant` field.
    pub fn tenant_of(&self, group: &str) -> &str {
        match self.groups.get(group) {
            Some(g) if g.kind == GroupKind::Tenant => &g.name,
            Some(g) => &g.tenant,
            None => "",
        }
    }

    /// `quantity`'s plan settled against `pool`: the default tenant's shares, then each
    /// tenant's shares within what it was given.
    pub fn split(&self, quantity: &str, pool: u32) -> Split {
        let mut top = Vec::new();
        let mut tenants: BTreeMap<String, Vec<Allocation>> = BTreeMap::new();
        for allocation in self.plans.get(quantity).into_iter().flatten() {
            match self.groups.get(&allocation.group) {
                Some(g) if g.kind != GroupKind::Tenant && !g.tenant.is_empty() => tenants
                    .entry(g.tenant.clone())
                    .or_default()
                    .push(allocation.clone()),
                _ => top.push(allocation.clone()),
            }
        }
        Split::new(pool, &top, &tenants)
    }

    /// The part of `split` a holder in `group` (empty: none) draws from.
    pub fn bucket(&self, split: &Split, group: &str) -> Bucket {
        match self.groups.get(group) {
            None => split.bucket("", None),
            Some(g) if g.kind == GroupKind::Tenant => split.bucket(&g.name, None),
            Some(g) => split.bucket(&g.tenant, Some(&g.name)),
        }
    }
}

/// One change to the allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationChange {
    /// A new group; `tenant` empty for the default tenant.
    AddGroup {
        /// Its name.
        name: String,
        /// What it stands for.
        kind: GroupKind,
        /// The tenant it lies in.
        tenant: String,
    },
    /// Removes a group: its shares end, its members and devices belong to none.
    RemoveGroup(String),
    /// Sets (or with `None` ends) a group's share of a quantity.
    Allocate {
        /// The quantity's name.
        quantity: String,
        /// The group.
        group: String,
        /// Its share.
        share: Option<Share>,
    },
    /// Puts a user in a group (out of any other).
    AddMember {
        /// The group.
        group: String,
        /// The user's login.
        login: String,
    },
    /// Takes a user out of their group.
    RemoveMember(String),
    /// Assigns a device to a group before or after it first connects; it takes its license
    /// at first contact.
    AssignDevice {
        /// The device's id.
        id: String,
        /// Its type.
        device_type: String,
        /// The group; empty for none.
        group: String,
    },
    /// Removes (uninstalls) a device: its license is free again.
    RemoveDevice(String),
}

/// Why an allocation save did not happen. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// Someone saved after the version this save started from.
    #[error("not saved: the allocations were {}", super::saved_since(.0))]
    Conflict(Version),
    /// A change was refused; the text says why.
    #[error("not saved: {0}")]
    Refused(String),
    /// The database failed.
    #[error("not saved: {0}")]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AllocationError {
    fn from(e: sqlx::Error) -> Self {
        AllocationError::Db(e.into())
    }
}

/// What one group holds of one kind of quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Named seats, connections or devices.
    pub kind: QuantityKind,
    /// For devices, their type; empty otherwise.
    pub device_type: String,
    /// The group ("" for none).
    pub group: String,
    /// How many.
    pub count: u32,
}

fn count_of(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a device's registration got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// The device holds a license of its type; `first` when it took it just now.
    Licensed {
        /// The device as stored.
        device: Device,
        /// True on the contact that gave it its license.
        first: bool,
    },
    /// None is free in the part of the pool the device draws from.
    Refused {
        /// The device type asked for.
        device_type: String,
        /// That part.
        bucket: Bucket,
        /// How many of it are held.
        in_use: u32,
    },
    /// One is free, but the license's cap on devices taking a license in any 30 days is used.
    Capped {
        /// The cap.
        cap: u32,
        /// When the oldest registration in the window leaves it.
        next: Option<DateTime<Utc>>,
    },
}

/// What a device registration is judged against: the license's pool of its type now (0 when
/// the license is not in force), and its signed cap on registrations in any 30 days (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCounts {
    /// The pool of the device's type.
    pub pool: u32,
    /// `Churn::device_registrations_per_30_days`.
    pub registrations_per_30_days: u32,
}

impl std::fmt::Display for DeviceAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceAnswer::Licensed { device, first } => write!(
                f,
                "Device {} {} a {} license.",
                device.id,
                if *first { "took" } else { "holds" },
                device.device_type
            ),
            DeviceAnswer::Refused {
                device_type,
                bucket,
                in_use,
            } => write!(
                f,
                "No {device_type} license is free for {} ({in_use} of {} in use). Remove a device there, or ask the admin for a bigger share.",
                bucket.describe(),
                bucket.size
            ),
            DeviceAnswer::Capped { cap, next } => write!(
                f,
                "This license lets at most {cap} devices take a license in any {} days, and they have{}",
                churn::WINDOW_DAYS,
                next.map_or_else(
                    || ".".to_owned(),
                    |at| format!(
                        ": the next can from {}.",
                        at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
                    )
                )
            ),
        }
    }
}

const SELECT_HEAD: &str = "SELECT version, changed_by, changed_host, changed_at \
     FROM tenure_directory WHERE slot = 'allocations'";

fn version_of(row: &sqlx::any::AnyRow) -> Result<Version, sqlx::Error> {
    Ok(Version {
        number: row.try_get("version")?,
        by: row.try_get("changed_by")?,
        host: row.try_get("changed_host")?,
        at: time(row.try_get("changed_at")?),
    })
}

fn device_of(row: &sqlx::any::AnyRow) -> Result<Device, sqlx::Error> {
    Ok(Device {
        id: row.try_get("id")?,
        device_type: row.try_get("device_type")?,
        group: row.try_get("group_name")?,
        assigned_at: time(row.try_get("assigned_at")?),
        licensed_at: row.try_get::<Option<i64>, _>("licensed_at")?.map(time),
        last_contact: row.try_get::<Option<i64>, _>("last_contact")?.map(time),
    })
}

const DEVICE_COLUMNS: &str = "id, device_type, group_name, assigned_at, licensed_at, last_contact";

fn share_of(stored: i64) -> Share {
    u32::try_from(stored).map_or(Share::Remaining, Share::Fixed)
}

fn stored_share(share: Share) -> i64 {
    match share {
        Share::Fixed(n) => i64::from(n),
        Share::Remaining => -1,
    }
}

async fn read_groups(conn: &mut AnyConnection) -> Result<BTreeMap<String, Group>, sqlx::Error> {
    let mut groups = BTreeMap::new();
    for row in sqlx::query("SELECT name, kind, tenant, created_at, priority FROM tenure_groups")
        .fetch_all(&mut *conn)
        .await?
    {
        let name: String = row.try_get("name")?;
        let kind: String = row.try_get("kind")?;
        groups.insert(
            name.clone(),
            Group {
                name,
                kind: kind.parse().unwrap_or(GroupKind::Role),
                tenant: row.try_get("tenant")?,
                created_at: time(row.try_get("created_at")?),
                priority: row.try_get("priority")?,
            },
        );
    }
    Ok(groups)
}

async fn read_book(conn: &mut AnyConnection) -> Result<AllocationBook, sqlx::Error> {
    let version = version_of(&sqlx::query(SELECT_HEAD).fetch_one(&mut *conn).await?)?;
    let groups = read_groups(conn).await?;
    let mut members = BTreeMap::new();
    for row in sqlx::query("SELECT login, group_name FROM tenure_group_members")
        .fetch_all(&mut *conn)
        .await?
    {
        members.insert(row.try_get("login")?, row.try_get("group_name")?);
    }
    let mut plans: BTreeMap<String, Vec<Allocation>> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT quantity, group_name, share, allocated_at FROM tenure_allocations \
         ORDER BY quantity, allocated_at, group_name",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        plans
            .entry(row.try_get("quantity")?)
            .or_default()
            .push(Allocation {
                group: row.try_get("group_name")?,
                share: share_of(row.try_get("share")?),
                allocated_at: time(row.try_get("allocated_at")?),
            });
    }
    let mut devices = BTreeMap::new();
    for row in sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEVICE_COLUMNS} FROM tenure_devices WHERE removed_at IS NULL"
    )))
    .fetch_all(&mut *conn)
    .await?
    {
        let device = device_of(&row)?;
        devices.insert(device.id.clone(), device);
    }
    Ok(AllocationBook {
        version,
        groups,
        members,
        plans,
        devices,
    })
}

/// The groups and one quantity's plan: what a device registration judges by.
async fn read_plan(
    conn: &mut AnyConnection,
    quantity: &str,
) -> Result<AllocationBook, sqlx::Error> {
    let groups = read_groups(conn).await?;
    let mut plan = Vec::new();
    for row in sqlx::query(
        "SELECT group_name, share, allocated_at FROM tenure_allocations WHERE quantity = $1",
    )
    .bind(quantity)
    .fetch_all(&mut *conn)
    .await?
    {
        plan.push(Allocation {
            group: row.try_get("group_name")?,
            share: share_of(row.try_get("share")?),
            allocated_at: time(row.try_get("allocated_at")?),
        });
    }
    Ok(AllocationBook {
        // Not read: registrations do not depend on who saved last.
        version: Version {
            number: 0,
            by: String::new(),
            host: String::new(),
            at: DateTime::UNIX_EPOCH,
        },
        groups,
        members: BTreeMap::new(),
        plans: BTreeMap::from([(quantity.to_owned(), plan)]),
        devices: BTreeMap::new(),
    })
}

/// Refuses a change a tenant's admin may not make: only the default tenant's admin adds
/// tenants, gives tenants their shares, or touches another tenant's groups.
fn out_of_scope(book: &AllocationBook, change: &AllocationChange, tenant: &str) -> Option<String> {
    let in_tenant = |group: &str| {
        book.groups
            .get(group)
            .is_some_and(|g| g.kind != GroupKind::Tenant && g.tenant == tenant)
    };
    let ok = match change {
        AllocationChange::AddGroup {
            kind, tenant: t, ..
        } => *kind != GroupKind::Tenant && t == tenant,
        AllocationChange::RemoveGroup(group)
        | AllocationChange::Allocate { group, .. }
        | AllocationChange::AddMember { group, .. }
        | AllocationChange::AssignDevice { group, .. } => in_tenant(group),
        AllocationChange::RemoveMember(login) => {
            book.members.get(login).is_some_and(|g| in_tenant(g))
        }
        AllocationChange::RemoveDevice(id) => {
            book.devices.get(id).is_some_and(|d| in_tenant(&d.group))
        }
    };
    (!ok).then(|| {
        format!(
            "as tenant {tenant}'s admin you can change only {tenant}'s own groups, members and devices: ask the default tenant's admin for the rest"
        )
    })
}

/// Why `id` cannot be a device's id: empty, over 200 characters, or with control characters
/// (what the product reports at registration and what an admin types alike).
pub fn device_id_problem(id: &str) -> Option<String> {
    let usable =
        !id.trim().is_empty() && id.chars().count() <= 200 && !id.chars().any(char::is_control);
    (!usable)
        .then(|| format!("the device id {id:?} cannot be used: give 1 to 200 printable characters"))
}

/// Refuses a change that names what is not there, before anything is written.
fn change_problem(book: &AllocationBook, change: &AllocationChange) -> Option<String> {
    let known = |group: &str| book.groups.contains_key(group);
    match change {
        AllocationChange::AddGroup { name, kind, tenant } => {
            if let Some(problem) = name_problem(name) {
                return Some(problem);
            }
            if known(name) {
                return Some(format!("there is already a group called {name}"));
            }
            if *kind == GroupKind::Tenant && !tenant.is_empty() {
                return Some(format!("tenant {name} cannot lie inside tenant {tenant}"));
            }
            let tenant_known = book
                .groups
                .get(tenant)
                .is_some_and(|g| g.kind == GroupKind::Tenant);
            (!tenant.is_empty() && !tenant_known)
                .then(|| format!("there is no tenant called {tenant}: add it first"))
        }
        AllocationChange::RemoveGroup(group) | AllocationChange::Allocate { group, .. } => {
            (!known(group)).then(|| format!("there is no group called {group}"))
        }
        AllocationChange::AddMember { group, login } => check_login(login)
            .err()
            .map(|e| e.to_string())
            .or_else(|| (!known(group)).then(|| format!("there is no group called {group}"))),
        AllocationChange::AssignDevice { group, id, .. } => {
            if let Some(problem) = device_id_problem(id) {
                return Some(problem);
            }
            (!group.is_empty() && !known(group))
                .then(|| format!("there is no group called {group}"))
        }
        AllocationChange::RemoveMember(_) | AllocationChange::RemoveDevice(_) => None,
    }
}

async fn write_change(
    conn: &mut AnyConnection,
    change: &AllocationChange,
    now: i64,
) -> Result<String, sqlx::Error> {
    Ok(match change {
        AllocationChange::AddGroup { name, kind, tenant } => {
            sqlx::query(
                "INSERT INTO tenure_groups (name, kind, tenant, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(kind.word())
            .bind(tenant)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            if tenant.is_empty() {
                format!("{} {name} added", kind.word())
            } else {
                format!("{} {name} added in tenant {tenant}", kind.word())
            }
        }
        AllocationChange::RemoveGroup(group) => {
            for sql in [
                "DELETE FROM tenure_allocations WHERE group_name = $1",
                "DELETE FROM tenure_group_members WHERE group_name = $1",
                "UPDATE tenure_devices SET group_name = '' WHERE group_name = $1",
                "DELETE FROM tenure_groups WHERE name = $1",
            ] {
                sqlx::query(sql).bind(group).execute(&mut *conn).await?;
            }
            format!("group {group} removed")
        }
        AllocationChange::Allocate {
            quantity,
            group,
            share: None,
        } => {
            sqlx::query("DELETE FROM tenure_allocations WHERE quantity = $1 AND group_name = $2")
                .bind(quantity)
                .bind(group)
                .execute(&mut *conn)
                .await?;
            format!("{group} no longer has a share of {quantity}")
        }
        AllocationChange::Allocate {
            quantity,
            group,
            share: Some(share),
        } => {
            // Setting a share again counts as new: when the pool shrinks, it gives way first.
            sqlx::query("DELETE FROM tenure_allocations WHERE quantity = $1 AND group_name = $2")
                .bind(quantity)
                .bind(group)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO tenure_allocations (quantity, group_name, share, allocated_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(quantity)
            .bind(group)
            .bind(stored_share(*share))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            format!("{group} given {share} {quantity}")
        }
        AllocationChange::AddMember { group, login } => {
            sqlx::query("DELETE FROM tenure_group_members WHERE login = $1")
                .bind(login)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO tenure_group_members (login, group_name, added_at) VALUES ($1, $2, $3)",
            )
            .bind(login)
            .bind(group)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            format!("{login} put in {group}")
        }
        AllocationChange::RemoveMember(login) => {
            sqlx::query("DELETE FROM tenure_group_members WHERE login = $1")
                .bind(login)
                .execute(&mut *conn)
                .await?;
            format!("{login} taken out of their group")
        }
        AllocationChange::AssignDevice { .. } | AllocationChange::RemoveDevice(_) => {
            write_device_change(conn, change, now).await?
        }
    })
}

/// A device assigned (before or after its first contact) or removed.
async fn write_device_change(
    conn: &mut AnyConnection,
    change: &AllocationChange,
    now: i64,
) -> Result<String, sqlx::Error> {
    Ok(match change {
        AllocationChange::AssignDevice {
            id,
            device_type,
            group,
        } => {
            let moved = sqlx::query(
                "UPDATE tenure_devices SET group_name = $1, device_type = $2, assigned_at = $3, \
                 removed_at = NULL WHERE id = $4",
            )
            .bind(group)
            .bind(device_type)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            if moved.rows_affected() == 0 {
                sqlx::query(
                    "INSERT INTO tenure_devices (id, device_type, group_name, assigned_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(device_type)
                .bind(group)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
            if group.is_empty() {
                format!("device {id} ({device_type}) assigned to no group")
            } else {
                format!("device {id} ({device_type}) assigned to {group}")
            }
        }
        AllocationChange::RemoveDevice(id) => {
            sqlx::query(
                "UPDATE tenure_devices SET removed_at = $1, licensed_at = NULL \
                 WHERE id = $2 AND removed_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            format!("device {id} removed; its license is free")
        }
        _ => String::new(),
    })
}

/// Every plan within its pool: the default tenant's against the license, each tenant's
/// against what it was given. `pools` holds the license's pool of each quantity now.
fn plan_problem(book: &AllocationBook, pools: &BTreeMap<String, u32>) -> Option<String> {
    for (quantity, plan) in &book.plans {
        let Some(&pool) = pools.get(quantity) else {
            return Some(format!(
                "the license counts no {quantity}: give shares of what it counts ({})",
                pools.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        let mut by_tenant: BTreeMap<&str, Vec<Allocation>> = BTreeMap::new();
        for allocation in plan {
            let level = match book.groups.get(&allocation.group) {
                Some(g) if g.kind != GroupKind::Tenant => g.tenant.as_str(),
                _ => "",
            };
            by_tenant.entry(level).or_default().push(allocation.clone());
        }
        let split = book.split(quantity, pool);
        for (tenant, plan) in &by_tenant {
            let within = if tenant.is_empty() {
                pool
            } else {
                split.top().count_of(tenant).unwrap_or(0)
            };
            let name = if tenant.is_empty() {
                quantity.clone()
            } else {
                format!("{quantity} of tenant {tenant}")
            };
            if let Err(e) = check(&name, within, plan) {
                return Some(e.to_string());
            }
        }
    }
    None
}

impl ProductDb {
    /// Groups, members, plans and devices as they stand.
    pub(crate) async fn load_allocations(&self) -> Result<AllocationBook, DbError> {
        let mut conn = self.pool.acquire().await?;
        Ok(read_book(&mut conn).await?)
    }

    /// Applies `changes` in one transaction, if the allocations are still at `expected` (any
    /// version with `None`). `pools` is the license's pool of each quantity now; `tenant`, for a
    /// tenant's admin, limits the changes to that tenant's own groups. Audited, change by change.
    pub(crate) async fn save_allocations(
        &self,
        expected: Option<i64>,
        changes: &[AllocationChange],
        pools: &BTreeMap<String, u32>,
        tenant: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<AllocationBook, AllocationError> {
        let mut tx = self.pool.begin().await?;
        let bumped = sqlx::query(
            "UPDATE tenure_directory SET version = version + 1, changed_by = $1, \
             changed_host = $2, changed_at = $3 \
             WHERE slot = 'allocations' AND ($4 < 0 OR version = $4) \
             RETURNING version, changed_by, changed_host, changed_at",
        )
        .bind(&actor.login)
        .bind(&actor.host)
        .bind(now.timestamp())
        .bind(expected.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?;
        if bumped.is_none() {
            drop(tx);
            return Err(AllocationError::Conflict(
                self.load_allocations().await?.version,
            ));
        }
        // Each change is judged on the book as the earlier changes of this save left it: read
        // once, then kept up to date in memory (a save of 10,000 devices reads it twice).
        let mut book = read_book(&mut tx).await?;
        for change in changes {
            let problem = tenant
                .and_then(|t| out_of_scope(&book, change, t))
                .or_else(|| change_problem(&book, change));
            if let Some(problem) = problem {
                return Err(AllocationError::Refused(problem));
            }
            let detail = write_change(&mut tx, change, now.timestamp()).await?;
            book.apply(change, now);
            let event = AuditEvent {
                at: now,
                kind: "allocation".to_owned(),
                outcome: "ok".to_owned(),
                login: actor.login.clone(),
                host: actor.host.clone(),
                detail,
            };
            insert_event(&mut tx, &event).await?;
        }
        let book = read_book(&mut tx).await?;
        if let Some(problem) = plan_problem(&book, pools) {
            return Err(AllocationError::Refused(problem));
        }
        tx.commit().await?;
        Ok(book)
    }

    /// Records each pool's size now and returns the sizes last recorded for those that changed
    /// (so a shrink is noticed once, whoever looks first).
    pub(crate) async fn note_pool_sizes(
        &self,
        sizes: &BTreeMap<String, u32>,
    ) -> Result<BTreeMap<String, u32>, DbError> {
        let mut tx = self.pool.begin().await?;
        let mut before = BTreeMap::new();
        for row in sqlx::query("SELECT quantity, size FROM tenure_pool_sizes")
            .fetch_all(&mut *tx)
            .await?
        {
            let quantity: String = row.try_get("quantity")?;
            let size: i64 = row.try_get("size")?;
            before.insert(quantity, u32::try_from(size).unwrap_or(0));
        }
        let mut changed = BTreeMap::new();
        for (quantity, size) in sizes {
            if before.get(quantity) == Some(size) {
                continue;
            }
            if let Some(old) = before.get(quantity) {
                changed.insert(quantity.clone(), *old);
            }
            sqlx::query("DELETE FROM tenure_pool_sizes WHERE quantity = $1")
                .bind(quantity)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO tenure_pool_sizes (quantity, size) VALUES ($1, $2)")
                .bind(quantity)
                .bind(i64::from(*size))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// What each group holds now: named seats and live connections by their users' group,
    /// licensed devices by their own, keyed by (quantity kind, device type or "", group).
    pub(crate) async fn held_by_group(&self, now: DateTime<Utc>) -> Result<Vec<Held>, DbError> {
        let by_member = |table: &str, condition: &str| {
            format!(
                "SELECT COALESCE(m.group_name, '') AS group_name, COUNT(*) AS held FROM {table} s \
                 LEFT JOIN tenure_group_members m ON m.login = s.login WHERE {condition} \
                 GROUP BY COALESCE(m.group_name, '')"
            )
        };
        let mut held = Vec::new();
        for (kind, sql) in [
            (QuantityKind::Named, by_member("tenure_seats", "1 = 1")),
            (
                QuantityKind::Concurrent,
                by_member(
                    "tenure_sessions",
                    "s.ended_at IS NULL AND s.lease_until > $1 AND s.admin = 0",
                ),
            ),
        ] {
            let query = sqlx::query(sqlx::AssertSqlSafe(sql));
            let query = if kind == QuantityKind::Concurrent {
                query.bind(now.timestamp())
            } else {
                query
            };
            for row in query.fetch_all(&self.pool).await? {
                held.push(Held {
                    kind,
                    device_type: String::new(),
                    group: row.try_get("group_name")?,
                    count: count_of(row.try_get("held")?),
                });
            }
        }
        for row in sqlx::query(
            "SELECT device_type, group_name, COUNT(*) AS held FROM tenure_devices \
             WHERE removed_at IS NULL AND licensed_at IS NOT NULL GROUP BY device_type, group_name",
        )
        .fetch_all(&self.pool)
        .await?
        {
            held.push(Held {
                kind: QuantityKind::Device,
                device_type: row.try_get("device_type")?,
                group: row.try_get("group_name")?,
                count: count_of(row.try_get("held")?),
            });
        }
        Ok(held)
    }

    /// The part of `quantity`'s pool `login`'s seats come from, when the pool is split among
    /// groups (`None` when it is not: the whole pool).
    pub(crate) async fn share_for(
        &self,
        login: &str,
        quantity: &str,
        pool: u32,
    ) -> Result<Option<GroupShare>, DbError> {
        let mut conn = self.pool.acquire().await?;
        let book = read_plan(&mut conn, quantity).await?;
        if book.plans.get(quantity).is_none_or(Vec::is_empty) {
            return Ok(None);
        }
        let member = sqlx::query("SELECT group_name FROM tenure_group_members WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *conn)
            .await?;
        let group: String = member
            .map(|row| row.try_get("group_name"))
            .transpose()?
            .unwrap_or_default();
        let split = book.split(quantity, pool);
        let bucket = book.bucket(&split, &group);
        let groups = std::iter::once(String::new())
            .chain(book.groups.keys().cloned())
            .filter(|g| book.bucket(&split, g).same_as(&bucket))
            .collect();
        Ok(Some(GroupShare {
            label: bucket.group.clone(),
            groups,
            size: bucket.size,
        }))
    }

    /// The answer for a device that holds a license of `device_type`, if it does. A holder
    /// keeps it while it ranks within its part of the pool. That needs no lock: a new holder is
    /// admitted only while there is room, so it never pushes one out.
    async fn keep_held(
        &self,
        id: &str,
        device_type: &str,
        pool: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<DeviceAnswer>, DbError> {
        let mut conn = self.pool.acquire().await?;
        let known = read_device(&mut conn, id).await?;
        if let Some(device) =
            known.filter(|d| d.device_type == device_type && d.licensed_at.is_some())
        {
            let (bucket, ahead) = standing(&mut conn, &device, pool).await?;
            // Last contact to the minute: a device connecting often writes once a minute.
            let seen_lately = device
                .last_contact
                .is_some_and(|seen| now - seen < chrono::Duration::minutes(1));
            if !seen_lately {
                sqlx::query("UPDATE tenure_devices SET last_contact = $1 WHERE id = $2")
                    .bind(now.timestamp())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            return Ok(Some(if ahead < bucket.size {
                let device = Device {
                    last_contact: if seen_lately {
                        device.last_contact
                    } else {
                        Some(now)
                    },
                    ..device
                };
                DeviceAnswer::Licensed {
                    device,
                    first: false,
                }
            } else {
                DeviceAnswer::Refused {
                    device_type: device_type.to_owned(),
                    bucket,
                    in_use: ahead,
                }
            }));
        }
        Ok(None)
    }

    /// A device connects: it keeps the license it holds, takes one of its type if one is free
    /// in its part of the pool (first contact, or assigned while away), or is refused. `pool`
    /// is the license's pool of `device_type` now (0 when the license is not in force).
    pub async fn register_device(
        &self,
        id: &str,
        device_type: &str,
        counts: DeviceCounts,
        now: DateTime<Utc>,
    ) -> Result<DeviceAnswer, DbError> {
        let pool = counts.pool;
        if let Some(answer) = self.keep_held(id, device_type, pool, now).await? {
            return Ok(answer);
        }
        // Taking a license: one at a time. In this process first (so SQLite writers wait here
        // rather than in its busy handler), then across processes by the pool row's lock.
        let _one_at_a_time = self.registrations.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tenure_pool SET generation = generation + 1 WHERE slot = 'devices'")
            .execute(&mut *tx)
            .await?;
        let stored = read_device(&mut tx, id).await?;
        let mut device = stored.clone().unwrap_or_else(|| Device {
            id: id.to_owned(),
            device_type: device_type.to_owned(),
            group: String::new(),
            assigned_at: now,
            licensed_at: None,
            last_contact: None,
        });
        if device.device_type != device_type {
            // The product says what the device is now: a changed type starts over.
            device.device_type = device_type.to_owned();
            device.licensed_at = None;
        }
        let (bucket, ahead) = standing(&mut tx, &device, pool).await?;
        let was_licensed = device.licensed_at.is_some();
        let cap = counts.registrations_per_30_days;
        let mut capped = None;
        if ahead < bucket.size && !was_licensed && cap > 0 {
            let since = now - chrono::Duration::days(churn::WINDOW_DAYS);
            let (taken, oldest) = churn::window(&mut tx, churn::DEVICE_LICENSED, since).await?;
            if taken >= u64::from(cap) {
                capped = Some(oldest.map(|at| at + chrono::Duration::days(churn::WINDOW_DAYS)));
            }
        }
        if ahead < bucket.size && capped.is_none() {
            device.licensed_at.get_or_insert(now);
        }
        let first = !was_licensed && device.licensed_at.is_some();
        device.last_contact = Some(now);
        let write = if stored.is_some() {
            "UPDATE tenure_devices SET device_type = $2, group_name = $3, assigned_at = $4, \
             licensed_at = $5, last_contact = $6, removed_at = NULL WHERE id = $1"
        } else {
            "INSERT INTO tenure_devices (id, device_type, group_name, assigned_at, licensed_at, \
             last_contact) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        sqlx::query(write)
            .bind(&device.id)
            .bind(&device.device_type)
            .bind(&device.group)
            .bind(device.assigned_at.timestamp())
            .bind(device.licensed_at.map(|t| t.timestamp()))
            .bind(now.timestamp())
            .execute(&mut *tx)
            .await?;
        if first {
            // Logged whether or not the license caps registrations, so a cap signed later
            // counts from what happened before it.
            churn::log(&mut tx, &device.id, churn::DEVICE_LICENSED, now).await?;
            let event = AuditEvent {
                at: now,
                kind: "device licensed".to_owned(),
                outcome: "ok".to_owned(),
                login: String::new(),
                host: device.id.clone(),
                detail: format!("{} took a {device_type} license", device.id),
            };
            insert_event(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(if let Some(next) = capped {
            DeviceAnswer::Capped { cap, next }
        } else if ahead < bucket.size {
            DeviceAnswer::Licensed { device, first }
        } else {
            DeviceAnswer::Refused {
                device_type: device_type.to_owned(),
                bucket,
                in_use: ahead,
            }
        })
    }
}

/// A device as stored; a removed one comes back with no license but its group.
async fn read_device(conn: &mut AnyConnection, id: &str) -> Result<Option<Device>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEVICE_COLUMNS}, removed_at FROM tenure_devices WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut device = device_of(&row)?;
    if row.try_get::<Option<i64>, _>("removed_at")?.is_some() {
        device.licensed_at = None;
        device.last_contact = None;
    }
    Ok(Some(device))
}

/// The part of the pool `device` draws from, and how many of its holders rank before it (all
/// of them, for a device holding none): the trimming rule, by when each took its license.
async fn standing(
    conn: &mut AnyConnection,
    device: &Device,
    pool: u32,
) -> Result<(Bucket, u32), sqlx::Error> {
    let book = read_plan(conn, &device.device_type).await?;
    let split = book.split(&device.device_type, pool);
    let bucket = book.bucket(&split, &device.group);
    let before = device.licensed_at.map_or(i64::MAX, |at| at.timestamp());
    let rows = sqlx::query(
        "SELECT group_name, COUNT(*) AS holders FROM tenure_devices \
         WHERE device_type = $1 AND removed_at IS NULL AND licensed_at IS NOT NULL \
         AND id <> $2 AND (licensed_at < $3 OR (licensed_at = $3 AND id < $2)) \
         GROUP BY group_name",
    )
    .bind(&device.device_type)
    .bind(&device.id)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    let mut ahead = 0i64;
    for row in &rows {
        let group: String = row.try_get("group_name")?;
        if book.bucket(&split, &group).same_as(&bucket) {
            ahead += row.try_get::<i64, _>("holders")?;
        }
    }
    Ok((bucket, u32::try_from(ahead).unwrap_or(u32::MAX)))
}
