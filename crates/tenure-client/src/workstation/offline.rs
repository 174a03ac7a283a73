//! Offline activation and re-validation by files: export a request, import the vendor's signed
//! answer. Every check runs before anything is stored, so a refused file changes nothing.

use chrono::{DateTime, Duration, Utc};
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{OfflineAsk, OfflineRequest};
use tenure_core::signed::{text_from_bytes, write_unsigned};
use tenure_core::{ActivationMode, Binding, DocKind, LicenseKey, VerifiedLicense};

use super::{EngineError, Report, Workstation, fresh_nonce, new_credential};

/// How far a response's signing time may be ahead of this clock (clocks drift; a response from
/// further ahead means a wrong clock here or a forged time there).
pub const MAX_FUTURE_DRIFT: Duration = Duration::minutes(10);
/// Requests remembered while waiting for their answers: only the latest, so an answer to an
/// older request is refused like a replay.
const MAX_OUTSTANDING: usize = 1;

/// What a request asks for, as the user says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfflineWish {
    /// Activate this key for the database now connected.
    Activate(String),
    /// Validate the license here: restart the grace.
    Validate,
    /// Move the license to the database now connected.
    Rebind(String),
    /// Extend the grace to this many days.
    Extend(u32),
}

/// Why a signed answer file was refused, beyond its signature. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Its nonce is not one this workstation is waiting for.
    #[error(
        "this answer was already imported, or it answers an older request or another workstation's: import the answer to your latest request, or save a new request file and send it"
    )]
    Replay,
    /// For another database.
    #[error(
        "this answer is for {file}, but this workstation is on {here}: it was made for another database"
    )]
    OtherDatabase {
        /// The answer's binding.
        file: Binding,
        /// Ours.
        here: Binding,
    },
    /// The license in it has ended.
    #[error("the license in this answer expired on {0}: ask your vendor for a renewal")]
    Expired(chrono::NaiveDate),
    /// Older than the license this workstation already holds.
    #[error(
        "this answer was signed at {answer}, before the license this workstation already holds ({held}): importing it would lose grace, so it was not"
    )]
    Older {
        /// The answer's validation time.
        answer: DateTime<Utc>,
        /// The held license's.
        held: DateTime<Utc>,
    },
    /// Signed later than this clock allows.
    #[error(
        "this answer was signed at {0}, later than this computer's clock allows: check the date and time here"
    )]
    FromTheFuture(DateTime<Utc>),
}

impl Workstation {
    /// Imports a signed answer file once [`OfflineFiles::check_offline_answer`] accepts it: stored in
    /// the cache, the product database and the audit log; the grace restarts from the answer's
    /// validation time. A refused file changes nothing.
    pub async fn offline_import(
        &mut self,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        // The vendor's answer to a validation by a credential the account replaced: the
        // license moved. Kept once verified; the product stops granting here.
        if let Ok(text) = text_from_bytes(bytes)
            && tenure_core::trust::kind_of(text).is_ok_and(|kind| kind == DocKind::Moved)
        {
            let held = self.license()?.ok_or(EngineError::NotActivated)?;
            let at = self.accept_moved_notice(text, None, &held.id, now).await?;
            return Err(EngineError::Moved { at });
        }
        let license = match self.offline_files().check_offline_answer(bytes, now) {
            Ok(license) => license,
            Err(e) => {
                self.audit("offline import", "refused", &e.to_string(), now)
                    .await;
                return Err(e);
            }
        };
        // The answer is used up: importing it again is a replay. An activation's answer makes
        // the credential made with its request the license's.
        self.cache.update(|data| {
            data.outstanding_nonces.retain(|n| n != &license.nonce);
            if let Some(secret) = data.pending_credential.take() {
                data.credential = Some(crate::cache::HeldCredential {
                    license_id: license.id.clone(),
                    secret,
                });
            }
            Some(())
        })?;
        let seats_trimmed = self
            .store(&license, now, "imported from an offline answer")
            .await?;
        if self.settings.binding.as_ref() != Some(&license.binding) {
            let binding = license.binding.clone();
            self.update_settings(|s| s.binding = Some(binding))?;
        }
        let mut report = self.report(now)?;
        report.seats_trimmed = seats_trimmed;
        Ok(report)
    }

    /// Refuses network requests for a license that is served by files only.
    pub(super) fn require_online_license(&self) -> Result<(), EngineError> {
        match self.license()? {
            Some(l) if l.terms.activation_mode == ActivationMode::Offline => {
                Err(EngineError::OfflineOnly)
            }
            _ => Ok(()),
        }
    }
}

/// Activation and re-validation by files, for sites with no internet: the request file for the
/// vendor, the check of the signed answer, and a copy of the license. A view of the
/// [`Workstation`] (`workstation.offline_files()`); storing an answer is
/// [`Workstation::offline_import`], as storing any license changes the workstation.
#[derive(Clone, Copy)]
pub struct OfflineFiles<'w> {
    ws: &'w Workstation,
}

