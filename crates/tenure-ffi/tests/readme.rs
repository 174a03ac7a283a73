//! README's "In your product" shows the quick starts the tests compile and run, word for word.

use std::path::Path;

#[test]
fn readme_shows_the_quick_starts_the_tests_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    for example in [
        "examples/c/quickstart.c",
        "examples/cpp/quickstart.cpp",
        "bindings/python/examples/quickstart.py",
        "bindings/node/examples/quickstart.mjs",
    ] {
        let text = std::fs::read_to_string(root.join(example))
            .unwrap_or_else(|e| panic!("cannot read {example}: {e}"));
        assert!(
            readme.contains(&text),
            "README.md's \"In your product\" does not show {example} as it is: copy the file into its code block"
        );
    }
}
