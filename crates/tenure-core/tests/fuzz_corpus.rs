//! Replays the fuzz corpus (`fuzz/corpus/*`) on stable Rust with the fuzz targets' own checks, so
//! every input the fuzzers kept — and every crash they found, once added — stays covered by CI.
#![expect(
    clippy::disallowed_methods,
    reason = "the test reads the fuzz corpus from disk; the crate itself does no I/O"
)]

use std::path::{Path, PathBuf};

use tenure_core::armor::Armored;
use tenure_core::protocol::OfflineRequest;
use tenure_core::signed::{read_unsigned, text_from_bytes};
use tenure_core::{DocKind, Trust, TrustedKeys, VendorKey};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus {} is empty", dir.display());
    files
}

#[test]
fn armor_corpus_parses_and_writes_back_the_same() {
    let mut parsed = 0;
    for file in corpus("armor") {
        let bytes = std::fs::read(&file).expect("readable corpus file");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Ok(armored) = Armored::parse(text) {
            let again = Armored::parse(&armored.to_text()).expect("written text parses");
            assert_eq!(again, armored, "{}", file.display());
            parsed += 1;
        }
    }
    assert!(parsed >= 2, "the seeds parse");
}

#[test]
fn import_corpus_verifies_only_genuine_answers() {
    let mut trusted = TrustedKeys::new();
    trusted.add(VendorKey::from_secret([8; 32]).verifying_key());
    let trust = Trust::new(trusted);
    let mut genuine = 0;
    for file in corpus("import") {
        let bytes = std::fs::read(&file).expect("readable corpus file");
        let Ok(text) = text_from_bytes(&bytes) else {
            continue;
        };
        if let Ok(license) = trust.open_license(text) {
            assert!(license.nonce.starts_with("seed-"), "{}", file.display());
            genuine += 1;
        }
        let _ = read_unsigned::<OfflineRequest>(text, DocKind::Request);
    }
    assert!(genuine >= 1, "the seed answer verifies");
}
