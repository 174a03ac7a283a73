//! GNOME Keyring (42 to 50 at least) aborts — and comes back locked, for every application —
//! when a connection's first call is `OpenSession` and is handled before the daemon has
//! recorded the caller (gnome-keyring#183, #190, #194). A product starting often met it about
//! once in a few thousand starts. Every connection Tenure opens to the Secret Service makes
//! another call first: this watches the bus (`dbus-monitor`) while a fresh process reads, as a
//! product's start does, and another writes first. Run under `scripts/with-keyring`.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tenure_client::SecretStore;

/// Set in the children this test starts: `read` or `write`, their first keyring call.
const CHILD: &str = "TENURE_TEST_FIRST_CALL_CHILD";

fn store() -> SecretStore {
    SecretStore::keyring_on("first-call-test", "first-call-test-machine")
}

/// A child's part: a fresh process whose first keyring call is a read, or a write.
fn child(first: &str) {
    let store = store();
    let hint = tenure_testkit::KEYRING_HINT;
    if first == "write" {
        store
            .set("cache-key", "value")
            .unwrap_or_else(|e| panic!("{e}\n{hint}"));
        let read = store.get("cache-key").expect("read back");
        assert_eq!(read.as_deref(), Some("value"));
        store.delete("cache-key").expect("delete");
    } else {
        store
            .get("cache-key")
            .unwrap_or_else(|e| panic!("{e}\n{hint}"));
    }
}

/// `dbus-monitor` on the Secret Service's method calls, its lines as they come.
struct Monitor {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Monitor {
    fn start() -> Self {
        let mut child = Command::new("dbus-monitor")
            .args([
                "--session",
                "type='method_call',destination='org.freedesktop.secrets'",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-monitor runs (Debian: apt install dbus-bin)");
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::sync_channel(4096);
        std::thread::Builder::new()
            .name("dbus-monitor output".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            })
            .expect("a thread");
        let mut monitor = Self {
            child,
            lines,
            seen: Vec::new(),
        };
        monitor.mark("ready");
        monitor
    }

    /// Pings the Secret Service until the ping shows: everything sent before it has shown too.
    fn mark(&mut self, why: &str) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            let pinged = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets",
                    "org.freedesktop.DBus.Peer.Ping",
                ])
                .stdout(Stdio::null())
                .status()
                .expect("dbus-send runs");
            assert!(
                pinged.success(),
                "the Secret Service does not answer a ping"
            );
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let ping = line.contains("member=Ping");
                self.seen.push(line);
                if ping {
                    return;
                }
            }
        }
        panic!("dbus-monitor showed nothing ({why})");
    }

    /// Each connection's calls, in order, by sender (pings left out).
    fn calls(&self) -> BTreeMap<String, Vec<String>> {
        let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in &self.seen {
            let field = |name: &str| {
                line.split([' ', ';'])
                    .find_map(|part| part.strip_prefix(name))
                    .map(str::to_owned)
            };
            if let (Some(sender), Some(member)) = (field("sender="), field("member="))
                && member != "Ping"
            {
                calls.entry(sender).or_default().push(member);
            }
        }
        calls
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn no_connection_opens_its_session_first() {
    if let Ok(first) = std::env::var(CHILD) {
        child(&first);
        return;
    }
    let mut monitor = Monitor::start();
    for first in ["read", "write"] {
        let status = Command::new(std::env::current_exe().expect("this test"))
            .args(["--exact", "no_connection_opens_its_session_first"])
            .env(CHILD, first)
            .stdout(Stdio::null())
            .status()
            .expect("the child runs");
        assert!(status.success(), "the child that {first}s first failed");
    }
    monitor.mark("done");

    let calls = monitor.calls();
    let with_session = calls
        .values()
        .filter(|members| members.iter().any(|m| m == "OpenSession"))
        .count();
    assert!(with_session >= 2, "each child opens a session: {calls:#?}");
    for (sender, members) in &calls {
        assert_ne!(
            members.first().map(String::as_str),
            Some("OpenSession"),
            "{sender} opened its session first: {members:?}"
        );
    }
}
