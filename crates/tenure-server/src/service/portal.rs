//! The customer portal's sessions: a customer signs in with its account's name and token
//! (the token the vendor gave it, or the last one it rotated to); the session lasts
//! [`SESSION_HOURS`] and ends at once when the token is rotated or the account disabled. Kept
//! in the database, known there only by the hash of the cookie's token.

use chrono::Duration;

use super::{Denial, SESSION_HOURS, Vendor, random_token, token_sha256};

/// A signed-in customer, as each portal request finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The account signed in: the portal shows and changes only its licenses.
    pub account: String,
    /// The account's user who signed in; `None` for the account itself (its token), which
    /// alone manages users and rotates the token.
    pub user: Option<String>,
    /// The token every form of this session carries (CSRF).
    pub csrf: String,
}

/// A portal sign-in that worked: the cookie's token and the session.
#[derive(Debug, Clone)]
pub struct PortalSignIn {
    /// The session token: the cookie's value.
    pub token: String,
    /// The session.
    pub session: PortalSession,
}

/// The portal operations of a [`Vendor`] (`vendor.portal()`).
pub struct Portal<'v> {
    pub(super) vendor: &'v Vendor,
}

impl Portal<'_> {
    /// Signs `account` in with its token: a new session.
    pub async fn sign_in(&self, account: &str, token: &str) -> Result<PortalSignIn, Denial> {
        let vendor = self.vendor;
        if let Err(denial) = vendor.accounts().authenticate(account, token).await {
            vendor
                .record(None, "account", "portal_sign_in_refused", account)
                .await;
            return Err(denial);
        }
        let signed_in = self.start(account, None).await?;
        vendor
            .record(None, "account", "portal_signed_in", account)
            .await;
        Ok(signed_in)
    }

    /// Starts a session for `account`, or for its `user`.
    pub(super) async fn start(
        &self,
        account: &str,
        user: Option<&str>,
    ) -> Result<PortalSignIn, Denial> {
        let vendor = self.vendor;
        let token = random_token("tps_");
        let csrf = random_token("");
        let now = vendor.now();
        vendor
            .store
            .insert_portal_session(
                &token_sha256(&token),
                account,
                user,
                &csrf,
                (now, now + Duration::hours(SESSION_HOURS)),
            )
            .await?;
        Ok(PortalSignIn {
            token,
            session: PortalSession {
                account: account.to_owned(),
                user: user.map(str::to_owned),
                csrf,
            },
        })
    }

    /// The session a cookie's token names, if it is current.
    pub async fn session(&self, token: &str) -> Result<Option<PortalSession>, Denial> {
        let vendor = self.vendor;
        Ok(vendor
            .store
            .portal_session(&token_sha256(token), vendor.now())
            .await?
            .map(|row| PortalSession {
                account: row.account,
                user: row.user,
                csrf: row.csrf,
            }))
    }

    /// Ends the session a cookie's token names.
    pub async fn sign_out(&self, token: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        vendor
            .store
            .delete_portal_session(&token_sha256(token), vendor.now())
            .await?;
        Ok(())
    }

    /// Gives the signed-in account a new token (shown once): every session, on every browser,
    /// ends; this browser gets a new one. Only the account itself (signed in with its token)
    /// may.
    pub async fn rotate_token(
        &self,
        session: &PortalSession,
    ) -> Result<(String, PortalSignIn), Denial> {
        owner_only(session, "rotate the account's token")?;
        let account = session.account.as_str();
        let token = self.vendor.accounts().rotate_token(account).await?;
        let signed_in = self.start(account, None).await?;
        Ok((token, signed_in))
    }
}

/// Refuses a user what only the account itself may do (`what`: "add a user").
pub(super) fn owner_only(session: &PortalSession, what: &str) -> Result<(), Denial> {
    match &session.user {
        None => Ok(()),
        Some(user) => Err(Denial::Forbidden {
            code: "account_only",
            message: format!("{user} may not {what}: sign in with the account's token to do it"),
        }),
    }
}
