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
use tenure_client::{Credentials, EngineError, NamedSeatsError, Profile, Roots, Workstation};
use tenure_core::trust::{Revocations, RevokedKey, bundle};
use tenure_core::{DocError, DocKind, License, Status, VendorKey};
use tenure_server::Store;
use tenure_server::sandbox::Sandbox;

pub mod support;
use support::{activate, keyring_for, keyring_on_machine, site, workstation, workstation_with};

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
        ws.configure().trust(&root.public_key_text()),
        Err(EngineError::RootsPinned)
    ));
    let message = ws
        .configure()
        .trust(&forged[forged.find("-----BEGIN TENURE KEY").unwrap()..]);
    assert!(
        matches!(message, Err(EngineError::Untrusted(_))),
        "{message:?}"
    );

    // Into the product database: not adopted by a workstation connecting to it.
    let db = ws.database().connected().unwrap();
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
    let api = ws.server().api(None).unwrap();
    let binding = ws.database().binding_for("srv1", "prod");
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
        .validate(&ws.server().api(None).unwrap(), Utc::now())
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
    let restarted = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
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
        ws.vendor_keys().roots().clone(),
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
    let api = thief.server().api(None).unwrap();
    let refused = thief.validate(&api, Utc::now()).await;
    assert!(
        matches!(refused, Err(EngineError::NoCredential)),
        "{refused:?}"
    );

    // A second workstation on the same product database shares the license and its credential.
    let colleague_home = tempfile::tempdir().unwrap();
    let colleague = workstation(&site, &colleague_home, &spec).await;
    let report = colleague
        .validate(&colleague.server().api(None).unwrap(), Utc::now())
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
        let mut again = Workstation::open(
            profile.clone(),
            keyring_for(&profile),
            ws.vendor_keys().roots().clone(),
        )
        .unwrap();
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
    let report = ws
        .validate(&ws.server().api(None).unwrap(), now)
        .await
        .unwrap();
    assert!(
        matches!(report.status, Status::Valid(_)),
        "{:?}",
        report.status
    );
    // It stays cleared in a new process too (every copy was reset).
    let profile = Profile::at(home.path());
    let mut again = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
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
    let db_now = ws.database().clock(Utc::now()).await;
    assert!((db_now - Utc::now()).num_seconds().abs() < 60, "{db_now}");
    let held = ws
        .concurrent_seats()
        .checkout("ana", "pc1", db_now)
        .await
        .unwrap();
    assert!(held.session().is_some(), "{held}");

    let ahead = Utc::now() + Duration::days(1);
    let now = ws.database().clock(ahead).await;
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
    ws.validate(&ws.server().api(None).unwrap(), day10)
        .await
        .unwrap();
    let day20 = Utc::now() + Duration::days(20);
    ws.connect_db(&spec, day20).await.unwrap();
    ws.report(day20).unwrap();

    // Restore the backups, set the clock back to day 5: the old license's grace would still run.
    std::fs::write(profile.cache_path(), old_cache).unwrap();
    ws.database()
        .connected()
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
    let mut again = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        ws.vendor_keys().roots().clone(),
    )
    .unwrap();
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

/// A fresh profile (its own home and machine) connected to `spec`, its status now.
async fn fresh_look(site: &support::Site, spec: &DbSpec) -> (Status, Option<String>) {
    let home = tempfile::tempdir().unwrap();
    let ws = workstation(site, &home, spec).await;
    (
        ws.report(Utc::now()).unwrap().status,
        ws.database().license_problem().map(str::to_owned),
    )
}

