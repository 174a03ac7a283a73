//! Tenure inside a product that is not written in async Rust: a blocking facade over
//! [`Workstation`] with its own runtime, a time limit on every call, and seats that tell a
//! listener when they are lost. The C library (`tenure-ffi`), the Python and the Node.js
//! packages are thin adapters over it, so every language gets the same answers and sentences.
//!
//! Calls may come from any thread at once. Calls that store a license (activation, an offline
//! answer) work on a fresh instance of the workstation and swap it in, so seats held meanwhile
//! keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tenure_core::{SeatKind, Status};

use crate::keeper::SeatListener;
use crate::product_db::{DbSpec, DeviceAnswer};
use crate::workstation::{AllocationsError, ConcurrentSeatsError, NamedSeatsError};
use crate::{
    Authorization, EngineError, OfflineWish, Profile, Roots, SeatAnswer, SeatKeeper, SeatRefusal,
    SecretStore, Workstation,
};

/// How long a call may take unless the product says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What kind of trouble a call met; each front-end maps it to its own error code or class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is wrong (a malformed key, device id, database URL …).
    InvalidArgument,
    /// There is no license here yet.
    NotActivated,
    /// The license server could not be reached, or refused the request.
    Server,
    /// The product database could not be used.
    Database,
    /// The OS keyring could not be used.
    Keyring,
    /// A file or signed document was refused.
    Refused,
    /// The call took longer than the time limit.
    Timeout,
    /// A file could not be read or written.
    Io,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The error's class in the Python and Node.js packages.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::NotActivated => "NotActivated",
            ErrorKind::Server => "ServerError",
            ErrorKind::Database => "DatabaseError",
            ErrorKind::Keyring => "KeyringError",
            ErrorKind::Refused => "FileRefused",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Io | ErrorKind::Other => "TenureError",
        }
    }
}

/// A grant or a refusal as every front-end for other languages gives it: the refusal's stable
/// reason code (empty when granted) and the sentence to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True when granted.
    pub granted: bool,
    /// Why not, when refused (`Reason::code`, `SeatRefusal::code`, `devices_full`).
    pub reason: &'static str,
    /// The sentence the app shows.
    pub sentence: String,
}

impl Verdict {
    /// A grant saying `sentence`.
    pub fn granted(sentence: String) -> Self {
        Self {
            granted: true,
            reason: "",
            sentence,
        }
    }

    /// A refusal for `reason`, saying `sentence`.
    pub fn refused(reason: &'static str, sentence: String) -> Self {
        Self {
            granted: false,
            reason,
            sentence,
        }
    }
}

impl From<Authorization> for Verdict {
    fn from(answer: Authorization) -> Self {
        match answer {
            Authorization::Granted(grant) => Self::granted(grant.to_string()),
            Authorization::Refused(refusal) => {
                Self::refused(refusal.reason.code(), refusal.to_string())
            }
        }
    }
}

impl From<&DeviceAnswer> for Verdict {
    fn from(answer: &DeviceAnswer) -> Self {
        match answer {
            DeviceAnswer::Licensed { .. } => Self::granted(answer.to_string()),
            DeviceAnswer::Refused { .. } => Self::refused("devices_full", answer.to_string()),
            DeviceAnswer::Capped { .. } => Self::refused("device_churn", answer.to_string()),
        }
    }
}

/// An offline wish by its name, as the Python and Node.js packages take it: `validate`,
/// `extend` (with `days`), `activate` (with the key as `argument`), `rebind` (with the reason).
pub fn offline_wish(
    name: &str,
    argument: Option<String>,
    days: u32,
) -> Result<OfflineWish, EmbeddedError> {
    Ok(match (name, argument) {
        ("activate", Some(key)) => OfflineWish::Activate(key),
        ("validate", _) => OfflineWish::Validate,
        ("rebind", Some(reason)) => OfflineWish::Rebind(reason),
        ("extend", _) => OfflineWish::Extend(days),
        (other, _) => {
            return Err(EmbeddedError::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{other:?} is not an offline wish: give \"validate\", \"extend\" (with days), \"activate\" (with the key) or \"rebind\" (with the reason)"
                ),
            ));
        }
    })
}

