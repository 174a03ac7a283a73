//! The one message shown under the content, in a strip of its own above the status strip.
//! Each new result replaces the one before, so two contradicting messages are never on screen
//! together; it takes its own room at the bottom, so it covers no control and the content,
//! anchored at the top, does not move under the pointer when it comes or goes.

use std::time::{Duration, Instant};

use tenure_core::directory::Change;

use super::nav::Screen;
use super::style::Tone;
use super::worker::JobKind;

/// How long a success stays; warnings and errors stay until dismissed or replaced.
pub const GOOD_FOR: Duration = Duration::from_secs(8);
/// How long Undo is offered.
pub const UNDO_FOR: Duration = Duration::from_secs(20);

/// A message over the content.
#[derive(Debug, Clone)]
pub struct Toast {
    /// Green, amber or red.
    pub tone: Tone,
    /// A sentence, or several, each ending with a full stop.
    pub text: String,
    /// When it appeared.
    pub shown_at: Instant,
    /// Seat edits that put back what the saved change did (Undo).
    pub undo: Vec<Change>,
    /// The screen it was raised on: a warning or an error goes when the user leaves it.
    pub screen: Option<Screen>,
    /// The kind of job it tells of: it goes when its cause does (a refused edit discarded).
    pub about: Option<JobKind>,
}

impl Toast {
    /// A message of this tone.
    pub fn new(tone: Tone, text: &str) -> Self {
        Self {
            tone,
            text: sentences(text),
            shown_at: Instant::now(),
            undo: Vec::new(),
            screen: None,
            about: None,
        }
    }

    /// The same, raised on `screen` about a job of `kind`.
    #[must_use]
    pub fn raised(mut self, screen: Screen, kind: Option<JobKind>) -> Self {
        self.screen = Some(screen);
        self.about = kind;
        self
    }

    /// True for a warning or an error that belongs to another screen than `shown`.
    pub fn left_behind(&self, shown: Screen) -> bool {
        matches!(self.tone, Tone::Warn | Tone::Bad) && self.screen.is_some_and(|s| s != shown)
    }

    /// A message that may begin with a login or a name, which keeps its case: only the full
    /// stop is added.
    pub fn verbatim(tone: Tone, text: &str) -> Self {
        let mut text = text.trim().to_owned();
        if !text.is_empty() && !text.ends_with(['.', '!', '?', '…']) {
            text.push('.');
        }
        Self {
            text,
            ..Self::new(tone, "")
        }
    }

    /// True when it should go away by itself.
    pub fn expired(&self) -> bool {
        let age = self.shown_at.elapsed();
        match self.tone {
            _ if !self.undo.is_empty() => age >= UNDO_FOR,
            Tone::Good | Tone::Unknown => age >= GOOD_FOR,
            Tone::Warn | Tone::Bad => false,
        }
    }
}

/// Text as sentences: a capital first letter and a full stop at the end.
pub fn sentences(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// The edits that undo saved seat edits: a seat given is taken back and the other way round.
pub fn undo_of(sent: &[Change]) -> Vec<Change> {
    sent.iter()
        .rev()
        .filter_map(|change| match change {
            Change::Assign { login } => Some(Change::Unassign {
                login: login.clone(),
            }),
            Change::Unassign { login } => Some(Change::Assign {
                login: login.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_start_with_a_capital_and_end_with_a_full_stop() {
        assert_eq!(
            sentences("the server is down (127.0.0.1:9)"),
            "The server is down (127.0.0.1:9)."
        );
        assert_eq!(sentences("Saved."), "Saved.");
        assert_eq!(sentences("  "), "");
    }

    #[test]
    fn undo_puts_seats_back_in_reverse_order() {
        let sent = vec![
            Change::Assign { login: "a".into() },
            Change::Unassign { login: "b".into() },
        ];
        assert_eq!(
            undo_of(&sent),
            vec![
                Change::Assign { login: "b".into() },
                Change::Unassign { login: "a".into() },
            ]
        );
    }
}
