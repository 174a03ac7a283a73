//! The workstation engine against the real license server on 127.0.0.1, with the real OS keyring
//! (a Secret Service started for the run by scripts/test), over SQLite and PostgreSQL stores.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, Utc};
use tenure_client::{ApiClient, ApiError, EngineError, Profile, Workstation};
use tenure_core::{KeyError, Status};
use tenure_server::Store;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_testkit::PgCluster;

pub mod support;
use support::keyring_for;

type Site = Sandbox;

/// Issues a license; returns (key, account token).
async fn issue(site: &Site) -> (String, String) {
    let issued = site
        .issue("acme", &sample_terms("Acme Offshore"))
        .await
        .unwrap();
    (issued.key, issued.account_token)
}

fn workstation(home: &tempfile::TempDir, site: &Site) -> Workstation {
    let profile = Profile::at(home.path());
    let mut ws = Workstation::open(
        profile.clone(),
        keyring_for(&profile),
        tenure_client::Roots::pinned_from_text(&site.root_public_key()).unwrap(),
    )
    .unwrap();
    ws.update_settings(|s| s.server_url = Some(site.url()))
        .unwrap();
    ws
}

async fn activate_and_validate(store: Store) {
    let site = Sandbox::start(store).await.unwrap();
    let (key, _token) = issue(&site).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&home, &site);
    let api = ws.server().api(None).unwrap();
    let binding = ws.database().binding_for("localhost:5432", "PROD");

    let now = Utc::now();
    let report = ws.activate(&api, &key, binding.clone(), now).await.unwrap();
    let Status::Valid(grace) = report.status else {
        panic!("{:?}", report.status)
    };
    assert_eq!(grace.days_left, 30);

    // Ten days later, grace has shrunk; validating resets it to the full 30.
    let later = now + Duration::days(10);
    assert_eq!(
        ws.report(later).unwrap().status.grace().unwrap().days_left,
        20
    );
    site.set_clock_offset(Duration::days(10));
    let report = ws.validate(&api, later).await.unwrap();
    assert_eq!(report.status.grace().unwrap().days_left, 30);
    assert!(report.validations.iter().filter(|v| v.succeeded).count() >= 2);

    // A workstation pointed at another database sees a mismatch, naming both sides.
    ws.update_settings(|s| {
        s.binding = Some(tenure_core::Binding {
            server: "srv2:5433".into(),
            database: "prod".into(),
        });
    })
    .unwrap();
    let report = ws.report(later).unwrap();
    let Status::BindingMismatch { licensed, current } = &report.status else {
        panic!("{:?}", report.status)
    };
    assert_eq!(licensed, &binding);
    assert_eq!(current.server, "srv2:5433");
    // The server refuses validation for the other binding, and nothing in the cache changes.
    let err = ws.validate(&api, later).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Api(ApiError::Refused { status: 409, .. })),
        "{err}"
    );
    assert_eq!(ws.license().unwrap().unwrap().binding, binding);
    site.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_and_validate_over_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    activate_and_validate(Store::open_sqlite_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_and_validate_over_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_server");
    activate_and_validate(Store::open(&url).await.unwrap()).await;
}

async fn sqlite_site() -> (Site, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Sandbox::start_sqlite(dir.path()).await.unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistyped_key_is_caught_before_the_network() {
    let (site, _dir) = sqlite_site().await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&home, &site);
    // Nothing listens here: a network call would fail as Offline, not as a key error.
    let dead =
        ApiClient::new(&format!("http://127.0.0.1:{}", tenure_testkit::free_port())).unwrap();
    let (key, _) = issue(&site).await;
    let mut digits: Vec<char> = key.chars().collect();
    let last = digits.len() - 1;
    digits[last] = if digits[last] == '0' { '1' } else { '0' };
    let typo: String = digits.into_iter().collect();
    let binding = ws.database().binding_for("srv1", "prod");
    let err = ws
        .activate(&dead, &typo, binding, Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Key(KeyError::CheckDigit)),
        "{err}"
    );
    assert!(err.to_string().contains("mistyped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_server_is_offline_and_the_cache_is_honoured() {
    let (site, _dir) = sqlite_site().await;
    let (key, _) = issue(&site).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&home, &site);
    let api = ws.server().api(None).unwrap();
    let now = Utc::now();
    ws.activate(&api, &key, ws.database().binding_for("srv1", "prod"), now)
        .await
        .unwrap();
    site.stop();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let fresh = ws.server().api(None).unwrap();
    let later = now + Duration::days(3);
    let err = ws.validate(&fresh, later).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Api(ref e) if e.is_unreachable()),
        "{err}"
    );
    assert!(err.to_string().contains("unreachable"));
    let report = ws.report(later).unwrap();
    assert_eq!(
        report.status.grace().unwrap().days_left,
        27,
        "grace untouched by the failure"
    );
    assert!(
        !report.validations.last().unwrap().succeeded,
        "the failure is in the history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_set_back_40_days_is_caught() {
    let (site, _dir) = sqlite_site().await;
    let (key, _) = issue(&site).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&home, &site);
    let api = ws.server().api(None).unwrap();
    let now = Utc::now();
    ws.activate(&api, &key, ws.database().binding_for("srv1", "prod"), now)
        .await
        .unwrap();
    ws.report(now + Duration::days(5)).unwrap();
    let status = ws.report(now - Duration::days(35)).unwrap().status;
    assert!(
        matches!(status, Status::ClockRolledBack { .. }),
        "{status:?}"
    );
    site.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_extension_needs_the_account_and_raises_grace() {
    let (site, _dir) = sqlite_site().await;
    let (key, token) = issue(&site).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation(&home, &site);
    let api = ws.server().api(None).unwrap();
    let now = Utc::now();
    ws.activate(&api, &key, ws.database().binding_for("srv1", "prod"), now)
        .await
        .unwrap();
    let err = ws.extend_grace(&api, 60, now).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Api(ApiError::NotSignedIn)),
        "{err}"
    );
    ws.server()
        .login(&tenure_client::Credentials {
            account: "acme".into(),
            token,
        })
        .unwrap();
    let report = ws.extend_grace(&api, 60, now).await.unwrap();
    assert_eq!(report.status.grace().unwrap().days_left, 60);
    let err = ws.extend_grace(&api, 365, now).await.unwrap_err();
    assert!(err.to_string().contains("at most 90 days"), "{err}");
    ws.server().logout().unwrap();
    assert!(ws.server().credentials().unwrap().is_none());
    site.stop();
}

#[test]
fn secrets_land_in_the_real_keyring() {
    let home = tempfile::tempdir().unwrap();
    let profile = Profile::at(home.path());
    let store = keyring_for(&profile);
    store.set("probe-secret", "s3cret-value").unwrap();
    // Read it back with the platform's own tool, not through our code.
    let out = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "tenure",
            "username",
            &format!("{}/probe-secret", profile.keyring_namespace()),
        ])
        .output()
        .expect("secret-tool (apt-get install libsecret-tools)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "s3cret-value");
    store.delete("probe-secret").unwrap();
    assert_eq!(store.get("probe-secret").unwrap(), None);
    assert!(store.describe().contains("keyring"));
}
