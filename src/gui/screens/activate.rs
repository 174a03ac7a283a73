//! The Request-a-license dialog: a 13-digit key checked as it is typed (which kind of mistake,
//! before any network call), the binding it will activate for; or pick one of the signed-in
//! account's licenses.

use egui::{RichText, Ui};
use tenure_core::LicenseKey;

use super::needs::{Missing, NeedsForm};
use crate::gui::model::Model;
use crate::gui::style::Tone;
use crate::gui::widgets;
use crate::gui::worker::{Event, FirstNeeds, Job, JobKind};

/// What the key field says about the key typed so far.
pub fn key_feedback(text: &str) -> Result<LicenseKey, String> {
    LicenseKey::parse(text).map_err(|e| {
        let mut message = e.to_string();
        if let Some(first) = message.get(..1) {
            message = first.to_uppercase() + &message[1..];
        }
        message
    })
}

/// The line under a key field: the check digit right, or which kind of mistake; an empty line
/// of the same height while the field is empty, so nothing below moves when it appears.
pub fn key_check_line(ui: &mut Ui, text: &str) {
    // One line's room, whatever is in it (a symbol may come from a taller fallback font).
    let height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::hover(),
    );
    if text.trim().is_empty() {
        return;
    }
    let dark = ui.visuals().dark_mode;
    let line = match key_feedback(text) {
        Ok(key) => RichText::new(format!("✔ {key}: the check digit is right"))
            .color(Tone::Good.color(dark)),
        Err(message) => RichText::new(format!("✖ {message}")).color(Tone::Bad.color(dark)),
    };
    // Drawn in the room taken above, leaving the layout as it was.
    ui.new_child(egui::UiBuilder::new().max_rect(rect))
        .add(egui::Label::new(line).truncate());
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
    /// What the workstation lacks for it: the server's address (and the account, to list its
    /// licenses).
    pub needs: NeedsForm,
    /// The first field has been given the keyboard focus.
    pub focused: bool,
}

/// The Request-a-license dialog, opened over any screen (`model.ask_activation`).
#[derive(Debug, Default)]
pub struct ActivationDialog {
    /// Its fields.
    pub form: ActivationForm,
}

impl ActivationDialog {
    /// Draws the dialog when it is open (or a screen asked for it this frame).
    pub fn ui(&mut self, ctx: &egui::Context, model: &mut Model) {
        if std::mem::take(&mut model.ask_activation) {
            self.form.open = true;
        }
        activation_dialog(ctx, model, &mut self.form);
    }

    /// Follows the worker: a key activated closes the dialog; until it is opened, the binding
    /// fields follow the database in use.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Finished {
                kind: JobKind::Activate,
                outcome: Ok(_),
            } => self.form = ActivationForm::default(),
            Event::Finished {
                kind: JobKind::AccountLicenses,
                outcome: Ok(_),
            } => {
                self.form.needs.account.clear();
                self.form.needs.token.clear();
            }
            Event::Snapshot(snapshot) if !self.form.open => {
                if let Some(binding) = &snapshot.binding {
                    self.form.server_name.clone_from(&binding.server);
                    self.form.database.clone_from(&binding.database);
                }
            }
            _ => {}
        }
    }
}

fn activation_dialog(ctx: &egui::Context, model: &mut Model, form: &mut ActivationForm) {
    if !form.open {
        return;
    }
    let response = egui::Modal::new(egui::Id::unique("request-license")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading("Request a license");
        ui.add_space(6.0);
        let missing = Missing::of(model.snapshot.as_ref(), false);
        let first = form.needs.ui(ui, missing, true);
        if !missing.is_nothing() {
            ui.add_space(4.0);
        }
        key_form(ui, model, form, first.as_ref(), missing.is_nothing());
        ui.separator();
        account_list(ui, model, form);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Close").clicked() {
                form.open = false;
            }
        });
    });
    if response.should_close() {
        form.open = false;
    }
}

