//! `include/tenure.h` is what cbindgen makes of the code: a change to the ABI that is not in
//! the checked-in header fails here. `TENURE_BLESS=1` writes the new header instead.

use std::path::Path;

#[test]
fn checked_in_header_matches_the_code() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("crates/tenure-ffi/cbindgen.toml: {e}"));
    let generated = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen cannot read crates/tenure-ffi: {e}"));
    let mut made = Vec::new();
    generated.write(&mut made);
    let made = String::from_utf8(made).unwrap_or_else(|e| panic!("cbindgen wrote non-UTF-8: {e}"));
    let header = crate_dir.join("../../include/tenure.h");
    if std::env::var_os("TENURE_BLESS").is_some() {
        std::fs::write(&header, &made)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", header.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        checked_in == made,
        "include/tenure.h differs from what cbindgen makes of crates/tenure-ffi: run `TENURE_BLESS=1 cargo test -p tenure-ffi --test header` and commit the header (and check include/tenure.hpp and the bindings still match)"
    );
}
