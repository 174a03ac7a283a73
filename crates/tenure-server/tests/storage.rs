//! The same storage and rule tests, run against SQLite and against a real PostgreSQL cluster.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::{Duration, NaiveDate, Utc};
use tenure_core::possession::{Credential, ProofAction};
use tenure_core::protocol::{
    ActivationRequest, CreateLicenseRequest, CreateLicenseResponse, GraceExtensionRequest,
    OverdraftDay, RebindRequest, ValidationRequest,
};
use tenure_core::{Binding, LicenseTerms, Trust, TrustedKeys, Validity, VendorKey};
use tenure_server::sandbox::sample_terms;
use tenure_server::service::Denial;
use tenure_server::store::{EventRow, Stamp, Stamped};
use tenure_server::{Store, Vendor, system_clock};
use tenure_testkit::PgCluster;

fn terms(max_rebinds: u32) -> LicenseTerms {
    let mut terms = sample_terms("Acme");
    terms.max_grace_days = 60;
    terms.max_rebinds_per_30_days = max_rebinds;
    terms
}

/// The vendor service's requests, by their parts (the service takes the typed requests the
/// HTTP API reads).
async fn activate(
    vendor: &Vendor,
    key: &str,
    at: &Binding,
    nonce: &str,
    holder: &str,
    account: Option<&str>,
) -> Result<String, Denial> {
    let request = ActivationRequest {
        key: key.into(),
        binding: at.clone(),
        nonce: nonce.into(),
        holder: holder.into(),
    };
    vendor.activate(&request, account).await
}

async fn validate(
    vendor: &Vendor,
    license_id: &str,
    at: &Binding,
    nonce: &str,
    proof: &str,
) -> Result<String, Denial> {
    let request = ValidationRequest {
        license_id: license_id.into(),
        binding: at.clone(),
        nonce: nonce.into(),
        proof: proof.into(),
        overdraft: Vec::new(),
        revoked_borrows: Vec::new(),
        borrowed_session: None,
    };
    vendor.validate(&request).await
}

async fn extend_grace(
    vendor: &Vendor,
    account: &str,
    license_id: &str,
    at: &Binding,
    days: u32,
    nonce: &str,
    proof: &str,
) -> Result<String, Denial> {
    let request = GraceExtensionRequest {
        license_id: license_id.into(),
        binding: at.clone(),
        days,
        nonce: nonce.into(),
        proof: proof.into(),
    };
    vendor.extend_grace(account, &request).await
}

async fn rebind(
    vendor: &Vendor,
    account: &str,
    license_id: &str,
    at: &Binding,
    reason: &str,
    nonce: &str,
    proof: &str,
) -> Result<String, Denial> {
    let request = RebindRequest {
        license_id: license_id.into(),
        binding: at.clone(),
        reason: reason.into(),
        nonce: nonce.into(),
        proof: proof.into(),
    };
    vendor.rebind(account, &request).await
}

async fn create_license(
    vendor: &Vendor,
    account: &str,
    terms: &LicenseTerms,
) -> Result<CreateLicenseResponse, Denial> {
    let request = CreateLicenseRequest {
        account: account.into(),
        terms: terms.clone(),
    };
    vendor.licenses().create(&request).await
}

fn binding(server: &str) -> Binding {
    Binding {
        server: server.into(),
        database: "prod".into(),
    }
}

/// A workstation's side of the protocol: its activation credential, and proofs made with it.
struct Holder(Credential);

impl Holder {
    fn new(seed: u8) -> Self {
        Self(Credential::from_secret([seed; 32]))
    }

    fn public(&self) -> String {
        self.0.public_hex()
    }

    fn prove(&self, action: ProofAction, license_id: &str, at: &Binding, nonce: &str) -> String {
        self.0.prove(action, license_id, at, nonce)
    }
}

/// A vendor whose signing key is certified by a root, and the trust a product pinning that
/// root has.
fn certified_vendor(store: Store) -> (Vendor, Trust) {
    let root = VendorKey::from_secret([41; 32]);
    let key = VendorKey::from_secret([42; 32]);
    let now = Utc::now();
    let certificate = root
        .certify(
            &key.verifying_key(),
            now - Duration::days(1),
            now + Duration::days(30),
            now,
            "test",
            90,
        )
        .unwrap();
    let mut roots = TrustedKeys::new();
    roots.add(root.verifying_key());
    let vendor =
        Vendor::new(store, key, system_clock()).with_trust_documents(Some(certificate), None);
    (vendor, Trust::new(roots))
}

