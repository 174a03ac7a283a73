//! The window stays current and never contradicts itself: the status strip follows the last
//! request and sees the server return by itself; what the CLI writes to the product database
//! shows within seconds; a message leaves when its cause does.

use super::support::*;

/// A TCP relay on a fixed loopback port in front of the license server: closing it is the
/// server going away, opening it again on the same port is the server coming back.
struct Relay {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    fn new(runtime: &tokio::runtime::Runtime, target_url: &str) -> Self {
        let port = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        });
        let target = target_url.trim_start_matches("http://").to_owned();
        let mut relay = Self {
            port,
            target,
            task: None,
        };
        relay.open(runtime);
        relay
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn open(&mut self, runtime: &tokio::runtime::Runtime) {
        let (port, target) = (self.port, self.target.clone());
        let listener = runtime.block_on(async move {
            tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap()
        });
        self.task = Some(runtime.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
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
    }
}

#[test]
fn the_status_strip_sees_the_server_come_back_without_a_click() {
    let (setup, mut ws) = setup(true, chrono::Duration::zero());
    let mut relay = Relay::new(&setup.runtime, &setup.sandbox.url());
    ws.update_settings(|s| s.server_url = Some(relay.url()))
        .unwrap();
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.notice(JobKind::Validate).is_some()
    });
    h.get_by_label_contains("server reachable");

    relay.close(&setup.runtime);
    h.get_by_label("Validate now").click();
    wait_for(&mut h, "the failed validation", |app| {
        idle(app)
            && app
                .model
                .notice(JobKind::Validate)
                .is_some_and(|n| n.is_error)
    });
    h.get_by_label_contains("server unreachable (working offline)");
    // The warning belongs to the Overview: it does not follow the user to other screens.
    assert!(h.state().model.toast.is_some());
    h.get_by_label("Users").click();
    h.run_steps(2);
    assert!(
        h.state().model.toast.is_none(),
        "{:?}",
        h.state().model.toast
    );
    h.get_by_label("Overview").click();
    h.run_steps(2);

    relay.open(&setup.runtime);
    let back = Instant::now();
    wait_for(&mut h, "the server seen back", |app| {
        matches!(app.model.reachable, Some(Ok(())))
    });
    assert!(
        back.elapsed() < Duration::from_secs(12),
        "seen back after {:?}",
        back.elapsed()
    );
    h.get_by_label_contains("server reachable");
    // Quietly: no message about a check nobody asked for.
    assert!(
        h.state()
            .model
            .toast
            .as_ref()
            .is_none_or(|t| !t.text.contains("answers")),
        "{:?}",
        h.state().model.toast
    );
    drop(h);
    drop(setup);
}

#[test]
fn a_device_the_cli_registers_shows_on_the_allocations_screen_without_refresh() {
    let mut terms = sample_terms("Acme Offshore");
    terms.quantities = vec![
        "users:10:named".parse().unwrap(),
        "servers:5:device".parse().unwrap(),
    ];
    let (setup, ws) = setup_with(&terms, true, chrono::Duration::zero());
    let db = setup.home.path().join("prod.db");
    let mut h = harness(ws);
    wait_for(&mut h, "start-up", |app| {
        idle(app) && app.model.completed.contains(&JobKind::Validate)
    });
    h.get_by_label("Allocations").click();
    wait_for(&mut h, "allocations loaded", |app| {
        app.screens.allocations.state.loaded().is_some() && idle(app)
    });
    h.get_by_label("Devices (0)");
    // The CLI of the tests is a development build: it trusts the vendor's root as told.
    let root = setup.home.path().join("vendor.pub");
    std::fs::write(&root, setup.sandbox.root_public_key()).unwrap();
    let tenure = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(args)
            .env("TENURE_HOME", setup.home.path())
            .env("TENURE_DB", &db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    tenure(&["trust", root.to_str().unwrap()]);
    tenure(&["devices", "register", "rig-7", "--type", "servers"]);
    let registered = Instant::now();
    wait_for(&mut h, "the device shown", |app| {
        app.screens
            .allocations
            .state
            .loaded()
            .is_some_and(|o| o.book.devices.contains_key("rig-7"))
    });
    // The watch looks every 2 s; the bound leaves room for a loaded machine, and no Refresh
    // was clicked.
    assert!(
        registered.elapsed() < Duration::from_secs(10),
        "shown after {:?}",
        registered.elapsed()
    );
    h.get_by_label("rig-7");
    h.get_by_label("Devices (1)");
    drop(h);
    drop(setup);
}
