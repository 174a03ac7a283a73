//! "Going offshore?": the days away against the grace left, the return and the grace's end
//! named apart, and an extension asked for in place — with a day's margin, never beyond what
//! the license allows, signing in right there when nobody is.

use chrono::{DateTime, Days, Utc};
use egui::{RichText, Ui};
use tenure_client::Report;

use super::needs::{Missing, NeedsForm};
use crate::gui::format;
use crate::gui::model::Model;
use crate::gui::style::Tone;
use crate::gui::worker::{Job, JobKind};

/// A day's margin: back on the day the grace ends leaves none.
const MARGIN_DAYS: u32 = 1;

/// What a trip of some days away means for the grace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripPlan {
    /// The day back.
    pub back: DateTime<Utc>,
    /// The day the grace ends as it stands.
    pub grace_ends: DateTime<Utc>,
    /// The grace lasts past the return by a day or more.
    pub covered: bool,
    /// How many days before the return the grace ends (0: the day itself; negative: after).
    pub short_days: i64,
    /// The extension to ask for (days from now): the trip and a day, at most the license's
    /// maximum; `None` when covered or when asking would gain nothing.
    pub ask_days: Option<u32>,
    /// The trip needs more than the license allows (its maximum, in days).
    pub beyond_license: Option<u32>,
}

/// Plans a trip of `days` from `now` with `days_left` of grace ending at `grace_ends`, on a
/// license that allows at most `max_grace_days`.
pub fn plan_trip(
    now: DateTime<Utc>,
    days: u32,
    days_left: u32,
    grace_ends: DateTime<Utc>,
    max_grace_days: u32,
) -> TripPlan {
    let back = now
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let wanted = days.saturating_add(MARGIN_DAYS);
    let covered = days_left >= wanted;
    let ask = wanted.min(max_grace_days);
    TripPlan {
        back,
        grace_ends,
        covered,
        short_days: i64::from(days) - i64::from(days_left),
        ask_days: (!covered && ask > days_left).then_some(ask),
        beyond_license: (wanted > max_grace_days).then_some(max_grace_days),
    }
}

/// The planner's state between frames.
#[derive(Debug, Default)]
pub struct Planner {
    /// The account's fields, when an extension is asked for and nobody is signed in.
    pub needs: NeedsForm,
}

impl Planner {
    /// Draws the planner for a licensed workstation.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model, report: &Report, now: DateTime<Utc>) {
        let (Some(grace), Some(license)) = (report.status.grace(), &report.license) else {
            return;
        };
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width().min(640.0));
            ui.label(RichText::new("Going offshore?").strong());
            ui.horizontal_wrapped(|ui| {
                let label = ui.label("I will be offline for");
                ui.add(
                    egui::DragValue::new(&mut model.prefs.planned_offline_days)
                        .range(1..=365)
                        .speed(0.2),
                )
                .on_hover_text("Days away from any network")
                .labelled_by(label.id);
                ui.label("days");
            });
            let plan = plan_trip(
                now,
                model.prefs.planned_offline_days,
                grace.days_left,
                grace.offline_until,
                license.terms.max_grace_days,
            );
            let dark = ui.visuals().dark_mode;
            egui::Grid::new("trip").num_columns(2).show(ui, |ui| {
                ui.label("Back on");
                ui.label(RichText::new(format::date(plan.back)).strong());
                ui.end_row();
                ui.label("Grace ends");
                ui.label(RichText::new(format::date(plan.grace_ends)).strong());
                ui.end_row();
            });
            let (tone, verdict) = if plan.covered {
                (Tone::Good, "Your grace covers the trip, with a day to spare.".to_owned())
            } else if plan.short_days > 0 {
                (
                    Tone::Warn,
                    format!(
                        "Your grace ends {} before you are back.",
                        format::plural(plan.short_days, "day")
                    ),
                )
            } else {
                (
                    Tone::Warn,
                    "Your grace ends the day you are back: leave a day's margin.".to_owned(),
                )
            };
            ui.label(
                RichText::new(format!("{} {verdict}", tone.symbol())).color(tone.color(dark)),
            );
            if let Some(max) = plan.beyond_license {
                ui.label(format!(
                    "This license allows at most {max} days offline: ask your vendor for more, or validate from the site."
                ));
            }
            if let Some(ask) = plan.ask_days {
                self.extension_ui(ui, model, ask, now);
            }
        });
    }

    /// The request for an extension to `days`, with the account's fields when nobody is
    /// signed in.
    fn extension_ui(&mut self, ui: &mut Ui, model: &mut Model, days: u32, now: DateTime<Utc>) {
        if model.is_busy(JobKind::ExtendGrace) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Requesting…");
            });
            return;
        }
        let missing = Missing::of(model.snapshot.as_ref(), true);
        let first = self.needs.ui(ui, missing, false);
        let until = now
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let label = format!(
            "{} extension to {days} days (grace to {})",
            if missing.account {
                "Sign in and request"
            } else {
                "Request"
            },
            format::date(until)
        );
        let clicked = ui
            .add_enabled(first.is_some(), egui::Button::new(label))
            .clicked();
        if let Some(first) = first.filter(|_| clicked) {
            model.request(Job::after(first, Job::ExtendGrace(days)));
            self.needs.token.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        let start: DateTime<Utc> = "2026-12-03T09:00:00Z".parse().unwrap();
        start + chrono::Duration::days(i64::from(day))
    }

    #[test]
    fn a_trip_inside_the_grace_with_a_day_to_spare_is_covered() {
        let plan = plan_trip(at(0), 14, 20, at(20), 90);
        assert!(plan.covered);
        assert_eq!(plan.back, at(14));
        assert_eq!(plan.ask_days, None);
    }

    #[test]
    fn back_the_day_the_grace_ends_is_not_covered_and_asks_for_a_day_more() {
        let plan = plan_trip(at(0), 20, 20, at(20), 90);
        assert!(!plan.covered);
        assert_eq!(plan.short_days, 0);
        assert_eq!(plan.ask_days, Some(21));
    }

    #[test]
    fn the_ask_never_passes_the_license_s_maximum() {
        let plan = plan_trip(at(0), 120, 30, at(30), 90);
        assert_eq!(plan.short_days, 90);
        assert_eq!(plan.ask_days, Some(90));
        assert_eq!(plan.beyond_license, Some(90));
        // Already at the maximum: nothing to ask for.
        let plan = plan_trip(at(0), 120, 90, at(90), 90);
        assert_eq!(plan.ask_days, None);
    }
}
