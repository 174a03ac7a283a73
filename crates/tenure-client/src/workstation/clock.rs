//! The clock's high-water mark, kept in three places — the cache, the product database and the
//! keyring — so deleting or restoring one copy does not wind it back. The keyring's copy is the
//! machine's (every profile of this OS user shares it), so a fresh profile does not start from
//! nothing either. The copies are merged by
//! [`ClockMark::merge`]: the latest server reset wins, then the largest reading. A verified
//! server answer resets every copy to the server's time, which clears a clock that was once
//! ahead.

use chrono::{DateTime, Utc};
use tenure_core::status::ClockMark;

use super::{EngineError, Workstation};
use crate::cache::CacheData;

/// The keyring entry holding one copy of the mark (shared by every profile of this OS user).
const CLOCK_MARK_SECRET: &str = "clock-mark";
/// Plain status reads write the mark at most this often (each write touches the keyring).
const MARK_STEP_SECS: i64 = 60;

/// The copies outside the cache, as last read or written by this process.
#[derive(Debug, Default)]
pub(super) struct MarkCopies {
    /// True once the keyring was read (or written) by this process.
    keyring_known: bool,
    /// The keyring's copy.
    keyring: Option<ClockMark>,
    /// The product database's copy, read at connect.
    db: Option<ClockMark>,
}

/// True when a copy of the mark lags `next` by a step, or predates its latest server reset.
fn is_behind(copy: Option<ClockMark>, next: ClockMark) -> bool {
    copy.is_none_or(|c| {
        c.reset < next.reset || (next.seen - c.seen).num_seconds() >= MARK_STEP_SECS
    })
}

impl Workstation {
    /// The keyring entry of the mark, while this process has not read it yet.
    pub(super) fn mark_to_read(&self) -> Option<&'static str> {
        let copies = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (!copies.keyring_known).then_some(CLOCK_MARK_SECRET)
    }

    fn keyring_mark(&self) -> Option<ClockMark> {
        {
            let copies = self
                .marks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if copies.keyring_known {
                return copies.keyring;
            }
        }
        // Read without holding the lock: a keyring call is a round trip to another process.
        let read = match self.secrets.get_machine(CLOCK_MARK_SECRET) {
            Ok(text) => text.and_then(|t| ron::from_str(&t).ok()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the clock mark from the keyring");
                None
            }
        };
        let mut copies = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        copies.keyring_known = true;
        copies.keyring = read;
        read
    }

    /// The mark in force, from the cache's copy and the others.
    pub(super) fn clock_mark(
        &self,
        data: &CacheData,
        latest_server: Option<DateTime<Utc>>,
    ) -> Option<ClockMark> {
        let db = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .db;
        ClockMark::merge(
            [data.clock_mark(), self.keyring_mark(), db]
                .into_iter()
                .flatten(),
            latest_server,
        )
    }

    /// Moves the mark to `now` in each copy that is a step behind: the cache (under its lock)
    /// and the keyring now, the product database at the next connect or answer. Each copy is
    /// judged on its own, so one that was wiped is written again even when the others hold
    /// the mark.
    pub(super) fn advance_clock_mark(
        &self,
        data: &CacheData,
        mark: Option<ClockMark>,
        now: DateTime<Utc>,
        latest_server: Option<DateTime<Utc>>,
    ) -> Result<(), EngineError> {
        let next = mark.unwrap_or(ClockMark::first(now)).advanced(now);
        if is_behind(data.clock_mark(), next) {
            // Another process may have moved the mark meanwhile: merge with what is there now.
            self.cache.update(|data| {
                let merged = ClockMark::merge(
                    [data.clock_mark(), Some(next)].into_iter().flatten(),
                    latest_server,
                )?;
                data.set_clock_mark(merged);
                Some(())
            })?;
        }
        if is_behind(self.keyring_mark(), next) {
            self.save_keyring_mark(next);
        }
        let mut copies = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        copies.db = Some(copies.db.map_or(next, |db| db.max_with(next)));
        Ok(())
    }

    fn save_keyring_mark(&self, mark: ClockMark) {
        let text = match ron::to_string(&mark) {
            Ok(text) => text,
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode the clock mark");
                return;
            }
        };
        match self.secrets.set_machine(CLOCK_MARK_SECRET, &text) {
            Ok(()) => {
                let mut copies = self
                    .marks
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                copies.keyring_known = true;
                copies.keyring = Some(mark);
            }
            Err(e) => tracing::warn!(error = %e, "cannot keep the clock mark in the keyring"),
        }
    }

    /// After a verified answer: the keyring and the product database get `mark` (the cache got
    /// it with the license).
    pub(super) async fn keep_clock_mark_outside_cache(&self, mark: ClockMark) {
        self.save_keyring_mark(mark);
        self.marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .db = Some(mark);
        if let Some(db) = &self.db
            && let Err(e) = db.save_clock_mark(&mark).await
        {
            tracing::warn!(error = %e, "cannot keep the clock mark in the product database");
        }
    }

    /// At connect: takes `stored`, the database's copy (read by the caller), and writes back
    /// the mark in force advanced to `now`, so a database restored elsewhere carries it.
    pub(super) async fn sync_clock_mark_with_db(
        &self,
        stored: Option<ClockMark>,
        now: DateTime<Utc>,
    ) {
        let Some(db) = &self.db else { return };
        self.marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .db = stored;
        let data = self.cache.load().unwrap_or_default();
        let latest = self
            .verify_cached(&data)
            .ok()
            .flatten()
            .map(|l| l.validated_at);
        let Some(mark) = self.clock_mark(&data, latest) else {
            return;
        };
        let next = mark.advanced(now);
        // Like the other copies, written when a step behind: a write at every start would
        // cost each product start a database commit.
        if is_behind(stored, next)
            && let Err(e) = db.save_clock_mark(&next).await
        {
            tracing::warn!(error = %e, "cannot keep the clock mark in the product database");
        }
        if is_behind(self.keyring_mark(), next) {
            self.save_keyring_mark(next);
        }
        self.marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .db = Some(next);
    }
}
