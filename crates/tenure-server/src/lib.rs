//! The Tenure license server: an axum HTTP API over SQLite (default) or PostgreSQL, issuing
//! Ed25519-signed licenses.
//!
//! [`app`] builds the router from an [`AppState`] so tests drive it directly or over a real
//! loopback socket; `main.rs` only parses the vendor CLI. The server keeps no state between
//! requests beyond its database, so several instances can share one PostgreSQL.
#![warn(missing_docs)]

pub mod config;
pub mod http;
pub mod keyhash;
pub mod keys;
pub mod metrics;
pub mod outage;
pub mod refusals;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod service;
pub mod signed_files;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use tokio::net::TcpListener;

pub use service::{Clock, Vendor, system_clock};
pub use store::Store;

/// Shared state for every handler: one pointer, so the clone axum makes for each request is
/// one reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct StateParts {
    /// The vendor rules.
    pub vendor: Vendor,
    /// SHA-256 of the admin token.
    pub admin_token_sha256: Arc<str>,
    /// Rate limits on activation.
    pub activation_limiter: Arc<http::limit::ActivationLimiter>,
    /// The database write probe behind `/v1/health`.
    pub health: Arc<http::HealthProbe>,
    /// The root public key file the deployment's signing key was certified with: the console
    /// checks the files the root signs against it. `None` before the key was ever certified.
    pub root_public: Option<Arc<str>>,
}

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl AppState {
    /// State from a vendor service and the plain admin token, with the default limits.
    pub fn new(vendor: Vendor, admin_token: &str) -> Self {
        // Recording starts with the first server in the process.
        let _ = metrics::handle();
        Self(Arc::new(StateParts {
            vendor,
            admin_token_sha256: service::token_sha256(admin_token).into(),
            activation_limiter: http::limit::ActivationLimiter::new(
                http::limit::ActivationLimits::default(),
                Vec::new(),
            ),
            health: Arc::default(),
            root_public: None,
        }))
    }

    /// The same state, checking files the root signs against `root_public` (its public key
    /// file).
    #[must_use]
    pub fn with_root_public(mut self, root_public: Option<String>) -> Self {
        Arc::make_mut(&mut self.0).root_public = root_public.map(Into::into);
        self
    }

    /// The same state with other activation limits.
    #[must_use]
    pub fn with_activation_limits(mut self, limits: http::limit::ActivationLimits) -> Self {
        let proxies = self.activation_limiter.trusted_proxies().to_vec();
        Arc::make_mut(&mut self.0).activation_limiter =
            http::limit::ActivationLimiter::new(limits, proxies);
        self
    }

    /// The same state, believing the client addresses that these proxies (a load balancer)
    /// forward in `Forwarded` / `X-Forwarded-For`; from anyone else those headers are ignored.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        let limits = self.activation_limiter.limits();
        Arc::make_mut(&mut self.0).activation_limiter =
            http::limit::ActivationLimiter::new(limits, proxies);
        self
    }
}

/// Where a server keeps its data.
#[derive(Debug, Clone, Default)]
pub struct ServerPaths {
    /// Folder for the signing key, the admin token and (without a URL) the SQLite file.
    pub data_dir: PathBuf,
    /// A `postgres://` URL; SQLite in `data_dir` when `None`.
    pub database_url: Option<String>,
    /// The signing key shared by every instance on one database (a mounted secret); the data
    /// folder's own key when `None`.
    pub signing_key_file: Option<PathBuf>,
    /// The secret license keys are hashed with, shared like the signing key; the data folder's
    /// own (made on first start) when `None`.
    pub key_hash_secret_file: Option<PathBuf>,
    /// The admin token every instance on one database shares (a mounted secret); the data
    /// folder's own (made on first start) when `None`.
    pub admin_token_file: Option<PathBuf>,
}

impl ServerPaths {
    /// The signing key: the shared file if given, else the data folder's (made on first start).
    pub fn signing_key(&self) -> Result<tenure_core::VendorKey> {
        match &self.signing_key_file {
            Some(file) => config::read_key_file(file)
                .with_context(|| format!("cannot use the signing key file {}", file.display())),
            None => config::load_or_create_vendor_key(&self.data_dir),
        }
    }

    /// The admin token: from the shared file if given (it must exist), else the data folder's
    /// (made on first start).
    pub fn admin_token(&self) -> Result<String> {
        match &self.admin_token_file {
            Some(file) => config::read_admin_token(file)
                .with_context(|| format!("cannot use the admin token file {}", file.display())),
            None => config::load_or_create_admin_token(&self.data_dir),
        }
    }

