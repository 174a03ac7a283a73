//! The eframe app: owns the model and the worker, routes jobs, draws the frame.

use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use super::chrome;
use super::model::{Model, Prefs, Screen, Theme};
use super::screens::Screens;
use super::style::MAX_CONTENT_WIDTH;
use super::toast;
use super::worker::{Job, JobKind, Worker};

/// How often the status is recomputed while the window is open (days left change slowly).
const REFRESH_EVERY: Duration = Duration::from_mins(1);
/// How often the Sessions screen's count is refreshed while it is shown.
const SESSIONS_REFRESH_EVERY: Duration = Duration::from_secs(10);
/// How often a server that did not answer is asked again, quietly.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// The Tenure window.
pub struct TenureApp {
    /// What every screen shares.
    pub model: Model,
    /// The screens, each with its own state.
    pub screens: Screens,
    worker: Option<Worker>,
    /// The latest jobs handed to the worker, in order, at most `RECENT_JOBS` (tests read this).
    pub sent: Vec<JobKind>,
    last_refresh: Instant,
    last_probe: Instant,
    fonts_installed: bool,
}

impl TenureApp {
    /// An app over a running worker. Starts with a status read and a background validation.
    pub fn new(worker: Option<Worker>, prefs: Prefs, demo_banner: Option<String>) -> Self {
        let mut model = Model {
            prefs,
            demo_banner,
            ..Model::default()
        };
        model.request(Job::ConnectDb(None));
        model.request(Job::ValidateIfLicensed);
        Self {
            model,
            screens: Screens::default(),
            worker,
            sent: Vec::new(),
            last_refresh: Instant::now(),
            last_probe: Instant::now(),
            fonts_installed: false,
        }
    }

    /// Draws everything; also used directly by tests.
    pub fn ui_root(&mut self, ui: &mut Ui) {
        if !std::mem::replace(&mut self.fonts_installed, true) {
            // The OS's fonts back the bundled ones: names in any script get real glyphs.
            ui.ctx().add_font_provider(std::sync::Arc::new(
                egui_system_font_provider::SystemFontProvider::new(),
            ));
        }
        if let Some(worker) = &self.worker {
            worker.set_repaint(ui.ctx());
            for event in worker.poll() {
                let before = self.model.snapshot.clone();
                self.model.apply(&event);
                self.screens.on_event(&event, before.as_ref());
            }
        }
        ui.ctx().set_theme(match self.model.prefs.theme {
            Theme::System => egui::ThemePreference::System,
            Theme::Light => egui::ThemePreference::Light,
            Theme::Dark => egui::ThemePreference::Dark,
        });

        if let Some(banner) = self.model.demo_banner.clone() {
            egui::Panel::top("demo-banner").show(ui, |ui| {
                ui.label(
                    RichText::new(banner)
                        .strong()
                        .color(egui::Color32::from_rgb(40, 40, 40))
                        .background_color(egui::Color32::from_rgb(250, 215, 110)),
                );
            });
        }
        egui::Panel::bottom("status-strip").show(ui, |ui| chrome::status_strip_ui(ui, &self.model));
        if let Some(undo) = chrome::toast_ui(ui, &mut self.model) {
            self.screens.users.state.edit_for(
                super::screens::users_state::Purpose::Undo,
                undo,
                "Undoing…",
                "Cannot undo",
            );
        }
        egui::Panel::left("screens")
            .resizable(false)
            .exact_size(150.0)
            .show(ui, |ui| {
                ui.add_space(8.0);
                ui.label(RichText::new("Tenure").size(20.0).strong());
                ui.add_space(8.0);
                for screen in Screen::ALL {
                    let selected = self.model.prefs.screen == screen;
                    if ui
                        .selectable_label(selected, RichText::new(screen.label()).size(15.0))
                        .clicked()
                    {
                        self.model.go_to(screen);
                    }
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let screen = self.model.prefs.screen;
            if matches!(
                screen,
                Screen::Users | Screen::Allocations | Screen::History
            ) {
                // Their tables scroll themselves, drawing only the visible rows.
                ui.set_max_width(ui.available_width().min(MAX_CONTENT_WIDTH + 200.0));
                ui.add_space(8.0);
                self.screens.ui(screen, ui, &mut self.model);
                return;
            }
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.set_max_width(ui.available_width().min(MAX_CONTENT_WIDTH));
                    ui.add_space(8.0);
                    self.screens.ui(screen, ui, &mut self.model);
                });
        });
        self.screens.dialogs(ui.ctx(), &mut self.model);
        chrome::plain_secrets_dialog(ui.ctx(), &mut self.model);

        if let Some(job) = self.model.files.poll() {
            self.model.request(job);
        }
        self.dropped_files(ui.ctx());
        self.screens.jobs(self.model.prefs.screen, &mut self.model);
        // The Sessions screen shows a live count: refresh it more often.
        let every = if self.model.prefs.screen == Screen::Sessions {
            SESSIONS_REFRESH_EVERY
        } else {
            REFRESH_EVERY
        };
        if self.last_refresh.elapsed() >= every {
            self.last_refresh = Instant::now();
            self.model.request(Job::Refresh);
        }
        // A server that did not answer is asked again in the background, so the status strip
        // says so within seconds of its return.
        let unreachable = matches!(self.model.reachable, Some(Err(_)));
        if unreachable && self.model.busy.is_empty() && self.last_probe.elapsed() >= PROBE_EVERY {
            self.last_probe = Instant::now();
            self.model.request(Job::ProbeServer);
        }
        self.flush();
        ui.ctx()
            .request_repaint_after(if unreachable { PROBE_EVERY } else { every });
    }

    /// A file dropped onto the window: a CSV on the Users screen is a user import; anything
    /// else is taken as an offline answer to import.
    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for path in dropped.iter().map(|f| f.path().to_path_buf()) {
            let is_csv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            if is_csv && self.model.prefs.screen == Screen::Users {
                self.model.request(Job::ImportUsers(path));
            } else {
                self.model.go_to(Screen::Offline);
                self.model.request(Job::OfflineImport(path));
            }
        }
    }

    /// Hands queued jobs to the worker.
    fn flush(&mut self) {
        if std::mem::take(&mut self.model.cancel_requested)
            && let Some(worker) = &self.worker
        {
            worker.cancel();
        }
        for job in std::mem::take(&mut self.model.outbox) {
            super::model::remember(&mut self.sent, job.kind());
            let Some(worker) = &self.worker else { continue };
            if !worker.send(job) {
                self.model.toast = Some(toast::Toast::new(
                    super::style::Tone::Bad,
                    "The background worker is busy or stopped; try again.",
                ));
            }
        }
    }
}

impl eframe::App for TenureApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.model.prefs);
    }
}
