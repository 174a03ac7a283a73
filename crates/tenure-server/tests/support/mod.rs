//! Running the real `tenure-server` binary from tests.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::process::Command;

/// `tenure-server` with `args`, which must succeed; returns what it printed.
pub fn vendor_cli(args: &[&std::ffi::OsStr]) -> String {
    run_ok(Command::new(env!("CARGO_BIN_EXE_tenure-server")).args(args))
}

/// Runs `command`, which must succeed; returns its standard output.
pub fn run_ok(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
