//! The one thread of this process that talks to the OS keyring.
//!
//! Keyring calls never run on the caller's thread: the Secret Service backend drives an async
//! runtime of its own, which must not start inside another (the GUI worker and the CLI both run
//! tokio), and a hung D-Bus call must not hang the caller past [`KEYRING_TIMEOUT`]. One
//! long-lived thread also keeps one connection for every call of the process. If a call hangs
//! past the limit, that thread is given up and the next call starts a fresh one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use super::request::{Attempt, Op, Outcome};

#[cfg(not(target_os = "linux"))]
use super::native::Backend;
#[cfg(target_os = "linux")]
use super::secret_service::Backend;

/// How long a keyring call may take before it counts as unavailable.
pub(super) const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait before each repeat of a call that failed on the platform's side.
const RETRY_PAUSES_MS: [u64; 2] = [50, 250];

/// Calls that may wait for the thread at once before more are refused as "busy".
const QUEUE: usize = 64;

/// Why a keyring call failed, after its repeats.
#[derive(Debug)]
pub(super) enum Failure {
    /// Locked, or access refused.
    Locked(String),
    /// Not reachable, not answering, or answering nonsense.
    Unavailable(String),
}

struct Job {
    user: String,
    op: Op,
    reply: SyncSender<Result<Outcome, Failure>>,
}

/// The current thread: its number (threads given up are not the current one) and its queue;
/// `None` before the first call and after a thread was given up.
static THREAD: Mutex<Option<(u64, SyncSender<Job>)>> = Mutex::new(None);

/// The number of the next thread.
static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);

/// Runs `op` on the entry named `user` on the keyring thread, within [`KEYRING_TIMEOUT`].
pub(super) fn call(user: String, op: Op) -> Result<Outcome, Failure> {
    send(user, op)?.wait()
}

/// A call handed to the keyring thread whose answer has not been taken yet.
pub(super) struct Pending {
    thread: u64,
    answer: Receiver<Result<Outcome, Failure>>,
}

impl Pending {
    /// The answer, within [`KEYRING_TIMEOUT`] from now.
    pub(super) fn wait(self) -> Result<Outcome, Failure> {
        if let Ok(result) = self.answer.recv_timeout(KEYRING_TIMEOUT) {
            return result;
        }
        give_up(self.thread);
        Err(Failure::Unavailable(format!(
            "no answer within {} s",
            KEYRING_TIMEOUT.as_secs()
        )))
    }
}

/// Hands `op` on the entry named `user` to the keyring thread without waiting for it: calls
/// run one after another in the order sent.
pub(super) fn send(user: String, op: Op) -> Result<Pending, Failure> {
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    let mut job = Job { user, op, reply };
    // A thread that has ended (it cannot, short of a panic) is replaced once.
    for _ in 0..2 {
        let (thread, queue) = queue()?;
        match queue.try_send(job) {
            Ok(()) => return Ok(Pending { thread, answer }),
            Err(TrySendError::Full(_)) => {
                return Err(Failure::Unavailable(
                    "the keyring has not answered the calls before this one".into(),
                ));
            }
            Err(TrySendError::Disconnected(back)) => {
                give_up(thread);
                job = back;
            }
        }
    }
    Err(Failure::Unavailable("the keyring thread stopped".into()))
}

/// The running thread's queue, starting the thread if there is none.
fn queue() -> Result<(u64, SyncSender<Job>), Failure> {
    let mut slot = THREAD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((thread, queue)) = slot.as_ref() {
        return Ok((*thread, queue.clone()));
    }
    let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || serve(&jobs))
        .map_err(|e| Failure::Unavailable(format!("cannot start a thread: {e}")))?;
    let thread = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    *slot = Some((thread, queue.clone()));
    Ok((thread, queue))
}

/// Forgets thread number `thread` (if it is still the current one) so the next call starts
/// another; the old one ends once the calls queued for it are done.
fn give_up(thread: u64) {
    let mut slot = THREAD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.as_ref().is_some_and(|(current, _)| *current == thread) {
        *slot = None;
    }
}

fn serve(jobs: &Receiver<Job>) {
    let mut backend = Backend::default();
    let mut next = None;
    loop {
        let Some(job) = next.take().or_else(|| jobs.recv().ok()) else {
            return;
        };
        if !matches!(job.op, Op::Get) {
            let result = run_with_repeats(&mut backend, &job.user, &job.op);
            let _ = job.reply.send(result);
            continue;
        }
        // Reads waiting in a row are answered together (a start sends several at once);
        // the first job that is not a read waits for them, so order is kept.
        let mut reads = vec![job];
        while let Ok(more) = jobs.try_recv() {
            if matches!(more.op, Op::Get) {
                reads.push(more);
            } else {
                next = Some(more);
                break;
            }
        }
        let users: Vec<&str> = reads.iter().map(|job| job.user.as_str()).collect();
        let answers = backend.get_many(&users);
        for (job, answer) in reads.iter().zip(answers) {
            let result = match answer {
                Some(outcome) => Ok(outcome),
                None => run_with_repeats(&mut backend, &job.user, &job.op),
            };
            let _ = job.reply.send(result);
        }
    }
}

fn run_with_repeats(backend: &mut Backend, user: &str, op: &Op) -> Result<Outcome, Failure> {
    let mut result = backend.run(user, op);
    for pause_ms in RETRY_PAUSES_MS {
        if !matches!(result, Err(Attempt::Retry(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(pause_ms));
        result = backend.run(user, op);
    }
    result.map_err(|attempt| match attempt {
        Attempt::Locked(detail) => Failure::Locked(detail),
        Attempt::Retry(detail) | Attempt::Unavailable(detail) => Failure::Unavailable(detail),
    })
}
