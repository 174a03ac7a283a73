//! Settings: license server, account (token kept in the OS keyring, never shown back), trusted
//! vendor keys, the binding in force, and the theme.

use egui::{RichText, Ui};

use crate::gui::chrome;
use crate::gui::files::FilePurpose;
use crate::gui::model::{Model, Theme};
use crate::gui::widgets;
use crate::gui::worker::{Job, JobKind, RootsFrom, Snapshot};

/// Draws the Settings screen.
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

/// The Settings screen: its form.
#[derive(Debug, Default)]
pub struct Settings {
    /// The fields being edited.
    pub form: SettingsForm,
}

impl Settings {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        settings_ui(ui, model, &mut self.form);
    }

    /// Follows the snapshot: the fields start from what is in use, and follow a database chosen
    /// elsewhere (the CLI, another window) until edited.
    pub fn on_snapshot(&mut self, old: Option<&Snapshot>, new: &Snapshot) {
        let database_changed = old.is_none_or(|old| old.database_setting != new.database_setting);
        if self.form.database.is_none() || database_changed {
            self.form.database = Some(new.database_setting.clone());
        }
        if self.form.server_url.is_none() {
            self.form.server_url = Some(new.server_url.clone().unwrap_or_default());
        }
    }
}

fn settings_ui(ui: &mut Ui, model: &mut Model, form: &mut SettingsForm) {
    let Some(snapshot) = model.snapshot.clone() else {
        ui.spinner();
        return;
    };
    server_section(ui, model, form);
    account_section(ui, model, form, &snapshot);
    keys_section(ui, model, &snapshot);
    database_section(ui, model, form, &snapshot);
    section(ui, "Appearance");
    ui.horizontal(|ui| {
        for (theme, label) in [
            (Theme::System, "Follow system"),
            (Theme::Light, "Light"),
            (Theme::Dark, "Dark"),
        ] {
            ui.radio_value(&mut model.prefs.theme, theme, label);
        }
    });
}

fn section(ui: &mut Ui, title: &str) {
    ui.add_space(12.0);
    ui.label(RichText::new(title).size(17.0).strong());
    ui.separator();
}

fn server_section(ui: &mut Ui, model: &mut Model, form: &mut SettingsForm) {
    section(ui, "License server");
    ui.horizontal(|ui| {
        let label = ui.label("Server URL");
        let url = form.server_url.get_or_insert_with(String::new);
        ui.add(
            egui::TextEdit::singleline(url)
                .hint_text("https://licenses.example.com")
                .desired_width(340.0),
        )
        .labelled_by(label.id);
        if ui.button("Save").clicked() {
            let url = url.clone();
            model.request(Job::SetServerUrl(url));
        }
        if model.is_busy(JobKind::CheckServer) {
            ui.spinner();
        } else if ui.button("Test connection").clicked() {
            model.request(Job::CheckServer);
        }
    });
}