    /// Where the admin token is kept.
    pub fn admin_token_path(&self) -> PathBuf {
        self.admin_token_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(config::ADMIN_TOKEN_FILE))
    }

    /// The license-key hasher: from the shared secret file if given, else the data folder's.
    pub fn key_hasher(&self) -> Result<keyhash::KeyHasher> {
        let key = if let Some(file) = &self.key_hash_secret_file {
            config::read_key_file(file).with_context(|| {
                format!("cannot use the key-hash secret file {}", file.display())
            })?
        } else {
            let path = self.data_dir.join(config::KEY_HASH_SECRET_FILE);
            if path.exists() {
                config::read_key_file(&path)?
            } else {
                config::private_dir(&self.data_dir)?;
                config::create_key_file(&path)?
            }
        };
        Ok(keyhash::KeyHasher::new(key.secret()))
    }

    /// Opens the store this configuration names.
    pub async fn store(&self) -> Result<Store> {
        match &self.database_url {
            Some(url) => Store::open(url).await,
            None => Store::open_sqlite_dir(&self.data_dir).await,
        }
        .context("cannot open the server database")
    }
}

/// Opens the store, loads (or makes) the key and admin token, and builds the state.
pub async fn open(paths: &ServerPaths, clock: Clock) -> Result<AppState> {
    let store = paths.store().await?;
    let key = paths.signing_key()?;
    let admin_token = paths.admin_token()?;
    let (certificate, revocations) = config::load_trust_documents(&paths.data_dir, &key)?;
    let hasher = paths.key_hasher()?;
    if let Err(recorded) = store
        .check_key_hash_fingerprint(&hasher.fingerprint())
        .await?
    {
        anyhow::bail!(
            "this instance hashes license keys with secret {}, but this database's keys were hashed with secret {recorded}: give every instance the same secret file (--key-hash-secret-file, or TENURE_SERVER_KEY_HASH_SECRET_FILE)",
            hasher.fingerprint()
        );
    }
    let filled = store.fill_search_text().await?;
    if filled > 0 {
        tracing::info!(
            licenses = filled,
            "older licenses can now be searched in the console"
        );
    }
    let rehashed = store.hash_plain_keys(&hasher).await?;
    if rehashed > 0 {
        tracing::info!(
            licenses = rehashed,
            "license keys stored in plain digits are now stored hashed"
        );
    }
    let root_public = root_public(&store, &paths.data_dir).await?;
    let revocations =
        signed_files::newest_revocations(&store, root_public.as_deref(), revocations).await?;
    let vendor = Vendor::new(store, key, clock)
        .with_trust_documents(certificate, revocations)
        .with_key_hasher(hasher);
    Ok(AppState::new(vendor, &admin_token).with_root_public(root_public))
}

/// The setting that records the root public key the deployment was certified with.
const ROOT_PUBLIC_SETTING: &str = "root_public_key";

/// The root public key file in the data folder (recorded in the database for instances whose
/// folders lack it), or the one recorded there.
async fn root_public(store: &Store, data_dir: &std::path::Path) -> Result<Option<String>> {
    let recorded = store.shared_setting(ROOT_PUBLIC_SETTING).await?;
    match config::read_public_file(data_dir, config::ROOT_FILE)? {
        Some(text) => {
            if recorded.as_deref() != Some(text.as_str()) {
                store.set_shared_setting(ROOT_PUBLIC_SETTING, &text).await?;
            }
            Ok(Some(text))
        }
        None => Ok(recorded),
    }
}

/// Of the certificate in the data folder and the one recorded in the database (a newer one
/// the console accepted, say), the one that ends last. The recorded one replaces the folder's
/// only when the deployment's root signed it for this key (`mine`): the folder's was checked
/// as it was loaded, the database's was not.
fn later_certificate(
    folder: Option<&str>,
    recorded: Option<String>,
    root_public: Option<&str>,
    mine: &str,
) -> Option<String> {
    let end = |text: &str| {
        tenure_core::trust::KeyCertificate::read_unverified(text)
            .map(|c| c.not_after)
            .ok()
    };
    let for_me_from_root = |text: &str| {
        let mut roots = tenure_core::TrustedKeys::new();
        root_public.is_some_and(|root| roots.add_public_key_text(root).is_ok())
            && tenure_core::Trust::new(roots)
                .add_certificate(text)
                .is_ok_and(|key| key.as_str() == mine)
    };
    match (folder, recorded) {
        (Some(folder), Some(recorded))
            if for_me_from_root(&recorded) && end(&recorded) > end(folder) =>
        {
            Some(recorded)
        }
        (Some(folder), _) => Some(folder.to_owned()),
        (None, recorded) => recorded,
    }
}

