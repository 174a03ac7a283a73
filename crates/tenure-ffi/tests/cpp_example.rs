//! `examples/cpp/product.cpp` through `include/tenure.hpp` (RAII handles, exceptions, a lambda
//! as the seat callback, one that throws), compiled with the system's C++ compiler and run
//! against a real license server on loopback; README's C++ quick start too.

use std::process::Command;
use std::time::Duration;

mod support;

/// libtenure and the threads its examples start.
const LINK: &[&str] = &["-ltenure", "-lpthread"];
use support::{Lines, built_library, compile, end_session, product, quickstart_says_ana_may_work};

#[tokio::test(flavor = "multi_thread")]
async fn cpp_program_asks_tenure() {
    let product = product().await;
    let lib = built_library();
    let exe = compile(
        "c++",
        "-std=c++17",
        "cpp/product.cpp",
        &lib,
        LINK,
        product.dir.path(),
    );
    let quickstart = compile(
        "c++",
        "-std=c++17",
        "cpp/quickstart.cpp",
        &lib,
        LINK,
        product.dir.path(),
    );
    quickstart_says_ana_may_work(
        Command::new(quickstart).env("LD_LIBRARY_PATH", &lib),
        &product,
    );
    let mut program = Command::new(&exe);
    program
        .arg(&product.named.profile)
        .arg(&product.named.db)
        .arg(&product.concurrent.profile)
        .arg(&product.concurrent.db)
        .env("LD_LIBRARY_PATH", &lib);
    let mut run = Lines::spawn(&mut program);
    let session = run.wait_for("SESSION ", Duration::from_mins(1));
    end_session(&product.concurrent, &session).await;
    let lost = run.wait_for("LOST ", Duration::from_mins(1));
    assert!(lost.contains("ended"), "{lost}");
    run.wait_for("ALL OK", Duration::from_mins(1));
    run.finish();
}
