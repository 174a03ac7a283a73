//! Criterion benchmarks of the pure rules: key parsing, signing, verifying, armored parsing and
//! the status function.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tenure_core::armor::Armored;
use tenure_core::license::{DEFAULT_LEASE_SECS, EncodedTerms, License, LicenseToSign};
use tenure_core::possession::{Credential, ProofAction, decode_public, verify_proof_with};
use tenure_core::trust::bundle;
use tenure_core::{
    ActivationMode, Binding, DocKind, LicenseKey, LicenseTerms, Module, SeatKind, Trust,
    TrustedKeys, Validity, VendorKey, status,
};

fn license() -> License {
    let date = |s: &str| s.parse().expect("date");
    let validity = Validity {
        starts: date("2026-01-01"),
        expires: date("2027-12-31"),
    };
    License {
        id: "lic_0123456789abcdef01234567".into(),
        account: "acme".into(),
        terms: LicenseTerms {
            customer: "Acme Offshore Drilling Ltd".into(),
            kind: SeatKind::Named,
            seats: 10,
            grace_days: 30,
            max_grace_days: 90,
            validity,
            activation_mode: ActivationMode::Online,
            modules: vec![
                Module {
                    name: "Inspect".into(),
                    validity,
                },
                Module {
                    name: "Reports".into(),
                    validity,
                },
            ],
            max_borrow_days: 14,
            max_rebinds_per_30_days: 3,
            lease_secs: DEFAULT_LEASE_SECS,
            quantities: vec![],
            floating: tenure_core::Floating::default(),
            churn: tenure_core::Churn::default(),
        },
        grace_days: 30,
        binding: Binding {
            server: "srv1".into(),
            database: "prod".into(),
        },
        issued_at: "2026-11-23T09:00:00Z".parse().expect("time"),
        validated_at: "2026-11-23T09:00:00Z".parse().expect("time"),
        nonce: "00112233445566778899aabbccddeeff".into(),
        revoked_borrows: Vec::new(),
    }
}

fn benches(c: &mut Criterion) {
    let key = VendorKey::from_secret([7; 32]);
    let root = VendorKey::from_secret([8; 32]);
    let mut roots = TrustedKeys::new();
    roots.add(root.verifying_key());
    let trust = Trust::new(roots);
    let lic = license();
    let certificate = root
        .certify(
            &key.verifying_key(),
            lic.issued_at - chrono::Duration::days(1),
            lic.issued_at + chrono::Duration::days(365),
            lic.issued_at,
            "bench",
            90,
        )
        .expect("certify");
    let text = bundle(
        &key.sign(DocKind::License, &lic).expect("sign"),
        &certificate,
    );
    let verified = trust.open_license(&text).expect("verify");
    let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().expect("time");

    c.bench_function("key_parse", |b| {
        b.iter(|| LicenseKey::parse(black_box("4821-0937-5562-7")));
    });
    c.bench_function("sign_license", |b| {
        b.iter(|| key.sign(DocKind::License, black_box(&lic)));
    });
    c.bench_function("armor_parse", |b| {
        b.iter(|| {
            Armored::parse(black_box(
                text.split_inclusive("-----END TENURE LICENSE-----\n")
                    .next()
                    .unwrap_or_default(),
            ))
        });
    });
    c.bench_function("open_license_parse_verify", |b| {
        b.iter(|| trust.open_license(black_box(&text)));
    });
    // The two Ed25519 operations a validation costs the server, apart from the encoding around
    // them: checking the holder's proof, and signing the answer (`sign_license` adds RON and
    // armor to the bare signature).
    let holder = Credential::from_secret([9; 32]);
    let holder_key = decode_public(&holder.public_hex()).expect("holder key");
    let proof = holder.prove(ProofAction::Validate, &lic.id, &lic.binding, "nonce-1");
    c.bench_function("proof_verify", |b| {
        b.iter(|| {
            verify_proof_with(
                &holder_key,
                black_box(&proof),
                ProofAction::Validate,
                &lic.id,
                &lic.binding,
                "nonce-1",
            )
        });
    });
    let bare = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let message = [0x5a_u8; 400];
    c.bench_function("ed25519_sign_bare", |b| {
        b.iter(|| ed25519_dalek::Signer::sign(&bare, black_box(&message)));
    });
    c.bench_function("license_ron", |b| {
        b.iter(|| ron::to_string(black_box(&lic)));
    });
    // What the server signs per validation: the license with its terms encoded once.
    let terms = EncodedTerms::new(&lic.terms).expect("terms");
    c.bench_function("sign_license_terms_encoded", |b| {
        b.iter(|| {
            let to_sign = LicenseToSign {
                id: &lic.id,
                account: &lic.account,
                terms: terms.raw(),
                grace_days: lic.grace_days,
                binding: &lic.binding,
                issued_at: lic.issued_at,
                validated_at: lic.validated_at,
                nonce: black_box(&lic.nonce),
                revoked_borrows: &[],
            };
            key.sign(DocKind::License, &to_sign)
        });
    });
    c.bench_function("status", |b| {
        b.iter(|| {
            status(
                Some(black_box(&verified)),
                Some(&lic.binding),
                black_box(now),
                None,
            )
        });
    });
}

criterion_group!(core, benches);
criterion_main!(core);
