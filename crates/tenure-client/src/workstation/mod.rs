//! The workstation engine: what the CLI and the window both drive.
//!
//! It owns the settings, the trusted vendor keys, the secret store and the encrypted cache, and
//! performs activation, validation and grace extension against the server. It applies the rules
//! that are easy to get wrong: every request carries a fresh nonce and the signed answer must echo
//! it; only a verified, signed answer changes the cache — a timeout or an error leaves the license
//! and its grace exactly as they were; the clock's high-water mark never moves back.

mod allocations;
mod clock;
mod connect;
mod moved;
mod offline;
mod release;
mod seats;
mod sessions;
mod trust;
mod views;

pub use allocations::{
    Allocations, AllocationsError, Overview, Pool, QuantityView, ShareLine, cuts_of,
};
pub use offline::{ImportError, MAX_FUTURE_DRIFT, OfflineFiles, OfflineWish};
pub use seats::{NamedSeats, NamedSeatsError};
pub use sessions::{BorrowStatus, ConcurrentSeats, ConcurrentSeatsError, Ending};
pub use trust::Trusted;
pub use views::{Configure, Database, ServerAccount, VendorKeys};

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{
    ActivationRequest, GraceExtensionRequest, RebindRequest, ValidationRequest,
};
use tenure_core::{
    Binding, DocError, KeyError, LicenseKey, ServerContext, Status, Trust, VerifiedLicense,
};

use crate::api::{ApiClient, ApiError, Credentials};
use crate::cache::{
    Cache, CacheData, CacheError, HeldCredential, MAX_VALIDATION_RECORDS, ValidationRecord,
};
use crate::product_db::{AuditEvent, DbError, DbSpec, POSTGRES_DEFAULT_PORT, ProductDb};
use crate::profile::Profile;
use crate::roots::Roots;
use crate::secrets::{SecretError, SecretStore};
use crate::settings::{Settings, SettingsError};
use release::released_at;

const CREDENTIALS_SECRET: &str = "credentials";
const DB_PASSWORD_SECRET: &str = "product-db-password";

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The typed key is wrong (caught before any network call).
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The server could not be reached or refused.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The cache could not be read or written.
    #[error("{0}")]
    Cache(#[from] CacheError),
    /// The secret store failed.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// Settings could not be read or written.
    #[error("{0}")]
    Settings(#[from] SettingsError),
    /// The product database failed.
    #[error("{0}")]
    Db(#[from] DbError),
    /// A signed document failed verification.
    #[error("the license was refused: {0}")]
    Document(#[from] DocError),
    /// A certificate or revocation list not from a trusted root.
    #[error("the file was refused: {0}")]
    Untrusted(DocError),
    /// No vendor root is trusted yet (development builds).
    #[error(
        "this development build trusts no vendor root yet: add your vendor's root key; a customer build has its vendor's roots built in"
    )]
    NoTrustedKeys,
    /// A build with pinned roots takes no other root.
    #[error(
        "this build trusts only the vendor roots built into it, so a vendor key is accepted only with a certificate from one of them: ask your vendor for the signing key's certificate (a TENURE KEY CERTIFICATE file)"
    )]
    RootsPinned,
    /// The license's activation credential is not here.
    #[error(
        "this workstation does not hold the license's activation credential, which proves to the server that the license is yours: connect the product database the license lives in, or activate again with the key while signed in to the account"
    )]
    NoCredential,
    /// No server URL is configured.
    #[error("no license server is set: give its URL first")]
    NoServer,
    /// The binding is not known.
    #[error(
        "the database binding is not known: connect the product database, or give the database server and database names"
    )]
    NoBinding,
    /// Nothing to validate.
    #[error("there is no license on this workstation yet: activate one with its key first")]
    NotActivated,
    /// An offline answer file was refused.
    #[error("the file was refused: {0}")]
    Import(#[from] ImportError),
    /// The license is served by files only.
    #[error(
        "this license is activated and validated by files only, never over the network: exchange request and answer files with your vendor"
    )]
    OfflineOnly,
    /// An answer not for the request just made.
    #[error("the server's answer does not match the request just made ({0}); it was ignored")]
    Mismatched(&'static str),
    /// The license's account activated it elsewhere: the server's signed notice said so.
    #[error(
        "the license's account activated it on another database on {}, so it no longer works here: use it where it is now, or activate it here again with its key while signed in to the account (that stops it there)",
        at.format("%Y-%m-%d")
    )]
    Moved {
        /// When it moved (server clock).
        at: DateTime<Utc>,
    },
}

