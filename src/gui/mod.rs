//! The desktop window (eframe, glow renderer).
//!
//! `app.rs` owns the model and the screens and routes events and jobs; `worker/` does every
//! piece of I/O on a background thread and answers with typed outcomes (`crate::present`);
//! `screens/` holds one struct per screen, owning its own state; `model.rs` is what every screen
//! shares (the latest snapshot, jobs running, notices, preferences). `chrome.rs` draws what is
//! around and across the screens (status strip, the message over the content, file buttons),
//! `files.rs` chooses files (a native dialog, or a typed path where none can open), `bidi.rs`
//! draws right-to-left names; `widgets.rs`, `style.rs` and `format.rs` draw and word things
//! from their arguments alone. The window holds no license rules: it shows what
//! `tenure_client` reports.
//!
//! Layers, each using only those below: style, format, bidi, widgets; worker; toast, files;
//! model; chrome; screens; app.

pub mod app;
pub mod bidi;
pub mod chrome;
#[cfg(feature = "demo")]
pub mod demo;
pub mod files;
pub mod format;
pub mod model;
pub mod nav;
pub mod screens;
pub mod style;
pub mod toast;
pub mod widgets;
pub mod worker;

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use tenure_client::{Profile, SecretStore, Workstation};

use app::TenureApp;
use model::Prefs;
use worker::Worker;

/// The app icon, 256 × 256.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/icon-256.png");

/// The demo: a license server inside the app, a demo license activated on it.
#[cfg(feature = "demo")]
fn start_demo() -> Result<(Workstation, Option<String>)> {
    let demo = demo::start().context("cannot start the demo")?;
    Ok((demo.workstation, Some(demo.banner)))
}

#[cfg(not(feature = "demo"))]
fn start_demo() -> Result<(Workstation, Option<String>)> {
    anyhow::bail!(
        "this build has no demo (built without the `demo` feature): run a build with it, e.g. cargo run --release -- --demo"
    )
}

/// What the command line asks of the window: the server URL (saved) and the product database
/// for this run (not saved), as the CLI honours them.
pub fn apply_flags(
    workstation: Workstation,
    server: Option<String>,
    db: Option<tenure_client::product_db::DbSpec>,
) -> Result<Workstation> {
    let mut workstation = workstation.with_run_database(db);
    if let Some(url) = server {
        workstation.update_settings(|s| s.server_url = Some(url))?;
    }
    Ok(workstation)
}

/// The window's own state file (size, screen, theme): in the profile, so `TENURE_HOME` moves it.
pub fn window_state_file(profile: &Profile) -> std::path::PathBuf {
    profile.data_dir().join("window.ron")
}

/// Opens the window (on the demo server when `demo`).
/// `db` is the product database given for this run (`--db`, `TENURE_DB`), used ahead of the
/// one saved in Settings, as the CLI does.
pub fn run(
    demo: bool,
    server: Option<String>,
    db: Option<tenure_client::product_db::DbSpec>,
) -> Result<ExitCode> {
    let (workstation, banner) = if demo {
        start_demo()?
    } else {
        let profile = Profile::from_env();
        let secrets = SecretStore::keyring(profile.keyring_namespace());
        let roots = crate::vendor_roots()?;
        let banner = roots.banner().map(|_| {
            "Development build — licenses not protected: no vendor roots are built into this program, so it believes any root added in Settings.".to_owned()
        });
        (Workstation::open(profile, secrets, roots)?, banner)
    };
    let workstation = apply_flags(workstation, server, db)?;
    let state_file = window_state_file(workstation.profile());
    let worker = Worker::spawn(workstation).context("cannot start the background worker")?;
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(if demo { "Tenure — demo" } else { "Tenure" })
        .with_inner_size([1024.0, 700.0])
        .with_min_inner_size([800.0, 600.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        // The window's own state lives in the profile, so TENURE_HOME moves it too.
        persistence_path: Some(state_file),
        // The app adds the OS's fonts itself (so its tests draw with them too).
        system_font_fallback: false,
        ..Default::default()
    };
    eframe::run_native(
        "tenure",
        options,
        Box::new(move |cc| {
            let prefs: Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            Ok(Box::new(TenureApp::new(Some(worker), prefs, banner)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
