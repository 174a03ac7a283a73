//! Several `tenure-server serve` processes on one PostgreSQL database, sharing one certified
//! signing key and one admin token, behind a real `HAProxy` on loopback: activations of one key
//! raced across both instances (exactly one wins), validations alternately through each, admin
//! calls through the balancer, an instance with another key or token refused at start, and a
//! certify with another instance's key refused unless told to replace the current key — after
//! which the instances still signing with the old key say so and stop signing. Through the
//! balancer too: console and portal sessions served by either instance, and each webhook
//! delivery posted once.
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
pub mod web;

struct Vendor {
    url: String,
    key_file: PathBuf,
    hash_secret: PathBuf,
    admin_token: PathBuf,
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
            .arg(&self.hash_secret)
            .arg("--admin-token-file")
            .arg(&self.admin_token);
        command
    }

    fn run(&self, data_dir: &Path, args: &[&str]) -> String {
        support::run_ok(self.command(data_dir, &self.key_file).args(args))
    }

    fn serve(&self, data_dir: &Path, key_file: &Path, port: u16) -> Child {
        self.command(data_dir, key_file)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--key-check-every-secs", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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
    let admin_token = dir.path().join("admin.token");
    let vendor = Vendor {
        url: cluster.create_database("tenure_server"),
        key_file: key_file.clone(),
        hash_secret: hash_secret.clone(),
        admin_token: admin_token.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // The three shared secrets, as a deployment mounts them: the signing key, the secret
    // license keys are hashed with, and the admin token.
    let key_cli = |file: &Path, purpose: &str| {
        support::vendor_cli(&[
            "key".as_ref(),
            "create".as_ref(),
            "--for".as_ref(),
            purpose.as_ref(),
            "-o".as_ref(),
            file.as_os_str(),
        ])
    };
    key_cli(&key_file, "signing");
    let said = key_cli(&hash_secret, "license-keys");
    assert!(!said.contains("certify"), "not a signing key: {said}");
    support::vendor_cli(&[
        "--admin-token-file".as_ref(),
        admin_token.as_os_str(),
        "--data-dir".as_ref(),
        a.as_os_str(),
        "--database-url".as_ref(),
        vendor.url.as_ref(),
        "admin-token".as_ref(),
        "rotate".as_ref(),
    ]);
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
    // And one with an admin token of its own: behind the balancer, the same token must work
    // whichever instance answers.
    let stray = Command::new(env!("CARGO_BIN_EXE_tenure-server"))
        .arg("--data-dir")
        .arg(dir.path().join("e"))
        .args(["--database-url", &vendor.url, "--signing-key-file"])
        .arg(&key_file)
        .arg("--key-hash-secret-file")
        .arg(&hash_secret)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!stray.status.success());
    let said = String::from_utf8_lossy(&stray.stderr);
    assert!(said.contains("admin token"), "{said}");

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

    // One admin token for the farm: through the balancer, every call is let in.
    let token = std::fs::read_to_string(&admin_token).unwrap();
    for i in 0..6 {
        let status = http
            .post(format!("http://127.0.0.1:{balancer}/v1/admin/accounts"))
            .bearer_auth(token.trim())
            .json(&json!({"name": format!("customer{i}")}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "call {i}");
    }

    the_web_through_the_balancer(&vendor, &a, balancer, &created_token(&vendor, &a)).await;
    certify_with_another_key(&vendor, dir.path(), &root, [first_port, second_port]).await;
}

/// A new token for `acme` (the CLI shows it once).
fn created_token(vendor: &Vendor, data_dir: &Path) -> String {
    let said = vendor.run(data_dir, &["account", "rotate-token", "acme"]);
    said.lines()
        .find(|line| line.starts_with("tnr_"))
        .unwrap()
        .to_owned()
}

/// Posts one webhook delivery took: its event and delivery id.
type Deliveries = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A webhook receiver on loopback: its URL and what it took.
async fn receiver() -> (String, Deliveries) {
    let took: Deliveries = Deliveries::default();
    let kept = took.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let kept = kept.clone();
            async move {
                let header = |name: &str| {
                    let value = headers.get(name).and_then(|v| v.to_str().ok());
                    value.unwrap_or_default().to_owned()
                };
                let post = (header("tenure-event"), header("tenure-delivery"));
                kept.lock().unwrap().push(post);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, took)
}

/// Behind the balancer, whichever instance answers: a console session and a portal session
/// (the account's and a user's) started through one instance are served by both, and each
/// webhook delivery is posted once, though both instances deliver.
async fn the_web_through_the_balancer(vendor: &Vendor, a: &Path, balancer: u16, token: &str) {
    let url = format!("http://127.0.0.1:{balancer}");
    let password = web::PASSWORD;
    let mut staff_add = vendor
        .command(a, &vendor.key_file)
        .args(["staff", "add", "ana", "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = staff_add.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, format!("{password}\n").as_bytes()).unwrap();
    drop(stdin);
    assert!(staff_add.wait().unwrap().success(), "staff add");
    let cookie_of = |response: &reqwest::Response| {
        let set = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap();
        set.split(';').next().unwrap().to_owned()
    };
    let form = [("name", "ana"), ("password", password)];
    let ana = cookie_of(&web::post(&url, "/console/sign-in", "", &form).await);
    let form = [("account", "acme"), ("token", token)];
    let acme = cookie_of(&web::post(&url, "/portal/sign-in", "", &form).await);
    // Round robin: four requests are two on each instance.
    for _ in 0..4 {
        let page = web::get(&url, "/console/licenses", &ana).await;
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains("ana (admin)"));
        let page = web::get(&url, "/portal/licenses", &acme).await;
        assert_eq!(page.status().as_u16(), 200);
    }
    let page = web::get(&url, "/portal/users", &acme)
        .await
        .text()
        .await
        .unwrap();
    let form = [("csrf", web::csrf_in(&page)), ("name", "bo".to_owned())];
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let added = web::post(&url, "/portal/users", &acme, &form)
        .await
        .text()
        .await
        .unwrap();
    let at = added.find("class=\"token\">").unwrap() + 14;
    let first = added[at..].split('<').next().unwrap().to_owned();
    let form = [
        ("account", "acme"),
        ("user", "bo"),
        ("password", first.as_str()),
    ];
    let bo = cookie_of(&web::post(&url, "/portal/sign-in-user", "", &form).await);
    for _ in 0..4 {
        let page = web::get(&url, "/portal/licenses", &bo).await;
        assert_eq!(page.status().as_u16(), 200);
    }

    let (hook, took) = receiver().await;
    vendor.run(a, &["webhook", "add", &hook, "--events", "license.created"]);
    // Each instance reads the webhooks again at most 5 s after it last did.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let admin = std::fs::read_to_string(&vendor.admin_token).unwrap();
    let http = reqwest::Client::new();
    for _ in 0..6 {
        let created = http
            .post(format!("{url}/v1/admin/licenses"))
            .bearer_auth(admin.trim())
            .json(&serde_json::json!({"account": "acme", "terms": tenure_server::sandbox::sample_terms("Acme")}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 200);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while took.lock().unwrap().len() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            took.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A while longer: a delivery claimed by both instances would show up twice.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let took = took.lock().unwrap().clone();
    let mut ids: Vec<&str> = took.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((took.len(), ids.len()), (6, 6), "{took:?}");
    assert!(took.iter().all(|(event, _)| event == "license.created"));
}

/// `key certify` run with another instance's key against the shared database: refused unless
/// told `--make-current`; then every instance still signing with the old key says so on
/// `/v1/health` and signs nothing.
async fn certify_with_another_key(vendor: &Vendor, dir: &Path, root: &Path, ports: [u16; 2]) {
    let other_key = dir.join("other.key");
    vendor.run(
        &dir.join("a"),
        &["key", "create", "-o", other_key.to_str().unwrap()],
    );
    let certify = |extra: &[&str]| {
        vendor
            .command(&dir.join("f"), &other_key)
            .args(["key", "certify", "--root", root.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = certify(&[]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--make-current"), "{said}");
    let http = reqwest::Client::new();
    for port in ports {
        let health = http
            .get(format!("http://127.0.0.1:{port}/v1/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200, "still current");
    }
    let made = certify(&["--make-current"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for port in ports {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let health: serde_json::Value = loop {
            let response = http
                .get(format!("http://127.0.0.1:{port}/v1/health"))
                .send()
                .await
                .unwrap();
            if response.status().as_u16() == 503 {
                break response.json().await.unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "port {port} still signs"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert!(
            health["signing"]
                .as_str()
                .unwrap_or_default()
                .contains("replaced"),
            "{health}"
        );
    }
}