/// [`open`], for an instance that signs (`serve`, `offline sign`): its key must be the one the
/// database records as current (the first instance records its own), and it sends whichever
/// of its data folder's certificate and the one recorded there ends last.
pub async fn open_signing(paths: &ServerPaths, clock: Clock) -> Result<AppState> {
    let mut state = open(paths, clock).await?;
    let vendor = &state.vendor;
    let mine = vendor.key().key_id().to_string();
    let recorded = vendor.store().current_signing_key().await?;
    let certificate = match recorded {
        None => {
            vendor
                .store()
                .record_signing_key(&mine, vendor.certificate(), vendor.now())
                .await?;
            vendor.certificate().map(str::to_owned)
        }
        Some((current, recorded_certificate)) if current == mine => {
            let later = later_certificate(
                vendor.certificate(),
                recorded_certificate.clone(),
                state.root_public.as_deref(),
                &mine,
            );
            if later != recorded_certificate {
                vendor
                    .store()
                    .record_signing_key(&mine, later.as_deref(), vendor.now())
                    .await?;
            }
            later
        }
        Some((current, _)) => anyhow::bail!(
            "this instance signs with key {mine}, but the database's current signing key is {current}: every instance on one database must sign with the same key — give each the same key file (--signing-key-file, or TENURE_SERVER_SIGNING_KEY_FILE), or make this key current with `tenure-server key certify`"
        ),
    };
    let revocations = vendor.revocations().map(str::to_owned);
    Arc::make_mut(&mut state.0).vendor = state
        .vendor
        .clone()
        .with_trust_documents(certificate, revocations);
    Ok(state)
}

/// The setting that records the admin token every instance on one database shares.
pub const ADMIN_TOKEN_SETTING: &str = "admin_token_fingerprint";

/// A fingerprint of an admin token (the start of its SHA-256): recorded in the database so
/// instances with different tokens are told apart, and nothing that would let one be guessed.
pub fn admin_token_fingerprint(token: &str) -> String {
    service::token_sha256(token)[..16].to_owned()
}

/// Refuses to serve with an admin token other than the one the database records (the first
/// instance records its own): behind a balancer, the same token must work whichever instance
/// answers.
pub async fn check_shared_admin_token(state: &AppState) -> Result<()> {
    let mine = state.admin_token_sha256[..16].to_owned();
    if let Err(recorded) = state
        .vendor
        .store()
        .check_shared_setting(ADMIN_TOKEN_SETTING, &mine)
        .await?
    {
        anyhow::bail!(
            "this instance's admin token (fingerprint {mine}) is not the one every instance on this database shares ({recorded}): give each instance the same token file (--admin-token-file, or TENURE_SERVER_ADMIN_TOKEN_FILE), or make this one the deployment's with `tenure-server admin-token rotate`"
        );
    }
    Ok(())
}

/// How long a client may take to send a request's headers: a slow socket cannot hold a
/// connection (and its slot) open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may run before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests handled at once; more wait their turn.
pub const MAX_CONCURRENT_REQUESTS: usize = 1024;
/// How long a stopping server lets requests in flight finish (their writes commit first).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The whole application: API routes, request timeout, concurrency limit and tracing.
pub fn app(state: AppState) -> Router {
    hardened(http::router(state))
}

/// `router` with the request timeout, the concurrency limit and tracing every listener has.
fn hardened(router: Router) -> Router {
    router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            MAX_CONCURRENT_REQUESTS,
        ))
        // 5xx answers are not logged one by one: an outage is logged where it starts and ends
        // (`outage`), and a signing failure where it happens.
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(()))
}

/// Header-read timeout on every connection (hyper needs a timer for it).
fn limit_connections<A: axum_server::Address, Acc>(server: &mut axum_server::Server<A, Acc>) {
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
}

/// A handle that starts a graceful shutdown on SIGTERM or Ctrl-C: no new connections, requests
/// in flight finish (every validation acknowledged is committed), then the server returns.
fn shutdown_handle() -> axum_server::Handle<SocketAddr> {
    let handle = axum_server::Handle::new();
    let signalled = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing the requests in flight");
        signalled.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    handle
}

