//! What a finished command did, as a typed [`Outcome`], and its sentence (`Display`), written
//! once for the CLI and the window. Failures are worded in [`crate::advice`].

use std::fmt;
use std::path::PathBuf;

use tenure_client::{Report, Trusted};
use tenure_core::Binding;

/// What a command did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Nothing to say (a refresh, a quiet start-up).
    Quiet,
    /// A key was activated here.
    Activated(Box<Report>),
    /// The license was validated online: grace restarted.
    Validated(Box<Report>),
    /// The grace was extended.
    Extended(Box<Report>),
    /// The license moved to the database now connected.
    Moved(Box<Report>),
    /// A vendor's signed answer file was imported.
    AnswerImported(Box<Report>),
    /// The server accepted the account and its token, now kept in the secret store.
    SignedIn {
        /// The account.
        account: String,
        /// How many licenses it owns.
        licenses: usize,
    },
    /// The account's credentials were removed.
    SignedOut,
    /// The server URL was saved.
    ServerSet(String),
    /// Secrets are kept in this plain file from now on.
    SecretsInFile(std::path::PathBuf),
    /// A root, certificate or revocation list was added.
    Trusted(Trusted),
    /// A root is no longer trusted.
    Untrusted(String),
    /// The server answered a health check.
    ServerAnswers {
        /// Its version.
        version: String,
    },
    /// The signed-in account's licenses were listed.
    AccountLicenses(usize),
    /// The product database was connected.
    DatabaseConnected {
        /// The connection, in words (no password).
        database: String,
        /// The binding derived from it.
        binding: Option<Binding>,
    },
    /// A file was written.
    Written {
        /// What it holds.
        what: Written,
        /// Where.
        path: PathBuf,
    },
    /// A concurrent session was ended by an admin.
    SessionEnded,
    /// The seat borrowed onto this machine went back to the pool (`false`: none was borrowed).
    BorrowReturned(bool),
    /// Said by the engine itself (a seat answer).
    Said(String),
}

/// Kinds of files written for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// An offline request for the vendor.
    Request,
    /// A release for the vendor's portal (the license stopped here).
    Release,
    /// A copy of the license.
    License,
    /// The usage report.
    Usage,
    /// The users, as CSV (this many).
    Users(usize),
}

