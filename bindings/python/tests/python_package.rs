//! The Python package (`bindings/python`), built by maturin as a wheel, installed in a
//! virtual environment and tested with pytest against a real license server on loopback;
//! then its quick-start example (the one README shows) runs.

use std::path::Path;
use std::process::Command;

#[path = "../../../crates/tenure-ffi/tests/support/mod.rs"]
mod support;
use support::{
    hanging_server, product, quickstart_says_ana_may_work, repo, run, target_dir, test_env,
};

/// maturin and pytest (from the Python package index) in a virtual environment kept beside
/// the build.
fn tools(target: &Path) -> std::path::PathBuf {
    let venv = target.join("python-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv (apt-get install python3-venv)",
        );
        run(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "maturin==1.16.0",
                "pytest==9.2.0",
            ]),
            "pip install maturin pytest (PyPI)",
        );
    }
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn python_package_asks_tenure() {
    let target = target_dir();
    let python = tools(&target);
    let wheels = target.join("python-wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(
        Command::new(python.with_file_name("maturin"))
            .args(["build", "--quiet", "--profile", "dev", "--manifest-path"])
            .arg(repo().join("bindings/python/Cargo.toml"))
            .arg("--out")
            .arg(&wheels)
            .arg("--interpreter")
            .arg(&python)
            .env("CARGO_TARGET_DIR", &target),
        "maturin build",
    );
    let wheel = std::fs::read_dir(&wheels)
        .expect("maturin wrote no wheel folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote no wheel");
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--force-reinstall", "--no-deps"])
            .arg(&wheel),
        "pip install the wheel",
    );

    let product = product().await;
    let (_hanging, hanging_url) = hanging_server();
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(repo().join("bindings/python/tests"));
    test_env(&mut pytest, &product, &hanging_url);
    run(&mut pytest, "pytest bindings/python/tests");

    quickstart_says_ana_may_work(
        Command::new(&python).arg(repo().join("bindings/python/examples/quickstart.py")),
        &product,
    );
}
