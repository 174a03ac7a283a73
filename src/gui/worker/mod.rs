//! The background worker: every network, keyring, file and database call of the window runs
//! here, on a thread of its own with a tokio runtime, never on the UI thread.
//!
//! The UI sends [`Job`]s; the worker owns the `Workstation`, runs each job as a task that can be
//! cancelled, and answers with [`Event`]s — always ending with a fresh [`Snapshot`] — then asks
//! egui for a repaint.

mod allocations;
mod offline;
mod sessions;
mod users;
mod watch;

pub use users::{Loaded, SaveOutcome};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tenure_client::{ApiClient, Credentials, Report, Workstation};
use tenure_core::Binding;
use tenure_core::protocol::AccountLicense;

use crate::present::Outcome;

/// What a request needs that the workstation may lack, asked for in the dialog that needs it
/// (the license server's address, the account) and kept just before the request runs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FirstNeeds {
    /// The license server's address, when none is set.
    pub server_url: Option<String>,
    /// The account and its token, when none is signed in.
    pub sign_in: Option<Credentials>,
}

impl std::fmt::Debug for FirstNeeds {
    // The token is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstNeeds")
            .field("server_url", &self.server_url)
            .field("account", &self.sign_in.as_ref().map(|c| &c.account))
            .finish_non_exhaustive()
    }
}

impl FirstNeeds {
    /// True when nothing is needed first.
    pub fn is_empty(&self) -> bool {
        self.server_url.is_none() && self.sign_in.is_none()
    }
}

/// What the UI asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Keep what `first` gives (the server's address, the account), then run `job`; when that
    /// fails, `job` does not run.
    After {
        /// What to keep first.
        first: FirstNeeds,
        /// The request that needs it.
        job: Box<Job>,
    },
    /// Recompute the status.
    Refresh,
    /// Validate online.
    Validate,
    /// The start-up validation: like `Validate`, but quietly nothing when there is no license.
    ValidateIfLicensed,
    /// Activate a key for a binding.
    Activate {
        /// The key as typed.
        key: String,
        /// Server name and database as typed.
        server_name: String,
        /// Database name.
        database: String,
    },
    /// Ask for a grace extension of this many days.
    ExtendGrace(u32),
    /// Move the license to the current binding.
    Rebind,
    /// Store credentials.
    Login {
        /// Account name.
        account: String,
        /// Token (secret).
        token: String,
    },
    /// Forget credentials.
    Logout,
    /// Keep secrets in a plain file from now on (asked first), then connect again.
    KeepSecretsInFile,
    /// Save the server URL.
    SetServerUrl(String),
    /// Trust a vendor key file.
    TrustFile(PathBuf),
    /// Trust a vendor key, certificate or revocation list pasted as text.
    TrustText(String),
    /// Stop trusting a key.
    Untrust(String),
    /// Check whether the server answers.
    CheckServer,
    /// Check quietly whether the server answers again (the status strip follows; no message).
    ProbeServer,
    /// List the account's licenses.
    ListAccountLicenses,
    /// Connect the product database: this text (saved to settings), or the saved one.
    ConnectDb(Option<String>),
    /// Load the users and seats.
    LoadUsers,
    /// Save edits made on top of version `expected`.
    SaveUsers {
        /// The version the edits were made on.
        expected: i64,
        /// The edits, in order.
        changes: Vec<tenure_core::directory::Change>,
    },
    /// Read and check a CSV file of users (the screen turns it into edits).
    ImportUsers(PathBuf),
    /// Write the users to a CSV file.
    ExportUsers(PathBuf),
    /// End a concurrent session (admin).
    EndSession(String),
    /// Take a waiter out of the line for a seat (admin).
    RemoveWaiter(String),
    /// Move a waiter to a place in its line (admin).
    MoveWaiter {
        /// The waiter's id.
        id: String,
        /// Its new place, 1 for the head.
        place: u32,
    },
    /// Set a group's priority in the line for a concurrent seat (admin).
    GroupPriority {
        /// The group.
        group: String,
        /// Its priority: higher waits ahead.
        priority: i64,
    },
    /// Borrow a concurrent seat onto this machine for this many days.
    Borrow(u32),
    /// Give the borrowed seat back now.
    ReturnBorrow,
    /// Write an offline request file.
    OfflineRequest {
        /// What it asks.
        wish: tenure_client::OfflineWish,
        /// Where.
        path: PathBuf,
    },
    /// Import a signed answer file.
    OfflineImport(PathBuf),
    /// Stop the license here and write the release file for the vendor's portal.
    OfflineRelease(PathBuf),
    /// Write the current license file.
    ExportLicense(PathBuf),
    /// Load the pools, their split, groups and devices.
    LoadAllocations,
    /// Stack another license (its key) on this database.
    StackLicense(String),
    /// Save allocation changes made on top of version `expected`.
    SaveAllocations {
        /// The version the changes were made on.
        expected: i64,
        /// The changes, in order.
        changes: Vec<tenure_client::product_db::AllocationChange>,
        /// A tenant's admin: only that tenant's own groups.
        tenant: Option<String>,
    },
    /// Write the usage report to a CSV file: per user when `by_user`, else per day.
    ExportUsage {
        /// Where.
        path: PathBuf,
        /// Per user instead of per day.
        by_user: bool,
    },
}

