//! Refused requests, counted in memory and written as one usage row per license, kind and
//! reason per minute.
//!
//! A refusal writes nothing of its own: a stranger sending bad proofs or guessing keys must not
//! grow the database, nor learn from the time an answer takes whether a row was written (which
//! would tell whether a license id or key exists). Known and unknown licenses are counted by
//! the same path — an unknown one under no license — and every row's detail is the server's
//! own words ("12 refused"), never text the caller sent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{EventRow, Store};

/// How often the counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_mins(1);

/// The most licenses counted apart between two writes; beyond it, refusals of further
/// licenses are counted under no license, so a flood of made-up ids cannot grow memory.
const MAX_COUNTED: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    license_id: Option<String>,
    kind: &'static str,
    outcome: &'static str,
}

/// The counts since the last write.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: Mutex<HashMap<Key, u64>>,
}

impl Refusals {
    /// Counts one refusal: of `license_id` (`None` for a license or key that does not exist),
    /// of a request of `kind`, for `outcome`.
    pub fn count(&self, license_id: Option<&str>, kind: &'static str, outcome: &'static str) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut key = Key {
            license_id: license_id.map(str::to_owned),
            kind,
            outcome,
        };
        if counts.len() >= MAX_COUNTED && !counts.contains_key(&key) {
            key.license_id = None;
        }
        *counts.entry(key).or_insert(0) += 1;
    }

    fn take_counts(&self) -> Vec<(Key, u64)> {
        let counts = std::mem::take(
            &mut *self
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut counts: Vec<(Key, u64)> = counts.into_iter().collect();
        counts.sort_by(|(a, _), (b, _)| {
            (&a.license_id, a.kind, a.outcome).cmp(&(&b.license_id, b.kind, b.outcome))
        });
        counts
    }

    /// The counts so far, as usage rows stamped `now`; the counts start again from zero.
    pub fn take(&self, now: DateTime<Utc>) -> Vec<EventRow> {
        self.take_counts()
            .into_iter()
            .map(|(key, n)| row(&key, n, now))
            .collect()
    }

    /// Writes the counts so far; returns the rows written. On failure they are counted again,
    /// to be written next time.
    pub async fn flush(&self, store: &Store, now: DateTime<Utc>) -> Vec<EventRow> {
        let mut written_rows = Vec::new();
        for (key, n) in self.take_counts() {
            let row = row(&key, n, now);
            let written = store.log_row(row.clone()).await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not write the refusal counts; kept for the next minute");
                *self
                    .counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(key)
                    .or_insert(0) += n;
            } else {
                written_rows.push(row);
            }
        }
        written_rows
    }
}

fn row(key: &Key, n: u64, now: DateTime<Utc>) -> EventRow {
    EventRow {
        license_id: key.license_id.clone(),
        kind: key.kind.to_owned(),
        outcome: key.outcome.to_owned(),
        detail: format!("{n} refused"),
        at: now,
        count: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_become_one_row_per_license_kind_and_outcome_and_start_again() {
        let refusals = Refusals::default();
        for _ in 0..2_000 {
            refusals.count(Some("lic_1"), "validation", "refused_no_proof");
        }
        refusals.count(None, "validation", "refused_no_proof");
        let rows = refusals.take(Utc::now());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].license_id.as_deref(), Some("lic_1"), "{rows:?}");
        assert_eq!(rows[1].detail, "2000 refused");
        assert!(refusals.take(Utc::now()).is_empty());
    }

    #[test]
    fn a_flood_of_made_up_ids_is_counted_in_bounded_memory() {
        let refusals = Refusals::default();
        for i in 0..(MAX_COUNTED + 5_000) {
            refusals.count(Some(&format!("lic_{i}")), "validation", "refused_no_proof");
        }
        let rows = refusals.take(Utc::now());
        assert_eq!(rows.len(), MAX_COUNTED + 1);
        let unnamed = rows.iter().find(|r| r.license_id.is_none()).unwrap();
        assert_eq!(unnamed.detail, "5000 refused");
    }
}
