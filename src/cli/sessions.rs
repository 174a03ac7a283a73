//! Concurrent seats: `checkout`, `heartbeat`, `checkin`, `sessions`, `borrow`, `usage`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use clap::Subcommand;
use tenure_client::product_db::{Activity, FloatingPolicy};
use tenure_client::{Ending, SeatAnswer, SeatKeeper, Workstation, reports};
use tenure_core::usage::Usage;

use super::users::EXIT_NOT_AUTHORISED;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// End a session: the seat is free at once; the client is told at its next heartbeat.
    End {
        /// The session id.
        id: String,
    },
    /// Take a waiter out of the line for a seat.
    RemoveWaiter {
        /// The waiter's id (as `tenure sessions` lists it).
        id: String,
    },
    /// Move a waiter to a place in its line (1 = the head).
    MoveWaiter {
        /// The waiter's id (as `tenure sessions` lists it).
        id: String,
        /// Its new place.
        place: u32,
    },
    /// Show the floating policy in force (linger, idle timeout), or set this database's own:
    /// only ever longer than the license's; 0 goes back to the license's.
    Policy {
        /// Minutes a seat checked in stays its user's.
        #[arg(long)]
        linger_mins: Option<u32>,
        /// Minutes a seat its product reports idle stays held before it is freed.
        #[arg(long)]
        idle_timeout_mins: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum BorrowCommand {
    /// Give the borrowed seat back to the pool now.
    Return,
    /// Show the seat borrowed onto this machine.
    Status,
}

fn answer_json(answer: &SeatAnswer) -> serde_json::Value {
    match answer {
        SeatAnswer::Granted(s) => serde_json::json!({
            "answer": "granted", "session": s.id, "login": s.login, "machine": s.machine,
            "lease_until": s.lease_until, "borrowed_until": s.borrowed_until,
        }),
        SeatAnswer::Refused(r) => serde_json::json!({
            "answer": "refused", "code": r.code(), "message": r.to_string(),
        }),
    }
}

fn print_answer(answer: &SeatAnswer, json: bool) -> Result<ExitCode> {
    if json {
        outln!("{}", answer_json(answer))?;
    } else {
        match answer {
            // The id alone on standard output, for scripts; the sentence on standard error.
            SeatAnswer::Granted(s) => {
                outln!("{}", s.id)?;
                eprintln!("{answer}");
            }
            SeatAnswer::Refused(_) => eprintln!("{answer}"),
        }
    }
    Ok(match answer {
        SeatAnswer::Granted(_) => ExitCode::SUCCESS,
        SeatAnswer::Refused(_) => ExitCode::from(EXIT_NOT_AUTHORISED),
    })
}

/// The machine name to use: the one given, else this host's.
pub fn machine_or_host(machine: Option<String>) -> String {
    machine.unwrap_or_else(tenure_client::local_host_name)
}

/// How `checkout` takes its seat.
#[derive(Debug, Clone, Copy)]
pub struct Taking {
    /// Keep it with heartbeats until interrupted.
    pub hold: bool,
    /// The administrative connection when no seat is free.
    pub admin: bool,
    /// Wait in line when no seat is free.
    pub wait: bool,
}

/// `checkout USER`: takes a seat; with `hold`, keeps it with heartbeats until interrupted, then
/// gives it back.
pub async fn checkout(
    ws: &Workstation,
    user: &str,
    machine: &str,
    how: Taking,
    json: bool,
) -> Result<ExitCode> {
    let Taking { hold, admin, wait } = how;
    if admin {
        // The administrative connection is for a backup or a configuration change: one
        // command, not a held seat.
        let answer = ws
            .concurrent_seats()
            .admin_checkout(user, machine, ws.database().clock(Utc::now()).await)
            .await?;
        return print_answer(&answer, json);
    }
    if !hold && !wait {
        let answer = ws
            .concurrent_seats()
            .checkout(user, machine, ws.database().clock(Utc::now()).await)
            .await?;
        return print_answer(&answer, json);
    }
    let shared = std::sync::Arc::new(ws.clone());
    let taken = if wait {
        match wait_in_line(shared, user, machine).await? {
            Some(taken) => taken,
            None => return Ok(ExitCode::from(EXIT_NOT_AUTHORISED)),
        }
    } else {
        SeatKeeper::take(shared, user, machine).await?
    };
    let keeper = match taken {
        Ok(keeper) => keeper,
        Err(refused) => return print_answer(&refused, json),
    };
    if !hold {
        // Granted after waiting: the seat is the user's until its lease ends, as for a plain
        // checkout; the heartbeats stop with this command.
        return print_answer(&SeatAnswer::Granted(keeper.session().clone()), json);
    }
    // Listening before the session is printed: a Ctrl-C that follows the printed id at once
    // gives the seat back too, instead of being missed.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let heard_early = tokio::select! {
        biased;
        _ = &mut interrupted => true,
        () = std::future::ready(()) => false,
    };
    let code = print_answer(&SeatAnswer::Granted(keeper.session().clone()), json)?;
    if heard_early {
        keeper.release().await?;
        eprintln!("Seat given back.");
        return Ok(code);
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if let Some(lost) = keeper.state().lost {
                    eprintln!("{lost}");
                    return Ok(ExitCode::from(EXIT_NOT_AUTHORISED));
                }
            }
            _ = &mut interrupted => {
                keeper.release().await?;
                eprintln!("Seat given back.");
                return Ok(code);
            }
        }
    }
}

