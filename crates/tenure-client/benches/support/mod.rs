//! Set-up shared by the client benchmarks: the license server in-process, and workstations
//! activated on a product database.

use chrono::Utc;
use tenure_client::product_db::DbSpec;
use tenure_client::{Profile, SecretStore, Workstation};
use tenure_core::LicenseTerms;
use tenure_server::sandbox::Sandbox;

/// What every client benchmark stands on: the license server in-process (on SQLite), a
/// PostgreSQL cluster, and a folder for SQLite product databases; all gone on drop.
pub struct World {
    pub sandbox: Sandbox,
    pub cluster: tenure_testkit::PgCluster,
    pub data: tempfile::TempDir,
    _server_dir: tempfile::TempDir,
}

impl World {
    /// Starts the server on `runtime` and the cluster.
    pub fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let server_dir = tempfile::tempdir().expect("dir");
        let sandbox = runtime
            .block_on(Sandbox::start_sqlite(server_dir.path()))
            .expect("server");
        Self {
            sandbox,
            cluster: tenure_testkit::PgCluster::start(),
            data: tempfile::tempdir().expect("dir"),
            _server_dir: server_dir,
        }
    }
}

/// A workstation (secrets in memory, profile in `home`) connected to `spec` and activated with
/// a fresh license of `terms` for `account`.
pub async fn activated(
    sandbox: &Sandbox,
    account: &str,
    terms: &LicenseTerms,
    spec: &DbSpec,
    home: &std::path::Path,
) -> Workstation {
    let issued = sandbox.issue(account, terms).await.expect("license");
    let mut ws = Workstation::open(
        Profile::at(home),
        SecretStore::memory(),
        tenure_client::Roots::pinned_from_text(&sandbox.root_public_key()).expect("roots"),
    )
    .expect("open");
    let api = tenure_client::ApiClient::new(&sandbox.url()).expect("client");
    ws.connect_db(spec, Utc::now()).await.expect("connect");
    let binding = ws.database().current_binding().expect("binding");
    ws.activate(&api, &issued.key, binding, Utc::now())
        .await
        .expect("activate");
    ws
}

/// The product databases to measure on: a SQLite file in `dir` and a database on `cluster`.
pub fn databases(
    dir: &std::path::Path,
    cluster: &tenure_testkit::PgCluster,
    name: &str,
) -> [(&'static str, DbSpec); 2] {
    [
        ("sqlite", DbSpec::Sqlite(dir.join(format!("{name}.db")))),
        ("postgres", DbSpec::Postgres(cluster.create_database(name))),
    ]
}
