//! The Users screen's state, apart from drawing: the directory as last loaded, the edits not yet
//! saved, the save in flight, and the rows to show (filtered and sorted once per change, not per
//! frame, so 10,000 users cost nothing while scrolling).
//!
//! Every tick is an edit; edits are saved one batch at a time, each against the version it was
//! made on. What the screen shows is the loaded directory with the edits applied by the same
//! function the database uses, so the counter and the checkboxes never disagree with a save.

use std::sync::Arc;

use chrono::Utc;
use tenure_client::Reason;
use tenure_core::directory::{Actor, Change, ChangeError, Directory, Effect, SeatLimit};

use crate::gui::worker::Job;
pub use crate::gui::worker::{Loaded, SaveOutcome};

/// Which users to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Everyone.
    #[default]
    All,
    /// Users holding a seat.
    Licensed,
    /// Users without one.
    Unlicensed,
}

/// The sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Display name.
    #[default]
    Name,
    /// Login.
    Login,
    /// When the seat was given (users with no seat last).
    Assigned,
}

/// Why saving has stopped until the admin acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Someone else saved first; the message says who. The edits are kept.
    Conflict(String),
    /// Reloaded after a conflict: the edits are shown on top of the latest data, to be saved
    /// or discarded by the admin.
    Review,
    /// The database failed; the edits are kept for a retry.
    Failed(String),
}

/// The Add-user form.
#[derive(Debug, Clone, Default)]
pub struct AddForm {
    /// Login.
    pub login: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
}

/// The Edit-user dialog.
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    /// Whose (fixed).
    pub login: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Asked to confirm removal.
    pub confirm_remove: bool,
}

/// What the table shows, recomputed only when its inputs change.
#[derive(Debug, Clone, Default)]
struct View {
    key: Option<(u64, String, Filter, SortBy, bool)>,
    rows: Arc<[String]>,
}

/// The Users screen's state.
#[derive(Debug, Default)]
pub struct UsersState {
    /// As last loaded or saved.
    pub loaded: Option<Loaded>,
    /// A load was asked for and has not answered.
    pub loading: bool,
    /// Why the last load failed.
    pub load_error: Option<String>,
    /// Seats in the table beyond the license (a hand-edited table): not honoured.
    pub over_limit: Vec<String>,
    /// When the directory was last loaded or saved (the screen reloads it now and then, so
    /// another admin's changes show up before they cause a conflict).
    pub loaded_at: Option<std::time::Instant>,
    /// Edits not yet sent.
    pub pending: Vec<Change>,
    /// What the edits not yet sent are: the message after their save says it.
    pub pending_purpose: Purpose,
    /// Edits being saved.
    pub in_flight: Vec<Change>,
    /// What the edits being saved are.
    in_flight_purpose: Purpose,
    /// Who lost a seat to trimming in the saves since one last trimmed nobody: a notice names
    /// them all, not only the latest save's.
    recent_trims: Vec<String>,
    /// Why saving has stopped, if it has.
    pub blocked: Option<Blocked>,
    /// A warning from the last save, as a sentence: who lost a seat, or who holds one their
    /// group's share cannot honour.
    pub trim_notice: Option<String>,
    /// The last save's or refusal's message: (is error, text).
    pub message: Option<(bool, String)>,
    /// The edits that undo the last save's seat changes (offered beside its message).
    pub undo: Vec<Change>,
    /// Search text.
    pub search: String,
    /// Which users.
    pub filter: Filter,
    /// Sort column.
    pub sort: SortBy,
    /// Reverse order.
    pub descending: bool,
    /// The Add-user form.
    pub add: AddForm,
    /// The Edit dialog, when open.
    pub editing: Option<EditForm>,
    effective: Option<Arc<Directory>>,
    /// Seats held in `effective`, counted once per change (not per frame: 100,000 users).
    seats_used: usize,
    generation: u64,
    view: View,
}

/// Stands in for the admin in previews; the database records the real one.
fn preview_actor() -> Actor {
    Actor {
        login: "you".into(),
        host: String::new(),
    }
}

