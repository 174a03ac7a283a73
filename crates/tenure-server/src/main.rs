//! `tenure-server`: the license server and the vendor's CLI. Every command works straight on the
//! store named by `--data-dir` / `--database-url`, whether or not a server is running.

// mimalloc: under load the server allocates and frees answers on two threads at once, where
// glibc's allocator spent a tenth of the CPU (consolidating and unlinking chunks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use tenure_core::license::{DEFAULT_GRACE_DAYS, DEFAULT_LEASE_SECS};
use tenure_core::{
    ActivationMode, LicenseTerms, Module, Quantity, QuantityKind, SeatKind, Validity,
};
use tenure_server::http::limit::ActivationLimits;
use tenure_server::{ServerPaths, config, keys, system_clock};

#[derive(Parser)]
#[command(
    name = "tenure-server",
    version,
    about = "Tenure license server and vendor tools"
)]
struct Cli {
    /// Folder for the signing key, admin token and SQLite database.
    #[arg(long, global = true, env = "TENURE_SERVER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL at this URL instead of SQLite (`postgres://user@host/db`).
    #[arg(long, global = true, env = "TENURE_SERVER_DATABASE_URL")]
    database_url: Option<String>,
    /// The signing key file every instance on one database shares (a mounted secret); the data
    /// folder's own key when not given.
    #[arg(long, global = true, env = "TENURE_SERVER_SIGNING_KEY_FILE")]
    signing_key_file: Option<PathBuf>,
    /// The secret license keys are hashed with, shared by every instance on one database (a
    /// mounted secret); the data folder's own when not given.
    #[arg(long, global = true, env = "TENURE_SERVER_KEY_HASH_SECRET_FILE")]
    key_hash_secret_file: Option<PathBuf>,
    /// The admin token (for `/v1/admin/*`) shared by every instance on one database (a
    /// mounted secret); the data folder's own when not given.
    #[arg(long, global = true, env = "TENURE_SERVER_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// Log lines as text, or as one JSON object per line (for log collectors).
    #[arg(
        long,
        global = true,
        env = "TENURE_SERVER_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(ServeArgs),
    /// Customer accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Licenses.
    #[command(subcommand)]
    License(LicenseCommand),
    /// The vendor's root key: kept offline, it certifies the servers' signing keys.
    #[command(subcommand)]
    Root(RootCommand),
    /// The server's signing key: certify, rotate, revoke.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print the signing key's public key file.
    PublicKey {
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the path of the admin token file (for POST /v1/admin/*).
    AdminTokenPath,
    /// The admin token: `rotate` writes a new one and makes it the deployment's.
    #[command(subcommand)]
    AdminToken(AdminTokenCommand),
    /// Offline sites: answer request files with signed license files.
    #[command(subcommand)]
    Offline(OfflineCommand),
}

/// `serve`'s options.
#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8440")]
    listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics at `/metrics` on this address (e.g. one only the monitoring
    /// network reaches); without it there are none to scrape. Never on --listen: request
    /// counts would tell anyone how the licenses are used.
    #[arg(long, env = "TENURE_SERVER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// How often an instance checks that its signing key is still the deployment's current one
    /// (it stops signing when it is not).
    #[arg(long, default_value_t = 20, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    key_check_every_secs: u64,
    /// Usage events older than this are rolled up into daily counts per license.
    #[arg(long, default_value_t = 90)]
    keep_events_days: u32,
    /// Activations one client address may make per minute, sustained: a key guesser is
    /// slowed to this. Raise it for a site activating many workstations from one address.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    activations_per_minute: u32,
    /// Activations one client address may make at once, before the per-minute rate applies.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    activation_burst: u32,
    /// Activations from every address together per second, sustained (bursts of four
    /// times this).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    activations_per_second: u32,
    /// A load balancer or proxy (an address or CIDR range, e.g. 10.0.0.0/8) whose
    /// `Forwarded` / `X-Forwarded-For` headers name the real client; repeat for more. From
    /// any other peer those headers are ignored. Without it, behind a balancer every customer
    /// counts as the balancer's address.
    #[arg(long = "trusted-proxy", env = "TENURE_SERVER_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// `10.0.0.0/8`, or one address (`10.0.0.5`: a /32, or /128 for IPv6).
fn parse_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR range like 10.0.0.0/8"))
}

#[derive(Subcommand)]
enum AdminTokenCommand {
    /// Write a new admin token (into --admin-token-file, or the data folder's) and record it
    /// as the one every instance on the database must share; the old one stops working once
    /// the instances restart with the new file.
    Rotate,
}

#[derive(Subcommand)]
enum OfflineCommand {
    /// Answer a workstation's request file (same rules as online) with a signed license file.
    Sign {
        /// The request file the customer sent.
        request: PathBuf,
        /// Where to write the signed answer.
        #[arg(short, long)]
        output: PathBuf,
        /// The key is activated already and its account confirmed it wants it activated here
        /// instead: replace its credential (a move, if elsewhere, within the license's limit).
        /// Recorded in the usage log as done by staff.
        #[arg(long)]
        reactivate: bool,
    },
}

#[derive(Subcommand)]
enum RootCommand {
    /// Make a root key (secret, owner-only) and its public key file (FILE.pub) to build into
    /// the product: `TENURE_VENDOR_ROOTS=FILE.pub cargo build --release`.
    Create {
        /// Where to write the root's secret key; keep it offline.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new key file (owner-only): a signing key to share among instances with
    /// --signing-key-file (certify it next), or with `--for license-keys` the secret license
    /// keys are hashed with (--key-hash-secret-file).
    Create {
        /// Where to write the key; it must not exist.
        #[arg(short, long)]
        output: PathBuf,
        /// What the key is for.
        #[arg(long = "for", value_enum, default_value = "signing")]
        purpose: KeyPurpose,
    },
    /// Certify this server's signing key with the root (writes vendor-signing.cert) and record
    /// it as the deployment's current key — if the database names none yet, or names this one.
    Certify {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        #[command(flatten)]
        span: SpanArgs,
        /// Replace the database's current signing key with this one: instances still signing
        /// with the old key stop signing within a minute, until restarted with this one.
        #[arg(long)]
        make_current: bool,
    },
    /// Make a new signing key, certify it with the root and use it from the next start; the
    /// old key is kept aside. Licenses it signed keep working until their next validation
    /// replaces them, and never past its certificate's end plus its grace bound.
    Rotate {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        #[command(flatten)]
        span: SpanArgs,
    },
    /// Revoke a signing key: workstations refuse its licenses once they hear of it.
    Revoke {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        /// The signing key's id (16 hex digits).
        key_id: String,
        /// Why, in a few words.
        #[arg(long, default_value = "revoked by the vendor")]
        reason: String,
    },
}

/// What a new key file is for.
#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyPurpose {
    /// A signing key (certify it next).
    Signing,
    /// The secret license keys are hashed with.
    LicenseKeys,
}

/// What a certificate covers.
#[derive(Args)]
struct SpanArgs {
    /// Days the certificate covers.
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// The longest offline grace the key may give (and so the most days anything it signed
    /// outlives the certificate): licenses asking for more cannot be made with it.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_grace_days: u32,
}

impl SpanArgs {
    fn span(&self) -> keys::CertificateSpan {
        keys::CertificateSpan {
            days: self.days,
            max_grace_days: self.max_grace_days,
        }
    }
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print its token (shown once).
    Create {
        /// Account name.
        name: String,
    },
    /// Give an account a new token (shown once); the old one stops working at once.
    RotateToken {
        /// Account name.
        name: String,
    },
    /// Disable an account: its token is refused until it is rotated.
    Disable {
        /// Account name.
        name: String,
    },
}

#[derive(Subcommand)]
enum LicenseCommand {
    /// Create a license and print its key.
    Create(CreateLicense),
    /// List licenses.
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a license by id.
    Revoke {
        /// License id (lic_…).
        id: String,
    },
}

#[derive(Args)]
struct CreateLicense {
    /// Owning account.
    #[arg(long)]
    account: String,
    /// Customer name on the license (default: the account name).
    #[arg(long)]
    customer: Option<String>,
    /// named or concurrent (with --quantity: taken from the first named or concurrent one).
    #[arg(long, default_value = "named")]
    kind: SeatKind,
    /// Number of seats (with --quantity: taken from the first named or concurrent one).
    #[arg(long, default_value_t = 1)]
    seats: u32,
    /// A counted quantity as NAME:COUNT:KIND, KIND one of named, concurrent, device (e.g.
    /// devices:500:device, connections:10:concurrent); repeat for more.
    #[arg(long = "quantity")]
    quantities: Vec<Quantity>,
    /// Offline grace period in days.
    #[arg(long, default_value_t = DEFAULT_GRACE_DAYS)]
    grace_days: u32,
    /// Most grace days an extension may grant (default: 3 × grace).
    #[arg(long)]
    max_grace_days: Option<u32>,
    /// First day (YYYY-MM-DD, default today).
    #[arg(long)]
    starts: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    expires: NaiveDate,
    /// A module as `NAME`, `NAME:START:END`, `NAME::END` or `NAME:START:` (dates YYYY-MM-DD; a
    /// date left out is the license's); repeat for more.
    #[arg(long = "module", value_parser = parse_module)]
    modules: Vec<ModuleArg>,
    /// Activate by files only (offline sites).
    #[arg(long)]
    offline: bool,
    /// Most days a seat may be borrowed.
    #[arg(long, default_value_t = 14)]
    max_borrow_days: u32,
    /// Most rebinds in any 30 days.
    #[arg(long, default_value_t = 3)]
    max_rebinds: u32,
    /// Concurrent-seat lease in seconds.
    #[arg(long, default_value_t = DEFAULT_LEASE_SECS)]
    lease_secs: u32,
}

/// A `--module` as given: a date left out is the license's.
#[derive(Debug, Clone)]
struct ModuleArg {
    name: String,
    starts: Option<NaiveDate>,
    expires: Option<NaiveDate>,
}

impl ModuleArg {
    fn within(self, license: Validity) -> Module {
        Module {
            name: self.name,
            validity: Validity {
                starts: self.starts.unwrap_or(license.starts),
                expires: self.expires.unwrap_or(license.expires),
            },
        }
    }
}

fn parse_module(text: &str) -> Result<ModuleArg, String> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default().trim();
    let (starts, expires) = match (parts.next(), parts.next(), parts.next()) {
        (None, None, None) => ("", ""),
        (Some(starts), Some(expires), None) => (starts, expires),
        _ => {
            return Err(format!(
                "expected NAME, NAME:START:END, NAME::END or NAME:START:, got {text:?}"
            ));
        }
    };
    if name.is_empty() {
        return Err(format!("the module in {text:?} has no name"));
    }
    let date = |s: &str| -> Result<Option<NaiveDate>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<NaiveDate>()
            .map(Some)
            .map_err(|_| format!("{s:?} is not a date like 2027-12-31"))
    };
    Ok(ModuleArg {
        name: name.to_owned(),
        starts: date(starts)?,
        expires: date(expires)?,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let paths = ServerPaths {
        admin_token_file: cli.admin_token_file.clone(),
        data_dir: cli
            .data_dir
            .clone()
            .unwrap_or_else(config::default_data_dir),
        database_url: cli.database_url.clone(),
        signing_key_file: cli.signing_key_file.clone(),
        key_hash_secret_file: cli.key_hash_secret_file.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_command(cli.command, paths))
}

async fn run_command(command: Command, paths: ServerPaths) -> Result<ExitCode> {
    tenure_server::install_crypto_provider();
    match command {
        Command::Root(RootCommand::Create { output }) => root_create(&output),
        Command::Key(command) => key_command(command, &paths).await,
        Command::AdminToken(AdminTokenCommand::Rotate) => rotate_admin_token(&paths).await,
        command => run_on_store(command, paths).await,
    }
}

async fn key_command(command: KeyCommand, paths: &ServerPaths) -> Result<ExitCode> {
    let now = Utc::now();
    let data_dir = &paths.data_dir;
    let said = match command {
        KeyCommand::Create { output, purpose } => {
            let key = config::create_key_file(&output)?;
            match purpose {
                KeyPurpose::Signing => println!(
                    "signing key {} written to {} (owner-only): certify it with `tenure-server --signing-key-file {} key certify --root ROOT.key`",
                    key.key_id(),
                    output.display(),
                    output.display()
                ),
                KeyPurpose::LicenseKeys => println!(
                    "the secret license keys are hashed with written to {} (owner-only): give every instance on the database this file (--key-hash-secret-file, or TENURE_SERVER_KEY_HASH_SECRET_FILE) before its first start",
                    output.display()
                ),
            }
            return Ok(ExitCode::SUCCESS);
        }
        KeyCommand::Certify {
            root,
            span,
            make_current,
        } => {
            let key = paths.signing_key()?;
            let current = paths.store().await?.current_signing_key().await?;
            if let Some((current, _)) = current
                && current != key.key_id().as_str()
                && !make_current
            {
                bail!(
                    "the database's current signing key is {current}, not this one ({}): every instance on it signs with {current}. Certify that key instead (give this command its file with --signing-key-file), or run this again with --make-current to replace it — then restart every instance with this key, as those signing with {current} stop signing within a minute",
                    key.key_id()
                );
            }
            keys::certify(data_dir, &key, &root, span.span(), now)?
        }
        KeyCommand::Rotate { root, span } => {
            if paths.signing_key_file.is_some() {
                bail!(
                    "the signing key is a shared file (--signing-key-file): rotate it in a data folder (tenure-server --data-dir DIR key rotate), then give every instance the new vendor-signing.key"
                );
            }
            keys::rotate(data_dir, &root, span.span(), now)?
        }
        KeyCommand::Revoke {
            root,
            key_id,
            reason,
        } => keys::revoke(data_dir, &root, &key_id, &reason, now)?,
    };
    println!("{said}");
    // The database records the deployment's current key, so every instance signs with it.
    let key = paths.signing_key()?;
    let certificate = config::read_public_file(data_dir, config::CERTIFICATE_FILE)?;
    paths
        .store()
        .await?
        .record_signing_key(key.key_id().as_str(), certificate.as_deref(), now)
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a new admin token and records it as the deployment's (the file need not exist yet).
async fn rotate_admin_token(paths: &ServerPaths) -> Result<ExitCode> {
    config::private_dir(&paths.data_dir)?;
    let path = paths.admin_token_path();
    let token = config::replace_admin_token(&path)?;
    paths
        .store()
        .await?
        .set_shared_setting(
            tenure_server::ADMIN_TOKEN_SETTING,
            &tenure_server::admin_token_fingerprint(&token),
        )
        .await?;
    println!(
        "a new admin token is in {} and recorded as the deployment's: restart every instance with this file; the old token stops working as they do",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn root_create(output: &std::path::Path) -> Result<ExitCode> {
    let root = config::create_key_file(output)?;
    let public = output.with_extension("pub");
    write_atomic(&public, root.public_key_text().as_bytes())
        .with_context(|| format!("cannot write {}", public.display()))?;
    println!(
        "root {} created: secret key {} (keep it offline, back it up), public key {} (build it into the product)",
        root.key_id(),
        output.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `serve`: the API on `listen` (HTTPS with a certificate), metrics on their own listener if
/// asked, until SIGTERM or Ctrl-C.
async fn serve(state: tenure_server::AppState, args: ServeArgs) -> Result<()> {
    let ServeArgs {
        listen,
        tls_cert,
        tls_key,
        metrics_listen,
        keep_events_days,
        activations_per_minute,
        activation_burst,
        activations_per_second,
        trusted_proxies,
        key_check_every_secs,
    } = args;
    let vendor = &state.vendor;
    tenure_server::check_shared_admin_token(&state).await?;
    vendor.spawn_key_watch(std::time::Duration::from_secs(key_check_every_secs));
    // Started now, not at the first validation: a writer that cannot connect stops
    // the server here, before it takes traffic.
    vendor.store().start_writer().await?;
    tenure_server::spawn_roll_up(vendor.store().clone(), keep_events_days);
    vendor.spawn_refusal_flush();
    tracing::info!(key_id = %vendor.key().key_id(), "signing with vendor key");
    if vendor.certificate().is_none() {
        tracing::warn!(
            "the signing key has no certificate from a vendor root: workstations refuse its licenses until you run `tenure-server key certify --root ROOT.key`"
        );
    }
    if let Some(listen) = metrics_listen {
        let bound = tenure_server::spawn_metrics(listen).await?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let state = state
        .with_activation_limits(activation_limits(
            activations_per_minute,
            activation_burst,
            activations_per_second,
        ))
        .with_trusted_proxies(trusted_proxies);
    if let (Some(cert), Some(key)) = (tls_cert, tls_key) {
        tracing::info!("listening on https://{listen}");
        tenure_server::serve_tls(listen, state.clone(), &cert, &key).await?;
    } else {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: is another server using it?"))?;
        tracing::info!("listening on http://{listen}");
        tenure_server::serve_plain(listener, state.clone()).await?;
    }
    // The refusals of the last minute, before the process ends.
    state.vendor.flush_refusals().await;
    Ok(())
}

async fn run_on_store(command: Command, paths: ServerPaths) -> Result<ExitCode> {
    let signs = matches!(command, Command::Serve(_) | Command::Offline(_));
    let state = if signs {
        tenure_server::open_signing(&paths, system_clock()).await?
    } else {
        tenure_server::open(&paths, system_clock()).await?
    };
    let vendor = &state.vendor;
    match command {
        Command::Serve(args) => serve(state, args).await?,
        Command::Account(AccountCommand::Create { name }) => {
            let token = vendor.create_account(&name).await?;
            println!("account {name} created; its token (shown once, give it to the customer):");
            println!("{token}");
        }
        Command::Account(AccountCommand::RotateToken { name }) => {
            let token = vendor.rotate_account_token(&name).await?;
            println!("account {name} has a new token (shown once; the old one no longer works):");
            println!("{token}");
        }
        Command::Account(AccountCommand::Disable { name }) => {
            vendor.disable_account(&name).await?;
            println!("account {name} disabled: its token is refused until `account rotate-token`");
        }
        Command::License(command) => license_command(vendor, command).await?,
        Command::PublicKey { output } => {
            let text = vendor.key().public_key_text();
            match output {
                Some(path) => {
                    std::fs::write(&path, &text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "wrote public key {} to {}",
                        vendor.key().key_id(),
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
        }
        Command::Offline(OfflineCommand::Sign {
            request,
            output,
            reactivate,
        }) => {
            let bytes = std::fs::read(&request)
                .with_context(|| format!("cannot read {}", request.display()))?;
            let text = tenure_core::signed::text_from_bytes(&bytes)
                .with_context(|| format!("{} is not a request file", request.display()))?;
            let answer = if reactivate {
                vendor.reactivate_offline_text(text).await
            } else {
                vendor.answer_offline_text(text).await
            };
            vendor.flush_refusals().await;
            let answer =
                answer.with_context(|| format!("{} was not answered", request.display()))?;
            write_atomic(&output, answer.as_bytes())
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "wrote the signed answer to {}: send it to the customer to import",
                output.display()
            );
        }
        Command::Root(_) | Command::Key(_) | Command::AdminToken(_) => {
            unreachable!("handled before the store is opened")
        }
        Command::AdminTokenPath => {
            println!("{}", paths.admin_token_path().display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The activation limits `serve` was given (bursts from everyone: four times the rate).
fn activation_limits(per_minute: u32, burst: u32, per_second: u32) -> ActivationLimits {
    ActivationLimits {
        per_address_per_minute: per_minute,
        per_address_burst: burst,
        global_per_second: per_second,
        global_burst: per_second.saturating_mul(4),
    }
}

/// Writes a file whole or not at all: a temporary file beside it, then a rename.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

async fn license_command(vendor: &tenure_server::Vendor, command: LicenseCommand) -> Result<()> {
    match command {
        LicenseCommand::Create(args) => {
            // Workstations of earlier versions read `kind` and `seats`: the first named or
            // concurrent quantity, or no seats on a license for devices only.
            let (kind, seats) = if args.quantities.is_empty() {
                (args.kind, args.seats)
            } else {
                args.quantities
                    .iter()
                    .find_map(|q| match q.kind {
                        QuantityKind::Named => Some((SeatKind::Named, q.count)),
                        QuantityKind::Concurrent => Some((SeatKind::Concurrent, q.count)),
                        QuantityKind::Device => None,
                    })
                    .unwrap_or((SeatKind::Named, 0))
            };
            let validity = Validity {
                starts: args.starts.unwrap_or_else(|| Utc::now().date_naive()),
                expires: args.expires,
            };
            let terms = LicenseTerms {
                customer: args.customer.unwrap_or_else(|| args.account.clone()),
                kind,
                seats,
                grace_days: args.grace_days,
                max_grace_days: args
                    .max_grace_days
                    .unwrap_or(args.grace_days.saturating_mul(3)),
                validity,
                activation_mode: if args.offline {
                    ActivationMode::Offline
                } else {
                    ActivationMode::Online
                },
                modules: args
                    .modules
                    .into_iter()
                    .map(|m| m.within(validity))
                    .collect(),
                max_borrow_days: args.max_borrow_days,
                max_rebinds_per_30_days: args.max_rebinds,
                lease_secs: args.lease_secs,
                quantities: args.quantities,
            };
            let created = vendor.create_license(&args.account, &terms).await?;
            println!("license {} created; key: {}", created.id, created.key);
        }
        LicenseCommand::List { account, json } => {
            let rows = vendor.store().list_licenses(account.as_deref()).await?;
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id, "account": r.account, "key_last4": r.key_last4,
                            "terms": r.terms, "revoked": r.revoked, "binding": r.binding,
                            "last_validated_at": r.last_validated_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                if rows.is_empty() {
                    println!("no licenses yet: create one with `tenure-server license create`");
                }
                for r in rows {
                    let bound = r
                        .binding
                        .map_or_else(|| "not activated".into(), |b| b.to_string());
                    println!(
                        "{}  {}  {}  {} × {}  until {}  {}{}",
                        r.id,
                        tenure_server::keyhash::masked(r.key_last4.as_deref().unwrap_or_default()),
                        r.account,
                        r.terms.seats,
                        r.terms.kind.label(),
                        r.terms.validity.expires,
                        bound,
                        if r.revoked { "  REVOKED" } else { "" }
                    );
                }
            }
        }
        LicenseCommand::Revoke { id } => {
            if !vendor.store().revoke(&id).await? {
                bail!("no license has the id {id:?}");
            }
            println!("license {id} revoked");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn limits_of(args: &[&str]) -> Result<ActivationLimits, clap::Error> {
        let cli = Cli::try_parse_from(["tenure-server", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(ServeArgs {
                activations_per_minute,
                activation_burst,
                activations_per_second,
                ..
            }) => Ok(activation_limits(
                activations_per_minute,
                activation_burst,
                activations_per_second,
            )),
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn serve_keeps_the_default_limits_and_takes_others_for_a_large_site() {
        assert_eq!(limits_of(&[]).unwrap(), ActivationLimits::default());
        let large = limits_of(&[
            "--activations-per-minute",
            "600",
            "--activation-burst",
            "300",
            "--activations-per-second",
            "500",
        ])
        .unwrap();
        assert_eq!(
            large,
            ActivationLimits {
                per_address_per_minute: 600,
                per_address_burst: 300,
                global_per_second: 500,
                global_burst: 2000,
            }
        );
        // No limit is no activation at all: refused with the flag named.
        let zero = limits_of(&["--activations-per-minute", "0"]).unwrap_err();
        assert!(
            zero.to_string().contains("--activations-per-minute"),
            "{zero}"
        );
    }

    #[test]
    fn metrics_are_off_unless_given_an_address_of_their_own() {
        let metrics_of = |args: &[&str]| -> Result<Option<SocketAddr>, clap::Error> {
            let cli = Cli::try_parse_from(["tenure-server", "serve"].iter().chain(args))?;
            match cli.command {
                Command::Serve(args) => Ok(args.metrics_listen),
                _ => panic!("not serve"),
            }
        };
        // Unless the environment running the tests names one already.
        if std::env::var_os("TENURE_SERVER_METRICS_LISTEN").is_none() {
            assert_eq!(metrics_of(&[]).unwrap(), None);
        }
        assert_eq!(
            metrics_of(&["--metrics-listen", "10.0.0.1:9441"]).unwrap(),
            Some("10.0.0.1:9441".parse().unwrap())
        );
        let wrong = metrics_of(&["--metrics-listen", "metrics.local"]).unwrap_err();
        assert!(wrong.to_string().contains("--metrics-listen"), "{wrong}");
    }

    #[test]
    fn a_module_takes_the_license_dates_it_leaves_out() {
        let license = Validity {
            starts: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            expires: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        };
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let dates = |text: &str| {
            let module = parse_module(text).unwrap().within(license);
            (module.name, module.validity.starts, module.validity.expires)
        };
        for (text, name, starts, expires) in [
            ("inspect", "inspect", "2027-01-01", "2027-12-31"),
            ("reports::2027-06-30", "reports", "2027-01-01", "2027-06-30"),
            ("cloud:2027-03-01:", "cloud", "2027-03-01", "2027-12-31"),
            (
                "maps:2027-02-01:2027-03-01",
                "maps",
                "2027-02-01",
                "2027-03-01",
            ),
        ] {
            assert_eq!(
                dates(text),
                (name.to_owned(), day(starts), day(expires)),
                "{text}"
            );
        }
        for wrong in [
            "",
            ":2027-01-01:",
            "maps:2027-02-01",
            "maps:a:b:c",
            "maps:2027-13-01:",
        ] {
            assert!(parse_module(wrong).is_err(), "{wrong:?} accepted");
        }
        let bad_date = parse_module("maps:someday:").unwrap_err();
        assert!(bad_date.contains("\"someday\" is not a date"), "{bad_date}");
    }
}
