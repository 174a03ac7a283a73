//! History, in three parts that each fill the screen: the grace over time with the validation
//! log, seats and usage over time, and the product database's audit log — a table whose header
//! stays in view however far it scrolls.

use chrono::{DateTime, Utc};
use egui::{Align, Layout, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use tenure_client::cache::ValidationRecord;

use crate::gui::chrome;
use crate::gui::files::FilePurpose;
use crate::gui::format;
use crate::gui::model::Model;

/// Seconds per day, for the chart's x axis in days.
const DAY_SECS: f64 = 86_400.0;

/// A line shorter than this (in days) draws nothing: it is left out, legend and all.
const SHORTEST_LINE_DAYS: f64 = 0.01;

const ROW_HEIGHT: f32 = 22.0;

/// The parts of the History screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryTab {
    /// Days of grace left over time, and the validation log.
    #[default]
    Grace,
    /// Seats over time and concurrent usage.
    Seats,
    /// The product database's audit log.
    Audit,
}

/// The History screen: which part is shown.
#[derive(Debug, Default)]
pub struct History {
    /// The part shown.
    pub tab: HistoryTab,
}

impl History {
    /// Draws the screen, then opens the file dialog for the export chosen, if any.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        ui.horizontal_wrapped(|ui| {
            for (tab, label) in [
                (HistoryTab::Grace, "Grace"),
                (HistoryTab::Seats, "Seats and usage"),
                (HistoryTab::Audit, "Audit log"),
            ] {
                ui.selectable_value(&mut self.tab, tab, label);
            }
        });
        ui.separator();
        match self.tab {
            HistoryTab::Audit => audit_ui(ui, model),
            tab => {
                let mut export = None;
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        if tab == HistoryTab::Grace {
                            grace_ui(ui, model);
                        } else {
                            export = seats_and_usage_ui(ui, model);
                            for by_user in [false, true] {
                                chrome::typed_path_ui(
                                    ui,
                                    model,
                                    &FilePurpose::ExportUsage { by_user },
                                );
                            }
                        }
                    });
                if let Some(purpose) = export {
                    model.files.ask(purpose, ui.ctx());
                }
            }
        }
    }
}

/// Days of grace left over time, each validation marked, what lies ahead, and the log.
fn grace_ui(ui: &mut Ui, model: &Model) {
    let Some(snapshot) = model.snapshot.as_ref() else {
        return;
    };
    let Ok(report) = &snapshot.report else {
        ui.label("No history yet: the license cannot be read.");
        return;
    };
    let now = snapshot.at;
    ui.label(
        RichText::new("Days of offline grace left")
            .size(17.0)
            .strong(),
    );
    if report.validations.is_empty() {
        ui.label("No validation has been recorded on this workstation yet.");
        return;
    }
    let (grace, marks) = grace_series(&report.validations, now);
    let drawn = grace
        .first()
        .zip(grace.last())
        .is_some_and(|(a, b)| b[0] - a[0] >= SHORTEST_LINE_DAYS);
    // What lies ahead if nobody validates: the grace runs down to zero.
    let ahead = report.status.grace().map(|g| {
        let left = days_from(now, g.offline_until);
        vec![[0.0, left], [left, 0.0]]
    });
    let max_grace = report
        .validations
        .iter()
        .map(|r| r.grace_days)
        .max()
        .unwrap_or(30);
    let earliest = marks.first().map_or(-7.0, |m| m[0]);
    Plot::new("grace-history")
        .height(260.0)
        .legend(Legend::default())
        .x_axis_label("days from today")
        .y_axis_label("days of grace left")
        .include_y(0.0)
        .include_y(f64::from(max_grace) + 2.0)
        .include_x(earliest.min(-7.0) - 1.0)
        .include_x(f64::from(max_grace) + 1.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            // One validation today has no past to draw yet: no line, and none in the legend.
            if drawn {
                plot.line(
                    Line::new("grace left", PlotPoints::from(grace))
                        .width(2.0)
                        .allow_band(false),
                );
            }
            if let Some(ahead) = ahead {
                plot.line(
                    Line::new("if not validated again", PlotPoints::from(ahead))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            plot.points(Points::new("validated", PlotPoints::from(marks)).radius(4.0));
        });
    ui.add_space(8.0);
    ui.label(RichText::new(format!("Validation log (times in {})", format::zone())).strong());
    egui::Grid::new("validation-log")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for record in report.validations.iter().rev() {
                ui.label(format::date_time(record.at));
                ui.label(if record.succeeded { "✔" } else { "✖" });
                ui.add(egui::Label::new(&record.outcome).wrap());
                ui.end_row();
            }
        });
}

/// Named seats and concurrent usage over time; the export chosen, if any.
fn seats_and_usage_ui(ui: &mut Ui, model: &Model) -> Option<FilePurpose> {
    let snapshot = model.snapshot.as_ref()?;
    let now = snapshot.at;
    let shown_seats = seats_ui(ui, model, now);
    let job = usage_ui(ui, model, now);
    if !shown_seats && snapshot.usage.is_none() {
        ui.label("No seats have been counted in the product database yet.");
    }
    job
}

