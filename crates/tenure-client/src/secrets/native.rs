//! The macOS Keychain and the Windows Credential Manager, through the `keyring` crate: both
//! answer in well under a millisecond, so each call opens its entry afresh.

use super::request::{Attempt, KEYRING_SERVICE, Op, Outcome};

/// Nothing to keep between calls.
#[derive(Default)]
pub(super) struct Backend;

impl Backend {
    /// Nothing is read together here: each entry is left to [`Self::run`].
    #[expect(
        clippy::unused_self,
        reason = "the shape of every backend; the Secret Service one batches reads"
    )]
    pub(super) fn get_many(&mut self, users: &[&str]) -> Vec<Option<Outcome>> {
        users.iter().map(|_| None).collect()
    }

    /// Runs one operation on the entry named `user`.
    #[expect(
        clippy::unused_self,
        reason = "the shape of every backend; the Secret Service one keeps a connection"
    )]
    pub(super) fn run(&mut self, user: &str, op: &Op) -> Result<Outcome, Attempt> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, user).map_err(attempt)?;
        match op {
            Op::Get => match entry.get_password() {
                Ok(value) => Ok(Outcome::Value(Some(value))),
                Err(keyring::Error::NoEntry) => Ok(Outcome::Value(None)),
                Err(e) => Err(attempt(e)),
            },
            Op::Set(value) => entry
                .set_password(value)
                .map(|()| Outcome::Done)
                .map_err(attempt),
            Op::Delete => match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(Outcome::Done),
                Err(e) => Err(attempt(e)),
            },
        }
    }
}

fn attempt(error: keyring::Error) -> Attempt {
    match error {
        keyring::Error::NoStorageAccess(_) => Attempt::Locked(error.to_string()),
        keyring::Error::PlatformFailure(_) => Attempt::Retry(error.to_string()),
        other => Attempt::Unavailable(other.to_string()),
    }
}
