//! Test support: throwaway PostgreSQL clusters on free loopback ports, and a real load balancer
//! ([`balancer`]).
//!
//! A [`PgCluster`] runs `initdb` and `pg_ctl` from the machine's PostgreSQL install (Debian's
//! `/usr/lib/postgresql/<version>/bin`, or `PATH`) in a temporary folder, as the `postgres` user
//! when the tests run as root (PostgreSQL refuses to run as root). It stops and disappears on
//! drop. If PostgreSQL is not installed the test fails with what to install — never skips.
#![warn(missing_docs)]

pub mod balancer;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What a test that needs the OS keyring says when none answers.
pub const KEYRING_HINT: &str = "this test needs an OS keyring (Secret Service). Run scripts/test, \
    which starts GNOME Keyring in a private D-Bus session (apt-get install dbus gnome-keyring \
    libsecret-tools).";

/// The id and key of a license as `tenure-server license create` prints it ("license ID
/// created; key: KEY"). Panics, showing what was printed, on anything else.
pub fn created_license(printed: &str) -> (String, String) {
    let parsed = printed
        .strip_prefix("license ")
        .and_then(|rest| rest.split_once(" created; key: "))
        .map(|(id, key)| (id.to_owned(), key.trim().to_owned()));
    parsed.unwrap_or_else(|| panic!("not a created license: {printed:?}"))
}

/// A free TCP port on 127.0.0.1 (bound and released; fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Finds PostgreSQL's server binaries.
pub fn pg_bin_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    candidates.sort();
    if let Some(newest) = candidates.pop() {
        return newest;
    }
    for dir in std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
    {
        if dir.join("pg_ctl").exists() && dir.join("initdb").exists() {
            return dir;
        }
    }
    panic!(
        "this test needs a PostgreSQL server: install it (Debian: apt-get install postgresql) \
         or run scripts/test, which installs what the tests need"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The password of the `postgres` role in every test cluster (loopback only, thrown away).
pub const PG_PASSWORD: &str = "tenure-test";

/// A running PostgreSQL cluster owned by one test. Connections over TCP need the password
/// ([`PG_PASSWORD`], SCRAM), so wrong-password handling can be tested too.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    /// Creates and starts a cluster on a free port, with trust authentication on loopback.
    pub fn start() -> Self {
        let bin = pg_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("tenure-pg-")
            .tempdir()
            .expect("temp dir");
        let as_postgres = is_root();
        let data = dir.path().join("data");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "cannot give the temp dir to the postgres user"
            );
        }
        let mut cluster = Self {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let pwfile = cluster.dir.path().join("pwfile");
        std::fs::write(&pwfile, PG_PASSWORD).expect("password file");
        if as_postgres {
            let _ = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pwfile)
                .status();
        }
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last_err = String::new();
        for _attempt in 0..3 {
            if cluster.pg_ctl_start().status.success() {
                return cluster;
            }
            last_err =
                std::fs::read_to_string(cluster.dir.path().join("pg.log")).unwrap_or_default();
            cluster.port = free_port();
        }
        panic!("PostgreSQL did not start: {last_err}");
    }

    fn pg_ctl_start(&self) -> Output {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        )
    }

    /// Stops the server at once (`-m immediate`): connections drop, new ones are refused, as
    /// when a database host fails.
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it again on the same port, after [`Self::stop`].
    pub fn restart(&self) {
        let out = self.pg_ctl_start();
        assert!(
            out.status.success(),
            "PostgreSQL did not start again: {}",
            std::fs::read_to_string(self.dir.path().join("pg.log")).unwrap_or_default()
        );
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        command
            .args(args)
            .env("PGPASSWORD", PG_PASSWORD)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// Runs a PostgreSQL client tool from the same install (`createdb`, `pg_dump`, …) as the
    /// cluster's owner, against this cluster.
    pub fn tool(&self, program: &str, args: &[&str]) -> Output {
        let port = self.port.to_string();
        let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
        all.extend_from_slice(args);
        self.run(program, &all)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let out = self.tool("createdb", &[name]);
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(name)
    }

    /// The URL of a database in this cluster, with the password.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// The folder the cluster lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "immediate", "stop"],
        );
    }
}
