//! Webhooks as the vendor manages them (`tenure-server webhook …`, the console), and the events
//! the service owes them. Owing a delivery writes a row; posting it is the delivery worker's
//! (`crate::webhooks`), so no answer to a workstation waits on a vendor's receiver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Denial, Vendor, random_token};
use crate::store::{DeliveryRow, NewDelivery, WebhookRow};

/// How long an instance trusts its list of webhooks before reading it again (one added from
/// the command line or another instance is heard within this).
const SUBSCRIPTIONS_FOR: Duration = Duration::from_secs(5);

/// What a webhook can hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A license was created.
    LicenseCreated,
    /// A license was activated (or activated again by its account).
    LicenseActivated,
    /// A license moved to another database, or was released to move.
    LicenseMoved,
    /// A license was revoked.
    LicenseRevoked,
    /// Validations of a license were refused (counted per minute).
    ValidationRefused,
    /// A license's offline grace ends within 7 days.
    GraceEnding,
    /// A concurrent pool gave seats beyond its count (its workstation reported overdraft).
    SeatPoolFull,
}

impl Event {
    /// Every event, in the order the docs list them.
    pub const ALL: [Event; 7] = [
        Event::LicenseCreated,
        Event::LicenseActivated,
        Event::LicenseMoved,
        Event::LicenseRevoked,
        Event::ValidationRefused,
        Event::GraceEnding,
        Event::SeatPoolFull,
    ];

    /// Its name, as subscribed to and sent (`license.created`).
    pub fn name(self) -> &'static str {
        match self {
            Event::LicenseCreated => "license.created",
            Event::LicenseActivated => "license.activated",
            Event::LicenseMoved => "license.moved",
            Event::LicenseRevoked => "license.revoked",
            Event::ValidationRefused => "validation.refused",
            Event::GraceEnding => "grace.ending",
            Event::SeatPoolFull => "seat_pool.full",
        }
    }
}

impl std::str::FromStr for Event {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Event::ALL
            .into_iter()
            .find(|e| e.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
                format!("{s:?} is not an event: one of {}", names.join(", "))
            })
    }
}

/// The webhooks this instance read last, and when.
pub(super) type Subscriptions = tokio::sync::Mutex<Option<(Instant, Arc<Vec<WebhookRow>>)>>;

/// A webhook just added: its id and its secret (shown once).
#[derive(Debug, Clone)]
pub struct AddedWebhook {
    /// Its id.
    pub id: String,
    /// The HMAC key receivers verify deliveries with (`whsec_…`).
    pub secret: String,
}

/// The webhook operations of a [`Vendor`] (`vendor.webhooks()`).
pub struct Webhooks<'v> {
    pub(super) vendor: &'v Vendor,
}

