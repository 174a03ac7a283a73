//! What other processes change, shown without a restart: the profile's settings and cache
//! (the CLI trusting a key, importing an answer, a second window) and the product database
//! (users, seats, devices and allocations written by the CLI, the product or another window).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tenure_client::Workstation;

use super::{Event, Notifier, snapshot};

/// How often the profile's files and the product database are checked.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// When and how big a file was last written; `None` when it does not exist.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The product database's change stamp, when one is connected.
async fn database_stamp(ws: &Workstation) -> Option<(i64, i64)> {
    ws.database().connected()?.change_stamp().await.ok()
}

/// The product database as this window last knew it, shared by the watcher and the jobs: a
/// change this window's own job made is not another process's.
#[derive(Clone, Default)]
pub(super) struct Known(Arc<Mutex<Option<(i64, i64)>>>);

impl Known {
    /// Takes in what the job that just ran wrote.
    pub(super) async fn note_own_changes(&self, ws: &Workstation) {
        let now = database_stamp(ws).await;
        if let Ok(mut known) = self.0.lock() {
            *known = now;
        }
    }

    /// True when the database moved on since it was last known (the first look only learns).
    fn moved_on(&self, now: Option<(i64, i64)>) -> bool {
        let Ok(mut known) = self.0.lock() else {
            return false;
        };
        let moved = known.is_some() && now.is_some() && *known != now;
        *known = now;
        moved
    }
}

/// Watches the profile's files and the product database; sends a fresh snapshot when either
/// changed, and `DatabaseChanged` when another process wrote to the database.
pub(super) async fn watch(
    ws: Arc<tokio::sync::Mutex<Workstation>>,
    files: [PathBuf; 2],
    known: Known,
    notify: Notifier,
) {
    let mut seen = files.each_ref().map(|f| file_stamp(f));
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = files.each_ref().map(|f| file_stamp(f));
        let files_changed = now != seen;
        seen = now;
        let mut ws = ws.lock().await;
        if files_changed && let Err(e) = ws.reload_settings() {
            tracing::warn!(error = %e, "could not read the settings changed by another process");
        }
        let database_changed = known.moved_on(database_stamp(&ws).await);
        if database_changed {
            notify.send(Event::DatabaseChanged);
        }
        if files_changed || database_changed {
            notify.send(Event::Snapshot(Box::new(snapshot(&ws).await)));
        }
    }
}