/// The product database's audit log: who did what, where, and how it went — the whole
/// screen's height, the header always in view, only the visible rows drawn.
fn audit_ui(ui: &mut Ui, model: &Model) {
    let Some(snapshot) = &model.snapshot else {
        return;
    };
    ui.label(
        RichText::new(format!(
            "Audit log of this database (latest {}, times in {})",
            snapshot.events.len(),
            format::zone()
        ))
        .strong(),
    );
    if snapshot.events.is_empty() {
        ui.label("No events recorded in the product database yet.");
        return;
    }
    let events = &snapshot.events;
    TableBuilder::new(ui)
        .striped(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::exact(140.0))
        .column(Column::initial(130.0).at_least(90.0).clip(true))
        .column(Column::initial(110.0).at_least(60.0).clip(true))
        .column(Column::initial(110.0).at_least(60.0).clip(true))
        .column(Column::remainder().at_least(60.0).clip(true))
        .auto_shrink([false, false])
        .header(ROW_HEIGHT, |mut header| {
            for heading in ["When", "What", "Outcome", "Who", "Where"] {
                header.col(|ui| {
                    ui.strong(heading);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, events.len(), |mut row| {
                let event = &events[row.index()];
                row.col(|ui| {
                    ui.label(format::date_time(event.at));
                });
                row.col(|ui| {
                    ui.label(&event.kind);
                });
                row.col(|ui| {
                    ui.label(if event.outcome == "ok" {
                        "✔ ok".to_owned()
                    } else {
                        format!("✖ {}", event.outcome)
                    })
                    .on_hover_text(crate::gui::style::drawable(&event.detail));
                });
                row.col(|ui| {
                    crate::gui::bidi::label(ui, &event.login);
                });
                row.col(|ui| {
                    ui.label(&event.host);
                });
            });
        });
}

/// Named seats in use over the last 90 days, against the license's seats; false when there is
/// nothing to show.
fn seats_ui(ui: &mut Ui, model: &Model, now: DateTime<Utc>) -> bool {
    let Some(snapshot) = &model.snapshot else {
        return false;
    };
    if snapshot.seat_counts.is_empty() {
        return false;
    }
    ui.add_space(8.0);
    ui.label(RichText::new("Named seats in use").size(17.0).strong());
    let (in_use, limit) = seat_series(&snapshot.seat_counts, now);
    let top = snapshot
        .seat_counts
        .iter()
        .map(|c| c.limit.max(c.in_use))
        .max()
        .unwrap_or(1);
    Plot::new("seat-history")
        .height(200.0)
        .legend(Legend::default())
        .x_axis_label("days from today")
        .y_axis_label("seats")
        .include_y(0.0)
        // Headroom above the licensed line, where the legend sits clear of the data.
        .include_y(f64::from(top) * 1.5 + 2.0)
        // A month back at least, so counts that began today still show as lines.
        .include_x(-30.0)
        .include_x(0.5)
        .allow_scroll(false)
        .show(ui, |plot| {
            // Each change marked too: counts that began today are a point, not a line yet.
            // (A step line holds each value at even places: the first, then each new one.)
            let changes: Vec<[f64; 2]> = in_use.iter().copied().step_by(2).collect();
            plot.line(
                Line::new("in use", PlotPoints::from(in_use))
                    .width(2.0)
                    .allow_band(false),
            );
            plot.points(Points::new("in use", PlotPoints::from(changes)).radius(3.0));
            plot.line(
                Line::new("licensed seats", PlotPoints::from(limit))
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        });
    true
}

/// Concurrent seats in use over the last 30 days, with the peak and refusals per day, and the
/// report as CSV files (the export chosen comes back as a job).
fn usage_ui(ui: &mut Ui, model: &Model, now: DateTime<Utc>) -> Option<FilePurpose> {
    let usage = model.snapshot.as_ref()?.usage.as_ref()?;
    ui.add_space(8.0);
    let mut job = None;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Concurrent seats in use").size(17.0).strong());
        for (label, by_user) in [("Export per day…", false), ("Export per user…", true)] {
            if ui
                .add_enabled(!model.files.is_waiting(), egui::Button::new(label))
                .clicked()
            {
                job = Some(FilePurpose::ExportUsage { by_user });
            }
        }
    });
    let line = step_line(
        usage.timeline.iter().map(|(at, n)| (*at, f64::from(*n))),
        now,
    );
    let refusals: Vec<[f64; 2]> = usage
        .days
        .iter()
        .filter(|d| d.refusals > 0)
        .map(|d| {
            let noon = d.day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
            [days_from(now, noon), f64::from(d.refusals)]
        })
        .collect();
    let peak = usage.days.iter().map(|d| d.peak).max().unwrap_or(0);
    // Seats and refusals are different quantities: each has its own chart and axis, the
    // x axes linked so they scroll together.
    let x_link = egui::Id::unique("usage-x");
    Plot::new("usage-history")
        .height(180.0)
        .x_axis_label("days from today")
        .y_axis_label("seats in use")
        .include_y(0.0)
        .include_y(f64::from(peak) + 1.0)
        .include_x(0.5)
        .include_x(-30.0)
        .link_axis(x_link, [true, false])
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("in use", PlotPoints::from(line))
                    .width(2.0)
                    .allow_band(false),
            );
        });
    let most_refused = usage.days.iter().map(|d| d.refusals).max().unwrap_or(0);
    Plot::new("usage-refusals")
        .height(110.0)
        .x_axis_label("days from today")
        .y_axis_label("refused")
        .include_y(0.0)
        .include_y(f64::from(most_refused) + 1.0)
        .include_x(0.5)
        .include_x(-30.0)
        .link_axis(x_link, [true, false])
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.points(Points::new("refusals that day", PlotPoints::from(refusals)).radius(4.0));
        });
    let refused: u32 = usage.days.iter().map(|d| d.refusals).sum();
    ui.label(format!(
        "Last 30 days: peak {peak} seats at once; {refused} checkouts refused for want of a seat."
    ));
    let over: Vec<String> = usage
        .days
        .iter()
        .filter(|d| d.overdraft > 0)
        .map(|d| format!("{} on {}", d.overdraft, d.day.format("%b %-d")))
        .collect();
    if !over.is_empty() {
        // The vendor hears these at the next validation (tenure-server license show).
        ui.label(format!(
            "Seats given beyond the count (overdraft): {}. They are reported to your vendor when the license is next validated.",
            over.join(", ")
        ));
    }
    job
}

