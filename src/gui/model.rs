//! The window's state, apart from how it is drawn: what the worker last reported, which jobs are
//! running, the notices to show, and the user's preferences (persisted with eframe).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tenure_core::protocol::AccountLicense;

use super::style::Tone;
use super::toast::Toast;
use super::users_state::UsersState;
use super::worker::{Event, Job, JobKind, Snapshot};

/// How many finished or sent jobs are remembered: enough for tests and the start-up sequence,
/// bounded so a window left open for months does not grow.
pub const RECENT_JOBS: usize = 64;

/// Appends `kind`, keeping the latest [`RECENT_JOBS`].
pub fn remember(log: &mut Vec<JobKind>, kind: JobKind) {
    if log.len() >= RECENT_JOBS {
        log.drain(..=log.len() - RECENT_JOBS);
    }
    log.push(kind);
}

/// The screens of the side bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Screen {
    /// License status and grace.
    #[default]
    Overview,
    /// Named-user seats.
    Users,
    /// Quantities split among groups, tenants and devices.
    Allocations,
    /// Offline request and response files.
    Offline,
    /// Concurrent sessions.
    Sessions,
    /// Validation history.
    History,
    /// Server, account, keys, theme.
    Settings,
}

impl Screen {
    /// All screens, in side-bar order.
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Users,
        Screen::Allocations,
        Screen::Offline,
        Screen::Sessions,
        Screen::History,
        Screen::Settings,
    ];

    /// The side-bar label.
    pub fn label(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Users => "Users",
            Screen::Allocations => "Allocations",
            Screen::Offline => "Offline",
            Screen::Sessions => "Sessions",
            Screen::History => "History",
            Screen::Settings => "Settings",
        }
    }
}

/// Light, dark, or follow the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the OS.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// Preferences kept between runs (eframe persistence, RON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Colour theme.
    pub theme: Theme,
    /// The screen last shown.
    pub screen: Screen,
    /// The offshore planner's "I will be offline for N days".
    pub planned_offline_days: u32,
    /// Days to borrow a concurrent seat for.
    pub borrow_days: u32,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            screen: Screen::Overview,
            planned_offline_days: 14,
            borrow_days: 7,
        }
    }
}

/// A message shown after a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Which job it is about.
    pub kind: JobKind,
    /// True for an error.
    pub is_error: bool,
    /// The sentence.
    pub text: String,
}

/// The fields of the Request-a-license dialog.
#[derive(Debug, Clone, Default)]
pub struct ActivationForm {
    /// Shown or not.
    pub open: bool,
    /// The key as typed.
    pub key: String,
    /// Database server name.
    pub server_name: String,
    /// Database name.
    pub database: String,
}

/// What the Offline screen's request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OfflineChoice {
    /// Restart the grace.
    #[default]
    Validate,
    /// Extend the grace.
    Extend,
    /// Move the license to this database.
    Rebind,
    /// Activate a key.
    Activate,
}

/// The Offline screen's fields.
#[derive(Debug, Clone)]
pub struct OfflineForm {
    /// The kind of request.
    pub choice: OfflineChoice,
    /// Days for an extension.
    pub extend_days: u32,
    /// Key for an activation.
    pub key: String,
}

impl Default for OfflineForm {
    fn default() -> Self {
        Self {
            choice: OfflineChoice::Validate,
            extend_days: 60,
            key: String::new(),
        }
    }
}

/// The Settings screen's unsaved fields.
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    /// Server URL being edited (filled from the snapshot once).
    pub server_url: Option<String>,
    /// Account name to sign in with.
    pub account: String,
    /// Token to sign in with; cleared once sent.
    pub token: String,
    /// Product database being edited (filled from the snapshot once).
    pub database: Option<String>,
}

/// Everything the window needs to draw itself.
#[derive(Debug, Default)]
pub struct Model {
    /// The latest state from the worker.
    pub snapshot: Option<Snapshot>,
    /// Jobs running, with when they started.
    pub busy: BTreeMap<JobKind, Instant>,
    /// The latest message per kind of job.
    pub notices: BTreeMap<JobKind, Notice>,
    /// Whether the server answered last time it was asked.
    pub reachable: Option<Result<(), String>>,
    /// The signed-in account's licenses.
    pub account_licenses: Option<Result<Vec<AccountLicense>, String>>,
    /// Preferences.
    pub prefs: Prefs,
    /// The Request-a-license dialog.
    pub activation: ActivationForm,
    /// The Settings screen's fields.
    pub settings: SettingsForm,
    /// Demo mode: what to say in the banner.
    pub demo_banner: Option<String>,
    /// Jobs the UI asked for this frame; the app hands them to the worker.
    pub outbox: Vec<Job>,
    /// Set by the UI to cancel the running job.
    pub cancel_requested: bool,
    /// The latest jobs that finished, in order, at most [`RECENT_JOBS`] (tests and the start-up
    /// sequence read it).
    pub completed: Vec<JobKind>,
    /// The Users screen.
    pub users: UsersState,
    /// The users should be (re)loaded when the Users screen is next shown.
    pub users_stale: bool,
    /// The Offline screen.
    pub offline: OfflineForm,
    /// The Allocations screen.
    pub allocations: super::allocations_state::AllocationsState,
    /// The message over the content: the latest result.
    pub toast: Option<Toast>,
    /// The file dialog in progress, or the path field shown instead.
    pub files: super::files::FileChooser,
    /// Re-validate online was clicked: the confirmation is shown.
    pub confirm_rebind: bool,
    /// The concurrent session whose End session was clicked: asked to confirm.
    pub ending_session: Option<String>,
}