impl UsersState {
    /// The directory as it will be once the edits are saved: loaded, plus edits, trimmed.
    pub fn effective(&self) -> Option<&Arc<Directory>> {
        self.effective.as_ref()
    }

    /// The license's seats, as last loaded.
    pub fn limit(&self) -> Option<&SeatLimit> {
        self.loaded.as_ref().map(|l| &l.limit)
    }

    /// "7 of 10 named seats used", or why no seats can be given.
    pub fn counter(&self) -> String {
        let used = self.seats_used;
        match self.limit() {
            Some(SeatLimit::Named(seats)) => format!("{used} of {seats} named seats used"),
            Some(SeatLimit::Unavailable(why)) => format!("{used} named seats held — {why}"),
            None => String::new(),
        }
    }

    /// Edits waiting or being saved.
    pub fn unsaved(&self) -> usize {
        self.pending.len() + self.in_flight.len()
    }

    fn recompute(&mut self) {
        self.generation += 1;
        self.effective = self.loaded.as_ref().map(|loaded| {
            let edits: Vec<Change> = self
                .in_flight
                .iter()
                .chain(&self.pending)
                .cloned()
                .collect();
            match loaded
                .directory
                .apply(&edits, &loaded.limit, &preview_actor(), Utc::now())
            {
                Ok(applied) => Arc::new(applied.directory),
                // Edits that no longer apply (another admin removed the user) show as not made;
                // the save will say why.
                Err(_) => loaded.directory.clone(),
            }
        });
        self.seats_used = self.effective.as_ref().map_or(0, |d| d.seats_in_use());
    }

    /// Checks `more` edits on top of those not yet saved, against what is loaded.
    fn applies(&self, more: &[Change]) -> Result<(), ChangeError> {
        let Some(loaded) = &self.loaded else {
            return Ok(());
        };
        let edits: Vec<Change> = self
            .in_flight
            .iter()
            .chain(&self.pending)
            .chain(more)
            .cloned()
            .collect();
        loaded
            .directory
            .apply(&edits, &loaded.limit, &preview_actor(), Utc::now())
            .map(|_| ())
    }

    /// Adds an edit, if it applies to what is shown; otherwise says why.
    pub fn edit(&mut self, change: Change) {
        self.edit_all(vec![change], "", "Not changed");
    }

    /// Adds edits (an import: all or none); `done` is said when they apply, `refused` prefixes
    /// the reason when they do not.
    pub fn edit_all(&mut self, changes: Vec<Change>, done: &str, refused: &str) {
        self.edit_for(Purpose::Edit, changes, done, refused);
    }

    /// As [`Self::edit_all`], for edits made for `purpose` (an undo, an import), which the
    /// message after the save names.
    pub fn edit_for(&mut self, purpose: Purpose, changes: Vec<Change>, done: &str, refused: &str) {
        if self.loaded.is_none() {
            return;
        }
        match self.applies(&changes) {
            Ok(()) => {
                // Edits of several kinds saved together are plain edits.
                self.pending_purpose = if self.pending.is_empty() || self.pending_purpose == purpose
                {
                    purpose
                } else {
                    Purpose::Edit
                };
                self.pending.extend(changes);
                self.message = (!done.is_empty()).then(|| (false, done.to_owned()));
                self.recompute();
            }
            Err(e) => self.message = Some((true, format!("{refused}: {e}."))),
        }
    }

    /// The save to send now, if any: one batch at a time, never while blocked.
    pub fn next_save(&mut self) -> Option<Job> {
        let loaded = self.loaded.as_ref()?;
        if self.pending.is_empty() || !self.in_flight.is_empty() || self.blocked.is_some() {
            return None;
        }
        self.in_flight = std::mem::take(&mut self.pending);
        self.in_flight_purpose = std::mem::take(&mut self.pending_purpose);
        Some(Job::SaveUsers {
            expected: loaded.directory.version.number,
            changes: self.in_flight.clone(),
        })
    }

