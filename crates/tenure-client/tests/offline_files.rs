//! Every bad offline answer file is refused with its own message and changes nothing; and no
//! single-byte change to a good answer is ever accepted.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, Utc};
use proptest::prelude::*;
use tenure_client::product_db::DbSpec;
use tenure_client::{EngineError, OfflineWish, Profile, SecretStore, Workstation};
use tenure_core::{DocKind, License, VendorKey};

pub mod support;
use support::{Site, site, workstation_with};

struct Bench {
    site: Site,
    ws: Workstation,
    dirs: [tempfile::TempDir; 2],
}

/// An activated workstation on a SQLite product database.
async fn bench() -> Bench {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("rig.db"));
    let mut ws = workstation_with(&site, &home, &spec, SecretStore::memory()).await;
    support::activate(&mut ws, &site).await;
    Bench {
        site,
        ws,
        dirs: [home, data],
    }
}

impl Bench {
    /// A fresh validation request, answered by the vendor.
    async fn answer(&self) -> String {
        let request = self
            .ws
            .offline_files()
            .offline_request(&OfflineWish::Validate, Utc::now())
            .await
            .unwrap();
        self.site.sandbox.answer_offline(&request).await.unwrap()
    }

    /// Imports `bytes`; on refusal, checks that nothing changed and returns the message.
    async fn refused(&mut self, bytes: &[u8]) -> String {
        let before = self.ws.offline_files().license_file().unwrap();
        let db_before = self
            .ws
            .database()
            .connected()
            .unwrap()
            .load_license()
            .await
            .unwrap();
        let err = self
            .ws
            .offline_import(bytes, Utc::now())
            .await
            .expect_err("the file should be refused");
        assert_eq!(
            self.ws.offline_files().license_file().unwrap(),
            before,
            "cache unchanged"
        );
        assert_eq!(
            self.ws
                .database()
                .connected()
                .unwrap()
                .load_license()
                .await
                .unwrap(),
            db_before,
            "database unchanged"
        );
        err.to_string()
    }
}

/// A license signed by `key` for the workstation's pending request, with `change` applied,
/// and the vendor's signing-key certificate attached (which vouches only for the vendor's key).
fn forged(
    bench: &Bench,
    key: &VendorKey,
    nonce: &str,
    change: impl FnOnce(&mut License),
) -> String {
    let mut license: License = bench.ws.license().unwrap().unwrap().value().clone();
    nonce.clone_into(&mut license.nonce);
    license.validated_at = Utc::now();
    license.issued_at = Utc::now();
    change(&mut license);
    let certificate = bench.site.sandbox.vendor().certificate().unwrap();
    tenure_core::trust::bundle(&key.sign(DocKind::License, &license).unwrap(), certificate)
}

