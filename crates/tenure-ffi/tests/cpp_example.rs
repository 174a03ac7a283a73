//! `examples/cpp/product.cpp` through `include/tenure.hpp` (RAII handles, exceptions, a lambda
//! as the seat callback, one that throws), compiled with the system's C++ compiler and run
//! against a real license server on loopback.

use std::process::Command;
use std::time::Duration;

mod support;
use support::{Lines, built_library, end_session, product, repo};

#[tokio::test(flavor = "multi_thread")]
async fn cpp_program_asks_tenure() {
    let product = product().await;
    let lib = built_library();
    let exe = product.dir.path().join("product-cpp");
    let compiled = Command::new("c++")
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-o",
        ])
        .arg(&exe)
        .arg(repo().join("examples/cpp/product.cpp"))
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-L")
        .arg(&lib)
        .args(["-ltenure", "-lpthread"])
        .status()
        .expect("c++ (g++ or clang++) is needed to build the C++ example: apt-get install g++");
    assert!(
        compiled.success(),
        "examples/cpp/product.cpp did not compile"
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
