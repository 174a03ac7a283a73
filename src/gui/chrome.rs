//! What the window draws around and across the screens, from the state they share: the status
//! strip, the message over the content, the "no database" note, and the file buttons with
//! their path field where no dialog can open.

use std::time::Duration;

use egui::{RichText, Ui};
use tenure_core::directory::Change;

use super::files::{self, FilePurpose};
use super::model::Model;
use super::style::{Tone, drawable};
use super::toast::Toast;
use super::widgets::{self, warning_box};
use super::worker::{Job, JobKind, SecretsProblem};

/// Says that no product database is connected and that `what` lives there; true when so (the
/// screen then has nothing else to show).
pub fn no_database(ui: &mut Ui, model: &Model, what: &str) -> bool {
    let missing = model
        .snapshot
        .as_ref()
        .is_some_and(|s| s.database.is_none());
    if missing {
        warning_box(
            ui,
            &format!("No product database is connected: {what} there. Connect it in Settings."),
        );
    }
    missing
}

/// The strip at the bottom: state, days, server, binding — always visible.
pub fn status_strip_ui(ui: &mut Ui, model: &Model) {
    ui.horizontal(|ui| {
        let dark = ui.visuals().dark_mode;
        match model.snapshot.as_ref().map(|s| &s.report) {
            Some(Ok(report)) => {
                let tone = Tone::of(&report.status);
                ui.label(
                    RichText::new(format!("{} {}", tone.symbol(), report.status.label()))
                        .color(tone.color(dark)),
                );
                if let Some(g) = report.status.grace() {
                    ui.label(format!("· {} days", g.days_left));
                }
            }
            // Locked away with the keyring is not unreadable: it is there, and said so.
            Some(Err(_))
                if model
                    .snapshot
                    .as_ref()
                    .is_some_and(|s| s.secrets_problem.is_some()) =>
            {
                ui.label(
                    RichText::new("🔒 license locked (no keyring)").color(Tone::Warn.color(dark)),
                );
            }
            Some(Err(_)) => {
                ui.label(RichText::new("✖ license unreadable").color(Tone::Bad.color(dark)));
            }
            None => {
                ui.label("ℹ reading…");
            }
        }
        ui.label(server_words(model));
        if let Some(snapshot) = &model.snapshot {
            // The database in use is always in view: moving a license to the wrong one costs
            // one of its moves.
            let given = if snapshot.database_from_flag {
                " (given for this run)"
            } else {
                ""
            };
            match (&snapshot.database, &snapshot.binding) {
                (Some(db), Some(binding)) => {
                    ui.label(format!("· {} on {}", binding.database, binding.server))
                        .on_hover_text(format!("Product database: {db}{given}"));
                }
                (None, _) => {
                    ui.label(
                        RichText::new("· no product database connected")
                            .color(Tone::Warn.color(dark)),
                    );
                }
                (Some(db), None) => {
                    ui.label(format!("· {db}{given}"));
                }
            }
        }
        if let Some((kind, _)) = model
            .busy
            .iter()
            .find(|(k, _)| !matches!(k, JobKind::Refresh | JobKind::Probe))
        {
            ui.separator();
            ui.spinner();
            ui.label(kind.doing());
        }
    });
}

/// The secret store's problem in one plain sentence (the platform's words on hover), with
/// Retry and, where no keyring can be used, the choice of a plain file (asked first).
pub fn secrets_problem_ui(ui: &mut Ui, model: &mut Model, problem: &SecretsProblem) {
    widgets::error_box(ui, &problem.sentence())
        .on_hover_text(format!("The system said: {}", problem.detail()));
    ui.horizontal_wrapped(|ui| {
        if model.is_busy(JobKind::Database) || model.is_busy(JobKind::Account) {
            ui.spinner();
        } else if ui.button("Retry").clicked() {
            // Connecting again reads the license and the secrets afresh.
            model.request(Job::ConnectDb(None));
        }
        if problem.file_helps() && ui.button("Keep secrets in a file instead…").clicked() {
            model.confirm_plain_secrets = true;
        }
    });
}

/// Asks before secrets go to a plain file: what that means, in words.
pub fn plain_secrets_dialog(ctx: &egui::Context, model: &mut Model) {
    if !model.confirm_plain_secrets {
        return;
    }
    let asked = egui::Modal::new(egui::Id::unique("plain-secrets")).show(ctx, |ui| {
        ui.set_max_width(480.0);
        ui.label(RichText::new("Keep secrets in a file?").size(18.0).strong());
        ui.add(
            egui::Label::new(
                "The key of the license cache and your account's token will be kept in a file                  in your profile, readable only by you but not encrypted: anyone who can read                  your files can read them. Use this only where no keyring can run.",
            )
            .wrap(),
        );
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let keep = ui.button("Keep them in a file").clicked();
            let cancel = ui.button("Cancel").clicked();
            (keep, cancel)
        })
        .inner
    });
    let (keep, cancel) = asked.inner;
    if keep {
        model.request(Job::KeepSecretsInFile);
    }
    if keep || cancel || asked.should_close() {
        model.confirm_plain_secrets = false;
    }
}

