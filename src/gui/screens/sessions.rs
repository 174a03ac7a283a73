//! Sessions: who holds a concurrent seat, from where, since when; an admin can end a session
//! and reorder the line of users waiting for one;
//! borrowing a seat onto this machine for a trip, with its countdown and Return now.

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};
use tenure_core::SeatKind;

use crate::gui::chrome;
use crate::gui::format;
use crate::gui::model::Model;
use crate::gui::worker::{Job, JobKind};

/// The Sessions screen: what it keeps between frames.
#[derive(Debug, Default)]
pub struct Sessions {
    /// The session whose End session was clicked: asked to confirm.
    pub ending: Option<String>,
}

impl Sessions {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        sessions_ui(ui, model, &mut self.ending);
    }
}

fn sessions_ui(ui: &mut Ui, model: &mut Model, ending: &mut Option<String>) {
    let Some(snapshot) = model.snapshot.clone() else {
        return;
    };
    let license = snapshot
        .report
        .as_ref()
        .ok()
        .and_then(|r| r.license.clone());
    let Some(license) = license else {
        ui.label("No license yet: concurrent seats come with a concurrent license.");
        return;
    };
    if license.terms.kind != SeatKind::Concurrent {
        ui.label(RichText::new("Concurrent seats").size(17.0).strong());
        ui.label("This license counts named users, not concurrent seats: give seats on the Users screen.");
        return;
    }
    let seats = license.terms.seats;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Concurrent seats").size(17.0).strong());
        ui.add_space(16.0);
        ui.label(
            RichText::new(format!(
                "{} of {seats} seats in use",
                snapshot.sessions.len()
            ))
            .size(15.0)
            .strong(),
        );
        if ui.button("Refresh").clicked() {
            model.request(Job::Refresh);
        }
    });
    chrome::no_database(ui, model, "the seat pool lives");
    if let Some(policy) = &snapshot.floating {
        ui.label(floating_words(policy, license.terms.floating.overdraft));
    }
    ui.add_space(6.0);
    let mine = snapshot
        .borrow
        .as_ref()
        .filter(|b| b.active)
        .map(|b| b.record.session_id.clone());
    sessions_table(
        ui,
        model,
        ending,
        &snapshot.sessions,
        mine.as_deref(),
        snapshot.at,
    );
    if !snapshot.queue.is_empty() {
        ui.add_space(10.0);
        queue_table(ui, model, &snapshot.queue, snapshot.at);
    }
    ui.add_space(12.0);
    if borrow_ui(ui, model, license.terms.max_borrow_days, snapshot.at) {
        // Another action: a question left open above would answer the wrong one.
        *ending = None;
    }
}

fn sessions_table(
    ui: &mut Ui,
    model: &mut Model,
    ending: &mut Option<String>,
    sessions: &[tenure_client::product_db::Session],
    borrowed_here: Option<&str>,
    now: DateTime<Utc>,
) {
    if sessions.is_empty() {
        ui.label("Nobody holds a seat right now.");
        return;
    }
    // Both ways: at 800 px the marks make rows wider than the screen, and the actions at
    // their end must stay in reach.
    egui::ScrollArea::both()
        .id_salt("sessions")
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("sessions-grid")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for heading in [
                        "User",
                        "Machine",
                        "Since",
                        "Last heartbeat",
                        "Held until",
                        "",
                    ] {
                        ui.label(RichText::new(heading).strong());
                    }
                    ui.end_row();
                    for s in sessions {
                        crate::gui::bidi::label(ui, &s.login);
                        ui.label(&s.machine);
                        ui.label(format::short_date_time(s.started_at))
                            .on_hover_text(format::date_time(s.started_at));
                        ui.label(format::ago(now, s.heartbeat_at));
                        ui.label(held_words(s));
                        session_action(ui, model, ending, s, borrowed_here);
                        ui.end_row();
                    }
                });
        });
}

/// "Held until" in words: the lease's end, or the borrow's, with what marks the session.
fn held_words(s: &tenure_client::product_db::Session) -> String {
    let mut held = match (s.borrowed_until, s.lingering_since) {
        (Some(until), _) => format!("borrowed, {}", format::short_date_time(until)),
        (None, Some(_)) => format!("lingers, {}", format::short_date_time(s.lease_until)),
        (None, None) => format::short_date_time(s.lease_until),
    };
    if s.overdraft {
        held.push_str(" · overdraft");
    }
    if let Some((by, _)) = &s.revoked {
        held.push_str(" · revoked by ");
        held.push_str(by);
    }
    if let Some(since) = s.idle_since {
        held.push_str(" · idle since ");
        held.push_str(&format::short_date_time(since));
    }
    held
}

