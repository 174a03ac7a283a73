//! A database outage, logged where it starts and where it ends — with how long it lasted and
//! how many requests were refused meanwhile — rather than once per refused request (a full disk
//! under load once wrote 88,679 lines).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tenure_storage::Failure;

/// An outage in progress.
#[derive(Debug)]
struct Ongoing {
    since: Instant,
    failure: Failure,
    refused: u64,
}

/// Whether the database is failing, process-wide (every state of one process shares one
/// database).
#[derive(Debug, Default)]
pub struct Outage {
    active: AtomicBool,
    ongoing: Mutex<Option<Ongoing>>,
}

static OUTAGE: Outage = Outage {
    active: AtomicBool::new(false),
    ongoing: Mutex::new(None),
};

/// The process's outage record.
pub fn current() -> &'static Outage {
    &OUTAGE
}

fn words(failure: Failure) -> &'static str {
    match failure {
        Failure::Full => "its disk is full",
        Failure::Damaged => "it reports damaged data",
        Failure::Auth => "it refuses the server's credentials",
        Failure::Missing => "the database does not exist",
        Failure::Unreachable => "it does not answer",
        Failure::Other => "it fails",
    }
}

impl Outage {
    /// The database failed with `failure`: an outage starts, unless one is in progress
    /// (`detail` is logged at its start only).
    pub fn failed(&self, failure: Failure, detail: &str) {
        let mut ongoing = self
            .ongoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ongoing.is_some() {
            return;
        }
        tracing::error!(
            error = detail,
            "the database is unavailable ({}): requests are refused with 503 until it is back",
            words(failure)
        );
        *ongoing = Some(Ongoing {
            since: Instant::now(),
            failure,
            refused: 0,
        });
        self.active.store(true, Ordering::Release);
    }

    /// A request was answered 503 during an outage.
    pub fn refused(&self) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        if let Some(outage) = self
            .ongoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            outage.refused += 1;
        }
    }

    /// The database answered: an outage in progress has ended.
    pub fn answered(&self) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let ended = self
            .ongoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.active.store(false, Ordering::Release);
        if let Some(outage) = ended {
            tracing::warn!(
                seconds = outage.since.elapsed().as_secs(),
                refused = outage.refused,
                "the database is back after {} s ({}); {} requests were refused meanwhile",
                outage.since.elapsed().as_secs(),
                words(outage.failure),
                outage.refused
            );
        }
    }

    /// True while the database is failing.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
}
