//! The Allocations screen's jobs: load the pools and their split, save changes against a
//! version (a tenant's admin only within the tenant).

use std::sync::Arc;

use chrono::Utc;
use tenure_client::Workstation;
use tenure_client::product_db::AllocationError;

use super::{Event, Job, Notifier, explained};
use crate::present::Outcome;

async fn load(ws: &Workstation) -> Result<Arc<tenure_client::Overview>, String> {
    ws.allocations()
        .overview(Utc::now())
        .await
        .map(Arc::new)
        .map_err(explained)
}

/// Runs one allocations job; the overview goes out as an event after every job, so the screen
/// shows what stands (after a refused save too).
pub(super) async fn allocations_job(
    ws: &Workstation,
    job: Job,
    notify: &Notifier,
) -> Result<Outcome, String> {
    let outcome = match job {
        Job::SaveAllocations {
            expected,
            changes,
            tenant,
        } => {
            match ws
                .allocations()
                .save(Some(expected), &changes, tenant.as_deref(), Utc::now())
                .await
            {
                Ok(_) => Ok(Outcome::Said(format!(
                    "Saved {} change{}.",
                    changes.len(),
                    if changes.len() == 1 { "" } else { "s" }
                ))),
                Err(tenure_client::AllocationsError::Save(e @ AllocationError::Conflict(_))) => {
                    Err(format!("{e}; your edits are kept on the screen."))
                }
                Err(e) => Err(explained(e)),
            }
        }
        Job::StackLicense(key) => {
            let client = super::client_of(ws)?;
            match ws.allocations().stack(&client, &key, Utc::now()).await {
                Ok(license) => Ok(Outcome::Said(format!(
                    "License {} stacked: {} more until {}.",
                    license.id,
                    license.terms.counts_text(),
                    license.terms.validity.expires
                ))),
                Err(e) => Err(explained(e)),
            }
        }
        Job::GroupPriority { group, priority } => {
            let now = ws.database().clock(Utc::now()).await;
            match ws
                .concurrent_seats()
                .set_group_priority(&group, priority, now)
                .await
            {
                Ok(true) => Ok(Outcome::Said(format!(
                    "{group} now waits in line at priority {priority}."
                ))),
                Ok(false) => Err(format!("There is no group {group} any more.")),
                Err(e) => Err(explained(e)),
            }
        }
        _ => Ok(Outcome::Quiet),
    };
    notify.send(Event::Allocations(load(ws).await));
    outcome
}
