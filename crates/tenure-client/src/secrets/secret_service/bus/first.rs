//! A new connection's first read, written out so that nothing waits that need not: signing in
//! to the bus, `Hello` and the searches leave in one write, where zbus waits for the bus to
//! answer the first two before it sends anything else (two round trips through the bus daemon,
//! most of a millisecond of a product's start on a busy machine).
//!
//! Only the exchange is by hand; zbus builds every message and zvariant reads every answer.
//! The order is the one that keeps GNOME Keyring up (see `bus.rs`): searches first, the session
//! once a search is answered, then the secrets. Anything unexpected ends the exchange with an
//! error, and the caller makes the read again over a zbus connection.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use zbus::Message;
use zbus::zvariant::serialized::{Context, Data};
use zbus::zvariant::{DynamicType, Endian, OwnedObjectPath, OwnedValue};

use super::{
    DESTINATION, Found, Items, SERVICE, SERVICE_PATH, Secret, attributes, plain_session, readable,
    values,
};

/// The longest the exchange may take: the keyring thread never hangs on a silent bus.
const PATIENCE: Duration = Duration::from_secs(5);
/// The protocol's largest message: a length above it is a broken stream, not a message.
const LARGEST: usize = 128 * 1024 * 1024;

/// Reads `users`' entries over a new connection to the session bus at `address`.
pub(super) fn read(
    address: &std::os::unix::net::SocketAddr,
    users: &[&str],
) -> Result<Vec<Found>, String> {
    let mut wire = Wire::open(address)?;
    let hello = call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "org.freedesktop.DBus",
        "Hello",
        &(),
    )?;
    let mut out = format!("\0AUTH EXTERNAL {}\r\nBEGIN\r\n", hex_uid()?).into_bytes();
    out.extend_from_slice(hello.data().bytes());
    // Each search, by its serial: which entry, and whether it was asked again already.
    let mut searches = HashMap::new();
    for (index, user) in users.iter().enumerate() {
        let search = search_call(user)?;
        out.extend_from_slice(search.data().bytes());
        searches.insert(serial(&search), (index, false));
    }
    wire.send(&out)?;
    wire.signed_in()?;

    let mut found: Vec<Option<Items>> = users.iter().map(|_| None).collect();
    let mut session_call: Option<u32> = None;
    let mut session: Option<OwnedObjectPath> = None;
    while session.is_none() || found.iter().any(Option::is_none) {
        let reply = wire.next_reply()?;
        if Some(reply.to) == session_call {
            let (_, path): (OwnedValue, OwnedObjectPath) = reply.body()?;
            session = Some(path);
            continue;
        }
        // The bus's own answers (`Hello`, `NameAcquired`) are not waited for.
        let Some((index, asked_again)) = searches.remove(&reply.to) else {
            continue;
        };
        match (&reply.error, asked_again) {
            // The race that would abort the daemon on `OpenSession` fails a search instead,
            // and the daemon knows the caller right after: asked again, once.
            (Some(_), false) => {
                let again = search_call(users[index])?;
                wire.send(again.data().bytes())?;
                searches.insert(serial(&again), (index, true));
            }
            (Some(error), true) => return Err(format!("the keyring refused a search: {error}")),
            (None, _) => {
                let (unlocked, locked) = reply.body()?;
                found[index] = Some(Items { unlocked, locked });
                if session_call.is_none() {
                    let open = call(
                        SERVICE_PATH,
                        SERVICE,
                        DESTINATION,
                        "OpenSession",
                        &plain_session(),
                    )?;
                    wire.send(open.data().bytes())?;
                    session_call = Some(serial(&open));
                }
            }
        }
    }
    let found: Vec<Items> = found.into_iter().flatten().collect();
    let (Some(session), true) = (session, found.len() == users.len()) else {
        return Err("the keyring's answers did not add up".into());
    };
    let items = readable(&found);
    let mut secrets: HashMap<OwnedObjectPath, Secret> = HashMap::new();
    if !items.is_empty() {
        let get = call(
            SERVICE_PATH,
            SERVICE,
            DESTINATION,
            "GetSecrets",
            &(items, &session),
        )?;
        wire.send(get.data().bytes())?;
        loop {
            let reply = wire.next_reply()?;
            if reply.to == serial(&get) {
                secrets = reply.body()?;
                break;
            }
        }
    }
    Ok(values(&found, secrets))
}

/// A method call, built and numbered by zbus.
fn call<B>(
    path: &str,
    interface: &str,
    destination: &str,
    member: &str,
    body: &B,
) -> Result<Message, String>
where
    B: serde::Serialize + DynamicType,
{
    Message::method(path, member)
        .and_then(|m| m.interface(interface))
        .and_then(|m| m.destination(destination))
        .and_then(|m| m.build(body))
        .map_err(|e| e.to_string())
}

fn search_call(user: &str) -> Result<Message, String> {
    call(
        SERVICE_PATH,
        SERVICE,
        DESTINATION,
        "SearchItems",
        &(attributes(user),),
    )
}

fn serial(message: &Message) -> u32 {
    message.primary_header().serial_num().get()
}

/// This process's user, as the bus's `EXTERNAL` sign-in spells it: the decimal id, in hex.
fn hex_uid() -> Result<String, String> {
    let uid = std::fs::metadata("/proc/self")
        .map_err(|e| e.to_string())?
        .uid();
    Ok(hex::encode(uid.to_string()))
}

