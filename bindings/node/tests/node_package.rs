//! The Node.js package (`bindings/node`): its addon, which cargo built for these tests, loaded
//! by `index.js` and tested with `node --test` against a real license server on loopback;
//! then its quick-start example (the one README shows) runs, resolving `tenure` as a product
//! that installed the package would.

use std::process::Command;

#[path = "../../../crates/tenure-ffi/tests/support/mod.rs"]
mod support;
use support::{
    build_library, hanging_server, product, quickstart_says_ana_may_work, repo, run, test_env,
};

#[tokio::test(flavor = "multi_thread")]
async fn node_package_asks_tenure() {
    let addon = build_library("tenure-node", "libtenure_node.so").join("libtenure_node.so");
    let product = product().await;
    let (_hanging, hanging_url) = hanging_server();
    let package = repo().join("bindings/node");
    let mut node = Command::new("node");
    node.args(["--test", "--test-concurrency=1", "--test-timeout=60000"])
        .arg(package.join("test/tenure.test.mjs"))
        .env("TENURE_NODE_ADDON", &addon);
    test_env(&mut node, &product, &hanging_url);
    run(
        &mut node,
        "node --test bindings/node/test (Node.js 18 or later)",
    );

    // A product's folder with the package in node_modules.
    let app = product.dir.path().join("app");
    std::fs::create_dir_all(app.join("node_modules")).unwrap();
    std::os::unix::fs::symlink(&package, app.join("node_modules/tenure")).unwrap();
    std::fs::copy(
        package.join("examples/quickstart.mjs"),
        app.join("quickstart.mjs"),
    )
    .unwrap();
    quickstart_says_ana_may_work(
        Command::new("node")
            .arg(app.join("quickstart.mjs"))
            .env("TENURE_NODE_ADDON", &addon),
        &product,
    );
}