/// Serves on an already bound listener until SIGTERM or Ctrl-C.
pub async fn serve_plain(listener: TcpListener, state: AppState) -> Result<()> {
    let mut server = axum_server::from_tcp(listener.into_std()?)?.handle(shutdown_handle());
    limit_connections(&mut server);
    server
        .serve(app(state).into_make_service_with_connect_info::<SocketAddr>())
        .await
        .context("the HTTP server stopped")
}

/// Serves over TLS (rustls) with a PEM certificate chain and key, until SIGTERM or Ctrl-C.
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
    let mut server = axum_server::bind_rustls(addr, config).handle(shutdown_handle());
    limit_connections(&mut server);
    server
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

/// Serves `GET /metrics` on `listen`, a listener of its own (an address only the monitoring
/// network reaches), in the background until the process stops; returns the address bound.
pub async fn spawn_metrics(listen: SocketAddr) -> Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen for metrics on {listen}: is another server using it?")
    })?;
    let addr = listener.local_addr()?;
    // The API's limits here too: slow sockets on this listener would hold the process's file
    // descriptors, which the API shares.
    let mut server = axum_server::from_tcp(listener.into_std()?)?;
    limit_connections(&mut server);
    tokio::spawn(async move {
        let service = hardened(http::metrics_router()).into_make_service();
        if let Err(e) = server.serve(service).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(addr)
}

/// What an instance runs beside its requests: the group-commit writer (started now, not at the
/// first validation, so one that cannot connect stops the server before it takes traffic),
/// the hourly roll-up of usage older than `keep_events_days`, the refusal counts written each
/// minute, and the check every `key_check_every` that its key is still the deployment's.
pub async fn start_background_work(
    vendor: &Vendor,
    keep_events_days: u32,
    key_check_every: Duration,
) -> Result<()> {
    vendor.store().start_writer().await?;
    spawn_roll_up(vendor.store().clone(), keep_events_days);
    vendor.spawn_refusal_flush();
    vendor.spawn_key_watch(key_check_every);
    webhooks::spawn_delivery(vendor);
    Ok(())
}

/// Rolls up usage events older than `keep_days` now and every hour, so the event table does not
/// grow forever (several instances may do it at once: each roll-up is one transaction).
pub fn spawn_roll_up(store: Store, keep_days: u32) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(Duration::from_hours(1));
        loop {
            every_hour.tick().await;
            let before = chrono::Utc::now() - chrono::Duration::days(i64::from(keep_days));
            match store.roll_up_events(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "rolled up old usage events into daily counts"),
                Err(e) => tracing::warn!(error = %e, "could not roll up old usage events"),
            }
        }
    });
}

pub use tenure_storage::install_crypto_provider;

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use signed_files::{CertificateSpan, certificate_for};
    use tenure_core::VendorKey;

    /// The database's certificate replaces the folder's only when it ends later, was signed
    /// by the deployment's root, and is for this key: a row written by hand changes nothing.
    #[test]
    fn a_recorded_certificate_is_sent_only_when_the_root_signed_it_for_this_key() {
        let (root, other_root) = (
            VendorKey::from_secret([1; 32]),
            VendorKey::from_secret([2; 32]),
        );
        let (key, other_key) = (
            VendorKey::from_secret([3; 32]),
            VendorKey::from_secret([4; 32]),
        );
        let now = chrono::Utc::now();
        let span = |days| CertificateSpan {
            days,
            max_grace_days: 30,
        };
        let cert = |root: &VendorKey, key: &VendorKey, days| {
            certificate_for(root, &key.verifying_key(), span(days), now)
                .expect("certify")
                .0
        };
        let folder = cert(&root, &key, 30);
        let root_public = root.public_key_text();
        let mine = key.key_id().to_string();
        let chosen = |recorded: String| {
            later_certificate(Some(&folder), Some(recorded), Some(&root_public), &mine)
        };
        let newer = cert(&root, &key, 60);
        assert_eq!(chosen(newer.clone()), Some(newer));
        for refused in [
            cert(&other_root, &key, 60),
            cert(&root, &other_key, 60),
            cert(&root, &key, 10),
        ] {
            assert_eq!(chosen(refused), Some(folder.clone()));
        }
        assert_eq!(
            later_certificate(Some(&folder), Some(cert(&root, &key, 60)), None, &mine),
            Some(folder.clone()),
            "no root to check it against"
        );
    }
}
