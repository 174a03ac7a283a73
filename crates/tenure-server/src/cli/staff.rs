//! `staff`: the vendor's staff who sign in to the web console.

use std::io::BufRead as _;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use tenure_server::Vendor;
use tenure_server::service::Role;

#[derive(Subcommand)]
pub(super) enum StaffCommand {
    /// Add a member of staff; the password is read from standard input (one line), never
    /// from the command line where other users could see it.
    Add {
        /// Sign-in name.
        name: String,
        /// admin (everything) or support (reads, answers offline requests).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

pub(super) async fn run(vendor: &Vendor, command: StaffCommand) -> Result<()> {
    match command {
        StaffCommand::Add { name, role } => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!(
                    "password for {name} (at least {} characters), then Enter:",
                    tenure_server::service::MIN_PASSWORD_CHARS
                );
            }
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("no password on standard input: pipe one line, e.g. from a password manager");
            }
            vendor.staff().add(&name, role, password).await?;
            println!(
                "{name} added as {}: sign in at /console on this server",
                role.word()
            );
        }
    }
    Ok(())
}
