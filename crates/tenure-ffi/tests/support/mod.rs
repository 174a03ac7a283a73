//! What the language tests share: a license server on loopback with two licenses issued (named
//! seats with a module; concurrent seats with a short lease and devices), each activated on a
//! profile and product database of its own, as IT would have done with the `tenure` app; and
//! the library built.
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the shared set-up"
)]
#![expect(
    clippy::unwrap_used,
    reason = "test set-up: a failed step should panic loudly"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;
use tenure_client::product_db::DbSpec;
use tenure_client::{Profile, Roots, SecretStore, Workstation};
use tenure_core::directory::Change;
use tenure_core::{LicenseTerms, Module, SeatKind, Validity};
use tenure_server::sandbox::{Sandbox, sample_terms};

/// A profile and its product database, with a license activated.
pub struct Prepared {
    pub profile: PathBuf,
    pub db: PathBuf,
}

impl Prepared {
    /// The workstation the `tenure` app would open on this profile (to act as the admin).
    pub async fn admin(&self) -> Workstation {
        let profile = Profile::at(&self.profile);
        let secrets = SecretStore::keyring(profile.keyring_namespace());
        let mut ws = Workstation::open(profile, secrets, Roots::from_build("").unwrap()).unwrap();
        ws.connect_db(&DbSpec::Sqlite(self.db.clone()), Utc::now())
            .await
            .unwrap();
        ws
    }
}

/// The vendor's server and the two workstations.
pub struct Product {
    pub sandbox: Sandbox,
    /// Named seats: ana holds one; module `inspect` licensed.
    pub named: Prepared,
    /// Concurrent seats (a 3-second lease, so heartbeats come every second) and two
    /// `scanner` devices.
    pub concurrent: Prepared,
    pub dir: tempfile::TempDir,
}

fn named_terms() -> LicenseTerms {
    let mut terms = sample_terms("Acme");
    terms.modules = vec![Module {
        name: "inspect".into(),
        validity: terms.validity,
    }];
    terms
}

fn concurrent_terms() -> LicenseTerms {
    let mut terms = sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = 2;
    terms.lease_secs = 3;
    terms.quantities = ["connections:2:concurrent", "scanner:2:device"]
        .iter()
        .map(|q| q.parse().unwrap())
        .collect();
    terms
}

/// Starts the server and prepares both workstations.
pub async fn product() -> Product {
    let probe = SecretStore::keyring("tenure-ffi-tests");
    if let Err(e) = probe.probe() {
        panic!("{e}\n{}", tenure_testkit::KEYRING_HINT);
    }
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(&dir.path().join("server"))
        .await
        .unwrap();
    let named = prepare(&sandbox, dir.path(), "named", &named_terms()).await;
    let concurrent = prepare(&sandbox, dir.path(), "concurrent", &concurrent_terms()).await;
    let ws = named.admin().await;
    let seat_for_ana = [
        Change::Add {
            login: "ana".into(),
            name: "Ana Lima".into(),
            email: String::new(),
        },
        Change::Assign {
            login: "ana".into(),
        },
    ];
    ws.named_seats()
        .change_users(&seat_for_ana, Utc::now())
        .await
        .unwrap();
    ws.close().await;
    Product {
        sandbox,
        named,
        concurrent,
        dir,
    }
}

async fn prepare(sandbox: &Sandbox, dir: &Path, name: &str, terms: &LicenseTerms) -> Prepared {
    let issued = sandbox.issue(name, terms).await.unwrap();
    let prepared = Prepared {
        profile: dir.join(format!("{name}-profile")),
        db: dir.join(format!("{name}.db")),
    };
    let mut ws = prepared.admin().await;
    // A development build of the library trusts the roots its profile trusts.
    ws.configure().trust(&sandbox.root_public_key()).unwrap();
    ws.update_settings(|s| s.server_url = Some(sandbox.url()))
        .unwrap();
    let api = ws.server().api(None).unwrap();
    let binding = ws.database().current_binding().unwrap();
    ws.activate(&api, &issued.key, binding, Utc::now())
        .await
        .unwrap();
    ws.close().await;
    prepared
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds `package`'s library with cargo (as these tests' profile: a test build does not
/// make a cdylib) and returns the folder it is in.
pub fn build_library(package: &str, file: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package]);
    let mut dir = build_dir();
    if dir.ends_with("release") {
        // A benchmark: the library as products get it, built in a folder of its own. Built
        // here, its dependencies' features (resolved without the benchmark's dev-dependencies)
        // would replace the benchmark's builds of them, and each run would rebuild both.
        let own = target_dir().join("product-build");
        build.arg("--release").arg("--target-dir").arg(&own);
        dir = own.join("release");
    }
    let status = build.current_dir(repo()).status().unwrap();
    assert!(status.success(), "cargo build -p {package} failed");
    assert!(
        dir.join(file).exists(),
        "{file} was not built in {}",
        dir.display()
    );
    dir
}

