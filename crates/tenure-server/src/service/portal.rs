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
        let signed_in = self.start(account).await?;
        vendor
            .record(None, "account", "portal_signed_in", account)
            .await;
        Ok(signed_in)
    }

    async fn start(&self, account: &str) -> Result<PortalSignIn, Denial> {
        let vendor = self.vendor;
        let token = random_token("tps_");
        let csrf = random_token("");
        let now = vendor.now();
        vendor
            .store
            .insert_portal_session(
                &token_sha256(&token),
                account,
                &csrf,
                now,
                now + Duration::hours(SESSION_HOURS),
            )
            .await?;
        Ok(PortalSignIn {
            token,
            session: PortalSession {
                account: account.to_owned(),
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
    /// ends; this browser gets a new one.
    pub async fn rotate_token(&self, account: &str) -> Result<(String, PortalSignIn), Denial> {
        let token = self.vendor.accounts().rotate_token(account).await?;
        let signed_in = self.start(account).await?;
        Ok((token, signed_in))
    }
}
