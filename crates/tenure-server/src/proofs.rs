//! Checks holders' proofs on a thread of its own, in batches: the proofs that arrive together
//! are verified with one multiscalar multiplication (`ed25519_dalek::verify_batch`), about half
//! the work of checking each alone, and off the async threads. A batch that fails is checked
//! one proof at a time, so a bad proof fails its own request only (and costs its sender the
//! batch's gain, nothing more).

use std::sync::mpsc;

use ed25519_dalek::{Signature, VerifyingKey};
use tenure_core::possession::proof_holds_for;
use tokio::sync::oneshot;

/// The most proofs verified together.
const MAX_BATCH: usize = 64;
/// Proofs waiting for the thread, at most.
const QUEUE: usize = 1024;

struct Job {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
    done: oneshot::Sender<bool>,
}

/// The handle requests send their proofs through.
#[derive(Clone, Debug)]
pub struct ProofChecker {
    jobs: mpsc::SyncSender<Job>,
}

impl ProofChecker {
    /// Starts the checking thread; it ends when the last handle is dropped.
    pub fn start() -> Self {
        let (jobs, receiver) = mpsc::sync_channel(QUEUE);
        let started = std::thread::Builder::new()
            .name("tenure-proofs".into())
            .spawn(move || run(&receiver));
        if let Err(e) = started {
            // Proofs are then checked where they arrive (see `check`).
            tracing::warn!(error = %e, "cannot start the proof checker");
        }
        Self { jobs }
    }

    /// Whether `signature` is `key`'s on `message`.
    pub async fn check(&self, key: VerifyingKey, message: Vec<u8>, signature: Signature) -> bool {
        let (done, answer) = oneshot::channel();
        // Never waits to queue: with the queue full (or no thread), the proof is checked here.
        match self.jobs.try_send(Job {
            key,
            message,
            signature,
            done,
        }) {
            Ok(()) => answer.await.unwrap_or(false),
            Err(mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job)) => {
                proof_holds_for(&job.key, &job.message, &job.signature)
            }
        }
    }
}

fn run(receiver: &mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH
            && let Ok(job) = receiver.try_recv()
        {
            jobs.push(job);
        }
        answer(jobs);
    }
}

/// Checks `jobs` together, and one by one if they do not all hold.
fn answer(jobs: Vec<Job>) {
    let all_hold = jobs.len() > 1 && batch_holds(&jobs);
    for job in jobs {
        let holds = all_hold || proof_holds_for(&job.key, &job.message, &job.signature);
        let _ = job.done.send(holds);
    }
}

/// Whether every proof in `jobs` holds, verified together. Weak keys are refused one by one.
fn batch_holds(jobs: &[Job]) -> bool {
    if jobs.iter().any(|job| job.key.is_weak()) {
        return false;
    }
    let messages: Vec<&[u8]> = jobs.iter().map(|job| job.message.as_slice()).collect();
    let signatures: Vec<Signature> = jobs.iter().map(|job| job.signature).collect();
    let keys: Vec<VerifyingKey> = jobs.iter().map(|job| job.key).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn job(i: u8, forged: bool) -> (Job, oneshot::Receiver<bool>) {
        let key = SigningKey::from_bytes(&[i; 32]);
        let message = vec![i; 100];
        let signed = if forged {
            vec![0; 100]
        } else {
            message.clone()
        };
        let (done, answer) = oneshot::channel();
        let job = Job {
            key: key.verifying_key(),
            signature: key.sign(&signed),
            message,
            done,
        };
        (job, answer)
    }

    /// Good and bad proofs in one batch: each gets its own answer.
    #[test]
    fn a_bad_proof_among_good_ones_fails_alone() {
        for forged_one in [None, Some(17)] {
            let (jobs, answers): (Vec<_>, Vec<_>) =
                (0..40).map(|i| job(i, Some(i) == forged_one)).unzip();
            answer(jobs);
            for (i, mut holds) in (0u8..).zip(answers) {
                assert_eq!(holds.try_recv(), Ok(Some(i) != forged_one), "proof {i}");
            }
        }
    }

    /// Through the thread: a good proof holds, a forged one does not.
    #[tokio::test]
    async fn the_checker_answers_each_request() {
        let checker = ProofChecker::start();
        for (i, forged) in [(1, false), (2, true)] {
            let (job, _) = job(i, forged);
            let holds = checker.check(job.key, job.message, job.signature).await;
            assert_eq!(holds, !forged);
        }
    }
}
