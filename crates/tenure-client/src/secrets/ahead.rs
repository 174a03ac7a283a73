//! Keyring reads started before they are needed.
//!
//! Opening a workstation reads a few entries (the cache key, the clock mark, the revocation
//! lists) at different points, each a round trip to the keyring daemon, the first one also
//! connecting to it. Sending them to the keyring thread at once, while the product database
//! connects on the caller's thread, hides that wait. An answer read ahead is used only while
//! fresh, and never after this process wrote or deleted the entry since.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::keyring_thread::{self, Pending};
use super::request::Op;

/// How long an answer read ahead may be used instead of asking again. Opening takes
/// milliseconds; an answer older than this was read for an open that never asked for it.
const FRESH: Duration = Duration::from_secs(2);

/// Answers read ahead and not taken yet, by entry.
static AHEAD: Mutex<Vec<Ahead>> = Mutex::new(Vec::new());

struct Ahead {
    user: String,
    sent: Instant,
    pending: Pending,
}

/// Sends a read of each entry in `users` to the keyring thread, unless one is on its way.
pub(super) fn read(users: impl IntoIterator<Item = String>) {
    let mut ahead = lock();
    ahead.retain(|a| a.sent.elapsed() < FRESH);
    for user in users {
        if ahead.iter().any(|a| a.user == user) {
            continue;
        }
        // A read that cannot be sent is simply asked again when needed, with its error then.
        if let Ok(pending) = keyring_thread::send(user.clone(), Op::Get) {
            ahead.push(Ahead {
                user,
                sent: Instant::now(),
                pending,
            });
        }
    }
}

/// The read of `user` sent ahead, if one is fresh; it is taken, so it answers one caller.
pub(super) fn take(user: &str) -> Option<Pending> {
    let mut ahead = lock();
    let at = ahead.iter().position(|a| a.user == user)?;
    let found = ahead.swap_remove(at);
    (found.sent.elapsed() < FRESH).then_some(found.pending)
}

/// Drops the read of `user` sent ahead: this process is about to change the entry.
pub(super) fn forget(user: &str) {
    lock().retain(|a| a.user != user);
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Ahead>> {
    AHEAD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
