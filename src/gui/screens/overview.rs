//! Overview: the status, large and plain; grace left as a number, a bar and a date; Validate now;
//! the offshore planner; the license and its modules.

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};
use tenure_client::Report;
use tenure_core::{Status, VerifiedLicense};

use crate::gui::chrome;
use crate::gui::format;
use crate::gui::model::Model;
use crate::gui::style::{Tone, drawable, headline};
use crate::gui::widgets;
use crate::gui::worker::{Event, Job, JobKind};

use super::needs::{Missing, NeedsForm};
use super::planner::Planner;

/// The Overview screen: what it keeps between frames.
#[derive(Debug, Default)]
pub struct Overview {
    /// Re-validate online was clicked: the confirmation is shown.
    pub confirm_rebind: bool,
    /// The account's fields in that confirmation, when nobody is signed in.
    pub rebind_needs: NeedsForm,
    /// Going offshore?
    pub planner: Planner,
}

impl Overview {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        overview_ui(ui, model, self);
    }

    /// The dialogs it opens over the window.
    pub fn dialogs(&mut self, ctx: &egui::Context, model: &mut Model) {
        rebind_dialog(ctx, model, &mut self.confirm_rebind, &mut self.rebind_needs);
    }

    /// Follows the worker: a move or an extension done, the secrets typed for it are dropped.
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Finished {
            kind: JobKind::Rebind | JobKind::ExtendGrace,
            outcome: Ok(_),
        } = event
        {
            self.rebind_needs.clear();
            self.planner.needs.clear();
        }
    }
}

fn overview_ui(ui: &mut Ui, model: &mut Model, screen: &mut Overview) {
    let Some(snapshot) = model.snapshot.clone() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Reading the license…");
        });
        return;
    };
    // Without a keyring the cache cannot be opened or saved: say so before anything else, in
    // one sentence — and when that is why the license cannot be read, say nothing else: the
    // license is there, only locked away.
    if let Some(problem) = &snapshot.secrets_problem {
        chrome::secrets_problem_ui(ui, model, problem);
    }
    let report = match &snapshot.report {
        Ok(report) => report.clone(),
        Err(_) if snapshot.secrets_problem.is_some() => return,
        Err(error) => {
            widgets::error_box(ui, &format!("The license cannot be read: {error}"));
            if ui.button("Request a license…").clicked() {
                model.ask_activation = true;
            }
            return;
        }
    };
    let now = snapshot.at;
    // The product cannot work here while its database cannot be used (damaged, unreachable),
    // whatever the license says: the reason stays in view until a connection succeeds.
    if let Some(notice) = model.notice(JobKind::Database).filter(|n| n.is_error) {
        widgets::error_box(ui, &drawable(&notice.text));
    }
    // A license kept up to date by files is never validated over the network.
    let offline_only = report
        .license
        .as_ref()
        .is_some_and(|l| l.terms.activation_mode == tenure_core::ActivationMode::Offline);
    status_header(ui, model, &report.status, offline_only);
    ui.add_space(6.0);
    grace_section(ui, &report, now);
    if let Some(borrow) = snapshot.borrow.as_ref().filter(|b| b.active) {
        ui.label(
            RichText::new(format!(
                "Borrowed seat for {}: {} left (until {}), no network needed until then.",
                borrow.record.login,
                crate::gui::format::countdown(borrow.record.until - now),
                crate::gui::format::date_time(borrow.record.until)
            ))
            .strong(),
        );
    }
    ui.add_space(10.0);
    match &report.status {
        Status::BindingMismatch { licensed, current } => {
            mismatch_section(ui, model, licensed, current, &mut screen.confirm_rebind);
        }
        Status::Moved { .. } => {
            let again = ui.button(RichText::new("Activate here again…").size(16.0));
            model.ask_activation |= again.clicked();
        }
        Status::Unlicensed => {
            if let Some(problem) = &snapshot.database_license_problem {
                // The license is there but cannot be believed: say why, not "no license".
                widgets::error_box(
                    ui,
                    &format!(
                        "The product database holds a license this workstation cannot use: {problem}."
                    ),
                );
                ui.label(if snapshot.roots_from.is_pinned() {
                    "Ask your vendor for a license signed by their current key, or for the certificate to add under Settings → Vendor keys."
                } else {
                    "Add the vendor's key under Settings → Vendor keys (or run: tenure trust FILE)."
                });
                if ui.button("Open Settings").clicked() {
                    model.go_to(crate::gui::model::Screen::Settings);
                }
            } else {
                ui.label("This workstation has no license yet.");
            }
            ui.horizontal(|ui| {
                if ui
                    .button(RichText::new("Request a license…").size(16.0))
                    .clicked()
                {
                    model.ask_activation = true;
                }
                ui.label("or, with no internet here,");
                if ui
                    .link("activate with files on the Offline screen")
                    .clicked()
                {
                    model.go_to(crate::gui::model::Screen::Offline);
                }
            });
        }
        _ => {}
    }
    if let Some(license) = &report.license {
        if report.status.is_licensed() {
            screen.planner.ui(ui, model, &report, now);
            ui.add_space(10.0);
        }
        license_section(ui, license, now);
    }
}

