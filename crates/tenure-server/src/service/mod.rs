//! The vendor service: every vendor operation, whichever front-end asks — the vendor CLI, the
//! HTTP API and, later, the console — with the rules and the usage log in one place. The
//! front-ends parse, call and print.
//!
//! [`Vendor`] answers workstations (activate, validate, extend grace, rebind; `licensing.rs`,
//! `validation.rs`) and signs with the server's clock (`signing.rs`). Its views hold the
//! vendor staff's operations, each recording its event: [`Vendor::accounts`],
//! [`Vendor::licenses`] and [`Vendor::offline`]. Keys and revocations are files the offline root
//! signs (the `keys` and `signed_files` modules).

mod accounts;
mod licenses;
mod licensing;
mod offline;
mod portal;
mod portal_users;
mod signing;
mod staff;
mod usage;
mod validation;
mod webhooks;

pub use accounts::Accounts;
pub use licenses::{LicenseDetail, LicensePage, Licenses, ListedLicense, PAGE_SIZE};
pub use offline::{OfflineAnswer, OfflineAnswers, Released};
pub use portal::{Portal, PortalSession, PortalSignIn};
pub use staff::{MIN_PASSWORD_CHARS, Role, SESSION_HOURS, SignedIn, Staff, StaffSession};
pub use usage::{EVENTS_PER_PAGE, MAX_USAGE_DAYS};
pub use webhooks::{AddedWebhook, Event, Webhooks};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use tenure_core::possession::ProofAction;
use tenure_core::protocol::{CheckFields as _, limits};
use tenure_core::trust::KeyCertificate;
use tenure_core::{ActivationMode, Binding, VendorKey};

use crate::refusals::Refusals;
use crate::store::{LicenseRow, Store, StoreError};
use validation::CachedRow;

/// The server's clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Who activates: a stranger holding a key, the license's account (signed in), or the
/// vendor's staff standing in for the account (an offline request they confirmed).
#[derive(Debug, Clone, Copy)]
pub(super) enum Caller<'a> {
    /// No account credentials.
    Anyone,
    /// Signed in as this account.
    Account(&'a str),
    /// Vendor staff re-activating for the account (`offline sign --reactivate`).
    Staff,
}

impl Caller<'_> {
    pub(super) fn owns(self, row: &LicenseRow) -> bool {
        match self {
            Caller::Anyone => false,
            Caller::Account(account) => account == row.account,
            Caller::Staff => true,
        }
    }
}

/// How a request reached the vendor: an offline-only license is served by files only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    /// Over the network from the workstation.
    Online,
    /// A request file signed by the vendor's staff.
    File,
}

/// Why a request was refused. Each maps to one HTTP status in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum Denial {
    /// The request breaks a rule: a key whose check digit is wrong, terms that end before
    /// they start, a request file that is not one. (Over HTTP, a body that breaks its schema's
    /// limits is refused with 400 before it gets here; these are answered 422.)
    #[error("{0}")]
    Invalid(String),
    /// No such key or license.
    #[error("{0}")]
    NotFound(String),
    /// Missing or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Known, but not allowed (revoked, expired, offline-only, over a cap).
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Sentence for people.
        message: String,
    },
    /// In conflict with the license's state (bound elsewhere, name taken).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Sentence for people.
        message: String,
    },
    /// The license's credential was replaced by the account activating it elsewhere: the
    /// caller proved the credential it replaced, and gets the server's signed notice.
    #[error("{message}")]
    Moved {
        /// Sentence for people.
        message: String,
        /// The signed `TENURE LICENSE MOVED` document.
        notice: String,
    },
    /// The server cannot answer now (its signing key's certificate has ended).
    #[error("{message}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// Sentence for people.
        message: String,
    },
    /// Storage failed; details are logged, not sent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed; details are logged, not sent.
    #[error("could not sign the license: {0}")]
    Sign(String),
    /// Too many attempts of one kind (sign-ins for one name): wait, then try again.
    #[error("{0}")]
    TooMany(String),
    /// Something that should not fail did (a password hash could not be made); details are
    /// logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The vendor service.