impl Outcome {
    /// The report behind it, if it carries one.
    pub fn report(&self) -> Option<&Report> {
        match self {
            Outcome::Activated(r)
            | Outcome::Validated(r)
            | Outcome::Extended(r)
            | Outcome::Moved(r)
            | Outcome::AnswerImported(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Quiet => Ok(()),
            Outcome::Activated(report) => {
                write!(f, "License activated. Status: {}.", report.status.label())
            }
            Outcome::Validated(report) => match report.status.grace() {
                Some(g) => write!(
                    f,
                    "Validated: {} days of offline grace from now.",
                    g.days_left
                ),
                None => write!(f, "Validated. Status: {}.", report.status.label()),
            },
            Outcome::Extended(report) => match report.status.grace() {
                Some(g) => write!(
                    f,
                    "Extension granted: you can work offline until {}.",
                    g.offline_until
                        .with_timezone(&chrono::Local)
                        .format("%a %d %b %Y")
                ),
                None => write!(f, "Extension granted. Status: {}.", report.status.label()),
            },
            Outcome::Moved(_) => f.write_str("The license now belongs to this database."),
            Outcome::AnswerImported(report) => match report.status.grace() {
                Some(g) => write!(
                    f,
                    "Answer imported: licensed, {} days of offline grace from now.",
                    g.days_left
                ),
                None => write!(f, "Answer imported. Status: {}.", report.status.label()),
            },
            Outcome::SignedIn { account, licenses } => write!(
                f,
                "Signed in as {account}: {licenses} license{} on this account.",
                if *licenses == 1 { "" } else { "s" }
            ),
            Outcome::SignedOut => f.write_str("Signed out; the credentials were removed."),
            Outcome::ServerSet(url) => write!(f, "Server set to {url}."),
            Outcome::SecretsInFile(path) => write!(
                f,
                "Secrets are kept in {} from now on, NOT encrypted. Sign in to your account again if you use one.",
                path.display()
            ),
            Outcome::Trusted(added) => {
                let text = added.to_string();
                let mut chars = text.chars();
                match chars.next() {
                    Some(first) => write!(f, "{}{}.", first.to_uppercase(), chars.as_str()),
                    None => Ok(()),
                }
            }
            Outcome::Untrusted(id) => write!(f, "No longer trusting vendor root {id}."),
            Outcome::ServerAnswers { version } => {
                write!(f, "The license server answers (version {version}).")
            }
            Outcome::AccountLicenses(n) => write!(f, "{n} licenses on this account."),
            Outcome::DatabaseConnected { database, binding } => match binding {
                Some(b) => write!(f, "Connected to {database}: this workstation is on {b}."),
                None => write!(f, "Connected to {database}."),
            },
            Outcome::Written { what, path } => match what {
                Written::Request => write!(
                    f,
                    "Request saved to {}: send it to your vendor, then import the answer here.",
                    path.display()
                ),
                Written::Release => write!(
                    f,
                    "The license is released here and works no more on this database. Release saved to {}: upload it to your vendor's portal, then activate the key where you want it.",
                    path.display()
                ),
                Written::License => write!(f, "License file saved to {}.", path.display()),
                Written::Usage => write!(f, "Usage written to {}.", path.display()),
                Written::Users(n) => write!(f, "Exported {n} users to {}.", path.display()),
            },
            Outcome::SessionEnded => f.write_str(
                "Session ended: the seat is free, and its client is told at its next heartbeat.",
            ),
            Outcome::BorrowReturned(true) => f.write_str("The borrowed seat is back in the pool."),
            Outcome::BorrowReturned(false) => {
                f.write_str("No seat was borrowed onto this machine.")
            }
            Outcome::Said(text) => f.write_str(text),
        }?;
        // A smaller license just took seats back: say who, after what happened.
        if let Some(note) = self.report().and_then(Report::seats_trimmed_note) {
            write!(f, " {note}")?;
        }
        Ok(())
    }
}

/// `1 day`, `3 days`.
pub fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Time left in words: `2 days 4 hours`, `3 hours 5 minutes`, `35 minutes`.
pub fn countdown(left: chrono::Duration) -> String {
    let minutes = left.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => plural(mins, "minute"),
        (0, h) => format!("{} {}", plural(h, "hour"), plural(mins, "minute")),
        (d, h) => format!("{} {}", plural(d, "day"), plural(h, "hour")),
    }
}

/// What revoking a borrowed seat did, in the admin's words (the CLI and the window).
pub fn borrow_revoked(until: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "Borrow revoked. The laptop stops as soon as it is back in reach of the pool, and the seat comes free then. If it is lost, validate online: once the vendor confirms the revocation the seat comes free at once; otherwise it comes back when the borrow ends, {}.",
        until.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_with_a_full_stop() {
        for outcome in [
            Outcome::SignedIn {
                account: "acme".into(),
                licenses: 1,
            },
            Outcome::SignedOut,
            Outcome::Untrusted("ab12".into()),
            Outcome::BorrowReturned(false),
            Outcome::Written {
                what: Written::Users(3),
                path: "/tmp/u.csv".into(),
            },
        ] {
            let text = outcome.to_string();
            assert!(text.ends_with('.'), "{text}");
        }
        assert_eq!(
            Outcome::SignedIn {
                account: "acme".into(),
                licenses: 1
            }
            .to_string(),
            "Signed in as acme: 1 license on this account."
        );
        assert_eq!(Outcome::Quiet.to_string(), "");
    }
}
