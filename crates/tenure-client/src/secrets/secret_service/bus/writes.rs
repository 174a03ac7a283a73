//! Plain writes on Tenure's own connection: replace the one unlocked item's secret, or create
//! the item in the default collection, or delete. Whatever needs a prompt or an unlock is left
//! to the slow path (`None`), which speaks to the user's keyring in its own words.

use std::collections::HashMap;

use zbus::Connection;
use zbus::zvariant::{OwnedObjectPath, Value};

use super::super::super::request::{KEYRING_SERVICE, Op, Outcome};
use super::super::TARGET;
use super::{DESTINATION, Items, SERVICE, SERVICE_PATH, attributes};

const ITEM: &str = "org.freedesktop.Secret.Item";
const COLLECTION: &str = "org.freedesktop.Secret.Collection";
/// The path the protocol answers when no prompt is needed (and for "no such alias").
const NONE: &str = "/";

/// Carries out `op` on the entry `user` whose search found `items`; `None` when the slow path
/// must (locked, a prompt, the daemon refused).
pub(super) async fn write(
    conn: &Connection,
    session: &OwnedObjectPath,
    user: &str,
    op: &Op,
    items: &Items,
) -> zbus::Result<Option<Outcome>> {
    if !items.locked.is_empty() {
        return Ok(None);
    }
    let done = match op {
        Op::Get => return Ok(None),
        Op::Set(value) => set(conn, session, user, value, &items.unlocked).await,
        Op::Delete => delete_all(conn, &items.unlocked).await,
    };
    match done {
        Ok(true) => Ok(Some(Outcome::Done)),
        Ok(false) | Err(zbus::Error::MethodError(..)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn set(
    conn: &Connection,
    session: &OwnedObjectPath,
    user: &str,
    value: &str,
    unlocked: &[OwnedObjectPath],
) -> zbus::Result<bool> {
    let secret = (
        session,
        Vec::<u8>::new(),
        value.as_bytes().to_vec(),
        "text/plain",
    );
    if let [item] = unlocked {
        conn.call_method(Some(DESTINATION), item, Some(ITEM), "SetSecret", &(secret,))
            .await?;
        return Ok(true);
    }
    // None, or several to fold into one.
    if !delete_all(conn, unlocked).await? {
        return Ok(false);
    }
    let reply = conn
        .call_method(
            Some(DESTINATION),
            SERVICE_PATH,
            Some(SERVICE),
            "ReadAlias",
            &("default",),
        )
        .await?;
    let collection: OwnedObjectPath = reply.body().deserialize()?;
    if collection.as_str() == NONE {
        return Ok(false);
    }
    let mut filed = attributes(user);
    filed.insert("application", "rust-keyring");
    let properties = HashMap::from([
        (
            "org.freedesktop.Secret.Item.Label",
            Value::from(format!("{user}@{KEYRING_SERVICE}:{TARGET} (Tenure)")),
        ),
        ("org.freedesktop.Secret.Item.Attributes", Value::from(filed)),
    ]);
    let reply = conn
        .call_method(
            Some(DESTINATION),
            &collection,
            Some(COLLECTION),
            "CreateItem",
            &(properties, secret, true),
        )
        .await?;
    let (_, prompt): (OwnedObjectPath, OwnedObjectPath) = reply.body().deserialize()?;
    Ok(prompt.as_str() == NONE)
}

/// Deletes `items`; false when one asks for a prompt.
async fn delete_all(conn: &Connection, items: &[OwnedObjectPath]) -> zbus::Result<bool> {
    for item in items {
        let reply = conn
            .call_method(Some(DESTINATION), item, Some(ITEM), "Delete", &())
            .await?;
        let prompt: OwnedObjectPath = reply.body().deserialize()?;
        if prompt.as_str() != NONE {
            return Ok(false);
        }
    }
    Ok(true)
}
