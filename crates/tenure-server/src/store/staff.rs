//! The vendor's staff and their console sessions (migration 0011).

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{Store, StoreError};

/// A member of staff as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// Sign-in name.
    pub name: String,
    /// `admin` or `support`.
    pub role: String,
    /// The password's argon2id hash (PHC string).
    pub password_hash: String,
    /// A disabled member cannot sign in.
    pub disabled: bool,
}

/// A console session as stored: whose, and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    /// The member of staff.
    pub staff: StaffRow,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Store {
    /// Adds a member of staff; false when the name is taken.
    pub(crate) async fn insert_staff(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO staff (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A member of staff by name.
    pub(crate) async fn staff(&self, name: &str) -> Result<Option<StaffRow>, StoreError> {
        let row =
            sqlx::query("SELECT name, role, password_hash, disabled FROM staff WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.as_ref().map(staff_of).transpose()?)
    }

    /// Starts a console session.
    pub(crate) async fn insert_console_session(
        &self,
        token_sha256: &str,
        staff: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO console_sessions (token_sha256, staff, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256)
        .bind(staff)
        .bind(csrf)
        .bind(now.timestamp())
        .bind(expires_at.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The console session whose token hashes to `token_sha256`, if it has not expired and its
    /// member of staff is not disabled.
    pub(crate) async fn console_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.name, s.role, s.password_hash, s.disabled, c.csrf \
             FROM console_sessions c JOIN staff s ON s.name = c.staff \
             WHERE c.token_sha256 = $1 AND c.expires_at > $2 AND s.disabled = 0",
        )
        .bind(token_sha256)
        .bind(now.timestamp())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ConsoleSessionRow {
                staff: staff_of(&row)?,
                csrf: row.try_get("csrf")?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| StoreError::from(e))
    }

    /// Ends a console session (signing out), and any that have expired.
    pub(crate) async fn delete_console_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_sha256 = $1 OR expires_at <= $2")
            .bind(token_sha256)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn staff_of(row: &sqlx::any::AnyRow) -> Result<StaffRow, sqlx::Error> {
    Ok(StaffRow {
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}
