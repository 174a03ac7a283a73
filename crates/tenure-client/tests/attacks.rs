//! A licensee with full control of the machine, its files, its keyring and the product database —
//! but not the vendor's root key — tries to grant more than the vendor signed, to take a license
//! over, or to gain days by moving the clock. Real server on loopback, real keyring, real files.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, Utc};
use tenure_client::cache::{Cache, CacheData};
use tenure_client::product_db::DbSpec;
use tenure_client::{EngineError, NamedSeatsError, Profile, Roots, Workstation};
use tenure_core::trust::{Revocations, RevokedKey, bundle};
use tenure_core::{DocError, DocKind, License, Status, VendorKey};
use tenure_server::Store;
use tenure_server::sandbox::Sandbox;

pub mod support;
use support::{activate, keyring_for, site, workstation};

/// The licensee's own Ed25519 keys: a "root" and a "signing key" it certifies.
fn forger() -> (VendorKey, VendorKey) {
    (
        VendorKey::from_secret([66; 32]),
        VendorKey::from_secret([67; 32]),
    )
}

/// The license held, made generous: 10,000 seats until 9999, signed by the forger's key and
/// carrying a certificate from the forger's root.
fn forged_from(genuine: &License) -> String {
    let (root, signing) = forger();
    let mut license = genuine.clone();
    license.terms.seats = 10_000;
    license.terms.validity.expires = "9999-12-31".parse().unwrap();
    license.validated_at = Utc::now();
    let certificate = root
        .certify(
            &signing.verifying_key(),
            Utc::now() - Duration::days(1),
            Utc::now() + Duration::days(3650),
            Utc::now(),
            "mine",
            90,
        )
        .unwrap();
    bundle(
        &signing.sign(DocKind::License, &license).unwrap(),
        &certificate,
    )
}

