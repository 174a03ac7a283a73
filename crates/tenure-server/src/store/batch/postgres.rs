//! A batch on PostgreSQL, through the server's sqlx driver: the batch's rows arrive as JSON and
//! `json_to_recordset` turns them into rows, so the statement is prepared once.

use sqlx::{AnyPool, Row as _};
use tenure_core::Binding;

use super::{Batch, Found, Matched, STAMP_EVERY_SECS, StoreError, matched_of};

/// A whole batch in one statement, so in one round trip and its own transaction (no `BEGIN`
/// and `COMMIT` round trips): the requests' licenses that are still bound where the request came
/// from, to the holder it proved, and not revoked (a rebind, a re-activation or a revocation may
/// have come meanwhile); those last stamped a minute or more before `$2` restamped; the usage
/// events (`$3`) and the webhook deliveries owed (`$5`) inserted. It returns the licenses found.
const BATCH: &str = "WITH found AS (SELECT l.id, l.bound_server, l.bound_database, \
     l.grace_extended_until, l.last_validated_at FROM licenses l JOIN \
     json_to_recordset($1::json) AS v(id TEXT, srv TEXT, db TEXT, holder TEXT) \
     ON l.id = v.id AND l.bound_server = v.srv AND l.bound_database = v.db \
     AND l.holder_key = v.holder WHERE l.revoked = 0), \
     restamped AS (UPDATE licenses SET last_validated_at = $2 WHERE id IN \
     (SELECT id FROM found WHERE last_validated_at IS NULL OR $2 - last_validated_at >= $4)), \
     logged AS (INSERT INTO usage_events (id, license_id, kind, outcome, detail, at, count) \
     SELECT id, license, kind, outcome, detail, at, n FROM json_to_recordset($3::json) \
     AS v(id TEXT, license TEXT, kind TEXT, outcome TEXT, detail TEXT, at BIGINT, n BIGINT)), \
     owed AS (INSERT INTO webhook_deliveries \
     (id, webhook_id, event, body, dedup_key, created_at, next_attempt_at) \
     SELECT d.id, d.hook, d.event, d.body, d.dedup, d.at, d.at FROM json_to_recordset($5::json) \
     AS d(id TEXT, hook TEXT, event TEXT, body TEXT, dedup TEXT, at BIGINT) \
     WHERE d.hook IN (SELECT id FROM webhooks) \
     ON CONFLICT (webhook_id, dedup_key) DO NOTHING) \
     SELECT id, bound_server, bound_database, grace_extended_until FROM found";

/// Writes one batch in one statement, which is its own transaction; returns what it stamped.
/// The statement is the moment the validations take effect, as if they came just before a
/// rebind or revocation that commits meanwhile. A batch that stamps nothing matches no license
/// and only inserts its events.
pub(super) async fn commit(pool: &AnyPool, batch: &Batch) -> Result<Matched, StoreError> {
    let (asked, at) = batch
        .stamps
        .as_ref()
        .map_or(("[]", 0), |(asked, at)| (asked.as_str(), *at));
    let rows = sqlx::query(BATCH)
        .bind(asked)
        .bind(at)
        .bind(batch.events.as_deref().unwrap_or("[]"))
        .bind(STAMP_EVERY_SECS)
        .bind(batch.deliveries.as_deref().unwrap_or("[]"))
        .fetch_all(pool)
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
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(matched_of(found))
}