impl Job {
    /// `job`, after keeping what `first` gives (just `job` when it gives nothing).
    pub fn after(first: FirstNeeds, job: Job) -> Job {
        if first.is_empty() {
            job
        } else {
            Job::After {
                first,
                job: Box::new(job),
            }
        }
    }

    /// What the UI shows while it runs.
    pub fn kind(&self) -> JobKind {
        match self {
            Job::After { job, .. } => job.kind(),
            Job::Refresh => JobKind::Refresh,
            Job::Validate | Job::ValidateIfLicensed => JobKind::Validate,
            Job::Activate { .. } => JobKind::Activate,
            Job::ExtendGrace(_) => JobKind::ExtendGrace,
            Job::Rebind => JobKind::Rebind,
            Job::Login { .. } | Job::Logout | Job::KeepSecretsInFile => JobKind::Account,
            Job::SetServerUrl(_) | Job::TrustFile(_) | Job::TrustText(_) | Job::Untrust(_) => {
                JobKind::Settings
            }
            Job::CheckServer => JobKind::CheckServer,
            Job::ProbeServer => JobKind::Probe,
            Job::ListAccountLicenses => JobKind::AccountLicenses,
            Job::ConnectDb(_) => JobKind::Database,
            Job::LoadUsers => JobKind::LoadUsers,
            Job::SaveUsers { .. } => JobKind::SaveUsers,
            Job::ImportUsers(_) | Job::ExportUsers(_) => JobKind::UsersFile,
            Job::EndSession(_) | Job::RemoveWaiter(_) | Job::MoveWaiter { .. } => JobKind::Sessions,
            Job::Borrow(_) | Job::ReturnBorrow => JobKind::Borrow,
            Job::ExportUsage { .. } => JobKind::UsageFile,
            Job::LoadAllocations => JobKind::LoadAllocations,
            Job::SaveAllocations { .. } | Job::StackLicense(_) | Job::GroupPriority { .. } => {
                JobKind::Allocations
            }
            Job::OfflineRequest { .. }
            | Job::OfflineImport(_)
            | Job::OfflineRelease(_)
            | Job::ExportLicense(_) => JobKind::Offline,
        }
    }
}

/// Families of jobs, for spinners and result messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// Status refresh.
    Refresh,
    /// Validate now.
    Validate,
    /// Activation.
    Activate,
    /// Grace extension.
    ExtendGrace,
    /// Re-validation after a restore.
    Rebind,
    /// Sign in or out.
    Account,
    /// Settings changes.
    Settings,
    /// Server reachability.
    CheckServer,
    /// The quiet background check of a server that did not answer.
    Probe,
    /// The account's license list.
    AccountLicenses,
    /// Connecting the product database.
    Database,
    /// Loading users.
    LoadUsers,
    /// Saving seat changes.
    SaveUsers,
    /// Reading or writing a CSV file of users.
    UsersFile,
    /// Ending a session.
    Sessions,
    /// Borrowing or returning a seat.
    Borrow,
    /// Writing the usage report.
    UsageFile,
    /// Offline request and answer files.
    Offline,
    /// Loading the allocations: a save does not wait for it (the jobs take the workstation in
    /// turn, so the save's overview is the one shown last).
    LoadAllocations,
    /// Saving allocations or stacking a license.
    Allocations,
}