/// What the status strip says of the license server: what the last request that reached for
/// it found (re-checked in the background while it does not answer), or that a license kept
/// up to date by files needs none.
fn server_words(model: &Model) -> &'static str {
    let offline_only = model
        .snapshot
        .as_ref()
        .and_then(|s| s.report.as_ref().ok())
        .and_then(|r| r.license.as_ref())
        .is_some_and(|l| l.terms.activation_mode == tenure_core::ActivationMode::Offline);
    match &model.reachable {
        _ if offline_only => "· kept up to date by files (no server needed)",
        Some(Ok(())) => "· server reachable",
        Some(Err(_)) => "· server unreachable (working offline)",
        None => "· server not checked yet",
    }
}

/// Draws the message, if any, in a strip of its own above the status strip — it takes its
/// own room, so it never covers a control; ✖ closes it, and Undo returns the changes that
/// undo it (for the Users screen to save). Call before the central panel.
pub fn toast_ui(ui: &mut Ui, model: &mut Model) -> Option<Vec<Change>> {
    if model.toast.as_ref().is_some_and(Toast::expired) {
        model.toast = None;
    }
    let toast = model.toast.clone()?;
    let mut undo = false;
    let mut close = false;
    egui::Panel::bottom("message").show(ui, |ui| {
        let dark = ui.visuals().dark_mode;
        let color = toast.tone.color(dark);
        ui.add_space(2.0);
        ui.horizontal_wrapped(|ui| {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("{} {}", toast.tone.symbol(), drawable(&toast.text)))
                        .color(color),
                )
                .wrap(),
            );
            if !toast.undo.is_empty() && ui.button("Undo").clicked() {
                undo = true;
            }
            if ui
                .small_button("✖ Dismiss")
                .on_hover_text("Hide this message")
                .clicked()
            {
                close = true;
            }
        });
        ui.add_space(2.0);
    });
    if undo || close {
        model.toast = None;
    }
    if model.toast.is_some() {
        ui.ctx().request_repaint_after(Duration::from_millis(500));
    }
    undo.then_some(toast.undo)
}

/// A button that chooses a file for `purpose`; under it, the path field when no dialog could
/// open for it.
pub fn file_button(
    ui: &mut Ui,
    model: &mut Model,
    label: &str,
    purpose: &FilePurpose,
    enabled: bool,
) -> egui::Response {
    let waiting = model.files.is_waiting();
    let response = ui.add_enabled(enabled && !waiting, egui::Button::new(label));
    if response.clicked() {
        model.files.ask(purpose.clone(), ui.ctx());
    }
    response
}

/// The path field (and paste box) for `purpose`, when no dialog could open for it.
pub fn typed_path_ui(ui: &mut Ui, model: &mut Model, purpose: &FilePurpose) {
    let Some(typing) = model
        .files
        .typing
        .as_mut()
        .filter(|t| t.purpose == *purpose)
    else {
        return;
    };
    let mut job = None;
    let mut close = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        widgets::warning_box(
            ui,
            &format!(
                "No file dialog can open here: {}. Type the file's full path instead.",
                typing.why
            ),
        );
        ui.horizontal(|ui| {
            let label = ui.label("File path");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut typing.path)
                        .hint_text(if purpose.saves() {
                            format!("/home/me/{}", purpose.suggested_name())
                        } else {
                            "/home/me/Downloads/file".to_owned()
                        })
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
            // The field appears after a click or an Enter: the keyboard goes straight to it.
            if !std::mem::replace(&mut typing.focused, true) {
                edit.request_focus();
            }
            let go = if purpose.saves() { "Save" } else { "Open" };
            let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button(go).clicked() || entered) && !typing.path.trim().is_empty() {
                job = Some(purpose.job(files::expand_home(typing.path.trim())));
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if *purpose == FilePurpose::TrustKey {
            ui.label(RichText::new("Or paste the key, certificate or revocation list:").strong());
            ui.add(
                egui::TextEdit::multiline(&mut typing.pasted)
                    .hint_text("-----BEGIN TENURE …")
                    .desired_rows(4)
                    .desired_width(520.0),
            );
            if ui
                .add_enabled(
                    !typing.pasted.trim().is_empty(),
                    egui::Button::new("Trust pasted text"),
                )
                .clicked()
            {
                job = Some(Job::TrustText(typing.pasted.clone()));
            }
        }
    });
    if let Some(job) = job {
        model.request(job);
        close = true;
    }
    if close {
        model.files.typing = None;
    }
}
