//! Issue 26: the `OpenAPI` document is the whole contract. Schemathesis (`PyPI`, `scripts/install-deps`
//! installs it) runs every check against the real `tenure-server serve` — with no token, the
//! admin token and an account's token, on SQLite and on PostgreSQL — and finds no limit the
//! server enforces that the document does not state, no status it does not list, no body it
//! mis-describes.

use std::path::Path;
use std::process::{Command, Stdio};

use tenure_testkit::PgCluster;
use tenure_testkit::balancer::{Running, run_ok, wait_until_up};

/// `python3 -m schemathesis.cli`: the module, so no console script needs to be on `PATH`.
fn schemathesis() -> Command {
    let found = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "schemathesis is not installed: `python3 -m pip install schemathesis` (scripts/install-deps does it)"
    );
    let mut command = Command::new("python3");
    command.args(["-m", "schemathesis.cli"]);
    command
}

fn vendor(data: &Path, database_url: Option<&str>, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenure-server"));
    command.arg("--data-dir").arg(data);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    run_ok(command.args(args))
}

fn contract_holds(database_url: Option<&str>) {
    let data = tempfile::tempdir().expect("temp dir");
    let created = vendor(data.path(), database_url, &["account", "create", "acme"]);
    let account_token = created.lines().last().unwrap_or_default().trim().to_owned();
    vendor(
        data.path(),
        database_url,
        &[
            "license",
            "create",
            "--account",
            "acme",
            "--expires",
            "2099-12-31",
        ],
    );
    let port = tenure_testkit::free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_tenure-server"));
    serve.arg("--data-dir").arg(data.path());
    if let Some(url) = database_url {
        serve.arg("--database-url").arg(url);
    }
    let _server = Running(
        serve
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // Schemathesis sends thousands of activations: the limits would answer most of
            // them 429 and leave the rules behind them untested.
            .args([
                "--activations-per-minute",
                "1000000",
                "--activation-burst",
                "1000000",
            ])
            .args(["--activations-per-second", "1000000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tenure-server"),
    );
    wait_until_up(port);
    let admin = std::fs::read_to_string(data.path().join("admin.token")).expect("admin token");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    let scratch = tempfile::tempdir().expect("temp dir");
    for (who, header) in [
        ("no token", None),
        (
            "the admin token",
            Some(format!("Authorization: Bearer {}", admin.trim())),
        ),
        (
            "an account token",
            Some(format!("Authorization: Bearer acme:{account_token}")),
        ),
    ] {
        let mut run = schemathesis();
        run.current_dir(scratch.path())
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("http://127.0.0.1:{port}/v1/openapi.json")])
            .args(["--checks", "all", "--max-examples", "40", "--seed", "26"])
            .args(["--no-color"]);
        if let Some(header) = &header {
            run.args(["-H", header]);
        }
        let out = run.output().expect("run schemathesis");
        assert!(
            out.status.success(),
            "schemathesis with {who} found the document and the server apart:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_openapi_document_is_the_whole_contract_on_sqlite() {
    contract_holds(None);
}

#[test]
fn the_openapi_document_is_the_whole_contract_on_postgres() {
    let cluster = PgCluster::start();
    contract_holds(Some(&cluster.create_database("contract")));
}