impl JobKind {
    /// True for jobs after which the license or the database may be another: the screens that
    /// show what they hold load it again.
    pub fn changes_the_license(self) -> bool {
        matches!(
            self,
            JobKind::Database
                | JobKind::Activate
                | JobKind::Rebind
                | JobKind::Validate
                | JobKind::ExtendGrace
                | JobKind::Offline
        )
    }
}

impl JobKind {
    /// "Validating…", for the progress line.
    pub fn doing(self) -> &'static str {
        match self {
            JobKind::Refresh => "Reading the license…",
            JobKind::Validate => "Validating with the license server…",
            JobKind::Activate => "Activating…",
            JobKind::ExtendGrace => "Requesting a grace extension…",
            JobKind::Rebind => "Re-validating for this database…",
            JobKind::Account => "Updating the account credentials…",
            JobKind::Settings => "Saving settings…",
            JobKind::CheckServer => "Contacting the license server…",
            JobKind::Probe => "Checking whether the license server is back…",
            JobKind::AccountLicenses => "Loading your account's licenses…",
            JobKind::Database => "Connecting to the product database…",
            JobKind::LoadUsers => "Loading users…",
            JobKind::SaveUsers => "Saving seat changes…",
            JobKind::UsersFile => "Working on the CSV file…",
            JobKind::Sessions => "Changing the sessions…",
            JobKind::Borrow => "Updating the borrowed seat…",
            JobKind::UsageFile => "Writing the usage report…",
            JobKind::Offline => "Working on the offline file…",
            JobKind::LoadAllocations => "Loading allocations…",
            JobKind::Allocations => "Saving the allocations…",
        }
    }
}

/// Everything the window shows, computed by the worker.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was computed.
    pub at: DateTime<Utc>,
    /// The report, or why it could not be made.
    pub report: Result<Report, String>,
    /// The server URL.
    pub server_url: Option<String>,
    /// Vendor root key ids.
    pub roots: Vec<String>,
    /// Where the trusted roots come from.
    pub roots_from: RootsFrom,
    /// Certified signing key ids known beyond those carried by licenses.
    pub signing_keys: Vec<String>,
    /// Which secret store holds the secrets, in words.
    pub secrets: String,
    /// True when that is the OS keyring.
    pub secrets_in_keyring: bool,
    /// Why the secret store cannot be used right now (no keyring, locked), if so.
    pub secrets_problem: Option<SecretsProblem>,
    /// The signed-in account, if any.
    pub account: Option<String>,
    /// The binding in force.
    pub binding: Option<Binding>,
    /// The product database connected, in words (no password).
    pub database: Option<String>,
    /// The product database setting in use (no password), for the Settings field.
    pub database_setting: String,
    /// True when the product database was given for this run (`--db`, `TENURE_DB`).
    pub database_from_flag: bool,
    /// Why the license in the product database cannot be used here, if it cannot.
    pub database_license_problem: Option<String>,
    /// The latest audit events, newest first.
    pub events: Vec<tenure_client::product_db::AuditEvent>,
    /// Named seats in use over the last 90 days, oldest first.
    pub seat_counts: Vec<tenure_client::product_db::SeatCount>,
    /// Concurrent sessions holding a seat now (empty unless the license is concurrent).
    pub sessions: Vec<tenure_client::product_db::Session>,
    /// Users waiting in line for a concurrent seat, head first.
    pub queue: Vec<tenure_client::product_db::Waiter>,
    /// Concurrent seat usage over the last 30 days (concurrent licenses only).
    pub usage: Option<tenure_core::usage::Usage>,
    /// How the concurrent pool's seats float here: linger, idle release (concurrent only).
    pub floating: Option<tenure_client::product_db::FloatingPolicy>,
    /// The seat borrowed onto this machine, if any.
    pub borrow: Option<tenure_client::BorrowStatus>,
}

/// Where the vendor roots the workstation trusts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootsFrom {
    /// Built into this program: none can be added.
    BuiltIn,
    /// Made for the demo; `program_has_roots` says whether the program itself carries any.
    Demo {
        /// False for a development build.
        program_has_roots: bool,
    },
    /// A development build: roots added by hand are believed.
    AddedByHand,
}

impl RootsFrom {
    /// True when roots are fixed (built in or the demo's): none can be added or removed.
    pub fn is_pinned(self) -> bool {
        self != RootsFrom::AddedByHand
    }
}