/// A license's last validation is rewritten at most once a minute (every validation is still
/// logged), and a stamp for a binding the license is not bound to is refused.
async fn stamps_are_kept_to_the_minute(store: &Store, id: &str, at: &Binding, holder: &str) {
    let stamp = |at_time, binding: &Binding| Stamp {
        license_id: id.to_owned(),
        binding: binding.clone(),
        holder: holder.to_owned(),
        at: at_time,
    };
    let event = |at_time| EventRow {
        license_id: Some(id.to_owned()),
        kind: "validation".into(),
        outcome: "ok".into(),
        detail: at.to_string(),
        at: at_time,
        count: 1,
    };
    let last = async || {
        store
            .license_by_id(id)
            .await
            .unwrap()
            .unwrap()
            .last_validated_at
    };
    let first = Utc::now() + Duration::minutes(5);
    for (when, expected) in [
        (first, first),
        (first + Duration::seconds(30), first),
        (first + Duration::seconds(61), first + Duration::seconds(61)),
    ] {
        let stamped = store
            .record_validation(stamp(when, at), event(when))
            .await
            .unwrap();
        assert!(matches!(stamped, Stamped::Yes { .. }), "{stamped:?}");
        assert_eq!(
            last().await.map(|t| t.timestamp()),
            Some(expected.timestamp())
        );
    }
    let elsewhere = binding("nowhere");
    let later = first + Duration::minutes(10);
    let refused = store
        .record_validation(stamp(later, &elsewhere), event(later))
        .await
        .unwrap();
    assert_eq!(refused, Stamped::No);
}

