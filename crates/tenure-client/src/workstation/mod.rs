//! The workstation engine: what the CLI and the window both drive.
//!
//! It owns the settings, the trusted vendor keys, the secret store and the encrypted cache, and
//! performs activation, validation and grace extension against the server. It applies the rules
//! that are easy to get wrong: every request carries a fresh nonce and the signed answer must echo
//! it; only a verified, signed answer changes the cache — a timeout or an error leaves the license
//! and its grace exactly as they were; the clock's high-water mark never moves back.

mod offline;
mod seats;
mod sessions;

pub use offline::{ImportError, MAX_FUTURE_DRIFT, OfflineWish};
pub use sessions::BorrowStatus;

use chrono::{DateTime, Utc};
use tenure_core::protocol::{
    ActivationRequest, GraceExtensionRequest, RebindRequest, ValidationRequest,
};
use tenure_core::signed::open_license;
use tenure_core::status::next_high_water;
use tenure_core::{
    Binding, DocError, KeyError, KeyId, LicenseKey, ServerContext, Status, TrustedKeys,
    VerifiedLicense,
};

use crate::api::{ApiClient, ApiError, Credentials};
use crate::cache::{Cache, CacheData, CacheError, MAX_VALIDATION_RECORDS, ValidationRecord};
use crate::product_db::{DbError, DbSpec, Event, ProductDb};
use crate::profile::Profile;
use crate::secrets::{SecretError, SecretStore};
use crate::settings::{Settings, SettingsError};

const CREDENTIALS_SECRET: &str = "credentials";
const DB_PASSWORD_SECRET: &str = "product-db-password";
/// The high-water mark is written at most this often by plain status reads.
const HIGH_WATER_STEP_SECS: i64 = 60;

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
    /// No vendor key is trusted yet.
    #[error(
        "no vendor public key is trusted yet: add your vendor's key (tenure trust FILE, or Settings → Trusted vendor keys)"
    )]
    NoTrustedKeys,
    /// No server URL is configured.
    #[error(
        "no license server is set: pass --server URL, set TENURE_SERVER, or enter it in Settings"
    )]
    NoServer,
    /// The binding is not known.
    #[error(
        "the database binding is not known: connect the product database (--db or Settings), or pass --server-name and --database"
    )]
    NoBinding,
    /// Nothing to validate.
    #[error("there is no license on this workstation yet: activate one with its key first")]
    NotActivated,
    /// A change to users or seats was not saved.
    #[error("{0}")]
    Save(#[from] crate::product_db::SaveError),
    /// An offline answer file was refused.
    #[error("the file was refused: {0}")]
    Import(#[from] ImportError),
    /// The license is served by files only.
    #[error(
        "this license is activated and validated by files only, never over the network: use the Offline screen (tenure offline request …)"
    )]
    OfflineOnly,
    /// A concurrent session was ended or ran out.
    #[error("{0}")]
    Session(#[from] crate::product_db::SessionError),
    /// The license does not allow the request now; the text says why.
    #[error("{0}")]
    Refused(String),
    /// Users and seats live in the product database, which is not connected.
    #[error(
        "no product database is connected: users and seats live there (connect it with --db or in Settings)"
    )]
    NoDatabase,
    /// An answer not for the request just made.
    #[error("the server's answer does not match the request just made ({0}); it was ignored")]
    Mismatched(&'static str),
}

/// The parts of a request about the cached license that its answer must echo.
struct NextRequest {
    license_id: String,
    binding: Binding,
    nonce: String,
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
    trusted: TrustedKeys,
    local_host: String,
    binding_override: Option<Binding>,
    db: Option<ProductDb>,
}

/// This machine's host name, for canonicalising local aliases.
pub fn local_host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The default PostgreSQL port, dropped from server names.
pub const POSTGRES_DEFAULT_PORT: u16 = 5432;

pub(crate) fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

