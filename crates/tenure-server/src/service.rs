//! The vendor's rules, shared by the HTTP API and the vendor CLI: create accounts and licenses,
//! activate, validate, extend grace, rebind. Each answer that grants something is a freshly
//! signed license stamped with the server's clock.

use std::sync::Arc;

use chrono::{DateTime, Days, Duration, Utc};
use sha2::{Digest as _, Sha256};
use tenure_core::license::{EncodedTerms, LicenseToSign};
use tenure_core::possession::{
    ProofAction, decode_public, is_public_key, verify_proof, verify_proof_with,
};
use tenure_core::protocol::{
    AccountLicense, CheckFields as _, CreateLicenseResponse, OfflineAsk, OfflineRequest, limits,
};
use tenure_core::trust::{KeyCertificate, MovedNotice, bundle_all};
use tenure_core::{ActivationMode, Binding, DocKind, LicenseKey, LicenseTerms, VendorKey};

use crate::refusals::Refusals;

use crate::store::{EventRow, LicenseRow, RebindRow, Stamp, Stamped, Store, StoreError, new_id};

/// The server's clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Who activates: a stranger holding a key, the license's account (signed in), or the
/// vendor's staff standing in for the account (an offline request they confirmed).
#[derive(Debug, Clone, Copy)]
enum Caller<'a> {
    /// No account credentials.
    Anyone,
    /// Signed in as this account.
    Account(&'a str),
    /// Vendor staff re-activating for the account (`offline sign --reactivate`).
    Staff,
}

impl Caller<'_> {
    fn owns(self, row: &LicenseRow) -> bool {
        match self {
            Caller::Anyone => false,
            Caller::Account(account) => account == row.account,
            Caller::Staff => true,
        }
    }
}

/// How a request reached the vendor: an offline-only license is served by files only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
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
}

/// Licenses kept in memory for validations, at most.
const ROW_CACHE_MAX: usize = 100_000;

/// True when `proof` is the license holder's signature over this request.
fn proof_holds(
    row: &LicenseRow,
    action: ProofAction,
    binding: &Binding,
    nonce: &str,
    proof: &str,
) -> bool {
    row.holder_key
        .as_deref()
        .is_some_and(|holder| verify_proof(holder, proof, action, &row.id, binding, nonce))
}

/// A license kept for validations, with its holder's key decoded and its terms encoded once.
struct CachedRow {
    row: LicenseRow,
    holder: Option<ed25519_dalek::VerifyingKey>,
    /// `None` if they could not be (then each answer encodes them, and says why if it fails).
    terms: Option<EncodedTerms>,
}

fn encode_terms(terms: &LicenseTerms) -> Result<EncodedTerms, Denial> {
    EncodedTerms::new(terms).map_err(|e| Denial::Sign(e.to_string()))
}

impl CachedRow {
    fn proof_holds(&self, binding: &Binding, nonce: &str, proof: &str) -> bool {
        self.holder.as_ref().is_some_and(|key| {
            verify_proof_with(
                key,
                proof,
                ProofAction::Validate,
                &self.row.id,
                binding,
                nonce,
            )
        })
    }
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
    clock: Clock,
}

/// The one answer an activation gives a caller who is not the license's account, whatever
/// the reason (no such key, activated already, revoked, expired, files only): a stranger
/// holding a key learns neither where it is bound nor whether it exists.
pub const CANNOT_ACTIVATE: &str = "this key cannot be activated here. Check the key on your license letter; a key already in use is activated again only by its account (sign in first); some licenses are activated by files only (Offline screen)";

fn cannot_activate() -> Denial {
    Denial::Forbidden {
        code: "cannot_activate",
        message: CANNOT_ACTIVATE.into(),
    }
}

/// The one answer for a request about a license that does not prove possession of its
/// activation credential, or names no license: nothing about the license is disclosed.
fn no_proof() -> Denial {
    Denial::Unauthorized(
        "this workstation could not prove it holds the license's activation credential: validate from a workstation on the license's product database, or activate the license again with its key while signed in to the account".into(),
    )
}

