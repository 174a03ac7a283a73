//! The `tenure` binary through its CLI, in a temp profile per test (`TENURE_HOME`), against the
//! real in-process license server and the real keyring (scripts/test provides one).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::process::{Command, Output};

use tenure_server::sandbox::{Issued, Sandbox, sample_terms};

struct Env {
    home: tempfile::TempDir,
    _server_dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
    issued: Issued,
    /// The product database every command is given (`TENURE_DB`): `prod.db` in the home
    /// unless a test chose another.
    db: std::ffi::OsString,
}

fn env() -> Env {
    env_with(&sample_terms("Acme"))
}

fn env_with(terms: &tenure_core::LicenseTerms) -> Env {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server_dir = tempfile::tempdir().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start_sqlite(server_dir.path()))
        .unwrap();
    let issued = runtime.block_on(sandbox.issue("acme", terms)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("prod.db").into_os_string();
    Env {
        home,
        _server_dir: server_dir,
        runtime,
        sandbox,
        issued,
        db,
    }
}

impl Env {
    /// `tenure ARGS`, which must succeed: its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.tenure(args);
        assert!(
            out.status.success(),
            "tenure {args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn tenure(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(args)
            .env("TENURE_HOME", self.home.path())
            .env("TENURE_DB", &self.db)
            .env_remove("TENURE_SERVER")
            .output()
            .unwrap()
    }