/// Why the secret store cannot be used right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsProblem {
    /// No keyring answers.
    Unreachable(String),
    /// The keyring is there but locked.
    Locked(String),
    /// The plain secrets file the user chose cannot be read or written.
    File(String),
}

impl SecretsProblem {
    /// The problem, if the store has one.
    fn of(secrets: &tenure_client::SecretStore) -> Option<Self> {
        use tenure_client::SecretError;
        Some(match secrets.probe().err()? {
            SecretError::Unavailable { detail } => SecretsProblem::Unreachable(detail),
            SecretError::Locked { detail } => SecretsProblem::Locked(detail),
            SecretError::File(detail) => SecretsProblem::File(detail),
        })
    }

    /// One plain sentence: what is wrong, what it stops, and what to do.
    pub fn sentence(&self) -> String {
        match self {
            SecretsProblem::Unreachable(_) => "The OS keyring cannot be reached, so Tenure cannot open its license cache or your account's token. Start or unlock your keyring (GNOME Keyring, KWallet or KeePassXC) and Retry, or keep these secrets in a file on this computer instead.".to_owned(),
            SecretsProblem::Locked(_) => "The OS keyring is locked, so Tenure cannot open its license cache or your account's token. Unlock it and Retry.".to_owned(),
            SecretsProblem::File(detail) => format!("The plain secrets file cannot be used ({detail}). Check that it is yours and readable, then Retry."),
        }
    }

    /// What the platform said, for those who want it.
    pub fn detail(&self) -> &str {
        match self {
            SecretsProblem::Unreachable(d)
            | SecretsProblem::Locked(d)
            | SecretsProblem::File(d) => d,
        }
    }

    /// True when a plain file is an answer to it (no keyring can be used).
    pub fn file_helps(&self) -> bool {
        !matches!(self, SecretsProblem::File(_))
    }
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A job began.
    Started(JobKind),
    /// A job ended: a sentence for the user, or an error sentence.
    Finished {
        /// Which job.
        kind: JobKind,
        /// What it did, or the error message.
        outcome: Result<Outcome, String>,
    },
    /// Fresh state.
    Snapshot(Box<Snapshot>),
    /// Whether the server answered; with the reason when not.
    Reachability(Result<(), String>),
    /// The account's licenses.
    AccountLicenses(Result<Vec<AccountLicense>, String>),
    /// Users and seats, loaded.
    Users(Result<Loaded, String>),
    /// How a save of seat changes ended.
    UsersSaved(SaveOutcome),
    /// The rows of a CSV file to import, or why it cannot be.
    UsersImport(Result<Vec<tenure_client::users_csv::CsvUser>, String>),
    /// The pools, their split, groups and devices, loaded.
    Allocations(Result<Arc<tenure_client::Overview>, String>),
    /// Another process changed the product database (users, seats, devices, allocations):
    /// the screens that show them load them again.
    DatabaseChanged,
}

type Shared<T> = Arc<Mutex<T>>;

/// The UI's handle on the worker.
pub struct Worker {
    jobs: tokio::sync::mpsc::Sender<Job>,
    events: std::sync::mpsc::Receiver<Event>,
    running: Shared<Option<tokio::task::AbortHandle>>,
    repaint: Shared<Option<egui::Context>>,
}

