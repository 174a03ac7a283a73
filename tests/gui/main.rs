//! The window driven through `egui_kittest` by label, on the real app state, a real in-process
//! license server over loopback, and the real OS keyring (scripts/test provides one).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

mod clicks;
mod current;
mod journeys;
mod screens;
mod sizes;
mod support;
