//! Pins the vendor's root public keys into the app: `TENURE_VENDOR_ROOTS=roots.pub cargo build
//! --release`. Without it the build is a development build, which says on every screen that its
//! licenses are not protected (see `tenure::vendor_roots`).

use std::path::PathBuf;

fn main() {
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