impl Worker {
    /// Starts the worker thread for a workstation.
    pub fn spawn(workstation: Workstation) -> std::io::Result<Self> {
        let (job_tx, mut job_rx) = tokio::sync::mpsc::channel::<Job>(64);
        let (event_tx, event_rx) = std::sync::mpsc::sync_channel::<Event>(256);
        let running: Shared<Option<tokio::task::AbortHandle>> = Arc::default();
        let repaint: Shared<Option<egui::Context>> = Arc::default();
        let (running_w, repaint_w) = (running.clone(), repaint.clone());
        std::thread::Builder::new()
            .name("tenure-worker".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                else {
                    let _ = event_tx.send(Event::Finished {
                        kind: JobKind::Refresh,
                        outcome: Err("cannot start the background runtime".into()),
                    });
                    return;
                };
                let watched = [
                    workstation.profile().settings_path(),
                    workstation.profile().cache_path(),
                ];
                let workstation = Arc::new(tokio::sync::Mutex::new(workstation));
                let known = watch::Known::default();
                runtime.spawn(watch::watch(
                    workstation.clone(),
                    watched,
                    known.clone(),
                    Notifier {
                        tx: event_tx.clone(),
                        repaint: repaint_w.clone(),
                    },
                ));
                runtime.block_on(async move {
                    while let Some(job) = job_rx.recv().await {
                        let kind = job.kind();
                        let notify = Notifier {
                            tx: event_tx.clone(),
                            repaint: repaint_w.clone(),
                        };
                        notify.send(Event::Started(kind));
                        let ws = workstation.clone();
                        let task_notify = notify.clone();
                        let task =
                            tokio::spawn(async move { run_job(&ws, job, &task_notify).await });
                        if let Ok(mut slot) = running_w.lock() {
                            *slot = Some(task.abort_handle());
                        }
                        let outcome = match task.await {
                            Ok(outcome) => outcome,
                            Err(e) if e.is_cancelled() => {
                                Err("Cancelled. Nothing was changed.".into())
                            }
                            Err(_) => Err("the background task failed unexpectedly".into()),
                        };
                        if let Ok(mut slot) = running_w.lock() {
                            *slot = None;
                        }
                        // The fresh state first, so a finished job is never shown beside
                        // stale data; what it wrote to the database is this window's own.
                        let ws = workstation.lock().await;
                        known.note_own_changes(&ws).await;
                        notify.send(Event::Snapshot(Box::new(snapshot(&ws).await)));
                        drop(ws);
                        notify.send(Event::Finished { kind, outcome });
                    }
                });
            })?;
        Ok(Self {
            jobs: job_tx,
            events: event_rx,
            running,
            repaint,
        })
    }

    /// Tells the worker which egui context to wake when results arrive.
    pub fn set_repaint(&self, ctx: &egui::Context) {
        if let Ok(mut slot) = self.repaint.lock()
            && slot.is_none()
        {
            *slot = Some(ctx.clone());
        }
    }

    /// Queues a job. Returns false if the queue is full or the worker is gone.
    pub fn send(&self, job: Job) -> bool {
        self.jobs.try_send(job).is_ok()
    }

    /// Cancels the running job, if any.
    pub fn cancel(&self) {
        if let Ok(slot) = self.running.lock()
            && let Some(handle) = slot.as_ref()
        {
            handle.abort();
        }
    }

    /// Events that arrived since the last call.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }
}

#[derive(Clone)]
struct Notifier {
    tx: std::sync::mpsc::SyncSender<Event>,
    repaint: Shared<Option<egui::Context>>,
}

impl Notifier {
    fn send(&self, event: Event) {
        let _ = self.tx.send(event);
        if let Ok(slot) = self.repaint.lock()
            && let Some(ctx) = slot.as_ref()
        {
            ctx.request_repaint();
        }
    }
}

/// Computes what the window shows.
pub async fn snapshot(ws: &Workstation) -> Snapshot {
    let now = Utc::now();
    let events = ws.database().recent_events(200).await.unwrap_or_default();
    let seat_counts = ws
        .named_seats()
        .seat_counts(now - chrono::Duration::days(90))
        .await
        .unwrap_or_default();
    let report = ws.report(now).map_err(|e| e.to_string());
    let concurrent = report.as_ref().ok().is_some_and(|r| {
        r.license
            .as_ref()
            .is_some_and(|l| l.terms.kind == tenure_core::SeatKind::Concurrent)
    });
    let concurrent = sessions::concurrent_view(ws, concurrent, now).await;
    let (roots, signing_keys) = ws.vendor_keys().ids();
    Snapshot {
        database: ws.database().connected().map(|db| db.spec().to_string()),
        database_setting: ws
            .database()
            .spec()
            .map(|spec| match spec {
                tenure_client::product_db::DbSpec::Sqlite(path) => path.display().to_string(),
                postgres @ tenure_client::product_db::DbSpec::Postgres(_) => postgres
                    .to_string()
                    .trim_start_matches("PostgreSQL ")
                    .to_owned(),
            })
            .unwrap_or_default(),
        database_from_flag: ws.database().given_for_this_run(),
        database_license_problem: ws.database().license_problem().map(str::to_owned),
        events,
        seat_counts,
        sessions: concurrent.sessions,
        queue: concurrent.queue,
        usage: concurrent.usage,
        floating: concurrent.policy,
        borrow: ws.concurrent_seats().borrow_status(now).ok().flatten(),
        at: now,
        report,
        server_url: ws.settings().server_url.clone(),
        roots: roots.iter().map(ToString::to_string).collect(),
        roots_from: match ws.vendor_keys().roots() {
            tenure_client::Roots::Pinned(_) => RootsFrom::BuiltIn,
            tenure_client::Roots::Demo(_) => RootsFrom::Demo {
                program_has_roots: crate::vendor_roots().is_ok_and(|r| r.is_pinned()),
            },
            tenure_client::Roots::Development => RootsFrom::AddedByHand,
        },
        signing_keys: signing_keys.iter().map(ToString::to_string).collect(),
        secrets: ws.secrets().describe(),
        secrets_in_keyring: ws.secrets().is_keyring(),
        secrets_problem: SecretsProblem::of(ws.secrets()),
        account: ws.server().credentials().ok().flatten().map(|c| c.account),
        binding: ws.database().current_binding(),
    }
}

