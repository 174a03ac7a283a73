//! `status`, `activate`, `validate`, `extend`, `revalidate`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::Utc;
use clap::Args;
use tenure_client::Workstation;
use tenure_core::Binding;

use super::{exit_code, output};

/// Overrides of the binding (normally derived from the product database).
#[derive(Args, Default)]
pub struct BindingArgs {
    /// Database server name (host, host:port or HOST\INSTANCE).
    #[arg(long, requires = "database")]
    server_name: Option<String>,
    /// Database name.
    #[arg(long, requires = "server_name")]
    database: Option<String>,
}

impl BindingArgs {
    /// True when both names were given.
    pub fn is_given(&self) -> bool {
        self.server_name.is_some() && self.database.is_some()
    }

    /// The binding the flags name, canonicalised for this machine.
    pub fn binding(&self, workstation: &Workstation) -> Option<Binding> {
        match (&self.server_name, &self.database) {
            (Some(server), Some(database)) => {
                Some(workstation.database().binding_for(server, database))
            }
            _ => None,
        }
    }
}

/// The status; `database_unusable` when the product database could not be used (said already
/// on standard error): the product cannot work here whatever the license says, so the exit
/// code says that instead.
pub fn status(
    workstation: &mut Workstation,
    args: &BindingArgs,
    json: bool,
    database_unusable: bool,
) -> Result<ExitCode> {
    let binding = args.binding(workstation);
    workstation.configure().override_binding(binding);
    let report = workstation.report(Utc::now())?;
    output::print_report(&report, json)?;
    if database_unusable {
        return Ok(ExitCode::from(super::EXIT_DATABASE));
    }
    Ok(exit_code(&report.status))
}

pub async fn activate(
    workstation: &mut Workstation,
    server: Option<&str>,
    key: &str,
    args: &BindingArgs,
    json: bool,
) -> Result<ExitCode> {
    let given = args.binding(workstation);
    let Some(binding) = given
        .clone()
        .or_else(|| workstation.database().current_binding())
    else {
        bail!("the database binding is not known: pass --server-name and --database");
    };
    let api = workstation.server().api(server)?;
    if given.is_some() {
        workstation.configure().override_binding(given.clone());
    }
    let report = workstation.activate(&api, key, binding, Utc::now()).await?;
    // Names IT gave hold from now on, for this product database.
    if given.is_some() {
        workstation.configure().save_binding_override(given)?;
    }
    if let Some(url) = server {
        workstation.update_settings(|s| s.server_url = Some(url.to_owned()))?;
    }
    output::print_report(&report, json)?;
    Ok(exit_code(&report.status))
}

pub async fn validate(
    workstation: &Workstation,
    server: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let api = workstation.server().api(server)?;
    let now = Utc::now();
    match workstation.validate(&api, now).await {
        Ok(report) => {
            output::print_report(&report, json)?;
            // Stacked licenses restart their grace with the license's.
            match workstation.allocations().validate_stacked(&api, now).await {
                Ok(0) => {}
                Ok(n) => eprintln!("{n} stacked license(s) validated too"),
                Err(e) => {
                    eprintln!("warning: a stacked license was not validated: {e}");
                    return Ok(ExitCode::from(super::EXIT_ERROR));
                }
            }
            Ok(exit_code(&report.status))
        }
        Err(e) => {
            // Offline within grace is a warning, not a failure: say so and report the status.
            let report = workstation.report(now)?;
            eprintln!("warning: validation failed: {e}");
            if report.status.is_licensed() {
                eprintln!("the cached license stays valid within its grace period");
            }
            output::print_report(&report, json)?;
            if report.status.is_licensed() {
                Ok(ExitCode::from(super::EXIT_ERROR))
            } else {
                Ok(exit_code(&report.status))
            }
        }
    }
}

pub async fn extend(
    workstation: &Workstation,
    server: Option<&str>,
    days: u32,
    json: bool,
) -> Result<ExitCode> {
    let api = workstation.server().api(server)?;
    let report = workstation.extend_grace(&api, days, Utc::now()).await?;
    output::print_report(&report, json)?;
    Ok(exit_code(&report.status))
}

pub async fn revalidate(
    workstation: &mut Workstation,
    server: Option<&str>,
    args: &BindingArgs,
    reason: &str,
    json: bool,
) -> Result<ExitCode> {
    let given = args.binding(workstation);
    if given.is_some() {
        workstation.configure().override_binding(given.clone());
    }
    let api = workstation.server().api(server)?;
    let report = workstation.rebind(&api, reason, Utc::now()).await?;
    // The license lives there now: the names hold for later commands too.
    if given.is_some() {
        workstation.configure().save_binding_override(given)?;
    }
    output::print_report(&report, json)?;
    Ok(exit_code(&report.status))
}

/// `tenure stack KEY`: activates another license's key for this database; its counts add to the
/// pools while it is valid.
pub async fn stack(workstation: &Workstation, server: Option<&str>, key: &str) -> Result<ExitCode> {
    let api = workstation.server().api(server)?;
    let license = workstation
        .allocations()
        .stack(&api, key, Utc::now())
        .await?;
    outln!(
        "Stacked license {}: {} more, {} to {}.",
        license.id,
        license.terms.counts_text(),
        license.terms.validity.starts,
        license.terms.validity.expires
    )?;
    Ok(ExitCode::SUCCESS)
}