/// The parts of a request about the cached license that its answer must echo, and the
/// credential that proves it.
struct NextRequest {
    license_id: String,
    binding: Binding,
    nonce: String,
    credential: Credential,
}

impl NextRequest {
    fn prove(&self, action: ProofAction) -> String {
        self.credential
            .prove(action, &self.license_id, &self.binding, &self.nonce)
    }
}

/// A fresh activation credential.
pub(crate) fn new_credential() -> Credential {
    let mut secret = [0u8; 32];
    let _ = getrandom::fill(&mut secret);
    Credential::from_secret(secret)
}

/// A snapshot of the license for display: status plus the license behind it.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the license stands.
    pub status: Status,
    /// The verified license, if any.
    pub license: Option<VerifiedLicense>,
    /// Where the workstation is connected now.
    pub binding: Option<Binding>,
    /// Validation history, oldest first.
    pub validations: Vec<ValidationRecord>,
    /// Users who lost a named seat because the license just stored grants fewer (latest
    /// assigned first to go); empty otherwise.
    pub seats_trimmed: Vec<String>,
}

impl Report {
    /// "The license now grants 8 named seats: bo, eli lost their seats (assigned last)."
    pub fn seats_trimmed_note(&self) -> Option<String> {
        if self.seats_trimmed.is_empty() {
            return None;
        }
        let seats = self.license.as_ref().map_or(0, |l| l.terms.seats);
        Some(format!(
            "The license now grants {seats} named seats: {} lost {} (assigned last).",
            self.seats_trimmed.join(", "),
            if self.seats_trimmed.len() == 1 {
                "the seat"
            } else {
                "their seats"
            }
        ))
    }
}

/// The workstation engine for one profile.
#[derive(Debug, Clone)]
pub struct Workstation {
    profile: Profile,
    settings: Settings,
    secrets: SecretStore,
    cache: Cache,
    roots: Roots,
    /// Roots, certified signing keys and revocations; shared by clones, since a server answer
    /// may bring a newer revocation list to any of them.
    trust: Arc<RwLock<Trust>>,
    /// The clock mark's copies outside the cache.
    marks: Arc<std::sync::Mutex<clock::MarkCopies>>,
    /// The license verified last (see `open_license`).
    last_verified: Arc<std::sync::Mutex<Option<VerifiedLicense>>>,
    /// True once the revocation lists kept on this machine were read (see `trust.rs`).
    revocations_recalled: Arc<std::sync::atomic::AtomicBool>,
    local_host: String,
    binding_override: Option<Binding>,
    /// The product database given for this run (`--db`, `TENURE_DB`), ahead of the saved one.
    session_db: Option<DbSpec>,
    db: Option<ProductDb>,
    /// Why the license the product database holds cannot be used here, if it cannot.
    db_license_problem: Option<String>,
}

/// This machine's host name, for canonicalising local aliases.
pub fn local_host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

pub(crate) fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

impl Workstation {
    /// Opens a profile with secrets in `secrets`, trusting licenses certified by `roots` (a
    /// product pins its vendor's roots here). Reads settings; the cache is read lazily.
    pub fn open(profile: Profile, secrets: SecretStore, roots: Roots) -> Result<Self, EngineError> {
        let settings = Settings::load(&profile.settings_path())?;
        let secrets = if settings.plain_file_secrets && secrets.is_keyring() {
            SecretStore::PlainFile(profile.plain_secrets_path())
        } else {
            secrets
        };
        let trust = trust::build_trust(&roots, &settings);
        let cache = Cache::new(profile.cache_path(), secrets.clone());
        Ok(Self {
            profile,
            settings,
            secrets,
            cache,
            roots,
            trust: Arc::new(RwLock::new(trust)),
            marks: Arc::default(),
            last_verified: Arc::default(),
            revocations_recalled: Arc::default(),
            local_host: local_host_name(),
            binding_override: None,
            session_db: None,
            db: None,
            db_license_problem: None,
        })
    }

