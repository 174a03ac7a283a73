//! Borrowed seats whose revocation the vendor's server confirmed. A pool reports an admin's
//! revocation (a lost laptop) when it validates; each one confirmed is listed in the license
//! signed for that pool and for the laptop until the borrow ends.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row as _;
use tenure_core::protocol::RevokedBorrow;

use super::{Store, StoreError, to_time};

/// Early returns one license may have confirmed in 30 days. Each lets a pool free a borrowed
/// seat before the laptop has heard, so a licensee who "revokes" a laptop still in use gains
/// that seat until the borrow ends; lost laptops are rare, so a few are enough.
pub const EARLY_RETURNS_PER_30_DAYS: i64 = 2;

/// A confirmed revocation, as `license show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EarlyReturn {
    /// The borrowed session in the customer's pool.
    pub session_id: String,
    /// When the borrow would have ended.
    pub borrowed_until: DateTime<Utc>,
    /// When this server confirmed the revocation.
    pub confirmed_at: DateTime<Utc>,
}

impl Store {
    /// Confirms the revocations a pool reported for `license_id`, as many as the 30-day cap
    /// allows (oldest report first; one already confirmed is not counted again). A borrow is
    /// believed to end no later than `latest_end`. Returns how many were refused by the cap.
    pub(crate) async fn confirm_revoked_borrows(
        &self,
        license_id: &str,
        reported: &[RevokedBorrow],
        latest_end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Taken first, the license row's lock makes two instances confirming for the same
        // license at once count one after the other.
        sqlx::query("UPDATE licenses SET id = id WHERE id = $1")
            .bind(license_id)
            .execute(&mut *tx)
            .await?;
        let recent: i64 = sqlx::query(
            "SELECT COUNT(*) FROM borrow_revocations WHERE license_id = $1 AND confirmed_at > $2",
        )
        .bind(license_id)
        .bind((now - Duration::days(30)).timestamp())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let mut room = EARLY_RETURNS_PER_30_DAYS.saturating_sub(recent);
        let mut refused = 0;
        for borrow in reported.iter().filter(|b| b.until > now) {
            let known = sqlx::query(
                "SELECT 1 FROM borrow_revocations WHERE license_id = $1 AND session_id = $2",
            )
            .bind(license_id)
            .bind(&borrow.session_id)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_some() {
                continue;
            }
            if room <= 0 {
                refused += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO borrow_revocations \
                 (license_id, session_id, borrowed_until, confirmed_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(license_id)
            .bind(&borrow.session_id)
            .bind(borrow.until.min(latest_end).timestamp())
            .bind(now.timestamp())
            .execute(&mut *tx)
            .await?;
            room -= 1;
        }
        tx.commit().await?;
        Ok(refused)
    }

    /// The sessions of `license_id` whose revocation was confirmed and whose borrow has not
    /// ended at `now`.
    pub(crate) async fn revoked_borrows(
        &self,
        license_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id FROM borrow_revocations \
             WHERE license_id = $1 AND borrowed_until > $2 ORDER BY session_id",
        )
        .bind(license_id)
        .bind(now.timestamp())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The revocations confirmed for `license_id` since `since`, newest first.
    pub async fn early_returns_since(
        &self,
        license_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<EarlyReturn>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, borrowed_until, confirmed_at FROM borrow_revocations \
             WHERE license_id = $1 AND confirmed_at >= $2 ORDER BY confirmed_at DESC",
        )
        .bind(license_id)
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EarlyReturn {
                    session_id: row.try_get(0)?,
                    borrowed_until: to_time(row.try_get(1)?),
                    confirmed_at: to_time(row.try_get(2)?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