/// Waits in line for a seat, saying each new place on standard error; Ctrl-C leaves the line
/// (`None`).
async fn wait_in_line(
    ws: std::sync::Arc<Workstation>,
    user: &str,
    machine: &str,
) -> Result<Option<std::result::Result<SeatKeeper, SeatAnswer>>> {
    let mut said = None;
    let waiting = SeatKeeper::wait(ws.clone(), user, machine, None, |refusal| {
        let text = refusal.to_string();
        if said.as_ref() != Some(&text) {
            eprintln!("{text}");
            said = Some(text);
        }
    });
    tokio::select! {
        taken = waiting => Ok(Some(taken?)),
        _ = tokio::signal::ctrl_c() => {
            ws.concurrent_seats().leave_line(user, machine).await?;
            eprintln!("You left the line; no seat was taken.");
            Ok(None)
        }
    }
}

/// `heartbeat ID [--idle]`.
pub async fn heartbeat(ws: &Workstation, id: &str, idle: bool) -> Result<ExitCode> {
    let activity = if idle {
        Activity::Idle
    } else {
        Activity::Active
    };
    let session = ws
        .concurrent_seats()
        .heartbeat(id, activity, ws.database().clock(Utc::now()).await)
        .await?;
    outln!(
        "Lease renewed to {}.",
        session
            .lease_until
            .with_timezone(&chrono::Local)
            .format("%H:%M:%S")
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `checkin ID`.
pub async fn checkin(ws: &Workstation, id: &str) -> Result<ExitCode> {
    if ws
        .concurrent_seats()
        .checkin(id, ws.database().clock(Utc::now()).await)
        .await?
    {
        outln!("Seat given back.")?;
    } else {
        outln!("Session {id} held no seat (already ended).")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `sessions` and `sessions end ID`.
pub async fn sessions(
    ws: &Workstation,
    command: Option<SessionsCommand>,
    json: bool,
) -> Result<ExitCode> {
    let now = ws.database().clock(Utc::now()).await;
    if let Some(command) = command {
        return change(ws, command, now).await;
    }
    let list = ws.concurrent_seats().sessions(now).await?;
    let queue = ws.concurrent_seats().queue(now).await?;
    let seats = ws.license()?.map(|l| l.terms.seats);
    if json {
        let rows: Vec<_> = list
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "login": s.login, "machine": s.machine, "started_at": s.started_at,
                    "heartbeat_at": s.heartbeat_at, "lease_until": s.lease_until,
                    "borrowed_until": s.borrowed_until, "overdraft": s.overdraft,
                    "lingering_since": s.lingering_since, "idle_since": s.idle_since,
                    "revoked_by": s.revoked.as_ref().map(|(by, _)| by),
                })
            })
            .collect();
        let waiting: Vec<_> = queue
            .iter()
            .map(|w| {
                serde_json::json!({
                    "id": w.id, "login": w.login, "machine": w.machine, "line": w.line,
                    "place": w.position, "priority": w.priority, "joined_at": w.joined_at,
                    "seen_at": w.seen_at,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "in_use": list.len(), "seats": seats, "sessions": rows, "queue": waiting
            })
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "{} of {} seats in use\n",
        list.len(),
        seats.map_or_else(|| "?".to_owned(), |s| s.to_string())
    );
    let time = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono::Local)
            .format("%m-%d %H:%M")
            .to_string()
    };
    let _ = writeln!(
        out,
        "{:<24} {:<16} {:<16} {:<11} {:<11} NOTE",
        "SESSION", "USER", "MACHINE", "SINCE", "HEARTBEAT"
    );
    for s in &list {
        let mut note = match (s.borrowed_until, s.lingering_since) {
            (Some(until), _) => format!("borrowed until {}", time(until)),
            (None, Some(_)) => format!("checked in, lingers until {}", time(s.lease_until)),
            (None, None) => String::new(),
        };
        let idle = s
            .idle_since
            .map(|since| format!("idle since {}", time(since)));
        let revoked = s.revoked.as_ref().map(|(by, _)| format!("revoked by {by}"));
        let marks = [s.overdraft.then(|| "overdraft".to_owned()), idle, revoked];
        for mark in marks.into_iter().flatten() {
            if !note.is_empty() {
                note.push_str(", ");
            }
            note.push_str(&mark);
        }
        let _ = writeln!(
            out,
            "{:<24} {:<16} {:<16} {:<11} {:<11} {note}",
            s.id,
            s.login,
            s.machine,
            time(s.started_at),
            time(s.heartbeat_at)
        );
    }
    write_queue(&mut out, &queue, time);
    out!("{out}")?;
    Ok(ExitCode::SUCCESS)
}