    /// A load answered.
    pub fn on_loaded(&mut self, result: Result<Loaded, String>) {
        self.loading = false;
        match result {
            Ok(loaded) => {
                self.over_limit = loaded.directory.over_limit(&loaded.limit);
                self.loaded = Some(loaded);
                self.loaded_at = Some(std::time::Instant::now());
                self.load_error = None;
                if matches!(self.blocked, Some(Blocked::Conflict(_))) {
                    self.blocked = Some(Blocked::Review);
                }
                self.recompute();
            }
            Err(e) => self.load_error = Some(e),
        }
    }

    /// A save answered.
    pub fn on_saved(&mut self, outcome: SaveOutcome) {
        let sent = std::mem::take(&mut self.in_flight);
        match outcome {
            SaveOutcome::Saved(loaded, effects, beyond_share) => {
                let seats = match &loaded.limit {
                    SeatLimit::Named(n) => *n,
                    SeatLimit::Unavailable(_) => 0,
                };
                self.over_limit.clear();
                self.loaded = Some(loaded);
                self.loaded_at = Some(std::time::Instant::now());
                let trimmed_now: Vec<String> = tenure_core::directory::trimmed(&effects)
                    .map(str::to_owned)
                    .collect();
                if trimmed_now.is_empty() {
                    self.recent_trims.clear();
                } else {
                    self.recent_trims.extend(trimmed_now);
                }
                self.trim_notice = trim_notice(&self.recent_trims, seats)
                    .filter(|_| tenure_core::directory::trimmed(&effects).next().is_some())
                    .or_else(|| share_notice(&beyond_share))
                    .or(self.trim_notice.take());
                let purpose = std::mem::take(&mut self.in_flight_purpose);
                self.message = Some((false, saved_message(&effects, sent.len(), purpose)));
                let trimmed = tenure_core::directory::trimmed(&effects).next().is_some();
                self.undo = if trimmed || effects.is_empty() {
                    Vec::new()
                } else {
                    crate::gui::toast::undo_of(&sent)
                };
            }
            SaveOutcome::Conflict(text) => {
                self.restore(sent);
                self.blocked = Some(Blocked::Conflict(text));
            }
            SaveOutcome::Refused(text) => self.message = Some((true, text)),
            SaveOutcome::Failed(text) => {
                self.restore(sent);
                self.blocked = Some(Blocked::Failed(text));
            }
        }
        self.recompute();
    }

    fn restore(&mut self, sent: Vec<Change>) {
        let later = std::mem::replace(&mut self.pending, sent);
        self.pending.extend(later);
    }

    /// Saving may go on (after a review or a retry).
    pub fn unblock(&mut self) {
        self.blocked = None;
    }

    /// Drops every unsaved edit.
    pub fn discard(&mut self) {
        self.pending.clear();
        self.blocked = None;
        self.message = Some((false, "Unsaved changes discarded.".into()));
        self.recompute();
    }

    /// The logins to list, in order, for the current search, filter and sort (shared, so a
    /// frame takes it without copying 10,000 strings).
    pub fn rows(&mut self) -> Arc<[String]> {
        let key = (
            self.generation,
            self.search.clone(),
            self.filter,
            self.sort,
            self.descending,
        );
        if self.view.key.as_ref() != Some(&key) {
            self.view.rows = self.compute_rows().into();
            self.view.key = Some(key);
        }
        self.view.rows.clone()
    }

    fn compute_rows(&self) -> Vec<String> {
        let Some(directory) = &self.effective else {
            return Vec::new();
        };
        let needle = self.search.trim().to_lowercase();
        let mut users: Vec<_> = directory
            .users
            .values()
            .filter(|u| match self.filter {
                Filter::All => true,
                Filter::Licensed => u.seat.is_some(),
                Filter::Unlicensed => u.seat.is_none(),
            })
            .filter(|u| {
                needle.is_empty()
                    || [&u.login, &u.name, &u.email]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&needle))
            })
            .collect();
        match self.sort {
            SortBy::Name => users.sort_by_cached_key(|u| (u.name.to_lowercase(), u.login.clone())),
            SortBy::Login => {} // BTreeMap order already.
            SortBy::Assigned => users.sort_by_key(|u| {
                (
                    u.seat.is_none(),
                    u.seat.as_ref().map(|s| s.assigned_at),
                    u.login.clone(),
                )
            }),
        }
        if self.descending {
            users.reverse();
        }
        users.into_iter().map(|u| u.login.clone()).collect()
    }
}

