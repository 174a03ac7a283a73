//! Running the real `tenure-server` binary from tests.

use std::path::Path;
use std::process::Command;

pub use tenure_testkit::balancer::run_ok;

/// `tenure-server` with `args`, which must succeed; returns what it printed.
pub fn vendor_cli(args: &[&std::ffi::OsStr]) -> String {
    run_ok(Command::new(env!("CARGO_BIN_EXE_tenure-server")).args(args))
}

/// `tenure-server --data-dir DIR` with `args`, which must succeed; returns what it printed.
pub fn vendor_in(dir: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_tenure-server"))
            .arg("--data-dir")
            .arg(dir)
            .args(args),
    )
}

/// The account `acme` and one license of it valid until 2099, made with the CLI in `dir`:
/// the license's id and key.
pub fn acme_license(dir: &Path) -> (String, String) {
    vendor_in(dir, &["account", "create", "acme"]);
    let created = vendor_in(
        dir,
        &[
            "license",
            "create",
            "--account",
            "acme",
            "--expires",
            "2099-12-31",
        ],
    );
    tenure_testkit::created_license(&created)
}
