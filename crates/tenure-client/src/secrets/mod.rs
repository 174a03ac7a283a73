//! Secrets (the cache key, account credentials) in the OS keyring.
//!
//! Where no keyring can be reached, nothing silently falls back to disk: the caller is told
//! plainly and may choose, visibly, to keep secrets in memory for this run (the demo does) or —
//! only with the user's explicit opt-in — in an owner-only plain file.
//!
//! A few entries belong to the machine's user rather than to one profile (the clock mark, the
//! revocation list): [`SecretStore::get_machine`] and [`SecretStore::set_machine`] keep them
//! under one namespace every profile of this OS user shares, so a fresh profile (a new
//! `TENURE_HOME`) does not start from nothing.
//!
//! Keyring calls run on one thread of their own (`keyring_thread`), which keeps one
//! connection to the keyring for the whole process.

mod ahead;
mod keyring_thread;
#[cfg(not(target_os = "linux"))]
mod native;
mod request;
#[cfg(target_os = "linux")]
mod secret_service;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::atomic::write_atomic;
use keyring_thread::Failure;
use request::{Op, Outcome};

/// The namespace of the entries every profile of this OS user shares.
pub const MACHINE_NAMESPACE: &str = "machine";

/// Where secrets are kept.
#[derive(Clone, Debug)]
pub enum SecretStore {
    /// The OS keyring, entries named `<namespace>/<name>`.
    Keyring {
        /// Profile namespace.
        namespace: String,
        /// The namespace shared by every profile of this OS user: [`MACHINE_NAMESPACE`].
        machine: String,
    },
    /// In memory, for this run only.
    Memory(Arc<Mutex<BTreeMap<String, String>>>),
    /// An owner-only plain file, chosen explicitly by the user.
    PlainFile(PathBuf),
}

/// Why a secret could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No keyring service answered.
    #[error(
        "no OS keyring is reachable ({detail}). On Linux, install and unlock a Secret Service (GNOME Keyring or KeePassXC); or run with in-memory secrets (--demo) or opt in to a plain file (tenure login --plain-file-secrets)"
    )]
    Unavailable {
        /// What the platform said.
        detail: String,
    },
    /// The keyring is there but locked or refused access.
    #[error("the OS keyring refused access ({detail}): unlock it and try again")]
    Locked {
        /// What the platform said.
        detail: String,
    },
    /// The plain file could not be read or written.
    #[error("cannot use the plain secrets file: {0}")]
    File(String),
}

impl SecretStore {
    /// The OS keyring for a profile.
    pub fn keyring(namespace: &str) -> Self {
        Self::keyring_on(namespace, MACHINE_NAMESPACE)
    }

    /// The OS keyring for a profile whose machine-wide entries live under `machine` instead of
    /// [`MACHINE_NAMESPACE`]: for tests that play several machines in one keyring.
    pub fn keyring_on(namespace: &str, machine: &str) -> Self {
        Self::Keyring {
            namespace: namespace.to_owned(),
            machine: machine.to_owned(),
        }
    }

    /// The OS keyring for a profile, checked to answer (present and unlocked).
    pub fn keyring_checked(namespace: &str) -> Result<Self, SecretError> {
        let store = Self::keyring(namespace);
        store.probe()?;
        Ok(store)
    }

    /// Reads an entry every profile of this OS user shares (with plain-file or in-memory
    /// secrets: this profile's own).
    pub fn get_machine(&self, name: &str) -> Result<Option<String>, SecretError> {
        match self {
            SecretStore::Keyring { machine, .. } => keyring_get(format!("{machine}/{name}")),
            _ => self.get(&format!("{MACHINE_NAMESPACE}/{name}")),
        }
    }