impl Webhooks<'_> {
    /// Adds a webhook posting `events` (all when empty) to `url`.
    pub async fn add(&self, url: &str, events: &[Event], by: &str) -> Result<AddedWebhook, Denial> {
        let url = url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            return Err(Denial::Invalid(format!(
                "a webhook's URL starts with https:// (or http:// on a private network), not {url:?}"
            )));
        }
        let events = if events.is_empty() {
            &Event::ALL[..]
        } else {
            events
        };
        let names: Vec<String> = events.iter().map(|e| e.name().to_owned()).collect();
        let secret = random_token("whsec_");
        let vendor = self.vendor;
        let id = vendor
            .store
            .insert_webhook(url, &names, &secret, vendor.now())
            .await?;
        vendor.forget_subscriptions().await;
        vendor
            .record(None, "webhook", "added", &format!("{id} {url} by {by}"))
            .await;
        Ok(AddedWebhook { id, secret })
    }

    /// Every webhook.
    pub async fn list(&self) -> Result<Vec<WebhookRow>, Denial> {
        Ok(self.vendor.store.webhooks().await?)
    }

    /// Removes a webhook: nothing more is posted to it; its log stays.
    pub async fn remove(&self, id: &str, by: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        if !vendor.store.disable_webhook(id).await? {
            return Err(Denial::NotFound(format!("there is no webhook {id:?}")));
        }
        vendor.forget_subscriptions().await;
        vendor
            .record(None, "webhook", "removed", &format!("{id} by {by}"))
            .await;
        Ok(())
    }

    /// The latest deliveries (of one webhook, or all), newest first.
    pub async fn deliveries(&self, webhook_id: Option<&str>) -> Result<Vec<DeliveryRow>, Denial> {
        Ok(self.vendor.store.deliveries(webhook_id, 50).await?)
    }

    /// Owes a delivery again, as it was first sent (a receiver that lost it); returns the new
    /// delivery's id.
    pub async fn replay(&self, delivery_id: &str, by: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        let Some(old) = vendor.store.delivery(delivery_id).await? else {
            return Err(Denial::NotFound(format!(
                "there is no delivery {delivery_id:?}"
            )));
        };
        let again = NewDelivery {
            webhook_id: old.webhook_id,
            event: old.event,
            body: old.body,
            dedup_key: None,
        };
        vendor
            .store
            .owe_deliveries(vec![again], vendor.now())
            .await?;
        vendor
            .record(
                None,
                "webhook",
                "replayed",
                &format!("{delivery_id} by {by}"),
            )
            .await;
        Ok(())
    }
}

impl Vendor {
    /// Webhooks: add, list, remove, the delivery log, replay.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { vendor: self }
    }

    /// The webhooks enabled now (read again after [`SUBSCRIPTIONS_FOR`]).
    async fn subscriptions(&self) -> Arc<Vec<WebhookRow>> {
        let mut held = self.subscriptions.lock().await;
        if let Some((read_at, hooks)) = held.as_ref()
            && read_at.elapsed() < SUBSCRIPTIONS_FOR
        {
            return hooks.clone();
        }
        let hooks = match self.store.webhooks().await {
            Ok(all) => Arc::new(all.into_iter().filter(|h| !h.disabled).collect::<Vec<_>>()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhooks; events wait for the next read");
                Arc::new(Vec::new())
            }
        };
        *held = Some((Instant::now(), hooks.clone()));
        hooks
    }

    async fn forget_subscriptions(&self) {
        *self.subscriptions.lock().await = None;
    }

    /// Owes `event` to every webhook that hears it, with `data` as the body's `data`; `once`
    /// makes it owed once per webhook. A failure is traced, never returned: an event must not
    /// fail what caused it.
    pub(crate) async fn emit(&self, event: Event, data: serde_json::Value, once: Option<String>) {
        let hooks = self.subscriptions().await;
        let now = self.now();
        let owed: Vec<NewDelivery> = hooks
            .iter()
            .filter(|hook| hook.events.iter().any(|e| e == event.name()))
            .map(|hook| NewDelivery {
                webhook_id: hook.id.clone(),
                event: event.name().to_owned(),
                body: body(event, &data, now),
                dedup_key: once.clone(),
            })
            .collect();
        if owed.is_empty() {
            return;
        }
        if let Err(e) = self.store.owe_deliveries(owed, now).await {
            tracing::warn!(error = %e, event = event.name(), "cannot owe a webhook delivery");
        }
    }

    /// As [`Vendor::emit`], in the background: for a workstation's request, which must not wait.
    pub(super) fn emit_later(&self, event: Event, data: serde_json::Value, once: Option<String>) {
        let vendor = self.clone();
        tokio::spawn(async move { vendor.emit(event, data, once).await });
    }
}

/// A delivery's JSON body.
fn body(event: Event, data: &serde_json::Value, at: DateTime<Utc>) -> String {
    serde_json::json!({
        "event": event.name(),
        "at": at.to_rfc3339(),
        "data": data,
    })
    .to_string()
}