impl Model {
    /// Asks for a job (sent after the frame).
    pub fn request(&mut self, job: Job) {
        self.outbox.push(job);
    }

    /// True while a job of this kind runs.
    pub fn is_busy(&self, kind: JobKind) -> bool {
        self.busy.contains_key(&kind)
    }

    /// Applies one event from the worker.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Started(kind) => {
                self.busy.insert(kind, Instant::now());
                if kind == JobKind::LoadUsers {
                    self.users.loading = true;
                }
            }
            Event::Finished { kind, outcome } => {
                self.busy.remove(&kind);
                remember(&mut self.completed, kind);
                let (is_error, text) = match outcome {
                    Ok(outcome) => (false, outcome.to_string()),
                    Err(text) => (true, text),
                };
                if !text.is_empty() {
                    self.toast = Some(self.toast_for(kind, is_error, &text));
                    self.notices.insert(
                        kind,
                        Notice {
                            kind,
                            is_error,
                            text,
                        },
                    );
                }
                if kind == JobKind::Activate && !is_error {
                    self.activation = ActivationForm::default();
                }
                // Another database, or a license with another seat count: reload the users.
                if matches!(
                    kind,
                    JobKind::Database
                        | JobKind::Activate
                        | JobKind::Rebind
                        | JobKind::Validate
                        | JobKind::ExtendGrace
                        | JobKind::Offline
                ) {
                    self.users_stale = true;
                    self.allocations.stale = true;
                }
                if kind == JobKind::LoadUsers {
                    self.users.loading = false;
                }
            }
            Event::Snapshot(snapshot) => {
                let database_changed = self
                    .snapshot
                    .as_ref()
                    .is_none_or(|old| old.database_setting != snapshot.database_setting);
                if self.settings.database.is_none() || database_changed {
                    self.settings.database = Some(snapshot.database_setting.clone());
                }
                // The dialog follows the database in use until it is opened.
                if !self.activation.open
                    && let Some(binding) = &snapshot.binding
                {
                    self.activation.server_name.clone_from(&binding.server);
                    self.activation.database.clone_from(&binding.database);
                }
                if self.settings.server_url.is_none() {
                    self.settings.server_url =
                        Some(snapshot.server_url.clone().unwrap_or_default());
                }
                self.snapshot = Some(*snapshot);
            }
            Event::Reachability(result) => self.reachable = Some(result),
            Event::AccountLicenses(result) => self.account_licenses = Some(result),
            Event::Users(result) => self.users.on_loaded(result),
            Event::UsersSaved(outcome) => self.users.on_saved(outcome),
            Event::UsersImport(Ok(rows)) => {
                if let Some(directory) = self.users.effective().cloned() {
                    let changes = tenure_client::users_csv::import_changes(&directory, &rows);
                    let what = format!("Imported {} rows; saving…", rows.len());
                    self.users.edit_all(changes, &what, "Nothing was imported");
                }
            }
            Event::UsersImport(Err(text)) => self.users.message = Some((true, text)),
            Event::Allocations(overview) => self.allocations.on_loaded(overview),
        }
    }

    /// The message for a job's result. A failed validation while the license still works is
    /// a warning that says so, not an error beside a green status.
    fn toast_for(&self, kind: JobKind, is_error: bool, text: &str) -> Toast {
        let grace = self
            .snapshot
            .as_ref()
            .and_then(|s| s.report.as_ref().ok())
            .filter(|r| r.status.is_licensed())
            .and_then(|r| r.status.grace());
        match (is_error, kind, grace) {
            (true, JobKind::Validate, Some(grace)) => Toast::new(
                Tone::Warn,
                &format!(
                    "Could not validate: {}. The license stays valid offline for {}.",
                    super::toast::sentences(text).trim_end_matches('.'),
                    super::format::plural(i64::from(grace.days_left), "more day")
                ),
            ),
            (true, ..) => Toast::new(Tone::Bad, text),
            (false, ..) => Toast::new(Tone::Good, text),
        }
    }

    /// Moves the Users screen's latest message into the toast (with Undo when it can be).
    pub fn take_users_messages(&mut self) {
        if let Some((is_error, text)) = self.users.message.take() {
            let undo = std::mem::take(&mut self.users.undo);
            if !text.is_empty() {
                let tone = if is_error { Tone::Bad } else { Tone::Good };
                let mut toast = Toast::verbatim(tone, &text);
                toast.undo = undo;
                self.toast = Some(toast);
            }
        }
        if let Some(text) = self.users.trim_notice.take() {
            self.toast = Some(Toast::verbatim(Tone::Warn, &text));
        }
    }

    /// The notice for a kind of job, if any.
    pub fn notice(&self, kind: JobKind) -> Option<&Notice> {
        self.notices.get(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_log_keeps_only_the_latest() {
        let mut log = Vec::new();
        for _ in 0..RECENT_JOBS * 3 {
            remember(&mut log, JobKind::Refresh);
        }
        remember(&mut log, JobKind::Validate);
        assert_eq!(log.len(), RECENT_JOBS);
        assert_eq!(log.last(), Some(&JobKind::Validate));
    }
}