/// The public half of a credential no license has: a proof for an unknown license is checked
/// against it, so it costs what a wrong proof for a real license costs.
static UNKNOWN_HOLDER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    tenure_core::possession::Credential::from_secret([7; 32]).public_hex()
});

/// The usage log's name for a request proved by the holder.
fn action_kind(action: ProofAction) -> &'static str {
    match action {
        ProofAction::Validate => "validation",
        ProofAction::Extend => "grace_extension",
        ProofAction::Rebind => "rebind",
    }
}

fn read_request(text: &str) -> Result<OfflineRequest, Denial> {
    tenure_core::signed::read_unsigned(text, DocKind::Request)
        .map_err(|e| Denial::Invalid(format!("the request file was refused: {e}")))
}

fn request_holder(request: &OfflineRequest) -> Result<&str, Denial> {
    request.holder.as_deref().ok_or_else(|| {
        Denial::Invalid(
            "the request carries no activation credential: make a new request with this version of Tenure".into(),
        )
    })
}

/// SHA-256 of a bearer token, in hex: tokens are stored hashed.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Refuses text that breaks the one rule of names (no control or invisible formatting
/// characters — NUL among them, which PostgreSQL cannot store — nor spaces at the ends;
/// `tenure_core::text`), so both stores answer the same and an admin reads what was sent. The
/// HTTP API checks every field so before the service sees it; request files and the CLI reach
/// these directly.
fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), Denial> {
    tenure_core::text::check_name(field, value, max).map_err(|e| Denial::Invalid(e.to_string()))
}

fn check_nonce(nonce: &str) -> Result<(), Denial> {
    tenure_core::text::check_free_text("nonce", nonce, 1, limits::NONCE_CHARS)
        .map_err(|e| Denial::Invalid(e.to_string()))
}

