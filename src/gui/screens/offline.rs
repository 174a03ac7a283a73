//! Offline: activation and re-validation by files, for sites with no internet. Export a request,
//! send it to the vendor, import the signed answer (or drop it onto the window).

use egui::{RichText, Ui};
use tenure_client::OfflineWish;

use crate::gui::chrome;
use crate::gui::files::FilePurpose;
use crate::gui::model::Model;
use crate::gui::worker::JobKind;

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
    /// The admin confirmed they are leaving the site: the release button is live.
    pub leaving: bool,
}

impl Default for OfflineForm {
    fn default() -> Self {
        Self {
            choice: OfflineChoice::Validate,
            extend_days: 60,
            key: String::new(),
            leaving: false,
        }
    }
}

/// The Offline screen: its form.
#[derive(Debug, Default)]
pub struct Offline {
    /// The request being made.
    pub form: OfflineForm,
}

impl Offline {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        offline_ui(ui, model, &mut self.form);
    }
}

fn offline_ui(ui: &mut Ui, model: &mut Model, form: &mut OfflineForm) {
    ui.label(
        RichText::new("Offline activation and re-validation")
            .size(17.0)
            .strong(),
    );
    ui.label(
        "For sites with no internet: save a request file, send it to your vendor, and import the \
         signed answer they send back.",
    );
    let busy = model.is_busy(JobKind::Offline);
    let licensed = model
        .snapshot
        .as_ref()
        .and_then(|s| s.report.as_ref().ok())
        .is_some_and(|r| r.license.is_some());
    ui.add_space(8.0);
    ui.label(RichText::new("1. Save a request").strong());
    // With no license, activating is the one thing to ask; the choice made is kept for when
    // the license is read (it may not be yet when the screen is first drawn).
    let mut choice = if licensed {
        form.choice
    } else {
        OfflineChoice::Activate
    };
    ui.add_enabled_ui(licensed, |ui| {
        ui.radio_value(
            &mut choice,
            OfflineChoice::Validate,
            "Validate: restart the offline grace period",
        );
        ui.horizontal_wrapped(|ui| {
            ui.radio_value(&mut choice, OfflineChoice::Extend, "Extend the grace to");
            ui.add(egui::DragValue::new(&mut form.extend_days).range(1..=365));
            ui.label("days");
        });
        ui.radio_value(
            &mut choice,
            OfflineChoice::Rebind,
            "Re-validate for the database now connected (after a restore)",
        );
    });
    ui.horizontal(|ui| {
        ui.radio_value(&mut choice, OfflineChoice::Activate, "Activate a key:");
        let typed = ui.add(
            egui::TextEdit::singleline(&mut form.key)
                .hint_text("1234-5678-9012-3")
                .desired_width(160.0),
        );
        // Typing a key means asking for its activation.
        if typed.changed() {
            choice = OfflineChoice::Activate;
        }
    });
    if licensed || choice != OfflineChoice::Activate {
        form.choice = choice;
    }
    let key_ok = super::activate::key_feedback(&form.key).is_ok();
    // The line is there whatever is chosen, so the button below never moves under a click.
    let check = if choice == OfflineChoice::Activate {
        form.key.as_str()
    } else {
        ""
    };
    super::activate::key_check_line(ui, check);
    let wish = match choice {
        OfflineChoice::Validate => OfflineWish::Validate,
        OfflineChoice::Extend => OfflineWish::Extend(form.extend_days),
        OfflineChoice::Rebind => OfflineWish::Rebind("database restored or moved".into()),
        OfflineChoice::Activate => OfflineWish::Activate(form.key.trim().to_owned()),
    };
    let request = FilePurpose::OfflineRequest(wish);
    // A mistyped key is caught here, not by the vendor days later.
    let ready = !busy && (choice != OfflineChoice::Activate || key_ok);
    chrome::file_button(ui, model, "Save request file…", &request, ready);
    chrome::typed_path_ui(ui, model, &request);
    ui.add_space(8.0);
    ui.label(RichText::new("2. Import the answer").strong());
    ui.horizontal(|ui| {
        chrome::file_button(
            ui,
            model,
            "Open answer file…",
            &FilePurpose::OfflineAnswer,
            !busy,
        );
        ui.label("or drop the file onto this window.");
    });
    chrome::typed_path_ui(ui, model, &FilePurpose::OfflineAnswer);
    ui.add_space(8.0);
    ui.label(RichText::new("Keep a copy of the license").strong());
    chrome::file_button(
        ui,
        model,
        "Save license file…",
        &FilePurpose::ExportLicense,
        !busy && licensed,
    )
    .on_hover_text("For a backup, or to send to support");
    chrome::typed_path_ui(ui, model, &FilePurpose::ExportLicense);
    release_ui(ui, model, form, busy, licensed);
}

/// Leaving the site: stop the license here and save the release the vendor's portal takes,
/// which frees the key for elsewhere. Asked twice: a tick, then the button.
fn release_ui(ui: &mut Ui, model: &mut Model, form: &mut OfflineForm, busy: bool, licensed: bool) {
    ui.add_space(8.0);
    ui.label(RichText::new("Leaving this site").strong());
    ui.label(
        "Release the license so its key can be activated elsewhere: it stops on this database \
         at once, and your vendor's portal frees the key when you upload the release file.",
    );
    ui.add_enabled(
        licensed && !busy,
        egui::Checkbox::new(&mut form.leaving, "Stop the license on this database"),
    );
    let release = chrome::file_button(
        ui,
        model,
        "Release and save file…",
        &FilePurpose::OfflineRelease,
        !busy && licensed && form.leaving,
    );
    if release.clicked() {
        form.leaving = false;
    }
    chrome::typed_path_ui(ui, model, &FilePurpose::OfflineRelease);
}
