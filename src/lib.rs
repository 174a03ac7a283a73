//! The Tenure app: the workstation CLI ([`cli`]) and the eframe desktop window ([`gui`]), both
//! thin layers over `tenure_client::Workstation`.

pub mod advice;
pub mod cli;
pub mod gui;
pub mod present;

use tenure_client::Roots;

/// The vendor roots built into this binary (`TENURE_VENDOR_ROOTS` at build time; empty in a
/// development build).
pub const PINNED_ROOTS: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor_roots.pub"));

/// The roots this build trusts: pinned, or none (a development build).
pub fn vendor_roots() -> anyhow::Result<Roots> {
    Roots::from_build(PINNED_ROOTS).map_err(|e| {
        anyhow::anyhow!("the vendor roots built into this program are damaged: {e}; rebuild it")
    })
}