fn check_binding(binding: &Binding) -> Result<(), Denial> {
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

    /// What the signing key's certificate allows, if it has one.
    pub fn certificate_terms(&self) -> Option<&KeyCertificate> {
        self.certificate_terms.as_deref()
    }

    /// The most grace days this server may sign: its certificate's bound.
    fn grace_bound(&self) -> u32 {
        self.certificate_terms
            .as_ref()
            .map_or(u32::MAX, |c| c.max_grace_days)
    }

    /// Writes the refusals counted since the last call (see [`crate::refusals`]).
    pub async fn flush_refusals(&self) {
        self.refusals.flush(&self.store, self.now()).await;
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

    fn refused(&self, license_id: Option<&str>, kind: &'static str, outcome: &'static str) {
        self.refusals.count(license_id, kind, outcome);
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

    /// The signing key's certificate, if it has one.
    pub fn certificate(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// The root's revocation list, if any.
    pub fn revocations(&self) -> Option<&str> {
        self.revocations.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The signing key.
    pub fn key(&self) -> &VendorKey {
        &self.key
    }

    /// The server clock now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Creates an account; returns its token (shown once, stored hashed).
    pub async fn create_account(&self, name: &str) -> Result<String, Denial> {
        check_text("account name", name, limits::ACCOUNT_NAME_CHARS)?;
        let token = random_token("tnr_");
        if !self
            .store
            .insert_account(name, &token_sha256(&token), self.now())
            .await?
        {
            return Err(Denial::Conflict {
                code: "account_exists",
                message: format!("an account named {name:?} exists already"),
            });
        }
        Ok(token)
    }

    /// Gives an account a new token (shown once); the old one is refused from now on. A
    /// disabled account is enabled again.
    pub async fn rotate_account_token(&self, name: &str) -> Result<String, Denial> {
        let token = random_token("tnr_");
        if self
            .store
            .set_account_token(name, &token_sha256(&token))
            .await?
        {
            Ok(token)
        } else {
            Err(Denial::NotFound(format!(
                "there is no account named {name:?}"
            )))
        }
    }

    /// Disables an account: its token is refused from now on (rotate it to enable it again).
    pub async fn disable_account(&self, name: &str) -> Result<(), Denial> {
        if self.store.disable_account(name).await? {
            Ok(())
        } else {
            Err(Denial::NotFound(format!(
                "there is no account named {name:?}"
            )))
        }
    }

    /// Checks an account token; returns the account name it belongs to.
    pub async fn authenticate_account(&self, account: &str, token: &str) -> Result<(), Denial> {
        if check_text("account name", account, limits::ACCOUNT_NAME_CHARS).is_err() {
            return Err(Denial::Unauthorized(
                "the account name or token is wrong: sign in again with the account's token".into(),
            ));
        }
        let stored = self.store.account(account).await?;
        match stored {
            Some((hash, false)) if hash == token_sha256(token) => Ok(()),
            _ => Err(Denial::Unauthorized(
                "the account name or token is wrong: sign in again with the account's token".into(),
            )),
        }
    }

    /// Creates a license for an account; returns its id and key.
    pub async fn create_license(
        &self,
        account: &str,
        terms: &LicenseTerms,
    ) -> Result<CreateLicenseResponse, Denial> {
        terms.check().map_err(|e| Denial::Invalid(e.to_string()))?;
        let bound = self.grace_bound();
        if terms.max_grace_days > bound {
            return Err(Denial::Invalid(format!(
                "this server's signing key may give at most {bound} days of offline grace (its certificate's bound), and the license asks for up to {}: lower the most grace days to {bound} or fewer, or certify the key for more (tenure-server key certify --max-grace-days)",
                terms.max_grace_days
            )));
        }
        check_text("account name", account, limits::ACCOUNT_NAME_CHARS)?;
        terms
            .check_fields()
            .map_err(|e| Denial::Invalid(e.to_string()))?;
        if self.store.account(account).await?.is_none() {
            return Err(Denial::NotFound(format!(
                "there is no account named {account:?}: create it first (tenure-server account create NAME)"
            )));
        }
        // 10^12 keys: a collision is rare, and the UNIQUE constraint catches it; draw again.
        for _ in 0..8 {
            let mut random = [0u8; 12];
            let _ = getrandom::fill(&mut random);
            let key = LicenseKey::from_random_digits(random);
            let id = new_id("lic");
            if self
                .store
                .insert_license(
                    &id,
                    &self.hasher.hash(&key.digits()),
                    &crate::keyhash::last4(&key.digits()),
                    account,
                    terms,
                    self.now(),
                )
                .await?
            {
                return Ok(CreateLicenseResponse {
                    id,
                    key: key.to_string(),
                });
            }
        }
        Err(Denial::Sign("could not draw an unused license key".into()))
    }

    /// Licenses owned by an account.
    pub async fn account_licenses(&self, account: &str) -> Result<Vec<AccountLicense>, Denial> {
        let rows = self.store.list_licenses(Some(account)).await?;
        let since = self.now() - Duration::days(30);
        let mut licenses = Vec::with_capacity(rows.len());
        for row in rows {
            let used = self.store.rebinds_since(&row.id, since).await?.len();
            let limit = row.terms.max_rebinds_per_30_days;
            let mut license = account_license(row);
            license.rebinds_left =
                Some(limit.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)));
            licenses.push(license);
        }
        Ok(licenses)
    }

    /// Reads an offline request file's text and answers it (see [`Self::answer_offline`]).
    pub async fn answer_offline_text(&self, text: &str) -> Result<String, Denial> {
        self.answer_offline(&read_request(text)?).await
    }

    /// Answers an offline activation request for a key already activated, standing in for the
    /// license's account once staff confirmed with it: the credential is replaced and, for
    /// another database, it counts as a move (within the license's limit). Audited.
    pub async fn reactivate_offline_text(&self, text: &str) -> Result<String, Denial> {
        let request = read_request(text)?;
        let OfflineAsk::Activate { key } = &request.ask else {
            return Err(Denial::Invalid(
                "--reactivate answers activation requests only; answer this request without it"
                    .into(),
            ));
        };
        let holder = request_holder(&request)?;
        self.activate_by(
            key,
            &request.binding,
            &request.nonce,
            holder,
            Caller::Staff,
            Channel::File,
        )
        .await
    }

    /// Answers an offline request file by the same rules as online (key state, rebind limits,
    /// grace caps): a signed license echoing the request's nonce. The vendor's staff stand in
    /// for the account, so no account token is asked for.
    pub async fn answer_offline(&self, request: &OfflineRequest) -> Result<String, Denial> {
        let (binding, nonce) = (&request.binding, request.nonce.as_str());
        let proof = request.proof.as_deref().unwrap_or_default();
        match &request.ask {
            OfflineAsk::Activate { key } => {
                let holder = request_holder(request)?;
                self.activate_by(key, binding, nonce, holder, Caller::Anyone, Channel::File)
                    .await
            }
            OfflineAsk::Validate { license_id } => {
                match self
                    .validate_by(license_id, binding, nonce, proof, Channel::File)
                    .await
                {
                    // The answer file is the signed notice: imported, it stops the license
                    // at the site it moved from.
                    Err(Denial::Moved { notice, .. }) => Ok(notice),
                    answer => answer,
                }
            }
            OfflineAsk::Extend { license_id, days } => {
                let row = self
                    .proven(license_id, ProofAction::Extend, binding, nonce, proof)
                    .await?;
                self.extend_grace_of(row, binding, *days, nonce, Channel::File)
                    .await
            }
            OfflineAsk::Rebind { license_id, reason } => {
                let row = self
                    .proven(license_id, ProofAction::Rebind, binding, nonce, proof)
                    .await?;
                self.rebind_of(row, binding, reason, nonce, None, Channel::File)
                    .await
            }
        }
    }

    /// Activates a license by key for a binding, registering the holder's credential. An
    /// activated key is activated again only by its own `account` (signed in): that replaces
    /// the credential and, for another binding, counts as a rebind.
    pub async fn activate(
        &self,
        key_text: &str,
        binding: &Binding,
        nonce: &str,
        holder: &str,
        account: Option<&str>,
    ) -> Result<String, Denial> {
        let caller = account.map_or(Caller::Anyone, Caller::Account);
        self.activate_by(key_text, binding, nonce, holder, caller, Channel::Online)
            .await
    }

    /// Every refusal to a caller who is not the account takes the same path: one read, a
    /// count in memory, the same answer — whether the key is unknown, in use, revoked, expired
    /// or served by files only. Nothing is written before the answer.
    async fn activate_by(
        &self,
        key_text: &str,
        binding: &Binding,
        nonce: &str,
        holder: &str,
        caller: Caller<'_>,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        if !is_public_key(holder) {
            return Err(Denial::Invalid(
                "the activation credential is not an Ed25519 public key in hex".into(),
            ));
        }
        let key = LicenseKey::parse(key_text).map_err(|e| Denial::Invalid(e.to_string()))?;
        let now = self.now();
        let Some(row) = self
            .store
            .license_by_key(&self.hasher.hash(&key.digits()))
            .await?
        else {
            self.refused(None, "activation", "refused_unknown_key");
            return Err(cannot_activate());
        };
        let owner = caller.owns(&row);
        if let Err(refusal) = Self::check_usable(&row, now, channel) {
            self.refused(Some(&row.id), "activation", "refused_unusable");
            return Err(if owner { refusal } else { cannot_activate() });
        }
        if row.binding.is_none()
            && self
                .store
                .bind_if_free(&row.id, binding, holder, now)
                .await?
        {
            self.log(&row.id, "activation", "ok", binding, now).await;
            return self.sign(&row, binding, now, nonce);
        }
        if !owner {
            self.refused(Some(&row.id), "activation", "refused_activated");
            return Err(cannot_activate());
        }
        let outcome = if matches!(caller, Caller::Staff) {
            "ok_reactivated_by_staff"
        } else {
            "ok_reactivated"
        };
        // The account activates its own key again: a new credential, and a move if elsewhere.
        let row = self.find(&row.id).await?;
        if row.binding.as_ref() == Some(binding) {
            if !self
                .store
                .replace_holder(&row.id, binding, holder, now)
                .await?
            {
                return Err(self.moved(&row.id).await);
            }
            self.log(&row.id, "activation", outcome, binding, now).await;
            return self.sign(&row, binding, now, nonce);
        }
        let answer = self
            .rebind_of(
                row.clone(),
                binding,
                "activated again by the account",
                nonce,
                Some(holder),
                channel,
            )
            .await?;
        self.log(&row.id, "activation", outcome, binding, now).await;
        Ok(answer)
    }

    /// Validates a license: a fresh signed license, grace restarted. The request must be signed
    /// by the license's activation credential.
    pub async fn validate(
        &self,
        license_id: &str,
        binding: &Binding,
        nonce: &str,
        proof: &str,
    ) -> Result<String, Denial> {
        self.validate_by(license_id, binding, nonce, proof, Channel::Online)
            .await
    }

    async fn validate_by(
        &self,
        license_id: &str,
        binding: &Binding,
        nonce: &str,
        proof: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        // Fast path: judged on the license as last read, then stamped by a write that checks
        // again what may have changed since (binding, holder, revocation). Only when that write
        // finds a change is the license read afresh.
        if let Some(cached) = self.cached(license_id)
            && cached.row.binding.as_ref() == Some(binding)
            && Self::check_usable(&cached.row, self.now(), channel).is_ok()
            && cached.proof_holds(binding, nonce, proof)
        {
            if let Some(answer) = self
                .stamp_and_sign(&cached.row, cached.terms.as_ref(), binding, nonce)
                .await?
            {
                return Ok(answer);
            }
            self.forget(license_id);
        }
        let row = self
            .proven(license_id, ProofAction::Validate, binding, nonce, proof)
            .await?;
        self.validate_row(&row, binding, nonce, channel).await
    }

    /// The license as last read for a validation, if any.
    fn cached(&self, license_id: &str) -> Option<Arc<CachedRow>> {
        self.rows
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(license_id)
            .cloned()
    }

    fn remember(&self, row: &LicenseRow) {
        // Decoded and encoded before the lock is taken: validations read the cache meanwhile.
        let cached = Arc::new(CachedRow {
            row: row.clone(),
            holder: row.holder_key.as_deref().and_then(decode_public),
            terms: EncodedTerms::new(&row.terms).ok(),
        });
        let mut rows = self
            .rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rows.len() >= ROW_CACHE_MAX {
            rows.clear();
        }
        rows.insert(row.id.clone(), cached);
    }

    fn forget(&self, license_id: &str) {
        self.rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(license_id);
    }

    /// Stamps the validation (batched, durable) and signs the answer; `None` when the license
    /// changed under the request (moved, re-activated, revoked).
    /// `terms`: the row's terms encoded already (a cached row keeps them), if they are.
    async fn stamp_and_sign(
        &self,
        row: &LicenseRow,
        terms: Option<&EncodedTerms>,
        binding: &Binding,
        nonce: &str,
    ) -> Result<Option<String>, Denial> {
        let now = self.now();
        let stamp = Stamp {
            license_id: row.id.clone(),
            binding: binding.clone(),
            holder: row.holder_key.clone().unwrap_or_default(),
            at: now,
        };
        let event = EventRow {
            license_id: Some(row.id.clone()),
            kind: "validation".into(),
            outcome: "ok".into(),
            detail: binding.to_string(),
            at: now,
        };
        // Signed before the commit, so the signing fills the time the batch spends on its
        // flush instead of following it; sent only once the stamp and its log line are
        // committed (group commit), and signed again if the commit found another grace
        // extension in force (granted here or by another instance since the row was read).
        let signed = self.sign_with(row, terms, row.grace_extended_until, binding, now, nonce)?;
        match self.store.record_validation(stamp, event).await? {
            Stamped::Yes {
                grace_extended_until,
            } if grace_extended_until == row.grace_extended_until => Ok(Some(signed)),
            Stamped::Yes {
                grace_extended_until,
            } => {
                // The row kept for validations learns the extension, so the license's next
                // validations sign once again.
                let fresh = LicenseRow {
                    grace_extended_until,
                    ..row.clone()
                };
                self.remember(&fresh);
                Ok(Some(self.sign_with(
                    &fresh,
                    terms,
                    grace_extended_until,
                    binding,
                    now,
                    nonce,
                )?))
            }
            Stamped::No => Ok(None),
        }
    }

    async fn validate_row(
        &self,
        row: &LicenseRow,
        binding: &Binding,
        nonce: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        let now = self.now();
        Self::check_usable(row, now, channel)?;
        self.check_bound_here(row, binding).await?;
        if let Some(answer) = self.stamp_and_sign(row, None, binding, nonce).await? {
            return Ok(answer);
        }
        // It changed between the read and the write: say what it is now.
        let fresh = self.find(&row.id).await?;
        Self::check_usable(&fresh, now, channel)?;
        Err(self.moved(&row.id).await)
    }

    /// The license `license_id`, once `proof` shows the caller holds its activation credential
    /// for this request. An unknown id and a wrong proof get the same answer by the same path
    /// (a proof checked, a refusal counted in memory). A proof by a credential the account
    /// replaced gets, for a validation, the server's signed notice that the license moved.
    async fn proven(
        &self,
        license_id: &str,
        action: ProofAction,
        binding: &Binding,
        nonce: &str,
        proof: &str,
    ) -> Result<LicenseRow, Denial> {
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        let kind = action_kind(action);
        let Some(row) = self.store.license_by_id(license_id).await? else {
            // The same work as for a license that exists: one proof checked.
            let _ = verify_proof(&UNKNOWN_HOLDER, proof, action, license_id, binding, nonce);
            self.refused(None, kind, "refused_no_proof");
            return Err(no_proof());
        };
        if proof_holds(&row, action, binding, nonce, proof) {
            self.remember(&row);
            return Ok(row);
        }
        let replaced = row
            .former_holders
            .iter()
            .find(|former| verify_proof(&former.key, proof, action, &row.id, binding, nonce));
        match replaced {
            Some(former) if action == ProofAction::Validate => {
                self.refused(Some(&row.id), kind, "refused_moved");
                Err(self.moved_notice(&row.id, &former.key, former.replaced_at, nonce)?)
            }
            _ => {
                self.refused(Some(&row.id), kind, "refused_no_proof");
                Err(no_proof())
            }
        }
    }

    /// The signed notice that `license_id` moved, for the holder of the credential `holder`
    /// the account replaced at `moved_at`.
    fn moved_notice(
        &self,
        license_id: &str,
        holder: &str,
        moved_at: DateTime<Utc>,
        nonce: &str,
    ) -> Result<Denial, Denial> {
        let now = self.now();
        self.check_may_sign(now)?;
        let notice = MovedNotice {
            license_id: license_id.to_owned(),
            nonce: nonce.to_owned(),
            holder: holder.to_owned(),
            moved_at,
            issued_at: now,
        };
        let text = self
            .key
            .sign(DocKind::Moved, &notice)
            .map_err(|e| Denial::Sign(e.to_string()))?;
        Ok(Denial::Moved {
            message: format!(
                "this license was activated again by its account on another database on {}: it no longer works here",
                moved_at.format("%Y-%m-%d")
            ),
            notice: self.with_public_documents(&text),
        })
    }

    /// Extends grace to `days` from now, up to the license's cap. Needs the account's token.
    pub async fn extend_grace(
        &self,
        account: &str,
        license_id: &str,
        binding: &Binding,
        days: u32,
        nonce: &str,
        proof: &str,
    ) -> Result<String, Denial> {
        self.find_owned(account, license_id).await?;
        let row = self
            .proven(license_id, ProofAction::Extend, binding, nonce, proof)
            .await?;
        self.extend_grace_of(row, binding, days, nonce, Channel::Online)
            .await
    }

    async fn extend_grace_of(
        &self,
        row: LicenseRow,
        binding: &Binding,
        days: u32,
        nonce: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        let now = self.now();
        Self::check_usable(&row, now, channel)?;
        self.check_bound_here(&row, binding).await?;
        let cap = row.terms.max_grace_days.min(self.grace_bound());
        if days > cap {
            self.refused(Some(&row.id), "grace_extension", "refused_over_cap");
            return Err(Denial::Forbidden {
                code: "over_grace_cap",
                message: format!(
                    "this license allows at most {cap} days of offline grace, and {days} were asked: ask for {cap} days or fewer, or contact your vendor"
                ),
            });
        }
        let until = now
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if !self
            .store
            .extend_grace(&row.id, binding, until, now)
            .await?
        {
            return Err(self.moved(&row.id).await);
        }
        let mut row = row;
        row.grace_extended_until = Some(until);
        self.log(&row.id, "grace_extension", "ok", binding, now)
            .await;
        self.sign(&row, binding, now, nonce)
    }

    /// Moves a license to a new binding (after a database restore). Needs the account's token;
    /// limited to `max_rebinds_per_30_days`.
    pub async fn rebind(
        &self,
        account: &str,
        license_id: &str,
        new: &Binding,
        reason: &str,
        nonce: &str,
        proof: &str,
    ) -> Result<String, Denial> {
        self.find_owned(account, license_id).await?;
        let row = self
            .proven(license_id, ProofAction::Rebind, new, nonce, proof)
            .await?;
        self.rebind_of(row, new, reason, nonce, None, Channel::Online)
            .await
    }

    /// Moves `row` to `new`; `holder` replaces the activation credential (a re-activation).
    async fn rebind_of(
        &self,
        row: LicenseRow,
        new: &Binding,
        reason: &str,
        nonce: &str,
        holder: Option<&str>,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(new)?;
        let now = self.now();
        Self::check_usable(&row, now, channel)?;
        let Some(old) = row.binding.clone() else {
            return Err(Denial::Conflict {
                code: "not_activated",
                message: "this license was never activated: activate it instead".into(),
            });
        };
        if &old == new {
            return self.validate_row(&row, new, nonce, channel).await;
        }
        let since = now - Duration::days(30);
        let recent = self.store.rebinds_since(&row.id, since).await?;
        let limit = row.terms.max_rebinds_per_30_days;
        if recent.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            self.refused(Some(&row.id), "rebind", "refused_limit");
            return Err(Denial::Forbidden {
                code: "rebind_limit",
                message: format!(
                    "this license was moved {} times in the last 30 days, its limit is {limit}: contact your vendor to move it again",
                    recent.len()
                ),
            });
        }
        tenure_core::text::check_free_text("reason", reason, 0, limits::REASON_CHARS)
            .map_err(|e| Denial::Invalid(e.to_string()))?;
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "not given"
        } else {
            reason
        };
        let record = RebindRow {
            license_id: row.id.clone(),
            old,
            new: new.clone(),
            reason: reason.to_owned(),
            at: now,
            holder: holder.map(str::to_owned),
        };
        if !self.store.rebind(&record, now).await? {
            return Err(Denial::Conflict {
                code: "bound_elsewhere",
                message:
                    "the license was moved by someone else just now: check its status and try again"
                        .into(),
            });
        }
        self.log(&row.id, "rebind", "ok", new, now).await;
        self.sign(&row, new, now, nonce)
    }

    async fn find(&self, license_id: &str) -> Result<LicenseRow, Denial> {
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        self.store
            .license_by_id(license_id)
            .await?
            .ok_or_else(|| Denial::NotFound(format!("no license has the id {license_id:?}")))
    }

    async fn find_owned(&self, account: &str, license_id: &str) -> Result<LicenseRow, Denial> {
        let row = self.find(license_id).await?;
        if row.account != account {
            // Same answer as a missing license: do not reveal other accounts' licenses.
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}"
            )));
        }
        Ok(row)
    }

    fn check_usable(row: &LicenseRow, now: DateTime<Utc>, channel: Channel) -> Result<(), Denial> {
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

    async fn check_bound_here(&self, row: &LicenseRow, binding: &Binding) -> Result<(), Denial> {
        match &row.binding {
            None => Err(Denial::Conflict {
                code: "not_activated",
                message: "this license is not activated yet: activate it with its key".into(),
            }),
            Some(bound) if bound != binding => {
                self.refused(Some(&row.id), "validation", "refused_bound_elsewhere");
                Err(self.moved(&row.id).await)
            }
            Some(_) => Ok(()),
        }
    }

    /// The refusal for a license that lives elsewhere now, saying where and since when.
    async fn moved(&self, license_id: &str) -> Denial {
        let row = self.store.license_by_id(license_id).await.ok().flatten();
        let where_now = row
            .and_then(|r| r.binding)
            .map_or_else(|| "another database".to_owned(), |b| b.to_string());
        let since = self
            .store
            .rebinds_since(license_id, DateTime::<Utc>::MIN_UTC)
            .await
            .ok()
            .and_then(|r| r.first().map(|r| r.at));
        let when = since.map_or_else(String::new, |t| {
            format!(" since {}", t.format("%Y-%m-%d %H:%M UTC"))
        });
        Denial::Conflict {
            code: "bound_elsewhere",
            message: format!(
                "this license now lives at {where_now}{when}: use it there, or re-validate to move it here"
            ),
        }
    }

    fn sign(
        &self,
        row: &LicenseRow,
        binding: &Binding,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> Result<String, Denial> {
        self.sign_with(row, None, row.grace_extended_until, binding, now, nonce)
    }

    /// Signs `row` for `binding` with the grace extension `grace_extended_until` in force;
    /// `terms`: the row's terms encoded already, if they are.
    fn sign_with(
        &self,
        row: &LicenseRow,
        terms: Option<&EncodedTerms>,
        grace_extended_until: Option<DateTime<Utc>>,
        binding: &Binding,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> Result<String, Denial> {
        self.check_may_sign(now)?;
        let mut grace_days = row.terms.grace_days;
        if let Some(until) = grace_extended_until
            && until > now
        {
            let secs = (until - now).num_seconds();
            let days = u32::try_from((secs + 86_399) / 86_400).unwrap_or(u32::MAX);
            grace_days = grace_days.max(days);
        }
        // A license made under a certificate that allowed more: workstations believe no more
        // than this key's certificate allows, so no more is signed.
        grace_days = grace_days.min(self.grace_bound());
        let encoded_now;
        let terms = if let Some(terms) = terms {
            terms
        } else {
            encoded_now = encode_terms(&row.terms)?;
            &encoded_now
        };
        let license = LicenseToSign {
            id: &row.id,
            account: &row.account,
            terms: terms.raw(),
            grace_days,
            binding,
            issued_at: now,
            validated_at: now,
            nonce,
        };
        let text = self
            .key
            .sign(DocKind::License, &license)
            .map_err(|e| Denial::Sign(e.to_string()))?;
        Ok(self.with_public_documents(&text))
    }

    /// A signed document followed by the signing key's certificate and the latest revocation
    /// list, so any workstation that reads it can check it and learns the list.
    fn with_public_documents(&self, signed: &str) -> String {
        bundle_all(
            signed,
            self.certificate
                .as_deref()
                .into_iter()
                .chain(self.revocations.as_deref()),
        )
    }

    /// `Ok` when this instance may sign now, else why not (for `/v1/health`).
    pub fn may_sign(&self) -> Result<(), String> {
        self.check_may_sign(self.now())
            .map_err(|e| format!("unavailable: {e}"))
    }

    /// Refuses to sign outside the signing key's certificate: workstations would refuse the
    /// answer, and a key past its certificate must sign nothing.
    fn check_may_sign(&self, now: DateTime<Utc>) -> Result<(), Denial> {
        if let Some(current) = self.replaced_by() {
            return Err(Denial::Unavailable {
                code: "signing_key_replaced",
                message: format!(
                    "this license server signs with a key its vendor replaced (the current one is {current}): try again later, or another of the vendor's servers"
                ),
            });
        }
        let Some(certificate) = &self.certificate_terms else {
            return Ok(());
        };
        if now > certificate.not_after || now < certificate.not_before {
            tracing::error!(
                not_before = %certificate.not_before,
                not_after = %certificate.not_after,
                "the signing key's certificate does not cover now: rotate the key (tenure-server key rotate)"
            );
            return Err(Denial::Unavailable {
                code: "signing_key_expired",
                message: format!(
                    "the license server's signing key is certified only until {}: the vendor must rotate it. Try again later",
                    certificate.not_after.format("%Y-%m-%d")
                ),
            });
        }
        Ok(())
    }

    /// Logs to the usage table; a logging failure never fails the request (it is traced).
    async fn log(
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
    }
}

fn account_license(row: LicenseRow) -> AccountLicense {
    let key = crate::keyhash::masked(row.key_last4.as_deref().unwrap_or_default());
    AccountLicense {
        id: row.id,
        key,
        terms: row.terms,
        binding: row.binding,
        revoked: row.revoked,
        rebinds_left: None,
    }
}