/// Issue 25 (1): the vendor's root once certified a signing key for two years; the certificate
/// ended 70 days ago and the key leaked. It re-signs the license — issue date moved back into
/// the certificate, validated now, 500 seats, a century of grace — into the product database.
/// A fresh profile on that database believes none of it: dates outside the certificate are
/// refused, grace beyond its bound is refused, and within them the grace has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_certificate_ended_mints_nothing() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let genuine = ws.license().unwrap().unwrap().value().clone();
    let leaked = VendorKey::from_secret([71; 32]);
    let ended = Utc::now() - Duration::days(70);
    let began = ended - Duration::days(730);
    let certificate = site
        .sandbox
        .root()
        .certify(&leaked.verifying_key(), began, ended, began, "retired", 30)
        .unwrap();
    let resigned = |validated_at, grace_days| {
        let mut license = genuine.clone();
        license.terms.seats = 500;
        license.issued_at = ended - Duration::days(10);
        license.validated_at = validated_at;
        license.grace_days = grace_days;
        bundle(
            &leaked.sign(DocKind::License, &license).unwrap(),
            &certificate,
        )
    };
    let db = ws.database().connected().unwrap();
    for (validated_at, grace_days, why) in [
        (Utc::now(), 36_500, "certificate covers"),
        (ended - Duration::days(1), 36_500, "allows at most 30"),
    ] {
        db.save_license(
            &genuine.id,
            &resigned(validated_at, grace_days),
            Utc::now(),
            Utc::now(),
        )
        .await
        .unwrap();
        let (status, problem) = fresh_look(&site, &spec).await;
        assert_eq!(status, Status::Unlicensed);
        assert!(
            problem.as_deref().is_some_and(|p| p.contains(why)),
            "{problem:?}"
        );
    }
    // Within the certificate and its bound: its grace ended 40 days ago, whatever it grants.
    db.save_license(
        &genuine.id,
        &resigned(ended - Duration::days(1), 30),
        Utc::now(),
        Utc::now(),
    )
    .await
    .unwrap();
    let other_home = tempfile::tempdir().unwrap();
    let other = workstation(&site, &other_home, &spec).await;
    let status = other.report(Utc::now()).unwrap().status;
    assert!(matches!(status, Status::GraceExpired { .. }), "{status:?}");
    assert_eq!(other.license().unwrap().unwrap().terms.seats, 500);
    let authorized = other.named_seats().authorize("anyone", Utc::now()).await;
    assert!(
        matches!(authorized, Ok(tenure_client::Authorization::Refused(_))),
        "{authorized:?}"
    );
}