fn pending_nonce(request: &str) -> String {
    let parsed: tenure_core::protocol::OfflineRequest =
        tenure_core::signed::read_unsigned(request, DocKind::Request).unwrap();
    parsed.nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_malformed_file_has_its_own_message_and_changes_nothing() {
    let mut b = bench().await;
    let answer = b.answer().await;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        (
            "not Tenure",
            b"hello, world\n".to_vec(),
            "not a Tenure file",
        ),
        ("not UTF-8", vec![0xff, 0xfe, 0x00, 0x41], "not UTF-8"),
        (
            "huge",
            vec![b'a'; 1024 * 1024 + 1],
            "larger than any Tenure file",
        ),
        (
            "truncated",
            answer.as_bytes()[..answer.len() / 2].to_vec(),
            "damaged",
        ),
        (
            "unknown version",
            answer.replacen("Format: 1", "Format: 7", 1).into_bytes(),
            "format version 7",
        ),
        (
            "a request, not an answer",
            b.ws.offline_files()
                .offline_request(&OfflineWish::Validate, Utc::now())
                .await
                .unwrap()
                .into_bytes(),
            "a license request file",
        ),
    ];
    for (what, bytes, expected) in cases {
        let message = b.refused(&bytes).await;
        assert!(message.contains(expected), "{what}: {message}");
    }

    // Tampered: one character of the payload changed.
    let answer = b.answer().await;
    let mut tampered = answer.clone().into_bytes();
    let at = tampered.len() - 40;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let message = b.refused(&tampered).await;
    assert!(
        message.contains("altered") || message.contains("damaged"),
        "{message}"
    );

    // Signed by a key this workstation does not trust.
    let request =
        b.ws.offline_files()
            .offline_request(&OfflineWish::Validate, Utc::now())
            .await
            .unwrap();
    let stranger = VendorKey::from_secret([9; 32]);
    let untrusted = forged(&b, &stranger, &pending_nonce(&request), |_| {});
    let message = b.refused(untrusted.as_bytes()).await;
    assert!(message.contains("no vendor root"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_answers_for_elsewhere_out_of_date_or_used_are_refused() {
    let mut b = bench().await;
    let request =
        b.ws.offline_files()
            .offline_request(&OfflineWish::Validate, Utc::now())
            .await
            .unwrap();
    // Made for another database.
    let vendor_key = VendorKey::from_secret(b.site.sandbox.vendor().key().secret());
    let nonce = pending_nonce(&request);
    let elsewhere = forged(&b, &vendor_key, &nonce, |l| {
        l.binding.database = "other".into();
    });
    let message = b.refused(elsewhere.as_bytes()).await;
    assert!(message.contains("made for another database"), "{message}");

    // Expired, and from the future.
    let expired = forged(&b, &vendor_key, &nonce, |l| {
        l.terms.validity.expires = Utc::now().date_naive() - Duration::days(2);
        l.terms.validity.starts = l.terms.validity.expires - Duration::days(30);
    });
    assert!(b.refused(expired.as_bytes()).await.contains("expired on"));
    let future = forged(&b, &vendor_key, &nonce, |l| {
        l.validated_at = Utc::now() + Duration::days(1);
    });
    assert!(
        b.refused(future.as_bytes())
            .await
            .contains("later than this computer's clock")
    );

    // An answer to an older request, then the good one, then the good one again (a replay).
    let older = b.answer().await;
    let latest = b.answer().await;
    assert!(b.refused(older.as_bytes()).await.contains("older request"));
    b.ws.offline_import(latest.as_bytes(), Utc::now())
        .await
        .unwrap();
    assert!(
        b.refused(latest.as_bytes())
            .await
            .contains("already imported")
    );

    // An answer older than the license held since (validated online after it was signed).
    let stale = b.answer().await;
    let api = b.ws.server().api(None).unwrap();
    b.ws.validate(&api, Utc::now() + Duration::seconds(2))
        .await
        .unwrap();
    b.site.sandbox.set_clock_offset(Duration::zero());
    assert!(
        b.refused(stale.as_bytes())
            .await
            .contains("would lose grace")
    );

    // Every refusal is in the audit log.
    let events = b.ws.database().recent_events(50).await.unwrap();
    let refusals = events
        .iter()
        .filter(|e| e.kind == "offline import" && e.outcome == "refused")
        .count();
    assert_eq!(refusals, 6, "each refusal logged");
}

#[test]
fn no_single_byte_change_to_an_answer_is_accepted() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let b = runtime.block_on(bench());
    let answer = runtime.block_on(b.answer()).into_bytes();
    assert!(
        b.ws.offline_files()
            .check_offline_answer(&answer, Utc::now())
            .is_ok()
    );
    let ws = &b.ws;
    proptest!(ProptestConfig::with_cases(2_000), |(index in 0..answer.len(), byte in any::<u8>())| {
        prop_assume!(answer[index] != byte);
        let mut mutated = answer.clone();
        mutated[index] = byte;
        prop_assert!(ws.offline_files().check_offline_answer(&mutated, Utc::now()).is_err());
    });
    // And a copy of the profile with the same secrets agrees (the nonce lives in the cache).
    let copy = Workstation::open(
        Profile::at(b.dirs[0].path()),
        ws.secrets().clone(),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
    assert!(matches!(
        copy.offline_files().check_offline_answer(b"", Utc::now()),
        Err(EngineError::Document(_))
    ));
}
