//! Posting owed webhook deliveries, signed, from every instance: each due delivery is claimed
//! by one instance (a conditional update), posted with a timeout, and either marked delivered
//! (a 2xx answer) or tried again after a backoff that doubles from the vendor's first wait
//! (30 s) up to an hour — for [`GIVE_UP_AFTER`], then given up. The log keeps every outcome.
//!
//! **The signature.** Each post carries `Tenure-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is
//! the HMAC-SHA256, keyed with the webhook's secret, of `UNIX_SECONDS.BODY` (the timestamp, a
//! full stop, and the body's bytes as sent). A receiver recomputes it, compares in constant
//! time, and refuses a timestamp more than five minutes from its clock (a replayed post); see
//! [`verify`]. `Tenure-Event` names the event, `Tenure-Delivery` the delivery (the same on
//! every try of it, so a receiver can drop a repeat).

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::service::{Event, Vendor};
use crate::store::{Attempt, DeliveryRow};

/// The signature's header.
pub const SIGNATURE_HEADER: &str = "Tenure-Signature";
/// How long a delivery is tried before it is given up.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// The longest wait between two tries.
const MOST_BETWEEN_TRIES: Duration = Duration::from_hours(1);
/// How long a receiver has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Deliveries taken per round.
const PER_ROUND: i64 = 50;
/// Deliveries of a round posted at once.
const AT_ONCE: usize = 8;
/// How far a receiver lets a signature's time be from its clock.
pub const TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// The `Tenure-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &str) -> Vec<u8> {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// What a receiver checks: the signature is the secret's over this body and its time, and the
/// time is within [`TOLERANCE`] of `now`.
pub fn verify(secret: &str, header: &str, body: &str, now: DateTime<Utc>) -> bool {
    use subtle::ConstantTimeEq as _;
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    let fresh = (now.timestamp() - timestamp).abs() <= TOLERANCE.num_seconds();
    fresh && bool::from(mac(secret, timestamp, body).ct_eq(&signature))
}

/// The wait after the `tries`-th failed try.
fn backoff(first: Duration, tries: i64) -> Duration {
    let doublings = u32::try_from(tries.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    first.saturating_mul(1 << doublings).min(MOST_BETWEEN_TRIES)
}

/// Posts the owed deliveries every second, and owes `grace.ending` every hour, in the
/// background.
pub fn spawn_delivery(vendor: &Vendor) {
    crate::install_crypto_provider();
    let client = match reqwest::Client::builder().timeout(ANSWER_WITHIN).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot make the webhook client: no webhook is posted");
            return;
        }
    };
    let vendor = vendor.clone();
    tokio::spawn(async move {
        let mut every_second = tokio::time::interval(Duration::from_secs(1));
        let mut last_scan: Option<std::time::Instant> = None;
        loop {
            every_second.tick().await;
            if last_scan.is_none_or(|at| at.elapsed() >= Duration::from_hours(1)) {
                owe_grace_endings(&vendor).await;
                last_scan = Some(std::time::Instant::now());
            }
            deliver_due(&vendor, &client).await;
        }
    });
}

/// Posts the deliveries due now; returns how many were tried. A round takes its deliveries
/// in one statement, posts them [`AT_ONCE`] at a time, and records every outcome in one
/// transaction: two writes a round, whatever its size, so a burst of deliveries hardly
/// touches the writer that validations wait on.
pub async fn deliver_due(vendor: &Vendor, client: &reqwest::Client) -> usize {
    let store = vendor.store();
    let now = vendor.now();
    // Held for this try (and a timeout's worth more); another instance skips them.
    let held = now + chrono::Duration::from_std(ANSWER_WITHIN * 3).unwrap_or_default();
    let due = match store.claim_due_deliveries(now, held, PER_ROUND).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the webhook deliveries due");
            return 0;
        }
    };
    if due.is_empty() {
        return 0;
    }
    let hooks = &store.webhooks().await.unwrap_or_default();
    let mut tries = Vec::with_capacity(due.len());
    for round in due.chunks(AT_ONCE) {
        let posts = round.iter().map(|delivery| async move {
            let status = match hooks.iter().find(|h| h.id == delivery.webhook_id) {
                Some(hook) => post(vendor, client, &hook.url, &hook.secret, delivery).await,
                None => Err("the webhook was removed".into()),
            };
            attempt(vendor, delivery, status)
        });
        tries.extend(futures_util::future::join_all(posts).await);
    }
    if let Err(e) = store.record_attempts(&tries).await {
        tracing::warn!(error = %e, deliveries = tries.len(), "cannot record the webhook tries");
    }
    tries.len()
}

