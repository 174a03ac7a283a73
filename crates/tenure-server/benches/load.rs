//! Load benchmark of the real server over loopback, driven by `wrk` (a separate process, so the
//! load generator does not share the server's runtime): `POST /v1/validations` per second and
//! p50/p99 latency with 64 connections over 200 activated licenses, next to `GET /v1/health` in
//! the same run, on SQLite and on PostgreSQL; and activations per second. Every validation is
//! durable before it is answered. Beside each rate: the CPU per request of the server's
//! processes and, on PostgreSQL, of the database's (its postmaster and children).
//!
//! Run with `cargo bench -p tenure-server --bench load` (needs `wrk`: apt-get install wrk);
//! `-- sqlite`, `-- postgres`, `-- webhooks` or `-- balanced` runs that part only. The webhooks
//! part runs SQLite twice in one run, the second time with a webhook hearing every event (a
//! receiver on loopback), so a validation's p99 with webhooks on reads beside the one without. The balanced part runs two
//! real `tenure-server serve` processes on one PostgreSQL database behind `HAProxy` (needs
//! `haproxy`).

// The allocator `tenure-server` itself uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "load/balanced.rs"]
mod balanced;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tenure_core::Binding;
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{ActivationRequest, ValidationRequest};
use tenure_server::http::limit::ActivationLimits;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_server::{AppState, Store};

const CONNECTIONS: usize = 64;
const LICENSES: usize = 200;
const SECONDS: u64 = 8;

/// What wrk measured.
struct Figures {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// The server's CPU time (all its threads) during the run.
    cpu_seconds: f64,
    /// PostgreSQL's (its postmaster and every child) during the run; NaN on SQLite, which runs
    /// inside the server.
    db_cpu_seconds: f64,
}

/// Runs wrk against `url`; with `bodies`, POSTs them in turn (as JSON).
fn wrk(url: &str, bodies: Option<&[String]>, dir: &Path) -> Figures {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{SECONDS}s"),
        "--latency",
    ]);
    if let Some(bodies) = bodies {
        let mut script = String::from("local bodies = {\n");
        for body in bodies {
            let _ = writeln!(script, "  [==[{body}]==],");
        }
        script.push_str(
            "}\nlocal i = 0\nwrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n",
        );
        let file = dir.join("bodies.lua");
        std::fs::write(&file, script).expect("write the wrk script");
        command.arg("-s").arg(file);
    }
    let out = command
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run wrk ({e}): apt-get install wrk"));
    let text = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Option<&str> {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .map(str::trim)
    };
    let millis = |value: &str| -> f64 {
        let (n, unit) = value.split_at(
            value
                .find(|c: char| c.is_alphabetic())
                .unwrap_or(value.len()),
        );
        let n: f64 = n.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1e3,
            "s" => n * 1e3,
            _ => n,
        }
    };
    Figures {
        per_sec: number("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: number("50%").map_or(f64::NAN, millis),
        p99_ms: number("99%").map_or(f64::NAN, millis),
        non_2xx: number("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        cpu_seconds: f64::NAN,
        db_cpu_seconds: f64::NAN,
    }
}

/// CPU seconds the server has used: this process (its async threads, writer and SQLite's) when
/// `processes` is empty, else those processes together. From `/proc/PID/stat` (user + system, in
/// the kernel's 100 Hz ticks); NaN where there is none. Steal time on a shared machine moves
/// the requests per second; this moves far less.
fn server_cpu_seconds(processes: &[u32]) -> f64 {
    let stats: Vec<String> = if processes.is_empty() {
        vec!["/proc/self/stat".to_owned()]
    } else {
        processes
            .iter()
            .map(|p| format!("/proc/{p}/stat"))
            .collect()
    };
    stats.iter().map(|file| process_cpu_seconds(file)).sum()
}

/// A PostgreSQL cluster's processes: the postmaster (from `postmaster.pid` in `data`) and its
/// children (backends, WAL writer, checkpointer). Empty without a cluster.
fn cluster_processes(data: Option<&Path>) -> Vec<u32> {
    let Some(postmaster) = data
        .and_then(|d| std::fs::read_to_string(d.join("postmaster.pid")).ok())
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
    else {
        return Vec::new();
    };
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let mut processes = vec![postmaster];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>()
            && parent_of(pid) == Some(postmaster)
        {
            processes.push(pid);
        }
    }
    processes
}

/// CPU seconds of `processes` together; NaN when there are none.
fn cpu_of(processes: &[u32]) -> f64 {
    if processes.is_empty() {
        return f64::NAN;
    }
    server_cpu_seconds(processes)
}