fn status_header(ui: &mut Ui, model: &mut Model, status: &Status, offline_only: bool) {
    let tone = Tone::of(status);
    let color = tone.color(ui.visuals().dark_mode);
    // The action follows the headline, on its line when it fits and under it when not: never
    // off the side of a small window, never adrift across a wide one.
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!("{} {}", tone.symbol(), headline(status)))
                .size(26.0)
                .strong()
                .color(color),
        );
        ui.add_space(16.0);
        // Validating cannot help where the license is for another database or has moved:
        // what can is offered below.
        if !matches!(
            status,
            Status::Unlicensed | Status::Moved { .. } | Status::BindingMismatch { .. }
        ) {
            if offline_only {
                if ui.link("Validate with files (Offline)").clicked() {
                    model.go_to(crate::gui::model::Screen::Offline);
                }
            } else {
                validate_button(ui, model);
            }
        }
    });
    // The mismatch table below says it all; its advice would repeat the headline.
    if !matches!(status, Status::BindingMismatch { .. }) {
        ui.label(RichText::new(drawable(&status.advice())).size(15.0));
    }
}

/// Validate now, or a spinner with Cancel while it runs.
pub fn validate_button(ui: &mut Ui, model: &mut Model) {
    if model.is_busy(JobKind::Validate) {
        if ui.button("Cancel").clicked() {
            model.cancel_requested = true;
        }
        ui.label("Validating…");
        ui.spinner();
    } else if ui
        .button(RichText::new("Validate now").size(16.0))
        .on_hover_text("Ask the license server for a fresh license: the offline grace restarts")
        .clicked()
    {
        model.request(Job::Validate);
    }
}

fn grace_section(ui: &mut Ui, report: &Report, now: DateTime<Utc>) {
    let Some(license) = &report.license else {
        return;
    };
    if let Some(grace) = report.status.grace() {
        let total = license.grace_days.max(1);
        ui.label(
            RichText::new(format!(
                "{} of offline grace left",
                format::plural(i64::from(grace.days_left), "day")
            ))
            .size(22.0),
        );
        let fraction = (f64::from(grace.days_left) / f64::from(total)).clamp(0.0, 1.0);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a fraction in 0..=1 fits f32"
        )]
        let bar = egui::ProgressBar::new(fraction as f32)
            .desired_width(ui.available_width().min(520.0))
            .text(format!("{} of {} days", grace.days_left, total));
        ui.add(bar);
        ui.label(
            RichText::new(format!(
                "You can work offline until {}",
                format::date(grace.offline_until)
            ))
            .size(16.0)
            .strong(),
        );
    }
    ui.label(format!(
        "Last validated {} ({}, {})",
        format::ago(now, license.validated_at),
        format::date_time(license.validated_at),
        format::zone()
    ));
}

fn mismatch_section(
    ui: &mut Ui,
    model: &mut Model,
    licensed: &tenure_core::Binding,
    current: &tenure_core::Binding,
    confirm_rebind: &mut bool,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        egui::Grid::new("binding-mismatch")
            .num_columns(4)
            .spacing([18.0, 4.0])
            .show(ui, |ui| {
                ui.label("");
                ui.label(RichText::new("licensed for").strong());
                ui.label(RichText::new("now connected to").strong());
                ui.label("");
                ui.end_row();
                for (label, was, is) in [
                    ("server", &licensed.server, &current.server),
                    ("database", &licensed.database, &current.database),
                ] {
                    ui.label(label);
                    ui.label(was);
                    ui.label(is);
                    ui.label(if was == is { "" } else { "⬅ differs" });
                    ui.end_row();
                }
            });
        ui.label("This happens after a database is restored or moved.");
        ui.horizontal(|ui| {
            if model.is_busy(JobKind::Rebind) {
                ui.spinner();
                ui.label("Re-validating…");
            } else if ui.button("Re-validate online").clicked() {
                *confirm_rebind = true;
                if model.snapshot.as_ref().is_some_and(|s| s.account.is_some()) {
                    model.request(Job::ListAccountLicenses);
                }
            }
        });
    });
}

