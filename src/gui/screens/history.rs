//! History: days of grace left over time, each validation marked, and the validation log.

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use tenure_client::cache::ValidationRecord;

use crate::gui::chrome;
use crate::gui::files::FilePurpose;
use crate::gui::format;
use crate::gui::model::Model;

/// Seconds per day, for the chart's x axis in days.
const DAY_SECS: f64 = 86_400.0;

/// The History screen: it keeps nothing between frames.
#[derive(Debug, Default)]
pub struct History;

impl History {
    /// Draws the screen, then opens the file dialog for the export chosen, if any.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        history_ui(ui, model);
    }
}

fn history_ui(ui: &mut Ui, model: &mut Model) {
    if let Some(purpose) = history_view(ui, model) {
        model.files.ask(purpose, ui.ctx());
    }
    for by_user in [false, true] {
        chrome::typed_path_ui(ui, model, &FilePurpose::ExportUsage { by_user });
    }
}

fn history_view(ui: &mut Ui, model: &Model) -> Option<FilePurpose> {
    let Some(Ok(report)) = model.snapshot.as_ref().map(|s| &s.report) else {
        ui.label("No history yet.");
        return None;
    };
    let now = model.snapshot.as_ref().map(|s| s.at)?;
    ui.label(
        RichText::new("Days of offline grace left")
            .size(17.0)
            .strong(),
    );
    if report.validations.is_empty() {
        ui.label("No validation has been recorded on this workstation yet.");
        seats_ui(ui, model, now);
        let job = usage_ui(ui, model, now);
        audit_ui(ui, model);
        return job;
    }
    let (grace, marks) = grace_series(&report.validations, now);
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
            plot.line(
                Line::new("grace left", PlotPoints::from(grace))
                    .width(2.0)
                    .allow_band(false),
            );
            if let Some(ahead) = ahead {
                plot.line(
                    Line::new("if not validated again", PlotPoints::from(ahead))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            plot.points(Points::new("validated", PlotPoints::from(marks)).radius(4.0));
        });
    seats_ui(ui, model, now);
    let job = usage_ui(ui, model, now);
    ui.add_space(8.0);
    audit_ui(ui, model);
    ui.add_space(8.0);
    ui.label(RichText::new(format!("Validation log (times in {})", format::zone())).strong());
    egui::ScrollArea::vertical()
        .min_scrolled_height(200.0)
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("validation-log")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    for record in report.validations.iter().rev() {
                        ui.label(format::date_time(record.at));
                        ui.label(if record.succeeded { "✔" } else { "✖" });
                        ui.label(&record.outcome);
                        ui.end_row();
                    }
                });
        });
    job
}

/// The product database's audit log: who did what, where, and how it went.
fn audit_ui(ui: &mut Ui, model: &Model) {
    let Some(snapshot) = &model.snapshot else {
        return;
    };
    ui.label(RichText::new("Audit log of this database").strong());
    if snapshot.events.is_empty() {
        ui.label("No events recorded in the product database yet.");
        return;
    }
    // Tall enough to read a dozen events without scrolling inside the page's own scroll.
    egui::ScrollArea::vertical()
        .id_salt("audit")
        .min_scrolled_height(280.0)
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("audit-log")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for heading in ["When", "What", "Outcome", "Who", "Where"] {
                        ui.label(RichText::new(heading).underline());
                    }
                    ui.end_row();
                    for event in &snapshot.events {
                        ui.label(format::date_time(event.at));
                        ui.label(&event.kind);
                        ui.label(if event.outcome == "ok" {
                            "✔ ok".to_owned()
                        } else {
                            format!("✖ {}", event.outcome)
                        })
                        .on_hover_text(crate::gui::style::drawable(&event.detail));
                        crate::gui::bidi::label(ui, &event.login);
                        ui.label(&event.host);
                        ui.end_row();
                    }
                });
        });
}

/// Named seats in use over the last 90 days, against the license's seats.
fn seats_ui(ui: &mut Ui, model: &Model, now: DateTime<Utc>) {
    let Some(snapshot) = &model.snapshot else {
        return;
    };
    if snapshot.seat_counts.is_empty() {
        return;
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
        .include_x(0.5)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("in use", PlotPoints::from(in_use))
                    .width(2.0)
                    .allow_band(false),
            );
            plot.line(
                Line::new("licensed seats", PlotPoints::from(limit))
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        });
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