    /// `tenure --server URL login --account ACCOUNT`, the token written to standard input.
    fn login(&self, account: &str, token: &str, url: &str) -> Output {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(["--server", url, "login", "--account", account])
            .env("TENURE_HOME", self.home.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{token}\n").as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    fn trust(&self) {
        let key_file = self.home.path().join("vendor.pub");
        std::fs::write(&key_file, self.sandbox.root_public_key()).unwrap();
        let out = self.tenure(&["trust", key_file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn unlicensed_status_has_its_exit_code() {
    let env = env();
    let out = env.tenure(&["status"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stdout).contains("Unlicensed"));
    let out = env.tenure(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "unlicensed");
}

#[test]
fn mistyped_key_is_refused_before_the_network() {
    let env = env();
    env.trust();
    // The server URL points at nothing: a network call would say "unreachable" instead.
    let mut digits: Vec<char> = env.issued.key.chars().collect();
    let last = digits.len() - 1;
    digits[last] = if digits[last] == '9' { '8' } else { '9' };
    let typo: String = digits.into_iter().collect();
    let out = env.tenure(&[
        "--server",
        "http://127.0.0.1:9",
        "activate",
        &typo,
        "--server-name",
        "srv1",
        "--database",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("a digit is mistyped or two digits are swapped"),
        "{stderr}"
    );
    assert!(!stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn activate_validate_and_mismatch_through_the_cli() {
    let env = env();
    env.trust();
    let out = activate_as(&env, "localhost", "PROD");
    assert!(text(&out.stdout).contains("30 days of offline grace left"));

    let out = env.tenure(&["validate", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "valid");
    assert_eq!(json["days_left"], 30);

    // Another spelling of this machine is the same server.
    let out = env.tenure(&[
        "status",
        "--server-name",
        "127.0.0.1:5432",
        "--database",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Another server is a mismatch, with both sides named.
    let out = env.tenure(&["status", "--server-name", "srv2:5433", "--database", "prod"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("licensed for") && stdout.contains("srv2:5433"),
        "{stdout}"
    );

    // The server going away: validation fails clearly, the license stays valid.
    env.sandbox.stop();
    let out = env.tenure(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unreachable") && stderr.contains("stays valid"),
        "{stderr}"
    );
    drop(env.runtime);
}

#[test]
fn login_reads_the_token_from_stdin_and_keeps_it_in_the_keyring() {
    let env = env();
    let url = env.sandbox.url();
    // A wrong token is refused by the server, and nothing is kept.
    let out = env.login("acme", "not-the-token", &url);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("did not accept account acme"),
        "{}",
        text(&out.stderr)
    );
    let out = env.login("acme", &env.issued.account_token, &url);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Signed in as acme: 1 license"), "{stdout}");
    assert!(stdout.contains("OS keyring"), "{stdout}");
    // The token is in no file under the profile.
    for entry in walk(env.home.path()) {
        let content = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !text(&content).contains(&env.issued.account_token),
            "token leaked into {}",
            entry.display()
        );
    }
    let out = env.tenure(&["logout"]);
    assert!(out.status.success());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn users_import_assign_and_authorize_through_the_cli() {
    let env = env();
    env.trust();
    let url = env.sandbox.url();
    // Activated for the product database the CLI uses (prod.db → database "prod").
    let out = env.tenure(&["--server", &url, "activate", &env.issued.key]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let csv = env.home.path().join("users.csv");
    std::fs::write(
        &csv,
        "login,name,email\nana,Ana Lima,ana@x.example\nbo ,Bo,bo@x\nbad login,X,\n",
    )
    .unwrap();
    let out = env.tenure(&["users", "import", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 4") && err.contains("nothing was imported"),
        "{err}"
    );
    assert!(text(&env.tenure(&["users", "list"]).stdout).contains("0 of 10 named seats used"));

    std::fs::write(
        &csv,
        "login,name,email\nana,Ana Lima,ana@x.example\nbo,Bo,\n",
    )
    .unwrap();
    let out = env.tenure(&["users", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.tenure(&["users", "assign", "ana"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 of 10 named seats used"));

    let out = env.tenure(&["authorize", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = env.tenure(&["authorize", "bo"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        text(&out.stdout).trim(),
        "User bo is not authorised: no named-user seat is assigned. Ask your license administrator."
    );
    let out = env.tenure(&["authorize", "bo", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["answer"].as_str(), json["reason"]["code"].as_str()),
        (Some("refused"), Some("no_seat"))
    );

    let out = env.tenure(&["users", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["seats_in_use"], 1);
    assert_eq!(json["users"].as_array().map(Vec::len), Some(2));
    let out = env.tenure(&["users", "export", "-"]);
    assert!(
        text(&out.stdout).starts_with("login,name,email,licensed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_killed_client_frees_its_concurrent_seat_when_its_lease_ends() {
    use std::io::BufRead as _;
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 1;
    terms.lease_secs = 3;
    let env = env_with(&terms);
    env.trust();
    let url = env.sandbox.url();
    let out = env.tenure(&["--server", &url, "activate", &env.issued.key]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A product holding a seat with heartbeats, then killed with SIGKILL: no check-in.
    let mut holder = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(["checkout", "ana", "--machine", "pc1", "--hold"])
        .env("TENURE_HOME", env.home.path())
        .env("TENURE_DB", env.home.path().join("prod.db"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let session = line.trim().to_owned();
    assert_eq!(session.len(), 24, "a session id: {line:?}");
    // Held past its first lease by heartbeats.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let out = env.tenure(&["checkout", "bo", "--machine", "pc2"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        text(&out.stderr).contains("No seat is free (1 of 1 in use)"),
        "{}",
        text(&out.stderr)
    );
    let out = env.tenure(&["sessions", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["sessions"][0]["id"], session.as_str());

    holder.kill().unwrap();
    holder.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let out = env.tenure(&["checkout", "bo", "--machine", "pc2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bo = text(&out.stdout).trim().to_owned();

    // An admin ends bo's session; bo's next heartbeat is told so.
    let out = env.tenure(&["sessions", "end", &bo]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.tenure(&["heartbeat", &bo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Your session was ended by"),
        "{}",
        text(&out.stderr)
    );
    let out = env.tenure(&["usage", "--days", "1", "--csv"]);
    assert!(
        text(&out.stdout).starts_with("day,peak_in_use,refusals,seat_hours"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_development_build_says_so_and_trusts_only_certificates_from_its_roots() {
    let env = env();
    // Tests run a development build: no vendor roots are built in, and every command says so.
    let out = env.tenure(&["keys", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("development build — licenses not protected"),
        "{}",
        text(&out.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys["build"], "development");
    assert_eq!(keys["roots"].as_array().unwrap().len(), 0);

    // A certificate before its root is trusted: refused, with the reason.
    let cert_file = env.home.path().join("signing.cert");
    std::fs::write(&cert_file, env.sandbox.vendor().certificate().unwrap()).unwrap();
    let out = env.tenure(&["trust", cert_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not one of the vendor roots this program trusts"),
        "{}",
        text(&out.stderr)
    );
    env.trust();
    let out = env.tenure(&["trust", cert_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("certified by a vendor root"));
    let out = env.tenure(&["keys", "--json"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys["roots"].as_array().unwrap().len(), 1);
    assert_eq!(
        keys["signing_keys"][0],
        env.sandbox.vendor().key().key_id().as_str()
    );
}

/// Activates the sample key with these binding names; asserts it worked.
fn activate_as(env: &Env, server_name: &str, database: &str) -> Output {
    let url = env.sandbox.url();
    let out = env.tenure(&[
        "--server",
        &url,
        "activate",
        &env.issued.key,
        "--server-name",
        server_name,
        "--database",
        database,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

#[test]
fn binding_names_it_gives_hold_for_later_commands_until_cleared() {
    let env = env();
    env.trust();
    let _ = activate_as(&env, "srv9", "PROD");
    // No flags now: the names given at activation still hold for this product database.
    let out = env.tenure(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = env.tenure(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = env.tenure(&["binding"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("srv9") && stdout.contains("set by hand"),
        "{stdout}"
    );
    // Cleared: the binding is derived from the product database again, which is elsewhere.
    let out = env.tenure(&["binding", "--clear"]);
    assert!(
        text(&out.stdout).contains("derived"),
        "{}",
        text(&out.stdout)
    );
    let out = env.tenure(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    drop(env.runtime);
}

#[test]
fn a_closed_standard_output_ends_quietly() {
    let env = env();
    // The reader is gone before the program writes: `tenure status | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(["status"])
        .env("TENURE_HOME", env.home.path())
        .env("TENURE_DB", env.home.path().join("prod.db"))
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn the_product_database_file_alone_holds_everything_and_backs_up() {
    let env = env();
    env.trust();
    let _ = activate_as(&env, "localhost", "prod");
    let db = env.home.path().join("prod.db");
    // The log was folded into the file when the command ended.
    let wal = env.home.path().join("prod.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "the write-ahead log still holds data");

    let backup = env.home.path().join("backup.db");
    let out = env.tenure(&["db", "backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.tenure(&["db", "backup", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );

    // IT copies the file alone to another workstation: the license comes with it.
    for copy in [&db, &backup] {
        let other = tempfile::tempdir().unwrap();
        let moved = other.path().join("prod.db");
        std::fs::copy(copy, &moved).unwrap();
        let key_file = other.path().join("vendor.pub");
        std::fs::write(&key_file, env.sandbox.root_public_key()).unwrap();
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_tenure"))
                .args(args)
                .env("TENURE_HOME", other.path())
                .env("TENURE_DB", &moved)
                .env_remove("TENURE_SERVER")
                .output()
                .unwrap()
        };
        assert!(run(&["trust", key_file.to_str().unwrap()]).status.success());
        let out = run(&["status", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "valid", "{}", copy.display());
    }
    drop(env.runtime);
}

/// Named seats split among groups: `users assign` gives a seat beyond the user's group's share
/// (it is the admin's to give), warns that the user will be refused and why, and exits 7.
#[test]
fn assigning_a_seat_past_the_groups_share_warns_and_exits_7() {
    let env = env();
    env.trust();
    let url = env.sandbox.url();
    let ok = |args: &[&str]| env.ok(args);
    ok(&["--server", &url, "activate", &env.issued.key]);
    ok(&["users", "add", "ana"]);
    ok(&["users", "add", "bo"]);
    ok(&["groups", "add", "North"]);
    ok(&["allocate", "users", "North", "1"]);
    ok(&["groups", "join", "North", "ana", "bo"]);
    ok(&["users", "assign", "ana"]);
    let out = env.tenure(&["users", "assign", "bo", "--json"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["beyond_group_share"], serde_json::json!(["bo"]));
    assert_eq!(json["seats_in_use"], 2, "the seat stands");
    ok(&["users", "unassign", "bo"]);
    let out = env.tenure(&["users", "assign", "bo"]);
    assert_eq!(out.status.code(), Some(7));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: bo has a seat, but North's share of 1 is taken"),
        "{err}"
    );
    let out = env.tenure(&["authorize", "bo"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stdout));
}

#[test]
fn groups_allocations_and_devices_through_the_cli() {
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 2;
    terms.quantities = vec![
        "connections:2:concurrent".parse().unwrap(),
        "servers:1:device".parse().unwrap(),
    ];
    let env = env_with(&terms);
    env.trust();
    let url = env.sandbox.url();
    let ok = |args: &[&str]| env.ok(args);
    ok(&["--server", &url, "activate", &env.issued.key]);
    ok(&["groups", "add", "North", "--kind", "tenant"]);
    ok(&["allocate", "connections", "North", "1"]);
    // North's admin adds a role in North and gives it North's one connection.
    ok(&["groups", "add", "Designers", "--tenant", "North"]);
    ok(&[
        "allocate",
        "connections",
        "Designers",
        "remaining",
        "--tenant",
        "North",
    ]);
    ok(&["groups", "join", "Designers", "ana", "bo"]);
    let refused = env.tenure(&["allocate", "connections", "North", "3"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("3 of 2 connections"),
        "{}",
        text(&refused.stderr)
    );
    let listing = ok(&["groups"]);
    assert!(
        listing.contains("connections (concurrent): 2 in the pool"),
        "{listing}"
    );
    assert!(
        listing.contains("Designers (role in North): ana, bo"),
        "{listing}"
    );
    // A tenant's admin sees only the tenant.
    let north = ok(&["groups", "--tenant", "North"]);
    assert!(north.contains("Designers"), "{north}");
    assert!(!north.contains("(no group)"), "{north}");

    ok(&["checkout", "ana", "--machine", "pc1"]);
    let bo = env.tenure(&["checkout", "bo", "--machine", "pc2"]);
    assert_eq!(bo.status.code(), Some(7), "{}", text(&bo.stderr));
    let said = format!("{}{}", text(&bo.stdout), text(&bo.stderr));
    assert!(
        said.contains("No Designers seat is free (1 of 1 in use)"),
        "{said}"
    );

    // Devices: the first server takes the one license, the second is refused (exit code 7).
    let first = ok(&["devices", "register", "srv-1", "--type", "servers"]);
    assert!(
        first.contains("Device srv-1 took a servers license."),
        "{first}"
    );
    let second = env.tenure(&["devices", "register", "srv-2", "--type", "servers"]);
    assert_eq!(second.status.code(), Some(7));
    ok(&["devices", "remove", "srv-1"]);
    ok(&["devices", "register", "srv-2", "--type", "servers"]);
    let devices = ok(&["devices"]);
    assert!(
        devices.contains("srv-2") && !devices.contains("srv-1"),
        "{devices}"
    );
}

/// Issue 25 (6): `borrow` and `borrow return` in one process while `offline request` runs in
/// another, on one profile: every write of the cache is under its lock, so the request's nonce
/// survives and the vendor's genuine answer to it imports.
#[test]
fn a_borrow_beside_an_offline_request_keeps_the_requests_nonce() {
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 50;
    let env = env_with(&terms);
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(args)
            .env("TENURE_HOME", env.home.path())
            .env("TENURE_DB", env.home.path().join("prod.db"))
            .env_remove("TENURE_SERVER")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..6 {
        let request = env.home.path().join(format!("request-{round}.txt"));
        let borrow_args: Vec<String> = if round % 2 == 0 {
            vec![
                "borrow".into(),
                "3".into(),
                "--user".into(),
                format!("u{round}"),
            ]
        } else {
            vec!["borrow".into(), "return".into()]
        };
        let borrow_args: Vec<&str> = borrow_args.iter().map(String::as_str).collect();
        let borrowing = spawn(&borrow_args);
        let requesting = spawn(&[
            "offline",
            "request",
            "validate",
            "-o",
            request.to_str().unwrap(),
        ]);
        for child in [borrowing, requesting] {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        }
        let answer = env
            .runtime
            .block_on(
                env.sandbox
                    .answer_offline(&std::fs::read_to_string(&request).unwrap()),
            )
            .unwrap();
        let answer_file = request.with_extension("answer");
        std::fs::write(&answer_file, answer).unwrap();
        env.ok(&["offline", "import", answer_file.to_str().unwrap()]);
    }
}

/// Leaving a site: `offline release` writes the release and stops the license at once, for
/// every workstation on the product database; the vendor frees the key with it, and the old
/// workstation's next validation hears that the license moved.
#[test]
fn a_release_stops_the_license_on_its_database_and_frees_the_key() {
    let env = env();
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);
    let file = env.home.path().join("rig7.release");
    let out = env.tenure(&["offline", "release", "-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("upload it to your vendor's portal"));
    let status = env.tenure(&["status"]);
    assert_eq!(status.status.code(), Some(8), "{}", text(&status.stdout));
    assert!(text(&status.stdout).contains("released the license"));

    // Another workstation (its own profile) on the same product database stops too.
    let other = tempfile::tempdir().unwrap();
    let key_file = env.home.path().join("vendor.pub");
    let on_other = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(args)
            .env("TENURE_HOME", other.path())
            .env("TENURE_DB", &env.db)
            .env_remove("TENURE_SERVER")
            .output()
            .unwrap()
    };
    assert!(
        on_other(&["trust", key_file.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(on_other(&["status"]).status.code(), Some(8));

    let release = std::fs::read_to_string(&file).unwrap();
    let released = env
        .runtime
        .block_on(
            env.sandbox
                .vendor()
                .offline()
                .release(&release, None, "the test"),
        )
        .unwrap();
    assert_eq!(released.license_id, env.issued.license_id);
    let validated = env.tenure(&["--server", &url, "validate"]);
    assert_eq!(
        validated.status.code(),
        Some(8),
        "{}",
        text(&validated.stderr)
    );
}

/// Issue 26: a product database cut short, or a file that is not one, is named as damaged at
/// once — not "unreachable" after ten seconds of retries — with its own exit code from
/// `status`, the same sentence from the commands that need it, and no library's log lines.
#[test]
fn a_damaged_product_database_is_named_at_once() {
    let env = env();
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);
    env.ok(&["users", "add", "ana"]);
    let file = env.home.path().join("prod.db");
    let full = std::fs::read(&file).unwrap();
    assert!(full.len() > 8192, "a database of several pages");
    for (damage, why) in [
        (full[..4096].to_vec(), "cut off"),
        (vec![0x5a; full.len()], "file is not a database"),
    ] {
        std::fs::write(&file, &damage).unwrap();
        let started = std::time::Instant::now();
        let out = env.tenure(&["status"]);
        let took = started.elapsed();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(9), "{stderr}");
        assert!(stderr.contains("is damaged"), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("restore it from a backup"), "{stderr}");
        assert!(!stderr.contains("not reachable"), "{stderr}");
        assert!(
            !stderr.contains("sqlx") && !stderr.contains("ERROR"),
            "no library log lines: {stderr}"
        );
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
        let out = env.tenure(&["authorize", "ana"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("is damaged"),
            "{}",
            text(&out.stderr)
        );
        // With -v, what the libraries said is there for whoever asks.
        let out = env.tenure(&["-v", "status"]);
        assert_eq!(out.status.code(), Some(9));
    }
}

/// Issue 26: a cache that cannot be read is reported as the cache's problem, not as a product
/// database that could not give its binding (it could).
#[test]
fn a_cache_that_cannot_be_read_is_named_for_what_it_is() {
    let env = env();
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);
    let cache = env.home.path().join("data").join("license-cache.bin");
    std::fs::remove_file(&cache).unwrap();
    std::fs::create_dir(&cache).unwrap();
    let out = env.tenure(&["status"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("license cache"), "{stderr}");
    assert!(!stderr.contains("binding could not be read"), "{stderr}");
    assert!(!stderr.contains("product database"), "{stderr}");
}

/// `checkout --wait` in real processes: each waiter is told its place, `sessions` shows the
/// line, the seat freed goes to the head of the line, and Ctrl-C leaves it.
#[test]
fn waiters_stand_in_line_and_the_head_gets_the_next_seat() {
    use std::io::BufRead as _;
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 1;
    terms.lease_secs = 600;
    let env = env_with(&terms);
    env.trust();
    let url = env.sandbox.url();
    let out = env.tenure(&["--server", &url, "activate", &env.issued.key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.tenure(&["checkout", "ana", "--machine", "pc1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ana = text(&out.stdout).trim().to_owned();

    let waiter = |user: &str, machine: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(["checkout", user, "--machine", machine, "--wait"])
            .env("TENURE_HOME", env.home.path())
            .env("TENURE_DB", env.home.path().join("prod.db"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let said = std::io::BufReader::new(child.stderr.take().unwrap());
        // What it says, less the development build's note.
        let said = said
            .lines()
            .map(Result::unwrap)
            .filter(|line| !line.starts_with("note:"));
        (child, said)
    };
    let (mut bo, mut bo_said) = waiter("bo", "pc2");
    let first = bo_said.next().unwrap();
    assert!(
        first.starts_with("You are 1st in line for a seat"),
        "{first}"
    );
    let (mut cy, mut cy_said) = waiter("cy", "pc3");
    let second = cy_said.next().unwrap();
    assert!(
        second.starts_with("You are 2nd in line for a seat"),
        "{second}"
    );

    let out = env.tenure(&["sessions"]);
    let listed = text(&out.stdout);
    assert!(listed.contains("2 waiting in line"), "{listed}");
    let out = env.tenure(&["sessions", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["queue"][0]["login"], "bo");
    assert_eq!(json["queue"][1]["login"], "cy");

    // Ana gives her seat back: it goes to bo, the head of the line, who prints his session.
    let out = env.tenure(&["checkin", &ana]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut session = String::new();
    std::io::BufReader::new(bo.stdout.take().unwrap())
        .read_line(&mut session)
        .unwrap();
    assert_eq!(session.trim().len(), 24, "a session id: {session:?}");
    assert!(bo.wait().unwrap().success());
    let moved_up = cy_said.next().unwrap();
    assert!(moved_up.starts_with("You are 1st in line"), "{moved_up}");

    // Ctrl-C: cy leaves the line at once.
    let interrupted = Command::new("kill")
        .args(["-INT", &cy.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert_eq!(cy.wait().unwrap().code(), Some(7));
    let out = env.tenure(&["sessions", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["queue"].as_array().map(Vec::len), Some(0), "{json}");

    // A group's priority in the line, set by name.
    let out = env.tenure(&["groups", "priority", "drilling", "10"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("there is no group drilling"),
        "{}",
        text(&out.stderr)
    );
    let out = env.tenure(&["groups", "add", "drilling"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.tenure(&["groups", "priority", "drilling", "10"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("priority 10"),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 31: IT sees and lengthens the floating policy from the command line; a shorter one
/// than the license's is refused in a sentence; a product's heartbeat reports it idle.
#[test]
fn the_floating_policy_is_shown_lengthened_and_an_idle_heartbeat_is_listed() {
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 2;
    terms.floating = tenure_core::Floating {
        linger_mins: 5,
        idle_timeout_mins: 10,
        overdraft: 0,
    };
    let env = env_with(&terms);
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);
    let shown = env.ok(&["sessions", "policy"]);
    assert!(shown.contains("Linger: 5 min (the license's"), "{shown}");
    assert!(shown.contains("a seat idle 10 min is freed"), "{shown}");
    let out = env.tenure(&["sessions", "policy", "--linger-mins", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("give 5 or more"),
        "{}",
        text(&out.stderr)
    );
    let set = env.ok(&["sessions", "policy", "--linger-mins", "30"]);
    assert!(set.contains("Linger: 30 min (set here"), "{set}");

    let session = env.ok(&["checkout", "ana", "--machine", "pc1"]);
    let session = session.trim();
    env.ok(&["heartbeat", session, "--idle"]);
    let listed = env.ok(&["sessions"]);
    assert!(listed.contains("idle since"), "{listed}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["sessions", "--json"])).unwrap();
    assert!(json["sessions"][0]["idle_since"].is_string(), "{json}");
    env.ok(&["heartbeat", session]);
    assert!(!env.ok(&["sessions"]).contains("idle since"));
}

/// Issue 31, must hold: 64 real processes check out with `--wait --hold`, hold a moment and
/// give back (Ctrl-C), all at once, on one product database. Sampled all along, never more
/// seats in use than the count plus the overdraft; in the end every one of them got a seat
/// (no waiter starved by later arrivals).
#[test]
fn sixty_four_processes_wait_take_and_give_back_within_the_count_on_sqlite() {
    sixty_four_processes_wait_take_and_give_back(None);
}

/// As on SQLite, on PostgreSQL: the waiters hear a freed seat by LISTEN/NOTIFY.
#[test]
fn sixty_four_processes_wait_take_and_give_back_within_the_count_on_postgres() {
    let pg = tenure_testkit::PgCluster::start();
    sixty_four_processes_wait_take_and_give_back(Some(pg.create_database("plant")));
}

fn sixty_four_processes_wait_take_and_give_back(db: Option<String>) {
    use std::io::BufRead as _;
    const PROCESSES: usize = 64;
    let mut terms = sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 4;
    terms.lease_secs = 600;
    terms.floating = tenure_core::Floating {
        overdraft: 1,
        ..tenure_core::Floating::default()
    };
    let mut env = env_with(&terms);
    if let Some(url) = db {
        env.db = url.into();
    }
    env.trust();
    let url = env.sandbox.url();
    env.ok(&["--server", &url, "activate", &env.issued.key]);

    let (granted, grants) = std::sync::mpsc::sync_channel::<usize>(PROCESSES);
    let mut children: Vec<std::process::Child> = (0..PROCESSES)
        .map(|i| {
            let (user, machine) = (format!("u{i}"), format!("m{i}"));
            let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
                .args(["checkout", &user, "--machine", &machine, "--wait", "--hold"])
                .env("TENURE_HOME", env.home.path())
                .env("TENURE_DB", &env.db)
                .stdout(std::process::Stdio::piped())
                .stderr(std::fs::File::create(env.home.path().join(format!("u{i}.err"))).unwrap())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let granted = granted.clone();
            named_thread("reader", move || {
                let mut line = String::new();
                if std::io::BufReader::new(stdout).read_line(&mut line).is_ok()
                    && line.trim().len() == 24
                {
                    let _ = granted.send(i);
                }
            });
            child
        })
        .collect();
    drop(granted);

    // A sampler counts the seats in use while the processes run.
    let (stop, sampler) = sample_seats_in_use(&env);

    // Each process that prints its session holds a moment, then is interrupted: it gives back.
    // The first four hold until all four have printed: the pool is then provably at its count.
    let interrupt = |i: usize| {
        let pid = children[i].id().to_string();
        named_thread("interrupt", move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            let _ = Command::new("kill").args(["-INT", &pid]).status();
        });
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(4);
    let mut served = Vec::new();
    while served.len() < PROCESSES {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(i) = grants.recv_timeout(left) else {
            break;
        };
        served.push(i);
        match served.len() {
            ..4 => {}
            4 => served.iter().for_each(|&i| interrupt(i)),
            _ => interrupt(i),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (most, seen) = sampler.join().unwrap();
    for child in &mut children {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let starved: Vec<String> = (0..PROCESSES)
        .filter(|i| !served.contains(i))
        .map(|i| {
            let said = std::fs::read_to_string(env.home.path().join(format!("u{i}.err")));
            format!("u{i} said: {}", said.unwrap_or_default().trim())
        })
        .collect();
    assert!(
        starved.is_empty(),
        "every waiter got a seat in time; starved: {starved:#?}"
    );
    assert!(seen > 5, "the sampler saw the pool {seen} times");
    assert!(
        most <= 5,
        "at most the count plus the overdraft in use at once, seen {most}"
    );
}

/// Runs `tenure sessions --json` over and over until told to stop: the most seats seen in use
/// at once, and how many samples were read.
fn sample_seats_in_use(
    env: &Env,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<(u64, u32)>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let home = env.home.path().to_owned();
    let db = env.db.clone();
    let sampler = named_thread("sampler", move || {
        let mut most = 0u64;
        let mut samples = 0;
        while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
            let out = Command::new(env!("CARGO_BIN_EXE_tenure"))
                .args(["sessions", "--json"])
                .env("TENURE_HOME", &home)
                .env("TENURE_DB", &db)
                .output()
                .unwrap();
            if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
                most = most.max(json["in_use"].as_u64().unwrap_or(0));
                samples += 1;
            }
        }
        (most, samples)
    });
    (stop, sampler)
}

/// A thread with a name, so a panic in it says which.
fn named_thread<T: Send + 'static>(
    name: &str,
    run: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(run)
        .unwrap()
}