fn process_cpu_seconds(stat_file: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(stat_file) else {
        return f64::NAN;
    };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

fn print(name: &str, f: &Figures) {
    #[expect(clippy::cast_precision_loss, reason = "seconds × requests per second")]
    let requests = f.per_sec * SECONDS as f64;
    let cpu_us = f.cpu_seconds * 1e6 / requests;
    let db = if f.db_cpu_seconds.is_nan() {
        String::new()
    } else {
        format!(" + database {:.0}", f.db_cpu_seconds * 1e6 / requests)
    };
    println!(
        "  {name:<22} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   non-2xx {}   server CPU {cpu_us:>4.0}{db} µs/request",
        f.per_sec, f.p50_ms, f.p99_ms, f.non_2xx
    );
}

/// A license to activate: its key and id.
struct Issued {
    key: String,
    license_id: String,
}

/// A server over `store` with 200 licenses issued (not yet activated).
async fn prepare(store: Store) -> (Sandbox, Vec<Issued>) {
    let root = tenure_core::VendorKey::from_secret([1; 32]);
    let generous = ActivationLimits {
        per_address_per_minute: 1_000_000,
        per_address_burst: 100_000,
        global_per_second: 1_000_000,
        global_burst: 100_000,
    };
    let sandbox = Sandbox::start_with(store, root, |vendor, token| {
        AppState::new(vendor, token).with_activation_limits(generous)
    })
    .await
    .expect("server");
    let mut issued = Vec::new();
    for i in 0..LICENSES {
        let license = sandbox
            .issue(&format!("acme{i}"), &sample_terms("Acme"))
            .await
            .expect("license");
        issued.push(Issued {
            key: license.key,
            license_id: license.license_id,
        });
    }
    (sandbox, issued)
}

/// Activates every license through `url`, all at once, each with its own credential and
/// binding; returns the validation bodies and the activations per second seen.
async fn activate_all(url: &str, issued: &[Issued]) -> (Vec<String>, f64) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let activations = issued.iter().enumerate().map(|(i, license)| {
        let (http, url) = (http.clone(), url.to_owned());
        let key = license.key.clone();
        tokio::spawn(async move {
            let credential = Credential::from_secret(seed(i));
            http.post(format!("{url}/v1/activations"))
                .json(&ActivationRequest {
                    key,
                    binding: binding(i),
                    nonce: "n".into(),
                    holder: credential.public_hex(),
                })
                .send()
                .await
                .expect("activate")
                .error_for_status()
                .expect("activated");
        })
    });
    for activation in activations.collect::<Vec<_>>() {
        activation.await.expect("activation task");
    }
    #[expect(clippy::cast_precision_loss, reason = "a few hundred activations")]
    let activations_per_sec = issued.len() as f64 / started.elapsed().as_secs_f64();
    let bodies = issued
        .iter()
        .enumerate()
        .map(|(i, license)| {
            let nonce = format!("{i:016x}");
            let binding = binding(i);
            serde_json::to_string(&ValidationRequest {
                proof: Credential::from_secret(seed(i)).prove(
                    ProofAction::Validate,
                    &license.license_id,
                    &binding,
                    &nonce,
                ),
                license_id: license.license_id.clone(),
                binding,
                nonce,
                overdraft: Vec::new(),
                revoked_borrows: Vec::new(),
                borrowed_session: None,
            })
            .expect("json")
        })
        .collect();
    (bodies, activations_per_sec)
}

fn seed(i: usize) -> [u8; 32] {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed
}

fn binding(i: usize) -> Binding {
    Binding {
        server: format!("srv{i}"),
        database: "prod".into(),
    }
}

/// `database`: the PostgreSQL cluster's data folder, to count its CPU too. With `webhooks`, a
/// webhook hears every event (the activations owe one each) before the load starts.
async fn run(name: &str, store: Store, dir: &Path, database: Option<&Path>, webhooks: bool) {
    let (sandbox, issued) = prepare(store).await;
    if webhooks {
        let receiver = receiver().await;
        sandbox
            .vendor()
            .webhooks()
            .add(&receiver, &[], "the bench")
            .await
            .expect("webhook");
    }
    let url = sandbox.url();
    let (bodies, activations) = activate_all(&url, &issued).await;
    let metrics = tenure_server::spawn_metrics(([127, 0, 0, 1], 0).into())
        .await
        .expect("metrics listener");
    let target = Target {
        url,
        metrics: vec![format!("http://{metrics}")],
        processes: Vec::new(),
        database: database.map(Path::to_path_buf),
    };
    measure(name, &target, bodies, dir, activations).await;
}

