//! Tenure's own connection to the Secret Service: reads of several entries in one exchange,
//! and plain writes, with the session opened only once the daemon knows the caller.
//!
//! A product's start reads three entries. One by one, through `secret-service`, that is nine
//! round trips to the keyring daemon (connect, session, and a search and a read per entry),
//! each waiting for the last. Here the searches are sent at once and the secrets fetched
//! together (`GetSecrets`). Only plain reads and writes of unlocked, unambiguous entries are
//! done here; anything else (a locked item to unlock, a prompt, duplicates to name) goes the
//! slow way, in `secret-service`'s words.
//!
//! GNOME Keyring (42 to 50 at least) aborts — taking every application's secrets with it,
//! and coming back locked — when `OpenSession` is the first call of a new connection and is
//! handled before the daemon has recorded the caller (GNOME/gnome-keyring#183, #190, #194).
//! So a new connection first searches, and asks for a session once the daemon has answered.

mod first;
mod writes;

use std::collections::HashMap;

use futures_util::future::try_join_all;
use zbus::Connection;
use zbus::zvariant::{OwnedObjectPath, Value};

use super::super::request::{Attempt, KEYRING_SERVICE, Op, Outcome};
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

/// The items a search found for one entry.
struct Items {
    unlocked: Vec<OwnedObjectPath>,
    locked: Vec<OwnedObjectPath>,
}

impl Items {
    /// The one unlocked item, `Ok(None)` when there is none, `Err` when the slow path must
    /// look (locked, or several).
    fn single(&self) -> Result<Option<&OwnedObjectPath>, ()> {
        match (self.unlocked.as_slice(), self.locked.is_empty()) {
            ([], true) => Ok(None),
            ([item], true) => Ok(Some(item)),
            _ => Err(()),
        }
    }
}

/// A connection of its own and the session opened on it, kept between calls.
#[derive(Default)]
pub(super) struct Bus {
    open: Option<(Connection, OwnedObjectPath)>,
}

impl Bus {
    /// Reads `users`' entries, in order, over a connection of their own written out by hand
    /// (see `first.rs`), while no connection is kept: `None` when there is one, or when the
    /// exchange did not go as planned (then [`Self::read`] reads them).
    pub(super) fn first_read(&self, users: &[&str]) -> Option<Vec<Found>> {
        if self.open.is_some() || users.is_empty() {
            return None;
        }
        first::read(&session_address()?, users)
            .inspect_err(
                |e| tracing::debug!(error = %e, "the keyring's first read goes through zbus"),
            )
            .ok()
    }

    /// Reads `users`' entries, in order, on `runtime` (a current-thread runtime of the keyring
    /// thread: the connection's tasks run on it).
    pub(super) fn read(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        users: &[&str],
    ) -> Result<Vec<Found>, Attempt> {
        let Some((first, rest)) = users.split_first() else {
            return Ok(Vec::new());
        };
        let open = self.open.take();
        self.keep(runtime.block_on(async {
            let (conn, session, found) = searched(open, first, rest).await?;
            let values = read_secrets(&conn, &session, &found).await?;
            Ok(((conn, session), values))
        }))
    }

    /// Writes or deletes the entry named `user` where it is plain to do (unlocked, no prompt):
    /// `None` leaves it to the slow path.
    pub(super) fn write(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        user: &str,
        op: &Op,
    ) -> Result<Option<Outcome>, Attempt> {
        let open = self.open.take();
        self.keep(runtime.block_on(async {
            let (conn, session, found) = searched(open, user, &[]).await?;
            let outcome = match found.first() {
                Some(items) => writes::write(&conn, &session, user, op, items).await?,
                None => None,
            };
            Ok(((conn, session), outcome))
        }))
    }

    /// Keeps the connection of a call that worked; one that failed is dropped, and the next
    /// call opens another.
    fn keep<T>(
        &mut self,
        result: zbus::Result<((Connection, OwnedObjectPath), T)>,
    ) -> Result<T, Attempt> {
        match result {
            Ok((open, value)) => {
                self.open = Some(open);
                Ok(value)
            }
            Err(e) => Err(Attempt::Retry(e.to_string())),
        }
    }
}

/// The searches of `first` and `rest`, in order, on the kept connection and session `open`,
/// or on a new connection, safely: every search goes at once and the session is asked for
/// once the first is answered, while the daemon works on the others (a search, not
/// `OpenSession`, is a new connection's first call: see above).
async fn searched(
    open: Option<(Connection, OwnedObjectPath)>,
    first: &str,
    rest: &[&str],
) -> zbus::Result<(Connection, OwnedObjectPath, Vec<Items>)> {
    let users = std::iter::once(first).chain(rest.iter().copied());
    if let Some((conn, session)) = open {
        let found = try_join_all(users.map(|user| search(&conn, user))).await?;
        return Ok((conn, session, found));
    }
    let conn = connect().await?;
    let first_then_session = async {
        let found = early_search(&conn, first).await?;
        Ok::<_, zbus::Error>((found, open_session(&conn).await?))
    };
    let searches = try_join_all(rest.iter().map(|user| early_search(&conn, user)));
    let ((first, session), more) = tokio::try_join!(first_then_session, searches)?;
    let found = std::iter::once(first).chain(more).collect();
    Ok((conn, session, found))
}