fn account_section(ui: &mut Ui, model: &mut Model, form: &mut SettingsForm, snapshot: &Snapshot) {
    section(ui, "Account");
    if let Some(problem) = &snapshot.secrets_problem {
        // Not "kept in the OS keyring" above a line that says there is none.
        chrome::secrets_problem_ui(ui, model, problem);
    } else {
        ui.label(format!("Secrets are kept in: {}", snapshot.secrets));
    }
    if snapshot.secrets_problem.is_none() && !snapshot.secrets_in_keyring {
        widgets::warning_box(ui, "Secrets are not in the OS keyring on this machine.");
    }
    if let Some(account) = &snapshot.account {
        ui.horizontal(|ui| {
            ui.label(format!(
                "Signed in as {account}. The token is stored and never shown."
            ));
            if ui.button("Sign out").clicked() {
                model.request(Job::Logout);
            }
        });
    } else {
        egui::Grid::new("login").num_columns(2).show(ui, |ui| {
            let label = ui.label("Account");
            ui.add(egui::TextEdit::singleline(&mut form.account).desired_width(240.0))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Token");
            ui.add(
                egui::TextEdit::singleline(&mut form.token)
                    .password(true)
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        let ready = !form.account.trim().is_empty() && !form.token.trim().is_empty();
        if ui
            .add_enabled(ready, egui::Button::new("Sign in"))
            .clicked()
        {
            let token = std::mem::take(&mut form.token);
            let account = form.account.clone();
            model.request(Job::Login { account, token });
        }
    }
}

fn keys_section(ui: &mut Ui, model: &mut Model, snapshot: &Snapshot) {
    section(ui, "Trusted vendor keys");
    if let RootsFrom::Demo { program_has_roots } = snapshot.roots_from {
        // The demo's root is made for the demo: say so, and what the program itself carries.
        ui.label("The demo's own vendor root, made for this demo only (its licenses must be certified by it):");
        if !program_has_roots {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "This program has no vendor roots built in (a development build): outside the demo, licenses are not protected.",
            );
        }
    } else if snapshot.roots_from.is_pinned() {
        ui.label("Vendor roots built into this program (licenses must be certified by one):");
    } else {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "Development build — licenses not protected: no vendor roots are built in, so the roots below were added by hand.",
        );
        if snapshot.roots.is_empty() {
            ui.label(
                "No vendor root is trusted yet: add the root public key file your vendor sent.",
            );
        }
    }
    for id in &snapshot.roots {
        ui.horizontal(|ui| {
            ui.monospace(format!("root {id}"));
            if !snapshot.roots_from.is_pinned() && ui.button("Remove").clicked() {
                model.request(Job::Untrust(id.clone()));
            }
        });
    }
    for id in &snapshot.signing_keys {
        ui.monospace(format!("signing key {id} (certified)"));
    }
    let what = if snapshot.roots_from.is_pinned() {
        "Add a certificate or revocation list…"
    } else {
        "Add from file…"
    };
    chrome::file_button(ui, model, what, &FilePurpose::TrustKey, true);
    chrome::typed_path_ui(ui, model, &FilePurpose::TrustKey);
}

fn database_section(ui: &mut Ui, model: &mut Model, form: &mut SettingsForm, snapshot: &Snapshot) {
    section(ui, "Product database");
    ui.horizontal(|ui| {
        let label = ui.label("Database");
        let text = form.database.get_or_insert_with(String::new);
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text("/data/prod.db or postgres://user@host:5432/prod")
                .desired_width(380.0),
        )
        .labelled_by(label.id)
        .on_hover_text("A SQLite file path, or a PostgreSQL URL. A password in the URL is kept in the OS keyring.");
        let text = text.clone();
        if model.is_busy(JobKind::Database) {
            ui.spinner();
        } else if ui.button("Connect").clicked() {
            model.request(Job::ConnectDb(Some(text)));
        }
    });
    match (&snapshot.database, &snapshot.binding) {
        (Some(db), Some(b)) => {
            ui.label(format!("Connected: {db}"));
            ui.label(
                RichText::new(format!(
                    "This workstation is on server {} · database {}",
                    b.server, b.database
                ))
                .strong(),
            );
        }
        (None, _) => {
            ui.label("Not connected.");
        }
        (Some(db), None) => {
            ui.label(format!("Connected: {db}"));
        }
    }
    if snapshot.database_from_flag {
        ui.label(
            RichText::new(
                "This database was given for this run (--db or TENURE_DB). Connect saves another \
                 one for later runs and uses it now.",
            )
            .strong(),
        );
    }
    ui.label(
        RichText::new(
            "The license is bound to this server and database name, read from the connection. \
             Names are compared after canonicalising: case and spaces are ignored, the default \
             port 5432 is dropped, and localhost, 127.0.0.1, ::1, \".\", \"(local)\" and this \
             computer's name all mean this computer — so they count as the same server.",
        )
        .weak(),
    );
}
