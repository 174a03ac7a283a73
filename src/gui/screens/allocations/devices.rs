//! The devices with their type, group and last contact; only the visible rows are drawn.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use tenure_client::Overview;

use super::ROW_HEIGHT;
use crate::gui::format;

/// The width the device table's fixed columns take (type, group, state) with the spacing.
const FIXED_DEVICE_COLUMNS: f32 = 90.0 + 120.0 + 190.0 + 4.0 * 8.0;

pub(super) fn devices_ui(ui: &mut Ui, overview: &Overview) {
    let devices: Vec<_> = overview.book.devices.values().collect();
    ui.label(RichText::new(format!("Devices ({})", devices.len())).strong());
    if devices.is_empty() {
        ui.label("No devices yet: a device appears when it first connects, or when assigned here.");
        return;
    }
    let height = ui.available_height().max(160.0);
    // Type, group and state take what they need; the device's name the rest, ending in "…"
    // (the whole on hover) when long — the table fits the window at any size.
    let name_width = (ui.available_width() - FIXED_DEVICE_COLUMNS).max(120.0);
    TableBuilder::new(ui)
        .striped(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(name_width).clip(true))
        .column(Column::exact(90.0).clip(true))
        .column(Column::exact(120.0).clip(true))
        .column(Column::remainder().at_least(190.0))
        .auto_shrink([false, false])
        .max_scroll_height(height)
        .header(ROW_HEIGHT, |mut header| {
            for heading in ["Device", "Type", "Group", "License · last contact"] {
                header.col(|ui| {
                    ui.label(RichText::new(heading).strong());
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, devices.len(), |mut row| {
                let d = devices[row.index()];
                row.col(|ui| {
                    ui.label(&d.id);
                });
                row.col(|ui| {
                    ui.label(&d.device_type);
                });
                row.col(|ui| {
                    ui.label(if d.group.is_empty() { "—" } else { &d.group });
                });
                row.col(|ui| {
                    let (text, when) = match (d.licensed_at, d.last_contact) {
                        (Some(_), Some(seen)) => ("licensed · seen", Some(seen)),
                        (Some(at), None) => ("licensed", Some(at)),
                        (None, Some(seen)) => ("none free · seen", Some(seen)),
                        (None, None) => ("waiting for its first contact", None),
                    };
                    match when {
                        Some(at) => ui
                            .label(format!("{text} {}", format::short_date_time(at)))
                            .on_hover_text(format::date_time(at)),
                        None => ui.label(text),
                    };
                });
            });
        });
}
