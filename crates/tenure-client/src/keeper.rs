//! Holding a concurrent seat while the product runs: a background task renews the lease every
//! third of its length, so two heartbeats can be missed before the seat is lost, and says so
//! when the seat was ended by an admin or ran out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use crate::checkout::{SeatAnswer, SeatRefusal};
use crate::product_db::{Activity, DbError, Session};
use crate::workstation::{ConcurrentSeatsError, Workstation};

/// How often a waiter in line asks again: a seat freed reaches the head of the line within this
/// (plus one checkout).
pub const WAIT_POLL: Duration = Duration::from_millis(500);

/// How long a waiter rides out a failing product database before it gives up with the error.
pub const WAIT_TROUBLE: Duration = Duration::from_secs(30);

/// Why a held seat is gone, or the last transient trouble renewing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeeperState {
    /// The seat is gone (ended by an admin, or the lease ran out), with the sentence to show.
    pub lost: Option<String>,
    /// The last heartbeat failed for a passing reason (database unreachable); still trying.
    pub trouble: Option<String>,
}

/// What a held seat's heartbeats saw, for a product that asked to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatEvent {
    /// The seat is gone (ended by an admin, or the lease ran out), with the sentence to show.
    Lost(String),
    /// A heartbeat failed for a passing reason (database unreachable); still trying.
    Trouble(String),
    /// Heartbeats go through again after trouble.
    Recovered,
}

/// Hears a held seat's events, on a heartbeat thread.
pub type SeatListener = Arc<dyn Fn(&SeatEvent) + Send + Sync>;

/// A concurrent seat held by a background heartbeat. Dropping it stops the heartbeats (the seat
/// comes free when its lease ends); [`SeatKeeper::release`] gives it back at once.
#[derive(Debug)]
pub struct SeatKeeper {
    session: Session,
    state: Arc<Mutex<KeeperState>>,
    /// What the product last reported, sent with each heartbeat.
    idle: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    workstation: Arc<Workstation>,
}

impl SeatKeeper {
    /// Takes a seat for `login` on `machine` and keeps it; a refusal comes back as the answer.
    pub async fn take(
        workstation: Arc<Workstation>,
        login: &str,
        machine: &str,
    ) -> Result<Result<Self, SeatAnswer>, ConcurrentSeatsError> {
        Self::take_with(workstation, login, machine, None).await
    }

    /// As [`SeatKeeper::take`]; `listener` hears when the seat is lost or its heartbeats
    /// falter and recover.
    pub async fn take_with(
        workstation: Arc<Workstation>,
        login: &str,
        machine: &str,
        listener: Option<SeatListener>,
    ) -> Result<Result<Self, SeatAnswer>, ConcurrentSeatsError> {
        let answer = workstation
            .concurrent_seats()
            .checkout(login, machine, workstation.lease_clock(Utc::now()).await)
            .await?;
        Ok(match answer {
            SeatAnswer::Granted(session) => Ok(Self::keep(workstation, session, listener)),
            refused @ SeatAnswer::Refused(_) => Err(refused),
        })
    }

