//! The product database with real tools: SQLite files and PostgreSQL clusters, the license
//! stored in the database, a restore with `pg_dump`/`pg_restore` into a second cluster, and
//! re-validation. Uses the real keyring (scripts/test provides one).

use chrono::Utc;
use tenure_client::product_db::{DbError, DbSpec};
use tenure_client::{ApiError, Credentials, EngineError};
use tenure_core::Status;
use tenure_testkit::PgCluster;

pub mod support;
use support::{activate, site, workstation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_license_travels_with_the_file_and_a_copy_is_a_mismatch() {
    let site = site(3).await;
    let data = tempfile::tempdir().unwrap();
    let prod = DbSpec::Sqlite(data.path().join("prod.db"));
    let home1 = tempfile::tempdir().unwrap();
    let mut ws1 = workstation(&site, &home1, &prod).await;
    assert_eq!(ws1.database().current_binding().unwrap().database, "prod");
    activate(&mut ws1, &site).await;

    // Another workstation on the same database picks the license up with no key.
    let home2 = tempfile::tempdir().unwrap();
    let ws2 = workstation(&site, &home2, &prod).await;
    assert!(ws2.report(Utc::now()).unwrap().status.is_licensed());

    // A copy under another name is another database.
    // Copied as a file-level backup does: the database file and its write-ahead log.
    for suffix in ["", "-wal"] {
        let from = data.path().join(format!("prod.db{suffix}"));
        if from.exists() {
            std::fs::copy(from, data.path().join(format!("prod_copy.db{suffix}"))).unwrap();
        }
    }
    let home3 = tempfile::tempdir().unwrap();
    let ws3 = workstation(
        &site,
        &home3,
        &DbSpec::Sqlite(data.path().join("prod_copy.db")),
    )
    .await;
    let status = ws3.report(Utc::now()).unwrap().status;
    let Status::BindingMismatch { licensed, current } = &status else {
        panic!("{status:?}")
    };
    assert_eq!(
        (licensed.database.as_str(), current.database.as_str()),
        ("prod", "prod_copy")
    );
    assert!(
        status.advice().contains("database prod → prod_copy"),
        "{}",
        status.advice()
    );

    // Activation and validation were audited in the database.
    let events = ws1.database().recent_events(10).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "activated" && e.outcome == "ok"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_into_another_cluster_then_revalidate() {
    let site = site(3).await;
    let a = PgCluster::start();
    let b = PgCluster::start();
    let url_a = a.create_database("prod");
    let home1 = tempfile::tempdir().unwrap();
    let mut ws1 = workstation(&site, &home1, &DbSpec::Postgres(url_a.clone())).await;
    let bound_a = ws1.database().current_binding().unwrap();
    assert_eq!(bound_a.database, "prod");
    assert!(
        bound_a.server.ends_with(&format!(":{}", a.port())),
        "{bound_a:?}"
    );
    activate(&mut ws1, &site).await;

    // Restore: pg_dump from cluster A, pg_restore into cluster B.
    let dump = a.dir().join("prod.dump");
    let out = a.tool("pg_dump", &["-Fc", "-f", &dump.to_string_lossy(), "prod"]);
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url_b = b.create_database("prod");
    std::fs::copy(&dump, b.dir().join("prod.dump")).unwrap();
    let restored = b.dir().join("prod.dump");
    let out = b.tool(
        "pg_restore",
        &["-d", "prod", "--no-owner", &restored.to_string_lossy()],
    );
    assert!(
        out.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // IT opens the app on the restored copy: the license came along, bound to A.
    let home2 = tempfile::tempdir().unwrap();
    let ws2 = workstation(&site, &home2, &DbSpec::Postgres(url_b)).await;
    let status = ws2.report(Utc::now()).unwrap().status;
    let Status::BindingMismatch { licensed, current } = &status else {
        panic!("{status:?}")
    };
    assert_eq!(licensed, &bound_a);
    assert!(current.server.ends_with(&format!(":{}", b.port())));
    assert!(
        status.advice().contains("database prod unchanged"),
        "{}",
        status.advice()
    );

    // Re-validate needs the account; then the license lives on B.
    let api = ws2.server().api(None).unwrap();
    let err = ws2
        .rebind(&api, "restored to cluster B", Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Api(ApiError::NotSignedIn)),
        "{err}"
    );
    ws2.server()
        .login(&Credentials {
            account: "acme".into(),
            token: site.issued.account_token.clone(),
        })
        .unwrap();
    let report = ws2
        .rebind(&api, "restored to cluster B", Utc::now())
        .await
        .unwrap();
    assert!(report.status.is_licensed(), "{:?}", report.status);

    // The old binding is refused, with where the license lives now.
    let api1 = ws1.server().api(None).unwrap();
    let err = ws1.validate(&api1, Utc::now()).await.unwrap_err();
    let EngineError::Api(ApiError::Refused {
        status: 409,
        message,
        ..
    }) = &err
    else {
        panic!("{err}")
    };
    assert!(message.contains(&current.server), "{message}");
    // ...and the old workstation's license is untouched by that refusal (grace goes on).
    assert!(ws1.report(Utc::now()).unwrap().status.is_licensed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_aliases_are_one_server_and_another_host_is_not() {
    let site = site(3).await;
    let cluster = PgCluster::start();
    cluster.create_database("prod");
    let port = cluster.port();
    let home = tempfile::tempdir().unwrap();
    let via_localhost = DbSpec::Postgres(format!(
        "postgres://postgres:{}@localhost:{port}/prod",
        tenure_testkit::PG_PASSWORD
    ));
    let mut ws = workstation(&site, &home, &via_localhost).await;
    activate(&mut ws, &site).await;
    let licensed = ws.database().current_binding().unwrap();

    let via_ip = DbSpec::Postgres(format!(
        "postgres://postgres:{}@127.0.0.1:{port}/prod",
        tenure_testkit::PG_PASSWORD
    ));
    let home2 = tempfile::tempdir().unwrap();
    let ws2 = workstation(&site, &home2, &via_ip).await;
    assert_eq!(ws2.database().current_binding().unwrap(), licensed);
    assert!(ws2.report(Utc::now()).unwrap().status.is_licensed());

    let host = tenure_client::local_host_name();
    for spelling in [
        ".".to_owned(),
        "(local)".into(),
        host.clone(),
        host.to_uppercase(),
        "[::1]".into(),
    ] {
        assert_eq!(
            ws.database()
                .binding_for(&format!("{spelling}:{port}"), "PROD"),
            licensed,
            "{spelling}"
        );
    }
    assert_ne!(
        ws.database()
            .binding_for(&format!("db-elsewhere:{port}"), "prod"),
        licensed
    );
}

#[tokio::test]
async fn unusable_databases_give_clear_errors() {
    let port = tenure_testkit::free_port();
    let down = DbSpec::Postgres(format!(
        "postgres://postgres:{}@127.0.0.1:{port}/prod",
        tenure_testkit::PG_PASSWORD
    ));
    let err = tenure_client::product_db::ProductDb::connect(&down, "ws1")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Unreachable(_)), "{err}");
    assert!(err.to_string().contains("not reachable"));

    let cluster = PgCluster::start();
    cluster.create_database("prod");
    let wrong_password = DbSpec::Postgres(format!(
        "postgres://postgres:not-it@127.0.0.1:{}/prod",
        cluster.port()
    ));
    let err = tenure_client::product_db::ProductDb::connect(&wrong_password, "ws1")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Auth(_)), "{err}");
    assert!(err.to_string().contains("user name or password"), "{err}");
    assert!(
        !format!("{wrong_password}").contains("not-it"),
        "the password is never shown"
    );

    let missing = DbSpec::Postgres(cluster.url("no_such_db"));
    let err = tenure_client::product_db::ProductDb::connect(&missing, "ws1")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Missing(_)), "{err}");

    let err = DbSpec::parse("mysql://x/y").unwrap_err();
    assert!(err.to_string().contains("not supported"));
}

/// A SQLite file whose header is sound but whose schema page is not: named as damaged at once,
/// not retried until the pool gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_schema_page_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.db");
    let spec = DbSpec::Sqlite(path.clone());
    tenure_client::product_db::ProductDb::connect(&spec, "ws1")
        .await
        .unwrap()
        .close()
        .await;
    let mut bytes = std::fs::read(&path).unwrap();
    // Page 1 after the 100-byte header: the schema table's b-tree page.
    for byte in &mut bytes[100..4096] {
        *byte = 0xa5;
    }
    std::fs::write(&path, &bytes).unwrap();
    for leftover in ["prod.db-wal", "prod.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(leftover));
    }
    let started = std::time::Instant::now();
    let err = tenure_client::product_db::ProductDb::connect(&spec, "ws1")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Damaged(_)), "{err}");
    assert!(err.to_string().contains("is damaged"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "named at once, not after the pool's retries: {:?}",
        started.elapsed()
    );
}
