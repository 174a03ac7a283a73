//! What an admin changes on a license from the console — its last day, the moves it may make
//! again.

use chrono::{DateTime, Utc};
use tenure_core::LicenseTerms;

use super::{Store, StoreError};

impl Store {
    /// Replaces a license's terms (a new last day). `false` for no such license.
    pub(crate) async fn set_terms(
        &self,
        id: &str,
        terms: &LicenseTerms,
    ) -> Result<bool, StoreError> {
        let terms_ron = ron::to_string(terms).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query("UPDATE licenses SET terms_ron = $1 WHERE id = $2")
            .bind(terms_ron)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgives every move of a license that still counts: they stay in its history, and it
    /// may move its full limit again. Returns how many were forgiven.
    pub(crate) async fn forgive_rebinds(
        &self,
        license_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE rebinds SET forgiven_at = $1 WHERE license_id = $2 AND forgiven_at IS NULL",
        )
        .bind(now.timestamp())
        .bind(license_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
