//! One struct per screen, each owning what it keeps between frames — its forms, what it loaded,
//! its confirmations — with its own `ui()` and the worker events it follows, as egui's demos
//! do. They draw from the shared [`Model`](super::model::Model) and ask for work by pushing jobs
//! onto it, never doing I/O themselves.

pub mod activate;
pub mod allocations;
pub mod history;
pub mod needs;
pub mod offline;
pub mod overview;
pub mod planner;
pub mod sessions;
pub mod settings;
pub mod users;
pub mod users_state;

use egui::Ui;

use super::model::{Model, Screen};
use super::worker::Event;

/// Every screen, and the dialog any of them opens.
#[derive(Debug, Default)]
pub struct Screens {
    /// Status and grace.
    pub overview: overview::Overview,
    /// Named-user seats.
    pub users: users::Users,
    /// Quantities, groups, tenants, devices.
    pub allocations: allocations::Allocations,
    /// Request and answer files.
    pub offline: offline::Offline,
    /// Concurrent sessions.
    pub sessions: sessions::Sessions,
    /// Charts and logs.
    pub history: history::History,
    /// Server, account, keys, database.
    pub settings: settings::Settings,
    /// Request a license.
    pub activation: activate::ActivationDialog,
}

impl Screens {
    /// Draws `screen`.
    pub fn ui(&mut self, screen: Screen, ui: &mut Ui, model: &mut Model) {
        match screen {
            Screen::Overview => self.overview.ui(ui, model),
            Screen::Users => self.users.ui(ui, model),
            Screen::Allocations => self.allocations.ui(ui, model),
            Screen::Offline => self.offline.ui(ui, model),
            Screen::Sessions => self.sessions.ui(ui, model),
            Screen::History => self.history.ui(ui, model),
            Screen::Settings => self.settings.ui(ui, model),
        }
    }

    /// The dialogs over the window.
    pub fn dialogs(&mut self, ctx: &egui::Context, model: &mut Model) {
        self.activation.ui(ctx, model);
        self.overview.dialogs(ctx, model);
    }

    /// Lets each screen follow an event from the worker (the model has applied it already;
    /// `before` is the snapshot it replaced, if it was one).
    pub fn on_event(&mut self, event: &Event, before: Option<&super::worker::Snapshot>) {
        self.users.on_event(event);
        self.allocations.on_event(event);
        self.activation.on_event(event);
        self.overview.on_event(event);
        if let Event::Snapshot(snapshot) = event {
            self.settings.on_snapshot(before, snapshot);
        }
    }

    /// The work screens ask for by themselves: loading what the screen shown needs, saving
    /// edits, messages for the toast.
    pub fn jobs(&mut self, shown: Screen, model: &mut Model) {
        self.users.jobs(shown == Screen::Users, model);
        self.allocations.jobs(shown == Screen::Allocations, model);
    }
}
