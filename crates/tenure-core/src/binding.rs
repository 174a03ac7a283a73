//! Bindings: the (database server, database name) pair a license is tied to.
//!
//! Names are canonicalised before they are compared or signed, so two spellings of the same
//! server count as one: case and surrounding space are ignored, a default port is dropped, and the
//! local aliases `.`, `(local)`, `localhost`, `127.0.0.1`, `::1` and this machine's own host name
//! all become this machine's host name. A named instance (`HOST\INSTANCE`) is kept, because two
//! instances on one host are two servers. The local host name is passed in: this crate does no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Spellings that all mean "the machine this runs on".
const LOCAL_ALIASES: [&str; 6] = [".", "(local)", "localhost", "127.0.0.1", "::1", "[::1]"];

/// A canonical binding. Build one with [`Binding::new`] so both names are canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Binding {
    /// Canonical server name: `host`, `host:port` or `host\instance`.
    pub server: String,
    /// Canonical database name.
    pub database: String,
}

/// How a raw server name is read: which host means "here", and which port is the default.
#[derive(Debug, Clone, Copy)]
pub struct ServerContext<'a> {
    /// This machine's host name (any case; the first label is also matched).
    pub local_host: &'a str,
    /// The database engine's default port (5432 for PostgreSQL), dropped when given.
    pub default_port: Option<u16>,
}

impl Binding {
    /// Canonicalises both names.
    pub fn new(server: &str, database: &str, ctx: ServerContext<'_>) -> Self {
        Self {
            server: canonical_server(server, ctx),
            database: canonical_database(database),
        }
    }

    /// True when both names are equal (both sides are canonical already).
    pub fn matches(&self, other: &Binding) -> bool {
        self == other
    }

    /// What differs between the binding a license holds (`self`) and the current one, in words:
    /// `server srv1:5433 → srv2; database prod unchanged`.
    pub fn describe_change(&self, now: &Binding) -> String {
        let part = |label: &str, was: &str, is: &str| {
            if was == is {
                format!("{label} {was} unchanged")
            } else {
                format!("{label} {was} → {is}")
            }
        };
        format!(
            "{}; {}",
            part("server", &self.server, &now.server),
            part("database", &self.database, &now.database)
        )
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.server, self.database)
    }
}

/// Canonical database name: trimmed and lower-case.
pub fn canonical_database(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Canonical server name. Idempotent: canonicalising a canonical name returns it unchanged.
pub fn canonical_server(raw: &str, ctx: ServerContext<'_>) -> String {
    let once = canonical_server_once(raw, ctx);
    if canonical_server_once(&once, ctx) == once {
        once
    } else {
        // A name too odd to take apart (stray brackets and separators) is compared as written,
        // so that comparing stays stable.
        basic_form(raw)
    }
}

/// Trimmed, lower-case, no trailing dot.
fn basic_form(raw: &str) -> String {
    let text = raw.trim().to_lowercase();
    if text == "." {
        return text;
    }
    text.trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned()
}

fn canonical_server_once(raw: &str, ctx: ServerContext<'_>) -> String {
    let mut text = raw.trim().to_lowercase();
    if text != "." {
        // A trailing dot (fully qualified DNS name) names the same host.
        text = text
            .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
            .to_owned();
    }
    let local = ctx.local_host.trim().to_lowercase();

    // `HOST\INSTANCE`: a named instance is a server of its own; only the host part is an alias.
    if let Some((host, instance)) = text.split_once('\\') {
        return format!("{}\\{}", canonical_host(host, &local), instance.trim());
    }
    let (host, port) = split_port(&text);
    let host = canonical_host(host, &local);
    match port {
        Some(port) if Some(port) != ctx.default_port && host.contains(':') => {
            format!("[{host}]:{port}")
        }
        Some(port) if Some(port) != ctx.default_port => format!("{host}:{port}"),
        _ => host,
    }
}

/// Splits `host:port`, `[v6]:port` and the SQL Server form `host,port`; leaves bare IPv6 alone.
fn split_port(text: &str) -> (&str, Option<u16>) {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host, port);
    }
    for separator in [',', ':'] {
        if text.matches(separator).count() == 1
            && let Some((host, port)) = text.rsplit_once(separator)
            && let Ok(port) = port.trim().parse::<u16>()
        {
            return (host.trim(), Some(port));
        }
    }
    (text, None)
}

fn canonical_host(host: &str, local: &str) -> String {
    let host = host.trim();
    let is_alias = LOCAL_ALIASES.contains(&host);
    // A trailing dot (fully qualified DNS name) is the same host.
    let host = host.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let is_local = is_alias
        || host.is_empty()
        || (!local.is_empty() && (host == local || first_label(host) == first_label(local)));
    if is_local && !local.is_empty() {
        first_label(local).to_owned()
    } else {
        host.to_owned()
    }
}

/// `ws1.corp.example` → `ws1`, so a short and a fully qualified local name agree. IP addresses are
/// kept whole.
fn first_label(host: &str) -> &str {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    host.split('.').next().unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CTX: ServerContext<'static> = ServerContext {
        local_host: "WS-07.corp.example",
        default_port: Some(5432),
    };

    #[test]
    fn local_aliases_are_this_host() {
        for alias in [
            ".",
            "(local)",
            "localhost",
            "LOCALHOST ",
            "127.0.0.1",
            "::1",
            "[::1]",
            "ws-07",
            "WS-07.corp.example",
        ] {
            assert_eq!(canonical_server(alias, CTX), "ws-07", "alias {alias:?}");
        }
        assert_eq!(canonical_server("localhost:5432", CTX), "ws-07");
        assert_eq!(canonical_server("[::1]:5433", CTX), "ws-07:5433");
        assert_eq!(canonical_server("srv1", CTX), "srv1");
    }

    #[test]
    fn default_port_dropped_other_kept() {
        assert_eq!(canonical_server("SRV1:5432", CTX), "srv1");
        assert_eq!(canonical_server("srv1:5433", CTX), "srv1:5433");
        assert_eq!(canonical_server("srv1,1433", CTX), "srv1:1433");
    }

    #[test]
    fn named_instance_kept() {
        assert_eq!(
            canonical_server("SRV1\\SQLEXPRESS", CTX),
            "srv1\\sqlexpress"
        );
        assert_eq!(canonical_server("(local)\\prod", CTX), "ws-07\\prod");
        assert_ne!(
            canonical_server("srv1\\a", CTX),
            canonical_server("srv1\\b", CTX)
        );
    }

    #[test]
    fn describes_what_changed() {
        let was = Binding::new("SRV1:5432", "PROD", CTX);
        let now = Binding::new("srv2:5433", "prod", CTX);
        assert_eq!(
            was.describe_change(&now),
            "server srv1 → srv2:5433; database prod unchanged"
        );
        assert!(!was.matches(&now));
    }

    proptest! {
        #[test]
        fn canonicalisation_is_idempotent(raw in "[ a-zA-Z0-9.:,\\[\\]\\\\()-]{0,24}") {
            let once = canonical_server(&raw, CTX);
            prop_assert_eq!(canonical_server(&once, CTX), once.clone());
            let db = canonical_database(&raw);
            prop_assert_eq!(canonical_database(&db), db);
        }
    }
}
