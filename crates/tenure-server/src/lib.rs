//! The Tenure license server: an axum HTTP API over SQLite (default) or PostgreSQL, issuing
//! Ed25519-signed licenses.
//!
//! [`app`] builds the router from an [`AppState`] so tests drive it directly or over a real
//! loopback socket; `main.rs` only parses the vendor CLI. The server keeps no state between
//! requests beyond its database, so several instances can share one PostgreSQL.

pub mod config;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod sandbox;
pub mod service;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use axum::Router;
use tokio::net::TcpListener;

pub use service::{Clock, Vendor, system_clock};
pub use store::Store;

/// Shared state for every handler.
#[derive(Clone)]
pub struct AppState {
    /// The vendor rules.
    pub vendor: Vendor,
    /// SHA-256 of the admin token.
    pub admin_token_sha256: Arc<str>,
    /// Rate limits on activation.
    pub activation_limiter: Arc<http::limit::ActivationLimiter>,
}

impl AppState {
    /// State from a vendor service and the plain admin token, with the default limits.
    pub fn new(vendor: Vendor, admin_token: &str) -> Self {
        // Recording starts with the first server in the process.
        let _ = metrics::handle();
        Self {
            vendor,
            admin_token_sha256: service::token_sha256(admin_token).into(),
            activation_limiter: http::limit::ActivationLimiter::new(
                http::limit::ActivationLimits::default(),
            ),
        }
    }

    /// The same state with other activation limits.
    #[must_use]
    pub fn with_activation_limits(mut self, limits: http::limit::ActivationLimits) -> Self {
        self.activation_limiter = http::limit::ActivationLimiter::new(limits);
        self
    }
}

/// Where a server keeps its data.
#[derive(Debug, Clone)]
pub struct ServerPaths {
    /// Folder for the signing key, the admin token and (without a URL) the SQLite file.
    pub data_dir: PathBuf,
    /// A `postgres://` URL; SQLite in `data_dir` when `None`.
    pub database_url: Option<String>,
}

/// Opens the store, loads (or makes) the key and admin token, and builds the state.
pub async fn open(paths: &ServerPaths, clock: Clock) -> Result<AppState> {
    let store = match &paths.database_url {
        Some(url) => Store::open(url).await,
        None => Store::open_sqlite_dir(&paths.data_dir).await,
    }
    .context("cannot open the server database")?;
    let key = config::load_or_create_vendor_key(&paths.data_dir)?;
    let admin_token = config::load_or_create_admin_token(&paths.data_dir)?;
    let (certificate, revocations) = config::load_trust_documents(&paths.data_dir, &key)?;
    let vendor = Vendor::new(store, key, clock).with_trust_documents(certificate, revocations);
    Ok(AppState::new(vendor, &admin_token))
}

/// The whole application: API routes plus request tracing.
pub fn app(state: AppState) -> Router {
    http::router(state).layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serves on an already bound listener until the task is dropped or the process ends.
pub async fn serve_plain(listener: TcpListener, state: AppState) -> Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the HTTP server stopped")
}

/// Serves over TLS (rustls) with a PEM certificate chain and key.
pub async fn serve_tls(
    addr: SocketAddr,
    state: AppState,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<()> {
    install_crypto_provider();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "cannot load the TLS certificate or key ({}, {})",
                cert.display(),
                key.display()
            )
        })?;
    axum_server::bind_rustls(addr, config)
        .serve(app(state).into_make_service_with_connect_info::<SocketAddr>())
        .await
        .context("the HTTPS server stopped")
}

/// Starts the server on a free loopback port in the background; returns its address. Used by
/// the demo and by tests, so both run the real server over a real socket.
pub async fn spawn_on_loopback(
    state: AppState,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "the loopback server stopped");
        }
    });
    Ok((addr, handle))
}

/// Uses ring for rustls everywhere in the process (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
