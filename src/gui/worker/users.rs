//! The Users screen's jobs: load, save against a version, read and write CSV files.

use std::sync::Arc;

use chrono::Utc;
use tenure_client::Reason;
use tenure_client::product_db::SaveError;
use tenure_client::{NamedSeatsError, Workstation, users_csv};
use tenure_core::directory::{Directory, Effect, SeatLimit};

use super::{Event, Job, Notifier, explained};
use crate::present::{Outcome, Written};

/// A directory as the worker loaded or saved it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Users, seats, policy, version.
    pub directory: Arc<Directory>,
    /// The license's named seats.
    pub limit: SeatLimit,
}

/// How a save ended.
#[derive(Debug, Clone)]
pub enum SaveOutcome {
    /// Saved: the new state, what the save did, and the seats given that their group's share
    /// cannot honour (with the refusal their users would get).
    Saved(Loaded, Vec<Effect>, Vec<(String, Reason)>),
    /// Someone else saved first.
    Conflict(String),
    /// A change was refused (it is dropped).
    Refused(String),
    /// The database failed (the changes are kept).
    Failed(String),
}

async fn load(ws: &Workstation) -> Result<Loaded, String> {
    let directory = ws.named_seats().users().await.map_err(explained)?;
    Ok(Loaded {
        directory: Arc::new(directory),
        limit: ws.named_seats().seat_limit(),
    })
}

/// The seats just given that their group's share cannot honour. Only a warning: when it cannot
/// be worked out, the save still stands and the reason is logged.
async fn beyond_group_share(ws: &Workstation, effects: &[Effect]) -> Vec<(String, Reason)> {
    let given: Vec<&str> = tenure_core::directory::assigned(effects).collect();
    if given.is_empty() {
        return Vec::new();
    }
    ws.named_seats()
        .beyond_group_share(&given)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot check the seats given against their groups' shares");
            Vec::new()
        })
}

/// Runs one users job; the answer goes out as an event, the returned text is the job's notice.
pub(super) async fn users_job(
    ws: &Workstation,
    job: Job,
    notify: &Notifier,
) -> Result<Outcome, String> {
    match job {
        Job::LoadUsers => {
            let result = load(ws).await;
            notify.send(Event::Users(result.clone()));
            result.map(|_| Outcome::Quiet)
        }
        Job::SaveUsers { expected, changes } => {
            let outcome = match ws
                .named_seats()
                .save_users(expected, &changes, Utc::now())
                .await
            {
                Ok(saved) => {
                    let beyond_share = beyond_group_share(ws, &saved.effects).await;
                    SaveOutcome::Saved(
                        Loaded {
                            directory: Arc::new(saved.directory),
                            limit: ws.named_seats().seat_limit(),
                        },
                        saved.effects,
                        beyond_share,
                    )
                }
                Err(NamedSeatsError::Save(e @ SaveError::Conflict(_))) => {
                    SaveOutcome::Conflict(explained(e))
                }
                Err(NamedSeatsError::Save(e @ SaveError::Refused(_))) => {
                    SaveOutcome::Refused(explained(e))
                }
                Err(e) => SaveOutcome::Failed(explained(e)),
            };
            notify.send(Event::UsersSaved(outcome));
            Ok(Outcome::Quiet)
        }
        Job::ImportUsers(path) => {
            let result = async {
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
                users_csv::parse(&bytes)
                    .map_err(|e| format!("{} was not imported. {e}", path.display()))
            }
            .await;
            notify.send(Event::UsersImport(result.clone()));
            result.map(|_| Outcome::Quiet)
        }
        Job::ExportUsers(path) => {
            let directory = ws.named_seats().users().await.map_err(explained)?;
            let text = users_csv::export(&directory);
            tenure_client::write_atomic(&path, text.as_bytes(), false)
                .map_err(|e| format!("Cannot write {}: {e}", path.display()))?;
            Ok(Outcome::Written {
                what: Written::Users(directory.users.len()),
                path,
            })
        }
        _ => Ok(Outcome::Quiet),
    }
}