/// A failed call: its kind and the sentence the app would show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EmbeddedError {
    /// What kind of trouble.
    pub kind: ErrorKind,
    /// The sentence to show.
    pub message: String,
}

impl EmbeddedError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<EngineError> for EmbeddedError {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::Key(_) => ErrorKind::InvalidArgument,
            EngineError::Api(_) | EngineError::NoServer | EngineError::Mismatched(_) => {
                ErrorKind::Server
            }
            EngineError::Secret(_) => ErrorKind::Keyring,
            EngineError::Db(_) | EngineError::NoBinding => ErrorKind::Database,
            EngineError::Document(_)
            | EngineError::Untrusted(_)
            | EngineError::Import(_)
            | EngineError::Moved { .. }
            | EngineError::RootsPinned
            | EngineError::OfflineOnly => ErrorKind::Refused,
            EngineError::NotActivated | EngineError::NoTrustedKeys | EngineError::NoCredential => {
                ErrorKind::NotActivated
            }
            EngineError::Cache(_) | EngineError::Settings(_) => ErrorKind::Io,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<NamedSeatsError> for EmbeddedError {
    fn from(e: NamedSeatsError) -> Self {
        match e {
            NamedSeatsError::Workstation(e) => e.into(),
            NamedSeatsError::NoDatabase | NamedSeatsError::Db(_) => {
                Self::new(ErrorKind::Database, e.to_string())
            }
            NamedSeatsError::Save(_) => Self::new(ErrorKind::InvalidArgument, e.to_string()),
        }
    }
}

impl From<ConcurrentSeatsError> for EmbeddedError {
    fn from(e: ConcurrentSeatsError) -> Self {
        match e {
            ConcurrentSeatsError::Workstation(e) => e.into(),
            ConcurrentSeatsError::Cache(_) => Self::new(ErrorKind::Io, e.to_string()),
            ConcurrentSeatsError::Policy(_) => Self::new(ErrorKind::InvalidArgument, e.to_string()),
            ConcurrentSeatsError::Refused(_) | ConcurrentSeatsError::Session(_) => {
                Self::new(ErrorKind::Refused, e.to_string())
            }
            ConcurrentSeatsError::NoDatabase | ConcurrentSeatsError::Db(_) => {
                Self::new(ErrorKind::Database, e.to_string())
            }
        }
    }
}

impl From<AllocationsError> for EmbeddedError {
    fn from(e: AllocationsError) -> Self {
        match e {
            AllocationsError::Workstation(e) => e.into(),
            AllocationsError::NoDatabase | AllocationsError::Db(_) => {
                Self::new(ErrorKind::Database, e.to_string())
            }
            _ => Self::new(ErrorKind::InvalidArgument, e.to_string()),
        }
    }
}

/// Where a product's workstation lives; `None` takes what the `tenure` app would.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The profile folder (`TENURE_HOME` or the OS's folders when `None`).
    pub profile: Option<PathBuf>,
    /// The product database: a SQLite path or a `postgres://` URL (when `None`: `TENURE_DB`
    /// if set, as for the app, else the profile's choice).
    pub product_db: Option<String>,
    /// The license server's URL (the profile's when `None`).
    pub server: Option<String>,
    /// The vendor roots this build trusts.
    pub roots: Roots,
    /// Where secrets live: the OS keyring of the profile when `None`.
    pub secrets: Option<SecretStore>,
    /// The longest a call may take.
    pub timeout: Duration,
}