#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn exercise(store: Store) {
    let (vendor, trust) = certified_vendor(store.clone());
    let holder = Holder::new(1);
    let stranger = Holder::new(2);

    let token = vendor.accounts().create("acme").await.unwrap();
    assert!(matches!(
        vendor.accounts().create("acme").await,
        Err(Denial::Conflict {
            code: "account_exists",
            ..
        })
    ));
    let created = create_license(&vendor, "acme", &terms(1)).await.unwrap();
    let id = created.id.as_str();

    // An unknown key and an activated one get the same answer, naming no binding.
    let unknown = activate(
        &vendor,
        "0000-0000-0000-0",
        &binding("srv1"),
        "n1",
        &holder.public(),
        None,
    )
    .await;
    let Err(Denial::Forbidden {
        code: "cannot_activate",
        message: unknown,
    }) = unknown
    else {
        panic!("an unknown key: {unknown:?}");
    };
    let text = activate(
        &vendor,
        &created.key,
        &binding("srv1"),
        "n1",
        &holder.public(),
        None,
    )
    .await
    .unwrap();
    let license = trust.open_license(&text).unwrap();
    assert_eq!(license.nonce, "n1");
    assert_eq!(license.binding, binding("srv1"));
    for (at, nonce) in [("srv1", "n2"), ("srv2", "n3")] {
        let Err(Denial::Forbidden {
            code: "cannot_activate",
            message,
        }) = activate(
            &vendor,
            &created.key,
            &binding(at),
            nonce,
            &stranger.public(),
            None,
        )
        .await
        else {
            panic!("re-activating without the account must be refused");
        };
        assert_eq!(message, unknown, "the same words as for an unknown key");
        assert!(!message.contains("srv1"), "{message}");
    }

    // Validation needs the credential's proof: a license id and a binding alone get nothing.
    let at = binding("srv1");
    for proof in [
        String::new(),
        stranger.prove(ProofAction::Validate, id, &at, "n4"),
        holder.prove(ProofAction::Validate, id, &at, "another nonce"),
        holder.prove(ProofAction::Extend, id, &at, "n4"),
    ] {
        let refused = validate(&vendor, id, &at, "n4", &proof).await;
        assert!(
            matches!(refused, Err(Denial::Unauthorized(_))),
            "{refused:?}"
        );
    }
    let Err(Denial::Unauthorized(no_such)) = validate(
        &vendor,
        "lic_nope",
        &at,
        "n4",
        &holder.prove(ProofAction::Validate, "lic_nope", &at, "n4"),
    )
    .await
    else {
        panic!("an unknown license id");
    };
    assert!(
        !no_such.contains("no license"),
        "says nothing about existence: {no_such}"
    );

    // Validation stamps the server clock and echoes the nonce.
    let text = validate(
        &vendor,
        id,
        &at,
        "n4",
        &holder.prove(ProofAction::Validate, id, &at, "n4"),
    )
    .await
    .unwrap();
    let validated = trust.open_license(&text).unwrap();
    assert_eq!(validated.nonce, "n4");
    assert!(validated.validated_at >= license.validated_at);

    // Grace extension: the account and the proof; over the cap refused, within it granted.
    let extend = |days, nonce: &'static str, by: &Holder| {
        let proof = by.prove(ProofAction::Extend, id, &at, nonce);
        let vendor = vendor.clone();
        let at = at.clone();
        async move { extend_grace(&vendor, "acme", id, &at, days, nonce, &proof).await }
    };
    assert!(matches!(
        extend(55, "n5", &stranger).await,
        Err(Denial::Unauthorized(_))
    ));
    assert!(matches!(
        extend(90, "n5", &holder).await,
        Err(Denial::Forbidden {
            code: "over_grace_cap",
            ..
        })
    ));
    let text = extend(55, "n6", &holder).await.unwrap();
    assert_eq!(trust.open_license(&text).unwrap().grace_days, 55);
    // The extension lasts: a later validation keeps it (the row cached for validations predates
    // the extension, so the answer signed before the commit is signed again with it).
    let text = validate(
        &vendor,
        id,
        &at,
        "n7",
        &holder.prove(ProofAction::Validate, id, &at, "n7"),
    )
    .await
    .unwrap();
    assert!(trust.open_license(&text).unwrap().grace_days >= 54);

    // Rebind needs the account and the proof, moves the license, and the old binding is then
    // refused.
    assert!(
        vendor
            .accounts()
            .authenticate("acme", "wrong")
            .await
            .is_err()
    );
    vendor
        .accounts()
        .authenticate("acme", &token)
        .await
        .unwrap();
    // A rotated token replaces the old one at once; a disabled account is refused until rotated.
    let old = token;
    let token = vendor.accounts().rotate_token("acme").await.unwrap();
    vendor
        .accounts()
        .authenticate("acme", &token)
        .await
        .unwrap();
    assert!(vendor.accounts().authenticate("acme", &old).await.is_err());
    vendor.accounts().disable("acme").await.unwrap();
    assert!(
        vendor
            .accounts()
            .authenticate("acme", &token)
            .await
            .is_err()
    );
    let token = vendor.accounts().rotate_token("acme").await.unwrap();
    vendor
        .accounts()
        .authenticate("acme", &token)
        .await
        .unwrap();
    assert!(matches!(
        vendor.accounts().disable("nobody").await,
        Err(Denial::NotFound(_))
    ));
    let to = binding("srv2");
    let rebind_proof = |by: &Holder, nonce| by.prove(ProofAction::Rebind, id, &to, nonce);
    assert!(matches!(
        rebind(
            &vendor,
            "someone-else",
            id,
            &to,
            "restore",
            "n8",
            &rebind_proof(&holder, "n8")
        )
        .await,
        Err(Denial::NotFound(_))
    ));
    assert!(matches!(
        rebind(
            &vendor,
            "acme",
            id,
            &to,
            "restore",
            "n8",
            &rebind_proof(&stranger, "n8")
        )
        .await,
        Err(Denial::Unauthorized(_))
    ));
    let text = rebind(
        &vendor,
        "acme",
        id,
        &to,
        "restore",
        "n9",
        &rebind_proof(&holder, "n9"),
    )
    .await
    .unwrap();
    assert_eq!(trust.open_license(&text).unwrap().binding, to);
    let Err(Denial::Conflict { message, .. }) = validate(
        &vendor,
        id,
        &at,
        "n10",
        &holder.prove(ProofAction::Validate, id, &at, "n10"),
    )
    .await
    else {
        panic!("the old binding must be refused");
    };
    assert!(
        message.contains("srv2 / prod"),
        "the holder is told where it lives now: {message}"
    );
    let rebinds = store
        .rebinds_since(id, Utc::now() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(rebinds.len(), 1);
    assert_eq!(
        (rebinds[0].old.clone(), rebinds[0].reason.as_str()),
        (binding("srv1"), "restore")
    );

    // The limit of one rebind per 30 days.
    let to3 = binding("srv3");
    let Err(Denial::Forbidden { code, message }) = rebind(
        &vendor,
        "acme",
        id,
        &to3,
        "again",
        "n11",
        &holder.prove(ProofAction::Rebind, id, &to3, "n11"),
    )
    .await
    else {
        panic!("the rebind limit must hold");
    };
    assert_eq!(code, "rebind_limit");
    assert!(message.contains("contact your vendor"));

    // The account activates its own key again (a lost database): a new credential, and the old
    // one validates nothing from then on — it hears, signed, that the license moved.
    let replacement = Holder::new(3);
    activate(
        &vendor,
        &created.key,
        &to,
        "n11b",
        &replacement.public(),
        Some("acme"),
    )
    .await
    .unwrap();
    assert!(matches!(
        validate(
            &vendor,
            id,
            &to,
            "n11c",
            &holder.prove(ProofAction::Validate, id, &to, "n11c")
        )
        .await,
        Err(Denial::Moved { .. })
    ));
    validate(
        &vendor,
        id,
        &to,
        "n11d",
        &replacement.prove(ProofAction::Validate, id, &to, "n11d"),
    )
    .await
    .unwrap();

    // Group commit: many validations at once each get their own answer, every one stamped and
    // logged, in far fewer transactions than requests.
    let logged_before = store.count_events(id, "validation", "ok").await.unwrap();
    let validations = (0..200).map(|i| {
        let vendor = vendor.clone();
        let nonce = format!("batch{i}");
        let proof = replacement.prove(ProofAction::Validate, id, &to, &nonce);
        let (id, to) = (id.to_owned(), to.clone());
        tokio::spawn(async move { validate(&vendor, &id, &to, &nonce, &proof).await })
    });
    for validation in validations {
        trust
            .open_license(&validation.await.unwrap().unwrap())
            .unwrap();
    }
    let logged_after = store.count_events(id, "validation", "ok").await.unwrap();
    assert_eq!(logged_after - logged_before, 200);
    stamps_are_kept_to_the_minute(&store, id, &to, &replacement.public()).await;

    // Events older than the server keeps are rolled up into daily counts: none is lost.
    let old = Utc::now() - Duration::days(120);
    for _ in 0..3 {
        store
            .log_event(Some(id), "validation", "ok", "srv2 / prod", old)
            .await
            .unwrap();
    }
    let total = store.total_events(id, "validation", "ok").await.unwrap();
    let rolled = store
        .roll_up_events(Utc::now() - Duration::days(90))
        .await
        .unwrap();
    assert_eq!(rolled, 3);
    assert_eq!(
        store.total_events(id, "validation", "ok").await.unwrap(),
        total
    );
    assert_eq!(
        store.count_events(id, "validation", "ok").await.unwrap(),
        total - 3,
        "the old events left the event table"
    );
    store
        .log_event(Some(id), "validation", "ok", "srv2 / prod", old)
        .await
        .unwrap();
    store
        .roll_up_events(Utc::now() - Duration::days(90))
        .await
        .unwrap();
    assert_eq!(
        store.total_events(id, "validation", "ok").await.unwrap(),
        total + 1,
        "a second roll-up adds to the day's count"
    );

    // Control characters are refused before they reach the store (PostgreSQL cannot hold NUL).
    let nul = Binding {
        server: "srv\0".into(),
        database: "prod".into(),
    };
    assert!(matches!(
        validate(&vendor, id, &nul, "n", "").await,
        Err(Denial::Invalid(_))
    ));
    assert!(matches!(
        vendor.accounts().create("bad\0name").await,
        Err(Denial::Invalid(_))
    ));

    // Revoked licenses are refused.
    vendor.licenses().revoke(&created.id).await.unwrap();
    assert_eq!(
        store
            .total_events(&created.id, "license", "revoked")
            .await
            .unwrap(),
        1,
        "a revocation is recorded"
    );
    let proof = replacement.prove(ProofAction::Validate, id, &to, "n12");
    assert!(matches!(
        validate(&vendor, id, &to, "n12", &proof).await,
        Err(Denial::Forbidden {
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
        create_license(&vendor, "acme", &bad).await,
        Err(Denial::Invalid(_))
    ));

    // Many simultaneous activations for different bindings: exactly one wins.
    let race = create_license(&vendor, "acme", &terms(1)).await.unwrap();
    let attempts = (0..24u8).map(|i| {
        let vendor = vendor.clone();
        let key = race.key.clone();
        let holder = Holder::new(100 + i).public();
        tokio::spawn(async move {
            activate(
                &vendor,
                &key,
                &binding(&format!("host{i}")),
                "n",
                &holder,
                None,
            )
            .await
            .is_ok()
        })
    });
    let mut wins = 0;
    for attempt in attempts {
        wins += usize::from(attempt.await.unwrap());
    }
    assert_eq!(wins, 1);

    let listed = vendor.accounts().licenses("acme").await.unwrap();
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

/// Issue 25: what a stranger's refusals cost the server. 2,000 refused proofs, for a license
/// that exists and one that does not, and guessed keys: nothing written until the minute's
/// flush, then one row per license, kind and reason with the server's own words.
async fn refusals_write_one_row_a_minute(store: Store) {
    let (vendor, _) = certified_vendor(store.clone());
    vendor.accounts().create("acme").await.unwrap();
    let created = create_license(&vendor, "acme", &terms(3)).await.unwrap();
    let at = binding("srv1");
    let holder = Holder::new(1);
    activate(&vendor, &created.key, &at, "n0", &holder.public(), None)
        .await
        .unwrap();
    vendor.flush_refusals().await;
    let rows_before = store.event_rows().await.unwrap();
    let stranger = Holder::new(9);
    for i in 0..2_000 {
        let nonce = format!("n{i}");
        let proof = stranger.prove(ProofAction::Validate, &created.id, &at, &nonce);
        let known = validate(&vendor, &created.id, &at, &nonce, &proof).await;
        let unknown = validate(&vendor, "lic_nothere", &at, &nonce, &proof).await;
        match (known, unknown) {
            (Err(Denial::Unauthorized(a)), Err(Denial::Unauthorized(b))) => assert_eq!(a, b),
            other => panic!("{other:?}"),
        }
    }
    for i in 0..50_u8 {
        let guess = tenure_core::LicenseKey::from_random_digits([i; 12]).to_string();
        for key in [guess.as_str(), created.key.as_str()] {
            let refused =
                activate(&vendor, key, &binding("x"), "n", &stranger.public(), None).await;
            assert!(
                matches!(
                    &refused,
                    Err(Denial::Forbidden {
                        code: "cannot_activate",
                        ..
                    })
                ),
                "{refused:?}"
            );
        }
    }
    assert_eq!(
        store.event_rows().await.unwrap(),
        rows_before,
        "no refusal writes a row of its own"
    );
    vendor.flush_refusals().await;
    assert_eq!(
        store.event_rows().await.unwrap() - rows_before,
        4,
        "one row each: validations refused for the license and for unknown ids, activations \
         refused for the key and for unknown keys"
    );
    assert_eq!(
        store
            .total_events(&created.id, "validation", "refused_no_proof")
            .await
            .unwrap(),
        1
    );
}

/// Issue 25: a license the account activated elsewhere answers the credential it replaced with
/// a signed notice that it moved (nonce echoed, nowhere named); any other proof hears nothing.
async fn a_replaced_credential_hears_that_the_license_moved(store: Store) {
    let (vendor, trust) = certified_vendor(store);
    vendor.accounts().create("acme").await.unwrap();
    let created = create_license(&vendor, "acme", &terms(3)).await.unwrap();
    let (first, second, third) = (Holder::new(1), Holder::new(2), Holder::new(3));
    activate(
        &vendor,
        &created.key,
        &binding("srv1"),
        "n0",
        &first.public(),
        None,
    )
    .await
    .unwrap();
    activate(
        &vendor,
        &created.key,
        &binding("srv2"),
        "n1",
        &second.public(),
        Some("acme"),
    )
    .await
    .unwrap();
    let moved_notice = |holder: &Holder, at: &Binding, nonce: &str| {
        let proof = holder.prove(ProofAction::Validate, &created.id, at, nonce);
        let (vendor, trust) = (vendor.clone(), trust.clone());
        let (id, at, nonce) = (created.id.clone(), at.clone(), nonce.to_owned());
        async move {
            match validate(&vendor, &id, &at, &nonce, &proof).await {
                Err(Denial::Moved { message, notice }) => {
                    assert!(!message.contains("srv2"), "{message}");
                    trust.open_moved_notice(&notice).unwrap()
                }
                other => panic!("{other:?}"),
            }
        }
    };
    let notice = moved_notice(&first, &binding("srv1"), "n2").await;
    assert_eq!(notice.license_id, created.id);
    assert_eq!(notice.nonce, "n2");
    assert_eq!(notice.holder, first.public());
    assert!(!notice.text().contains("srv2"));
    // Activated again where it is (a lost database): the credential before it moved on too.
    activate(
        &vendor,
        &created.key,
        &binding("srv2"),
        "n3",
        &third.public(),
        Some("acme"),
    )
    .await
    .unwrap();
    assert_eq!(
        moved_notice(&second, &binding("srv2"), "n4").await.holder,
        second.public()
    );
    assert_eq!(
        moved_notice(&first, &binding("srv1"), "n5").await.holder,
        first.public()
    );
    // Only a validation hears it: an extension by the old credential proves nothing.
    let proof = first.prove(ProofAction::Extend, &created.id, &binding("srv1"), "n6");
    let extended = extend_grace(
        &vendor,
        "acme",
        &created.id,
        &binding("srv1"),
        40,
        "n6",
        &proof,
    )
    .await;
    assert!(
        matches!(extended, Err(Denial::Unauthorized(_))),
        "{extended:?}"
    );
    // The holder now validates as ever.
    let proof = third.prove(ProofAction::Validate, &created.id, &binding("srv2"), "n7");
    validate(&vendor, &created.id, &binding("srv2"), "n7", &proof)
        .await
        .unwrap();
}

/// Issue 25: a server signs nothing its certificate does not cover: no license asking more
/// grace than the certificate's bound, nothing once the certificate has ended.
async fn a_key_signs_nothing_beyond_its_certificate(store: Store) {
    let root = VendorKey::from_secret([41; 32]);
    let key = VendorKey::from_secret([42; 32]);
    let now = Utc::now();
    let certificate = root
        .certify(
            &key.verifying_key(),
            now - Duration::days(1),
            now + Duration::days(30),
            now,
            "short",
            45,
        )
        .unwrap();
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock_offset = offset.clone();
    let clock: tenure_server::Clock = std::sync::Arc::new(move || {
        Utc::now() + Duration::days(clock_offset.load(std::sync::atomic::Ordering::SeqCst))
    });
    let vendor = Vendor::new(store, key, clock).with_trust_documents(Some(certificate), None);
    vendor.accounts().create("acme").await.unwrap();
    let mut generous = terms(3);
    generous.max_grace_days = 60;
    let refused = create_license(&vendor, "acme", &generous).await;
    assert!(
        matches!(&refused, Err(Denial::Invalid(m)) if m.contains("at most 45 days")),
        "{refused:?}"
    );
    let mut within = terms(3);
    within.max_grace_days = 45;
    let created = create_license(&vendor, "acme", &within).await.unwrap();
    let holder = Holder::new(1);
    activate(
        &vendor,
        &created.key,
        &binding("srv1"),
        "n0",
        &holder.public(),
        None,
    )
    .await
    .unwrap();
    // Forty days on, the certificate has ended: the server refuses to sign, and says why.
    offset.store(40, std::sync::atomic::Ordering::SeqCst);
    let proof = holder.prove(ProofAction::Validate, &created.id, &binding("srv1"), "n1");
    let refused = validate(&vendor, &created.id, &binding("srv1"), "n1", &proof).await;
    assert!(
        matches!(
            &refused,
            Err(Denial::Unavailable {
                code: "signing_key_expired",
                ..
            })
        ),
        "{refused:?}"
    );
}

async fn trust_rules(store: Store, other: impl AsyncFn() -> Store) {
    refusals_write_one_row_a_minute(store).await;
    a_replaced_credential_hears_that_the_license_moved(other().await).await;
    a_key_signs_nothing_beyond_its_certificate(other().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trust_rules_hold_on_sqlite() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let next = std::sync::atomic::AtomicUsize::new(1);
    trust_rules(
        Store::open_sqlite_dir(dirs[0].path()).await.unwrap(),
        async || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Store::open_sqlite_dir(dirs[i].path()).await.unwrap()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trust_rules_hold_on_postgres() {
    let cluster = PgCluster::start();
    let next = std::sync::atomic::AtomicUsize::new(1);
    trust_rules(
        Store::open(&cluster.create_database("trust_0"))
            .await
            .unwrap(),
        async || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Store::open(&cluster.create_database(&format!("trust_{i}")))
                .await
                .unwrap()
        },
    )
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_keys_are_stored_only_as_a_keyed_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let (vendor, _) = certified_vendor(store);
    vendor.accounts().create("acme").await.unwrap();
    let created = create_license(&vendor, "acme", &terms(1)).await.unwrap();
    let digits: String = created.key.chars().filter(char::is_ascii_digit).collect();

    // Not in the database file, nor in its write-ahead log.
    for name in ["tenure-server.db", "tenure-server.db-wal"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap_or_default();
        assert!(
            !bytes.windows(digits.len()).any(|w| w == digits.as_bytes()),
            "the key is in {name} in plain digits"
        );
    }
    // Lists show its last four digits; the key still activates.
    let listed = vendor.accounts().licenses("acme").await.unwrap();
    assert_eq!(
        listed[0].key,
        format!("****-****-*{}-{}", &digits[9..12], &digits[12..])
    );
    let holder = Holder::new(1);
    activate(
        &vendor,
        &created.key,
        &binding("srv1"),
        "n",
        &holder.public(),
        None,
    )
    .await
    .unwrap();
}

/// The group-commit writer (a thread and a connection of its own) starts with the first write
/// that needs it: a CLI command that only reads never opens it.
#[tokio::test]
async fn the_writer_starts_with_the_first_logged_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    assert!(!store.writer_started());
    assert!(store.license_by_id("lic-none").await.unwrap().is_none());
    assert!(!store.writer_started(), "a read starts no writer");
    store
        .log_event(Some("lic-1"), "validation", "ok", "srv/prod", Utc::now())
        .await
        .unwrap();
    assert!(store.writer_started());
    assert_eq!(
        store
            .count_events("lic-1", "validation", "ok")
            .await
            .unwrap(),
        1
    );
    // Every clone shares the one writer.
    assert!(store.clone().writer_started());
}

/// Issue 31: the overdraft a workstation reports with its validation is kept per day (a day
/// reported again takes the new count) and `license show` reads it; a report that comes with
/// a proof that does not hold is not kept (attack: a stranger inflating or wiping the figures).
async fn overdraft_reports_are_kept_per_day(store: Store) {
    let (vendor, _) = certified_vendor(store);
    let holder = Holder::new(1);
    let stranger = Holder::new(2);
    vendor.accounts().create("acme").await.unwrap();
    let created = create_license(&vendor, "acme", &terms(1)).await.unwrap();
    let id = created.id.as_str();
    let at = binding("srv1");
    activate(&vendor, &created.key, &at, "n1", &holder.public(), None)
        .await
        .unwrap();
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let report = |nonce: &str, by: &Holder, days: &[(u32, u32)]| ValidationRequest {
        license_id: id.into(),
        binding: at.clone(),
        nonce: nonce.into(),
        proof: by.prove(ProofAction::Validate, id, &at, nonce),
        overdraft: days
            .iter()
            .map(|(d, grants)| OverdraftDay {
                day: day(*d),
                grants: *grants,
            })
            .collect(),
        revoked_borrows: Vec::new(),
        borrowed_session: None,
    };
    vendor
        .validate(&report("n2", &holder, &[(1, 2), (2, 1)]))
        .await
        .unwrap();
    vendor
        .validate(&report("n3", &holder, &[(2, 3), (3, 1)]))
        .await
        .unwrap();
    let refused = vendor.validate(&report("n4", &stranger, &[(1, 99)])).await;
    assert!(
        matches!(refused, Err(Denial::Unauthorized(_))),
        "{refused:?}"
    );
    let kept = vendor.licenses().show(id, day(1)).await.unwrap().overdraft;
    let kept: Vec<(NaiveDate, u32)> = kept.iter().map(|d| (d.day, d.grants)).collect();
    assert_eq!(kept, [(day(1), 2), (day(2), 3), (day(3), 1)]);
    let later = vendor.licenses().show(id, day(3)).await.unwrap().overdraft;
    assert_eq!(later.len(), 1);
    assert!(matches!(
        vendor.licenses().show("lic_nope", day(1)).await,
        Err(Denial::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdraft_reports_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    overdraft_reports_are_kept_per_day(Store::open_sqlite_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdraft_reports_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_server");
    overdraft_reports_are_kept_per_day(Store::open(&url).await.unwrap()).await;
}

/// Issue 31: a pool reports the borrows its admin revoked; the server confirms them within its
/// 30-day cap and lists them, signed, in its answer, and to a laptop that names its borrow. A
/// report whose proof does not hold is not kept (attack: a stranger freeing a customer's
/// borrowed seats, or using up its early returns).
async fn revoked_borrows_are_confirmed_within_the_cap(store: Store) {
    use tenure_core::protocol::RevokedBorrow;
    let (vendor, trust) = certified_vendor(store);
    let holder = Holder::new(1);
    let stranger = Holder::new(2);
    vendor.accounts().create("acme").await.unwrap();
    let created = create_license(&vendor, "acme", &terms(1)).await.unwrap();
    let id = created.id.as_str();
    let at = binding("srv1");
    activate(&vendor, &created.key, &at, "n1", &holder.public(), None)
        .await
        .unwrap();
    let until = Utc::now() + Duration::days(3);
    let request =
        |nonce: &str, by: &Holder, sessions: &[&str], borrowed: Option<&str>| ValidationRequest {
            license_id: id.into(),
            binding: at.clone(),
            nonce: nonce.into(),
            proof: by.prove(ProofAction::Validate, id, &at, nonce),
            overdraft: Vec::new(),
            revoked_borrows: sessions
                .iter()
                .map(|s| RevokedBorrow {
                    session_id: (*s).to_owned(),
                    until,
                })
                .collect(),
            borrowed_session: borrowed.map(str::to_owned),
        };
    let refused = vendor
        .validate(&request("n2", &stranger, &["s1", "s2"], None))
        .await;
    assert!(
        matches!(refused, Err(Denial::Unauthorized(_))),
        "{refused:?}"
    );
    let text = vendor
        .validate(&request("n3", &holder, &["s1", "s2", "s3"], None))
        .await
        .unwrap();
    let listed = trust.open_license(&text).unwrap().revoked_borrows.clone();
    assert_eq!(
        listed,
        ["s1", "s2"],
        "the cap of 2 holds, oldest report first"
    );
    // Reported again, the one over the cap is still refused; those confirmed stay listed.
    let text = vendor
        .validate(&request("n4", &holder, &["s3"], None))
        .await
        .unwrap();
    assert_eq!(
        trust.open_license(&text).unwrap().revoked_borrows,
        ["s1", "s2"]
    );
    // The laptop's own validation hears it; an ordinary one carries no list.
    let text = vendor
        .validate(&request("n5", &holder, &[], Some("s2")))
        .await
        .unwrap();
    assert_eq!(
        trust.open_license(&text).unwrap().revoked_borrows,
        ["s1", "s2"]
    );
    let text = vendor
        .validate(&request("n6", &holder, &[], None))
        .await
        .unwrap();
    assert!(
        trust
            .open_license(&text)
            .unwrap()
            .revoked_borrows
            .is_empty()
    );
    let since = Utc::now().date_naive() - chrono::Days::new(1);
    let early = vendor
        .licenses()
        .show(id, since)
        .await
        .unwrap()
        .early_returns;
    assert_eq!(early.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_borrows_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    revoked_borrows_are_confirmed_within_the_cap(Store::open_sqlite_dir(dir.path()).await.unwrap())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_borrows_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_server");
    revoked_borrows_are_confirmed_within_the_cap(Store::open(&url).await.unwrap()).await;
}