/// What an admin can do with a session: end it (asked twice), revoke a borrow on a laptop
/// away (asked twice), or return this machine's own borrow.
fn session_action(
    ui: &mut Ui,
    model: &mut Model,
    ending: &mut Option<String>,
    s: &tenure_client::product_db::Session,
    borrowed_here: Option<&str>,
) {
    let busy = model.is_busy(JobKind::Sessions);
    let borrowed = s.borrowed_until.is_some();
    if borrowed_here == Some(s.id.as_str()) {
        // This machine's borrow goes back from here, not by ending it.
        if ui
            .add_enabled(
                !model.is_busy(JobKind::Borrow),
                egui::Button::new("Return now"),
            )
            .clicked()
        {
            model.request(Job::ReturnBorrow);
        }
    } else if borrowed && s.revoked.is_some() {
        ui.label("revoked").on_hover_text(
            "The seat comes free when the laptop is back in reach of the pool, or at once when the vendor confirms the revocation at the next online validation; else when the borrow ends",
        );
    } else if ending.as_deref() == Some(s.id.as_str()) {
        // "Keep" sits where the action was: a second click there (the rows moved, or a
        // double click) keeps the seat.
        ui.horizontal(|ui| {
            if ui.button("Keep").clicked() {
                *ending = None;
            }
            let confirm = if borrowed {
                format!("Revoke {}'s borrow", s.login)
            } else {
                format!("End {}'s session", s.login)
            };
            if ui.add_enabled(!busy, egui::Button::new(confirm)).clicked() {
                *ending = None;
                model.request(Job::EndSession(s.id.clone()));
            }
        });
    } else {
        let (words, hover) = if borrowed {
            (
                "Revoke borrow",
                format!(
                    "A lost laptop: {}'s borrowed seat stops at the laptop's next contact, and comes back early once the vendor confirms",
                    s.login
                ),
            )
        } else {
            (
                "End session",
                format!(
                    "Free {}'s seat now; their copy is told at its next heartbeat",
                    s.login
                ),
            )
        };
        if ui
            .add_enabled(!busy, egui::Button::new(words))
            .on_hover_text(hover)
            .clicked()
        {
            *ending = Some(s.id.clone());
        }
    }
}

/// The users waiting in line for a seat: the next seat freed goes to the head of each line. An
/// admin moves a waiter to the front or takes it out.
fn queue_table(
    ui: &mut Ui,
    model: &mut Model,
    queue: &[tenure_client::product_db::Waiter],
    now: DateTime<Utc>,
) {
    ui.label(RichText::new(format!("Waiting in line ({})", queue.len())).strong())
        .on_hover_text(
            "The next seat freed goes to the head of the line, not to whoever asks first",
        );
    let busy = model.is_busy(JobKind::Sessions);
    let split = queue.iter().any(|w| w.line.is_some());
    egui::Grid::new("queue-grid")
        .striped(true)
        .num_columns(if split { 6 } else { 5 })
        .show(ui, |ui| {
            let mut headings = vec!["Place", "User", "Machine", "Since"];
            if split {
                headings.push("Share");
            }
            headings.push("");
            for heading in headings {
                ui.label(RichText::new(heading).strong());
            }
            ui.end_row();
            for w in queue {
                ui.label(w.position.to_string());
                crate::gui::bidi::label(ui, &w.login);
                ui.label(&w.machine);
                ui.label(format::ago(now, w.joined_at));
                if split {
                    ui.label(match w.line.as_deref() {
                        None | Some("") => "no group's share",
                        Some(group) => group,
                    });
                }
                ui.horizontal(|ui| {
                    if w.position > 1
                        && ui
                            .add_enabled(!busy, egui::Button::new("Move to front"))
                            .on_hover_text(format!("Give {} the next seat freed", w.login))
                            .clicked()
                    {
                        model.request(Job::MoveWaiter {
                            id: w.id.clone(),
                            place: 1,
                        });
                    }
                    if ui
                        .add_enabled(!busy, egui::Button::new("Remove"))
                        .on_hover_text(format!("Take {} out of the line", w.login))
                        .clicked()
                    {
                        model.request(Job::RemoveWaiter(w.id.clone()));
                    }
                });
                ui.end_row();
            }
        });
}

/// Borrowing and returning; true when either was clicked.
fn borrow_ui(ui: &mut Ui, model: &mut Model, max_days: u32, now: DateTime<Utc>) -> bool {
    ui.label(RichText::new("Borrow a seat for a trip").strong());
    let busy = model.is_busy(JobKind::Borrow);
    let borrow = model.snapshot.as_ref().and_then(|s| s.borrow.clone());
    match borrow {
        Some(b) if b.active => {
            ui.label(format!(
                "This machine holds a borrowed seat for {} until {} — {} left. It works with no \
                 network until then, and goes back to the pool by itself.",
                b.record.login,
                format::date_time(b.record.until),
                crate::gui::format::countdown(b.record.until - now)
            ));
            if ui
                .add_enabled(!busy, egui::Button::new("Return now"))
                .clicked()
            {
                model.request(Job::ReturnBorrow);
                return true;
            }
            false
        }
        _ => {
            if max_days == 0 {
                ui.label("This license does not allow borrowing seats.");
                return false;
            }
            ui.horizontal_wrapped(|ui| {
                ui.label("Borrow a seat onto this machine for");
                let days = &mut model.prefs.borrow_days;
                *days = (*days).clamp(1, max_days);
                ui.add(egui::DragValue::new(days).range(1..=max_days));
                ui.label(format!("days (at most {max_days})"));
                let clicked = ui.add_enabled(!busy, egui::Button::new("Borrow")).clicked();
                if clicked {
                    let days = model.prefs.borrow_days;
                    model.request(Job::Borrow(days));
                }
                clicked
            })
            .inner
        }
    }
}

/// The pool's floating policy in one line: what a seat given back, an idle one and the
/// overdraft do here.
fn floating_words(policy: &tenure_client::product_db::FloatingPolicy, overdraft: u32) -> String {
    let linger = match policy.linger_mins() {
        0 => "A seat given back is free at once".to_owned(),
        mins => format!("A seat given back stays its user's for {mins} min"),
    };
    let idle = match policy.idle_timeout_mins() {
        Some(mins) => format!("; one idle {mins} min goes to the next user"),
        None => String::new(),
    };
    let extra = match overdraft {
        0 => String::new(),
        n => format!("; up to {n} more may be given as overdraft"),
    };
    format!("{linger}{idle}{extra}.")
}