    /// Keeps this profile's secrets in an owner-only plain file from now on (the user's explicit
    /// choice, where no keyring can be used), saved in the settings. Secrets that were only in
    /// the keyring are not carried over: the cache is rebuilt from the product database's copy
    /// of the license on the next connect, and the account signs in again.
    pub(crate) fn use_plain_file_secrets(&mut self) -> Result<(), EngineError> {
        self.update_settings(|s| s.plain_file_secrets = true)?;
        self.secrets = SecretStore::PlainFile(self.profile.plain_secrets_path());
        self.cache = Cache::new(self.profile.cache_path(), self.secrets.clone());
        Ok(())
    }

    /// Uses `spec` as the product database for this run (`--db`, `TENURE_DB`), ahead of the one
    /// saved in settings, which is left as it is. [`Self::connect`] connects it.
    #[must_use]
    pub fn with_run_database(mut self, spec: Option<DbSpec>) -> Self {
        self.session_db = spec;
        self
    }

    /// Connects the product database chosen: the one given for this run, else the one in
    /// settings, else `product.db` in the data folder (see [`Database::spec`]).
    pub async fn connect(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let spec = self.db_spec()?;
        self.connect_db(&spec, now).await
    }

    /// The product database and the binding it gives.
    pub fn database(&self) -> Database<'_> {
        Database { ws: self }
    }

    /// The license server and the account signed in to it.
    pub fn server(&self) -> ServerAccount<'_> {
        ServerAccount { ws: self }
    }

    /// Whose signatures this workstation believes.
    pub fn vendor_keys(&self) -> VendorKeys<'_> {
        VendorKeys { ws: self }
    }

    /// What IT sets up: the product database, the binding's names, vendor keys.
    pub fn configure(&mut self) -> Configure<'_> {
        Configure { ws: self }
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes and saves the settings.
    pub fn update_settings(
        &mut self,
        change: impl FnOnce(&mut Settings),
    ) -> Result<(), EngineError> {
        let mut next = self.settings.clone();
        change(&mut next);
        next.save(&self.profile.settings_path())?;
        self.settings = next;
        Ok(())
    }

    /// The secret store in use.
    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// Canonicalises a typed server and database name for this machine.
    pub(crate) fn binding_for(&self, server: &str, database: &str) -> Binding {
        Binding::new(
            server,
            database,
            ServerContext {
                local_host: &self.local_host,
                default_port: Some(POSTGRES_DEFAULT_PORT),
            },
        )
    }

    /// The binding in force: an override for this run if given, else the one IT saved for the
    /// connected database, else the one derived from it, else the one saved at activation.
    pub(crate) fn current_binding(&self) -> Option<Binding> {
        self.binding_override
            .clone()
            .or_else(|| self.saved_binding_override())
            .or_else(|| self.db.as_ref().map(|db| db.binding().clone()))
            .or_else(|| self.settings.binding.clone())
    }

    /// The binding IT saved for the connected product database, if any.
    pub(crate) fn saved_binding_override(&self) -> Option<Binding> {
        let db = self.db.as_ref()?;
        self.settings
            .binding_overrides
            .get(&db_key(db.spec()))
            .cloned()
    }

    /// Saves (or, with `None`, removes) the binding to use for the connected product database
    /// instead of the derived one: what IT gives with `--server-name/--database` holds for every
    /// later command and the window.
    pub(crate) fn save_binding_override(
        &mut self,
        binding: Option<Binding>,
    ) -> Result<(), EngineError> {
        let key = match &self.db {
            Some(db) => db_key(db.spec()),
            None => db_key(&self.db_spec()?),
        };
        self.binding_override = None;
        self.update_settings(|s| match binding {
            Some(binding) => {
                s.binding_overrides.insert(key, binding);
            }
            None => {
                s.binding_overrides.remove(&key);
            }
        })
    }

    /// Closes the product database: SQLite folds its write-ahead log into the file, so a copy of
    /// the file alone holds everything.
    pub async fn close(&self) {
        if let Some(db) = &self.db {
            db.close().await;
        }
    }

    /// The product database connection to use: the one given for this run, else the one in
    /// settings (with its password, if any, from the secret store), else `product.db` in the
    /// data folder.
    pub(crate) fn db_spec(&self) -> Result<DbSpec, EngineError> {
        if let Some(spec) = &self.session_db {
            return Ok(spec.clone());
        }
        let Some(text) = &self.settings.db else {
            return Ok(DbSpec::default_in(self.profile.data_dir()));
        };
        let spec = DbSpec::parse(text)?;
        // Only a PostgreSQL server has a password: a SQLite file opens with no keyring at all.
        let DbSpec::Postgres(url) = &spec else {
            return Ok(spec);
        };
        match self.secrets.get(DB_PASSWORD_SECRET)? {
            Some(password) => Ok(DbSpec::Postgres(with_password(url, &password))),
            None => Ok(spec),
        }
    }

    /// Saves the product database to use. A password in a PostgreSQL URL goes to the secret
    /// store, never into the settings file.
    pub(crate) fn set_db_spec(&mut self, spec: &DbSpec) -> Result<(), EngineError> {
        // The setting is the connection without its password (the key of binding overrides too).
        let saved = db_key(spec);
        let password = match spec {
            DbSpec::Postgres(url) => split_password(url).1,
            DbSpec::Sqlite(_) => None,
        };
        match password {
            Some(password) => self.secrets.set(DB_PASSWORD_SECRET, &password)?,
            None => self.secrets.delete(DB_PASSWORD_SECRET)?,
        }
        // A database chosen now replaces one given for this run.
        self.session_db = None;
        self.update_settings(|s| s.db = Some(saved))
    }

    /// The latest audit events of the product database (empty when not connected).
    pub(crate) async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>, EngineError> {
        match &self.db {
            Some(db) => Ok(db.recent_events(limit).await?),
            None => Ok(Vec::new()),
        }
    }

    async fn audit(&self, kind: &str, outcome: &str, detail: &str, now: DateTime<Utc>) {
        let Some(db) = &self.db else { return };
        let actor = self.actor();
        let event = AuditEvent {
            at: now,
            kind: kind.to_owned(),
            outcome: outcome.to_owned(),
            login: actor.login,
            host: actor.host,
            detail: detail.to_owned(),
        };
        if let Err(e) = db.log_event(&event).await {
            tracing::warn!(error = %e, "could not write the audit log");
        }
    }

    /// The stored account credentials, if signed in.
    pub(crate) fn credentials(&self) -> Result<Option<Credentials>, EngineError> {
        let Some(text) = self.secrets.get(CREDENTIALS_SECRET)? else {
            return Ok(None);
        };
        Ok(ron::from_str(&text).ok())
    }

    /// Stores account credentials in the secret store.
    pub(crate) fn login(&self, credentials: &Credentials) -> Result<(), EngineError> {
        let text = ron::to_string(credentials).map_err(|e| SecretError::File(e.to_string()))?;
        self.secrets.set(CREDENTIALS_SECRET, &text)?;
        Ok(())
    }

    /// An API client for the configured server, or `override_url`.
    pub(crate) fn api(&self, override_url: Option<&str>) -> Result<ApiClient, EngineError> {
        let url = override_url
            .map(str::to_owned)
            .or_else(|| self.settings.server_url.clone())
            .ok_or(EngineError::NoServer)?;
        Ok(ApiClient::new(&url)?)
    }

    /// The cached license, verified against the trusted keys.
    pub fn license(&self) -> Result<Option<VerifiedLicense>, EngineError> {
        let data = self.cache.load()?;
        self.verify_cached(&data)
    }

    fn verify_cached(&self, data: &CacheData) -> Result<Option<VerifiedLicense>, EngineError> {
        match &data.license {
            None => Ok(None),
            Some(text) => Ok(Some(self.open_license(text)?)),
        }
    }

    /// The status now. Moves the clock's high-water mark forward (never back), in each place it
    /// is kept.
    pub fn report(&self, now: DateTime<Utc>) -> Result<Report, EngineError> {
        let data = self.cache.load()?;
        let license = self.verify_cached(&data)?;
        let binding = self.current_binding();
        let latest_server = license.as_ref().map(|l| l.validated_at);
        let mark = self.clock_mark(&data, latest_server);
        let mut status = tenure_core::status(
            license.as_ref(),
            binding.as_ref(),
            now,
            mark.map(|m| m.seen),
        );
        if let Some(at) = license.as_ref().and_then(|l| self.moved_at(&data, l)) {
            status = Status::Moved {
                at,
                released: false,
            };
        } else if let Some(at) = license.as_ref().and_then(|l| released_at(&data, l)) {
            status = Status::Moved { at, released: true };
        }
        if license.is_some() {
            self.advance_clock_mark(&data, mark, now, latest_server)?;
        }
        Ok(Report {
            status,
            license,
            binding,
            validations: data.validations,
            seats_trimmed: Vec::new(),
        })
    }

    /// Activates a license key for a binding. The key is checked before any network call.
    pub async fn activate(
        &mut self,
        api: &ApiClient,
        key_text: &str,
        binding: Binding,
        now: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        let key = LicenseKey::parse(key_text)?;
        self.require_trust()?;
        let nonce = fresh_nonce();
        let credential = new_credential();
        // Signed in: the account may activate its own key again (a lost database, a new place).
        let account = self.credentials()?;
        let result = api
            .activate(
                &ActivationRequest {
                    key: key.digits(),
                    binding: binding.clone(),
                    nonce: nonce.clone(),
                    holder: credential.public_hex(),
                },
                account.as_ref(),
            )
            .await;
        let report = self
            .finish_signed_request(
                result,
                &nonce,
                &binding,
                None,
                Some(&credential),
                now,
                "activated",
            )
            .await?;
        if self.settings.binding.as_ref() != Some(&binding) {
            self.update_settings(|s| s.binding = Some(binding))?;
        }
        Ok(report)
    }

    /// Validates the cached license online: grace restarts. A failure leaves the cache as it was
    /// apart from a line in the validation history.
    pub async fn validate(
        &self,
        api: &ApiClient,
        now: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        self.require_online_license()?;
        let req = self.next_request(false).await?;
        let result = api
            .validate(&ValidationRequest {
                license_id: req.license_id.clone(),
                binding: req.binding.clone(),
                nonce: req.nonce.clone(),
                proof: req.prove(ProofAction::Validate),
                overdraft: self.overdraft_to_report(now).await,
                revoked_borrows: self.concurrent_seats().revoked_borrows_to_report(now).await,
                borrowed_session: self.borrowed_session(now),
            })
            .await;
        self.finish(req, result, now, "validated").await
    }

    /// The borrow this machine holds and still uses, for a validation to ask whether it was
    /// revoked.
    fn borrowed_session(&self, now: DateTime<Utc>) -> Option<String> {
        let status = self.concurrent_seats().borrow_status(now).ok().flatten()?;
        status.active.then_some(status.record.session_id)
    }

    /// Asks the server to extend grace to `days` from now (account credentials required).
    pub async fn extend_grace(
        &self,
        api: &ApiClient,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        self.require_online_license()?;
        let credentials = self.credentials()?.ok_or(ApiError::NotSignedIn)?;
        let req = self.next_request(false).await?;
        let body = GraceExtensionRequest {
            license_id: req.license_id.clone(),
            binding: req.binding.clone(),
            days,
            nonce: req.nonce.clone(),
            proof: req.prove(ProofAction::Extend),
        };
        let result = api.extend_grace(&body, &credentials).await;
        self.finish(req, result, now, "grace extended").await
    }

    /// Moves the license to the current binding (account credentials required).
    pub async fn rebind(
        &self,
        api: &ApiClient,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        self.require_online_license()?;
        let credentials = self.credentials()?.ok_or(ApiError::NotSignedIn)?;
        let req = self.next_request(true).await?;
        let body = RebindRequest {
            license_id: req.license_id.clone(),
            binding: req.binding.clone(),
            reason: reason.to_owned(),
            nonce: req.nonce.clone(),
            proof: req.prove(ProofAction::Rebind),
        };
        let result = api.rebind(&body, &credentials).await;
        self.finish(req, result, now, "re-validated").await
    }

    /// What every request about the cached license carries: its id, the binding now (the
    /// license's own when none is known, unless `binding_required`), a fresh nonce, and the
    /// activation credential that proves it.
    async fn next_request(&self, binding_required: bool) -> Result<NextRequest, EngineError> {
        let current = self.license()?.ok_or(EngineError::NotActivated)?;
        let binding = match self.current_binding() {
            Some(binding) => binding,
            None if binding_required => return Err(EngineError::NoBinding),
            None => current.binding.clone(),
        };
        let credential = self.credential_for(&current.id).await?;
        Ok(NextRequest {
            license_id: current.id.clone(),
            binding,
            nonce: fresh_nonce(),
            credential,
        })
    }

    /// The activation credential of license `license_id`: from the cache, else from the
    /// product database (where every workstation on it finds it).
    pub(crate) async fn credential_for(&self, license_id: &str) -> Result<Credential, EngineError> {
        let cached = self
            .cache
            .load()?
            .credential
            .filter(|c| c.license_id == license_id)
            .map(|c| c.secret);
        let secret = match (cached, &self.db) {
            (Some(secret), _) => Some(secret),
            (None, Some(db)) => db.load_holder_secret(license_id).await?,
            (None, None) => None,
        };
        secret
            .as_deref()
            .and_then(Credential::from_hex)
            .ok_or(EngineError::NoCredential)
    }

    async fn finish(
        &self,
        req: NextRequest,
        result: Result<tenure_core::protocol::LicenseResponse, ApiError>,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Report, EngineError> {
        self.finish_signed_request(
            result,
            &req.nonce,
            &req.binding,
            Some(&req.license_id),
            None,
            now,
            what,
        )
        .await
    }

    /// Checks a server answer and keeps it. `credential` is the new one an activation sent;
    /// other requests keep the credential they proved.
    #[expect(
        clippy::too_many_arguments,
        reason = "each argument is a part of the request the answer must match"
    )]
    async fn finish_signed_request(
        &self,
        result: Result<tenure_core::protocol::LicenseResponse, ApiError>,
        nonce: &str,
        binding: &Binding,
        license_id: Option<&str>,
        credential: Option<&Credential>,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Report, EngineError> {
        let outcome = result
            .map_err(EngineError::from)
            .and_then(|answer| self.accept_answer(&answer, nonce, binding, license_id));
        match outcome {
            Ok(license) => {
                if let Some(credential) = credential {
                    self.keep_credential(&license.id, credential)?;
                }
                let seats_trimmed = self.store(&license, now, what).await?;
                let mut report = self.report(now)?;
                report.seats_trimmed = seats_trimmed;
                Ok(report)
            }
            Err(e) => {
                let e = match (e, license_id) {
                    (EngineError::Api(ApiError::Moved { notice, .. }), Some(id)) => {
                        match self
                            .accept_moved_notice(&notice, Some(nonce), id, now)
                            .await
                        {
                            Ok(at) => EngineError::Moved { at },
                            Err(refused) => refused,
                        }
                    }
                    (e, _) => e,
                };
                self.record_failure(now, what, &e).await;
                Err(e)
            }
        }
    }

    fn require_trust(&self) -> Result<(), EngineError> {
        if self.has_no_roots() {
            Err(EngineError::NoTrustedKeys)
        } else {
            Ok(())
        }
    }

    /// Learns the answer's revocation list, then verifies its license and checks it answers
    /// this request.
    fn accept_answer(
        &self,
        answer: &tenure_core::protocol::LicenseResponse,
        nonce: &str,
        binding: &Binding,
        license_id: Option<&str>,
    ) -> Result<VerifiedLicense, EngineError> {
        if let Some(list) = &answer.revocations
            && let Err(e) = self.learn_revocations(list)
        {
            tracing::warn!(error = %e, "ignoring the server's revocation list");
        }
        self.check_answer(&answer.license, nonce, binding, license_id)
    }

    /// Verifies a signed answer and checks it answers this request.
    fn check_answer(
        &self,
        text: &str,
        nonce: &str,
        binding: &Binding,
        license_id: Option<&str>,
    ) -> Result<VerifiedLicense, EngineError> {
        self.require_trust()?;
        let license = self.open_license(text)?;
        if license.nonce != nonce {
            return Err(EngineError::Mismatched(
                "its nonce is not the one just sent: a replayed answer",
            ));
        }
        if &license.binding != binding {
            return Err(EngineError::Mismatched("it is for another database"));
        }
        if license_id.is_some_and(|id| id != license.id) {
            return Err(EngineError::Mismatched("it is for another license"));
        }
        Ok(license)
    }

    /// Keeps a fresh verified license: in the cache, then in the product database (where any
    /// workstation on that database finds it), and in the audit log.
    /// Returns the users who lost a named seat to a smaller license.
    async fn store(
        &self,
        license: &VerifiedLicense,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Vec<String>, EngineError> {
        // A cache that cannot be read (lost key, tampering) is replaced by this fresh, verified
        // license: the user has just validated online, which is exactly the advised fix. The
        // clock mark moves to the server's time: a clock that was once ahead is cleared.
        let mark = tenure_core::status::ClockMark::reset_to(license.validated_at).advanced(now);
        let counted_before = self
            .license()
            .ok()
            .flatten()
            .map(|l| l.terms.quantities())
            .unwrap_or_default();
        let credential = self.cache.update_or_replace(|data| {
            data.set_clock_mark(mark);
            push_record(
                data,
                ValidationRecord {
                    at: now,
                    succeeded: true,
                    grace_days: license.grace_days,
                    outcome: what.to_owned(),
                },
            );
            data.license = Some(license.text().to_owned());
            Some(
                data.credential
                    .clone()
                    .filter(|c| c.license_id == license.id),
            )
        })?;
        self.keep_clock_mark_outside_cache(mark).await;
        let mut trimmed = Vec::new();
        if let Some(db) = &self.db {
            db.save_license(&license.id, license.text(), license.validated_at, now)
                .await?;
            self.sync_revocations_with_db(db).await;
            if let Some(held) = credential.flatten() {
                db.save_holder_secret(&license.id, &held.secret).await?;
            }
            // A renewal may count less: the latest shares give way, and the audit log says whose.
            self.allocations()
                .audit_cuts(&counted_before, &license.terms.quantities(), now)
                .await;
            // A renewal may grant fewer named seats: the latest assigned lose theirs now, and
            // the audit log and the report say who.
            match self.named_seats().trim_to_license(now).await {
                Ok(Some(saved)) => {
                    trimmed = tenure_core::directory::trimmed(&saved.effects)
                        .map(str::to_owned)
                        .collect();
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not trim named seats to the new license");
                }
            }
        }
        self.concurrent_seats()
            .act_on_confirmed_revocations(&license.revoked_borrows, now)
            .await;
        self.audit(what, "ok", &license.binding.to_string(), now)
            .await;
        Ok(trimmed)
    }

    async fn record_failure(&self, now: DateTime<Utc>, what: &str, error: &EngineError) {
        self.audit(what, "failed", &error.to_string(), now).await;
        // Only a readable cache is touched; the license and grace stay exactly as they were.
        let recorded = self.cache.update(|data| {
            push_record(
                data,
                ValidationRecord {
                    at: now,
                    succeeded: false,
                    grace_days: 0,
                    outcome: error.to_string(),
                },
            );
            Some(())
        });
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the failed validation");
        }
    }
}

