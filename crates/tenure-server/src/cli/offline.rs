//! `offline sign`: answer a workstation's request file with a signed answer file.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use tenure_server::Vendor;
use tenure_server::service::OfflineAnswer;

#[derive(Subcommand)]
pub(super) enum OfflineCommand {
    /// Answer a workstation's request file (same rules as online) with a signed license file.
    Sign {
        /// The request file the customer sent.
        request: PathBuf,
        /// Where to write the signed answer.
        #[arg(short, long)]
        output: PathBuf,
        /// The key is activated already and its account confirmed it wants it activated here
        /// instead: replace its credential (a move, if elsewhere, within the license's limit).
        /// Recorded in the usage log as done by staff.
        #[arg(long)]
        reactivate: bool,
    },
}

pub(super) async fn run(vendor: &Vendor, command: OfflineCommand) -> Result<()> {
    let OfflineCommand::Sign {
        request,
        output,
        reactivate,
    } = command;
    let bytes =
        std::fs::read(&request).with_context(|| format!("cannot read {}", request.display()))?;
    let text = tenure_core::signed::text_from_bytes(&bytes)
        .with_context(|| format!("{} is not a request file", request.display()))?;
    let answer = vendor
        .offline()
        .answer(&OfflineAnswer {
            request: text,
            reactivate,
        })
        .await;
    // A refusal counted in memory is written before the command ends.
    vendor.flush_refusals().await;
    let answer = answer.with_context(|| format!("{} was not answered", request.display()))?;
    super::write_atomic(&output, answer.as_bytes())
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "wrote the signed answer to {}: send it to the customer to import",
        output.display()
    );
    Ok(())
}
