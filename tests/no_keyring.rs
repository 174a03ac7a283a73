//! The window where the OS keyring cannot be reached: one plain sentence, Retry, and an
//! in-window opt-in to a plain secrets file; the license and the database are never
//! misreported. Its own test binary: it takes the keyring away from the whole process.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

#[path = "gui/support.rs"]
#[expect(
    dead_code,
    unused_imports,
    reason = "shared with the window's tests; not every helper is used here"
)]
mod support;

use support::*;

/// Set in the child process: the real session bus's socket, which the relay forwards to.
const REAL_BUS: &str = "TENURE_TEST_REAL_BUS";

/// The socket path of a `unix:path=…` D-Bus address.
fn bus_path(address: &str) -> std::path::PathBuf {
    let path = address
        .strip_prefix("unix:path=")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("a unix:path= session bus, not {address}"));
    std::path::PathBuf::from(path)
}

/// A relay in front of the session bus, in this process: closed, the keyring cannot be
/// reached; open again, it can. (The process's bus address points at the relay from its
/// start, so nothing changes the environment while threads run.)
struct BusRelay {
    at: std::path::PathBuf,
    target: std::path::PathBuf,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl BusRelay {
    fn open(&mut self, runtime: &tokio::runtime::Runtime) {
        let _ = std::fs::remove_file(&self.at);
        let listener = runtime
            .block_on(async { tokio::net::UnixListener::bind(&self.at) })
            .unwrap();
        let target = self.target.clone();
        self.task = Some(runtime.spawn(async move {
            // Links live in the set, so closing the relay cuts the connections already made
            // too, as a keyring daemon that stops does (the workstation keeps one open).
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::UnixStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    fn close(&mut self, runtime: &tokio::runtime::Runtime) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = runtime.block_on(task);
        }
        let _ = std::fs::remove_file(&self.at);
    }
}

/// Runs this test again in a child process whose session bus is a relay it controls.
fn run_in_a_child_with_a_relayed_bus(name: &str) {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .expect("a session bus with a keyring: run the tests under scripts/with-keyring");
    let real = bus_path(&address);
    let dir = tempfile::tempdir().unwrap();
    let relay = dir.path().join("bus");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(REAL_BUS, &real)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", relay.display()),
        )
        .status()
        .unwrap();
    assert!(status.success(), "the test failed in its child process");
}

#[test]
fn with_no_keyring_a_licensed_workstation_says_so_once_offers_retry_and_a_file_and_keeps_the_database()
 {
    let Some(real) = std::env::var_os(REAL_BUS) else {
        return run_in_a_child_with_a_relayed_bus(
            "with_no_keyring_a_licensed_workstation_says_so_once_offers_retry_and_a_file_and_keeps_the_database",
        );
    };
    let relay_runtime = tokio::runtime::Runtime::new().unwrap();
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    let mut relay = BusRelay {
        at: bus_path(&address),
        target: real.into(),
        task: None,
    };
    relay.open(&relay_runtime);
    let (setup, ws) = setup(true, chrono::Duration::zero());
    let namespace = ws.profile().keyring_namespace().to_owned();
    setup.runtime.block_on(ws.close());
    relay.close(&relay_runtime);

    // As the app opens it: the OS keyring, which does not answer now.
    let profile = Profile::at(setup.home.path());
    let ws = Workstation::open(
        profile,
        SecretStore::keyring(&namespace),
        tenure_client::Roots::pinned_from_text(&setup.sandbox.root_public_key()).unwrap(),
    )
    .unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Database)
    });
    // The database is there, and said to be.
    h.get_by_label_contains("prod on");
    assert!(h.query_by_label_contains("no product database").is_none());
    // One plain sentence, with what to do; nothing that sends the user to request a license.
    h.get_by_label_contains("The OS keyring cannot be reached");
    assert!(h.query_by_label("Request a license…").is_none());
    assert!(h.query_by_label_contains("SS error").is_none());
    h.get_by_label_contains("license locked");

    // The keyring comes back: Retry.
    relay.open(&relay_runtime);
    h.get_by_label("Retry").click();
    wait_for(&mut h, "the license read", licensed);
    h.get_by_label("✔ Licensed — valid");
    assert!(
        h.query_by_label_contains("The OS keyring cannot be reached")
            .is_none()
    );

    // Gone again: this time the user keeps secrets in a plain file, asked first.
    relay.close(&relay_runtime);
    h.state_mut()
        .model
        .request(tenure::gui::worker::Job::Refresh);
    wait_for(&mut h, "the keyring missed again", |app| {
        idle(app)
            && app
                .model
                .snapshot
                .as_ref()
                .is_some_and(|s| s.secrets_problem.is_some())
    });
    h.get_by_label("Keep secrets in a file instead…").click();
    h.run_steps(2);
    h.get_by_label_contains("not encrypted");
    h.get_by_label("Keep them in a file").click();
    wait_for(&mut h, "the license read again", licensed);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("PLAIN FILE");
    let plain = Profile::at(setup.home.path()).plain_secrets_path();
    assert!(
        plain.exists(),
        "the plain file is where the profile keeps it"
    );
    drop(h);
    drop(setup);
}

/// Idle, with the license read and licensed.
fn licensed(app: &TenureApp) -> bool {
    idle(app) && status_of(app).is_some_and(|s| s.is_licensed())
}