/// Posts one delivery: `Ok(status)` for a 2xx, `Err(what happened)` otherwise.
async fn post(
    vendor: &Vendor,
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: &DeliveryRow,
) -> Result<String, String> {
    let timestamp = vendor.now().timestamp();
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(secret, timestamp, &delivery.body))
        .header("Tenure-Event", &delivery.event)
        .header("Tenure-Delivery", &delivery.id)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16().to_string()),
        Ok(answer) => Err(answer.status().as_u16().to_string()),
        Err(e) if e.is_timeout() => Err("no answer within 10 s".into()),
        Err(e) => Err(format!("could not connect ({e})")),
    }
}

/// What a try comes to: delivered, tried again after the backoff, or given up.
fn attempt(vendor: &Vendor, delivery: &DeliveryRow, status: Result<String, String>) -> Attempt {
    let now = vendor.now();
    let (said, delivered, next) = match status {
        Ok(said) => (said, Some(now), None),
        Err(said) => {
            let wait = backoff(vendor.webhook_retry(), delivery.attempts + 1);
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            if next - delivery.created_at > GIVE_UP_AFTER {
                let tries = delivery.attempts + 1;
                (
                    format!("{said}; given up after {tries} tries in a day"),
                    None,
                    None,
                )
            } else {
                (said, None, Some(next))
            }
        }
    };
    Attempt {
        id: delivery.id.clone(),
        status: said,
        delivered,
        next,
    }
}

/// Owes `grace.ending` for each license in use whose offline grace ends within 7 days
/// (once per license and end).
pub async fn owe_grace_endings(vendor: &Vendor) {
    let now = vendor.now();
    let candidates = match vendor
        .store()
        .grace_candidates(now - chrono::Duration::days(400))
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for grace ending soon");
            return;
        }
    };
    for row in candidates {
        let Some(validated) = row.last_validated_at else {
            continue;
        };
        let by_validation = validated + chrono::Duration::days(i64::from(row.terms.grace_days));
        let ends = row
            .grace_extended_until
            .map_or(by_validation, |extended| extended.max(by_validation));
        if ends <= now || ends > now + chrono::Duration::days(7) {
            continue;
        }
        let data = serde_json::json!({
            "license_id": row.id,
            "account": row.account,
            "grace_ends_at": ends.to_rfc3339(),
        });
        let once = format!("grace:{}:{}", row.id, ends.timestamp());
        vendor.emit(Event::GraceEnding, data, Some(once)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let now = Utc::now();
        let header = sign("whsec_1", now.timestamp(), "{\"a\":1}");
        assert!(verify("whsec_1", &header, "{\"a\":1}", now));
        assert!(!verify("whsec_2", &header, "{\"a\":1}", now));
        assert!(!verify("whsec_1", &header, "{\"a\":2}", now));
        assert!(!verify(
            "whsec_1",
            &header,
            "{\"a\":1}",
            now + chrono::Duration::minutes(6)
        ));
        assert!(!verify("whsec_1", "t=1,v1=zz", "{\"a\":1}", now));
    }

    #[test]
    fn tries_back_off_doubling_up_to_an_hour() {
        let first = Duration::from_secs(30);
        assert_eq!(backoff(first, 1), Duration::from_secs(30));
        assert_eq!(backoff(first, 2), Duration::from_mins(1));
        assert_eq!(backoff(first, 5), Duration::from_mins(8));
        assert_eq!(backoff(first, 40), MOST_BETWEEN_TRIES);
    }
}