/// Where the load goes: the URL wrk calls, each instance's metrics listener, and the server's
/// processes (none: this one).
struct Target {
    url: String,
    metrics: Vec<String>,
    processes: Vec<u32>,
    /// The PostgreSQL cluster's data folder, if the server uses one.
    database: Option<std::path::PathBuf>,
}

/// Runs health and then validations against `target` and prints what was measured.
async fn measure(name: &str, target: &Target, bodies: Vec<String>, dir: &Path, activations: f64) {
    let url = target.url.clone();
    let answer = reqwest::Client::new()
        .post(format!("{url}/v1/validations"))
        .header("Content-Type", "application/json")
        .body(bodies[0].clone())
        .send()
        .await
        .expect("validate")
        .error_for_status()
        .expect("validated")
        .bytes()
        .await
        .expect("answer");
    let before = batch_totals(&target.metrics).await;
    // wrk blocks: run it off the runtime that serves.
    let (health, validations) = {
        let (dir, processes) = (dir.to_path_buf(), target.processes.clone());
        let database = target.database.clone();
        tokio::task::spawn_blocking(move || {
            let phase = |path: &str, bodies: Option<&[String]>| {
                let db = cluster_processes(database.as_deref());
                let (cpu, db_cpu) = (server_cpu_seconds(&processes), cpu_of(&db));
                let mut figures = wrk(&format!("{url}{path}"), bodies, &dir);
                figures.cpu_seconds = server_cpu_seconds(&processes) - cpu;
                figures.db_cpu_seconds = cpu_of(&db) - db_cpu;
                figures
            };
            let health = phase("/v1/health", None);
            std::thread::sleep(Duration::from_secs(1));
            let validations = phase("/v1/validations", Some(&bodies));
            (health, validations)
        })
        .await
        .expect("wrk")
    };
    let after = batch_totals(&target.metrics).await;
    println!(
        "{name}: {CONNECTIONS} connections, {LICENSES} licenses, {SECONDS} s per phase, \
         answers of {} bytes",
        answer.len()
    );
    print("GET /v1/health", &health);
    print("POST /v1/validations", &validations);
    let batches = after[1] - before[1];
    println!(
        "  batches: {batches:.0}, {:.1} writes and {:.2} ms to commit on average",
        (after[0] - before[0]) / batches,
        (after[2] - before[2]) * 1e3 / batches
    );
    println!(
        "  validations / health: {:.3}; activations: {activations:.0}/s",
        validations.per_sec / health.per_sec
    );
}

/// The writers' totals from each instance's `/metrics`: writes batched, batches, seconds spent
/// committing.
async fn batch_totals(metrics: &[String]) -> [f64; 3] {
    let mut totals = [0.0; 3];
    for url in metrics {
        let text = reqwest::get(format!("{url}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        let value = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or(0.0)
        };
        totals[0] += value("tenure_batch_size_sum");
        totals[1] += value("tenure_batch_size_count");
        totals[2] += value("tenure_batch_commit_seconds_sum");
    }
    totals
}

/// A webhook receiver on loopback that takes every post: its URL.
async fn receiver() -> String {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Whether the command line asks for `store` (all when it names none).
fn wanted(store: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| ["sqlite", "postgres", "webhooks", "balanced"].contains(&a.as_str()))
        .collect();
    named.is_empty() || named.iter().any(|a| a == store)
}

fn main() {
    tenure_server::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        if wanted("sqlite") {
            let sqlite = Store::open_sqlite_dir(&dir.path().join("sqlite"))
                .await
                .expect("sqlite");
            run("SQLite", sqlite, dir.path(), None, false).await;
        }
        if wanted("webhooks") {
            for (name, webhooks) in [("SQLite, no webhook", false), ("SQLite, webhooks on", true)] {
                let sqlite = Store::open_sqlite_dir(&dir.path().join(name))
                    .await
                    .expect("sqlite");
                run(name, sqlite, dir.path(), None, webhooks).await;
            }
        }
        if wanted("postgres") {
            let cluster = tenure_testkit::PgCluster::start();
            let postgres = Store::open(&cluster.create_database("tenure_server"))
                .await
                .expect("postgres");
            run(
                "PostgreSQL",
                postgres,
                dir.path(),
                Some(&cluster.dir().join("data")),
                false,
            )
            .await;
        }
        if wanted("balanced") {
            balanced::run(dir.path()).await;
        }
    });
}