impl std::ops::Deref for OfflineFiles<'_> {
    type Target = Workstation;

    fn deref(&self) -> &Workstation {
        self.ws
    }
}

impl Workstation {
    /// Request and answer files for this workstation.
    pub fn offline_files(&self) -> OfflineFiles<'_> {
        OfflineFiles { ws: self }
    }
}

impl OfflineFiles<'_> {
    /// Makes an offline request file (armored text) and remembers its nonce.
    pub async fn offline_request(
        &self,
        wish: &OfflineWish,
        now: DateTime<Utc>,
    ) -> Result<String, EngineError> {
        let license = self.license()?;
        let license_id = || {
            license
                .as_ref()
                .map(|l| l.id.clone())
                .ok_or(EngineError::NotActivated)
        };
        let ask = match wish {
            OfflineWish::Activate(key) => OfflineAsk::Activate {
                key: LicenseKey::parse(key)?.digits(),
            },
            OfflineWish::Validate => OfflineAsk::Validate {
                license_id: license_id()?,
            },
            OfflineWish::Rebind(reason) => OfflineAsk::Rebind {
                license_id: license_id()?,
                reason: reason.clone(),
            },
            OfflineWish::Extend(days) => OfflineAsk::Extend {
                license_id: license_id()?,
                days: *days,
            },
        };
        let needs_binding = matches!(wish, OfflineWish::Activate(_) | OfflineWish::Rebind(_));
        let binding = match (self.current_binding(), &license) {
            (Some(binding), _) => binding,
            (None, Some(license)) if !needs_binding => license.binding.clone(),
            _ => return Err(EngineError::NoBinding),
        };
        let nonce = fresh_nonce();
        // An activation registers a new credential; every other ask proves the one held.
        let (holder, pending, proof) = match &ask {
            OfflineAsk::Activate { .. } => {
                let credential = new_credential();
                (Some(credential.public_hex()), Some(credential), None)
            }
            OfflineAsk::Validate { license_id }
            | OfflineAsk::Rebind { license_id, .. }
            | OfflineAsk::Extend { license_id, .. }
            | OfflineAsk::Release { license_id } => {
                let action = match &ask {
                    OfflineAsk::Rebind { .. } => ProofAction::Rebind,
                    OfflineAsk::Extend { .. } => ProofAction::Extend,
                    OfflineAsk::Release { .. } => ProofAction::Release,
                    _ => ProofAction::Validate,
                };
                let credential = self.credential_for(license_id).await?;
                let proof = credential.prove(action, license_id, &binding, &nonce);
                (None, None, Some(proof))
            }
        };
        let request = OfflineRequest {
            ask,
            binding,
            nonce,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: now,
            holder,
            proof,
        };
        let text = write_unsigned(DocKind::Request, &request)?;
        // The cache may be missing (first activation) but not unreadable: a request whose nonce
        // cannot be remembered could never be imported.
        self.cache.update(|data| {
            data.outstanding_nonces.push(request.nonce.clone());
            let excess = data
                .outstanding_nonces
                .len()
                .saturating_sub(MAX_OUTSTANDING);
            data.outstanding_nonces.drain(..excess);
            data.pending_credential = pending.as_ref().map(Credential::secret_hex);
            Some(())
        })?;
        Ok(text)
    }

    /// Checks a signed answer file without storing anything: signature by a trusted key first
    /// (nothing in the file is parsed before), then the nonce, the database, the dates.
    pub fn check_offline_answer(
        &self,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<VerifiedLicense, EngineError> {
        let text = text_from_bytes(bytes)?;
        if self.has_no_roots() {
            return Err(EngineError::NoTrustedKeys);
        }
        let license = self.open_license(text)?;
        if !self
            .cache
            .load()?
            .outstanding_nonces
            .contains(&license.nonce)
        {
            return Err(ImportError::Replay.into());
        }
        if let Some(here) = self.current_binding()
            && !license.binding.matches(&here)
        {
            return Err(ImportError::OtherDatabase {
                file: license.binding.clone(),
                here,
            }
            .into());
        }
        if now >= license.terms.validity.ends_at() {
            return Err(ImportError::Expired(license.terms.validity.expires).into());
        }
        if license.validated_at > now + MAX_FUTURE_DRIFT {
            return Err(ImportError::FromTheFuture(license.validated_at).into());
        }
        if let Some(held) = self.license()?
            && held.id == license.id
            && held.validated_at > license.validated_at
        {
            return Err(ImportError::Older {
                answer: license.validated_at,
                held: held.validated_at,
            }
            .into());
        }
        Ok(license)
    }

    /// The license as received, armored, for a backup or for support.
    pub fn license_file(&self) -> Result<Option<String>, EngineError> {
        Ok(self.cache.load()?.license)
    }
}