    /// As [`SeatKeeper::take_with`], but when no seat is free it waits in line, asking again
    /// every [`WAIT_POLL`], and tells `on_place` each answer that gives its place. The next
    /// seat freed goes to the head of the line. A refusal that waiting cannot mend (the license
    /// does not allow work now) comes back as the answer; a passing database failure (busy,
    /// connection dropped) is ridden out for up to [`WAIT_TROUBLE`]. Dropping the future stops asking: the
    /// waiter leaves the line after [`crate::product_db::WAITER_GONE`], or at once with
    /// [`crate::ConcurrentSeats::leave_line`].
    pub async fn wait(
        workstation: Arc<Workstation>,
        login: &str,
        machine: &str,
        listener: Option<SeatListener>,
        mut on_place: impl FnMut(&SeatRefusal),
    ) -> Result<Result<Self, SeatAnswer>, ConcurrentSeatsError> {
        let freed = workstation.concurrent_seats().freed_signal().await;
        let mut troubled_since = None;
        loop {
            // Listening before asking: a seat freed between the answer and the wait is heard.
            let heard = freed.as_ref().map(|notify| notify.notified());
            let mut heard = std::pin::pin!(heard);
            if let Some(heard) = heard.as_mut().as_pin_mut() {
                heard.enable();
            }
            let now = workstation.lease_clock(Utc::now()).await;
            let answer = match workstation
                .concurrent_seats()
                .checkout_or_wait(login, machine, now)
                .await
            {
                Ok(answer) => {
                    troubled_since = None;
                    answer
                }
                // A busy database (many waiters asking at once) or a dropped connection passes:
                // the waiter keeps its place by asking again, as heartbeats ride it out.
                Err(e @ ConcurrentSeatsError::Db(DbError::Query(_) | DbError::Unreachable(_))) => {
                    let since = *troubled_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= WAIT_TROUBLE {
                        return Err(e);
                    }
                    tracing::warn!("asking for a seat failed, asking again: {e}");
                    tokio::time::sleep(WAIT_POLL).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match answer {
                SeatAnswer::Granted(session) => {
                    return Ok(Ok(Self::keep(workstation, session, listener)));
                }
                SeatAnswer::Refused(refusal @ SeatRefusal::InLine { .. }) => on_place(&refusal),
                refused @ SeatAnswer::Refused(_) => return Ok(Err(refused)),
            }
            match heard.as_mut().as_pin_mut() {
                Some(heard) => {
                    let _ = tokio::time::timeout(WAIT_POLL, heard).await;
                }
                None => tokio::time::sleep(WAIT_POLL).await,
            }
        }
    }

    /// Starts the heartbeats of a session just granted.
    fn keep(
        workstation: Arc<Workstation>,
        session: Session,
        listener: Option<SeatListener>,
    ) -> Self {
        let every = heartbeat_interval(&session);
        let state = Arc::new(Mutex::new(KeeperState::default()));
        let idle = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(heartbeats(
            Beat {
                workstation: workstation.clone(),
                id: session.id.clone(),
                every,
                idle: idle.clone(),
            },
            state.clone(),
            listener,
        ));
        Self {
            session,
            state,
            idle,
            task,
            workstation,
        }
    }

    /// The session holding the seat.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Tells the pool whether the product is idle (no input, nothing running) or in use
    /// again, from the next heartbeat on. Under the license's idle release, a seat idle long
    /// enough is freed for the next user who asks; the listener then hears it lost.
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::Relaxed);
    }

    /// How the seat stands.
    pub fn state(&self) -> KeeperState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the heartbeats and gives the seat back now.
    pub async fn release(mut self) -> Result<bool, ConcurrentSeatsError> {
        self.task.abort();
        // Waits for the heartbeat to stop: a listener is never told after the release returns
        // (a C caller frees its context then).
        let _stopped = (&mut self.task).await;
        let now = self.workstation.lease_clock(Utc::now()).await;
        self.workstation
            .concurrent_seats()
            .checkin(&self.session.id, now)
            .await
    }
}

impl Drop for SeatKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A third of the lease (at least a second).
pub fn heartbeat_interval(session: &Session) -> Duration {
    let lease = (session.lease_until - session.heartbeat_at).num_milliseconds();
    Duration::from_millis(u64::try_from(lease / 3).unwrap_or(0).max(1_000))
}

/// What the heartbeats of one seat send, and how often.
struct Beat {
    workstation: Arc<Workstation>,
    id: String,
    every: Duration,
    idle: Arc<AtomicBool>,
}

async fn heartbeats(beat: Beat, state: Arc<Mutex<KeeperState>>, listener: Option<SeatListener>) {
    let Beat {
        workstation,
        id,
        every,
        idle,
    } = beat;
    loop {
        tokio::time::sleep(every).await;
        let activity = if idle.load(Ordering::Relaxed) {
            Activity::Idle
        } else {
            Activity::Active
        };
        let result = workstation
            .concurrent_seats()
            .heartbeat(&id, activity, workstation.lease_clock(Utc::now()).await)
            .await;
        let (event, lost) = {
            let Ok(mut state) = state.lock() else { return };
            match result {
                Ok(_) => (state.trouble.take().map(|_| SeatEvent::Recovered), false),
                Err(e @ (ConcurrentSeatsError::Session(_) | ConcurrentSeatsError::Refused(_))) => {
                    state.lost = Some(e.to_string());
                    (Some(SeatEvent::Lost(e.to_string())), true)
                }
                Err(e) => {
                    state.trouble = Some(e.to_string());
                    (Some(SeatEvent::Trouble(e.to_string())), false)
                }
            }
        };
        // Told outside the lock: a listener may ask the seat how it stands.
        if let (Some(listener), Some(event)) = (&listener, &event) {
            tell(listener, event);
        }
        if lost {
            return;
        }
    }
}

/// Tells a listener about a seat, whatever the listener does: a panic in it is caught and
/// logged, and the heartbeats go on.
pub(crate) fn tell(listener: &SeatListener, event: &SeatEvent) {
    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener(event)));
    if told.is_err() {
        tracing::warn!("a seat listener panicked; the seat's heartbeats go on");
    }
}
