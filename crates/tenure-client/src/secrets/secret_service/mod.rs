//! The Secret Service (GNOME Keyring, `KeePassXC`) on Linux, over one D-Bus connection that the
//! keyring thread keeps for the life of the process.
//!
//! The `keyring` crate opens a connection and negotiates a session for every call, about
//! 12 ms each here, and opening a workstation reads several entries. Keeping the connection
//! makes a read about 1 ms. Entries are the ones `keyring` 3 writes (attributes `service`,
//! `username`, `target=default`, `application=rust-keyring`), so profiles made by earlier
//! builds read as before.
//!
//! Secrets travel over the session bus in the protocol's "plain" transfer. The bus is a socket
//! of this OS user: only this user's processes and root can connect to it or watch it, and
//! both can ask the keyring for the secret anyway, so the optional Diffie-Hellman transfer
//! would protect against no one and would cost 7–10 ms per process (every Rust client of the
//! protocol does its modular exponentiation by hand, slowly).

mod bus;

use std::collections::HashMap;

use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error};

use super::request::{Attempt, KEYRING_SERVICE, Op, Outcome};

/// The collection `keyring` 3 files its entries under.
pub(super) const TARGET: &str = "default";

/// The connections, opened at first use and again after a failure: Tenure's own (`bus`) for
/// plain reads and writes, one through `secret-service` for the rest (unlocking, prompts,
/// duplicates to name).
#[derive(Default)]
pub(super) struct Backend {
    service: Option<SecretService<'static>>,
    runtime: Option<tokio::runtime::Runtime>,
    bus: bus::Bus,
}

impl Backend {
    /// Reads `users`' entries together where it can: `None` for each one left to [`Self::run`]
    /// (locked, ambiguous, or the exchange failed), which says why in its own words.
    pub(super) fn get_many(&mut self, users: &[&str]) -> Vec<Option<Outcome>> {
        // A new connection's first read needs no runtime: it is not started for it.
        let found = self.bus.first_read(users).or_else(|| {
            self.start_runtime();
            let runtime = self.runtime.as_ref()?;
            self.bus.read(runtime, users).ok()
        });
        match found {
            Some(found) => found
                .into_iter()
                .map(|found| match found {
                    bus::Found::Value(value) => Some(Outcome::Value(value)),
                    bus::Found::Slow => None,
                })
                .collect(),
            None => users.iter().map(|_| None).collect(),
        }
    }

    /// Starts the keyring thread's runtime, which Tenure's own connection runs on (without
    /// one, every call goes through `secret-service`).
    fn start_runtime(&mut self) {
        if self.runtime.is_none() {
            self.runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok();
        }
    }

    /// Runs one operation on the entry named `user`: a write on Tenure's own connection where
    /// it is plain to do, else (and every read left over) through `secret-service`.
    pub(super) fn run(&mut self, user: &str, op: &Op) -> Result<Outcome, Attempt> {
        self.start_runtime();
        if !matches!(op, Op::Get)
            && let Some(runtime) = &self.runtime
            && let Some(done) = self.bus.write(runtime, user, op)?
        {
            return Ok(done);
        }
        let service = match self.service.take() {
            Some(service) => service,
            None => SecretService::connect(EncryptionType::Plain).map_err(attempt)?,
        };
        let result = run_on(&service, user, op);
        // A connection that failed under a call is dropped; the next call opens a new one.
        if !matches!(result, Err(Attempt::Retry(_) | Attempt::Unavailable(_))) {
            self.service = Some(service);
        }
        result
    }
}

fn run_on(service: &SecretService<'_>, user: &str, op: &Op) -> Result<Outcome, Attempt> {
    let query = HashMap::from([
        ("service", KEYRING_SERVICE),
        ("username", user),
        ("target", TARGET),
    ]);
    let found = service.search_items(query).map_err(attempt)?;
    let items: Vec<&Item<'_>> = found.unlocked.iter().chain(&found.locked).collect();
    for item in &found.locked {
        item.unlock().map_err(attempt)?;
    }
    match op {
        Op::Get => {
            match items.as_slice() {
                [] => Ok(Outcome::Value(None)),
                [item] => {
                    let bytes = item.get_secret().map_err(attempt)?;
                    String::from_utf8(bytes).map(|v| Outcome::Value(Some(v))).map_err(|_| {
                    Attempt::Unavailable(format!(
                        "the keyring entry {user} does not hold text; delete it (seahorse, or \
                         secret-tool clear service {KEYRING_SERVICE} username {user})"
                    ))
                })
                }
                several => Err(Attempt::Unavailable(format!(
                    "the keyring holds {} entries named {user}; delete all but one (seahorse, or \
                 secret-tool clear service {KEYRING_SERVICE} username {user})",
                    several.len()
                ))),
            }
        }
        Op::Set(value) => {
            if let [item] = items.as_slice() {
                item.set_secret(value.as_bytes(), "text/plain")
                    .map_err(attempt)?;
                return Ok(Outcome::Done);
            }
            for item in &items {
                item.delete().map_err(attempt)?;
            }
            let collection = service.get_default_collection().map_err(attempt)?;
            collection.ensure_unlocked().map_err(attempt)?;
            let attributes = HashMap::from([
                ("service", KEYRING_SERVICE),
                ("username", user),
                ("target", TARGET),
                ("application", "rust-keyring"),
            ]);
            collection
                .create_item(
                    &format!("{user}@{KEYRING_SERVICE}:{TARGET} (Tenure)"),
                    attributes,
                    value.as_bytes(),
                    true,
                    "text/plain",
                )
                .map_err(attempt)?;
            Ok(Outcome::Done)
        }
        Op::Delete => {
            for item in &items {
                item.delete().map_err(attempt)?;
            }
            Ok(Outcome::Done)
        }
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as `map_err(attempt)`")]
fn attempt(error: Error) -> Attempt {
    match error {
        Error::Locked | Error::Prompt => Attempt::Locked(error.to_string()),
        Error::Unavailable => Attempt::Unavailable(error.to_string()),
        // "result not returned from SS API" comes now and then under load; D-Bus errors
        // mean the connection may be gone.
        _ => Attempt::Retry(error.to_string()),
    }
}
