//! `users …` (named seats) and `authorize USER`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use tenure_client::Reason;
use tenure_client::product_db::Saved;
use tenure_client::{Authorization, Workstation, users_csv};
use tenure_core::directory::{Change, Directory, Effect, SeatLimit, SeatPolicy};

/// Exit code when a user is not authorised or a seat asked for could not be given.
pub const EXIT_NOT_AUTHORISED: u8 = 7;

#[derive(Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List users and their named seats.
    List {
        /// Only users holding a seat.
        #[arg(long)]
        licensed: bool,
    },
    /// Add a user.
    Add {
        /// Login the product knows the user by.
        login: String,
        /// Display name (default: the login).
        #[arg(long, default_value = "")]
        name: String,
        /// E-mail address.
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Change a user's name and e-mail address.
    Edit {
        /// Login.
        login: String,
        /// New display name.
        #[arg(long)]
        name: String,
        /// New e-mail address.
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Give named seats (the earliest assigned keep theirs if there are too many).
    Assign {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Take named seats back.
    Unassign {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Disable users: they are never authorised.
    Disable {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Enable users again.
    Enable {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Remove users and free their seats.
    Remove {
        /// Logins.
        #[arg(required = true)]
        logins: Vec<String>,
    },
    /// Import users from CSV with a header row login,name,email (optional columns: licensed,
    /// disabled). A file with any bad row changes nothing.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Export users as CSV to FILE, or to standard output with `-`.
    Export {
        /// Where to write.
        file: std::path::PathBuf,
    },
    /// Show or change the seat policy of this database.
    Policy {
        /// Give a free seat to a user the first time the product authorises them.
        #[arg(long)]
        auto_assign: Option<OnOff>,
        /// Free the seat of a user who is disabled.
        #[arg(long)]
        free_on_disable: Option<OnOff>,
    },
}

fn each(logins: &[String], make: impl Fn(String) -> Change) -> Vec<Change> {
    logins.iter().cloned().map(make).collect()
}

fn seats_line(directory: &Directory, limit: &SeatLimit) -> String {
    match limit {
        SeatLimit::Named(seats) => format!(
            "{} of {seats} named seats used",
            directory
                .seats_in_use()
                .min(usize::try_from(*seats).unwrap_or(usize::MAX))
        ),
        SeatLimit::Unavailable(why) => format!(
            "{} named seats held; no more can be given: {why}",
            directory.seats_in_use()
        ),
    }
}

/// Runs a `users` command against the connected product database.
pub async fn run(ws: &Workstation, command: UsersCommand, json: bool) -> Result<ExitCode> {
    let changes = match command {
        UsersCommand::List { licensed } => return list(ws, licensed, json).await,
        UsersCommand::Export { file } => return export(ws, &file).await,
        UsersCommand::Import { file } => import_changes(ws, &file).await?,
        UsersCommand::Policy {
            auto_assign,
            free_on_disable,
        } => {
            let current = ws.named_seats().users().await?.policy;
            let pick =
                |flag: Option<OnOff>, now: bool| flag.map_or(now, |f| matches!(f, OnOff::On));
            let next = SeatPolicy {
                auto_assign: pick(auto_assign, current.auto_assign),
                free_on_disable: pick(free_on_disable, current.free_on_disable),
            };
            if next == current {
                outln!(
                    "{}",
                    Effect::PolicyChanged(current).to_string().replacen(
                        "seat policy",
                        "Seat policy",
                        1
                    )
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            vec![Change::SetPolicy(next)]
        }
        UsersCommand::Add { login, name, email } => vec![Change::Add { login, name, email }],
        UsersCommand::Edit { login, name, email } => vec![Change::Edit { login, name, email }],
        UsersCommand::Assign { logins } => each(&logins, |login| Change::Assign { login }),
        UsersCommand::Unassign { logins } => each(&logins, |login| Change::Unassign { login }),
        UsersCommand::Disable { logins } => each(&logins, |login| Change::SetDisabled {
            login,
            disabled: true,
        }),
        UsersCommand::Enable { logins } => each(&logins, |login| Change::SetDisabled {
            login,
            disabled: false,
        }),
        UsersCommand::Remove { logins } => each(&logins, |login| Change::Remove { login }),
    };
    let saved = ws.named_seats().change_users(&changes, Utc::now()).await?;
    let given: Vec<&str> = tenure_core::directory::assigned(&saved.effects).collect();
    let beyond = if given.is_empty() {
        Vec::new()
    } else {
        ws.named_seats().beyond_group_share(&given).await?
    };
    report_saved(ws, &saved, &beyond, json)
}

async fn import_changes(ws: &Workstation, file: &Path) -> Result<Vec<Change>> {
    let bytes = tokio::fs::read(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let rows =
        users_csv::parse(&bytes).with_context(|| format!("{} was not imported", file.display()))?;
    let directory = ws.named_seats().users().await?;
    Ok(users_csv::import_changes(&directory, &rows))
}

/// What a save did; the exit code says whether every seat it gave or kept will be honoured.
/// `beyond`: seats given that their group's share cannot honour.
fn report_saved(
    ws: &Workstation,
    saved: &Saved,
    beyond: &[(String, Reason)],
    json: bool,
) -> Result<ExitCode> {
    let limit = ws.named_seats().seat_limit();
    let trimmed: Vec<&str> = tenure_core::directory::trimmed(&saved.effects).collect();
    if json {
        let value = serde_json::json!({
            "version": saved.directory.version.number,
            "effects": saved.effects.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "trimmed": trimmed,
            "beyond_group_share": beyond.iter().map(|(login, _)| login).collect::<Vec<_>>(),
            "seats_in_use": saved.directory.seats_in_use(),
        });
        outln!("{value}")?;
    } else {
        if saved.effects.is_empty() {
            outln!("Nothing to change.")?;
        }
        for effect in &saved.effects {
            match effect {
                Effect::Trimmed { .. } => eprintln!("warning: {effect}."),
                _ => outln!("{}.", capitalised(&effect.to_string()))?,
            }
        }
        for warning in beyond.iter().filter_map(|(l, r)| r.beyond_share_warning(l)) {
            eprintln!("warning: {warning}");
        }
        outln!("{}.", capitalised(&seats_line(&saved.directory, &limit)))?;
    }
    Ok(if trimmed.is_empty() && beyond.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_AUTHORISED)
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

async fn list(ws: &Workstation, licensed_only: bool, json: bool) -> Result<ExitCode> {
    let directory = ws.named_seats().users().await?;
    let limit = ws.named_seats().seat_limit();
    let over = directory.over_limit(&limit);
    let users = directory
        .users
        .values()
        .filter(|u| !licensed_only || (u.seat.is_some() && !over.contains(&u.login)));
    if json {
        let list: Vec<_> = users
            .map(|u| {
                serde_json::json!({
                    "login": u.login, "name": u.name, "email": u.email, "disabled": u.disabled,
                    "licensed": u.seat.is_some() && !over.contains(&u.login),
                    "assigned_at": u.seat.as_ref().map(|s| s.assigned_at),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "version": directory.version.number,
                "seats": match &limit { SeatLimit::Named(n) => Some(n), SeatLimit::Unavailable(_) => None },
                "seats_in_use": directory.seats_in_use() - over.len(),
                "users": list,
            })
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!("{}\n", capitalised(&seats_line(&directory, &limit)));
    let _ = writeln!(
        out,
        "{:<20} {:<28} {:<30} {:<8} {:<17} ",
        "LOGIN", "NAME", "EMAIL", "SEAT", "ASSIGNED"
    );
    for user in users {
        let seat = match &user.seat {
            Some(_) if over.contains(&user.login) => "over",
            Some(_) => "yes",
            None => "-",
        };
        let assigned = user
            .seat
            .as_ref()
            .map(|s| {
                s.assigned_at
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<20} {:<28} {:<30} {:<8} {:<17}{}",
            user.login,
            user.name,
            user.email,
            seat,
            assigned,
            if user.disabled { " disabled" } else { "" }
        );
    }
    if !over.is_empty() {
        let _ = writeln!(
            out,
            "{} seats are beyond the license and not honoured: {}",
            over.len(),
            over.join(", ")
        );
    }
    out!("{out}")?;
    Ok(ExitCode::SUCCESS)
}

async fn export(ws: &Workstation, file: &Path) -> Result<ExitCode> {
    let text = users_csv::export(&ws.named_seats().users().await?);
    if file.as_os_str() == "-" {
        out!("{text}")?;
    } else {
        tenure_client::write_atomic(file, text.as_bytes(), false)
            .with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("Exported to {}.", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `authorize USER`: the product's question, answered as the product would show it.
pub async fn authorize(ws: &Workstation, login: &str, json: bool) -> Result<ExitCode> {
    let answer = ws.named_seats().authorize(login, Utc::now()).await?;
    if json {
        outln!("{}", serde_json::to_value(&answer)?)?;
    } else {
        outln!("{answer}")?;
    }
    Ok(match &answer {
        Authorization::Granted(_) => ExitCode::SUCCESS,
        Authorization::Refused(r) => ExitCode::from(match r.reason {
            Reason::GraceExpired { .. } => 2,
            Reason::BindingMismatch { .. } => 3,
            Reason::NoLicense => 4,
            Reason::LicenseExpired { .. } | Reason::NotYetValid { .. } => 5,
            Reason::ClockSetBack { .. } => 6,
            _ => EXIT_NOT_AUTHORISED,
        }),
    })
}
