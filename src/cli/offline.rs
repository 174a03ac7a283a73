//! `offline request …`, `offline import FILE`, `offline release -o FILE`, `offline
//! export-license FILE`: activation, re-validation and release by files, for sites with no
//! internet.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use tenure_client::{OfflineWish, Workstation};

use super::{exit_code, output};

#[derive(Subcommand)]
pub enum OfflineCommand {
    /// Write a request file for the vendor to sign.
    Request {
        #[command(subcommand)]
        wish: Wish,
        /// Where to write the request.
        #[arg(short, long, global = true)]
        output: Option<PathBuf>,
    },
    /// Import the vendor's signed answer file.
    Import {
        /// The answer file.
        file: PathBuf,
    },
    /// Release the license so its key can be activated elsewhere: writes the release file for
    /// the vendor's portal and stops the license here at once.
    Release {
        /// Where to write the release file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Write the current license file, for a backup or for support.
    ExportLicense {
        /// Where to write it.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum Wish {
    /// Activate a key for the database now connected.
    Activate {
        /// The 13-digit key.
        key: String,
    },
    /// Validate: restart the offline grace period.
    Validate,
    /// Move the license to the database now connected (after a restore).
    Rebind {
        /// Why, for the vendor's records.
        #[arg(long, default_value = "database restored or moved")]
        reason: String,
    },
    /// Ask for this many days of grace.
    Extend {
        /// Days wanted.
        days: u32,
    },
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    tenure_client::write_atomic(path, text.as_bytes(), false)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs an `offline` command.
pub async fn run(ws: &mut Workstation, command: OfflineCommand, json: bool) -> Result<ExitCode> {
    let now = Utc::now();
    match command {
        OfflineCommand::Request { wish, output } => {
            let Some(output) = output else {
                bail!("say where to write the request: -o FILE");
            };
            let wish = match wish {
                Wish::Activate { key } => OfflineWish::Activate(key),
                Wish::Validate => OfflineWish::Validate,
                Wish::Rebind { reason } => OfflineWish::Rebind(reason),
                Wish::Extend { days } => OfflineWish::Extend(days),
            };
            let text = ws.offline_files().offline_request(&wish, now).await?;
            write_new(&output, &text)?;
            eprintln!(
                "Wrote the request to {}: send it to your vendor, then import the answer with \
                 `tenure offline import FILE`.",
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        OfflineCommand::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let report = ws.offline_import(&bytes, now).await.with_context(|| {
                format!("{} was not imported; nothing was changed", file.display())
            })?;
            output::print_report(&report, json)?;
            Ok(exit_code(&report.status))
        }
        OfflineCommand::Release { output } => {
            let text = ws.offline_files().offline_release(now).await?;
            write_new(&output, &text).context(
                "the license is stopped here already: run the release again with another path to write its file",
            )?;
            eprintln!(
                "The license is released here and works no more on this database. Wrote the release \
                 to {}: upload it to your vendor's portal (or send it to your vendor), then \
                 activate the key where you want it.",
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        OfflineCommand::ExportLicense { file } => {
            let Some(text) = ws.offline_files().license_file()? else {
                bail!("there is no license on this workstation to export");
            };
            write_new(&file, &text)?;
            eprintln!("Wrote the license file to {}.", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
