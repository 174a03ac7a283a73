//! Colours and symbols for license states. Colour is always a second signal: every state also has
//! words and a symbol.

use egui::Color32;
use tenure_core::Status;

/// How serious a state is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// All good.
    Good,
    /// Act soon.
    Warn,
    /// Act now.
    Bad,
    /// Not known.
    Unknown,
}

impl Tone {
    /// The tone of a status.
    pub fn of(status: &Status) -> Self {
        match status {
            Status::Valid(_) => Tone::Good,
            Status::Warning(_) => Tone::Warn,
            Status::Unlicensed => Tone::Unknown,
            _ => Tone::Bad,
        }
    }

    /// The symbol shown beside the words.
    pub fn symbol(self) -> &'static str {
        match self {
            Tone::Good => "✔",
            Tone::Warn => "⚠",
            Tone::Bad => "✖",
            Tone::Unknown => "ℹ",
        }
    }

    /// A colour readable on the current theme.
    pub fn color(self, dark_mode: bool) -> Color32 {
        match (self, dark_mode) {
            (Tone::Good, true) => Color32::from_rgb(110, 200, 120),
            (Tone::Good, false) => Color32::from_rgb(20, 120, 40),
            (Tone::Warn, true) => Color32::from_rgb(240, 190, 80),
            (Tone::Warn, false) => Color32::from_rgb(170, 100, 0),
            (Tone::Bad, true) => Color32::from_rgb(240, 110, 100),
            (Tone::Bad, false) => Color32::from_rgb(190, 30, 30),
            (Tone::Unknown, true) => Color32::from_gray(170),
            (Tone::Unknown, false) => Color32::from_gray(100),
        }
    }
}

/// The widest the content column grows, so lines stay readable on large screens.
pub const MAX_CONTENT_WIDTH: f32 = 860.0;

/// The headline for a status: "Licensed — valid", ….
pub fn headline(status: &Status) -> String {
    match status {
        Status::Valid(_) => "Licensed — valid".into(),
        Status::Warning(g) => format!("Licensed — only {} days of grace left", g.days_left),
        Status::GraceExpired { .. } => "Grace period expired".into(),
        Status::LicenseExpired { .. } => "License expired".into(),
        Status::NotYetValid { .. } => "License not yet valid".into(),
        Status::BindingMismatch { .. } => {
            "This database is not the one the license was validated for".into()
        }
        Status::ClockRolledBack { .. } => "The computer's clock was set back".into(),
        Status::Moved { .. } => "The license was moved to another database".into(),
        Status::Unlicensed => "Unlicensed".into(),
    }
}

/// Text from the engine, made drawable with the bundled fonts: they have no `→`, so the arrow of
/// "server srv1 → srv2" is shown as `➡`.
pub fn drawable(text: &str) -> String {
    text.replace('→', "➡")
}
