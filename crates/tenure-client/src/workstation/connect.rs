//! Connecting the product database: what a product waits for at start.
//!
//! Two waits dominate a start, the keyring daemon (three entries, a few round trips to another
//! process) and the product database (opening it, then a handful of reads). They overlap: the
//! keyring reads are sent ahead before anything else, and the database rows connecting needs —
//! its trust documents, its license and its clock mark — are read before the first step that
//! needs a secret, while the keyring answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tenure_core::VerifiedLicense;

use super::{EngineError, Workstation};
use crate::cache::HeldCredential;
use crate::product_db::{DbSpec, ProductDb};

impl Workstation {
    /// Starts the keyring reads that connecting makes, so they run while the database
    /// connects instead of one after another after it (several milliseconds at start). A
    /// product calls it as it opens, before its runtime starts.
    pub(crate) fn read_secrets_ahead(&self) {
        let profile: Vec<&str> = self.cache.key_to_read().into_iter().collect();
        let revocations = self.revocations_to_read();
        let machine: Vec<&str> = self
            .mark_to_read()
            .into_iter()
            .chain(revocations.iter().map(String::as_str))
            .collect();
        self.secrets.read_ahead(&profile, &machine);
    }

    /// Connects the product database, derives the binding from it, and picks up the license it
    /// holds when this workstation has none (or an older copy of the same license).
    pub async fn connect_db(
        &mut self,
        spec: &DbSpec,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.read_secrets_ahead();
        let (db, first) = ProductDb::connect_reading(spec, &self.local_host).await?;
        let documents = first.documents.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the product database's trust documents");
            BTreeMap::new()
        });
        let document = |name| documents.get(name).map(String::as_str);
        let (revocations, moved, released) = (
            document(super::trust::REVOCATIONS_DOCUMENT),
            document(super::moved::MOVED_DOCUMENT),
            document(super::release::RELEASED_DOCUMENT),
        );
        self.db_license_problem = None;
        // Its two signatures are checked now, while the keyring answers: the result is kept,
        // and a revocation list learned next forgets it (the license is then checked again).
        if let Ok(Some(text)) = &first.license {
            let _ = self.open_license(text);
        }
        // The database's revocation list first: a license it holds may be signed by a key
        // revoked since. From here on, steps wait for the keyring's answers.
        self.merge_revocations_with_db(&db, revocations).await;
        if let Some(text) = &first.license? {
            match self.open_license(text) {
                Ok(found) => {
                    self.adopt_moved_notice(&db, &found, moved).await;
                    self.adopt_release(&db, &found, released).await;
                    // The database is connected whatever happens to the copy: a cache that
                    // cannot be written (a locked keyring, a folder in its place) is reported
                    // by what reads it, in its own words.
                    if let Err(e) = self.adopt_db_license(&db, &found).await {
                        tracing::warn!(error = %e, "the product database's license was not copied into the cache");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the license stored in the product database is not usable");
                    self.db_license_problem = Some(e.to_string());
                }
            }
        }
        self.db = Some(db);
        match first.clock_mark {
            Ok(stored) => self.sync_clock_mark_with_db(stored, now).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the clock mark from the product database");
            }
        }
        // A license adopted from the database, or a hand-edited seat table, may leave more seats
        // than the license grants.
        let counted = first.seats_held.ok();
        if let Err(e) = self.named_seats().trim_when_over(now, counted).await {
            tracing::warn!(error = %e, "could not trim named seats to the license");
        }
        Ok(())
    }

    /// Copies the product database's license (and its credential) into the cache when this
    /// workstation has none, or an older copy of the same license held at the same place.
    async fn adopt_db_license(
        &self,
        db: &ProductDb,
        found: &VerifiedLicense,
    ) -> Result<(), EngineError> {
        // An unreadable cache (a lost key, tampering) is replaced by the database's copy.
        let cached = self.license().ok().flatten();
        let newer = cached
            .as_ref()
            .is_none_or(|c| c.id != found.id || c.validated_at < found.validated_at);
        let same_place = cached.as_ref().is_none_or(|c| c.binding == found.binding);
        if !(newer && (cached.is_none() || same_place)) {
            return Ok(());
        }
        let secret = db.load_holder_secret(&found.id).await?;
        self.cache.update_or_replace(|data| {
            data.license = Some(found.text().to_owned());
            if let Some(secret) = secret {
                data.credential = Some(HeldCredential {
                    license_id: found.id.clone(),
                    secret,
                });
            }
            Some(())
        })?;
        Ok(())
    }
}
