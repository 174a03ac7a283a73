//! The shares of one quantity among groups and tenants: "used / allocated" bars, an editable
//! count for each group the acting admin may change, and Save / Discard.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use tenure_client::product_db::{Group, GroupKind};
use tenure_client::{Overview, QuantityView, ShareLine};

use super::ROW_HEIGHT;
use super::groups::in_scope;
use super::state::AllocationsState;
use crate::gui::format;
use crate::gui::model::Model;
use crate::gui::widgets;
use crate::gui::worker::{Job, JobKind};

const KIND_WIDTH: f32 = 70.0;
const SHARE_WIDTH: f32 = 120.0;
const BAR_WIDTH: f32 = 190.0;
/// The width the shares table's fixed columns take (kind, share, bar) with the spacing.
const FIXED_SHARE_COLUMNS: f32 = KIND_WIDTH + SHARE_WIDTH + BAR_WIDTH + 4.0 * 8.0;

/// A row of the shares table.
#[derive(Clone, Copy)]
enum Row<'a> {
    /// A share that stands (or the part of a pool no group was given).
    Line(&'a ShareLine),
    /// A group in the acting admin's scope with no share of this quantity.
    Unshared(&'a Group),
}

/// Whether a line says anything: a part no group was given shows only beside groups that were
/// (a tenant with no groups of its own would show its share twice), and never when it is
/// empty and unused.
fn shows_line(quantity: &QuantityView, line: &ShareLine) -> bool {
    if line.group.is_some() {
        return true;
    }
    let empty = line.allocated == 0 && line.used == 0;
    let beside_groups = quantity
        .lines
        .iter()
        .any(|l| l.group.is_some() && l.tenant == line.tenant);
    !empty && (line.tenant.is_empty() || beside_groups)
}

fn line_name(line: &ShareLine) -> String {
    match (&line.group, line.tenant.as_str()) {
        (Some(group), "") => group.clone(),
        (Some(group), tenant) => format!("{group} ({tenant})"),
        (None, "") => "Not given to any group".to_owned(),
        // Part of the tenant's own line above it, not another share beside it.
        (None, tenant) => format!("↳ {tenant}, not given to its groups"),
    }
}

/// The editable share of `group`; an edit equal to what stands is no edit.
fn share_field(
    ui: &mut Ui,
    state: &mut AllocationsState,
    group: &str,
    share: Option<tenure_core::allocation::Share>,
    label: egui::Id,
) {
    let standing = share.map(|s| s.to_string()).unwrap_or_default();
    let text = state
        .edits
        .entry(group.to_owned())
        .or_insert_with(|| standing.clone());
    ui.add_sized(
        [110.0, 20.0],
        egui::TextEdit::singleline(text).hint_text("5 or remaining"),
    )
    .labelled_by(label)
    .on_hover_text("A count, \"remaining\", or \"none\" to end the share");
    if *text == standing {
        state.edits.remove(group);
    }
}

fn used_bar(ui: &mut Ui, used: u32, allocated: u32) {
    // A bar needs no more precision than f32 gives.
    #[expect(clippy::cast_precision_loss, reason = "a bar's fraction")]
    let fraction = if allocated == 0 {
        0.0
    } else {
        (used as f32 / allocated as f32).min(1.0)
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(BAR_WIDTH - 10.0)
            .text(format!("{used} / {allocated}")),
    );
}

pub(super) fn shares_ui(
    ui: &mut Ui,
    model: &mut Model,
    state: &mut AllocationsState,
    overview: &Overview,
    quantity: &QuantityView,
) {
    let busy = model.is_busy(JobKind::Allocations);
    let version = overview.book.version.number;
    let acting = state.acting_tenant.clone();
    let mut unshared: Vec<_> = overview
        .book
        .groups
        .values()
        .filter(|g| {
            in_scope(acting.as_deref(), g)
                && !quantity
                    .lines
                    .iter()
                    .any(|l| l.group.as_deref() == Some(g.name.as_str()))
        })
        .collect();
    // Each tenant right before its own groups.
    unshared.sort_by_key(|g| {
        let tenant = overview.book.tenant_of(&g.name);
        (
            tenant.to_owned(),
            g.kind != GroupKind::Tenant,
            g.name.clone(),
        )
    });
    let rows: Vec<Row<'_>> = quantity
        .lines
        .iter()
        .filter(|l| shows_line(quantity, l))
        .map(Row::Line)
        .chain(unshared.into_iter().map(Row::Unshared))
        .collect();
    // Kind, share and bar take what they need; the name the rest, ending in "…" when long.
    let name_width = (ui.available_width() - FIXED_SHARE_COLUMNS).max(120.0);
    // Only the rows in view are drawn: a fleet has hundreds of groups.
    TableBuilder::new(ui)
        .id_salt("shares")
        .striped(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(name_width).clip(true))
        .column(Column::exact(KIND_WIDTH).clip(true))
        .column(Column::exact(SHARE_WIDTH))
        .column(Column::remainder().at_least(BAR_WIDTH))
        .auto_shrink([false, true])
        .max_scroll_height(240.0)
        .header(ROW_HEIGHT, |mut header| {
            for heading in ["Group", "Kind", "Share", "Used / allocated"] {
                header.col(|ui| {
                    ui.label(RichText::new(heading).strong());
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                let item = rows[row.index()];
                share_row(&mut row, state, acting.as_deref(), item);
            });
        });
    let unsaved = state.edits.len();
    ui.horizontal(|ui| {
        let label = if unsaved == 0 {
            "Save shares".to_owned()
        } else {
            format!(
                "Save {}",
                format::plural(i64::try_from(unsaved).unwrap_or(0), "share")
            )
        };
        if ui
            .add_enabled(unsaved > 0 && !busy, egui::Button::new(label))
            .clicked()
        {
            match state.share_changes(&quantity.pool.quantity) {
                Ok(changes) => model.request(Job::SaveAllocations {
                    expected: version,
                    changes,
                    tenant: state.acting_tenant.clone(),
                }),
                Err(e) => {
                    widgets::error_box(ui, &e);
                }
            }
        }
        if unsaved > 0 && ui.button("Discard").clicked() {
            state.edits.clear();
            // The refusal was about the edits just dropped.
            model.withdraw(JobKind::Allocations);
        }
    });
}

/// One row of the shares table: the name, the kind, the share (a field where the acting admin
/// may change it), and the bar.
fn share_row(
    row: &mut egui_extras::TableRow<'_, '_>,
    state: &mut AllocationsState,
    acting: Option<&str>,
    item: Row<'_>,
) {
    match item {
        Row::Line(line) => {
            let mut name = None;
            row.col(|ui| {
                name = Some(ui.add(egui::Label::new(line_name(line)).truncate()).id);
            });
            row.col(|ui| {
                ui.label(line.kind.map_or("", GroupKind::word));
            });
            let editable = acting.is_none_or(|t| line.tenant == t);
            row.col(|ui| match (&line.group, line.share, name) {
                (Some(group), share, Some(name)) if editable => {
                    share_field(ui, state, group, share, name);
                }
                (Some(_), Some(share), _) => {
                    ui.label(share.to_string())
                        .on_hover_text("Given by the default tenant's admin");
                }
                _ => {}
            });
            row.col(|ui| used_bar(ui, line.used, line.allocated));
        }
        // A group with no share of this quantity yet: a field to give it one.
        Row::Unshared(group) => {
            let text = line_name(&ShareLine {
                group: Some(group.name.clone()),
                kind: Some(group.kind),
                tenant: group.tenant.clone(),
                share: None,
                allocated: 0,
                used: 0,
                cut: false,
            });
            let mut name = None;
            row.col(|ui| {
                name = Some(ui.add(egui::Label::new(text).truncate()).id);
            });
            row.col(|ui| {
                ui.label(group.kind.word());
            });
            row.col(|ui| {
                if let Some(name) = name {
                    share_field(ui, state, &group.name, None, name);
                }
            });
            row.col(|ui| {
                ui.label("no share yet");
            });
        }
    }
}
