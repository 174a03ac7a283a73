//! Which vendor keys this workstation believes: the roots it was built with (or, in a
//! development build, those added with `trust`), the signing-key certificates they signed, and
//! the revocations they issued. Licenses carry their signer's certificate, so a rotated signing
//! key needs nothing from customers.
//!
//! A revocation list, once seen, is never forgotten: the newest one is kept where the clock
//! mark is — the cache, the product database (`tenure_trust`) and the keyring under an entry
//! every profile of this OS user shares — and a copy is only ever replaced by a list with a
//! higher number. Every license file and server answer carries the latest list, so a
//! workstation learns it with anything the vendor sends.

use std::fmt;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use tenure_core::trust::{Revocations, carried_revocations, kind_of};
use tenure_core::{DocError, DocKind, KeyId, Trust, TrustedKeys, Verified, VerifiedLicense};

use super::{EngineError, Workstation};
use crate::product_db::ProductDb;
use crate::roots::Roots;
use crate::settings::Settings;

/// The product database's copy of the revocation list.
pub(super) const REVOCATIONS_DOCUMENT: &str = "revocations";

/// The keyring's copy of the revocation list signed by root `root_id` (shared by every
/// profile of this OS user, one per vendor root).
fn revocations_secret(root_id: &str) -> String {
    format!("revocations-{root_id}")
}

/// Where a copy of the revocation list is kept on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeptCopy {
    Cache,
    Keyring,
}

/// What a `trust` added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    /// A root (development builds only).
    Root(KeyId),
    /// A signing key, by its certificate from a trusted root.
    Certificate(KeyId),
    /// A root's list of revoked signing keys.
    Revocations {
        /// How many keys it revokes.
        keys: usize,
    },
}

impl fmt::Display for Trusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trusted::Root(id) => write!(f, "trusted vendor root {id}"),
            Trusted::Certificate(id) => {
                write!(f, "trusted signing key {id} (certified by a vendor root)")
            }
            Trusted::Revocations { keys } => {
                write!(
                    f,
                    "applied the vendor's revocation list ({keys} signing keys revoked)"
                )
            }
        }
    }
}