/// Issue 25 (2): the vendor revokes a leaked signing key. Once a workstation has seen the list,
/// editing the settings file, opening a fresh profile on the product database, or a fresh
/// profile and database on the same machine, does not bring a license the key signs back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one attack, read top to bottom")]
async fn a_revocation_once_seen_is_never_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let first = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let issued = first
        .issue("acme", &tenure_server::sandbox::sample_terms("Acme"))
        .await
        .unwrap();
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let profile = Profile::at(home.path());
    let roots = Roots::pinned_from_text(&first.root_public_key()).unwrap();
    let mut ws = Workstation::open(profile.clone(), keyring_for(&profile), roots.clone()).unwrap();
    ws.update_settings(|s| s.server_url = Some(first.url()))
        .unwrap();
    ws.connect_db(&spec, Utc::now()).await.unwrap();
    let binding = ws.database().current_binding().unwrap();
    ws.activate(
        &ws.server().api(None).unwrap(),
        &issued.key,
        binding,
        Utc::now(),
    )
    .await
    .unwrap();
    let leaked = VendorKey::from_secret(first.vendor().key().secret());
    let leaked_certificate = first.vendor().certificate().unwrap().to_owned();
    first.stop();

    // The vendor revokes the leaked key and serves with a new one.
    let root = VendorKey::from_secret(first.root().secret());
    let list = root
        .sign(
            DocKind::Revocation,
            &Revocations {
                serial: 1,
                issued_at: Utc::now(),
                keys: vec![RevokedKey {
                    key_id: leaked.key_id().to_string(),
                    revoked_at: Utc::now(),
                    reason: "leaked".into(),
                }],
            },
        )
        .unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let second = Sandbox::start_with(store, root, |vendor, token| {
        tenure_server::AppState::new(vendor.with_revocations(Some(list)), token)
    })
    .await
    .unwrap();
    ws.update_settings(|s| s.server_url = Some(second.url()))
        .unwrap();
    ws.validate(&ws.server().api(None).unwrap(), Utc::now())
        .await
        .unwrap();
    // Every license file carries the list.
    let file = ws.offline_files().license_file().unwrap().unwrap();
    assert!(
        file.contains("-----BEGIN TENURE KEY REVOCATION-----"),
        "{file}"
    );

    // The leaked key mints a generous license.
    let mut generous = ws.license().unwrap().unwrap().value().clone();
    generous.terms.seats = 500;
    generous.validated_at = Utc::now();
    generous.issued_at = Utc::now();
    let forged = bundle(
        &leaked.sign(DocKind::License, &generous).unwrap(),
        &leaked_certificate,
    );
    let revoked = |e: &EngineError| matches!(e, EngineError::Document(DocError::RevokedKey { .. }));

    // 1. The settings file holds no list to delete; a restarted profile still refuses it.
    ws.update_settings(|s| s.revocations = None).unwrap();
    let cache = Cache::new(profile.cache_path(), keyring_for(&profile));
    let mut held = cache.load().unwrap();
    held.license = Some(forged.clone());
    cache.save(&held).unwrap();
    let restarted =
        Workstation::open(profile.clone(), keyring_for(&profile), roots.clone()).unwrap();
    let status = restarted.report(Utc::now());
    assert!(status.as_ref().is_err_and(revoked), "{status:?}");

    // 2. A fresh profile on another machine, on the same product database.
    ws.database()
        .connected()
        .unwrap()
        .save_license(&generous.id, &forged, Utc::now(), Utc::now())
        .await
        .unwrap();
    let other_home = tempfile::tempdir().unwrap();
    let other_profile = Profile::at(other_home.path());
    let mut other = Workstation::open(
        other_profile.clone(),
        keyring_for(&other_profile),
        roots.clone(),
    )
    .unwrap();
    other.connect_db(&spec, Utc::now()).await.unwrap();
    assert_eq!(other.report(Utc::now()).unwrap().status, Status::Unlicensed);
    assert!(
        other
            .database()
            .license_problem()
            .is_some_and(|p| p.contains("revoked")),
        "{:?}",
        other.database().license_problem()
    );

    // 3. A fresh profile and a fresh database on the same machine: the keyring's copy.
    let (third_home, third_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let third_profile = Profile::at(third_home.path());
    let machine = format!("machine-{}", profile.keyring_namespace());
    let third_keyring = keyring_on_machine(&third_profile, &machine);
    let mut third =
        Workstation::open(third_profile.clone(), third_keyring.clone(), roots.clone()).unwrap();
    third
        .connect_db(
            &DbSpec::Sqlite(third_data.path().join("new.db")),
            Utc::now(),
        )
        .await
        .unwrap();
    Cache::new(third_profile.cache_path(), third_keyring)
        .save(&CacheData {
            license: Some(forged),
            ..CacheData::default()
        })
        .unwrap();
    let status = third.report(Utc::now());
    assert!(status.as_ref().is_err_and(revoked), "{status:?}");
}

