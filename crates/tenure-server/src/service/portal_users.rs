//! A customer account's own portal users: the account, signed in with its token, adds them
//! (each gets a first password, shown once) and removes them; a user signs in with the
//! account's name, its own name and its password, and sets a new password. Users do what
//! the portal offers but manage no users and never rotate the account's token.

use tenure_core::protocol::limits;

use super::portal::owner_only;
use super::staff::{new_password_hash, password_matches, slow_down};
use super::{Denial, Portal, PortalSession, PortalSignIn, check_text, random_token};
use crate::store::PortalUserRow;

/// Characters of a first password (hex: 96 bits).
const FIRST_PASSWORD_CHARS: usize = 24;

impl Portal<'_> {
    /// Signs the account's user `user` in with `password`: a new session. A wrong account,
    /// name or password get the same answer after the same work; a few tries a minute per
    /// account and name.
    pub async fn sign_in_user(
        &self,
        account: &str,
        user: &str,
        password: &str,
    ) -> Result<PortalSignIn, Denial> {
        let vendor = self.vendor;
        let wrong = || Denial::Unauthorized("the account, name or password is wrong".into());
        if check_text("account", account, limits::ACCOUNT_NAME_CHARS).is_err()
            || check_text("user name", user, limits::ACCOUNT_NAME_CHARS).is_err()
        {
            return Err(wrong());
        }
        let who = format!("{account}/{user}");
        if let Err(slowed) = slow_down(vendor, &format!("portal {who}")) {
            vendor
                .record(None, "account", "portal_sign_in_slowed", &who)
                .await;
            return Err(slowed);
        }
        let stored = vendor.store.portal_user_hash(account, user).await?;
        if !password_matches(password, stored.as_deref()).await {
            vendor
                .record(None, "account", "portal_sign_in_refused", &who)
                .await;
            return Err(wrong());
        }
        let signed_in = self.start(account, Some(user)).await?;
        vendor
            .record(None, "account", "portal_signed_in", &who)
            .await;
        Ok(signed_in)
    }

    /// The signed-in account's users (the account itself only).
    pub async fn users(&self, session: &PortalSession) -> Result<Vec<PortalUserRow>, Denial> {
        owner_only(session, "see the account's users")?;
        Ok(self.vendor.store.portal_users(&session.account).await?)
    }

    /// Adds a user `name` to the signed-in account: its first password, shown once.
    pub async fn add_user(&self, session: &PortalSession, name: &str) -> Result<String, Denial> {
        owner_only(session, "add a user")?;
        check_text("user name", name, limits::ACCOUNT_NAME_CHARS)?;
        let password: String = random_token("")
            .chars()
            .take(FIRST_PASSWORD_CHARS)
            .collect();
        let hash = new_password_hash(&password).await?;
        let vendor = self.vendor;
        let account = session.account.as_str();
        if !vendor
            .store
            .insert_portal_user(account, name, &hash, vendor.now())
            .await?
        {
            return Err(Denial::Conflict {
                code: "user_exists",
                message: format!("the account has a user named {name:?} already"),
            });
        }
        let detail = format!("{account}/{name}");
        vendor
            .record(None, "account", "portal_user_added", &detail)
            .await;
        Ok(password)
    }

    /// Removes the signed-in account's user `name`: its sessions end at once.
    pub async fn remove_user(&self, session: &PortalSession, name: &str) -> Result<(), Denial> {
        owner_only(session, "remove a user")?;
        let vendor = self.vendor;
        let account = session.account.as_str();
        if !vendor.store.delete_portal_user(account, name).await? {
            return Err(Denial::NotFound(format!(
                "the account has no user named {name:?}"
            )));
        }
        let detail = format!("{account}/{name}");
        vendor
            .record(None, "account", "portal_user_removed", &detail)
            .await;
        Ok(())
    }

    /// Sets the signed-in user's password, once its current one is given: every session of
    /// that user ends, and this browser gets a new one.
    pub async fn set_password(
        &self,
        session: &PortalSession,
        current: &str,
        new: &str,
    ) -> Result<PortalSignIn, Denial> {
        let Some(user) = session.user.as_deref() else {
            return Err(Denial::Invalid(
                "the account signs in with its token, which has no password: rotate the token instead".into(),
            ));
        };
        let vendor = self.vendor;
        let account = session.account.as_str();
        let stored = vendor.store.portal_user_hash(account, user).await?;
        if !password_matches(current, stored.as_deref()).await {
            return Err(Denial::Unauthorized(
                "the current password is wrong: nothing was changed".into(),
            ));
        }
        let hash = new_password_hash(new).await?;
        vendor
            .store
            .set_portal_user_password(account, user, &hash)
            .await?;
        vendor
            .record(
                None,
                "account",
                "portal_password_set",
                &format!("{account}/{user}"),
            )
            .await;
        self.start(account, Some(user)).await
    }
}
