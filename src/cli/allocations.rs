//! `groups …`, `allocate QUANTITY GROUP N` and `devices …`: splitting the license's counted
//! quantities among roles, sites and tenants, and the devices that take them.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::Subcommand;
use tenure_client::Overview;
use tenure_client::Workstation;
use tenure_client::product_db::{AllocationChange, DeviceAnswer, GroupKind};
use tenure_core::allocation::Share;

use super::users::EXIT_NOT_AUTHORISED;

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Each quantity's pool and its shares, then the groups and their members (the default).
    List,
    /// Add a group.
    Add {
        /// Its name.
        name: String,
        /// role, site or tenant.
        #[arg(long, default_value = "role")]
        kind: GroupKind,
        /// The tenant it lies in (a role or site of that tenant).
        #[arg(long = "in", default_value = "")]
        in_tenant: String,
    },
    /// Remove a group: its shares end; its members and devices belong to none.
    Remove {
        /// Its name.
        name: String,
    },
    /// Put users in a group (out of any other): their seats come from its share.
    Join {
        /// The group.
        group: String,
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Take users out of their groups.
    Leave {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Set a group's priority in the line for a concurrent seat: its users wait ahead of those
    /// of groups with a lower one (default 0).
    Priority {
        /// The group.
        name: String,
        /// Its priority; higher goes first.
        #[arg(allow_negative_numbers = true)]
        priority: i64,
    },
}

#[derive(Subcommand)]
pub enum DevicesCommand {
    /// Devices with their type, group and last contact (the default).
    List,
    /// What the product does when a device connects: it keeps or takes a license of its type
    /// (exit code 7: none free).
    Register {
        /// The device's id.
        id: String,
        /// Its type: a device quantity of the license (devices, mobile, …).
        #[arg(long = "type")]
        device_type: String,
    },
    /// Assign a device to a group, even while it is away: it takes its license when it
    /// connects.
    Assign {
        /// The device's id.
        id: String,
        /// Its type.
        #[arg(long = "type")]
        device_type: String,
        /// The group (default: none).
        #[arg(long, default_value = "")]
        group: String,
    },
    /// Remove (uninstall) a device: its license is free again.
    Remove {
        /// The device's id.
        id: String,
    },
}

/// `tenure groups …`.
pub async fn groups(
    ws: &Workstation,
    command: Option<GroupsCommand>,
    tenant: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let changes = match command.unwrap_or(GroupsCommand::List) {
        GroupsCommand::List => return list(ws, tenant, json).await,
        GroupsCommand::Priority { name, priority } => {
            let now = ws.database().clock(chrono::Utc::now()).await;
            if ws
                .concurrent_seats()
                .set_group_priority(&name, priority, now)
                .await?
            {
                outln!("Users of {name} now wait in line at priority {priority}.")?;
                return Ok(ExitCode::SUCCESS);
            }
            anyhow::bail!("there is no group {name}: see them with `tenure groups`");
        }
        GroupsCommand::Add {
            name,
            kind,
            in_tenant,
        } => vec![AllocationChange::AddGroup {
            name,
            kind,
            // A tenant's admin adds groups to their own tenant.
            tenant: tenant.map_or(in_tenant, str::to_owned),
        }],
        GroupsCommand::Remove { name } => vec![AllocationChange::RemoveGroup(name)],
        GroupsCommand::Join { group, logins } => logins
            .into_iter()
            .map(|login| AllocationChange::AddMember {
                group: group.clone(),
                login,
            })
            .collect(),
        GroupsCommand::Leave { logins } => logins
            .into_iter()
            .map(AllocationChange::RemoveMember)
            .collect(),
    };
    save(ws, &changes, tenant).await
}

/// `tenure allocate QUANTITY GROUP N|remaining|none`.
pub async fn allocate(
    ws: &Workstation,
    quantity: String,
    group: String,
    share: &str,
    tenant: Option<&str>,
) -> Result<ExitCode> {
    let share = match share.trim() {
        "none" | "0" => None,
        other => Some(
            other
                .parse::<Share>()
                .map_err(anyhow::Error::msg)
                .context("the share is not understood")?,
        ),
    };
    let change = AllocationChange::Allocate {
        quantity,
        group,
        share,
    };
    save(ws, &[change], tenant).await
}

/// `tenure devices …`.
pub async fn devices(
    ws: &Workstation,
    command: Option<DevicesCommand>,
    tenant: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let change = match command.unwrap_or(DevicesCommand::List) {
        DevicesCommand::List => return list_devices(ws, tenant, json).await,
        DevicesCommand::Register { id, device_type } => {
            let answer = ws
                .allocations()
                .register_device(&id, &device_type, Utc::now())
                .await?;
            outln!("{answer}")?;
            return Ok(match answer {
                DeviceAnswer::Licensed { .. } => ExitCode::SUCCESS,
                DeviceAnswer::Refused { .. } | DeviceAnswer::Capped { .. } => {
                    ExitCode::from(EXIT_NOT_AUTHORISED)
                }
            });
        }
        DevicesCommand::Assign {
            id,
            device_type,
            group,
        } => AllocationChange::AssignDevice {
            id,
            device_type,
            group,
        },
        DevicesCommand::Remove { id } => AllocationChange::RemoveDevice(id),
    };
    save(ws, &[change], tenant).await
}

async fn save(
    ws: &Workstation,
    changes: &[AllocationChange],
    tenant: Option<&str>,
) -> Result<ExitCode> {
    let book = ws
        .allocations()
        .save(None, changes, tenant, Utc::now())
        .await?;
    outln!(
        "Saved ({} change{}); the allocations are at version {}.",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        book.version.number
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn overview(ws: &Workstation, tenant: Option<&str>) -> Result<Overview> {
    let overview = ws.allocations().overview(Utc::now()).await?;
    Ok(match tenant {
        Some(tenant) => overview.for_tenant(tenant),
        None => overview,
    })
}

async fn list(ws: &Workstation, tenant: Option<&str>, json: bool) -> Result<ExitCode> {
    let overview = overview(ws, tenant).await?;
    if json {
        outln!("{}", json_of(&overview))?;
    } else {
        out!("{}", text_of(&overview))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn json_of(overview: &Overview) -> serde_json::Value {
    let quantities: Vec<_> = overview
        .quantities
        .iter()
        .map(|q| {
            serde_json::json!({
                "quantity": q.pool.quantity,
                "kind": q.pool.kind.word(),
                "pool": q.pool.size,
                "shares": q.lines.iter().map(|l| serde_json::json!({
                    "group": l.group, "tenant": l.tenant,
                    "share": l.share.map(|s| s.to_string()),
                    "allocated": l.allocated, "used": l.used, "cut": l.cut,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let groups: Vec<_> = overview
            .book
            .groups
            .values()
            .map(|g| {
                let members = overview.book.members_of(&g.name);
                serde_json::json!({"name": g.name, "kind": g.kind.word(), "tenant": g.tenant, "members": members})
            })
            .collect();
    serde_json::json!({"version": overview.book.version.number, "quantities": quantities, "groups": groups})
}

fn text_of(overview: &Overview) -> String {
    let mut text = String::new();
    for quantity in &overview.quantities {
        let _ = writeln!(
            text,
            "{} ({}): {} in the pool",
            quantity.pool.quantity,
            quantity.pool.kind.word(),
            quantity.pool.size
        );
        for line in &quantity.lines {
            let indent = if line.tenant.is_empty() { "  " } else { "    " };
            let name = match (&line.group, line.tenant.as_str()) {
                (Some(group), _) => group.clone(),
                (None, "") => "(no group)".to_owned(),
                (None, tenant) => format!("(rest of {tenant})"),
            };
            let asked = line
                .share
                .map_or_else(String::new, |s| format!("  asked {s}"));
            let cut = if line.cut {
                "  (cut: the pool is smaller)"
            } else {
                ""
            };
            let _ = writeln!(
                text,
                "{indent}{name:<24} {:>5} used of {:<5}{asked}{cut}",
                line.used, line.allocated
            );
        }
    }
    if overview.book.groups.is_empty() {
        text.push_str("No groups yet: add one with `tenure groups add NAME --kind role`.\n");
    } else {
        text.push_str("Groups:\n");
        for group in overview.book.groups.values() {
            let members = overview.book.members_of(&group.name);
            let place = if group.tenant.is_empty() {
                String::new()
            } else {
                format!(" in {}", group.tenant)
            };
            let _ = writeln!(
                text,
                "  {} ({}{place}): {}",
                group.name,
                group.kind.word(),
                if members.is_empty() {
                    "no members".to_owned()
                } else {
                    members.join(", ")
                }
            );
        }
    }
    text
}

async fn list_devices(ws: &Workstation, tenant: Option<&str>, json: bool) -> Result<ExitCode> {
    let overview = overview(ws, tenant).await?;
    let devices = overview.book.devices.values();
    if json {
        let list: Vec<_> = devices
            .map(|d| {
                serde_json::json!({
                    "id": d.id, "type": d.device_type, "group": d.group,
                    "licensed_at": d.licensed_at, "last_contact": d.last_contact,
                })
            })
            .collect();
        outln!("{}", serde_json::Value::from(list))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for d in devices {
        let state = match (d.licensed_at, d.last_contact) {
            (Some(_), Some(seen)) => format!("licensed, last contact {}", local(seen)),
            (Some(at), None) => format!("licensed since {}", local(at)),
            (None, Some(seen)) => format!("no license free, last contact {}", local(seen)),
            (None, None) => "assigned, waiting for its first contact".to_owned(),
        };
        let group = if d.group.is_empty() {
            "no group"
        } else {
            &d.group
        };
        let _ = writeln!(
            text,
            "{:<24} {:<10} {group:<16} {state}",
            d.id, d.device_type
        );
    }
    if text.is_empty() {
        text.push_str("No devices yet: they appear when they first connect.\n");
    }
    out!("{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn local(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
