//! A batch on SQLite, through rusqlite on the writer's own thread (the same SQLite library sqlx
//! links). The batch's rows arrive as JSON; `jsonb_each` parses the text once and hands each row
//! over in its binary form (`json_each` gave each row back as text that every `->>` parsed
//! again).

use std::str::FromStr as _;

use rusqlite::{OpenFlags, TransactionBehavior, params};
use sqlx::sqlite::SqliteConnectOptions;
use tenure_core::Binding;
use tenure_storage::Durability;

use super::{Batch, Engine, Found, Matched, STAMP_EVERY_SECS, StoreError, matched_of, to_json};

/// The requests' licenses still bound where the request came from, to the holder it proved, and
/// not revoked.
const MATCHING: &str = "SELECT l.id, l.bound_server, l.bound_database, \
     l.grace_extended_until, l.last_validated_at FROM licenses l JOIN \
     (SELECT value->>'id' AS id, value->>'srv' AS srv, value->>'db' AS db, \
     value->>'holder' AS holder FROM jsonb_each(?1)) AS v \
     ON l.id = v.id AND l.bound_server = v.srv AND l.bound_database = v.db \
     AND l.holder_key = v.holder WHERE l.revoked = 0";

/// Rewrites `last_validated_at` of the licenses listed.
const RESTAMP: &str = "UPDATE licenses SET last_validated_at = ?1 \
     WHERE id IN (SELECT value FROM jsonb_each(?2))";

/// Inserts the usage events.
const EVENTS: &str = "INSERT INTO usage_events (id, license_id, kind, outcome, detail, at, count) \
     SELECT value->>'id', value->>'license', value->>'kind', value->>'outcome', \
     value->>'detail', value->>'at', value->>'n' FROM jsonb_each(?1)";

/// Inserts the webhook deliveries owed (for webhooks that exist: one deleted by hand fails no
/// batch), once per webhook and key.
const DELIVERIES: &str = "INSERT INTO webhook_deliveries \
     (id, webhook_id, event, body, dedup_key, created_at, next_attempt_at) \
     SELECT value->>'id', value->>'hook', value->>'event', value->>'body', value->>'dedup', \
     value->>'at', value->>'at' FROM jsonb_each(?1) \
     WHERE value->>'hook' IN (SELECT id FROM webhooks) \
     ON CONFLICT (webhook_id, dedup_key) DO NOTHING";

/// Opens the file the store's URL names, which the store's pool has created and migrated, with
/// the pool's settings (`tenure_storage::sqlite_settings`): a busy timeout (the pool writes too),
/// foreign keys, every commit on disk before it returns.
pub(super) fn open(url: &str) -> Result<rusqlite::Connection, String> {
    let not_sqlite = |why: String| format!("the database URL is not a SQLite URL: {why}");
    if Engine::of_url(url) != Some(Engine::Sqlite) {
        return Err(not_sqlite("it must start with sqlite:".into()));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|e| not_sqlite(e.to_string()))?;
    let path = options.get_filename();
    let refused = |e: rusqlite::Error| format!("cannot open {}: {e}", path.display());
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(refused)?;
    conn.execute_batch(&tenure_storage::sqlite_settings(Durability::Full))
        .map_err(refused)?;
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let failure = match &e {
            rusqlite::Error::SqliteFailure(code, _) => {
                tenure_storage::classify_sqlite_code(code.extended_code)
            }
            _ => tenure_storage::Failure::Other,
        };
        Self::Batch {
            message: e.to_string(),
            failure,
        }
    }
}

/// Writes one batch in one transaction; returns what it stamped. The writer's lock is taken at
/// the start, so what the match reads cannot change before the commit.
pub(super) fn commit(
    conn: &mut rusqlite::Connection,
    batch: &Batch,
) -> Result<Matched, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut matched = Matched::new();
    if let Some((asked, at)) = &batch.stamps {
        // Each license found, and whether its last stamp is a minute old or more.
        let found: Vec<(Found, bool)> = tx
            .prepare_cached(MATCHING)?
            .query_map(params![asked], |row| {
                let last_validated_at: Option<i64> = row.get(4)?;
                let license = Found {
                    id: row.get(0)?,
                    binding: Binding {
                        server: row.get(1)?,
                        database: row.get(2)?,
                    },
                    grace_extended_until: row.get(3)?,
                };
                Ok((
                    license,
                    last_validated_at.is_none_or(|last| at - last >= STAMP_EVERY_SECS),
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut stale: Vec<&str> = found
            .iter()
            .filter(|(_, stale)| *stale)
            .map(|(license, _)| license.id.as_str())
            .collect();
        if !stale.is_empty() {
            stale.sort_unstable();
            stale.dedup();
            let stale = to_json(&stale)?;
            tx.prepare_cached(RESTAMP)
                .and_then(|mut s| s.execute(params![at, stale]))?;
        }
        matched = matched_of(found.into_iter().map(|(license, _)| license));
    }
    if let Some(events) = &batch.events {
        tx.prepare_cached(EVENTS)
            .and_then(|mut s| s.execute(params![events]))?;
    }
    if let Some(deliveries) = &batch.deliveries {
        tx.prepare_cached(DELIVERIES)
            .and_then(|mut s| s.execute(params![deliveries]))?;
    }
    tx.commit()?;
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_commits_to_disk_before_it_answers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("w.db");
        rusqlite::Connection::open(&file).expect("create the file");
        let conn = open(&format!("sqlite://{}?mode=rwc", file.display())).expect("open");
        let pragma = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .expect(name)
        };
        assert_eq!(pragma("synchronous"), 2, "FULL");
        assert_eq!(pragma("foreign_keys"), 1);
        assert_eq!(pragma("busy_timeout"), 10_000, "the pool writes too");
    }

    #[test]
    fn a_missing_file_is_named_not_created() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("gone.db");
        let e = open(&format!("sqlite://{}?mode=rwc", file.display())).expect_err("no file");
        assert!(e.contains("gone.db"), "{e}");
        assert!(
            !file.exists(),
            "the writer creates nothing: the store's pool does"
        );
        let e = open("postgres://x/y").expect_err("not SQLite");
        assert!(e.contains("not a SQLite URL"), "{e}");
    }
}
