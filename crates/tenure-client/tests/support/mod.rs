//! Set-up shared by the integration tests: a license server on loopback with one license issued,
//! and workstations with their own profiles connected to a product database.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::Utc;
use tenure_client::product_db::DbSpec;
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::LicenseTerms;
use tenure_server::sandbox::{Issued, Sandbox, sample_terms};

/// The real keyring for a fresh profile, or a failure that says what to install. Each
/// profile plays a machine of its own (its machine-wide entries apart from other tests'); see
/// [`keyring_on_machine`] for profiles that share one.
pub fn keyring_for(profile: &Profile) -> SecretStore {
    let machine = format!("machine-{}", profile.keyring_namespace());
    keyring_on_machine(profile, &machine)
}

/// The real keyring for a profile on the machine `machine`: profiles given the same one share
/// the clock mark and the revocation list, as profiles of one OS user do.
pub fn keyring_on_machine(profile: &Profile, machine: &str) -> SecretStore {
    let store = SecretStore::keyring_on(profile.keyring_namespace(), machine);
    store
        .probe()
        .unwrap_or_else(|e| panic!("{e}\n{}", tenure_testkit::KEYRING_HINT));
    store
}

/// A vendor's license server with one license issued to account `acme`.
pub struct Site {
    pub sandbox: Sandbox,
    pub issued: Issued,
    _dir: tempfile::TempDir,
}

/// A site whose license has `terms`.
pub async fn site_with(terms: &LicenseTerms) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let issued = sandbox.issue("acme", terms).await.unwrap();
    Site {
        sandbox,
        issued,
        _dir: dir,
    }
}

/// A site with the sample terms and this rebind limit.
pub async fn site(max_rebinds: u32) -> Site {
    let mut terms = sample_terms("Acme");
    terms.max_rebinds_per_30_days = max_rebinds;
    site_with(&terms).await
}

/// A fresh workstation (its own profile, secrets in `secrets`) connected to `spec`.
pub async fn workstation_with(
    site: &Site,
    home: &tempfile::TempDir,
    spec: &DbSpec,
    secrets: SecretStore,
) -> Workstation {
    let profile = Profile::at(home.path());
    let mut ws = Workstation::open(
        profile,
        secrets,
        tenure_client::Roots::pinned_from_text(&site.sandbox.root_public_key()).unwrap(),
    )
    .unwrap();
    ws.update_settings(|s| s.server_url = Some(site.sandbox.url()))
        .unwrap();
    ws.connect_db(spec, Utc::now()).await.unwrap();
    ws
}

/// A fresh workstation with the real keyring, connected to `spec`.
pub async fn workstation(site: &Site, home: &tempfile::TempDir, spec: &DbSpec) -> Workstation {
    let secrets = keyring_for(&Profile::at(home.path()));
    workstation_with(site, home, spec, secrets).await
}

/// Activates the site's license for the workstation's database.
pub async fn activate(ws: &mut Workstation, site: &Site) {
    let api = ws.server().api(None).unwrap();
    let binding = ws
        .database()
        .current_binding()
        .expect("binding from the database");
    ws.activate(&api, &site.issued.key, binding, Utc::now())
        .await
        .unwrap();
}

/// Runs statements on the SQLite product database `file` as its owner may, behind Tenure.
pub async fn run_sql(file: &std::path::Path, statements: &[&str]) {
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(&raw)
            .await
            .unwrap();
    }
}
