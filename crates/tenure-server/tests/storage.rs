//! The same storage and rule tests, run against SQLite and against a real PostgreSQL cluster.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, NaiveDate, Utc};
use tenure_core::signed::open_license;
use tenure_core::{Binding, LicenseTerms, TrustedKeys, Validity, VendorKey};
use tenure_server::sandbox::sample_terms;
use tenure_server::service::Refusal;
use tenure_server::{Store, Vendor, system_clock};
use tenure_testkit::PgCluster;

fn terms(max_rebinds: u32) -> LicenseTerms {
    let mut terms = sample_terms("Acme");
    terms.max_grace_days = 60;
    terms.max_rebinds_per_30_days = max_rebinds;
    terms
}

fn binding(server: &str) -> Binding {
    Binding {
        server: server.into(),
        database: "prod".into(),
    }
}

#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn exercise(store: Store) {
    let key = VendorKey::from_secret([42; 32]);
    let mut trusted = TrustedKeys::new();
    trusted.add(key.verifying_key());
    let vendor = Vendor::new(store, key, system_clock());

    let token = vendor.create_account("acme").await.unwrap();
    assert!(matches!(
        vendor.create_account("acme").await,
        Err(Refusal::Conflict {
            code: "account_exists",
            ..
        })
    ));
    let created = vendor.create_license("acme", &terms(1)).await.unwrap();

    // Unknown key, then activation, then the same key for another binding.
    assert!(matches!(
        vendor
            .activate("0000-0000-0000-0", &binding("srv1"), "n1")
            .await,
        Err(Refusal::NotFound(_))
    ));
    let text = vendor
        .activate(&created.key, &binding("srv1"), "n1")
        .await
        .unwrap();
    let license = open_license(&text, &trusted).unwrap();
    assert_eq!(license.nonce, "n1");
    assert_eq!(license.binding, binding("srv1"));
    let again = vendor.activate(&created.key, &binding("srv1"), "n2").await;
    assert!(
        again.is_ok(),
        "re-activating the same binding is idempotent"
    );
    let Err(Refusal::Conflict { code, message }) =
        vendor.activate(&created.key, &binding("srv2"), "n3").await
    else {
        panic!("a second binding must be refused");
    };
    assert_eq!(code, "bound_elsewhere");
    assert!(message.contains("re-validate"), "{message}");

    // Validation stamps the server clock and echoes the nonce.
    let text = vendor
        .validate(&created.id, &binding("srv1"), "n4")
        .await
        .unwrap();
    let validated = open_license(&text, &trusted).unwrap();
    assert_eq!(validated.nonce, "n4");
    assert!(validated.validated_at >= license.validated_at);

    // Grace extension: over the cap refused, within it granted.
    assert!(matches!(
        vendor
            .extend_grace("acme", &created.id, &binding("srv1"), 90, "n5")
            .await,
        Err(Refusal::Forbidden {
            code: "over_grace_cap",
            ..
        })
    ));
    let text = vendor
        .extend_grace("acme", &created.id, &binding("srv1"), 55, "n6")
        .await
        .unwrap();
    assert_eq!(open_license(&text, &trusted).unwrap().grace_days, 55);
    // The extension lasts: a later validation keeps it.
    let text = vendor
        .validate(&created.id, &binding("srv1"), "n7")
        .await
        .unwrap();
    assert!(open_license(&text, &trusted).unwrap().grace_days >= 54);

    // Rebind needs the account, moves the license, and the old binding is then refused.
    assert!(vendor.authenticate_account("acme", "wrong").await.is_err());
    vendor.authenticate_account("acme", &token).await.unwrap();
    assert!(matches!(
        vendor
            .rebind(
                "someone-else",
                &created.id,
                &binding("srv2"),
                "restore",
                "n8"
            )
            .await,
        Err(Refusal::NotFound(_))
    ));
    let text = vendor
        .rebind("acme", &created.id, &binding("srv2"), "restore", "n9")
        .await
        .unwrap();
    assert_eq!(
        open_license(&text, &trusted).unwrap().binding,
        binding("srv2")
    );
    let Err(Refusal::Conflict { message, .. }) =
        vendor.validate(&created.id, &binding("srv1"), "n10").await
    else {
        panic!("the old binding must be refused");
    };
    assert!(
        message.contains("srv2 / prod"),
        "says where it lives now: {message}"
    );
    let rebinds = vendor
        .store()
        .rebinds_since(&created.id, Utc::now() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(rebinds.len(), 1);
    assert_eq!(
        (rebinds[0].old.clone(), rebinds[0].reason.as_str()),
        (binding("srv1"), "restore")
    );

    // The limit of one rebind per 30 days.
    let Err(Refusal::Forbidden { code, message }) = vendor
        .rebind("acme", &created.id, &binding("srv3"), "again", "n11")
        .await
    else {
        panic!("the rebind limit must hold");
    };
    assert_eq!(code, "rebind_limit");
    assert!(message.contains("contact your vendor"));

    // Revoked licenses are refused.
    assert!(vendor.store().revoke(&created.id).await.unwrap());
    assert!(matches!(
        vendor.validate(&created.id, &binding("srv2"), "n12").await,
        Err(Refusal::Forbidden {
            code: "revoked",
            ..
        })
    ));

    // Module dates outside the license are refused at issue time.
    let mut bad = terms(1);
    bad.modules.push(tenure_core::Module {
        name: "reports".into(),
        validity: Validity {
            starts: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
            expires: NaiveDate::from_ymd_opt(2000, 2, 1).unwrap(),
        },
    });
    assert!(matches!(
        vendor.create_license("acme", &bad).await,
        Err(Refusal::BadRequest(_))
    ));

    // Many simultaneous activations for different bindings: exactly one wins.
    let race = vendor.create_license("acme", &terms(1)).await.unwrap();
    let attempts = (0..24).map(|i| {
        let vendor = vendor.clone();
        let key = race.key.clone();
        tokio::spawn(async move {
            vendor
                .activate(&key, &binding(&format!("host{i}")), "n")
                .await
                .is_ok()
        })
    });
    let mut wins = 0;
    for attempt in attempts {
        wins += usize::from(attempt.await.unwrap());
    }
    assert_eq!(wins, 1);

    let listed = vendor.account_licenses("acme").await.unwrap();
    assert_eq!(listed.len(), 2);
    let revoked = listed.iter().find(|l| l.id == created.id).unwrap();
    assert!(revoked.revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_hold_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_sqlite_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_hold_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_server");
    exercise(Store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let port = tenure_testkit::free_port();
    let err = Store::open(&format!("postgres://postgres@127.0.0.1:{port}/nope"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot open the server database"),
        "{err}"
    );
}
