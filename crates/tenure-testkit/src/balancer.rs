//! A real `HAProxy` on loopback in front of several servers, and the processes it balances: run
//! to completion ([`run_ok`]) or kept running ([`Running`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped, so a failed test leaves nothing behind.
#[derive(Debug)]
pub struct Running(pub Child);

impl Running {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command`, which must succeed; returns its standard output.
pub fn run_ok(command: &mut Command) -> String {
    let out = command.output().expect("run the command");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits up to 30 s until something listens on `port` (127.0.0.1).
pub fn wait_until_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `program` on `PATH` or in the system folders (`HAProxy` lives in `/usr/sbin`).
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
}

/// `HAProxy` on 127.0.0.1:`port`, round-robin over the `backends` ports, its configuration in
/// `dir`; returns once it listens. Panics with what to install when `HAProxy` is missing.
pub fn haproxy(dir: &Path, port: u16, backends: &[u16]) -> Running {
    let haproxy = which("haproxy").unwrap_or_else(|| {
        panic!("this needs HAProxy (a real load balancer): apt-get install haproxy, or run scripts/test")
    });
    let mut config = format!(
        "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
         frontend tenure\n  bind 127.0.0.1:{port}\n  default_backend servers\n\
         backend servers\n  balance roundrobin\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        let _ = writeln!(config, "  server s{i} 127.0.0.1:{backend}");
    }
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, config).expect("write the HAProxy configuration");
    let child = Command::new(haproxy)
        .args(["-db", "-f"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start HAProxy");
    let running = Running(child);
    wait_until_up(port);
    running
}
