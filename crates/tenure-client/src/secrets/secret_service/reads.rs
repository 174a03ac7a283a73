//! Several entries read from the Secret Service in one exchange.
//!
//! A product's start reads three entries. One by one, through `secret-service`, that is nine
//! round trips to the keyring daemon (connect, session, and a search and a read per entry),
//! each waiting for the last. Here the session is opened and every search sent at once, then
//! the secrets are fetched together (`GetSecrets`): four round trips whatever the count.
//! Only plain reads of unlocked, unambiguous entries are answered here; anything else (a
//! locked item to unlock, duplicates to name) goes the slow way, in `secret-service`'s words.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use zbus::Connection;
use zbus::zvariant::{OwnedObjectPath, Value};

use super::super::request::{Attempt, KEYRING_SERVICE};
use super::TARGET;

const DESTINATION: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE: &str = "org.freedesktop.Secret.Service";

/// What a read found for one entry.
#[derive(Debug)]
pub(super) enum Found {
    /// The value, or `None` when there is no such entry.
    Value(Option<String>),
    /// Locked, several entries of that name, or not text: for the slow path to deal with.
    Slow,
}

/// What a search found for one entry.
enum Search {
    /// No such entry.
    Missing,
    /// One unlocked item.
    One(OwnedObjectPath),
    /// Locked, or several: for the slow path.
    Slow,
}

/// A connection of its own and the session opened on it, kept between reads.
#[derive(Default)]
pub(super) struct Reader {
    open: Option<(Connection, OwnedObjectPath)>,
}

/// `(session, parameters, value, content type)`, the protocol's `Secret` struct.
type Secret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

impl Reader {
    /// Reads `users`' entries, in order, on `runtime` (a current-thread runtime of the keyring
    /// thread: the connection's tasks run on it).
    pub(super) fn read(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        users: &[&str],
    ) -> Result<Vec<Found>, Attempt> {
        let open = self.open.take();
        let result = runtime.block_on(async {
            let (conn, session) = match open {
                Some(open) => (open.0, Some(open.1)),
                None => (Connection::session().await?, None),
            };
            let session_ready = async {
                match session {
                    Some(session) => Ok(session),
                    None => open_session(&conn).await,
                }
            };
            let searches = try_join_all(users.iter().map(|user| search(&conn, user)));
            let (session, found) = tokio::try_join!(session_ready, searches)?;
            let values = read_secrets(&conn, &session, &found).await?;
            Ok::<_, zbus::Error>(((conn, session), values))
        });
        match result {
            Ok((open, values)) => {
                self.open = Some(open);
                Ok(values)
            }
            // The connection is dropped; the next read opens another.
            Err(e) => Err(Attempt::Retry(e.to_string())),
        }
    }
}

async fn open_session(conn: &Connection) -> zbus::Result<OwnedObjectPath> {
    let reply = conn
        .call_method(
            Some(DESTINATION),
            SERVICE_PATH,
            Some(SERVICE),
            "OpenSession",
            &("plain", Value::from("")),
        )
        .await?;
    let (_, session): (zbus::zvariant::OwnedValue, OwnedObjectPath) = reply.body().deserialize()?;
    Ok(session)
}

async fn search(conn: &Connection, user: &str) -> zbus::Result<Search> {
    let attributes = HashMap::from([
        ("service", KEYRING_SERVICE),
        ("username", user),
        ("target", TARGET),
    ]);
    let reply = conn
        .call_method(
            Some(DESTINATION),
            SERVICE_PATH,
            Some(SERVICE),
            "SearchItems",
            &(attributes,),
        )
        .await?;
    let (mut unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
        reply.body().deserialize()?;
    Ok(
        match (unlocked.pop(), unlocked.is_empty() && locked.is_empty()) {
            (None, true) => Search::Missing,
            (Some(item), true) => Search::One(item),
            _ => Search::Slow,
        },
    )
}

async fn read_secrets(
    conn: &Connection,
    session: &OwnedObjectPath,
    found: &[Search],
) -> zbus::Result<Vec<Found>> {
    let items: Vec<&OwnedObjectPath> = found
        .iter()
        .filter_map(|search| match search {
            Search::One(item) => Some(item),
            Search::Missing | Search::Slow => None,
        })
        .collect();
    let mut secrets: HashMap<OwnedObjectPath, Secret> = HashMap::new();
    if !items.is_empty() {
        let reply = conn
            .call_method(
                Some(DESTINATION),
                SERVICE_PATH,
                Some(SERVICE),
                "GetSecrets",
                &(items, session),
            )
            .await?;
        secrets = reply.body().deserialize()?;
    }
    Ok(found
        .iter()
        .map(|search| match search {
            Search::Slow => Found::Slow,
            Search::Missing => Found::Value(None),
            Search::One(item) => match secrets.remove(item) {
                Some((_, _, value, _)) => {
                    String::from_utf8(value).map_or(Found::Slow, |text| Found::Value(Some(text)))
                }
                // Locked since the search, or gone: the slow path says which.
                None => Found::Slow,
            },
        })
        .collect())
}
