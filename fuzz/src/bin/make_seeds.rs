//! Writes the seed corpus: a genuine answer signed by the fuzz key, and a request.
//! `cargo run --manifest-path fuzz/Cargo.toml --bin make-seeds`

use chrono::{NaiveDate, Utc};
use tenure_core::protocol::{OfflineAsk, OfflineRequest};
use tenure_core::signed::write_unsigned;
use tenure_core::{
    ActivationMode, Binding, DocKind, License, LicenseTerms, SeatKind, Validity, VendorKey,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
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
        },
        grace_days: 30,
        binding: binding.clone(),
        issued_at: Utc::now(),
        validated_at: Utc::now(),
        nonce: "seed-0001".into(),
    };
    let answer = VendorKey::from_secret([7; 32]).sign(DocKind::License, &license)?;
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
        },
    )?;
    for target in ["armor", "import"] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("answer"), &answer)?;
        std::fs::write(dir.join("request"), &request)?;
    }
    Ok(())
}
