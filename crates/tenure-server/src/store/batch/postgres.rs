//! A batch on PostgreSQL, through the server's sqlx driver: the batch's rows arrive as JSON and
//! `json_to_recordset` turns them into rows, so each statement is prepared once.

use sqlx::{AnyPool, Row as _};
use tenure_core::Binding;

use super::{Batch, Found, Matched, StoreError, settle};

/// The requests' licenses that are still bound where the request came from, to the holder it
/// proved, and not revoked (a rebind, a re-activation or a revocation may have come meanwhile).
const MATCHING: &str = "SELECT l.id, l.bound_server, l.bound_database, \
     l.grace_extended_until, l.last_validated_at FROM licenses l JOIN \
     json_to_recordset($1::json) AS v(id TEXT, srv TEXT, db TEXT, holder TEXT) \
     ON l.id = v.id AND l.bound_server = v.srv AND l.bound_database = v.db \
     AND l.holder_key = v.holder WHERE l.revoked = 0";

/// Rewrites `last_validated_at` of the licenses listed.
const RESTAMP: &str = "UPDATE licenses SET last_validated_at = $1 \
     WHERE id IN (SELECT json_array_elements_text($2::json))";

/// Inserts the usage events.
const EVENTS: &str = "INSERT INTO usage_events (id, license_id, kind, outcome, detail, at) \
     SELECT id, license, kind, outcome, detail, at FROM json_to_recordset($1::json) \
     AS v(id TEXT, license TEXT, kind TEXT, outcome TEXT, detail TEXT, at BIGINT)";

/// Writes one batch in one transaction; returns what it stamped. The match is the moment the
/// validation takes effect, as if it came just before a rebind or revocation that commits
/// meanwhile.
pub(super) async fn commit(pool: &AnyPool, batch: &Batch) -> Result<Matched, StoreError> {
    let mut tx = pool.begin().await?;
    let mut matched = Matched::new();
    if let Some((asked, at)) = &batch.stamps {
        let rows = sqlx::query(MATCHING)
            .bind(asked.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let found = rows
            .iter()
            .map(|row| {
                Ok(Found {
                    id: row.try_get("id")?,
                    binding: Binding {
                        server: row.try_get("bound_server")?,
                        database: row.try_get("bound_database")?,
                    },
                    grace_extended_until: row.try_get("grace_extended_until")?,
                    last_validated_at: row.try_get("last_validated_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let stale;
        (matched, stale) = settle(found, *at)?;
        if let Some(stale) = stale {
            sqlx::query(RESTAMP)
                .bind(*at)
                .bind(stale)
                .execute(&mut *tx)
                .await?;
        }
    }
    if let Some(events) = &batch.events {
        sqlx::query(EVENTS)
            .bind(events.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(matched)
}
