//! Customer accounts: made by the vendor's staff, each with a bearer token shown once and
//! stored hashed; a token proves the account when a workstation moves or stretches a license.

use chrono::Duration;
use tenure_core::protocol::{AccountLicense, limits};

use super::{Denial, Vendor, check_text, random_token, token_sha256};
use crate::store::LicenseRow;

/// The account operations of a [`Vendor`] (`vendor.accounts()`).
pub struct Accounts<'v> {
    pub(super) vendor: &'v Vendor,
    /// Who acts, for the usage log (a member of staff in the console); the command line and
    /// the admin API leave it out.
    pub(super) by: Option<String>,
}

impl<'v> Accounts<'v> {
    /// The same operations, recorded in the usage log as done `by` (`staff ana`).
    #[must_use]
    pub fn by(self, by: &str) -> Accounts<'v> {
        Accounts {
            by: Some(by.to_owned()),
            ..self
        }
    }

    /// The usage log's detail for the account `name`: with who acted, when known.
    fn detail(&self, name: &str) -> String {
        match &self.by {
            Some(by) => format!("{name} by {by}"),
            None => name.to_owned(),
        }
    }

    /// Every account, by name, with how many licenses each owns.
    pub async fn list(&self) -> Result<Vec<crate::store::AccountRow>, Denial> {
        Ok(self.vendor.store.list_accounts().await?)
    }

    /// Creates an account named `name`; returns its token (shown once, stored hashed).
    pub async fn create(&self, name: &str) -> Result<String, Denial> {
        let vendor = self.vendor;
        check_text("account name", name, limits::ACCOUNT_NAME_CHARS)?;
        let token = random_token("tnr_");
        if !vendor
            .store
            .insert_account(name, &token_sha256(&token), vendor.now())
            .await?
        {
            return Err(Denial::Conflict {
                code: "account_exists",
                message: format!("an account named {name:?} exists already"),
            });
        }
        vendor
            .record(None, "account", "created", &self.detail(name))
            .await;
        Ok(token)
    }

    /// Gives the account `name` a new token (shown once); the old one is refused from now on.
    /// A disabled account is enabled again.
    pub async fn rotate_token(&self, name: &str) -> Result<String, Denial> {
        let vendor = self.vendor;
        let token = random_token("tnr_");
        if !vendor
            .store
            .set_account_token(name, &token_sha256(&token))
            .await?
        {
            return Err(no_such_account(name));
        }
        vendor
            .record(None, "account", "token_rotated", &self.detail(name))
            .await;
        Ok(token)
    }

    /// Disables the account `name`: its token is refused from now on (rotate it to enable it
    /// again).
    pub async fn disable(&self, name: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        if !vendor.store.disable_account(name).await? {
            return Err(no_such_account(name));
        }
        vendor
            .record(None, "account", "disabled", &self.detail(name))
            .await;
        Ok(())
    }

    /// Checks an account's token.
    pub async fn authenticate(&self, account: &str, token: &str) -> Result<(), Denial> {
        let wrong = || {
            Denial::Unauthorized(
                "the account name or token is wrong: sign in again with the account's token".into(),
            )
        };
        if check_text("account name", account, limits::ACCOUNT_NAME_CHARS).is_err() {
            return Err(wrong());
        }
        match self.vendor.store.account(account).await? {
            Some((hash, false)) if hash == token_sha256(token) => Ok(()),
            _ => Err(wrong()),
        }
    }

    /// The licenses the account owns, with the moves each has left.
    pub async fn licenses(&self, account: &str) -> Result<Vec<AccountLicense>, Denial> {
        let vendor = self.vendor;
        let rows = vendor.store.list_licenses(Some(account)).await?;
        let since = vendor.now() - Duration::days(30);
        let mut licenses = Vec::with_capacity(rows.len());
        for row in rows {
            let used = vendor.store.rebinds_since(&row.id, since).await?.len();
            let limit = row.terms.max_rebinds_per_30_days;
            let mut license = account_license(row);
            license.rebinds_left =
                Some(limit.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)));
            licenses.push(license);
        }
        Ok(licenses)
    }
}

fn no_such_account(name: &str) -> Denial {
    Denial::NotFound(format!("there is no account named {name:?}"))
}

fn account_license(row: LicenseRow) -> AccountLicense {
    let key = crate::keyhash::masked(row.key_last4.as_deref().unwrap_or_default());
    AccountLicense {
        id: row.id,
        key,
        terms: row.terms,
        binding: row.binding,
        revoked: row.revoked,
        rebinds_left: None,
    }
}
