//! A customer account's own portal users (migration 0017): created by the account, each with
//! an argon2id password hash. Removing one, or setting its password, ends its sessions.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{Store, StoreError, to_time};

/// A portal user as the account's users page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUserRow {
    /// The name it signs in with.
    pub name: String,
    /// When the account created it.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Adds `name` to `account`'s users. `false` if the account has a user of that name.
    pub(crate) async fn insert_portal_user(
        &self,
        account: &str,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO portal_users (account, name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account, name) DO NOTHING",
        )
        .bind(account)
        .bind(name)
        .bind(password_hash)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The password hash of `account`'s user `name`, if the account is enabled and has it.
    pub(crate) async fn portal_user_hash(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT u.password_hash FROM portal_users u JOIN accounts a ON a.name = u.account \
             WHERE u.account = $1 AND u.name = $2 AND a.disabled = 0",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// `account`'s users, by name.
    pub(crate) async fn portal_users(
        &self,
        account: &str,
    ) -> Result<Vec<PortalUserRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, created_at FROM portal_users WHERE account = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PortalUserRow {
                    name: row.try_get("name")?,
                    created_at: to_time(row.try_get("created_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Removes `account`'s user `name` and ends its sessions. `false` if there was none.
    pub(crate) async fn delete_portal_user(
        &self,
        account: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM portal_users WHERE account = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        end_user_sessions(&mut tx, account, name).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives `account`'s user `name` a new password hash and ends every session it has.
    pub(crate) async fn set_portal_user_password(
        &self,
        account: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE portal_users SET password_hash = $1 WHERE account = $2 AND name = $3",
        )
        .bind(password_hash)
        .bind(account)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        end_user_sessions(&mut tx, account, name).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn end_user_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: &str,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM portal_sessions WHERE account = $1 AND user_name = $2")
        .bind(account)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