/// The trust a workstation starts with: its roots, then what its settings add.
pub(super) fn build_trust(roots: &Roots, settings: &Settings) -> Trust {
    let mut keys = roots.keys();
    if !roots.is_pinned() {
        for text in &settings.trusted_keys {
            match tenure_core::signed::parse_public_key(text) {
                Ok(key) => {
                    keys.add(key);
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a damaged root in settings"),
            }
        }
    }
    let mut trust = Trust::new(keys);
    // Settings of earlier versions kept the list here; the copies that count are the cache,
    // the product database and the keyring (see `recall_revocations`).
    if let Some(text) = &settings.revocations
        && let Err(e) = trust.add_revocations(text)
    {
        tracing::warn!(error = %e, "ignoring a revocation list in settings");
    }
    for text in &settings.certificates {
        // A certificate from a root this build does not trust is simply not used.
        let _ = trust.add_certificate(text);
    }
    trust
}

impl Workstation {
    /// Root key ids, then certified signing key ids, for display.
    pub(crate) fn trusted_key_ids(&self) -> (Vec<KeyId>, Vec<KeyId>) {
        let trust = self.trust.read().unwrap_or_else(PoisonError::into_inner);
        (
            trust.roots().ids().cloned().collect(),
            trust.certified().map(|(id, _)| id.clone()).collect(),
        )
    }

    /// True when no root is trusted (a development build before `trust`).
    pub(crate) fn has_no_roots(&self) -> bool {
        self.trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .has_no_roots()
    }

    /// Opens a license with the trust in force. The last license verified is remembered by its
    /// exact text, so the hot paths (status, authorize, checkout) do not verify the same bytes
    /// again; any change to the trust forgets it.
    pub(super) fn open_license(&self, text: &str) -> Result<VerifiedLicense, DocError> {
        if let Some(known) = self
            .last_verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|known| known.text() == text)
        {
            return Ok(known.clone());
        }
        self.learn_carried_revocations(text);
        let license = self
            .trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .open_license(text)?;
        *self
            .last_verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(license.clone());
        Ok(license)
    }

    /// Opens a notice that a license moved, with the trust in force.
    pub(super) fn open_moved_notice(
        &self,
        text: &str,
    ) -> Result<Verified<tenure_core::trust::MovedNotice>, DocError> {
        self.learn_carried_revocations(text);
        self.trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .open_moved_notice(text)
    }

    /// Before a document is believed: the lists kept here, then the lists it carries.
    fn learn_carried_revocations(&self, text: &str) {
        self.recall_revocations();
        for list in carried_revocations(text) {
            if let Err(e) = self.learn_revocations(list) {
                tracing::warn!(error = %e, "ignoring a revocation list carried in a file");
            }
        }
    }

    /// The keyring entries of the revocation lists, while this process has not read them.
    pub(super) fn revocations_to_read(&self) -> Vec<String> {
        if self.revocations_recalled.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let trust = self.trust.read().unwrap_or_else(PoisonError::into_inner);
        trust
            .roots()
            .ids()
            .map(|id| revocations_secret(&id.to_string()))
            .collect()
    }

    /// Reads the lists kept in the cache and the keyring (once, until the trust is rebuilt),
    /// holds the newest, and gives it to the copies that are behind.
    fn recall_revocations(&self) {
        if self.revocations_recalled.swap(true, Ordering::SeqCst) {
            return;
        }
        let cached = self.cache.load().ok().and_then(|data| data.revocations);
        let root_ids: Vec<String> = self
            .trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .roots()
            .ids()
            .map(ToString::to_string)
            .collect();
        let mut copies = vec![(KeptCopy::Cache, cached)];
        for id in &root_ids {
            match self.secrets.get_machine(&revocations_secret(id)) {
                Ok(text) => copies.push((KeptCopy::Keyring, text)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the revocation list from the keyring");
                }
            }
        }
        let checked: Vec<(KeptCopy, Option<Verified<Revocations>>)> = {
            let trust = self.trust.read().unwrap_or_else(PoisonError::into_inner);
            copies
                .into_iter()
                .map(|(copy, text)| (copy, text.and_then(|t| trust.check_revocations(&t).ok())))
                .collect()
        };
        for (_, list) in &checked {
            if let Some(list) = list
                && let Err(e) = self.hold_revocations(list.text())
            {
                tracing::warn!(error = %e, "ignoring a revocation list kept here");
            }
        }
        let Some(held) = self.held_revocations() else {
            return;
        };
        let behind = |copy: KeptCopy| {
            checked
                .iter()
                .filter(|(c, _)| *c == copy)
                .all(|(_, list)| list.as_ref().is_none_or(|l| held.supersedes(l)))
        };
        if behind(KeptCopy::Cache) {
            self.keep_revocations_in_cache(held.text());
        }
        if behind(KeptCopy::Keyring) {
            self.keep_revocations_in_keyring(&held);
        }
    }

    /// The list in force.
    fn held_revocations(&self) -> Option<Verified<Revocations>> {
        self.trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .revocations()
            .cloned()
    }

    /// Holds a list if it supersedes the one held; true when it did.
    fn hold_revocations(&self, text: &str) -> Result<bool, EngineError> {
        let newer = self
            .trust
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .add_revocations(text)
            .map_err(EngineError::Untrusted)?;
        if newer {
            self.forget_verified();
        }
        Ok(newer)
    }

    fn keep_revocations_in_cache(&self, text: &str) {
        let kept = self.cache.update(|data| {
            (data.revocations.as_deref() != Some(text)).then(|| {
                data.revocations = Some(text.to_owned());
            })
        });
        if let Err(e) = kept {
            tracing::warn!(error = %e, "cannot keep the revocation list in the cache");
        }
    }

    fn keep_revocations_in_keyring(&self, list: &Verified<Revocations>) {
        if let Err(e) = self
            .secrets
            .set_machine(&revocations_secret(list.key_id()), list.text())
        {
            tracing::warn!(error = %e, "cannot keep the revocation list in the keyring");
        }
    }

    /// Learns the product database's list, and gives it ours when it is behind.
    pub(super) async fn sync_revocations_with_db(&self, db: &ProductDb) {
        match db.load_trust_document(REVOCATIONS_DOCUMENT).await {
            Ok(text) => self.merge_revocations_with_db(db, text.as_deref()).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the revocation list from the product database");
                self.merge_revocations_with_db(db, None).await;
            }
        }
    }

    /// Learns `db_list`, the list the product database holds (read by the caller), and gives
    /// the database ours when it differs.
    pub(super) async fn merge_revocations_with_db(&self, db: &ProductDb, db_list: Option<&str>) {
        self.recall_revocations();
        if let Some(text) = db_list
            && let Err(e) = self.learn_revocations(text)
        {
            tracing::warn!(error = %e, "ignoring the product database's revocation list");
        }
        let Some(held) = self.held_revocations() else {
            return;
        };
        // The database holds this list already: no write statement, so a start never waits
        // for the write lock another process may hold.
        if db_list == Some(held.text()) {
            return;
        }
        let serial = i64::try_from(held.serial).unwrap_or(i64::MAX);
        if let Err(e) = db
            .save_trust_document(REVOCATIONS_DOCUMENT, serial, held.text())
            .await
        {
            tracing::warn!(error = %e, "cannot keep the revocation list in the product database");
        }
    }

    fn forget_verified(&self) {
        *self
            .last_verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Adds what a vendor file carries: a signing-key certificate from a trusted root, a root's
    /// revocation list, or — in a development build only — a root public key. Saved in settings.
    pub(crate) fn trust(&mut self, text: &str) -> Result<Trusted, EngineError> {
        let added = match kind_of(text)? {
            DocKind::PublicKey if self.roots.is_pinned() => {
                return Err(EngineError::RootsPinned);
            }
            DocKind::PublicKey => {
                let key = tenure_core::signed::parse_public_key(text)?;
                let mut one = TrustedKeys::new();
                let id = one.add(key);
                self.trust
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add_root(key);
                let kept = self.root_texts_without(&id);
                let text = text.to_owned();
                self.update_settings(|s| {
                    s.trusted_keys = kept;
                    s.trusted_keys.push(text);
                })?;
                Trusted::Root(id)
            }
            DocKind::Certificate => {
                let id = self
                    .trust
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add_certificate(text)
                    .map_err(EngineError::Untrusted)?;
                let text = text.to_owned();
                self.update_settings(|s| {
                    if !s.certificates.contains(&text) {
                        s.certificates.push(text);
                    }
                })?;
                Trusted::Certificate(id)
            }
            DocKind::Revocation => {
                self.learn_revocations(text)?;
                let keys = self
                    .trust
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .revocations()
                    .map_or(0, |r| r.keys.len());
                Trusted::Revocations { keys }
            }
            other => {
                return Err(EngineError::Document(DocError::WrongKind {
                    expected: "a vendor root key, a signing-key certificate or a revocation list",
                    found: other.noun(),
                }));
            }
        };
        Ok(added)
    }

    /// Applies a root's revocation list (from a server answer or a file) when it supersedes
    /// the one held, and keeps it in the cache and the keyring (the product database gets it
    /// at the next connect or stored license).
    pub(super) fn learn_revocations(&self, text: &str) -> Result<(), EngineError> {
        if self.hold_revocations(text)?
            && let Some(held) = self.held_revocations()
        {
            self.keep_revocations_in_cache(held.text());
            self.keep_revocations_in_keyring(&held);
        }
        Ok(())
    }

    /// Reads the settings file again when another process (the CLI, a second window) changed
    /// it, and rebuilds the trusted keys from it. Returns true when something changed.
    pub fn reload_settings(&mut self) -> Result<bool, EngineError> {
        let on_disk = Settings::load(&self.profile.settings_path())?;
        if on_disk == self.settings {
            return Ok(false);
        }
        self.settings = on_disk;
        self.rebuild_trust();
        Ok(true)
    }

    /// Stops trusting a root added with `trust` (development builds); saved in settings.
    pub(crate) fn untrust(&mut self, key_id: &str) -> Result<bool, EngineError> {
        let before = self.settings.trusted_keys.len();
        let kept = self.root_texts_without(&KeyId::from_text(key_id));
        let removed = kept.len() != before;
        self.update_settings(|s| s.trusted_keys = kept)?;
        self.rebuild_trust();
        Ok(removed)
    }

    /// Trust from the roots and settings again; the revocation lists kept are recalled anew.
    fn rebuild_trust(&self) {
        *self.trust.write().unwrap_or_else(PoisonError::into_inner) =
            build_trust(&self.roots, &self.settings);
        self.revocations_recalled.store(false, Ordering::SeqCst);
        self.forget_verified();
    }

    fn root_texts_without(&self, key_id: &KeyId) -> Vec<String> {
        self.settings
            .trusted_keys
            .iter()
            .filter(|t| {
                tenure_core::signed::parse_public_key(t)
                    .map_or(true, |key| &KeyId::of(&key) != key_id)
            })
            .cloned()
            .collect()
    }
}