/// "⚠ cy lost …" for one, "2 seats were removed …: dee, eli" for several.
fn trim_notice(trimmed: &[String], seats: u32) -> Option<String> {
    match trimmed {
        [] => None,
        [one] => Some(format!(
            "{one} did not keep a named seat: the license allows {seats}, and the earliest \
             assigned keep theirs. Free a seat first."
        )),
        many => Some(format!(
            "{} seats were removed because the license allows {seats}: {} (assigned last).",
            many.len(),
            many.join(", ")
        )),
    }
}

/// The warnings for seats given beyond their group's share, as one text.
fn share_notice(beyond: &[(String, Reason)]) -> Option<String> {
    let sentences: Vec<String> = beyond
        .iter()
        .filter_map(|(login, reason)| reason.beyond_share_warning(login))
        .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

/// What a batch of edits was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Purpose {
    /// Edits made on the screen.
    #[default]
    Edit,
    /// Undo of the last save's seat changes.
    Undo,
    /// Rows of a CSV file.
    Import,
}

fn saved_message(effects: &[Effect], sent: usize, purpose: Purpose) -> String {
    let done: Vec<&Effect> = effects
        .iter()
        .filter(|e| !matches!(e, Effect::Trimmed { .. }))
        .collect();
    let trimmed = done.len() < effects.len();
    match (purpose, done.as_slice()) {
        // A trim has its own notice.
        (_, []) if trimmed => String::new(),
        (Purpose::Import, []) if sent > 0 => {
            "Imported: every user in the file was already here as it says.".into()
        }
        (_, []) if sent > 0 => "Saved; nothing needed changing.".into(),
        (_, []) => String::new(),
        (Purpose::Undo, [Effect::Assigned(login)]) => {
            format!("Undone: {login} has the named seat back.")
        }
        (Purpose::Undo, [Effect::Unassigned { login, .. }]) => {
            format!("Undone: {login}'s named seat is free again.")
        }
        (Purpose::Undo, many) => format!("Undone: {}.", summary(many)),
        (Purpose::Import, many) => format!("Imported: {}.", summary(many)),
        (Purpose::Edit, [one]) => format!("Saved: {one}."),
        (Purpose::Edit, many) => format!("Saved: {}.", summary(many)),
    }
}