/// An engine error as the window says it: what went wrong, then where to go in the window.
pub(super) fn explained(e: impl std::error::Error + 'static) -> String {
    crate::advice::explain(&e, crate::advice::Front::Window)
}

/// A client for the configured server, or the reason there is none.
fn client_of(ws: &Workstation) -> Result<ApiClient, String> {
    ws.server().api(None).map_err(explained)
}

async fn run_job(
    ws: &tokio::sync::Mutex<Workstation>,
    job: Job,
    notify: &Notifier,
) -> Result<Outcome, String> {
    let now = Utc::now();
    let job_is_startup = job == Job::ValidateIfLicensed;
    match job {
        Job::After { first, job } => {
            keep_first(&mut *ws.lock().await, first, notify).await?;
            Box::pin(run_job(ws, *job, notify)).await
        }
        Job::Refresh => Ok(Outcome::Quiet),
        Job::Validate | Job::ValidateIfLicensed => validate_job(ws, job_is_startup, notify).await,
        Job::Activate {
            key,
            server_name,
            database,
        } => {
            let mut ws = ws.lock().await;
            if server_name.trim().is_empty() || database.trim().is_empty() {
                return Err("Enter the database server name and the database name.".into());
            }
            let binding = ws.database().binding_for(&server_name, &database);
            let client = client_of(&ws)?;
            let result = ws.activate(&client, &key, binding, now).await;
            note_reachability(notify, &result);
            let report = result.map_err(explained)?;
            Ok(Outcome::Activated(Box::new(report)))
        }
        Job::ExtendGrace(days) => {
            let ws = ws.lock().await;
            let client = client_of(&ws)?;
            let result = ws.extend_grace(&client, days, now).await;
            note_reachability(notify, &result);
            let report = result.map_err(explained)?;
            Ok(Outcome::Extended(Box::new(report)))
        }
        Job::Rebind => {
            let ws = ws.lock().await;
            let client = client_of(&ws)?;
            let result = ws
                .rebind(&client, "re-validated from the desktop app", now)
                .await;
            note_reachability(notify, &result);
            let report = result.map_err(explained)?;
            Ok(Outcome::Moved(Box::new(report)))
        }
        Job::KeepSecretsInFile => {
            let mut ws = ws.lock().await;
            ws.configure()
                .keep_secrets_in_plain_file()
                .map_err(explained)?;
            // The cache is rebuilt from the product database's copy of the license.
            ws.connect(now).await.map_err(explained)?;
            Ok(Outcome::SecretsInFile(ws.profile().plain_secrets_path()))
        }
        Job::Login { .. }
        | Job::Logout
        | Job::SetServerUrl(_)
        | Job::TrustFile(_)
        | Job::TrustText(_)
        | Job::Untrust(_) => settings_job(ws, job, notify).await,
        Job::ProbeServer | Job::CheckServer => health_job(ws, job, notify).await,
        Job::ListAccountLicenses => account_licenses_job(ws, notify).await,
        Job::ConnectDb(text) => connect_db_job(ws, text).await,
        Job::LoadUsers | Job::SaveUsers { .. } | Job::ImportUsers(_) | Job::ExportUsers(_) => {
            users::users_job(&*ws.lock().await, job, notify).await
        }
        Job::LoadAllocations
        | Job::SaveAllocations { .. }
        | Job::StackLicense(_)
        | Job::GroupPriority { .. } => {
            allocations::allocations_job(&*ws.lock().await, job, notify).await
        }
        Job::EndSession(_)
        | Job::RemoveWaiter(_)
        | Job::MoveWaiter { .. }
        | Job::Borrow(_)
        | Job::ReturnBorrow
        | Job::ExportUsage { .. } => sessions::sessions_job(&*ws.lock().await, job).await,
        Job::OfflineRequest { .. }
        | Job::OfflineImport(_)
        | Job::OfflineRelease(_)
        | Job::ExportLicense(_) => offline::offline_job(&mut *ws.lock().await, job).await,
    }
}

