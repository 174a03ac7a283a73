//! The window's state, apart from how it is drawn: what the worker last reported, which jobs are
//! running, the notices to show, and the user's preferences (persisted with eframe).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tenure_core::protocol::AccountLicense;

pub use super::nav::Screen;
use super::style::Tone;
use super::toast::Toast;
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
    /// A screen asked for the Request-a-license dialog (it opens on the next frame).
    pub ask_activation: bool,
    /// "Keep secrets in a file instead…" was clicked: the confirmation is shown.
    pub confirm_plain_secrets: bool,
    /// Demo mode: what to say in the banner.
    pub demo_banner: Option<String>,
    /// Jobs the UI asked for this frame; the app hands them to the worker.
    pub outbox: Vec<Job>,
    /// Set by the UI to cancel the running job.
    pub cancel_requested: bool,
    /// The latest jobs that finished, in order, at most [`RECENT_JOBS`] (tests and the start-up
    /// sequence read it).
    pub completed: Vec<JobKind>,
    /// The message over the content: the latest result.
    pub toast: Option<Toast>,
    /// The file dialog in progress, or the path field shown instead.
    pub files: super::files::FileChooser,
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

    /// Applies one event from the worker to what every screen shares (each screen follows
    /// the events about its own state: `screens::Screens::on_event`).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started(kind) => {
                self.busy.insert(*kind, Instant::now());
            }
            Event::Finished { kind, outcome } => {
                self.busy.remove(kind);
                remember(&mut self.completed, *kind);
                let (is_error, text) = match outcome {
                    Ok(outcome) => (false, outcome.to_string()),
                    Err(text) => (true, text.clone()),
                };
                if !text.is_empty() {
                    let toast = self.toast_for(*kind, is_error, &text);
                    self.toast = Some(toast.raised(self.prefs.screen, Some(*kind)));
                    self.notices.insert(
                        *kind,
                        Notice {
                            kind: *kind,
                            is_error,
                            text,
                        },
                    );
                }
            }
            Event::Snapshot(snapshot) => self.snapshot = Some((**snapshot).clone()),
            Event::Reachability(result) => self.reachable = Some(result.clone()),
            Event::AccountLicenses(result) => self.account_licenses = Some(result.clone()),
            Event::Users(_)
            | Event::UsersSaved(_)
            | Event::UsersImport(_)
            | Event::Allocations(_)
            | Event::DatabaseChanged => {}
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

    /// Shows another screen; a warning or an error raised on the one left goes with it.
    pub fn go_to(&mut self, screen: Screen) {
        self.prefs.screen = screen;
        if self.toast.as_ref().is_some_and(|t| t.left_behind(screen)) {
            self.toast = None;
        }
    }

    /// Takes down the message about `kind`, if it is the one shown (its cause is gone).
    pub fn withdraw(&mut self, kind: JobKind) {
        if self.toast.as_ref().is_some_and(|t| t.about == Some(kind)) {
            self.toast = None;
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
