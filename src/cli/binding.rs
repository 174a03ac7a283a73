//! `binding`: which database server and database name the license is bound to here, where
//! that comes from, and IT's override of it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use tenure_client::Workstation;

use super::license::BindingArgs;

#[derive(Args)]
pub struct BindingCommand {
    #[command(flatten)]
    names: BindingArgs,
    /// Forget the override: derive the binding from the product database again.
    #[arg(long, conflicts_with_all = ["server_name", "database"])]
    clear: bool,
}

pub fn run(
    workstation: &mut Workstation,
    command: &BindingCommand,
    json: bool,
) -> Result<ExitCode> {
    if command.clear {
        workstation.configure().save_binding_override(None)?;
    } else if let Some(binding) = command.names.binding(workstation) {
        workstation
            .configure()
            .save_binding_override(Some(binding))?;
    }
    let current = workstation.database().current_binding();
    let source = if workstation.database().saved_binding_override().is_some() {
        "set by hand (tenure binding --clear derives it again)"
    } else if workstation.database().connected().is_some() {
        "derived from the product database"
    } else {
        "saved at activation (no product database connected)"
    };
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "binding": current,
                "derived": workstation.database().derived_binding(),
                "overridden": workstation.database().saved_binding_override().is_some(),
            })
        )?;
    } else {
        match &current {
            Some(binding) => outln!("{binding}\n  {source}")?,
            None => outln!(
                "No binding known: connect the product database, or set one with --server-name and --database."
            )?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