/// Asks the license server whether it answers: quietly (`ProbeServer`, the status strip says
/// what it found) or saying so (`CheckServer`).
async fn health_job(
    ws: &tokio::sync::Mutex<Workstation>,
    job: Job,
    notify: &Notifier,
) -> Result<Outcome, String> {
    let client = client_of(&*ws.lock().await);
    if job == Job::ProbeServer {
        let Ok(client) = client else {
            return Ok(Outcome::Quiet);
        };
        let result = client
            .health()
            .await
            .map_err(tenure_client::EngineError::Api);
        note_reachability(notify, &result);
        return Ok(Outcome::Quiet);
    }
    // The same rule as every request: an answer, even a refusal, shows the server there.
    let result = client?
        .health()
        .await
        .map_err(tenure_client::EngineError::Api);
    note_reachability(notify, &result);
    result
        .map(|h| Outcome::ServerAnswers { version: h.version })
        .map_err(explained)
}

/// Validates online; at start-up, quietly nothing when there is no license.
async fn validate_job(
    ws: &tokio::sync::Mutex<Workstation>,
    job_is_startup: bool,
    notify: &Notifier,
) -> Result<Outcome, String> {
    let now = Utc::now();
    let ws = ws.lock().await;
    let license = ws.license().map_err(explained)?;
    // A license served by files is never validated over the network; at start-up, say nothing.
    let offline_only = license
        .as_ref()
        .is_some_and(|l| l.terms.activation_mode == tenure_core::ActivationMode::Offline);
    if job_is_startup && offline_only {
        return Ok(Outcome::Quiet);
    }
    if license.is_none() {
        return if job_is_startup {
            Ok(Outcome::Quiet)
        } else {
            Err(explained(tenure_client::EngineError::NotActivated))
        };
    }
    let client = client_of(&ws)?;
    let result = ws.validate(&client, now).await;
    note_reachability(notify, &result);
    let report = result.map_err(explained)?;
    // Stacked licenses restart their grace with the license's.
    if let Err(e) = ws.allocations().validate_stacked(&client, now).await {
        return Err(format!(
            "The license was validated, but a stacked license was not: {}.",
            explained(e).trim_end_matches('.')
        ));
    }
    Ok(Outcome::Validated(Box::new(report)))
}

/// Tells the window whether the server answered, when the outcome shows it.
fn note_reachability<T>(notify: &Notifier, result: &Result<T, tenure_client::EngineError>) {
    if let Some(reached) = reachability(result) {
        notify.send(Event::Reachability(reached));
    }
}

/// Whether a request's outcome shows the server answering: only a reply (an answer or a
/// refusal) or a failure to connect says anything; an error before sending says nothing.
fn reachability<T>(result: &Result<T, tenure_client::EngineError>) -> Option<Result<(), String>> {
    match result {
        Ok(_) => Some(Ok(())),
        Err(tenure_client::EngineError::Api(e)) if e.is_unreachable() => Some(Err(e.to_string())),
        Err(tenure_client::EngineError::Api(tenure_client::ApiError::Refused { .. })) => {
            Some(Ok(()))
        }
        Err(_) => None,
    }
}

