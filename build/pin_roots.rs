//! Shared by the build scripts of the app, libtenure and the Python and Node.js packages:
//! every program a vendor ships pins the same roots the same way.

use std::path::PathBuf;

/// Writes `$OUT_DIR/vendor_roots.pub`: the roots `TENURE_VENDOR_ROOTS` names, or nothing.
pub fn pin_roots() {
    println!("cargo:rerun-if-env-changed=TENURE_VENDOR_ROOTS");
    let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from);
    let Some(out_dir) = out_dir else {
        panic!("cargo did not set OUT_DIR");
    };
    let roots = match std::env::var_os("TENURE_VENDOR_ROOTS") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "TENURE_VENDOR_ROOTS={}: cannot read the vendor roots file: {e}",
                    path.display()
                )
            });
            assert!(
                text.contains("-----BEGIN TENURE PUBLIC KEY-----"),
                "TENURE_VENDOR_ROOTS={} holds no TENURE PUBLIC KEY block: make a root with `tenure-server root create -o root.key` and point at root.pub",
                path.display()
            );
            text
        }
        _ => String::new(),
    };
    if let Err(e) = std::fs::write(out_dir.join("vendor_roots.pub"), roots) {
        panic!("cannot write the pinned roots into OUT_DIR: {e}");
    }
}