/// Step lines (seats in use, seats licensed) in (days from now, seats), held until now.
pub fn seat_series(
    counts: &[tenure_client::product_db::SeatCount],
    now: DateTime<Utc>,
) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    (
        step_line(counts.iter().map(|c| (c.at, f64::from(c.in_use))), now),
        step_line(counts.iter().map(|c| (c.at, f64::from(c.limit))), now),
    )
}

/// A value over time as a step line in (days from now, value), held until now. Repeated values
/// and zero-length segments are left out: they upset the renderer.
fn step_line(
    values: impl IntoIterator<Item = (DateTime<Utc>, f64)>,
    now: DateTime<Utc>,
) -> Vec<[f64; 2]> {
    let mut line: Vec<[f64; 2]> = Vec::new();
    for (at, y) in values {
        let x = days_from(now, at);
        match line.last().copied() {
            Some([_, previous]) if (previous - y).abs() < f64::EPSILON => continue,
            Some([last_x, previous]) if (last_x - x).abs() > f64::EPSILON => {
                line.push([x, previous]);
            }
            _ => {}
        }
        line.push([x, y]);
    }
    if let Some(&[x, last]) = line.last()
        && x < 0.0
    {
        line.push([0.0, last]);
    }
    line
}

fn days_from(now: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "seconds in a chart; precision beyond 2^52 is moot"
    )]
    let secs = (t - now).num_seconds() as f64;
    secs / DAY_SECS
}

/// The grace line (a saw-tooth: each validation resets it, then it falls a day per day) and the
/// validation marks, in (days from now, days left).
pub fn grace_series(
    records: &[ValidationRecord],
    now: DateTime<Utc>,
) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let successes: Vec<&ValidationRecord> = records.iter().filter(|r| r.succeeded).collect();
    let mut line = Vec::new();
    let mut marks = Vec::new();
    for (i, record) in successes.iter().enumerate() {
        let start = days_from(now, record.at);
        let grace = f64::from(record.grace_days);
        let end = successes
            .get(i + 1)
            .map_or(0.0, |next| days_from(now, next.at));
        let end = end.min(start + grace);
        marks.push([start, grace]);
        line.push([start, grace]);
        line.push([end, grace - (end - start)]);
    }
    (line, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saw_tooth_resets_at_each_validation() {
        let now: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let rec = |days_ago: i64, ok: bool| ValidationRecord {
            at: now - chrono::Duration::days(days_ago),
            succeeded: ok,
            grace_days: 30,
            outcome: String::new(),
        };
        let (line, marks) = grace_series(&[rec(10, true), rec(5, false), rec(4, true)], now);
        assert_eq!(marks.len(), 2);
        let close =
            |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9;
        assert!(close(line[1], [-4.0, 24.0]), "{:?}", line[1]);
        assert!(close(line[3], [0.0, 26.0]), "{:?}", line[3]);
    }

    #[test]
    fn seats_are_steps_held_until_now() {
        use tenure_client::product_db::SeatCount;
        let now: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let count = |days_ago: i64, in_use: u32| SeatCount {
            at: now - chrono::Duration::days(days_ago),
            in_use,
            limit: 10,
        };
        let (in_use, limit) = seat_series(&[count(3, 0), count(3, 4), count(1, 7)], now);
        assert_eq!(
            in_use,
            [
                [-3.0, 0.0],
                [-3.0, 4.0],
                [-1.0, 4.0],
                [-1.0, 7.0],
                [0.0, 7.0]
            ]
        );
        assert_eq!(limit, [[-3.0, 10.0], [0.0, 10.0]]);
    }
}