/// Jobs that change the workstation's settings or secrets; signing in asks the server first.
async fn settings_job(
    ws: &tokio::sync::Mutex<Workstation>,
    job: Job,
    notify: &Notifier,
) -> Result<Outcome, String> {
    match job {
        Job::Login { account, token } => {
            let credentials = Credentials { account, token };
            let licenses = sign_in(&*ws.lock().await, &credentials, notify).await?;
            Ok(Outcome::SignedIn {
                account: credentials.account.trim().to_owned(),
                licenses,
            })
        }
        Job::Logout => {
            ws.lock().await.server().logout().map_err(explained)?;
            Ok(Outcome::SignedOut)
        }
        Job::SetServerUrl(url) => {
            let url = set_server_url(&mut *ws.lock().await, &url)?;
            Ok(Outcome::ServerSet(url))
        }
        Job::TrustFile(path) => {
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| format!("Cannot read the file: {e} ({})", path.display()))?;
            let text_content = tenure_core::signed::text_from_bytes(&bytes)
                .map_err(explained)?
                .to_owned();
            trust_text(ws, &text_content).await
        }
        Job::TrustText(text_content) => trust_text(ws, &text_content).await,
        Job::Untrust(id) => {
            ws.lock()
                .await
                .configure()
                .untrust(&id)
                .map_err(explained)?;
            Ok(Outcome::Untrusted(id))
        }
        _ => Ok(Outcome::Quiet),
    }
}

/// Keeps what a request needs first: the server's address, then the account (checked by the
/// server before it is kept).
async fn keep_first(
    ws: &mut Workstation,
    first: FirstNeeds,
    notify: &Notifier,
) -> Result<(), String> {
    if let Some(url) = first.server_url {
        set_server_url(ws, &url)?;
    }
    if let Some(credentials) = first.sign_in {
        sign_in(ws, &credentials, notify).await?;
    }
    Ok(())
}

/// Saves the license server's address, once it reads as one; returns it as saved.
fn set_server_url(ws: &mut Workstation, url: &str) -> Result<String, String> {
    let url = url.trim().to_owned();
    ApiClient::new(&url).map_err(explained)?;
    ws.update_settings(|s| s.server_url = Some(url.clone()))
        .map_err(explained)?;
    Ok(url)
}

/// Signs in: the server says whether the account and token are right before anything is
/// kept. Returns how many licenses the account owns.
async fn sign_in(
    ws: &Workstation,
    credentials: &Credentials,
    notify: &Notifier,
) -> Result<usize, String> {
    let credentials = Credentials {
        account: credentials.account.trim().to_owned(),
        token: credentials.token.trim().to_owned(),
    };
    if credentials.account.is_empty() || credentials.token.is_empty() {
        return Err("Enter the account name and its token.".into());
    }
    let client = client_of(ws)?;
    let result = ws.server().sign_in(&client, &credentials).await;
    // Signing in asked the server: the status strip follows.
    note_reachability(notify, &result);
    result.map_err(|e| {
        crate::advice::sign_in_failed(&credentials.account, &e, crate::advice::Front::Window)
    })
}

/// Trusts a vendor root, certificate or revocation list; says what was added.
async fn trust_text(ws: &tokio::sync::Mutex<Workstation>, text: &str) -> Result<Outcome, String> {
    let added = ws.lock().await.configure().trust(text).map_err(explained)?;
    Ok(Outcome::Trusted(added))
}

/// Lists the signed-in account's licenses, for the Request-a-license dialog.
async fn account_licenses_job(
    ws: &tokio::sync::Mutex<Workstation>,
    notify: &Notifier,
) -> Result<Outcome, String> {
    let (client, credentials) = {
        let ws = ws.lock().await;
        (
            client_of(&ws)?,
            ws.server().credentials().map_err(explained)?,
        )
    };
    let Some(credentials) = credentials else {
        let message = "Sign in with the account first (Settings, Account section).".to_owned();
        notify.send(Event::AccountLicenses(Err(message.clone())));
        return Err(message);
    };
    let result = client
        .account_licenses(&credentials)
        .await
        .map_err(explained);
    notify.send(Event::AccountLicenses(result.clone()));
    result.map(|list| Outcome::AccountLicenses(list.len()))
}

/// Connects the product database (saving a new choice first); the binding is derived from it.
async fn connect_db_job(
    ws: &tokio::sync::Mutex<Workstation>,
    text: Option<String>,
) -> Result<Outcome, String> {
    let mut ws = ws.lock().await;
    if let Some(text) = text {
        let spec = tenure_client::product_db::DbSpec::parse(&text).map_err(explained)?;
        ws.configure().choose_database(&spec).map_err(explained)?;
    }
    ws.connect(Utc::now()).await.map_err(explained)?;
    Ok(Outcome::DatabaseConnected {
        database: ws.database().spec().map_err(explained)?.to_string(),
        binding: ws.database().current_binding(),
    })
}
