//! `db backup FILE`: a consistent copy of the product database, for IT.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use tenure_client::Workstation;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Copy the SQLite product database, with the license and seats, into a new FILE (safe
    /// while the product runs). For PostgreSQL it says what to run instead.
    Backup {
        /// The new file to write.
        file: PathBuf,
    },
}

pub async fn run(workstation: &Workstation, command: DbCommand) -> Result<ExitCode> {
    let DbCommand::Backup { file } = command;
    let Some(db) = workstation.database().connected() else {
        bail!("no product database is connected: give it with --db or TENURE_DB");
    };
    db.backup_into(&file).await?;
    outln!("Backed up {} to {}.", db.spec(), file.display())?;
    Ok(ExitCode::SUCCESS)
}
