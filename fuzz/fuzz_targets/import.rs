//! Importing offline files: an answer (signed license) and a request, from any bytes. Never
//! panics, and nothing but the seeds' own signed answers ever verifies: an accepted mutation
//! would be a forgery.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenure_core::protocol::OfflineRequest;
use tenure_core::signed::{read_unsigned, text_from_bytes};
use tenure_core::{DocKind, Trust, TrustedKeys, VendorKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = text_from_bytes(data) else {
        return;
    };
    let mut trusted = TrustedKeys::new();
    trusted.add(VendorKey::from_secret([8; 32]).verifying_key());
    let trust = Trust::new(trusted);
    if let Ok(license) = trust.open_license(text) {
        // Only the seed answers are genuine; their nonces say so.
        assert!(license.nonce.starts_with("seed-"), "a forged answer verified");
    }
    let _ = read_unsigned::<OfflineRequest>(text, DocKind::Request);
});
