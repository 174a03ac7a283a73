//! The same load through two real `tenure-server serve` processes on one PostgreSQL database,
//! sharing one certified signing key, behind `HAProxy` on loopback: the several-instance start the
//! README describes, on the same two cores as the load generator.

use std::path::Path;
use std::process::{Command, Stdio};

use tenure_testkit::balancer::{Running, haproxy, run_ok, wait_until_up};
use tenure_testkit::{PgCluster, created_license, free_port};

use super::{Issued, LICENSES, Target, activate_all, measure};

/// `tenure-server` on the shared database, key, key-hash secret and admin token, with
/// `data_dir` its own.
fn vendor(url: &str, dir: &Path, data_dir: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenure-server"));
    command
        .arg("--data-dir")
        .arg(dir.join(data_dir))
        .args(["--database-url", url, "--signing-key-file"])
        .arg(dir.join("signing.key"))
        .arg("--key-hash-secret-file")
        .arg(dir.join("license-keys.secret"))
        .arg("--admin-token-file")
        .arg(dir.join("admin.token"));
    command
}

/// Issues the licenses through the vendor's CLI, four processes at a time.
fn issue(url: &str, dir: &Path) -> Vec<Issued> {
    let chunks: Vec<Vec<usize>> = (0..LICENSES)
        .collect::<Vec<_>>()
        .chunks(LICENSES.div_ceil(4))
        .map(<[usize]>::to_vec)
        .collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|_| {
                            let created = run_ok(vendor(url, dir, "a").args([
                                "license",
                                "create",
                                "--account",
                                "acme",
                                "--expires",
                                "2099-12-31",
                            ]));
                            let (license_id, key) = created_license(&created);
                            Issued { key, license_id }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("issuing thread"))
            .collect()
    })
}

/// Two instances behind `HAProxy`; prints the same figures as the single server.
pub async fn run(dir: &Path) {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_balanced");
    let dir = dir.join("balanced");
    std::fs::create_dir_all(&dir).expect("dir");
    for (secret, purpose) in [
        ("signing.key", "signing"),
        ("license-keys.secret", "license-keys"),
    ] {
        let file = dir.join(secret);
        run_ok(Command::new(env!("CARGO_BIN_EXE_tenure-server")).args([
            "key".as_ref(),
            "create".as_ref(),
            "--for".as_ref(),
            purpose.as_ref(),
            "-o".as_ref(),
            file.as_os_str(),
        ]));
    }
    run_ok(vendor(&url, &dir, "a").args(["admin-token", "rotate"]));
    let root = dir.join("root.key");
    let root = root.to_str().expect("a UTF-8 temp path");
    run_ok(vendor(&url, &dir, "a").args(["root", "create", "-o", root]));
    run_ok(vendor(&url, &dir, "a").args(["key", "certify", "--root", root]));
    run_ok(vendor(&url, &dir, "a").args(["account", "create", "acme"]));
    let issued = issue(&url, &dir);

    let ports = [free_port(), free_port()];
    let metrics_ports = [free_port(), free_port()];
    let instances: Vec<Running> = ports
        .iter()
        .zip(metrics_ports)
        .zip(["a", "b"])
        .map(|((port, metrics_port), data_dir)| {
            let child = vendor(&url, &dir, data_dir)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
                // A load run activates every license from one address within a second.
                .args(["--activations-per-minute", "100000"])
                .args(["--activation-burst", "100000"])
                .args(["--activations-per-second", "100000"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start an instance");
            Running(child)
        })
        .collect();
    for port in ports {
        wait_until_up(port);
    }
    let balancer_port = free_port();
    let balancer = haproxy(&dir, balancer_port, &ports);
    let lb = format!("http://127.0.0.1:{balancer_port}");
    let (bodies, activations) = activate_all(&lb, &issued).await;
    let mut processes: Vec<u32> = instances.iter().map(Running::id).collect();
    processes.push(balancer.id());
    let target = Target {
        url: lb,
        metrics: metrics_ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
        processes,
        database: Some(cluster.dir().join("data")),
    };
    measure(
        "Two instances behind HAProxy, one PostgreSQL (servers and HAProxy CPU)",
        &target,
        bodies,
        &dir,
        activations,
    )
    .await;
}
