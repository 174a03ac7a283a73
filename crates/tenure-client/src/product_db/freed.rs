//! "A seat may have come free": on PostgreSQL a `NOTIFY tenure_seats` after every check-in,
//! ended session and lease run out, heard by one `LISTEN` per process and passed to every
//! waiter in it, so the head of the line hears at once instead of at its next ask. SQLite has no
//! such thing: waiters there ask again every [`crate::WAIT_POLL`]. A notice is a hint, never a
//! grant: the waiter still takes its seat through an ordinary checkout.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{Notify, OnceCell};

/// The channel notices go out on.
pub(super) const CHANNEL: &str = "tenure_seats";

/// How long the listener waits for a notice before it checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// Where waiters in this process hear notices; started at the first waiter.
#[derive(Debug, Default, Clone)]
pub(super) struct FreedSignal {
    notify: Arc<OnceCell<Arc<Notify>>>,
}

impl FreedSignal {
    /// The notices for the PostgreSQL database at `url`, starting the listener when none runs.
    /// `None` when it cannot listen (the waiters then ask on their own schedule).
    pub(super) async fn hear(&self, url: &str) -> Option<Arc<Notify>> {
        let notify = self
            .notify
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect(url).await?;
                listener.listen(CHANNEL).await?;
                let notify = Arc::new(Notify::new());
                tokio::spawn(relay(listener, Arc::downgrade(&notify)));
                Ok::<_, sqlx::Error>(notify)
            })
            .await
            .ok()?;
        Some(notify.clone())
    }
}

/// Passes each notice to every waiter; ends when no one is left to hear (the database was
/// dropped) or the connection fails (waiters then ask on their own schedule, as on SQLite).
async fn relay(mut listener: PgListener, notify: std::sync::Weak<Notify>) {
    loop {
        let heard = tokio::time::timeout(IDLE_CHECK, listener.recv()).await;
        let Some(notify) = notify.upgrade() else {
            return;
        };
        match heard {
            Ok(Ok(_)) => notify.notify_waiters(),
            Ok(Err(_)) => return,
            Err(_idle) => {}
        }
    }
}

/// Tells every listening waiter that a seat may have come free (delivered at commit).
pub(super) async fn announce(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}