/// "48 users added, 2 edited, 30 seats given", in the order things happen.
fn summary(effects: &[&Effect]) -> String {
    let count = |matches: fn(&Effect) -> bool| effects.iter().filter(|e| matches(e)).count();
    let parts = [
        (
            count(|e| matches!(e, Effect::Added(_))),
            "user added",
            "users added",
        ),
        (
            count(|e| matches!(e, Effect::Edited(_))),
            "user edited",
            "users edited",
        ),
        (
            count(|e| matches!(e, Effect::Enabled(_))),
            "user enabled",
            "users enabled",
        ),
        (
            count(|e| matches!(e, Effect::Disabled(_))),
            "user disabled",
            "users disabled",
        ),
        (
            count(|e| matches!(e, Effect::Removed(_))),
            "user removed",
            "users removed",
        ),
        (
            count(|e| matches!(e, Effect::Assigned(_))),
            "seat given",
            "seats given",
        ),
        (
            count(|e| matches!(e, Effect::Unassigned { .. })),
            "seat freed",
            "seats freed",
        ),
        (
            count(|e| matches!(e, Effect::PolicyChanged(_))),
            "seat policy changed",
            "seat policy changed",
        ),
    ];
    parts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::directory::{Seat, User, Version};

    fn loaded(users: &[(&str, bool)], seats: u32, version: i64) -> Loaded {
        let mut directory = Directory::empty();
        directory.version = Version {
            number: version,
            by: String::new(),
            host: String::new(),
            at: Utc::now(),
        };
        for (i, (login, seat)) in users.iter().enumerate() {
            directory.users.insert(
                (*login).to_owned(),
                User {
                    login: (*login).to_owned(),
                    name: login.to_uppercase(),
                    email: String::new(),
                    disabled: false,
                    created_at: Utc::now(),
                    seat: seat.then(|| Seat {
                        assigned_at: chrono::DateTime::from_timestamp(
                            i64::try_from(i).unwrap_or(0),
                            0,
                        )
                        .unwrap_or_default(),
                        assigned_by: "it".into(),
                    }),
                },
            );
        }
        Loaded {
            directory: Arc::new(directory),
            limit: SeatLimit::Named(seats),
        }
    }

    #[test]
    fn a_save_says_what_it_was_for() {
        let assigned = [Effect::Assigned("ana.berg".into())];
        assert_eq!(
            saved_message(&assigned, 1, Purpose::Undo),
            "Undone: ana.berg has the named seat back."
        );
        assert_eq!(
            saved_message(&assigned, 1, Purpose::Edit),
            "Saved: ana.berg was given a named seat."
        );
        let imported: Vec<Effect> = (0..50)
            .map(|i| Effect::Added(format!("u{i}")))
            .chain((0..3).map(|i| Effect::Assigned(format!("u{i}"))))
            .collect();
        assert_eq!(
            saved_message(&imported, 53, Purpose::Import),
            "Imported: 50 users added, 3 seats given."
        );
    }

    #[test]
    fn two_saves_that_each_trim_one_name_both() {
        let mut state = UsersState::default();
        state.on_loaded(Ok(loaded(&[("a", true), ("b", true)], 1, 1)));
        for login in ["a", "b"] {
            state.in_flight = vec![Change::Assign { login: "x".into() }];
            state.on_saved(SaveOutcome::Saved(
                loaded(&[("c", true)], 1, 2),
                vec![Effect::Trimmed {
                    login: login.into(),
                    seats: 1,
                }],
                Vec::new(),
            ));
            // The screen moves the notice into the message shown.
            let notice = state.trim_notice.take().unwrap();
            if login == "b" {
                assert!(notice.contains("a, b"), "{notice}");
            }
        }
    }

    #[test]
    fn a_conflict_keeps_the_edits_for_review_and_nothing_is_lost() {
        let mut state = UsersState::default();
        state.on_loaded(Ok(loaded(&[("ana", false), ("bo", false)], 2, 4)));
        state.edit(Change::Assign {
            login: "ana".into(),
        });
        assert_eq!(state.counter(), "1 of 2 named seats used");
        let Some(Job::SaveUsers { expected, .. }) = state.next_save() else {
            panic!("expected a save")
        };
        assert_eq!(expected, 4);
        // A tick while the save is in flight waits its turn.
        state.edit(Change::Assign { login: "bo".into() });
        assert!(state.next_save().is_none());
        state.on_saved(SaveOutcome::Conflict("changed by eve on ws2".into()));
        assert_eq!(state.pending.len(), 2);
        assert!(state.next_save().is_none(), "blocked until reviewed");
        state.on_loaded(Ok(loaded(
            &[("ana", false), ("bo", false), ("cy", true)],
            2,
            5,
        )));
        assert_eq!(state.blocked, Some(Blocked::Review));
        state.unblock();
        let Some(Job::SaveUsers { expected, changes }) = state.next_save() else {
            panic!("expected a save")
        };
        assert_eq!((expected, changes.len()), (5, 2));
    }

    #[test]
    fn rows_follow_search_filter_and_sort() {
        let mut state = UsersState::default();
        state.on_loaded(Ok(loaded(
            &[("cy", true), ("ana", false), ("bo", true)],
            5,
            1,
        )));
        assert_eq!(&*state.rows(), ["ana", "bo", "cy"]);
        state.sort = SortBy::Assigned;
        assert_eq!(&*state.rows(), ["cy", "bo", "ana"]);
        state.filter = Filter::Unlicensed;
        assert_eq!(&*state.rows(), ["ana"]);
        state.filter = Filter::All;
        state.search = "B".into();
        assert_eq!(&*state.rows(), ["bo"]);
    }
}
