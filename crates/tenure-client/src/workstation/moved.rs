//! A license that moved: its account activated it on another database, which replaced the
//! activation credential this workstation holds. The server answers that credential's next
//! validation with a signed notice (echoing the request's nonce, saying nothing of where the
//! license went); once verified, it is kept in the cache and the product database, and the
//! status is `Moved`: the product stops granting here. A later activation here (a new
//! credential) makes the notice stale.

use chrono::{DateTime, Utc};
use tenure_core::possession::Credential;
use tenure_core::trust::MovedNotice;
use tenure_core::{Verified, VerifiedLicense};

use super::{EngineError, Workstation};
use crate::cache::CacheData;
use crate::product_db::ProductDb;

/// The product database's copy of the notice.
pub(super) const MOVED_DOCUMENT: &str = "moved";

impl Workstation {
    /// Checks a notice received in answer to a request with `nonce` about `license_id` (or,
    /// from a file, to an outstanding request) and keeps it. Returns when the license moved.
    pub(super) async fn accept_moved_notice(
        &self,
        text: &str,
        nonce: Option<&str>,
        license_id: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, EngineError> {
        let notice = self.open_moved_notice(text)?;
        let answers_request = match nonce {
            Some(nonce) => notice.nonce == nonce,
            None => self
                .cache
                .load()?
                .outstanding_nonces
                .contains(&notice.nonce),
        };
        if !answers_request {
            return Err(EngineError::Mismatched(
                "its nonce is not the one just sent: a replayed answer",
            ));
        }
        if notice.license_id != license_id {
            return Err(EngineError::Mismatched("it is for another license"));
        }
        let held = self.credential_for(license_id).await?;
        if held.public_hex() != notice.holder {
            return Err(EngineError::Mismatched(
                "it is about another activation of the license",
            ));
        }
        self.keep_moved_notice(&notice, now).await?;
        Ok(notice.moved_at)
    }

    async fn keep_moved_notice(
        &self,
        notice: &Verified<MovedNotice>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let text = notice.text().to_owned();
        self.cache.update(|data| {
            data.outstanding_nonces.retain(|n| n != &notice.nonce);
            data.moved = Some(text);
            Some(())
        })?;
        if let Some(db) = &self.db {
            let serial = notice.moved_at.timestamp_millis();
            if let Err(e) = db
                .save_trust_document(MOVED_DOCUMENT, serial, notice.text())
                .await
            {
                tracing::warn!(error = %e, "cannot keep the notice that the license moved in the product database");
            }
        }
        self.audit(
            "license moved",
            "refused",
            &format!(
                "the account activated it on another database on {}",
                notice.moved_at.format("%Y-%m-%d %H:%M UTC")
            ),
            now,
        )
        .await;
        Ok(())
    }

    /// When the cached license moved, if a verified notice kept here says so for the license
    /// and the credential held (a credential held for it that the notice does not name means
    /// it was activated here again since).
    pub(super) fn moved_at(
        &self,
        data: &CacheData,
        license: &VerifiedLicense,
    ) -> Option<DateTime<Utc>> {
        let text = data.moved.as_deref()?;
        let notice = self.open_moved_notice(text).ok()?;
        if notice.license_id != license.id {
            return None;
        }
        let replaced_here = data
            .credential
            .as_ref()
            .filter(|held| held.license_id == license.id)
            .is_none_or(|held| {
                Credential::from_hex(&held.secret).is_some_and(|c| c.public_hex() == notice.holder)
            });
        replaced_here.then_some(notice.moved_at)
    }

    /// At connect: a notice another workstation kept in the product database, about the
    /// license and credential the database holds, is this workstation's too.
    pub(super) async fn adopt_moved_notice(
        &self,
        db: &ProductDb,
        license: &VerifiedLicense,
        text: Option<&str>,
    ) {
        let Some(text) = text else { return };
        let Ok(notice) = self.open_moved_notice(text) else {
            return;
        };
        let about_this = notice.license_id == license.id
            && db
                .holds_credential(&notice.license_id, &notice.holder)
                .await;
        if !about_this {
            return;
        }
        let kept = self.cache.update(|data| {
            (data.moved.as_deref() != Some(text)).then(|| {
                data.moved = Some(text.to_owned());
            })
        });
        if let Err(e) = kept {
            tracing::warn!(error = %e, "cannot keep the notice that the license moved in the cache");
        }
    }
}
