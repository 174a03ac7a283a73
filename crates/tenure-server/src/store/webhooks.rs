//! Webhooks and their deliveries (migration 0013): what the vendor subscribed to, and the log
//! of every delivery owed — due, delivered, or given up.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{Store, StoreError, new_id};

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookRow {
    /// Its id (`wh_…`).
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The events it hears (`license.created`, …).
    pub events: Vec<String>,
    /// The HMAC key its deliveries are signed with.
    #[serde(skip)]
    pub secret: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// A disabled webhook is owed nothing more.
    pub disabled: bool,
}

impl std::fmt::Debug for NewDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewDelivery({} to {})", self.event, self.webhook_id)
    }
}

/// A delivery to owe: to which webhook, what, and (for an event that may be found twice) the
/// key that makes it owed once.
#[derive(Clone)]
pub struct NewDelivery {
    /// The webhook.
    pub webhook_id: String,
    /// The event's name.
    pub event: String,
    /// The JSON body to post.
    pub body: String,
    /// Owed once per webhook and key.
    pub dedup_key: Option<String>,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRow {
    /// Its id (`whd_…`, ordered by time).
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event's name.
    pub event: String,
    /// The JSON body posted.
    pub body: String,
    /// When it was owed.
    pub created_at: DateTime<Utc>,
    /// Tries so far.
    pub attempts: i64,
    /// When it is next tried; `None` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// What the last try got: `200`, `500`, or why it could not connect.
    pub last_status: Option<String>,
}

fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

fn webhook_of(row: &sqlx::any::AnyRow) -> Result<WebhookRow, sqlx::Error> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRow {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: events.split(',').map(str::to_owned).collect(),
        secret: row.try_get("secret")?,
        created_at: time(row.try_get("created_at")?),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

fn delivery_of(row: &sqlx::any::AnyRow) -> Result<DeliveryRow, sqlx::Error> {
    Ok(DeliveryRow {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        event: row.try_get("event")?,
        body: row.try_get("body")?,
        created_at: time(row.try_get("created_at")?),
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get::<Option<i64>, _>("next_attempt_at")?.map(time),
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at")?.map(time),
        last_status: row.try_get("last_status")?,
    })
}

/// A SELECT of deliveries, with `$tail` after its FROM.
macro_rules! delivery_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, webhook_id, event, body, created_at, attempts, next_attempt_at, \
             delivered_at, last_status FROM webhook_deliveries ",
            $tail
        )
    };
}

/// One try of a delivery: delivered (`delivered` set, no `next`), to try again at `next`, or
/// given up (neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The delivery.
    pub id: String,
    /// What the receiver answered, or what went wrong.
    pub status: String,
    /// When it was delivered.
    pub delivered: Option<DateTime<Utc>>,
    /// When to try again.
    pub next: Option<DateTime<Utc>>,
}

impl Store {
    /// Adds a webhook; returns its id.
    pub(crate) async fn insert_webhook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let id = new_id("wh");
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(url)
        .bind(events.join(","))
        .bind(secret)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Every webhook, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, events, secret, created_at, disabled FROM webhooks ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(webhook_of).collect::<Result<_, _>>()?)
    }

    /// Disables a webhook and gives up what it was still owed. `false` for no such webhook.
    pub(crate) async fn disable_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE webhooks SET disabled = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = NULL, \
             last_status = 'not sent: the webhook was removed' \
             WHERE webhook_id = $1 AND next_attempt_at IS NOT NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Owes deliveries (committed with the writer's next batch, sharing its one commit),
    /// once per webhook and key.
    pub(crate) async fn owe_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.batcher().await?.owe(deliveries, now).await
    }

    /// Takes up to `limit` deliveries due by `now` for this instance until `until`, soonest
    /// first, in one statement: a delivery another instance took meanwhile no longer matches
    /// (its next try moved), so each is taken once.
    pub(crate) async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 \
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $2 AND id IN \
             (SELECT id FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL \
             AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
             RETURNING id, webhook_id, event, body, created_at, attempts, next_attempt_at, \
             delivered_at, last_status",
        )
        .bind(until.timestamp())
        .bind(now.timestamp())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_of).collect::<Result<_, _>>()?)
    }

    /// Records a round's tries in one transaction (the one writer of SQLite is taken once per
    /// round, not twice per delivery).
    pub(crate) async fn record_attempts(&self, tries: &[Attempt]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for attempt in tries {
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, \
                 delivered_at = $2, next_attempt_at = $3 WHERE id = $4",
            )
            .bind(&attempt.status)
            .bind(attempt.delivered.map(|at| at.timestamp()))
            .bind(attempt.next.map(|at| at.timestamp()))
            .bind(&attempt.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The latest `limit` deliveries (of one webhook, or all), newest first.
    pub async fn deliveries(
        &self,
        webhook_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = match webhook_id {
            Some(webhook_id) => {
                sqlx::query(delivery_select!(
                    "WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(webhook_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(delivery_select!("ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(delivery_of).collect::<Result<_, _>>()?)
    }

    /// A delivery by id.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row = sqlx::query(delivery_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(delivery_of).transpose()?)
    }

    /// Licenses in use whose grace may end soon: bound, not revoked, validated since `since`;
    /// with their last validation, terms and any extension.
    pub(crate) async fn grace_candidates(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<super::LicenseRow>, StoreError> {
        let rows = sqlx::query(super::rows::SELECT_GRACE_CANDIDATES)
            .bind(since.timestamp())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(super::LicenseRow::from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed(webhook_id: &str, dedup_key: Option<&str>) -> NewDelivery {
        NewDelivery {
            webhook_id: webhook_id.to_owned(),
            event: "license.created".into(),
            body: "{}".into(),
            dedup_key: dedup_key.map(str::to_owned),
        }
    }

    /// Deliveries are owed through the writer's batch: once per webhook and key, and one for
    /// a webhook deleted by hand is dropped instead of failing the batch (and with it the
    /// validations committed beside it).
    #[tokio::test]
    async fn deliveries_owed_in_the_batch_are_kept_once_and_never_fail_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite_dir(dir.path()).await.expect("store");
        let now = Utc::now();
        let hook = store
            .insert_webhook("http://127.0.0.1:9/", &["license.created".into()], "s", now)
            .await
            .expect("webhook");
        let twice = vec![owed(&hook, Some("once")), owed(&hook, Some("once"))];
        store.owe_deliveries(twice, now).await.expect("owed");
        store
            .owe_deliveries(vec![owed(&hook, None), owed("wh_gone", None)], now)
            .await
            .expect("a deleted webhook fails nothing");
        let due = store
            .claim_due_deliveries(now, now + chrono::Duration::minutes(1), 10)
            .await
            .expect("due");
        assert_eq!(due.len(), 2, "{due:?}");
        assert!(due.iter().all(|d| d.webhook_id == hook));
        let again = store
            .claim_due_deliveries(now, now + chrono::Duration::minutes(1), 10)
            .await
            .expect("due");
        assert!(again.is_empty(), "taken once");
    }
}
