//! `offline sign`: answer a workstation's request file with a signed answer file;
//! `offline release`: take a workstation's release file, freeing its license's key.

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
    /// Take a release file a workstation wrote (`tenure offline release`): frees the license
    /// so its key can be activated elsewhere (a move, within the license's limit).
    Release {
        /// The release file the customer sent.
        file: PathBuf,
    },
}

pub(super) async fn run(vendor: &Vendor, command: OfflineCommand) -> Result<()> {
    let (request, output, reactivate) = match command {
        OfflineCommand::Sign {
            request,
            output,
            reactivate,
        } => (request, output, reactivate),
        OfflineCommand::Release { file } => return release(vendor, &file).await,
    };
    let bytes = read_request(&request)?;
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

fn read_request(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

async fn release(vendor: &Vendor, file: &std::path::Path) -> Result<()> {
    let bytes = read_request(file)?;
    let text = tenure_core::signed::text_from_bytes(&bytes)
        .with_context(|| format!("{} is not a release file", file.display()))?;
    let released = vendor
        .offline()
        .release(text, None, "the command line")
        .await;
    vendor.flush_refusals().await;
    let released = released.with_context(|| format!("{} was not taken", file.display()))?;
    eprintln!(
        "released {} from {}: its key can be activated elsewhere ({} moves left in 30 days)",
        released.license_id, released.from, released.moves_left
    );
    Ok(())
}
