//! Screens whose features are not built yet say so plainly instead of pretending to work.

use egui::{RichText, Ui};

use crate::gui::model::Screen;

/// Draws an honest placeholder for a screen not built yet.
pub fn coming_ui(ui: &mut Ui, screen: Screen) {
    let what = match screen {
        Screen::Users => {
            "Named-user seats: give users a seat with a checkbox, import CSV files, and trim excess seats automatically."
        }
        Screen::Offline => {
            "Offline activation: export a request file, import the vendor's signed answer."
        }
        Screen::Sessions => {
            "Concurrent sessions: who holds a seat, from which machine, and borrowing a seat for a trip."
        }
        _ => "",
    };
    ui.label(
        RichText::new(format!("{} — coming in a later release", screen.label()))
            .size(20.0)
            .strong(),
    );
    ui.add_space(6.0);
    ui.label(what);
    ui.label("Nothing on this screen works yet; the rest of the app is unaffected.");
}
