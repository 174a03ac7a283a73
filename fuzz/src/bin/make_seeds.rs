//! Writes the seed corpus: a genuine answer signed by the fuzz key (with its certificate from the
//! fuzz root), and a request.
//! `cargo run --manifest-path fuzz/Cargo.toml --bin make-seeds`

use chrono::{NaiveDate, Utc};
use tenure_core::protocol::{OfflineAsk, OfflineRequest};
use tenure_core::signed::write_unsigned;
use tenure_core::{
    ActivationMode, Binding, DocKind, License, LicenseTerms, SeatKind, Validity, VendorKey,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let binding = Binding {
        server: "srv1".into(),
        database: "prod".into(),
    };
    let day = |s: &str| s.parse::<NaiveDate>();
    let license = License {
        id: "lic_seed".into(),
        account: "acme".into(),
        terms: LicenseTerms {
            customer: "Acme".into(),
            kind: SeatKind::Named,
            seats: 3,
            grace_days: 30,
            max_grace_days: 90,
            validity: Validity {
                starts: day("2026-01-01")?,
                expires: day("2027-12-31")?,
            },
            activation_mode: ActivationMode::Offline,
            modules: vec![],
            max_borrow_days: 7,
            max_rebinds_per_30_days: 3,
            lease_secs: 300,
            quantities: vec![],
        },
        grace_days: 30,
        binding: binding.clone(),
        issued_at: Utc::now(),
        validated_at: Utc::now(),
        nonce: "seed-0001".into(),
    };
    // The fuzz targets pin root [8; 32], which certifies signing key [7; 32].
    let (root, signing) = (VendorKey::from_secret([8; 32]), VendorKey::from_secret([7; 32]));
    let certificate = root.certify(
        &signing.verifying_key(),
        license.issued_at - chrono::Duration::days(1),
        license.issued_at + chrono::Duration::days(3650),
        license.issued_at,
        "fuzz",
        90,
    )?;
    let license_block = signing.sign(DocKind::License, &license)?;
    let answer = tenure_core::trust::bundle(&license_block, &certificate);
    let request = write_unsigned(
        DocKind::Request,
        &OfflineRequest {
            ask: OfflineAsk::Extend {
                license_id: "lic_seed".into(),
                days: 60,
            },
            binding,
            nonce: "seed-0002".into(),
            app_version: "0.1.0".into(),
            created_at: Utc::now(),
            holder: None,
            proof: Some("00".repeat(64)),
        },
    )?;
    // The armor target parses one block; the import target opens whole answer files.
    let armor = corpus.join("armor");
    std::fs::create_dir_all(&armor)?;
    std::fs::write(armor.join("answer"), &license_block)?;
    std::fs::write(armor.join("certificate"), &certificate)?;
    std::fs::write(armor.join("request"), &request)?;
    let import = corpus.join("import");
    std::fs::create_dir_all(&import)?;
    std::fs::write(import.join("answer"), &answer)?;
    std::fs::write(import.join("request"), &request)?;
    Ok(())
}