/// Builds `libtenure` and returns the folder it is in.
pub fn built_library() -> PathBuf {
    build_library("tenure-ffi", "libtenure.so")
}

/// A program's lines as they come, read on a thread of their own.
pub struct Lines {
    pub child: Child,
    incoming: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (send, incoming) = mpsc::sync_channel(1024);
        let started = std::time::Instant::now();
        std::thread::Builder::new()
            .name("program output".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    println!("  | {:>6.1}s {line}", started.elapsed().as_secs_f32());
                    if send.send(line).is_err() {
                        break;
                    }
                }
            })
            .unwrap();
        Self {
            child,
            incoming,
            seen: Vec::new(),
        }
    }

    /// Waits for a line starting with `prefix`; the rest of it.
    pub fn wait_for(&mut self, prefix: &str, within: Duration) -> String {
        let until = std::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => {
                    panic!(
                        "no line starting {prefix:?} within {within:?}; the program said:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Waits for the program to end; its exit code must be 0.
    pub fn finish(mut self) {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.incoming.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        assert!(
            status.success(),
            "the program failed ({status}); it said:\n{}",
            self.seen.join("\n")
        );
    }
}

/// Ends the session `id` as an admin would (`tenure sessions end ID`).
pub async fn end_session(prepared: &Prepared, id: &str) {
    let ws = prepared.admin().await;
    let ended = ws
        .concurrent_seats()
        .end_session(id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        ended,
        tenure_client::Ending::Ended,
        "session {id} was not open"
    );
    ws.close().await;
}

/// Validity of the sample license, for tests that need dates.
pub fn validity() -> Validity {
    sample_terms("Acme").validity
}

/// The folder cargo builds these tests' profile into: `<target>/debug` (the tests run from
/// `<target>/debug/deps`).
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The target folder cargo builds into.
pub fn target_dir() -> PathBuf {
    build_dir().parent().unwrap().to_path_buf()
}

/// A server that takes connections and never answers, and its URL.
pub fn hanging_server() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Runs `command`, which must succeed; what it printed when it did not.
pub fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what} ({command:?}): {e}"));
    print!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The environment the language tests read: the prepared workstations and a hanging server.
pub fn test_env(command: &mut Command, product: &Product, hanging_url: &str) {
    command
        .env("TENURE_TEST_NAMED_PROFILE", &product.named.profile)
        .env("TENURE_TEST_NAMED_DB", &product.named.db)
        .env(
            "TENURE_TEST_CONCURRENT_PROFILE",
            &product.concurrent.profile,
        )
        .env("TENURE_TEST_CONCURRENT_DB", &product.concurrent.db)
        .env("TENURE_TEST_HANGING_SERVER", hanging_url);
}

/// Compiles `source` (under `examples/`) with `compiler` against `include/` and the libraries
/// `libs` (`-ltenure` is looked for in `lib`), warnings as errors; the program's path.
pub fn compile(
    compiler: &str,
    standard: &str,
    source: &str,
    lib: &Path,
    libs: &[&str],
    out: &Path,
) -> PathBuf {
    let exe = out.join(Path::new(source).file_stem().unwrap());
    let status = Command::new(compiler)
        .args([standard, "-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
        .arg(&exe)
        .arg(repo().join("examples").join(source))
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-L")
        .arg(lib)
        .args(libs)
        .status()
        .unwrap_or_else(|e| {
            panic!("{compiler} is needed to build examples/{source} (apt-get install gcc g++): {e}")
        });
    assert!(status.success(), "examples/{source} did not compile");
    exe
}

/// Runs a quick start (README's) on the named-seats workstation: it says ana may work.
pub fn quickstart_says_ana_may_work(program: &mut Command, product: &Product) {
    let output = program
        .arg(&product.named.profile)
        .arg(&product.named.db)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the quick start {program:?}: {e}"));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success()
            && said.contains("ana may work")
            && said.contains("days of grace left"),
        "the quick start said:\n{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
