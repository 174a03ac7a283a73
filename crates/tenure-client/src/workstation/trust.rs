//! Which vendor keys this workstation believes: the roots it was built with (or, in a
//! development build, those added with `trust`), the signing-key certificates they signed, and
//! the revocations they issued. Licenses carry their signer's certificate, so a rotated signing
//! key needs nothing from customers.

use std::fmt;
use std::sync::PoisonError;

use tenure_core::trust::kind_of;
use tenure_core::{DocError, DocKind, KeyId, Trust, TrustedKeys, VerifiedLicense};

use super::{EngineError, Workstation};
use crate::roots::Roots;
use crate::settings::Settings;

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
    /// The roots this build trusts.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Root key ids, then certified signing key ids, for display.
    pub fn trusted_key_ids(&self) -> (Vec<KeyId>, Vec<KeyId>) {
        let trust = self.trust.read().unwrap_or_else(PoisonError::into_inner);
        (
            trust.roots().ids().cloned().collect(),
            trust.certified().map(|(id, _)| id.clone()).collect(),
        )
    }

    /// True when no root is trusted (a development build before `trust`).
    pub fn has_no_roots(&self) -> bool {
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

    fn forget_verified(&self) {
        *self
            .last_verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Adds what a vendor file carries: a signing-key certificate from a trusted root, a root's
    /// revocation list, or — in a development build only — a root public key. Saved in settings.
    pub fn trust(&mut self, text: &str) -> Result<Trusted, EngineError> {
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

    /// Applies a root's revocation list (from a server answer or a file) when it is newer than
    /// the one held, and keeps it in the settings file.
    pub(super) fn learn_revocations(&self, text: &str) -> Result<(), EngineError> {
        let newer = self
            .trust
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .add_revocations(text)
            .map_err(EngineError::Untrusted)?;
        if newer {
            self.forget_verified();
            let path = self.profile.settings_path();
            let mut settings = Settings::load(&path)?;
            settings.revocations = Some(text.to_owned());
            settings.save(&path)?;
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
        *self.trust.write().unwrap_or_else(PoisonError::into_inner) =
            build_trust(&self.roots, &self.settings);
        self.forget_verified();
        Ok(true)
    }

    /// Stops trusting a root added with `trust` (development builds); saved in settings.
    pub fn untrust(&mut self, key_id: &str) -> Result<bool, EngineError> {
        let before = self.settings.trusted_keys.len();
        let kept = self.root_texts_without(&KeyId::from_text(key_id));
        let removed = kept.len() != before;
        self.update_settings(|s| s.trusted_keys = kept)?;
        *self.trust.write().unwrap_or_else(PoisonError::into_inner) =
            build_trust(&self.roots, &self.settings);
        self.forget_verified();
        Ok(removed)
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