/// `sessions end|remove-waiter|move-waiter`: an admin's change.
async fn change(
    ws: &Workstation,
    command: SessionsCommand,
    now: chrono::DateTime<Utc>,
) -> Result<ExitCode> {
    match command {
        SessionsCommand::End { id } => {
            match ws.concurrent_seats().end_session(&id, now).await? {
                Ending::Ended => outln!("Session {id} ended; its seat is free.")?,
                Ending::BorrowRevoked { until } => {
                    outln!("{}", crate::present::borrow_revoked(until))?;
                }
                Ending::NotHeld => {
                    anyhow::bail!("session {id} is not holding a seat (unknown, or already ended)")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionsCommand::RemoveWaiter { id } => {
            if ws.concurrent_seats().remove_waiter(&id, now).await? {
                outln!("Waiter {id} is out of the line.")?;
                return Ok(ExitCode::SUCCESS);
            }
            anyhow::bail!("no one waits as {id}: see the line with `tenure sessions`");
        }
        SessionsCommand::MoveWaiter { id, place } => {
            if ws.concurrent_seats().move_waiter(&id, place, now).await? {
                outln!("Waiter {id} moved to place {place} in its line.")?;
                return Ok(ExitCode::SUCCESS);
            }
            anyhow::bail!("no one waits as {id}: see the line with `tenure sessions`");
        }
        SessionsCommand::Policy {
            linger_mins,
            idle_timeout_mins,
        } => {
            let seats = ws.concurrent_seats();
            let policy = if linger_mins.is_none() && idle_timeout_mins.is_none() {
                seats.floating_policy(now).await?
            } else {
                seats
                    .set_floating_policy(linger_mins, idle_timeout_mins, now)
                    .await?
            };
            outln!("{}", policy_words(&policy))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The policy in force and where each figure comes from.
fn policy_words(policy: &FloatingPolicy) -> String {
    let source = |local: u32, signed: u32| {
        if local > signed {
            "set here"
        } else {
            "the license's"
        }
    };
    let linger = format!(
        "Linger: {} min ({}; the license's minimum is {}).",
        policy.linger_mins(),
        source(policy.local_linger_mins, policy.signed.linger_mins),
        policy.signed.linger_mins
    );
    let idle = match policy.idle_timeout_mins() {
        Some(mins) => format!(
            "Idle release: a seat idle {mins} min is freed for the next user ({}; the license's minimum is {}).",
            source(
                policy.local_idle_timeout_mins,
                policy.signed.idle_timeout_mins
            ),
            policy.signed.idle_timeout_mins
        ),
        None => "Idle release: none (the license frees no seat for being idle).".to_owned(),
    };
    format!("{linger}\n{idle}")
}

/// The line for a seat, under the sessions table.
fn write_queue(
    out: &mut String,
    queue: &[tenure_client::product_db::Waiter],
    time: impl Fn(chrono::DateTime<Utc>) -> String,
) {
    if !queue.is_empty() {
        let _ = writeln!(out, "\n{} waiting in line", queue.len());
        let _ = writeln!(
            out,
            "{:<24} {:<16} {:<16} {:<6} {:<11} LINE",
            "WAITER", "USER", "MACHINE", "PLACE", "SINCE"
        );
        for w in queue {
            let _ = writeln!(
                out,
                "{:<24} {:<16} {:<16} {:<6} {:<11} {}",
                w.id,
                w.login,
                w.machine,
                w.position,
                time(w.joined_at),
                w.line.as_deref().map_or("whole pool", |g| if g.is_empty() {
                    "no group's share"
                } else {
                    g
                })
            );
        }
    }
}

/// `borrow DAYS`, `borrow return`, `borrow status`.
pub async fn borrow(
    ws: &Workstation,
    days: Option<u32>,
    command: Option<BorrowCommand>,
    user: &str,
    machine: &str,
    json: bool,
) -> Result<ExitCode> {
    let now = ws.database().clock(Utc::now()).await;
    match (command, days) {
        (Some(BorrowCommand::Return), _) => {
            if ws.concurrent_seats().return_borrow(now).await? {
                outln!("The borrowed seat is back in the pool.")?;
            } else {
                outln!("No seat is borrowed onto this machine.")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        (Some(BorrowCommand::Status), _) | (None, None) => {
            match ws.concurrent_seats().borrow_status(now)? {
                Some(b) if b.active => outln!(
                    "{} holds a borrowed seat on {} until {} ({} left).",
                    b.record.login,
                    b.record.machine,
                    b.record
                        .until
                        .with_timezone(&chrono::Local)
                        .format("%a %d %b %H:%M"),
                    crate::present::countdown(b.record.until - now)
                )?,
                Some(b) => outln!(
                    "The borrow ended on {}; the seat is back in the pool.",
                    b.record
                        .until
                        .with_timezone(&chrono::Local)
                        .format("%a %d %b %H:%M")
                )?,
                None => outln!("No seat is borrowed onto this machine.")?,
            }
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(days)) => {
            let answer = ws
                .concurrent_seats()
                .borrow(user, machine, days, now)
                .await?;
            print_answer(&answer, json)
        }
    }
}

/// `usage`: per day, or per user, as a table or CSV.
pub async fn usage(ws: &Workstation, days: u32, csv: bool, by_user: bool) -> Result<ExitCode> {
    let report = ws.concurrent_seats().usage(days, Utc::now()).await?;
    out!(
        "{}",
        match (csv, by_user) {
            (true, false) => reports::days_csv(&report),
            (true, true) => reports::users_csv(&report),
            (false, _) => usage_text(&report, by_user),
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

fn usage_text(report: &Usage, by_user: bool) -> String {
    let mut out = String::new();
    if by_user {
        let _ = writeln!(out, "{:<24} {:>8} {:>10}", "USER", "SESSIONS", "SEAT HOURS");
        for u in &report.users {
            let _ = writeln!(
                out,
                "{:<24} {:>8} {:>10}",
                u.login,
                u.sessions,
                reports::seat_hours(u.seat_seconds)
            );
        }
    } else {
        let _ = writeln!(
            out,
            "{:<12} {:>5} {:>9} {:>10} {:>9}",
            "DAY", "PEAK", "REFUSALS", "SEAT HOURS", "OVERDRAFT"
        );
        for d in &report.days {
            let _ = writeln!(
                out,
                "{:<12} {:>5} {:>9} {:>10} {:>9}",
                d.day.to_string(),
                d.peak,
                d.refusals,
                reports::seat_hours(d.seat_seconds),
                d.overdraft
            );
        }
    }
    out
}