#[derive(Clone)]
pub struct Vendor {
    store: Store,
    /// Hashes license keys for storage and lookup.
    hasher: Arc<crate::keyhash::KeyHasher>,
    /// Licenses as last read for a validation (see `validate_by`).
    rows: Arc<std::sync::RwLock<std::collections::HashMap<String, Arc<CachedRow>>>>,
    key: Arc<VendorKey>,
    /// The signing key's certificate from a vendor root, sent after every license.
    certificate: Option<Arc<str>>,
    /// What that certificate allows: the dates this key may sign within and the longest grace
    /// it may give. Nothing is signed outside them (workstations would refuse it).
    certificate_terms: Option<Arc<KeyCertificate>>,
    /// Refused requests, counted in memory and written once a minute.
    refusals: Arc<Refusals>,
    /// The key the database names as current, when it is not this instance's: then this
    /// instance signs nothing (two keys must never serve one deployment).
    replaced_by: Arc<std::sync::Mutex<Option<String>>>,
    /// The root's latest list of revoked signing keys, sent with every answer.
    revocations: Option<Arc<str>>,
    /// Console sign-in attempts per staff name.
    sign_ins: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// The webhooks this instance read last (see `webhooks.rs`).
    subscriptions: Arc<webhooks::Subscriptions>,
    /// The wait after a webhook delivery's first failed try (it doubles from there).
    webhook_retry: std::time::Duration,
    clock: Clock,
}

/// The one answer an activation gives a caller who is not the license's account, whatever
/// the reason (no such key, activated already, revoked, expired, files only): a stranger
/// holding a key learns neither where it is bound nor whether it exists.
pub const CANNOT_ACTIVATE: &str = "this key cannot be activated here. Check the key on your license letter; a key already in use is activated again only by its account (sign in first); some licenses are activated by files only (Offline screen)";

pub(super) fn cannot_activate() -> Denial {
    Denial::Forbidden {
        code: "cannot_activate",
        message: CANNOT_ACTIVATE.into(),
    }
}

/// The one answer for a request about a license that does not prove possession of its
/// activation credential, or names no license: nothing about the license is disclosed.
pub(super) fn no_proof() -> Denial {
    Denial::Unauthorized(
        "this workstation could not prove it holds the license's activation credential: validate from a workstation on the license's product database, or activate the license again with its key while signed in to the account".into(),
    )
}

/// The usage log's name for a request proved by the holder.
pub(super) fn action_kind(action: ProofAction) -> &'static str {
    match action {
        ProofAction::Validate => "validation",
        ProofAction::Extend => "grace_extension",
        ProofAction::Rebind => "rebind",
        ProofAction::Release => "release",
    }
}

/// SHA-256 of a bearer token, in hex: tokens are stored hashed.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(super) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Refuses text that breaks the one rule of names (no control or invisible formatting
/// characters — NUL among them, which PostgreSQL cannot store — nor spaces at the ends;
/// `tenure_core::text`), so both stores answer the same and an admin reads what was sent. The
/// HTTP API checks every field so before the service sees it; request files and the CLI reach
/// these directly.
pub(super) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), Denial> {
    tenure_core::text::check_name(field, value, max).map_err(|e| Denial::Invalid(e.to_string()))
}

pub(super) fn check_nonce(nonce: &str) -> Result<(), Denial> {
    tenure_core::text::check_free_text("nonce", nonce, 1, limits::NONCE_CHARS)
        .map_err(|e| Denial::Invalid(e.to_string()))
}

pub(super) fn check_binding(binding: &Binding) -> Result<(), Denial> {
    binding
        .check_fields()
        .map_err(|e| Denial::Invalid(e.to_string()))
}

impl Vendor {
    /// A service over a store, signing with `key`.
    pub fn new(store: Store, key: VendorKey, clock: Clock) -> Self {
        Self {
            store,
            key: Arc::new(key),
            hasher: Arc::new(crate::keyhash::KeyHasher::random()),
            rows: Arc::default(),
            certificate: None,
            certificate_terms: None,
            revocations: None,
            refusals: Arc::default(),
            replaced_by: Arc::default(),
            sign_ins: staff::sign_in_limiter(),
            subscriptions: Arc::default(),
            webhook_retry: std::time::Duration::from_secs(30),
            clock,
        }
    }

