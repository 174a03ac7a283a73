//! Running the real `tenure-server` binary from tests.

use std::process::Command;

pub use tenure_testkit::balancer::run_ok;

/// `tenure-server` with `args`, which must succeed; returns what it printed.
pub fn vendor_cli(args: &[&std::ffi::OsStr]) -> String {
    run_ok(Command::new(env!("CARGO_BIN_EXE_tenure-server")).args(args))
}
