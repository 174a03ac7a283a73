//! The vendor's command line: one file per command group, each parsing its arguments, calling
//! the vendor service and printing what it did. Every command works straight on the store
//! named by `--data-dir` / `--database-url`, whether or not a server is running.

mod account;
mod keys;
mod license;
mod offline;
mod serve;
mod staff;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tenure_server::{ServerPaths, config, system_clock};

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
    Serve(serve::ServeArgs),
    /// Customer accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Licenses.
    #[command(subcommand)]
    License(license::LicenseCommand),
    /// The vendor's root key: kept offline, it certifies the servers' signing keys.
    #[command(subcommand)]
    Root(keys::RootCommand),
    /// The server's signing key: certify, rotate, revoke.
    #[command(subcommand)]
    Key(keys::KeyCommand),
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
    AdminToken(keys::AdminTokenCommand),
    /// Offline sites: answer request files with signed license files.
    #[command(subcommand)]
    Offline(offline::OfflineCommand),
    /// The vendor's staff, who sign in to the web console at /console.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// Webhooks: events posted to the vendor's own systems, signed.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
}

/// Parses the command line, sets up logging, runs the command and maps the outcome to an exit
/// code.
pub fn main() -> ExitCode {
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
        Command::Root(command) => keys::root_command(command),
        Command::Key(command) => keys::key_command(command, &paths).await,
        Command::AdminToken(command) => keys::admin_token_command(command, &paths).await,
        Command::AdminTokenPath => {
            println!("{}", paths.admin_token_path().display());
            Ok(ExitCode::SUCCESS)
        }
        command => run_on_store(command, paths).await,
    }
}

/// The commands that need the vendor service over the store: `serve` and `offline sign`
/// sign, so their key must be the deployment's current one.
async fn run_on_store(command: Command, paths: ServerPaths) -> Result<ExitCode> {
    let signs = matches!(command, Command::Serve(_) | Command::Offline(_));
    let state = if signs {
        tenure_server::open_signing(&paths, system_clock()).await?
    } else {
        tenure_server::open(&paths, system_clock()).await?
    };
    let vendor = &state.vendor;
    match command {
        Command::Serve(args) => serve::serve(state, args).await?,
        Command::Account(command) => account::run(vendor, command).await?,
        Command::License(command) => license::run(vendor, command).await?,
        Command::Offline(command) => offline::run(vendor, command).await?,
        Command::Staff(command) => staff::run(vendor, command).await?,
        Command::Webhook(command) => webhook::run(vendor, command).await?,
        Command::PublicKey { output } => keys::public_key(vendor, output)?,
        Command::Root(_) | Command::Key(_) | Command::AdminToken(_) | Command::AdminTokenPath => {
            unreachable!("handled before the store is opened")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a file whole or not at all: a temporary file beside it, then a rename.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
