//! `account`: customer accounts and their tokens.

use anyhow::Result;
use clap::Subcommand;
use tenure_server::Vendor;

#[derive(Subcommand)]
pub(super) enum AccountCommand {
    /// Create an account and print its token (shown once).
    Create {
        /// Account name.
        name: String,
    },
    /// Give an account a new token (shown once); the old one stops working at once.
    RotateToken {
        /// Account name.
        name: String,
    },
    /// Disable an account: its token is refused until it is rotated.
    Disable {
        /// Account name.
        name: String,
    },
}

pub(super) async fn run(vendor: &Vendor, command: AccountCommand) -> Result<()> {
    let accounts = vendor.accounts();
    match command {
        AccountCommand::Create { name } => {
            let token = accounts.create(&name).await?;
            println!("account {name} created; its token (shown once, give it to the customer):");
            println!("{token}");
        }
        AccountCommand::RotateToken { name } => {
            let token = accounts.rotate_token(&name).await?;
            println!("account {name} has a new token (shown once; the old one no longer works):");
            println!("{token}");
        }
        AccountCommand::Disable { name } => {
            accounts.disable(&name).await?;
            println!("account {name} disabled: its token is refused until `account rotate-token`");
        }
    }
    Ok(())
}
