//! A full disk under a running server, for real: the server's data folder on a 2 MB tmpfs (mounted
//! in a user and mount namespace of its own, so the test needs no root), filled to the last byte
//! from outside. Validations are refused with 503 `storage_full` and a message that says so,
//! `/v1/health` reports the database down (a load balancer stops sending traffic there), and once
//! space is freed both recover without a restart, with every acknowledged validation stored. A
//! stranger who knows the license's id gets the same refusal on a full disk as on an empty one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenure_core::Binding;
use tenure_core::possession::{Credential, ProofAction};
use tenure_testkit::balancer::Running;

pub mod support;

/// `serve` with its data folder (a copy of `prepared`) on a tmpfs of `size` mounted at `mount`,
/// seen only by the server's namespace.
fn serve_on_tmpfs(prepared: &Path, mount: &Path, size: &str, port: u16, log: &Path) -> Running {
    let script = r#"mount -t tmpfs -o "size=$1,mode=0700" tenure-test "$2" && cp -a "$3"/. "$2"/ \
        && exec "$4" --data-dir "$2" serve --listen "127.0.0.1:$5""#;
    let child = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(size)
        .arg(mount)
        .arg(prepared)
        .arg(env!("CARGO_BIN_EXE_tenure-server"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("the server's log file"))
        .spawn()
        .expect("run unshare (util-linux), which every Debian system has");
    let mut server = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "the server on a tmpfs did not start ({status}): this test needs user namespaces \
                 (`unshare --user --map-root-user --mount true` must work; on Debian, \
                 sysctl kernel.unprivileged_userns_clone=1)"
            );
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// The outage was logged where it started and where it ended, with its count, not once per
/// refused request (issue 26).
fn logged_once(log: &Path) {
    let logged = std::fs::read_to_string(log).expect("the server's log");
    let errors = logged.lines().filter(|l| l.contains("ERROR")).count();
    assert_eq!(errors, 1, "{logged}");
    assert!(
        logged.contains("the database is back after") && logged.contains("requests were refused"),
        "{logged}"
    );
}

/// Fills the filesystem holding `path` until it has no byte left.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    let error = loop {
        if let Err(e) = file.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
    // What a 64 KB write could not place, byte-sized writes can: leave nothing.
    while file.write_all(&[0]).is_ok() {}
}

struct Client {
    http: reqwest::Client,
    base: String,
    license_id: String,
    binding: Binding,
    holder: Credential,
    sent: usize,
}

impl Client {
    async fn validate(&mut self) -> (u16, Value) {
        self.sent += 1;
        let nonce = format!("n{}", self.sent);
        let proof = self.holder.prove(
            ProofAction::Validate,
            &self.license_id,
            &self.binding,
            &nonce,
        );
        let body = json!({"license_id": self.license_id, "binding": self.binding,
            "nonce": nonce, "proof": proof});
        let response = self
            .http
            .post(format!("{}/v1/validations", self.base))
            .json(&body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `/v1/health` until it answers `want` (its write probe is reused for a second).
    async fn health_becomes(&self, want: u16) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self
                .http
                .get(format!("{}/v1/health", self.base))
                .send()
                .await
                .expect("health answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("health is JSON");
            if status == want {
                return body;
            }
            assert!(Instant::now() < deadline, "health stayed {status}: {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one fault, read top to bottom")]
async fn a_full_disk_is_named_reported_by_health_and_loses_nothing() {
    let prepared = tempfile::tempdir().unwrap();
    let (license_id, key) = support::acme_license(prepared.path());
    let mount = tempfile::tempdir().unwrap();
    let port = tenure_testkit::free_port();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    let server = serve_on_tmpfs(prepared.path(), mount.path(), "2m", port, &log);
    // The tmpfs as the test sees it: through the server's own view of the file system.
    let inside = PathBuf::from(format!(
        "/proc/{}/root{}",
        server.id(),
        mount.path().display()
    ));
    tenure_server::install_crypto_provider();
    let mut client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        license_id: license_id.clone(),
        binding: Binding {
            server: "srv1".into(),
            database: "prod".into(),
        },
        holder: Credential::from_secret([7; 32]),
        sent: 0,
    };
    let activated = client
        .http
        .post(format!("{}/v1/activations", client.base))
        .json(&json!({"key": key, "binding": client.binding, "nonce": "a",
            "holder": client.holder.public_hex()}))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 200);
    let mut acknowledged = 0;
    for _ in 0..5 {
        assert_eq!(client.validate().await.0, 200);
        acknowledged += 1;
    }
    // A stranger who knows the license's id but holds no credential for it.
    let mut stranger = Client {
        http: client.http.clone(),
        base: client.base.clone(),
        license_id: license_id.clone(),
        binding: client.binding.clone(),
        holder: Credential::from_secret([8; 32]),
        sent: 0,
    };
    let stranger_before = stranger.validate().await;
    assert_eq!(stranger_before.0, 401, "{}", stranger_before.1);

    fill(&inside.join("filler"));
    // The log's file has room left in pages it already holds: the next commits that need a new
    // one are refused.
    let refused = loop {
        let (status, body) = client.validate().await;
        if status == 200 {
            acknowledged += 1;
            assert!(client.sent < 500, "validations kept passing on a full disk");
            continue;
        }
        break (status, body);
    };
    assert_eq!(refused.0, 503, "{}", refused.1);
    assert_eq!(refused.1["error"], "storage_full", "{}", refused.1);
    assert!(
        refused.1["message"]
            .as_str()
            .is_some_and(|m| m.contains("disk is full")),
        "{}",
        refused.1
    );
    // The stranger learns nothing of it: the same refusal as before the disk filled.
    assert_eq!(stranger.validate().await, stranger_before);
    let down = client.health_becomes(503).await;
    assert_eq!(
        down["database"], "unavailable: the database's disk is full",
        "{down}"
    );

    std::fs::remove_file(inside.join("filler")).expect("free the space");
    let up = client.health_becomes(200).await;
    assert_eq!(up["database"], "ok");
    logged_once(&log);
    for _ in 0..5 {
        let (status, body) = client.validate().await;
        assert_eq!(status, 200, "after space was freed: {body}");
        acknowledged += 1;
    }

    // SQLite resolves the `/proc/PID/root` link to `/` (it follows links to find a database's
    // log), which is the test's root: read a copy, taken while the server is idle.
    let copy = tempfile::tempdir().unwrap();
    for file in ["tenure-server.db", "tenure-server.db-wal"] {
        std::fs::copy(inside.join(file), copy.path().join(file)).expect("copy the database");
    }
    let store = tenure_server::Store::open_sqlite_dir(copy.path())
        .await
        .expect("open a copy of the server's database");
    let stored = store
        .count_events(&license_id, "validation", "ok")
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(stored).unwrap(),
        acknowledged,
        "every validation answered 200 is stored, and no refused one"
    );
}
