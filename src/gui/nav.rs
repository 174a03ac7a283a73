//! The screens of the side bar, by name: what a message or a preference says it belongs to.

use serde::{Deserialize, Serialize};

/// The screens of the side bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Screen {
    /// License status and grace.
    #[default]
    Overview,
    /// Named-user seats.
    Users,
    /// Quantities split among groups, tenants and devices.
    Allocations,
    /// Offline request and response files.
    Offline,
    /// Concurrent sessions.
    Sessions,
    /// Validation history.
    History,
    /// Server, account, keys, theme.
    Settings,
}

impl Screen {
    /// All screens, in side-bar order.
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Users,
        Screen::Allocations,
        Screen::Offline,
        Screen::Sessions,
        Screen::History,
        Screen::Settings,
    ];

    /// The side-bar label.
    pub fn label(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Users => "Users",
            Screen::Allocations => "Allocations",
            Screen::Offline => "Offline",
            Screen::Sessions => "Sessions",
            Screen::History => "History",
            Screen::Settings => "Settings",
        }
    }
}
