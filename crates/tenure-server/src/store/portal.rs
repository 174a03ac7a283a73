//! Customer accounts as the console lists them, and customers' portal sessions (migration
//! 0012): started with the account's token, ended when that token is rotated or the account
//! disabled.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{Store, StoreError};

/// A portal session as stored: whose, and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSessionRow {
    /// The account signed in.
    pub account: String,
    /// The account's user who signed in; `None` when signed in with the account's token.
    pub user: Option<String>,
    /// The session's CSRF token.
    pub csrf: String,
}

/// An account as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountRow {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// A disabled account's token is refused.
    pub disabled: bool,
    /// How many licenses it owns.
    pub licenses: i64,
}

impl Store {
    /// Every account, by name, with how many licenses each owns.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.name, a.created_at, a.disabled, \
             (SELECT COUNT(*) FROM licenses l WHERE l.account = a.name) AS licenses \
             FROM accounts a ORDER BY a.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AccountRow {
                    name: row.try_get("name")?,
                    created_at: DateTime::from_timestamp(row.try_get("created_at")?, 0)
                        .unwrap_or_default(),
                    disabled: row.try_get::<i64, _>("disabled")? != 0,
                    licenses: row.try_get("licenses")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Starts a portal session for `account` (and its `user`, if a user signed in), tied to
    /// the account token in force.
    pub(crate) async fn insert_portal_session(
        &self,
        token_sha256: &str,
        account: &str,
        user: Option<&str>,
        csrf: &str,
        (now, expires_at): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO portal_sessions (token_sha256, account, account_token_sha256, csrf, \
             created_at, expires_at, user_name) \
             SELECT $1, name, token_sha256, $3, $4, $5, $6 FROM accounts WHERE name = $2",
        )
        .bind(token_sha256)
        .bind(account)
        .bind(csrf)
        .bind(now.timestamp())
        .bind(expires_at.timestamp())
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The portal session whose token hashes to `token_sha256`, if it has not expired, its
    /// account is enabled, the account's token is still the one it was started with, and the
    /// user who started it (if one did) is still the account's.
    pub(crate) async fn portal_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PortalSessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT p.account, p.csrf, p.user_name FROM portal_sessions p \
             JOIN accounts a ON a.name = p.account AND a.token_sha256 = p.account_token_sha256 \
             WHERE p.token_sha256 = $1 AND p.expires_at > $2 AND a.disabled = 0 \
             AND (p.user_name IS NULL OR EXISTS (SELECT 1 FROM portal_users u \
                  WHERE u.account = p.account AND u.name = p.user_name))",
        )
        .bind(token_sha256)
        .bind(now.timestamp())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(PortalSessionRow {
                account: row.try_get("account")?,
                user: row.try_get("user_name")?,
                csrf: row.try_get("csrf")?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| StoreError::from(e))
    }

    /// Ends a portal session (signing out), and any that have expired.
    pub(crate) async fn delete_portal_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM portal_sessions WHERE token_sha256 = $1 OR expires_at <= $2")
            .bind(token_sha256)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