fn license_section(ui: &mut Ui, license: &VerifiedLicense, now: DateTime<Utc>) {
    let terms = &license.terms;
    egui::Grid::new("license-details")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label(RichText::new("License").strong());
            let dates = format!(
                "{} to {}",
                terms.validity.starts.format("%d %b %Y"),
                terms.validity.expires.format("%d %b %Y")
            );
            // A license of several counts lists them below; its first alone would mislead.
            ui.label(if terms.quantities.is_empty() {
                format!(
                    "{} · {} · {} seats · {dates}",
                    terms.customer,
                    capitalise(terms.kind.label()),
                    terms.seats
                )
            } else {
                format!("{} · {dates}", terms.customer)
            });
            ui.end_row();
            if !terms.quantities.is_empty() {
                ui.label(RichText::new("Counts").strong());
                ui.label(terms.counts_text());
                ui.end_row();
            }
            ui.label(RichText::new("Bound to").strong());
            ui.label(format!(
                "{} / {}",
                license.binding.server, license.binding.database
            ));
            ui.end_row();
            ui.label(RichText::new("Signed by").strong());
            ui.label(format!("vendor key {}", license.key_id()));
            ui.end_row();
        });
    if terms.modules.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.label(RichText::new("Modules").strong());
    egui::Grid::new("modules")
        .num_columns(4)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for heading in ["Module", "From", "Until", "State"] {
                ui.label(RichText::new(heading).underline());
            }
            ui.end_row();
            let dark = ui.visuals().dark_mode;
            for module in &terms.modules {
                let active = now >= module.validity.starts_at() && now < module.validity.ends_at();
                let (tone, word) = if active {
                    (Tone::Good, "active")
                } else if now < module.validity.starts_at() {
                    (Tone::Unknown, "not started")
                } else {
                    (Tone::Bad, "ended")
                };
                ui.label(&module.name);
                ui.label(module.validity.starts.format("%d %b %Y").to_string());
                ui.label(module.validity.expires.format("%d %b %Y").to_string());
                ui.label(
                    RichText::new(format!("{} {word}", tone.symbol())).color(tone.color(dark)),
                );
                ui.end_row();
            }
        });
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// Asks before moving the license: both places named, and how many moves are left.
fn rebind_dialog(
    ctx: &egui::Context,
    model: &mut Model,
    confirm_rebind: &mut bool,
    needs: &mut NeedsForm,
) {
    if !*confirm_rebind {
        return;
    }
    let Some(snapshot) = model.snapshot.clone() else {
        return;
    };
    let Some((licensed, current, license_id)) =
        snapshot
            .report
            .as_ref()
            .ok()
            .and_then(|r| match (&r.status, &r.license) {
                (Status::BindingMismatch { licensed, current }, Some(license)) => {
                    Some((licensed.clone(), current.clone(), license.id.clone()))
                }
                _ => None,
            })
    else {
        *confirm_rebind = false;
        return;
    };
    let signed_in = snapshot.account.is_some();
    let missing = Missing::of(Some(&snapshot), true);
    let asked = egui::Modal::new(egui::Id::unique("confirm-rebind")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.label(RichText::new("Move the license?").size(18.0).strong());
        ui.label(format!(
            "Move the license from {} / {} to {} / {}?",
            licensed.server, licensed.database, current.server, current.database
        ));
        let max = snapshot
            .report
            .as_ref()
            .ok()
            .and_then(|r| r.license.as_ref())
            .map(|l| l.terms.max_rebinds_per_30_days);
        let left = match &model.account_licenses {
            Some(Ok(list)) => list
                .iter()
                .find(|l| l.id == license_id)
                .and_then(|l| l.rebinds_left),
            _ => None,
        };
        let mut go = None;
        if !missing.is_nothing() {
            ui.label("Moving a license needs your account:");
        }
        let first = needs.ui(ui, missing, true);
        if !signed_in {
            if let Some(max) = max {
                ui.label(format!(
                    "This license can move {max} times in any 30 days. The old database stops being licensed."
                ));
            }
        } else if model.is_busy(JobKind::AccountLicenses) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking how many moves are left…");
            });
        } else if let (Some(left), Some(max)) = (left, max) {
            ui.label(
                RichText::new(format!(
                    "{left} of {max} moves left in any 30 days. The old database stops being licensed."
                ))
                .strong(),
            );
        } else if let Some(max) = max {
            ui.label(format!(
                "This license can move {max} times in any 30 days. The old database stops being licensed."
            ));
        }
        ui.add_space(8.0);
        let mut cancel = false;
        ui.horizontal(|ui| {
            let allowed = first.is_some() && left != Some(0);
            let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui
                .add_enabled(allowed, egui::Button::new("Move the license"))
                .clicked()
                || (allowed && enter))
                && let Some(first) = first
            {
                go = Some(first);
            }
            if ui.button("Cancel").clicked() {
                cancel = true;
            }
        });
        (go, cancel)
    });
    let closed = asked.should_close();
    let (go, cancel) = asked.inner;
    let went = go.is_some();
    if let Some(first) = go {
        model.request(Job::after(first, Job::Rebind));
    }
    if went || cancel || closed {
        *confirm_rebind = false;
    }
}
