//! `examples/c/product.c`, compiled with the system's C compiler against `include/tenure.h`
//! and `libtenure`, run under valgrind against a real license server on loopback: status,
//! authorize, a seat lost when an admin ends its session (the callback hears it), a device,
//! four threads on one handle, a server that hangs, and bad input — with no leak and no
//! invalid access. README's C quick start runs too.

use std::process::Command;
use std::time::Duration;

mod support;

/// libtenure and the threads its examples start.
const LINK: &[&str] = &["-ltenure", "-lpthread"];
use support::{
    Lines, built_library, compile, end_session, hanging_server, product,
    quickstart_says_ana_may_work,
};

#[tokio::test(flavor = "multi_thread")]
async fn c_program_asks_tenure_under_valgrind() {
    let product = product().await;
    let lib = built_library();
    let exe = compile(
        "cc",
        "-std=c11",
        "c/product.c",
        &lib,
        LINK,
        product.dir.path(),
    );
    let quickstart = compile(
        "cc",
        "-std=c11",
        "c/quickstart.c",
        &lib,
        LINK,
        product.dir.path(),
    );
    quickstart_says_ana_may_work(
        Command::new(quickstart).env("LD_LIBRARY_PATH", &lib),
        &product,
    );

    let valgrind = which("valgrind").unwrap_or_else(|| {
        panic!("valgrind checks the C example for leaks: run scripts/install-deps (apt-get install valgrind)")
    });
    let (hanging, hanging_url) = hanging_server();
    let mut program = Command::new(valgrind);
    program
        .args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ])
        .arg(&exe)
        .arg(&product.named.profile)
        .arg(&product.named.db)
        .arg(&product.concurrent.profile)
        .arg(&product.concurrent.db)
        .arg(&hanging_url)
        .env("LD_LIBRARY_PATH", &lib)
        // A folder is no database: a call that took NULL for the database must say so.
        .env("TENURE_DB", product.dir.path());
    let mut run = Lines::spawn(&mut program);
    // Held open, never accepted from: a server that hangs.
    let _hanging = hanging;
    let session = run.wait_for("SESSION ", Duration::from_mins(3));
    end_session(&product.concurrent, &session).await;
    let lost = run.wait_for("LOST ", Duration::from_mins(1));
    assert!(
        lost.contains("ended"),
        "the callback's sentence says who ended it: {lost}"
    );
    run.wait_for("ALL OK", Duration::from_mins(2));
    run.finish();
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}