    /// Sends `certificate` (the signing key's, from a vendor root) after every license, and
    /// `revocations` (the root's list) with every answer.
    #[must_use]
    pub fn with_trust_documents(
        mut self,
        certificate: Option<String>,
        revocations: Option<String>,
    ) -> Self {
        self.certificate_terms = certificate.as_deref().and_then(|text| {
            KeyCertificate::read_unverified(text)
                .inspect_err(
                    |e| tracing::error!(error = %e, "the signing key's certificate cannot be read"),
                )
                .ok()
                .map(Arc::new)
        });
        self.certificate = certificate.map(Into::into);
        self.revocations = revocations.map(Into::into);
        self
    }

    /// Sends `revocations` (the root's list) with every answer.
    #[must_use]
    pub fn with_revocations(mut self, revocations: Option<String>) -> Self {
        self.revocations = revocations.map(Into::into);
        self
    }

    /// Hashes license keys with `hasher` (the deployment's secret; a random one by default).
    #[must_use]
    pub fn with_key_hasher(mut self, hasher: crate::keyhash::KeyHasher) -> Self {
        self.hasher = Arc::new(hasher);
        self
    }

    /// Waits `first` after a webhook delivery's first failed try (doubling from there; 30 s by
    /// default).
    #[must_use]
    #[cfg(feature = "sandbox")]
    pub(crate) fn with_webhook_retry(mut self, first: std::time::Duration) -> Self {
        self.webhook_retry = first;
        self
    }

    /// The wait after a webhook delivery's first failed try.
    pub(crate) fn webhook_retry(&self) -> std::time::Duration {
        self.webhook_retry
    }