/// A message's header: endianness, kind, flags, version, body length, serial, fields.
type Header = (u8, u8, u8, u8, u32, u32, Vec<(u8, OwnedValue)>);

/// An answer to one of our calls.
struct Reply {
    /// The serial of the call it answers.
    to: u32,
    /// The error's name, when it is one.
    error: Option<String>,
    endian: Endian,
    body: Vec<u8>,
}

impl Reply {
    fn body<T>(&self) -> Result<T, String>
    where
        T: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
    {
        if let Some(error) = &self.error {
            return Err(format!("the keyring answered {error}"));
        }
        Data::new(&self.body[..], Context::new_dbus(self.endian, 0))
            .deserialize()
            .map(|(value, _)| value)
            .map_err(|e| e.to_string())
    }
}

/// The connection: a socket and what has come in on it, not yet read as messages.
struct Wire {
    stream: UnixStream,
    incoming: Vec<u8>,
}

impl Wire {
    fn open(address: &std::os::unix::net::SocketAddr) -> Result<Self, String> {
        let stream = UnixStream::connect_addr(address).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(PATIENCE))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(PATIENCE))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            stream,
            incoming: Vec::new(),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).map_err(|e| e.to_string())
    }

    /// Reads until `len` bytes have come in.
    fn fill(&mut self, len: usize) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        while self.incoming.len() < len {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the bus closed the connection".into()),
                Ok(n) => self.incoming.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    /// The bus's answer to the sign-in: `OK <guid>`, then messages.
    fn signed_in(&mut self) -> Result<(), String> {
        loop {
            if let Some(end) = self.incoming.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.incoming.drain(..end + 2).collect();
                return if line.starts_with(b"OK ") {
                    Ok(())
                } else {
                    Err(format!(
                        "the bus refused to sign in: {}",
                        String::from_utf8_lossy(&line).trim()
                    ))
                };
            }
            let have = self.incoming.len();
            if have > 512 {
                return Err("the bus's sign-in answer is too long".into());
            }
            self.fill(have + 1)?;
        }
    }

    /// The next method return or error (signals are passed over).
    fn next_reply(&mut self) -> Result<Reply, String> {
        loop {
            self.fill(16)?;
            let endian = match self.incoming[0] {
                b'l' => Endian::Little,
                b'B' => Endian::Big,
                other => return Err(format!("not a D-Bus message (starts with {other:#x})")),
            };
            let word = |at: usize| {
                let bytes = [
                    self.incoming[at],
                    self.incoming[at + 1],
                    self.incoming[at + 2],
                    self.incoming[at + 3],
                ];
                usize::try_from(match endian {
                    Endian::Little => u32::from_le_bytes(bytes),
                    Endian::Big => u32::from_be_bytes(bytes),
                })
                .unwrap_or(usize::MAX)
            };
            let kind = self.incoming[1];
            let (body_len, fields_len) = (word(4), word(12));
            let header_end = 16usize.saturating_add(fields_len);
            let body_start = header_end.saturating_add(7) & !7;
            let total = body_start.saturating_add(body_len);
            if total > LARGEST {
                return Err("a D-Bus message longer than the protocol allows".into());
            }
            self.fill(total)?;
            let message: Vec<u8> = self.incoming.drain(..total).collect();
            // Method returns (2) and errors (3); calls and signals are not for us.
            if kind != 2 && kind != 3 {
                continue;
            }
            let (header, _): (Header, _) =
                Data::new(&message[..header_end], Context::new_dbus(endian, 0))
                    .deserialize()
                    .map_err(|e| format!("a D-Bus header that cannot be read: {e}"))?;
            let mut to = None;
            let mut error = None;
            for (code, value) in header.6 {
                match code {
                    // ERROR_NAME and REPLY_SERIAL.
                    4 => error = String::try_from(value).ok(),
                    5 => to = u32::try_from(value).ok(),
                    _ => {}
                }
            }
            let Some(to) = to else { continue };
            let error = if kind == 3 {
                Some(error.unwrap_or_else(|| "an error".into()))
            } else {
                None
            };
            return Ok(Reply {
                to,
                error,
                endian,
                body: message[body_start..].to_vec(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::request::{Op, Outcome};
    use crate::secrets::secret_service::Backend;

    /// Written out by hand, the first read finds what the keyring holds and says which entries
    /// are not there, in the order asked, on the real keyring.
    #[test]
    fn the_first_read_finds_entries_in_order() {
        let address = super::super::session_address()
            .unwrap_or_else(|| panic!("no session bus: {}", tenure_testkit::KEYRING_HINT));
        let user = format!("first-read-{}", std::process::id());
        let mut backend = Backend::default();
        let written = backend.run(&user, &Op::Set("held".into()));
        assert!(
            matches!(written, Ok(Outcome::Done)),
            "{written:?}: {}",
            tenure_testkit::KEYRING_HINT
        );
        let found = read(&address, &["first-read-absent", &user]);
        let _ = backend.run(&user, &Op::Delete);
        let found = found.expect("the first read");
        assert!(matches!(&found[0], Found::Value(None)), "{found:?}");
        assert!(
            matches!(&found[1], Found::Value(Some(v)) if v == "held"),
            "{found:?}"
        );
    }
}
