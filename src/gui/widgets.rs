//! Small shared pieces: message boxes and the status strip.

use egui::{RichText, Ui};

use super::style::Tone;

fn message_box(ui: &mut Ui, tone: Tone, text: &str) -> egui::Response {
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
            )
        })
        .inner
}

/// A red box with a message.
pub fn error_box(ui: &mut Ui, text: &str) -> egui::Response {
    message_box(ui, Tone::Bad, text)
}

/// An amber box with a message.
pub fn warning_box(ui: &mut Ui, text: &str) -> egui::Response {
    message_box(ui, Tone::Warn, text)
}