    /// Stores an entry every profile of this OS user shares.
    pub fn set_machine(&self, name: &str, value: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Keyring { machine, .. } => {
                keyring_set(format!("{machine}/{name}"), value.to_owned())
            }
            _ => self.set(&format!("{MACHINE_NAMESPACE}/{name}"), value),
        }
    }

    /// Deletes an entry every profile of this OS user shares.
    pub fn delete_machine(&self, name: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Keyring { machine, .. } => keyring_delete(format!("{machine}/{name}")),
            _ => self.delete(&format!("{MACHINE_NAMESPACE}/{name}")),
        }
    }

    /// Starts reading the profile's entries `names` and the shared entries `machine_names`
    /// from the keyring in the background, so the reads that follow soon find the answers
    /// waiting (see `ahead`). Nothing to do for the other stores.
    pub fn read_ahead(&self, names: &[&str], machine_names: &[&str]) {
        if let SecretStore::Keyring { namespace, machine } = self {
            let profile = names.iter().map(|name| format!("{namespace}/{name}"));
            let shared = machine_names.iter().map(|name| format!("{machine}/{name}"));
            ahead::read(profile.chain(shared));
        }
    }

    /// A fresh in-memory store.
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// Words for the Settings screen: which backend holds the secrets.
    pub fn describe(&self) -> String {
        match self {
            SecretStore::Keyring { .. } => format!("OS keyring ({})", keyring_backend_name()),
            SecretStore::Memory(_) => {
                "memory only (secrets are forgotten when the app closes)".into()
            }
            SecretStore::PlainFile(path) => {
                format!(
                    "PLAIN FILE, not encrypted (your choice): {}",
                    path.display()
                )
            }
        }
    }

    /// True for the OS keyring.
    pub fn is_keyring(&self) -> bool {
        matches!(self, SecretStore::Keyring { .. })
    }

    /// Checks that the store answers (a keyring that is present and unlocked).
    pub fn probe(&self) -> Result<(), SecretError> {
        self.get("probe").map(|_| ())
    }

    /// Reads a secret; `None` when there is none.
    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        match self {
            SecretStore::Keyring { namespace, .. } => keyring_get(format!("{namespace}/{name}")),
            SecretStore::Memory(map) => Ok(map.lock().ok().and_then(|m| m.get(name).cloned())),
            SecretStore::PlainFile(path) => Ok(read_plain(path)?.remove(name)),
        }
    }

    /// Stores a secret.
    pub fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Keyring { namespace, .. } => {
                keyring_set(format!("{namespace}/{name}"), value.to_owned())
            }
            SecretStore::Memory(map) => {
                if let Ok(mut m) = map.lock() {
                    m.insert(name.to_owned(), value.to_owned());
                }
                Ok(())
            }
            SecretStore::PlainFile(path) => {
                let mut all = read_plain(path)?;
                all.insert(name.to_owned(), value.to_owned());
                write_plain(path, &all)
            }
        }
    }

    /// Deletes a secret (no error if there was none).
    pub fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Keyring { namespace, .. } => keyring_delete(format!("{namespace}/{name}")),
            SecretStore::Memory(map) => {
                if let Ok(mut m) = map.lock() {
                    m.remove(name);
                }
                Ok(())
            }
            SecretStore::PlainFile(path) => {
                let mut all = read_plain(path)?;
                all.remove(name);
                write_plain(path, &all)
            }
        }
    }
}

fn keyring_get(user: String) -> Result<Option<String>, SecretError> {
    let answer = match ahead::take(&user) {
        Some(pending) => pending.wait(),
        None => keyring_thread::call(user, Op::Get),
    };
    match answer.map_err(secret_error)? {
        Outcome::Value(value) => Ok(value),
        Outcome::Done => Ok(None),
    }
}

fn keyring_set(user: String, value: String) -> Result<(), SecretError> {
    ahead::forget(&user);
    keyring_thread::call(user, Op::Set(value))
        .map(drop)
        .map_err(secret_error)
}

fn keyring_delete(user: String) -> Result<(), SecretError> {
    ahead::forget(&user);
    keyring_thread::call(user, Op::Delete)
        .map(drop)
        .map_err(secret_error)
}

fn secret_error(failure: Failure) -> SecretError {
    match failure {
        Failure::Locked(detail) => SecretError::Locked { detail },
        Failure::Unavailable(detail) => SecretError::Unavailable { detail },
    }
}

/// The platform keyring in words.
fn keyring_backend_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(target_os = "windows") {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

fn read_plain(path: &std::path::Path) -> Result<BTreeMap<String, String>, SecretError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            ron::from_str(&text).map_err(|e| SecretError::File(format!("{e} ({})", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(SecretError::File(format!("{e} ({})", path.display()))),
    }
}

fn write_plain(path: &std::path::Path, all: &BTreeMap<String, String>) -> Result<(), SecretError> {
    let text = ron::to_string(all).map_err(|e| SecretError::File(e.to_string()))?;
    write_atomic(path, text.as_bytes(), true)
        .map_err(|e| SecretError::File(format!("{e} ({})", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_plain_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for store in [
            SecretStore::memory(),
            SecretStore::PlainFile(dir.path().join("s.ron")),
        ] {
            assert_eq!(store.get("a").unwrap(), None);
            store.set("a", "secret").unwrap();
            assert_eq!(store.get("a").unwrap().as_deref(), Some("secret"));
            store.delete("a").unwrap();
            assert_eq!(store.get("a").unwrap(), None);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("s.ron"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