impl Workstation {
    /// Opens a profile with secrets in `secrets`. Reads settings; the cache is read lazily.
    pub fn open(profile: Profile, secrets: SecretStore) -> Result<Self, EngineError> {
        let settings = Settings::load(&profile.settings_path())?;
        let secrets = if settings.plain_file_secrets && secrets.is_keyring() {
            SecretStore::PlainFile(profile.plain_secrets_path())
        } else {
            secrets
        };
        let mut trusted = TrustedKeys::new();
        for text in &settings.trusted_keys {
            if let Err(e) = trusted.add_public_key_text(text) {
                tracing::warn!(error = %e, "ignoring a damaged trusted key in settings");
            }
        }
        let cache = Cache::new(profile.cache_path(), secrets.clone());
        Ok(Self {
            profile,
            settings,
            secrets,
            cache,
            trusted,
            local_host: local_host_name(),
            binding_override: None,
            db: None,
        })
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

    /// The trusted vendor keys.
    pub fn trusted_keys(&self) -> &TrustedKeys {
        &self.trusted
    }

    /// Trusts a vendor public key file's content; saved in settings.
    pub fn trust(&mut self, public_key_text: &str) -> Result<KeyId, EngineError> {
        let id = self.trusted.add_public_key_text(public_key_text)?;
        let text = public_key_text.to_owned();
        let key_id = id.clone();
        let trusted_texts = self.trusted_texts_without(&key_id);
        self.update_settings(|s| {
            s.trusted_keys = trusted_texts;
            s.trusted_keys.push(text);
        })?;
        Ok(id)
    }

    /// Stops trusting a key; saved in settings.
    pub fn untrust(&mut self, key_id: &str) -> Result<bool, EngineError> {
        let before = self.settings.trusted_keys.len();
        let kept = self.trusted_texts_without(&KeyId::from_text(key_id));
        let removed = kept.len() != before;
        self.update_settings(|s| s.trusted_keys = kept)?;
        self.trusted = TrustedKeys::new();
        for text in &self.settings.trusted_keys {
            let _ = self.trusted.add_public_key_text(text);
        }
        Ok(removed)
    }

    fn trusted_texts_without(&self, key_id: &KeyId) -> Vec<String> {
        self.settings
            .trusted_keys
            .iter()
            .filter(|t| {
                let mut one = TrustedKeys::new();
                one.add_public_key_text(t).map_or(true, |id| &id != key_id)
            })
            .cloned()
            .collect()
    }

    /// Canonicalises a typed server and database name for this machine.
    pub fn binding_for(&self, server: &str, database: &str) -> Binding {
        Binding::new(
            server,
            database,
            ServerContext {
                local_host: &self.local_host,
                default_port: Some(POSTGRES_DEFAULT_PORT),
            },
        )
    }

    /// The binding in force: an override if given, else the one derived from the product
    /// database, else the one saved at activation.
    pub fn current_binding(&self) -> Option<Binding> {
        self.binding_override
            .clone()
            .or_else(|| self.db.as_ref().map(|db| db.binding().clone()))
            .or_else(|| self.settings.binding.clone())
    }

    /// The product database connection to use: from settings (with its password, if any, from
    /// the secret store), else `product.db` in the data folder.
    pub fn db_spec(&self) -> Result<DbSpec, EngineError> {
        let Some(text) = &self.settings.db else {
            return Ok(DbSpec::default_in(self.profile.data_dir()));
        };
        let spec = DbSpec::parse(text)?;
        match (&spec, self.secrets.get(DB_PASSWORD_SECRET)?) {
            (DbSpec::Postgres(url), Some(password)) => {
                Ok(DbSpec::Postgres(with_password(url, &password)))
            }
            _ => Ok(spec),
        }
    }

    /// Saves the product database to use. A password in a PostgreSQL URL goes to the secret
    /// store, never into the settings file.
    pub fn set_db_spec(&mut self, spec: &DbSpec) -> Result<(), EngineError> {
        let (saved, password) = match spec {
            DbSpec::Postgres(url) => split_password(url),
            DbSpec::Sqlite(_) => (spec.to_setting(), None),
        };
        match password {
            Some(password) => self.secrets.set(DB_PASSWORD_SECRET, &password)?,
            None => self.secrets.delete(DB_PASSWORD_SECRET)?,
        }
        self.update_settings(|s| s.db = Some(saved))
    }

    /// Connects the product database, derives the binding from it, and picks up the license it
    /// holds when this workstation has none (or an older copy of the same license).
    pub async fn connect_db(
        &mut self,
        spec: &DbSpec,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let db = ProductDb::connect(spec, &self.local_host).await?;
        if let Some(text) = db.load_license().await? {
            match open_license(&text, &self.trusted) {
                Ok(found) => {
                    let cached = self.license().ok().flatten();
                    let newer = cached
                        .as_ref()
                        .is_none_or(|c| c.id != found.id || c.validated_at < found.validated_at);
                    let same_place = cached.as_ref().is_none_or(|c| c.binding == found.binding);
                    if newer && (cached.is_none() || same_place) {
                        let mut data = self.cache.load().unwrap_or_default();
                        data.license = Some(found.text().to_owned());
                        data.high_water = Some(next_high_water(data.high_water, now));
                        self.cache.save(&data)?;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the license stored in the product database is not usable");
                }
            }
        }
        self.db = Some(db);
        // A license adopted from the database, or a hand-edited seat table, may leave more seats
        // than the license grants.
        if let Err(e) = self.trim_to_license(now).await {
            tracing::warn!(error = %e, "could not trim named seats to the license");
        }
        Ok(())
    }

    /// The connected product database.
    pub fn db(&self) -> Option<&ProductDb> {
        self.db.as_ref()
    }

    /// The latest audit events of the product database (empty when not connected).
    pub async fn recent_events(&self, limit: i64) -> Result<Vec<Event>, EngineError> {
        match &self.db {
            Some(db) => Ok(db.recent_events(limit).await?),
            None => Ok(Vec::new()),
        }
    }

    async fn audit(&self, kind: &str, outcome: &str, detail: &str, now: DateTime<Utc>) {
        let Some(db) = &self.db else { return };
        let actor = self.actor();
        let event = Event {
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

    /// Uses `binding` for this session only (not saved), e.g. from `--server-name/--database`.
    pub fn override_binding(&mut self, binding: Option<Binding>) {
        self.binding_override = binding;
    }

    /// The stored account credentials, if signed in.
    pub fn credentials(&self) -> Result<Option<Credentials>, EngineError> {
        let Some(text) = self.secrets.get(CREDENTIALS_SECRET)? else {
            return Ok(None);
        };
        Ok(ron::from_str(&text).ok())
    }

    /// Stores account credentials in the secret store.
    pub fn login(&self, credentials: &Credentials) -> Result<(), EngineError> {
        let text = ron::to_string(credentials).map_err(|e| SecretError::File(e.to_string()))?;
        self.secrets.set(CREDENTIALS_SECRET, &text)?;
        Ok(())
    }

    /// Forgets account credentials.
    pub fn logout(&self) -> Result<(), EngineError> {
        self.secrets.delete(CREDENTIALS_SECRET)?;
        Ok(())
    }

    /// An API client for the configured server, or `override_url`.
    pub fn api(&self, override_url: Option<&str>) -> Result<ApiClient, EngineError> {
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
            Some(text) => Ok(Some(open_license(text, &self.trusted)?)),
        }
    }

    /// The status now. Moves the clock's high-water mark forward (never back).
    pub fn report(&self, now: DateTime<Utc>) -> Result<Report, EngineError> {
        let mut data = self.cache.load()?;
        let license = self.verify_cached(&data)?;
        let binding = self.current_binding();
        let status = tenure_core::status(license.as_ref(), binding.as_ref(), now, data.high_water);
        let advanced = data
            .high_water
            .is_none_or(|hw| (now - hw).num_seconds() >= HIGH_WATER_STEP_SECS);
        if license.is_some() && advanced {
            data.high_water = Some(next_high_water(data.high_water, now));
            self.cache.save(&data)?;
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
        let result = api
            .activate(&ActivationRequest {
                key: key.digits(),
                binding: binding.clone(),
                nonce: nonce.clone(),
            })
            .await
            .map(|answer| answer.license);
        let report = self
            .finish_signed_request(result, &nonce, &binding, None, now, "activated")
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
        let req = self.next_request(false)?;
        let result = api
            .validate(&ValidationRequest {
                license_id: req.license_id.clone(),
                binding: req.binding.clone(),
                nonce: req.nonce.clone(),
            })
            .await;
        self.finish(req, result, now, "validated").await
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
        let req = self.next_request(false)?;
        let body = GraceExtensionRequest {
            license_id: req.license_id.clone(),
            binding: req.binding.clone(),
            days,
            nonce: req.nonce.clone(),
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
        let req = self.next_request(true)?;
        let body = RebindRequest {
            license_id: req.license_id.clone(),
            binding: req.binding.clone(),
            reason: reason.to_owned(),
            nonce: req.nonce.clone(),
        };
        let result = api.rebind(&body, &credentials).await;
        self.finish(req, result, now, "re-validated").await
    }

    /// What every request about the cached license carries: its id, the binding now (the
    /// license's own when none is known, unless `binding_required`), and a fresh nonce.
    fn next_request(&self, binding_required: bool) -> Result<NextRequest, EngineError> {
        let current = self.license()?.ok_or(EngineError::NotActivated)?;
        let binding = match self.current_binding() {
            Some(binding) => binding,
            None if binding_required => return Err(EngineError::NoBinding),
            None => current.binding.clone(),
        };
        Ok(NextRequest {
            license_id: current.id.clone(),
            binding,
            nonce: fresh_nonce(),
        })
    }

    async fn finish(
        &self,
        req: NextRequest,
        result: Result<tenure_core::protocol::LicenseResponse, ApiError>,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Report, EngineError> {
        let result = result.map(|answer| answer.license);
        self.finish_signed_request(
            result,
            &req.nonce,
            &req.binding,
            Some(&req.license_id),
            now,
            what,
        )
        .await
    }

    async fn finish_signed_request(
        &self,
        result: Result<String, ApiError>,
        nonce: &str,
        binding: &Binding,
        license_id: Option<&str>,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Report, EngineError> {
        let outcome = result
            .map_err(EngineError::from)
            .and_then(|text| self.check_answer(&text, nonce, binding, license_id));
        match outcome {
            Ok(license) => {
                let seats_trimmed = self.store(&license, now, what).await?;
                let mut report = self.report(now)?;
                report.seats_trimmed = seats_trimmed;
                Ok(report)
            }
            Err(e) => {
                self.record_failure(now, what, &e).await;
                Err(e)
            }
        }
    }

    fn require_trust(&self) -> Result<(), EngineError> {
        if self.trusted.is_empty() {
            Err(EngineError::NoTrustedKeys)
        } else {
            Ok(())
        }
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
        let license = open_license(text, &self.trusted)?;
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
        // license: the user has just validated online, which is exactly the advised fix.
        let mut data = self.cache.load().unwrap_or_default();
        data.high_water = Some(next_high_water(data.high_water, now));
        push_record(
            &mut data,
            ValidationRecord {
                at: now,
                succeeded: true,
                grace_days: license.grace_days,
                outcome: what.to_owned(),
            },
        );
        data.license = Some(license.text().to_owned());
        self.cache.save(&data)?;
        let mut trimmed = Vec::new();
        if let Some(db) = &self.db {
            db.save_license(&license.id, license.text(), license.validated_at, now)
                .await?;
            // A renewal may grant fewer named seats: the latest assigned lose theirs now, and
            // the audit log and the report say who.
            match self.trim_to_license(now).await {
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
        self.audit(what, "ok", &license.binding.to_string(), now)
            .await;
        Ok(trimmed)
    }

    async fn record_failure(&self, now: DateTime<Utc>, what: &str, error: &EngineError) {
        self.audit(what, "failed", &error.to_string(), now).await;
        // Only a readable cache is touched; the license and grace stay exactly as they were.
        if let Ok(mut data) = self.cache.load() {
            push_record(
                &mut data,
                ValidationRecord {
                    at: now,
                    succeeded: false,
                    grace_days: 0,
                    outcome: error.to_string(),
                },
            );
            if let Err(e) = self.cache.save(&data) {
                tracing::warn!(error = %e, "could not record the failed validation");
            }
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
