//! The Offline screen's jobs: write a request file, import an answer, release the license,
//! write the license file.

use chrono::Utc;
use tenure_client::Workstation;

use super::{Job, explained};
use crate::present::{Outcome, Written};

/// Offline files: write a request, import an answer, write the license.
pub(super) async fn offline_job(ws: &mut Workstation, job: Job) -> Result<Outcome, String> {
    let now = Utc::now();
    let write = |path: &std::path::Path, text: &str| {
        tenure_client::write_atomic(path, text.as_bytes(), false)
            .map_err(|e| format!("Cannot write {}: {e}", path.display()))
    };
    match job {
        Job::OfflineRequest { wish, path } => {
            let text = ws
                .offline_files()
                .offline_request(&wish, now)
                .await
                .map_err(explained)?;
            write(&path, &text)?;
            Ok(Outcome::Written {
                what: Written::Request,
                path,
            })
        }
        Job::OfflineImport(path) => {
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
            let report = ws.offline_import(&bytes, now).await.map_err(|e| {
                format!(
                    "{} was not imported: {e}. Nothing was changed.",
                    path.display()
                )
            })?;
            Ok(Outcome::AnswerImported(Box::new(report)))
        }
        Job::OfflineRelease(path) => {
            let text = ws
                .offline_files()
                .offline_release(now)
                .await
                .map_err(explained)?;
            write(&path, &text).map_err(|e| {
                format!("{e}. The license is stopped here already: save the release again to another place.")
            })?;
            Ok(Outcome::Written {
                what: Written::Release,
                path,
            })
        }
        Job::ExportLicense(path) => {
            let text = ws
                .offline_files()
                .license_file()
                .map_err(explained)?
                .ok_or("There is no license on this workstation to save.")?;
            write(&path, &text)?;
            Ok(Outcome::Written {
                what: Written::License,
                path,
            })
        }
        _ => Ok(Outcome::Quiet),
    }
}