fn untrusted(e: &EngineError) -> bool {
    matches!(e, EngineError::Document(DocError::UntrustedKey { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_license_is_refused_everywhere_it_can_be_put() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let genuine = ws.license().unwrap().unwrap().value().clone();
    let forged = forged_from(&genuine);

    // Trusting the forger's root or certificate is refused: this build pins its roots.
    let (root, _) = forger();
    assert!(matches!(
        ws.trust(&root.public_key_text()),
        Err(EngineError::RootsPinned)
    ));
    let message = ws.trust(&forged[forged.find("-----BEGIN TENURE KEY").unwrap()..]);
    assert!(
        matches!(message, Err(EngineError::Untrusted(_))),
        "{message:?}"
    );

    // Into the product database: not adopted by a workstation connecting to it.
    let db = ws.db().unwrap();
    db.save_license(&genuine.id, &forged, Utc::now(), Utc::now())
        .await
        .unwrap();
    let other_home = tempfile::tempdir().unwrap();
    let other = workstation(&site, &other_home, &spec).await;
    assert_eq!(other.report(Utc::now()).unwrap().status, Status::Unlicensed);

    // Into the cache, written with the workstation's own key from the keyring.
    let profile = Profile::at(home.path());
    let cache = Cache::new(profile.cache_path(), keyring_for(&profile));
    let mut data_held = cache.load().unwrap();
    data_held.license = Some(forged.clone());
    cache.save(&data_held).unwrap();
    let status = ws.report(Utc::now());
    assert!(status.as_ref().is_err_and(untrusted), "{status:?}");
    let authorized = ws.named_seats().authorize("anyone", Utc::now()).await;
    assert!(
        matches!(&authorized, Err(NamedSeatsError::Workstation(e)) if untrusted(e)),
        "{authorized:?}"
    );

    // As an offline answer.
    let imported = ws.offline_import(forged.as_bytes(), Utc::now()).await;
    assert!(imported.as_ref().is_err_and(untrusted), "{imported:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_signing_key_needs_nothing_from_customers_and_a_revoked_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let issued = first
        .issue("acme", &tenure_server::sandbox::sample_terms("Acme"))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let profile = Profile::at(home.path());
    let mut ws = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        Roots::pinned_from_text(&first.root_public_key()).unwrap(),
    )
    .unwrap();
    ws.update_settings(|s| s.server_url = Some(first.url()))
        .unwrap();
    let api = ws.api(None).unwrap();
    let binding = ws.binding_for("srv1", "prod");
    ws.activate(&api, &issued.key, binding, Utc::now())
        .await
        .unwrap();
    let old_key = first.vendor().key().key_id().clone();
    let signed_by_old_key = ws.offline_files().license_file().unwrap().unwrap();
    first.stop();

    // The vendor rotates: the same root certifies a new signing key, and revokes the old one.
    let root = VendorKey::from_secret(first.root().secret());
    let revocations = root
        .sign(
            DocKind::Revocation,
            &Revocations {
                serial: 1,
                issued_at: Utc::now(),
                keys: vec![RevokedKey {
                    key_id: old_key.to_string(),
                    revoked_at: Utc::now(),
                    reason: "rotated after a leak".into(),
                }],
            },
        )
        .unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let second = Sandbox::start_with(store, root, |vendor, token| {
        tenure_server::AppState::new(vendor.with_revocations(Some(revocations)), token)
    })
    .await
    .unwrap();
    assert_ne!(second.vendor().key().key_id(), &old_key);
    ws.update_settings(|s| s.server_url = Some(second.url()))
        .unwrap();

    // No customer action: the answer carries its certificate, and the revocation list.
    let report = ws
        .validate(&ws.api(None).unwrap(), Utc::now())
        .await
        .unwrap();
    assert!(report.status.is_licensed(), "{:?}", report.status);
    assert_eq!(
        report.license.unwrap().key_id(),
        second.vendor().key().key_id().as_str()
    );

    // A license the old key signed is refused from now on, here and after a restart.
    let refused = ws
        .offline_files()
        .check_offline_answer(signed_by_old_key.as_bytes(), Utc::now());
    assert!(
        matches!(
            refused,
            Err(EngineError::Document(DocError::RevokedKey { .. }))
        ),
        "{refused:?}"
    );
    let restarted =
        Workstation::open(profile.clone(), keyring_for(&profile), ws.roots().clone()).unwrap();
    let refused = restarted
        .offline_files()
        .check_offline_answer(signed_by_old_key.as_bytes(), Utc::now());
    assert!(refused.unwrap_err().to_string().contains("revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_license_without_its_credential_cannot_validate() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;

    // A stranger gets the exported license file and names the same binding, but has no
    // credential: the workstation says so, and the server would refuse a request without it.
    let exported = ws.offline_files().license_file().unwrap().unwrap();
    let thief_home = tempfile::tempdir().unwrap();
    let thief_profile = Profile::at(thief_home.path());
    let thief = Workstation::open(
        thief_profile.clone(),
        keyring_for(&thief_profile),
        ws.roots().clone(),
    )
    .unwrap();
    let cache = Cache::new(thief_profile.cache_path(), keyring_for(&thief_profile));
    cache
        .save(&CacheData {
            license: Some(exported),
            ..CacheData::default()
        })
        .unwrap();
    let mut thief = thief;
    thief
        .update_settings(|s| s.server_url = Some(site.sandbox.url()))
        .unwrap();
    let api = thief.api(None).unwrap();
    let refused = thief.validate(&api, Utc::now()).await;
    assert!(
        matches!(refused, Err(EngineError::NoCredential)),
        "{refused:?}"
    );

    // A second workstation on the same product database shares the license and its credential.
    let colleague_home = tempfile::tempdir().unwrap();
    let colleague = workstation(&site, &colleague_home, &spec).await;
    let report = colleague
        .validate(&colleague.api(None).unwrap(), Utc::now())
        .await
        .unwrap();
    assert!(report.status.is_licensed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_mark_survives_deleting_the_cache_or_its_keyring_copy() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let profile = Profile::at(home.path());

    // The product runs once on day 20 (the real date), then the licensee sets the clock back to
    // day 1 to keep the grace period from running out.
    let day20 = Utc::now() + Duration::days(20);
    ws.connect_db(&spec, day20).await.unwrap();
    assert!(ws.report(day20).unwrap().status.is_licensed());
    let day1 = Utc::now() + Duration::hours(1);
    let rolled_back = |ws: &Workstation| {
        matches!(
            ws.report(day1).unwrap().status,
            Status::ClockRolledBack { .. }
        )
    };
    assert!(rolled_back(&ws));

    // Delete the cache: the license comes back from the product database, the mark from the
    // keyring and the database.
    std::fs::remove_file(profile.cache_path()).unwrap();
    let fresh = || async {
        let mut again =
            Workstation::open(profile.clone(), keyring_for(&profile), ws.roots().clone()).unwrap();
        again.connect_db(&spec, day1).await.unwrap();
        again
    };
    let again = fresh().await;
    assert!(
        again.license().unwrap().is_some(),
        "adopted from the database"
    );
    assert!(
        rolled_back(&again),
        "{:?}",
        again.report(day1).unwrap().status
    );

    // Delete the keyring's copy too: the cache and the database still hold it.
    keyring_for(&profile).delete_machine("clock-mark").unwrap();
    let again = fresh().await;
    assert!(
        rolled_back(&again),
        "{:?}",
        again.report(day1).unwrap().status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_once_ahead_is_cleared_by_validating() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;

    // One run with the clock 45 days ahead; back at the real date, the clock reads as set back.
    let ahead = Utc::now() + Duration::days(45);
    ws.connect_db(&spec, ahead).await.unwrap();
    ws.report(ahead).unwrap();
    let now = Utc::now();
    assert!(matches!(
        ws.report(now).unwrap().status,
        Status::ClockRolledBack { .. }
    ));
    // The advice is to validate, and validating works: the server's time resets the mark.
    let report = ws.validate(&ws.api(None).unwrap(), now).await.unwrap();
    assert!(
        matches!(report.status, Status::Valid(_)),
        "{:?}",
        report.status
    );
    // It stays cleared in a new process too (every copy was reset).
    let profile = Profile::at(home.path());
    let mut again =
        Workstation::open(profile.clone(), keyring_for(&profile), ws.roots().clone()).unwrap();
    again.connect_db(&spec, now).await.unwrap();
    assert!(again.report(now).unwrap().status.is_licensed());
}

/// A workstation whose clock runs a day ahead takes a seat: by its own clock every lease in the
/// pool would have run out; by the database's clock they have not, so it gets none.
async fn leases_follow_the_database_clock(spec: DbSpec) {
    let mut terms = tenure_server::sandbox::sample_terms("Acme");
    terms.kind = tenure_core::SeatKind::Concurrent;
    terms.seats = 1;
    let site = support::site_with(&terms).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let db_now = ws.lease_clock(Utc::now()).await;
    assert!((db_now - Utc::now()).num_seconds().abs() < 60, "{db_now}");
    let held = ws
        .concurrent_seats()
        .checkout("ana", "pc1", db_now)
        .await
        .unwrap();
    assert!(held.session().is_some(), "{held}");

    let ahead = Utc::now() + Duration::days(1);
    let now = ws.lease_clock(ahead).await;
    assert!(
        now < ahead - Duration::hours(23),
        "the database's clock, not {ahead}"
    );
    let answer = ws
        .concurrent_seats()
        .checkout("bo", "pc2", now)
        .await
        .unwrap();
    assert!(answer.session().is_none(), "the pool is full: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_follow_the_database_clock_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    leases_follow_the_database_clock(DbSpec::Sqlite(data.path().join("prod.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_follow_the_database_clock_on_postgres() {
    let cluster = tenure_testkit::PgCluster::start();
    leases_follow_the_database_clock(DbSpec::Postgres(cluster.create_database("prod"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_an_older_license_and_cache_does_not_wind_the_clock_back() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let profile = Profile::at(home.path());
    // The licensee keeps a backup of the cache and of the license as activated (day 0).
    let old_cache = std::fs::read(profile.cache_path()).unwrap();
    let old_license = ws.license().unwrap().unwrap();

    // Ten days later it is validated, and the product runs on day 20.
    site.sandbox.set_clock_offset(Duration::days(10));
    let day10 = Utc::now() + Duration::days(10);
    ws.validate(&ws.api(None).unwrap(), day10).await.unwrap();
    let day20 = Utc::now() + Duration::days(20);
    ws.connect_db(&spec, day20).await.unwrap();
    ws.report(day20).unwrap();

    // Restore the backups, set the clock back to day 5: the old license's grace would still run.
    std::fs::write(profile.cache_path(), old_cache).unwrap();
    ws.db()
        .unwrap()
        .save_license(
            &old_license.id,
            old_license.text(),
            old_license.validated_at,
            Utc::now(),
        )
        .await
        .unwrap();
    let day5 = Utc::now() + Duration::days(5);
    let mut again =
        Workstation::open(profile.clone(), keyring_for(&profile), ws.roots().clone()).unwrap();
    again.connect_db(&spec, day5).await.unwrap();
    assert_eq!(
        again.license().unwrap().unwrap().validated_at,
        old_license.validated_at,
        "the old license is the one held"
    );
    let status = again.report(day5).unwrap().status;
    assert!(
        matches!(status, Status::ClockRolledBack { .. }),
        "{status:?}"
    );
}