impl EmbeddedConfig {
    /// The app's defaults with these roots.
    pub fn new(roots: Roots) -> Self {
        Self {
            profile: None,
            product_db: None,
            server: None,
            roots,
            secrets: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Where the license stands, as a product asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductStatus {
    /// The status itself.
    pub status: Status,
    /// The product database could not be used: the product cannot work here whatever the
    /// license says; why.
    pub database_problem: Option<String>,
    /// The sentence the app shows.
    pub sentence: String,
    /// Offline grace days left, when licensed.
    pub grace_days_left: Option<u32>,
    /// When the grace ends, when licensed.
    pub offline_until: Option<DateTime<Utc>>,
    /// When the license ends (the end of its last day, UTC).
    pub expires_at: Option<DateTime<Utc>>,
    /// Seats the license grants, and of which kind.
    pub seats: Option<(SeatKind, u32)>,
    /// Modules usable today.
    pub modules: Vec<String>,
    /// A development build: no vendor roots built in, licenses not protected.
    pub development_build: bool,
}

impl ProductStatus {
    /// The state as the CLI's exit code (`tenure status`): 0 licensed, 2 grace expired, …,
    /// 9 the product database cannot be used.
    pub fn code(&self) -> u8 {
        if self.database_problem.is_some() {
            EXIT_DATABASE
        } else {
            self.status.exit_code()
        }
    }
}

/// The state code when the product database cannot be used (as `tenure status`).
pub const EXIT_DATABASE: u8 = 9;

/// The one runtime every embedded workstation shares, made on first use: two workers run the
/// heartbeats; each call runs on its caller's thread (`block_on`).
fn runtime() -> Result<&'static tokio::runtime::Runtime, EmbeddedError> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let made = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tenure-embedded")
        .enable_all()
        .build()
        .map_err(|e| {
            EmbeddedError::new(
                ErrorKind::Other,
                format!("cannot start Tenure's runtime: {e}"),
            )
        })?;
    Ok(RUNTIME.get_or_init(|| made))
}

/// A product's workstation: open once, ask many times, from any thread.
pub struct Embedded {
    config: EmbeddedConfig,
    current: RwLock<Arc<Workstation>>,
    /// Why the product database could not be used at open, if it could not.
    database_problem: RwLock<Option<String>>,
    timeout: RwLock<Duration>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Opens the profile and connects the product database. A database that cannot be used
    /// does not fail the open: the status says so (code 9) and calls that need it fail.
    pub fn open(config: EmbeddedConfig) -> Result<Self, EmbeddedError> {
        let timeout = checked_timeout(config.timeout)?;
        // The keyring is asked first, before the runtime starts: its answers are the longest
        // wait of a product's start.
        let workstation = open_workstation(&config)?;
        workstation.read_secrets_ahead();
        let (workstation, problem) = within(timeout, connect(workstation))?;
        Ok(Self {
            config,
            current: RwLock::new(Arc::new(workstation)),
            database_problem: RwLock::new(problem),
            timeout: RwLock::new(timeout),
        })
    }

    /// Sets the longest any later call may take; zero is refused.
    pub fn set_timeout(&self, timeout: Duration) -> Result<(), EmbeddedError> {
        let timeout = checked_timeout(timeout)?;
        if let Ok(mut t) = self.timeout.write() {
            *t = timeout;
        }
        Ok(())
    }

    /// The longest a call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout.read().map_or(DEFAULT_TIMEOUT, |t| *t)
    }

    /// The workstation now (an activation may have replaced it).
    pub fn workstation(&self) -> Arc<Workstation> {
        match self.current.read() {
            Ok(ws) => ws.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Runs `work` on the workstation within the time limit.
    fn run<T, F>(&self, work: impl FnOnce(Arc<Workstation>) -> F) -> Result<T, EmbeddedError>
    where
        F: Future<Output = Result<T, EmbeddedError>>,
    {
        within(self.timeout(), work(self.workstation()))?
    }

    /// Where the license stands now.
    pub fn status(&self) -> Result<ProductStatus, EmbeddedError> {
        let report = self.workstation().report(Utc::now())?;
        Ok(self.product_status(&report))
    }

    fn product_status(&self, report: &crate::Report) -> ProductStatus {
        let database_problem = self.database_problem.read().ok().and_then(|p| p.clone());
        let license = report.license.as_ref();
        let today = Utc::now().date_naive();
        let grace = report.status.grace();
        let sentence = match &database_problem {
            Some(problem) => format!("The product database cannot be used: {problem}"),
            None => format!("{}. {}", report.status.label(), report.status.advice()),
        };
        ProductStatus {
            database_problem,
            sentence,
            grace_days_left: grace.map(|g| g.days_left),
            offline_until: grace.map(|g| g.offline_until),
            expires_at: license.map(|l| l.terms.validity.ends_at()),
            seats: license.map(|l| (l.terms.kind, l.terms.seats)),
            modules: license
                .map(|l| {
                    l.terms
                        .modules
                        .iter()
                        .filter(|m| m.validity.starts <= today && today <= m.validity.expires)
                        .map(|m| m.name.clone())
                        .collect()
                })
                .unwrap_or_default(),
            development_build: !self.config.roots.is_pinned(),
            status: report.status.clone(),
        }
    }

    /// Validates online: the offline grace restarts. Offline, the error says so and the cached
    /// license keeps working within its grace.
    pub fn validate(&self) -> Result<ProductStatus, EmbeddedError> {
        let server = self.config.server.clone();
        let report = self.run(async |ws| {
            let api = ws.server().api(server.as_deref())?;
            Ok(ws.validate(&api, Utc::now()).await?)
        })?;
        Ok(self.product_status(&report))
    }

    /// True when the license allows work now and grants module `name` today.
    pub fn module_enabled(&self, name: &str) -> Result<bool, EmbeddedError> {
        let status = self.status()?;
        Ok(status.code() == 0 && status.modules.iter().any(|m| m == name))
    }

    /// May `user` work now (named-user seats)?
    pub fn authorize(&self, user: &str) -> Result<Authorization, EmbeddedError> {
        self.run(async |ws| Ok(ws.named_seats().authorize(user, Utc::now()).await?))
    }

    /// Takes a concurrent seat for `user` on `machine` (this computer's name when `None`) and
    /// keeps it with heartbeats; `listener` hears when it is lost. A refusal is the answer.
    pub fn take_seat(
        &self,
        user: &str,
        machine: Option<&str>,
        listener: Option<SeatListener>,
    ) -> Result<Result<HeldSeat, SeatAnswer>, EmbeddedError> {
        let machine = machine.map_or_else(crate::local_host_name, str::to_owned);
        let timeout = self.timeout();
        let taken =
            self.run(async |ws| Ok(SeatKeeper::take_with(ws, user, &machine, listener).await?))?;
        Ok(taken.map(|keeper| HeldSeat { keeper, timeout }))
    }

    /// As [`Self::take_seat`], but when no seat is free `user` waits in line for one, at most
    /// `max_wait`: the next seat freed goes to the head of the line. `on_place` hears each
    /// place it is given ("You are 2nd in line for a seat; …"), on the caller's thread. When
    /// the time is up it leaves the line and fails with [`ErrorKind::Timeout`]. A refusal that
    /// waiting cannot mend (the license does not allow work now) is the answer.
    pub fn wait_for_seat(
        &self,
        user: &str,
        machine: Option<&str>,
        listener: Option<SeatListener>,
        max_wait: Duration,
        on_place: impl FnMut(&SeatRefusal),
    ) -> Result<Result<HeldSeat, SeatAnswer>, EmbeddedError> {
        let max_wait = checked_timeout(max_wait)?;
        let machine = machine.map_or_else(crate::local_host_name, str::to_owned);
        let waiting = SeatKeeper::wait(self.workstation(), user, &machine, listener, on_place);
        match within(max_wait, waiting) {
            Ok(taken) => {
                let timeout = self.timeout();
                Ok(taken?.map(|keeper| HeldSeat { keeper, timeout }))
            }
            Err(e) if e.kind == ErrorKind::Timeout => {
                self.run(async |ws| Ok(ws.concurrent_seats().leave_line(user, &machine).await?))?;
                Err(EmbeddedError::new(
                    ErrorKind::Timeout,
                    format!(
                        "no seat came free for {user} within {} s, so they left the line: wait \
                         again, or wait longer",
                        max_wait.as_secs_f32()
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Ends a concurrent session as an admin (`tenure sessions end ID`): the seat is free at
    /// once and its holder's next heartbeat is told who ended it; a borrowed seat is revoked
    /// (see [`crate::Ending`]). False when none was open.
    pub fn end_session(&self, id: &str) -> Result<bool, EmbeddedError> {
        self.run(async |ws| {
            let ending = ws.concurrent_seats().end_session(id, Utc::now()).await?;
            Ok(ending != crate::Ending::NotHeld)
        })
    }

    /// The seat borrowed onto this machine, if any: whose, and until when.
    pub fn borrow_status(&self) -> Result<Option<crate::BorrowStatus>, EmbeddedError> {
        Ok(self
            .workstation()
            .concurrent_seats()
            .borrow_status(Utc::now())?)
    }

    /// A device says its id and type: it keeps or takes a license of its type, or is refused.
    pub fn register_device(
        &self,
        id: &str,
        device_type: &str,
    ) -> Result<DeviceAnswer, EmbeddedError> {
        self.run(async |ws| {
            Ok(ws
                .allocations()
                .register_device(id, device_type, Utc::now())
                .await?)
        })
    }

    /// An offline request file (armored text) for the vendor.
    pub fn offline_request(&self, wish: &OfflineWish) -> Result<String, EmbeddedError> {
        self.run(async |ws| Ok(ws.offline_files().offline_request(wish, Utc::now()).await?))
    }

    /// Imports the vendor's signed answer (a license file).
    pub fn offline_import(&self, bytes: &[u8]) -> Result<ProductStatus, EmbeddedError> {
        let report = self.replace(async |ws| Ok(ws.offline_import(bytes, Utc::now()).await?))?;
        Ok(self.product_status(&report))
    }

    /// As [`Self::offline_import`], from the file at `path`.
    pub fn offline_import_file(&self, path: &Path) -> Result<ProductStatus, EmbeddedError> {
        let bytes = std::fs::read(path).map_err(|e| {
            EmbeddedError::new(
                ErrorKind::Io,
                format!("cannot read the license file {}: {e}", path.display()),
            )
        })?;
        self.offline_import(&bytes)
    }

    /// Activates a license key for the product database's binding.
    pub fn activate(&self, key: &str) -> Result<ProductStatus, EmbeddedError> {
        let server = self.config.server.clone();
        let report = self.replace(async |ws| {
            let binding = ws
                .database()
                .current_binding()
                .ok_or(EngineError::NoBinding)?;
            let api = ws.server().api(server.as_deref())?;
            Ok(ws.activate(&api, key, binding, Utc::now()).await?)
        })?;
        Ok(self.product_status(&report))
    }

    /// Runs `work` on a fresh instance of the workstation and, when it succeeds, makes that
    /// instance the current one.
    fn replace<T>(
        &self,
        work: impl AsyncFnOnce(&mut Workstation) -> Result<T, EmbeddedError>,
    ) -> Result<T, EmbeddedError> {
        let fresh = open_workstation(&self.config)?;
        let (value, fresh, problem) = within(self.timeout(), async {
            let (mut fresh, problem) = connect(fresh).await;
            let value = work(&mut fresh).await?;
            Ok::<_, EmbeddedError>((value, fresh, problem))
        })??;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(fresh);
        }
        if let Ok(mut p) = self.database_problem.write() {
            *p = problem;
        }
        Ok(value)
    }

    /// Closes the product database (SQLite folds its log into the file).
    pub fn close(&self) -> Result<(), EmbeddedError> {
        self.run(async |ws| {
            ws.close().await;
            Ok(())
        })
    }
}

/// A concurrent seat kept by heartbeats until released or dropped (dropping stops the
/// heartbeats: the seat comes free when its lease ends).
#[derive(Debug)]
pub struct HeldSeat {
    keeper: SeatKeeper,
    timeout: Duration,
}

impl HeldSeat {
    /// The session holding the seat.
    pub fn session_id(&self) -> &str {
        &self.keeper.session().id
    }

    /// Why the seat is gone, when it is.
    pub fn lost(&self) -> Option<String> {
        self.keeper.state().lost
    }

    /// Reports the product idle or in use again, from the next heartbeat on (see
    /// [`SeatKeeper::set_idle`]).
    pub fn set_idle(&self, idle: bool) {
        self.keeper.set_idle(idle);
    }

    /// Gives the seat back now.
    pub fn release(self) -> Result<bool, EmbeddedError> {
        within(self.timeout, self.keeper.release())?.map_err(EmbeddedError::from)
    }
}

/// Runs `future` on the shared runtime from the caller's thread, for at most `limit`.
fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, EmbeddedError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // A seat listener runs on a heartbeat; waiting there would stop the heartbeats.
        return Err(EmbeddedError::new(
            ErrorKind::InvalidArgument,
            "Tenure was called from inside a seat listener or an async runtime: note the event there and call Tenure from your own thread",
        ));
    }
    let rt = runtime()?;
    rt.block_on(async { tokio::time::timeout(limit, future).await })
        .map_err(|_| {
            EmbeddedError::new(
                ErrorKind::Timeout,
                format!(
                    "no answer within {} s: the license server or the product database is slow or unreachable; try again, or allow more time",
                    limit.as_secs_f32()
                ),
            )
        })
}

/// A time limit every call can meet: zero would fail each call before it starts.
fn checked_timeout(timeout: Duration) -> Result<Duration, EmbeddedError> {
    if timeout.is_zero() {
        return Err(EmbeddedError::new(
            ErrorKind::InvalidArgument,
            "a time limit of 0 would make every call fail at once: give one above zero \
             (the default is 30 s)",
        ));
    }
    Ok(timeout)
}

/// Opens the workstation `config` names, with the product database given for this run (not
/// connected yet).
fn open_workstation(config: &EmbeddedConfig) -> Result<Workstation, EmbeddedError> {
    let profile = match &config.profile {
        Some(dir) => Profile::at(dir),
        None => Profile::from_env(),
    };
    let product_db = config
        .product_db
        .clone()
        .or_else(|| std::env::var("TENURE_DB").ok().filter(|db| !db.is_empty()));
    let spec = product_db
        .as_deref()
        .map(DbSpec::parse)
        .transpose()
        .map_err(|e| EmbeddedError::new(ErrorKind::InvalidArgument, e.to_string()))?;
    let secrets = config
        .secrets
        .clone()
        .unwrap_or_else(|| SecretStore::keyring(profile.keyring_namespace()));
    Ok(Workstation::open(profile, secrets, config.roots.clone())?.with_run_database(spec))
}

/// Connects `workstation`'s product database; a database that cannot be used is returned as a
/// problem, not an error.
async fn connect(mut workstation: Workstation) -> (Workstation, Option<String>) {
    let problem = match workstation.connect(Utc::now()).await {
        Ok(()) => None,
        Err(e) => Some(e.to_string()),
    };
    (workstation, problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keeper::{SeatEvent, tell};

    #[test]
    fn a_listener_that_panics_is_caught() {
        let told = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = told.clone();
        let listener: SeatListener = Arc::new(move |_event: &SeatEvent| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("a product's listener fails");
        });
        tell(&listener, &SeatEvent::Lost("ended".into()));
        tell(&listener, &SeatEvent::Recovered);
        assert_eq!(told.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_call_from_inside_a_runtime_is_refused_not_deadlocked() {
        let rt = runtime().expect("runtime");
        let answer = rt.block_on(async { within(Duration::from_secs(1), async { 1 }) });
        let e = answer.expect_err("refused");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("seat listener"), "{e}");
    }

    #[test]
    fn a_slow_call_ends_at_the_limit() {
        let e =
            within(Duration::from_millis(50), std::future::pending::<()>()).expect_err("timed out");
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("allow more time"), "{e}");
    }
}