/// The key, checked as it is typed, and the binding it is for; Activate once all is there.
/// `first` is what the fields above give, `None` while one is empty; `autofocus`: the key
/// field takes the keyboard when the dialog opens.
fn key_form(
    ui: &mut Ui,
    model: &mut Model,
    form: &mut ActivationForm,
    first: Option<&FirstNeeds>,
    autofocus: bool,
) {
    let label = ui.label("License key (13 digits)");
    let edit = ui
        .add(
            egui::TextEdit::singleline(&mut form.key)
                .hint_text("1234-5678-9012-3")
                .desired_width(220.0)
                .font(egui::TextStyle::Monospace),
        )
        .labelled_by(label.id);
    if autofocus && !std::mem::replace(&mut form.focused, true) {
        edit.request_focus();
    }
    let feedback = key_feedback(&form.key);
    key_check_line(ui, &form.key);
    ui.add_space(4.0);
    ui.label("It will be activated for this database:");
    egui::Grid::new("activation-binding")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("Database server");
            ui.add(egui::TextEdit::singleline(&mut form.server_name).hint_text("SRV1:5432"))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Database name");
            ui.add(egui::TextEdit::singleline(&mut form.database).hint_text("PROD"))
                .labelled_by(label.id);
            ui.end_row();
        });
    let ready = feedback.is_ok()
        && first.is_some()
        && !form.server_name.trim().is_empty()
        && !form.database.trim().is_empty();
    ui.horizontal(|ui| {
        if model.is_busy(JobKind::Activate) {
            ui.spinner();
            ui.label("Activating…");
        } else {
            let button = ui.add_enabled(ready, egui::Button::new("Activate"));
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if let Some(first) = first.filter(|_| ready && (button.clicked() || enter)) {
                model.request(Job::after(
                    first.clone(),
                    Job::Activate {
                        key: form.key.clone(),
                        server_name: form.server_name.clone(),
                        database: form.database.clone(),
                    },
                ));
            }
        }
    });
}

fn account_list(ui: &mut Ui, model: &mut Model, form: &mut ActivationForm) {
    ui.label(RichText::new("Or pick one of your account's licenses").strong());
    let missing = Missing::of(model.snapshot.as_ref(), true);
    // The server's address is asked above; here only the account.
    let account_only = Missing {
        server: false,
        ..missing
    };
    let first = form.needs.ui(ui, account_only, false).map(|mut first| {
        if missing.server {
            first.server_url = Some(form.needs.server_url.trim().to_owned());
        }
        first
    });
    let ready = first
        .as_ref()
        .is_some_and(|f| f.server_url.as_ref().is_none_or(|u| !u.is_empty()));
    if model.is_busy(JobKind::AccountLicenses) {
        ui.spinner();
    } else if ui
        .add_enabled(
            ready,
            egui::Button::new(if account_only.account {
                "Sign in and list my licenses"
            } else {
                "Load my licenses"
            }),
        )
        .clicked()
        && let Some(first) = first
    {
        model.request(Job::after(first, Job::ListAccountLicenses));
    }
    let Some(result) = model.account_licenses.clone() else {
        return;
    };
    match result {
        Err(message) => {
            widgets::error_box(ui, &message);
        }
        Ok(list) => {
            egui::Grid::new("account-licenses")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for license in list {
                        ui.label(&license.terms.customer);
                        ui.label(format!(
                            "{} × {}",
                            license.terms.seats,
                            license.terms.kind.label()
                        ));
                        ui.label(
                            license
                                .binding
                                .as_ref()
                                .map_or_else(|| "not activated".to_owned(), ToString::to_string),
                        );
                        let usable = !license.revoked && license.binding.is_none();
                        if ui
                            .add_enabled(usable, egui::Button::new("Use this one"))
                            .clicked()
                        {
                            form.key.clone_from(&license.key);
                        }
                        ui.end_row();
                    }
                });
        }
    }
}
