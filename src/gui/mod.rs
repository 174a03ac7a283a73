//! The desktop window (eframe).

use std::process::ExitCode;

use anyhow::Result;

/// Opens the window.
pub fn run(demo: bool, server: Option<String>) -> Result<ExitCode> {
    let _ = (demo, server);
    anyhow::bail!("the window is not built yet: use a subcommand (tenure --help)")
}