/// Issue 25 (7): one SQL statement and a new profile do not wind the clock mark back: the
/// keyring's copy is the machine's, shared by every profile of the OS user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_profile_on_the_same_machine_keeps_the_clock_mark() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("prod.db");
    let spec = DbSpec::Sqlite(file.clone());
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;
    let day20 = Utc::now() + Duration::days(20);
    ws.connect_db(&spec, day20).await.unwrap();
    assert!(ws.report(day20).unwrap().status.is_licensed());
    ws.close().await;

    // The licensee empties the database's copy and opens a new profile, clock on day 1.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("DELETE FROM tenure_clock")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let day1 = Utc::now() + Duration::hours(1);
    let machine = format!("machine-{}", Profile::at(home.path()).keyring_namespace());
    let new_home = tempfile::tempdir().unwrap();
    let secrets = keyring_on_machine(&Profile::at(new_home.path()), &machine);
    let again = workstation_with(&site, &new_home, &spec, secrets).await;
    let status = again.report(day1).unwrap().status;
    assert!(
        matches!(status, Status::ClockRolledBack { .. }),
        "{status:?}"
    );
    // And the database holds its copy again: a profile on another machine sees it too.
    let elsewhere_home = tempfile::tempdir().unwrap();
    let elsewhere = workstation(&site, &elsewhere_home, &spec).await;
    let status = elsewhere.report(day1).unwrap().status;
    assert!(
        matches!(status, Status::ClockRolledBack { .. }),
        "{status:?}"
    );
}

/// Issue 25 (8): the account activates its license on another database. The workstation it
/// moved from hears so at its next validation — online or by files — in a signed notice, shows
/// that it moved (not where) and stops granting; so does a fresh profile on that database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_license_stops_where_it_moved_from() {
    let site = site(3).await;
    let (home, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = DbSpec::Sqlite(data.path().join("prod.db"));
    let mut ws = workstation(&site, &home, &spec).await;
    activate(&mut ws, &site).await;

    let (new_home, new_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let new_spec = DbSpec::Sqlite(new_data.path().join("moved.db"));
    let mut elsewhere = workstation(&site, &new_home, &new_spec).await;
    elsewhere
        .server()
        .login(&Credentials {
            account: "acme".into(),
            token: site.issued.account_token.clone(),
        })
        .unwrap();
    activate(&mut elsewhere, &site).await;

    // By files first: the vendor's answer to the old site's request is the signed notice.
    let request = ws
        .offline_files()
        .offline_request(&tenure_client::OfflineWish::Validate, Utc::now())
        .await
        .unwrap();
    let answer = site.sandbox.answer_offline(&request).await.unwrap();
    assert!(
        answer.starts_with("-----BEGIN TENURE LICENSE MOVED-----"),
        "{answer}"
    );
    let imported = ws.offline_import(answer.as_bytes(), Utc::now()).await;
    assert!(
        matches!(imported, Err(EngineError::Moved { .. })),
        "{imported:?}"
    );
    let status = ws.report(Utc::now()).unwrap().status;
    assert!(matches!(status, Status::Moved { .. }), "{status:?}");
    assert!(!status.advice().contains("moved.db"));
    let authorized = ws.named_seats().authorize("ana", Utc::now()).await.unwrap();
    assert!(
        matches!(&authorized, tenure_client::Authorization::Refused(r) if r.reason.code() == "moved"),
        "{authorized:?}"
    );

    // Online, from a fresh profile on the old database: it adopts the notice at once.
    let (status, _) = fresh_look(&site, &spec).await;
    assert!(matches!(status, Status::Moved { .. }), "{status:?}");
    let fresh_home = tempfile::tempdir().unwrap();
    let fresh = workstation(&site, &fresh_home, &spec).await;
    let refused = fresh
        .validate(&fresh.server().api(None).unwrap(), Utc::now())
        .await;
    assert!(
        matches!(refused, Err(EngineError::Moved { .. })),
        "{refused:?}"
    );

    // The account moves it back: valid here again, and the other site hears it moved.
    ws.server()
        .login(&Credentials {
            account: "acme".into(),
            token: site.issued.account_token.clone(),
        })
        .unwrap();
    activate(&mut ws, &site).await;
    assert!(ws.report(Utc::now()).unwrap().status.is_licensed());
    let refused = elsewhere
        .validate(&elsewhere.server().api(None).unwrap(), Utc::now())
        .await;
    assert!(
        matches!(refused, Err(EngineError::Moved { .. })),
        "{refused:?}"
    );
    assert!(matches!(
        elsewhere.report(Utc::now()).unwrap().status,
        Status::Moved { .. }
    ));
}
