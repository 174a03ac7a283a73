//! The command line. Every command drives `tenure_client::Workstation`, the same engine the
//! window uses, so anything the GUI can do the CLI can do.
//!
//! Exit codes (stable, for scripts):
//! 0 licensed (valid or warning) or command succeeded; 1 error; 2 grace expired;
//! 3 binding mismatch; 4 unlicensed; 5 license expired or not yet valid; 6 clock set back;
//! 7 user not authorised, or a seat asked for was not given (trimmed).

/// `println!` that returns the write error instead of panicking, so `tenure status | head -0`
/// ends quietly (see [`is_closed_pipe`]).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error; see `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*).and_then(|()| stdout.flush())
    }};
}

mod account;
mod allocations;
mod binding;
mod db;
mod license;
mod offline;
pub mod output;
mod sessions;
mod users;

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tenure_client::product_db::DbSpec;
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::Status;

/// Error exit code.
pub const EXIT_ERROR: u8 = 1;

/// True when the error is standard output closed by its reader (`tenure status | head -0`):
/// not a failure of the command, so nothing is said.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[derive(Parser)]
#[command(
    name = "tenure",
    version,
    about = "Tenure license manager: run without a command to open the window"
)]
pub struct Cli {
    /// License server URL (overrides settings).
    #[arg(long, global = true, env = "TENURE_SERVER")]
    server: Option<String>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// Product database: a SQLite file path (or sqlite:PATH) or a postgres:// URL. Default: the
    /// one chosen in Settings, else product.db in the data folder.
    #[arg(long, global = true, env = "TENURE_DB")]
    db: Option<String>,
    /// Open the window on a demo license server started in-process.
    #[arg(long)]
    demo: bool,
    /// Log what the libraries underneath do to standard error (`-v` warnings, `-vv` more,
    /// `-vvv` everything; `TENURE_LOG` picks by module).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// The log filter when `TENURE_LOG` gives none: a command prints its own sentences and
    /// no library's log lines unless asked (`-v`); the window logs warnings.
    pub fn log_filter(&self) -> &'static str {
        match (self.command.is_some(), self.verbose) {
            (false, 0) | (_, 1) => "warn",
            (true, 0) => "off",
            (_, 2) => "info",
            _ => "debug",
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Show the license status (exit code tells the state).
    Status(license::BindingArgs),
    /// Activate a license key for this database.
    Activate {
        /// The 13-digit key, e.g. 1234-5678-9012-3.
        key: String,
        #[command(flatten)]
        binding: license::BindingArgs,
    },
    /// Validate online: restarts the offline grace period (of stacked licenses too).
    Validate,
    /// Stack another license on this database: its counts add to the pools while it is valid.
    Stack {
        /// The other license's 13-digit key.
        key: String,
    },
    /// Ask for a longer offline grace (signed-in account).
    Extend {
        /// Days of grace wanted, from now.
        days: u32,
    },
    /// Move the license to this database after a restore (signed-in account).
    Revalidate {
        #[command(flatten)]
        binding: license::BindingArgs,
        /// Why, for the vendor's records.
        #[arg(long, default_value = "database restored or moved")]
        reason: String,
    },
    /// Trust a vendor public key file.
    Trust {
        /// The vendor's public key file.
        file: std::path::PathBuf,
    },
    /// Stop trusting a vendor key.
    Untrust {
        /// Key id, as shown by `tenure keys`.
        key_id: String,
    },
    /// List trusted vendor keys.
    Keys,
    /// Store the account's credentials in the OS keyring (token read from standard input).
    Login {
        /// Account name.
        #[arg(long)]
        account: String,
        /// Keep secrets in a plain, unencrypted file instead of the keyring (explicit opt-in).
        #[arg(long)]
        plain_file_secrets: bool,
    },
    /// Forget the account's credentials.
    Logout,
    /// Named-user seats: list, add, assign, import and export users.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Ask whether a user may work now, as the product does (exit code 0: yes).
    Authorize {
        /// The user's login.
        user: String,
    },
    /// Take a concurrent seat; prints the session id (exit code 7: no seat free).
    Checkout {
        /// The user's login.
        user: String,
        /// The machine (default: this one).
        #[arg(long)]
        machine: Option<String>,
        /// Keep the seat with heartbeats until interrupted, then give it back.
        #[arg(long)]
        hold: bool,
        /// For backup or configuration: when no seat is free, take the one administrative
        /// connection.
        #[arg(long, conflicts_with_all = ["hold", "wait"])]
        admin: bool,
        /// When no seat is free, wait in line for the next one (saying your place) instead of
        /// giving up; Ctrl-C leaves the line.
        #[arg(long)]
        wait: bool,
    },
    /// Renew a session's lease.
    Heartbeat {
        /// The session id.
        id: String,
        /// The product is idle (under the license's idle release, a seat idle long enough is
        /// freed for the next user); without it, in use.
        #[arg(long)]
        idle: bool,
    },
    /// Give a concurrent seat back.
    Checkin {
        /// The session id.
        id: String,
    },
    /// Who holds a concurrent seat; `sessions end ID` frees one.
    Sessions {
        #[command(subcommand)]
        command: Option<sessions::SessionsCommand>,
    },
    /// Borrow a concurrent seat onto this machine for DAYS (works offline until then);
    /// `borrow return` gives it back early, `borrow status` shows it.
    Borrow {
        /// Days to borrow for (at most the license's maximum).
        days: Option<u32>,
        #[command(subcommand)]
        command: Option<sessions::BorrowCommand>,
        /// Whose seat (default: the OS user).
        #[arg(long)]
        user: Option<String>,
        /// The machine (default: this one).
        #[arg(long)]
        machine: Option<String>,
    },
    /// Offline sites: request files for the vendor, and their signed answers.
    Offline {
        #[command(subcommand)]
        command: offline::OfflineCommand,
    },
    /// The database server and database name the license is bound to here; with
    /// --server-name and --database, set them by hand (they hold until --clear).
    Binding(binding::BindingCommand),
    /// The product database: `db backup FILE` copies it (SQLite).
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// Groups (roles, sites, tenants) and how the license's quantities are split among them;
    /// `groups add`, `join`, `leave`, `remove` change them.
    Groups {
        #[command(subcommand)]
        command: Option<allocations::GroupsCommand>,
        /// Act as this tenant's admin: see and change only its own groups.
        #[arg(long, global = true)]
        tenant: Option<String>,
    },
    /// Give GROUP a share of QUANTITY: a count, `remaining`, or `none` to end its share.
    Allocate {
        /// The quantity (see `tenure groups`), e.g. connections or devices.
        quantity: String,
        /// The group or tenant.
        group: String,
        /// A count, `remaining` (whatever the other shares leave) or `none`.
        share: String,
        /// Act as this tenant's admin: only its own groups.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Devices (endpoint licenses): list, register as the product does, assign, remove.
    Devices {
        #[command(subcommand)]
        command: Option<allocations::DevicesCommand>,
        /// Act as this tenant's admin: see and change only its own devices.
        #[arg(long, global = true)]
        tenant: Option<String>,
    },
    /// Concurrent seat usage: peak and refusals per day, or seat time per user.
    Usage {
        /// How many days back.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// CSV for spreadsheets.
        #[arg(long)]
        csv: bool,
        /// Per user instead of per day.
        #[arg(long)]
        by_user: bool,
    },
}

impl Command {
    fn uses_product_db(&self) -> bool {
        matches!(
            self,
            Command::Status(_)
                | Command::Activate { .. }
                | Command::Stack { .. }
                | Command::Validate
                | Command::Extend { .. }
                | Command::Revalidate { .. }
                | Command::Users { .. }
                | Command::Authorize { .. }
                | Command::Checkout { .. }
                | Command::Heartbeat { .. }
                | Command::Checkin { .. }
                | Command::Sessions { .. }
                | Command::Borrow { .. }
                | Command::Usage { .. }
                | Command::Offline { .. }
                | Command::Binding(_)
                | Command::Db { .. }
                | Command::Groups { .. }
                | Command::Allocate { .. }
                | Command::Devices { .. }
        )
    }

    /// Commands that cannot run without the product database: those that need the binding
    /// (unless it is given by flags) and those about its users.
    fn needs_binding(&self) -> bool {
        match self {
            Command::Activate { binding, .. } | Command::Revalidate { binding, .. } => {
                !binding.is_given()
            }
            Command::Users { .. }
            | Command::Authorize { .. }
            | Command::Checkin { .. }
            | Command::Sessions { .. }
            | Command::Usage { .. }
            | Command::Db { .. }
            | Command::Stack { .. }
            | Command::Groups { .. }
            | Command::Allocate { .. }
            | Command::Devices { .. } => true,
            // Not `checkout`, `heartbeat` or `borrow`: a borrowed seat answers with no database
            // in reach.
            _ => false,
        }
    }
}

/// Connects the product database; the binding comes from it. A database that cannot be used
/// is fatal only where the binding is needed; elsewhere the cached license is still reported,
/// and what is wrong is returned (`status` reports it with an exit code of its own).
fn connect_product_db(
    runtime: &tokio::runtime::Runtime,
    workstation: &mut Workstation,
    required: bool,
) -> Result<Option<String>> {
    let spec = workstation.database().spec()?;
    match runtime.block_on(workstation.connect(chrono::Utc::now())) {
        Ok(()) => Ok(None),
        Err(e) if required => {
            Err(e).with_context(|| format!("cannot use the product database ({spec})"))
        }
        Err(e) => {
            let problem = match &e {
                tenure_client::EngineError::Db(_) => format!("{e} ({spec})"),
                // Not the database's fault (a locked keyring, an unreadable cache): say that.
                _ => e.to_string(),
            };
            eprintln!("warning: {problem}");
            Ok(Some(problem))
        }
    }
}

/// `tenure status`'s exit code when the product database cannot be used.
pub const EXIT_DATABASE: u8 = tenure_client::embedded::EXIT_DATABASE;

/// Which front-end the command line asks for.
pub enum FrontEnd {
    /// No subcommand: the window.
    Window {
        /// `--demo`: on a demo license server started in-process.
        demo: bool,
        /// `--server` / `TENURE_SERVER`.
        server: Option<String>,
        /// `--db` / `TENURE_DB`: the product database for this run.
        db: Option<DbSpec>,
    },
    /// A subcommand: the CLI ([`run`]).
    Command(Box<Cli>),
}

impl Cli {
    /// The front-end asked for, with the flags both honour read and checked.
    pub fn front_end(self) -> Result<FrontEnd> {
        if self.command.is_some() {
            return Ok(FrontEnd::Command(Box::new(self)));
        }
        Ok(FrontEnd::Window {
            demo: self.demo,
            db: run_database(self.db.as_deref())?,
            server: self.server,
        })
    }
}

/// `--db` / `TENURE_DB`, read.
fn run_database(text: Option<&str>) -> Result<Option<DbSpec>> {
    text.map(DbSpec::parse)
        .transpose()
        .context("--db or TENURE_DB is not a product database")
}

/// Runs a subcommand (the window is [`FrontEnd::Window`]).
pub fn run(cli: Cli) -> Result<ExitCode> {
    let db_flag = run_database(cli.db.as_deref())?;
    let Some(command) = cli.command else {
        anyhow::bail!("no command given: see tenure --help");
    };
    let profile = Profile::from_env();
    let roots = crate::vendor_roots()?;
    if let Some(banner) = roots.banner() {
        eprintln!("note: {banner} (no vendor roots are built into this program)");
    }
    let mut workstation = Workstation::open(
        profile.clone(),
        SecretStore::keyring(profile.keyring_namespace()),
        roots,
    )
    .context("cannot open this workstation's settings")?
    .with_run_database(db_flag);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let json = cli.json;
    let db_problem = if command.uses_product_db() {
        connect_product_db(&runtime, &mut workstation, command.needs_binding())?
    } else {
        None
    };
    let outcome = match command {
        Command::Status(binding) => {
            license::status(&mut workstation, &binding, json, db_problem.is_some())
        }
        command => run_command(
            &runtime,
            &mut workstation,
            command,
            cli.server.as_deref(),
            json,
        ),
    };
    // Close the product database whatever happened: SQLite folds its log into the file, so
    // a copy of the file alone holds everything.
    runtime.block_on(workstation.close());
    outcome
}

fn run_command(
    runtime: &tokio::runtime::Runtime,
    workstation: &mut Workstation,
    command: Command,
    server: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    match command {
        Command::Status(binding) => license::status(workstation, &binding, json, false),
        Command::Activate { key, binding } => {
            runtime.block_on(license::activate(workstation, server, &key, &binding, json))
        }
        Command::Validate => runtime.block_on(license::validate(workstation, server, json)),
        Command::Stack { key } => runtime.block_on(license::stack(workstation, server, &key)),
        Command::Extend { days } => {
            runtime.block_on(license::extend(workstation, server, days, json))
        }
        Command::Revalidate { binding, reason } => runtime.block_on(license::revalidate(
            workstation,
            server,
            &binding,
            &reason,
            json,
        )),
        Command::Trust { file } => account::trust(workstation, &file),
        Command::Untrust { key_id } => account::untrust(workstation, &key_id),
        Command::Keys => account::keys(workstation, json),
        Command::Login {
            account,
            plain_file_secrets,
        } => account::login(runtime, workstation, server, &account, plain_file_secrets),
        Command::Logout => account::logout(workstation),
        Command::Users { command } => runtime.block_on(users::run(workstation, command, json)),
        Command::Authorize { user } => runtime.block_on(users::authorize(workstation, &user, json)),
        Command::Checkout {
            user,
            machine,
            hold,
            admin,
            wait,
        } => runtime.block_on(sessions::checkout(
            workstation,
            &user,
            &sessions::machine_or_host(machine),
            sessions::Taking { hold, admin, wait },
            json,
        )),
        Command::Binding(command) => binding::run(workstation, &command, json),
        Command::Db { command } => runtime.block_on(db::run(workstation, command)),
        Command::Heartbeat { id, idle } => {
            runtime.block_on(sessions::heartbeat(workstation, &id, idle))
        }
        Command::Checkin { id } => runtime.block_on(sessions::checkin(workstation, &id)),
        Command::Sessions { command } => {
            runtime.block_on(sessions::sessions(workstation, command, json))
        }
        Command::Borrow {
            days,
            command,
            user,
            machine,
        } => runtime.block_on(sessions::borrow(
            workstation,
            days,
            command,
            &user.unwrap_or_else(|| workstation.named_seats().actor().login),
            &sessions::machine_or_host(machine),
            json,
        )),
        Command::Offline { command } => runtime.block_on(offline::run(workstation, command, json)),
        Command::Groups { command, tenant } => runtime.block_on(allocations::groups(
            workstation,
            command,
            tenant.as_deref(),
            json,
        )),
        Command::Allocate {
            quantity,
            group,
            share,
            tenant,
        } => runtime.block_on(allocations::allocate(
            workstation,
            quantity,
            group,
            &share,
            tenant.as_deref(),
        )),
        Command::Devices { command, tenant } => runtime.block_on(allocations::devices(
            workstation,
            command,
            tenant.as_deref(),
            json,
        )),
        Command::Usage { days, csv, by_user } => {
            runtime.block_on(sessions::usage(workstation, days, csv, by_user))
        }
    }
}

/// The exit code for a status.
pub fn exit_code(status: &Status) -> ExitCode {
    ExitCode::from(status.exit_code())
}
