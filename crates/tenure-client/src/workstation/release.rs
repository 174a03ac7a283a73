//! Releasing a license so its key can be activated elsewhere with no internet: the workstation
//! writes a release request proven by its credential (`tenure offline release -o FILE`) and
//! stops the license here at once; the customer hands the file to the vendor's portal, which
//! frees the key (a move, within the license's limit). The stop is kept in the cache and in
//! the product database, so every workstation on that database stops with it.
//!
//! The vendor does not depend on the stop: the server refuses the released credential from
//! then on and answers it with the signed notice that the license moved.

use chrono::{DateTime, Utc};
use tenure_core::DocKind;
use tenure_core::VerifiedLicense;
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{OfflineAsk, OfflineRequest};
use tenure_core::signed::write_unsigned;

use super::offline::OfflineFiles;
use super::{EngineError, Workstation, fresh_nonce};
use crate::cache::{CacheData, ReleasedRecord};
use crate::product_db::ProductDb;

/// The product database's copy of the release.
pub(super) const RELEASED_DOCUMENT: &str = "released";

/// When the cached license was released here, if the release names it and the credential
/// still held (a new credential means it was activated here again since).
pub(super) fn released_at(data: &CacheData, license: &VerifiedLicense) -> Option<DateTime<Utc>> {
    let released = data.released.as_ref()?;
    let held = data
        .credential
        .as_ref()
        .filter(|held| held.license_id == license.id)
        .and_then(|held| Credential::from_hex(&held.secret))?;
    (released.license_id == license.id && held.public_hex() == released.holder)
        .then_some(released.at)
}

impl OfflineFiles<'_> {
    /// Writes the request that releases the license held here (armored text, proven by its
    /// credential) and stops the license here: from now on it grants nothing on this database.
    /// Asking again makes a new file (the first may have been lost).
    pub async fn offline_release(&self, now: DateTime<Utc>) -> Result<String, EngineError> {
        let license = self.license()?.ok_or(EngineError::NotActivated)?;
        let credential = self.credential_for(&license.id).await?;
        let binding = license.binding.clone();
        let nonce = fresh_nonce();
        let proof = credential.prove(ProofAction::Release, &license.id, &binding, &nonce);
        let request = OfflineRequest {
            ask: OfflineAsk::Release {
                license_id: license.id.clone(),
            },
            binding,
            nonce,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: now,
            holder: None,
            proof: Some(proof),
        };
        let text = write_unsigned(DocKind::Request, &request)?;
        let record = ReleasedRecord {
            license_id: license.id.clone(),
            holder: credential.public_hex(),
            at: now,
        };
        self.cache.update(|data| {
            data.released = Some(record.clone());
            Some(())
        })?;
        if let Some(db) = &self.db {
            let kept = ron::to_string(&record)
                .map_err(|e| e.to_string())
                .map(|text| (now.timestamp_millis(), text));
            match kept {
                Ok((serial, text)) => {
                    if let Err(e) = db
                        .save_trust_document(RELEASED_DOCUMENT, serial, &text)
                        .await
                    {
                        tracing::warn!(error = %e, "cannot keep the release in the product database");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot write the release down"),
            }
        }
        self.audit(
            "license released",
            "ok",
            &format!("{} released to be activated elsewhere", license.id),
            now,
        )
        .await;
        Ok(text)
    }
}

impl Workstation {
    /// At connect: a release another workstation kept in the product database, of the license
    /// and credential the database holds, stops this workstation too.
    pub(super) async fn adopt_release(
        &self,
        db: &ProductDb,
        license: &VerifiedLicense,
        text: Option<&str>,
    ) {
        let Some(text) = text else { return };
        let Ok(record) = ron::from_str::<ReleasedRecord>(text) else {
            return;
        };
        let about_this = record.license_id == license.id
            && db
                .holds_credential(&record.license_id, &record.holder)
                .await;
        if !about_this {
            return;
        }
        let kept = self.cache.update(|data| {
            (data.released.as_ref() != Some(&record)).then(|| {
                data.released = Some(record.clone());
            })
        });
        if let Err(e) = kept {
            tracing::warn!(error = %e, "cannot keep the release in the cache");
        }
    }
}
