//! Small shared pieces: message boxes and the status strip.

use egui::{RichText, Ui};

use super::model::Model;
use super::style::Tone;

fn message_box(ui: &mut Ui, tone: Tone, text: &str) {
    let color = tone.color(ui.visuals().dark_mode);
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.0, color))
        .inner_margin(8.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width().min(720.0));
            ui.label(
                RichText::new(format!(
                    "{} {}",
                    tone.symbol(),
                    super::style::drawable(text)
                ))
                .color(color),
            );
        });
}

/// A red box with a message.
pub fn error_box(ui: &mut Ui, text: &str) {
    message_box(ui, Tone::Bad, text);
}

/// An amber box with a message.
pub fn warning_box(ui: &mut Ui, text: &str) {
    message_box(ui, Tone::Warn, text);
}

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
            Some(Err(_)) => {
                ui.label(RichText::new("✖ license unreadable").color(Tone::Bad.color(dark)));
            }
            None => {
                ui.label("ℹ reading…");
            }
        }
        let server = match &model.reachable {
            Some(Ok(())) => "· server reachable".to_owned(),
            Some(Err(_)) => "· server unreachable (working offline)".to_owned(),
            None => "· server not checked yet".to_owned(),
        };
        ui.label(server);
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
            .find(|(k, _)| **k != super::worker::JobKind::Refresh)
        {
            ui.separator();
            ui.spinner();
            ui.label(kind.doing());
        }
    });
}
