//! `webhook`: where the vendor hears of events — add, list, remove, the delivery log, replay.

use anyhow::Result;
use clap::Subcommand;
use tenure_server::Vendor;
use tenure_server::service::Event;

#[derive(Subcommand)]
pub(super) enum WebhookCommand {
    /// Post events to URL, signed with a secret printed once (`Tenure-Signature`, see README).
    Add {
        /// Where to post (https://…).
        url: String,
        /// The events, comma-separated (all when left out): `license.created`,
        /// `license.activated`, `license.moved`, `license.revoked`, `validation.refused`,
        /// `grace.ending`, `seat_pool.full`.
        #[arg(long, value_delimiter = ',', value_parser = parse_event)]
        events: Vec<Event>,
    },
    /// The webhooks.
    List,
    /// Post nothing more to a webhook (its delivery log stays).
    Remove {
        /// Its id (wh_…).
        id: String,
    },
    /// The latest 50 deliveries, newest first.
    Deliveries {
        /// Only this webhook's.
        #[arg(long)]
        webhook: Option<String>,
    },
    /// Post a delivery again, as it was first sent.
    Replay {
        /// The delivery's id (whd_…).
        id: String,
    },
}

fn parse_event(text: &str) -> Result<Event, String> {
    text.parse()
}

const BY: &str = "the command line";

pub(super) async fn run(vendor: &Vendor, command: WebhookCommand) -> Result<()> {
    let webhooks = vendor.webhooks();
    match command {
        WebhookCommand::Add { url, events } => {
            let added = webhooks.add(&url, &events, BY).await?;
            println!("{}", added.id);
            println!("secret: {}", added.secret);
            eprintln!("keep the secret where the receiver can read it: it is not shown again");
        }
        WebhookCommand::List => {
            for hook in webhooks.list().await? {
                let state = if hook.disabled { "removed" } else { "active" };
                println!(
                    "{}  {}  {}  {}",
                    hook.id,
                    state,
                    hook.url,
                    hook.events.join(",")
                );
            }
        }
        WebhookCommand::Remove { id } => {
            webhooks.remove(&id, BY).await?;
            eprintln!("{id} removed: nothing more is posted to it");
        }
        WebhookCommand::Deliveries { webhook } => {
            for d in webhooks.deliveries(webhook.as_deref()).await? {
                let state = match (d.delivered_at, d.next_attempt_at) {
                    (Some(at), _) => format!("delivered {}", at.format("%Y-%m-%d %H:%M:%S")),
                    (None, Some(next)) => format!("next try {}", next.format("%Y-%m-%d %H:%M:%S")),
                    (None, None) => "given up".to_owned(),
                };
                println!(
                    "{}  {}  {}  tries {}  {}  last: {}",
                    d.id,
                    d.webhook_id,
                    d.event,
                    d.attempts,
                    state,
                    d.last_status.as_deref().unwrap_or("-")
                );
            }
        }
        WebhookCommand::Replay { id } => {
            webhooks.replay(&id, BY).await?;
            eprintln!("{id} is owed again: a serving instance posts it within a second");
        }
    }
    Ok(())
}