/// Connects to the session bus. zbus connects a Unix socket on a thread it starts for the
/// purpose (a few hundred microseconds of a product's start); connecting a local socket does
/// not block, so it is done here. Addresses other than a socket path or name go through zbus.
async fn connect() -> zbus::Result<Connection> {
    match session_socket() {
        Some(stream) => zbus::connection::Builder::unix_stream(stream).build().await,
        None => Connection::session().await,
    }
}

fn session_socket() -> Option<tokio::net::UnixStream> {
    let stream = std::os::unix::net::UnixStream::connect_addr(&session_address()?).ok()?;
    stream.set_nonblocking(true).ok()?;
    tokio::net::UnixStream::from_std(stream).ok()
}

/// The session bus's socket, when it is a socket path or name (else zbus connects).
fn session_address() -> Option<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::net::SocketAddr;
    use zbus::address::transport::{Transport, UnixSocket};
    let address = zbus::Address::session().ok()?;
    let Transport::Unix(unix) = address.transport() else {
        return None;
    };
    match unix.path() {
        UnixSocket::File(path) => SocketAddr::from_pathname(path).ok(),
        UnixSocket::Abstract(name) => SocketAddr::from_abstract_name(name.as_encoded_bytes()).ok(),
        _ => None,
    }
}

/// A search on a new connection, before the session is asked for. The race that would abort
/// the daemon on `OpenSession` makes a search fail instead ("not implemented"), and the
/// daemon records the caller right after: the search is made again.
async fn early_search(conn: &Connection, user: &str) -> zbus::Result<Items> {
    match search(conn, user).await {
        Err(zbus::Error::MethodError(..)) => search(conn, user).await,
        found => found,
    }
}

/// `OpenSession`'s arguments: the "plain" transfer (why: see `secret_service/mod.rs`), which
/// takes no input.
fn plain_session() -> (&'static str, Value<'static>) {
    ("plain", Value::from(""))
}

async fn open_session(conn: &Connection) -> zbus::Result<OwnedObjectPath> {
    let reply = conn
        .call_method(
            Some(DESTINATION),
            SERVICE_PATH,
            Some(SERVICE),
            "OpenSession",
            &plain_session(),
        )
        .await?;
    let (_, session): (zbus::zvariant::OwnedValue, OwnedObjectPath) = reply.body().deserialize()?;
    Ok(session)
}

/// The attributes `keyring` 3 files an entry under, which find it.
fn attributes(user: &str) -> HashMap<&str, &str> {
    HashMap::from([
        ("service", KEYRING_SERVICE),
        ("username", user),
        ("target", TARGET),
    ])
}

async fn search(conn: &Connection, user: &str) -> zbus::Result<Items> {
    let reply = conn
        .call_method(
            Some(DESTINATION),
            SERVICE_PATH,
            Some(SERVICE),
            "SearchItems",
            &(attributes(user),),
        )
        .await?;
    let (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
        reply.body().deserialize()?;
    Ok(Items { unlocked, locked })
}

/// `(session, parameters, value, content type)`, the protocol's `Secret` struct.
type Secret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

async fn read_secrets(
    conn: &Connection,
    session: &OwnedObjectPath,
    found: &[Items],
) -> zbus::Result<Vec<Found>> {
    let items = readable(found);
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
    Ok(values(found, secrets))
}

/// The items whose secrets are fetched: each entry's one unlocked item (the rest go the slow
/// way, see [`values`]).
fn readable(found: &[Items]) -> Vec<&OwnedObjectPath> {
    found
        .iter()
        .filter_map(|items| items.single().ok().flatten())
        .collect()
}

/// What each entry holds, from its search and the secrets fetched.
fn values(found: &[Items], mut secrets: HashMap<OwnedObjectPath, Secret>) -> Vec<Found> {
    found
        .iter()
        .map(|items| match items.single() {
            Err(()) => Found::Slow,
            Ok(None) => Found::Value(None),
            Ok(Some(item)) => match secrets.remove(item) {
                Some((_, _, value, _)) => {
                    String::from_utf8(value).map_or(Found::Slow, |text| Found::Value(Some(text)))
                }
                // Locked since the search, or gone: the slow path says which.
                None => Found::Slow,
            },
        })
        .collect()
}