    /// The signing key's certificate, if it has one.
    pub fn certificate(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// What the signing key's certificate allows, if it has one.
    pub fn certificate_terms(&self) -> Option<&KeyCertificate> {
        self.certificate_terms.as_deref()
    }

    /// The root's revocation list, if any.
    pub fn revocations(&self) -> Option<&str> {
        self.revocations.as_deref()
    }

    /// The signing key.
    pub fn key(&self) -> &VendorKey {
        &self.key
    }

    /// The server clock now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The store (for this crate's own plumbing: health probes, the CLI's start-up checks).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Accounts: create, rotate a token, disable, authenticate, and an account's licenses.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts {
            vendor: self,
            by: None,
        }
    }

    /// Licenses: create, list, revoke.
    pub fn licenses(&self) -> Licenses<'_> {
        Licenses { vendor: self }
    }

    /// The vendor's staff: added, signed in to the console, signed out.
    pub fn staff(&self) -> Staff<'_> {
        Staff { vendor: self }
    }

    /// Offline request files answered by the vendor's staff.
    pub fn offline(&self) -> OfflineAnswers<'_> {
        OfflineAnswers { vendor: self }
    }

    /// The customer portal's sessions.
    pub fn portal(&self) -> Portal<'_> {
        Portal { vendor: self }
    }

    /// The most grace days this server may sign: its certificate's bound.
    pub(super) fn grace_bound(&self) -> u32 {
        self.certificate_terms
            .as_ref()
            .map_or(u32::MAX, |c| c.max_grace_days)
    }

    /// Writes the refusals counted since the last call (see [`crate::refusals`]).
    pub async fn flush_refusals(&self) {
        let written = self.refusals.flush(&self.store, self.now()).await;
        for row in written {
            if let (Some(license_id), "validation") = (row.license_id, row.kind.as_str()) {
                let data = serde_json::json!({
                    "license_id": license_id,
                    "reason": row.outcome,
                    "count": row.detail,
                });
                self.emit(Event::ValidationRefused, data, None).await;
            }
        }
    }

    /// Writes the refusals counted, every minute, in the background.
    pub fn spawn_refusal_flush(&self) {
        let vendor = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::refusals::FLUSH_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                vendor.flush_refusals().await;
            }
        });
    }

    /// The key the database names as the deployment's current one, when it is not this
    /// instance's (which then signs nothing).
    pub fn replaced_by(&self) -> Option<String> {
        self.replaced_by
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads which key the database names as current, and stops (or resumes) signing when it
    /// is not (or is again) this instance's.
    pub async fn check_key_is_current(&self) -> Result<(), StoreError> {
        let mine = self.key.key_id().to_string();
        let current = self.store.current_signing_key().await?.map(|(id, _)| id);
        let replaced = current.filter(|id| *id != mine);
        let mut held = self
            .replaced_by
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *held != replaced {
            match &replaced {
                Some(other) => tracing::error!(
                    current = %other,
                    mine = %mine,
                    "the database's current signing key is no longer this instance's: it signs nothing until restarted with the current key"
                ),
                None => {
                    tracing::warn!(key_id = %mine, "this instance's signing key is current again: signing");
                }
            }
            held.clone_from(&replaced);
        }
        Ok(())
    }

    /// Checks every `every` that this instance's key is still the deployment's current one.
    pub fn spawn_key_watch(&self, every: std::time::Duration) {
        let vendor = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = vendor.check_key_is_current().await {
                    tracing::debug!(error = %e, "cannot read the current signing key");
                }
            }
        });
    }

    pub(super) fn refused(
        &self,
        license_id: Option<&str>,
        kind: &'static str,
        outcome: &'static str,
    ) {
        self.refusals.count(license_id, kind, outcome);
    }

    pub(super) async fn find(&self, license_id: &str) -> Result<LicenseRow, Denial> {
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        self.store
            .license_by_id(license_id)
            .await?
            .ok_or_else(|| Denial::NotFound(format!("no license has the id {license_id:?}")))
    }

    pub(super) async fn find_owned(
        &self,
        account: &str,
        license_id: &str,
    ) -> Result<LicenseRow, Denial> {
        let row = self.find(license_id).await?;
        if row.account != account {
            // Same answer as a missing license: do not reveal other accounts' licenses.
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}"
            )));
        }
        Ok(row)
    }

    pub(super) fn check_usable(
        row: &LicenseRow,
        now: DateTime<Utc>,
        channel: Channel,
    ) -> Result<(), Denial> {
        if row.revoked {
            return Err(Denial::Forbidden {
                code: "revoked",
                message: "this license has been revoked: contact your vendor".into(),
            });
        }
        if now >= row.terms.validity.ends_at() {
            return Err(Denial::Forbidden {
                code: "expired",
                message: format!(
                    "this license expired on {}: contact your vendor for a renewal",
                    row.terms.validity.expires
                ),
            });
        }
        if channel == Channel::Online && row.terms.activation_mode == ActivationMode::Offline {
            return Err(Denial::Forbidden {
                code: "offline_only",
                message: "this license is activated by files only: export a request file and send it to your vendor".into(),
            });
        }
        Ok(())
    }

    /// Records a staff operation in the usage log (`detail` in the server's words).
    pub(crate) async fn record(
        &self,
        license_id: Option<&str>,
        kind: &str,
        outcome: &str,
        detail: &str,
    ) {
        if let Err(e) = self
            .store
            .log_event(license_id, kind, outcome, detail, self.now())
            .await
        {
            tracing::warn!(error = %e, "could not write the usage log");
        }
    }

    /// Logs to the usage table; a logging failure never fails the request (it is traced). An
    /// activation, a move or a release is owed to the webhooks that hear it, in the background.
    pub(super) async fn log(
        &self,
        license_id: &str,
        kind: &str,
        outcome: &str,
        binding: &Binding,
        now: DateTime<Utc>,
    ) {
        if let Err(e) = self
            .store
            .log_event(Some(license_id), kind, outcome, &binding.to_string(), now)
            .await
        {
            tracing::warn!(error = %e, "could not write the usage log");
        }
        let event = match (kind, outcome) {
            ("activation", ok) if ok.starts_with("ok") => Event::LicenseActivated,
            ("rebind" | "release", "ok") => Event::LicenseMoved,
            _ => return,
        };
        let data = serde_json::json!({
            "license_id": license_id,
            "what": kind,
            "server": binding.server,
            "database": binding.database,
        });
        self.emit_later(event, data, None);
    }
}
