//! Several `tenure-server serve` processes on one PostgreSQL database, sharing one certified
//! signing key, behind a real `HAProxy` on loopback: activations of one key raced across both
//! instances (exactly one wins), validations alternately through each, and an instance with
//! another key refused at start.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::{Binding, Trust};
use tenure_testkit::balancer::{Running, haproxy, wait_until_up};
use tenure_testkit::{PgCluster, free_port};

pub mod support;

struct Vendor {
    url: String,
    key_file: PathBuf,
    hash_secret: PathBuf,
    _dir: tempfile::TempDir,
}

impl Vendor {
    fn command(&self, data_dir: &Path, key_file: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenure-server"));
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--database-url")
            .arg(&self.url)
            .arg("--signing-key-file")
            .arg(key_file)
            .arg("--key-hash-secret-file")
            .arg(&self.hash_secret);
        command
    }

    fn run(&self, data_dir: &Path, args: &[&str]) -> String {
        support::run_ok(self.command(data_dir, &self.key_file).args(args))
    }

    fn serve(&self, data_dir: &Path, key_file: &Path, port: u16) -> Child {
        self.command(data_dir, key_file)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn two_instances_behind_haproxy_share_one_database_and_one_key() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("signing.key");
    let hash_secret = dir.path().join("license-keys.secret");
    let vendor = Vendor {
        url: cluster.create_database("tenure_server"),
        key_file: key_file.clone(),
        hash_secret: hash_secret.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // The two shared secrets, as a deployment mounts them: the signing key and the secret
    // license keys are hashed with.
    for file in [&key_file, &hash_secret] {
        support::vendor_cli(&[
            "key".as_ref(),
            "create".as_ref(),
            "-o".as_ref(),
            file.as_os_str(),
        ]);
    }
    let root = dir.path().join("root.key");
    vendor.run(&a, &["root", "create", "-o", root.to_str().unwrap()]);
    vendor.run(&a, &["key", "certify", "--root", root.to_str().unwrap()]);
    vendor.run(&a, &["account", "create", "acme"]);
    let created = vendor.run(
        &a,
        &[
            "license",
            "create",
            "--account",
            "acme",
            "--seats",
            "5",
            "--expires",
            "2099-12-31",
        ],
    );
    let (license_id, key) = tenure_testkit::created_license(&created);

    // Instance B has no certificate in its data folder: it sends the one the database records.
    let (first_port, second_port, balancer) = (free_port(), free_port(), free_port());
    let _a = Running(vendor.serve(&a, &key_file, first_port));
    let _b = Running(vendor.serve(&b, &key_file, second_port));
    wait_until_up(first_port);
    wait_until_up(second_port);
    let _lb = haproxy(dir.path(), balancer, &[first_port, second_port]);

    // An instance with a key of its own refuses to start, and says why.
    let stray_key = dir.path().join("stray.key");
    vendor.run(&a, &["key", "create", "-o", stray_key.to_str().unwrap()]);
    let stray = vendor
        .command(&dir.path().join("c"), &stray_key)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!stray.status.success());
    let said = String::from_utf8_lossy(&stray.stderr);
    assert!(said.contains("current signing key"), "{said}");
    // So does one that would hash license keys with another secret (it could find none).
    let stray_secret = dir.path().join("stray.secret");
    vendor.run(&a, &["key", "create", "-o", stray_secret.to_str().unwrap()]);
    let stray = Command::new(env!("CARGO_BIN_EXE_tenure-server"))
        .arg("--data-dir")
        .arg(dir.path().join("d"))
        .args(["--database-url", &vendor.url, "--signing-key-file"])
        .arg(&key_file)
        .arg("--key-hash-secret-file")
        .arg(&stray_secret)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!stray.status.success());
    let said = String::from_utf8_lossy(&stray.stderr);
    assert!(said.contains("hashes license keys with secret"), "{said}");

    let roots = tenure_core::trust::parse_roots(
        &std::fs::read_to_string(root.with_extension("pub")).unwrap(),
    )
    .unwrap();
    let trust = Trust::new(roots);
    tenure_server::install_crypto_provider();
    let http = reqwest::Client::new();

    // Activations of one key raced through the balancer: exactly one wins.
    let attempts = (0..16u8).map(|i| {
        let http = http.clone();
        let key = key.clone();
        tokio::spawn(async move {
            let body = json!({
                "key": key,
                "binding": {"server": format!("host{i}"), "database": "prod"},
                "nonce": format!("n{i}"),
                "holder": Credential::from_secret([i + 1; 32]).public_hex(),
            });
            let response = http
                .post(format!("http://127.0.0.1:{balancer}/v1/activations"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (i, response.status().as_u16())
        })
    });
    let mut winner = None;
    for attempt in attempts {
        let (i, status) = attempt.await.unwrap();
        if status == 200 {
            assert!(winner.is_none(), "a second activation won");
            winner = Some(i);
        } else {
            assert_eq!(status, 403, "refused as 'cannot be activated here'");
        }
    }
    let winner = winner.expect("one activation wins");
    let holder = Credential::from_secret([winner + 1; 32]);
    let binding = Binding {
        server: format!("host{winner}"),
        database: "prod".into(),
    };

    // Validations alternately through each instance and the balancer: every answer verifies.
    for (i, port) in [
        first_port,
        second_port,
        balancer,
        first_port,
        second_port,
        balancer,
    ]
    .into_iter()
    .enumerate()
    {
        let nonce = format!("v{i}");
        let body = json!({
            "license_id": license_id,
            "binding": binding,
            "nonce": nonce,
            "proof": holder.prove(ProofAction::Validate, &license_id, &binding, &nonce),
        });
        let answer: serde_json::Value = http
            .post(format!("http://127.0.0.1:{port}/v1/validations"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let license = trust
            .open_license(answer["license"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("through port {port}: {e}: {answer}"));
        assert_eq!(license.nonce, nonce);
    }
}
