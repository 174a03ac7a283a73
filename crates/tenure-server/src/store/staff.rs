//! The vendor's staff and their console sessions (migration 0011), and the license search the
//! console pages through.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::rows::{LicenseRow, PAGE_OF_LICENSES, SEARCH_LICENSES_POSTGRES, SEARCH_LICENSES_SQLITE};
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

    /// Fills the search text of licenses stored before it was kept (migration 0011), a
    /// thousand at a time. Returns how many were filled.
    pub(crate) async fn fill_search_text(&self) -> Result<usize, StoreError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, account, terms_ron FROM licenses WHERE search_text IS NULL LIMIT 1000",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let account: String = row.try_get("account")?;
                let terms: String = row.try_get("terms_ron")?;
                // A license whose terms cannot be read is still found by its id and account.
                let customer = ron::from_str::<tenure_core::LicenseTerms>(&terms)
                    .map(|t| t.customer)
                    .unwrap_or_default();
                sqlx::query("UPDATE licenses SET search_text = $1 WHERE id = $2")
                    .bind(search_text(&id, &account, &customer))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            filled += rows.len();
        }
    }

    /// One page of the licenses whose id, account or customer contains `query` (all when it
    /// is empty), newest first, and how many match in all.
    pub async fn search_licenses(
        &self,
        query: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LicenseRow>, u64), StoreError> {
        let limit = i64::from(limit);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        if query.is_empty() {
            let total: i64 = sqlx::query("SELECT COUNT(*) FROM licenses")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            let rows = sqlx::query(PAGE_OF_LICENSES)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
            let licenses = rows
                .iter()
                .map(LicenseRow::from_row)
                .collect::<Result<_, _>>()?;
            return Ok((licenses, u64::try_from(total).unwrap_or(0)));
        }
        // Lower-cased, as the search text is.
        let needle = query.to_lowercase();
        let (search, count) = match self.engine {
            tenure_storage::Engine::Sqlite => (
                SEARCH_LICENSES_SQLITE,
                "SELECT COUNT(*) FROM licenses WHERE instr(search_text, $1) > 0",
            ),
            tenure_storage::Engine::Postgres => (
                SEARCH_LICENSES_POSTGRES,
                "SELECT COUNT(*) FROM licenses WHERE strpos(search_text, $1) > 0",
            ),
        };
        let rows = sqlx::query(search)
            .bind(&needle)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total = match rows.first() {
            Some(row) => row.try_get::<i64, _>("total")?,
            // A page past the last: counted on its own.
            None => sqlx::query(count)
                .bind(&needle)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        };
        let licenses = rows
            .iter()
            .map(LicenseRow::from_row)
            .collect::<Result<_, _>>()?;
        Ok((licenses, u64::try_from(total).unwrap_or(0)))
    }
}

/// What the console's search looks in: id, account and customer, lower-cased.
pub(super) fn search_text(id: &str, account: &str, customer: &str) -> String {
    format!("{id} {account} {customer}").to_lowercase()
}

fn staff_of(row: &sqlx::any::AnyRow) -> Result<StaffRow, sqlx::Error> {
    Ok(StaffRow {
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A license stored before the search text was kept is found once a server has opened
    /// the database; its customer's name is searched without regard to case.
    #[tokio::test]
    async fn older_licenses_are_given_their_search_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite_dir(dir.path()).await.expect("store");
        let now = Utc::now();
        store
            .insert_account("acme", "hash", now)
            .await
            .expect("account");
        let terms = crate::sandbox::sample_terms("Nordsee Offshore");
        assert!(
            store
                .insert_license("lic_old", "hmac:1", "0001", "acme", &terms, now)
                .await
                .expect("license")
        );
        sqlx::query("UPDATE licenses SET search_text = NULL")
            .execute(&store.pool)
            .await
            .expect("as an older server left it");
        assert_eq!(
            store
                .search_licenses("nordsee", 50, 0)
                .await
                .expect("search")
                .1,
            0
        );
        assert_eq!(store.fill_search_text().await.expect("fill"), 1);
        let (found, total) = store
            .search_licenses("NORDSEE", 50, 0)
            .await
            .expect("search");
        assert_eq!((found[0].id.as_str(), total), ("lic_old", 1));
        assert_eq!(store.fill_search_text().await.expect("fill"), 0);
    }
}