/// The OS user running this process, for the audit log and conflict messages.
fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| whoami::fallible::username().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// `postgres://user:pw@host/db` → (`postgres://user@host/db`, `Some("pw")`).
/// How a product database is named in `Settings::binding_overrides`: its setting, without a
/// password.
fn db_key(spec: &DbSpec) -> String {
    match spec {
        DbSpec::Postgres(url) => split_password(url).0,
        DbSpec::Sqlite(_) => spec.to_setting(),
    }
}

fn split_password(url: &str) -> (String, Option<String>) {
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return (url.to_owned(), None);
    };
    if at < scheme_end {
        return (url.to_owned(), None);
    }
    let userinfo = &url[scheme_end + 3..at];
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{}{user}@{}", &url[..scheme_end + 3], &url[at + 1..]),
            Some(password.to_owned()),
        ),
        None => (url.to_owned(), None),
    }
}

/// Puts a password back into a URL saved without one.
fn with_password(url: &str, password: &str) -> String {
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return url.to_owned();
    };
    let userinfo = &url[scheme_end + 3..at];
    if at < scheme_end || userinfo.contains(':') {
        return url.to_owned();
    }
    format!(
        "{}{userinfo}:{password}@{}",
        &url[..scheme_end + 3],
        &url[at + 1..]
    )
}

fn push_record(data: &mut CacheData, record: ValidationRecord) {
    data.validations.push(record);
    let excess = data
        .validations
        .len()
        .saturating_sub(MAX_VALIDATION_RECORDS);
    data.validations.drain(..excess);
}

impl Workstation {
    /// Keeps a license's new activation credential in the cache (the product database gets it
    /// with the license in `store`).
    fn keep_credential(
        &self,
        license_id: &str,
        credential: &Credential,
    ) -> Result<(), EngineError> {
        self.cache.update_or_replace(|data| {
            data.credential = Some(HeldCredential {
                license_id: license_id.to_owned(),
                secret: credential.secret_hex(),
            });
            data.pending_credential = None;
            // Activated here again: a notice that it moved away, or a release, is history.
            data.moved = None;
            data.released = None;
            Some(())
        })?;
        Ok(())
    }
}
