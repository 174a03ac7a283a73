//! Allocations against real databases and a real license server: one license counting devices,
//! mobile devices, servers and connections, split among two tenants and their roles; devices
//! taking their licenses on first contact (a thousand at once for five hundred); two admins
//! reallocating at once on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::Utc;
use tenure_client::product_db::{
    AllocationChange, AllocationError, DbSpec, DeviceAnswer, GroupKind,
};
use tenure_client::{AllocationsError, SeatAnswer, SecretStore, Workstation};
use tenure_core::allocation::Share;
use tenure_core::{LicenseTerms, QuantityKind, SeatKind};
use tenure_server::sandbox::sample_terms;
use tenure_testkit::PgCluster;

pub mod support;
use support::{Site, activate, site_with, workstation_with};

/// One license for 500 devices, 50 mobile devices, `servers` servers and 10 connections.
fn terms(servers: u32) -> LicenseTerms {
    let mut terms = sample_terms("Acme");
    terms.kind = SeatKind::Concurrent;
    terms.seats = 10;
    terms.quantities = [
        "devices:500:device".to_owned(),
        "mobile:50:device".to_owned(),
        format!("servers:{servers}:device"),
        "connections:10:concurrent".to_owned(),
    ]
    .iter()
    .map(|q| q.parse().unwrap())
    .collect();
    terms
}

async fn licensed(servers: u32, spec: &DbSpec) -> (Site, Workstation, tempfile::TempDir) {
    licensed_with(&terms(servers), spec).await
}

/// A workstation on `spec` with a license of `terms` activated.
async fn licensed_with(
    terms: &LicenseTerms,
    spec: &DbSpec,
) -> (Site, Workstation, tempfile::TempDir) {
    let site = site_with(terms).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation_with(&site, &home, spec, SecretStore::memory()).await;
    activate(&mut ws, &site).await;
    (site, ws, home)
}

fn group(name: &str, kind: GroupKind, tenant: &str) -> AllocationChange {
    AllocationChange::AddGroup {
        name: name.into(),
        kind,
        tenant: tenant.into(),
    }
}

fn allocate(quantity: &str, group: &str, share: Share) -> AllocationChange {
    AllocationChange::Allocate {
        quantity: quantity.into(),
        group: group.into(),
        share: Some(share),
    }
}

/// Why `change`, saved alone (by `tenant`'s admin), is refused.
async fn refusal(ws: &Workstation, change: AllocationChange, tenant: Option<&str>) -> String {
    match ws
        .allocations()
        .save(None, &[change], tenant, Utc::now())
        .await
    {
        Err(AllocationsError::Save(AllocationError::Refused(why))) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The default tenant's admin adds two tenants and grants them connections and devices; North's
/// admin splits North's share among its roles and a site.
async fn split_between_north_and_south(ws: &Workstation) {
    let now = Utc::now();
    let allocations = ws.allocations();
    let book = allocations
        .save(
            Some(0),
            &[
                group("North", GroupKind::Tenant, ""),
                group("South", GroupKind::Tenant, ""),
                allocate("connections", "North", Share::Fixed(6)),
                allocate("connections", "South", Share::Fixed(4)),
                allocate("devices", "North", Share::Fixed(300)),
                allocate("devices", "South", Share::Fixed(200)),
            ],
            None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(book.version.number, 1);

    // North's admin splits North's share among its roles and sites, and nothing more.
    let north = Some("North");
    allocations
        .save(
            Some(1),
            &[
                group("Designers", GroupKind::Role, "North"),
                group("Reviewers", GroupKind::Role, "North"),
                group("Engine A", GroupKind::Site, "North"),
                allocate("connections", "Designers", Share::Fixed(4)),
                allocate("connections", "Reviewers", Share::Remaining),
                allocate("devices", "Engine A", Share::Fixed(300)),
            ],
            north,
            now,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_license_split_among_two_tenants_and_their_roles() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    let now = Utc::now();

    let pools = ws.allocations().pools(now).await.unwrap();
    let sizes: Vec<_> = pools
        .iter()
        .map(|p| (p.quantity.as_str(), p.kind, p.size))
        .collect();
    assert_eq!(
        sizes,
        [
            ("devices", QuantityKind::Device, 500),
            ("mobile", QuantityKind::Device, 50),
            ("servers", QuantityKind::Device, 3),
            ("connections", QuantityKind::Concurrent, 10),
        ]
    );

    split_between_north_and_south(&ws).await;
    let allocations = ws.allocations();
    let north = Some("North");
    let why = refusal(
        &ws,
        allocate("connections", "Designers", Share::Fixed(7)),
        north,
    )
    .await;
    assert!(why.contains("7 of 6 connections of tenant North"), "{why}");
    let why = refusal(
        &ws,
        allocate("connections", "South", Share::Fixed(5)),
        north,
    )
    .await;
    assert!(why.contains("only North's own groups"), "{why}");
    // Over the whole pool, from the default tenant: 6 + 5 of 10.
    let why = refusal(&ws, allocate("connections", "South", Share::Fixed(5)), None).await;
    assert!(why.contains("11 of 10 connections"), "{why}");
    let why = refusal(&ws, allocate("printers", "South", Share::Fixed(1)), None).await;
    assert!(why.contains("counts no printers"), "{why}");

    // What stands: the refused saves wrote nothing.
    let book = allocations.book().await.unwrap();
    assert_eq!(book.version.number, 2);
    let split = book.split("connections", 10);
    let designers = book.bucket(&split, "Designers");
    assert_eq!(designers.size, 4);
    assert_eq!(book.bucket(&split, "Reviewers").size, 2);
    assert_eq!(book.bucket(&split, "South").size, 4);
    let devices = book.split("devices", 500);
    assert_eq!(book.bucket(&devices, "Engine A").size, 300);
    assert_eq!(book.bucket(&devices, "").size, 0);

    // Every change is in the audit log.
    let log = ws.database().recent_events(100).await.unwrap();
    let allocation_events = log.iter().filter(|e| e.kind == "allocation").count();
    assert_eq!(allocation_events, 12, "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_each_share_and_a_tenant_sees_its_own() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    split_between_north_and_south(&ws).await;
    let now = Utc::now();
    // The overview: North's 6 connections, 4 to Designers and the rest (2) to Reviewers.
    let overview = ws.allocations().overview(now).await.unwrap();
    let connections = &overview.quantities[3];
    let shares: Vec<_> = connections
        .lines
        .iter()
        .map(|l| {
            (
                l.group.as_deref().unwrap_or("-"),
                l.tenant.as_str(),
                l.allocated,
            )
        })
        .collect();
    assert_eq!(
        shares,
        [
            ("North", "", 6),
            ("Designers", "North", 4),
            ("Reviewers", "North", 2),
            ("South", "", 4),
            ("-", "", 0),
            ("-", "North", 0),
            ("-", "South", 4),
        ]
    );
    // A renewal counting 7 connections, not 10: South's share (the later, by name on a tie)
    // gives way, and the sentence says so.
    let before = ["connections:10:concurrent".parse().unwrap()];
    let after = ["connections:7:concurrent".parse().unwrap()];
    let cuts = tenure_client::cuts_of(&overview.book, &before, &after);
    assert_eq!(
        cuts,
        [
            "South now gets 1 of the 4 connections it was given: the pool is 7 now (the latest shares give way first)"
        ]
    );
    assert!(tenure_client::cuts_of(&overview.book, &after, &before).is_empty());

    // North's admin sees North alone.
    let north_view = overview.for_tenant("North");
    assert!(!north_view.book.groups.contains_key("South"));
    assert!(
        north_view.quantities[3]
            .lines
            .iter()
            .all(|l| l.tenant == "North" || l.group.as_deref() == Some("North")),
        "{:?}",
        north_view.quantities[3].lines
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_take_licenses_on_first_contact_and_a_removed_one_frees_its_own() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    let allocations = ws.allocations();
    let now = Utc::now();

    for id in ["srv-1", "srv-2", "srv-3"] {
        let answer = allocations
            .register_device(id, "servers", now)
            .await
            .unwrap();
        assert!(
            matches!(answer, DeviceAnswer::Licensed { first: true, .. }),
            "{answer:?}"
        );
    }
    // Known devices keep theirs; a fourth is refused with the part of the pool named.
    let again = allocations
        .register_device("srv-2", "servers", now)
        .await
        .unwrap();
    assert!(matches!(again, DeviceAnswer::Licensed { first: false, .. }));
    let fourth = allocations
        .register_device("srv-4", "servers", now)
        .await
        .unwrap();
    assert_eq!(
        fourth.to_string(),
        "No servers license is free for the part no group was given (3 of 3 in use). Remove a device there, or ask the admin for a bigger share."
    );

    // Uninstalling one frees its license for the next to connect.
    allocations
        .save(
            None,
            &[AllocationChange::RemoveDevice("srv-2".into())],
            None,
            now,
        )
        .await
        .unwrap();
    let fourth = allocations
        .register_device("srv-4", "servers", now)
        .await
        .unwrap();
    assert!(matches!(fourth, DeviceAnswer::Licensed { first: true, .. }));

    // A device assigned while away waits, then takes its license on first contact.
    allocations
        .save(
            None,
            &[
                group("Engine B", GroupKind::Site, ""),
                allocate("mobile", "Engine B", Share::Fixed(1)),
                AllocationChange::AssignDevice {
                    id: "tablet-9".into(),
                    device_type: "mobile".into(),
                    group: "Engine B".into(),
                },
            ],
            None,
            now,
        )
        .await
        .unwrap();
    let waiting = allocations.book().await.unwrap().devices["tablet-9"].clone();
    assert_eq!(waiting.licensed_at, None);
    let answer = allocations
        .register_device("tablet-9", "mobile", now)
        .await
        .unwrap();
    assert!(matches!(answer, DeviceAnswer::Licensed { first: true, .. }));
    let full = allocations
        .register_device("tablet-10", "mobile", now)
        .await
        .unwrap();
    assert!(matches!(full, DeviceAnswer::Licensed { .. }), "{full:?}");
    // Engine B's share is one: a second tablet assigned there is refused, naming the group.
    allocations
        .save(
            None,
            &[AllocationChange::AssignDevice {
                id: "tablet-11".into(),
                device_type: "mobile".into(),
                group: "Engine B".into(),
            }],
            None,
            now,
        )
        .await
        .unwrap();
    let refused = allocations
        .register_device("tablet-11", "mobile", now)
        .await
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("for the Engine B group (1 of 1 in use)"),
        "{refused}"
    );
}

/// Issue 31: a license that caps device registrations at 3 in any 30 days. Three devices take
/// a license; a fourth is refused in words though licenses are free, and removing a device
/// and registering it again (the licensee's way to churn through hardware) counts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_registrations_beyond_the_signed_cap_are_refused_and_say_when_they_can_be() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let mut capped = terms(10);
    capped.churn.device_registrations_per_30_days = 3;
    let (_site, ws, _home) = licensed_with(&capped, &spec).await;
    let allocations = ws.allocations();
    let now = Utc::now();
    for id in ["srv-1", "srv-2", "srv-3"] {
        let answer = allocations
            .register_device(id, "servers", now)
            .await
            .unwrap();
        assert!(
            matches!(answer, DeviceAnswer::Licensed { first: true, .. }),
            "{answer}"
        );
    }
    // A known device keeps its license: only taking one counts.
    let again = allocations
        .register_device("srv-1", "servers", now)
        .await
        .unwrap();
    assert!(
        matches!(again, DeviceAnswer::Licensed { first: false, .. }),
        "{again}"
    );
    let fourth = allocations
        .register_device("srv-4", "servers", now)
        .await
        .unwrap();
    assert!(
        matches!(
            fourth,
            DeviceAnswer::Capped {
                cap: 3,
                next: Some(_)
            }
        ),
        "{fourth}"
    );
    assert!(
        fourth
            .to_string()
            .starts_with("This license lets at most 3 devices take a license in any 30 days, and they have: the next can from "),
        "{fourth}"
    );
    // Removed and registered again, a device takes a license anew: still capped.
    allocations
        .save(
            None,
            &[AllocationChange::RemoveDevice("srv-2".into())],
            None,
            now,
        )
        .await
        .unwrap();
    let back = allocations
        .register_device("srv-2", "servers", now)
        .await
        .unwrap();
    assert!(matches!(back, DeviceAnswer::Capped { .. }), "{back}");
    // The window moves on from the oldest registration: thirty days after it.
    let DeviceAnswer::Capped {
        next: Some(next), ..
    } = back
    else {
        unreachable!()
    };
    assert_eq!(
        next.timestamp(),
        (now + chrono::Duration::days(30)).timestamp()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_device_id_or_an_uncounted_type_is_refused_in_words() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    let allocations = ws.allocations();
    let now = Utc::now();
    // An id the product got wrong is refused before the database sees it.
    let nul = allocations.register_device("pc\0x", "servers", now).await;
    assert!(
        matches!(nul, Err(AllocationsError::BadDeviceId { .. })),
        "{nul:?}"
    );

    // A type the license does not count is an error that lists what it counts.
    let unknown = allocations.register_device("p-1", "printers", now).await;
    let text = unknown.unwrap_err().to_string();
    assert!(text.contains("devices, mobile, servers"), "{text}");
}

/// 1,000 devices connect at once for 500 device licenses: exactly 500 get one.
async fn a_thousand_devices_race_for_five_hundred(spec: &DbSpec) {
    let (_site, ws, _home) = licensed(3, spec).await;
    let ws = std::sync::Arc::new(ws);
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..1000 {
        let ws = ws.clone();
        tasks.spawn(async move {
            ws.allocations()
                .register_device(&format!("pc-{n:04}"), "devices", now)
                .await
        });
    }
    let mut licensed = 0;
    let mut refused = 0;
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap().unwrap() {
            DeviceAnswer::Licensed { .. } => licensed += 1,
            DeviceAnswer::Refused { in_use, .. } => {
                assert_eq!(in_use, 500);
                refused += 1;
            }
            capped @ DeviceAnswer::Capped { .. } => panic!("no cap was signed: {capped}"),
        }
    }
    assert_eq!((licensed, refused), (500, 500));
    let book = ws.allocations().book().await.unwrap();
    let holding = book
        .devices
        .values()
        .filter(|d| d.licensed_at.is_some())
        .count();
    assert_eq!(holding, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_devices_race_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    a_thousand_devices_race_for_five_hundred(&DbSpec::Sqlite(data.path().join("plant.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_devices_race_on_postgres() {
    let pg = PgCluster::start();
    let spec = DbSpec::parse(&pg.create_database("plant")).unwrap();
    a_thousand_devices_race_for_five_hundred(&spec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_reallocating_at_once_on_postgres() {
    let pg = PgCluster::start();
    let spec = DbSpec::parse(&pg.create_database("plant")).unwrap();
    let (site, alice, _home) = licensed(3, &spec).await;
    let home = tempfile::tempdir().unwrap();
    let bob = workstation_with(&site, &home, &spec, SecretStore::memory()).await;
    let now = Utc::now();
    alice
        .allocations()
        .save(None, &[group("Designers", GroupKind::Role, "")], None, now)
        .await
        .unwrap();
    let seen = bob.allocations().book().await.unwrap().version.number;

    // Both start from the same version; both saves race.
    let six = [allocate("connections", "Designers", Share::Fixed(6))];
    let eight = [allocate("connections", "Designers", Share::Fixed(8))];
    let (a, b) = tokio::join!(
        alice.allocations().save(Some(seen), &six, None, now),
        bob.allocations().save(Some(seen), &eight, None, now),
    );
    let (won, lost) = match (a, b) {
        (Ok(book), Err(e)) | (Err(e), Ok(book)) => (book, e),
        other => panic!("expected exactly one save to win: {other:?}"),
    };
    let AllocationsError::Save(AllocationError::Conflict(by)) = &lost else {
        panic!("expected a conflict, got {lost:?}");
    };
    assert!(lost.to_string().contains("reload"), "{lost}");
    assert_eq!(by.number, won.version.number);
    // What stands is the winner's share, whole.
    let book = alice.allocations().book().await.unwrap();
    assert_eq!(book.plans["connections"].len(), 1);
    assert_eq!(book.version.number, seen + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_uses_its_share_of_connections_and_one_admin_connection_stays_free() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    let now = Utc::now();
    let member = |login: &str| AllocationChange::AddMember {
        group: "Designers".into(),
        login: login.into(),
    };
    ws.allocations()
        .save(
            None,
            &[
                group("Designers", GroupKind::Role, ""),
                allocate("connections", "Designers", Share::Fixed(2)),
                member("ana"),
                member("bo"),
                member("cy"),
            ],
            None,
            now,
        )
        .await
        .unwrap();
    let seats = ws.concurrent_seats();
    for login in ["ana", "bo"] {
        let answer = seats.checkout(login, "pc", now).await.unwrap();
        assert!(matches!(answer, SeatAnswer::Granted(_)), "{answer:?}");
    }
    let SeatAnswer::Refused(refusal) = seats.checkout("cy", "pc", now).await.unwrap() else {
        panic!("a third designer got a seat");
    };
    assert!(
        refusal
            .to_string()
            .starts_with("No Designers seat is free (2 of 2 in use). Try again later"),
        "{refusal}"
    );
    // Everyone else shares the other 8: fill them, and the pool is full for all.
    for n in 0..8 {
        let answer = seats.checkout(&format!("u{n}"), "pc", now).await.unwrap();
        assert!(matches!(answer, SeatAnswer::Granted(_)), "{answer:?}");
    }
    let full = seats.checkout("u9", "pc", now).await.unwrap();
    assert!(
        full.to_string()
            .contains("No seat is free (10 of 10 in use)"),
        "{full}"
    );
    // One administrative connection is still given, and only one.
    let SeatAnswer::Granted(admin) = seats.admin_checkout("dba", "db-host", now).await.unwrap()
    else {
        panic!("no administrative connection");
    };
    assert!(admin.admin);
    let second = seats.admin_checkout("dba2", "db-host", now).await.unwrap();
    assert!(matches!(second, SeatAnswer::Refused(_)), "{second:?}");
    assert_eq!(seats.sessions(now).await.unwrap().len(), 11);
}

/// Named seats split among roles on PostgreSQL: a user whose role has used its share is refused
/// with the role named, however many seats the license has left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_uses_its_share_of_named_seats_on_postgres() {
    use tenure_client::Authorization;
    use tenure_core::directory::Change;
    let pg = PgCluster::start();
    let spec = DbSpec::parse(&pg.create_database("plant")).unwrap();
    let mut terms = sample_terms("Acme");
    terms.seats = 10;
    let site = site_with(&terms).await;
    let home = tempfile::tempdir().unwrap();
    let mut ws = workstation_with(&site, &home, &spec, SecretStore::memory()).await;
    activate(&mut ws, &site).await;
    let now = Utc::now();
    let mut changes = Vec::new();
    for (i, login) in ["ana", "bo", "cy"].into_iter().enumerate() {
        changes.push(Change::Add {
            login: login.into(),
            name: String::new(),
            email: String::new(),
        });
        changes.push(Change::Assign {
            login: login.into(),
        });
        // Seats given a second apart, so the order is plain.
        ws.named_seats()
            .change_users(
                &changes,
                now + chrono::Duration::seconds(i64::try_from(i).unwrap()),
            )
            .await
            .unwrap();
        changes.clear();
    }
    ws.allocations()
        .save(
            None,
            &[
                group("Reviewers", GroupKind::Role, ""),
                allocate("users", "Reviewers", Share::Fixed(2)),
                AllocationChange::AddMember {
                    group: "Reviewers".into(),
                    login: "ana".into(),
                },
                AllocationChange::AddMember {
                    group: "Reviewers".into(),
                    login: "cy".into(),
                },
                AllocationChange::AddMember {
                    group: "Reviewers".into(),
                    login: "bo".into(),
                },
            ],
            None,
            now,
        )
        .await
        .unwrap();
    let seats = ws.named_seats();
    for login in ["ana", "bo"] {
        let answer = seats.authorize(login, now).await.unwrap();
        assert!(matches!(answer, Authorization::Granted(_)), "{answer:?}");
    }
    let cy = seats.authorize("cy", now).await.unwrap();
    assert!(
        cy.to_string()
            .contains("no Reviewers seat is free (3 of 2 in use"),
        "{cy}"
    );
}

/// A second license for 5 more connections, bought later and ending sooner, stacks on the first:
/// the pool is 15 while it lasts, and when it ends the latest share gives way. A stacked license
/// edited in the database counts for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn a_stacked_license_raises_the_pool_until_it_ends_and_then_the_latest_share_gives_way() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (site, ws, _home) = licensed(3, &spec).await;
    let now = Utc::now();
    let mut more = sample_terms("Acme");
    more.kind = SeatKind::Concurrent;
    more.seats = 5;
    more.validity.expires = now.date_naive() + chrono::Duration::days(10);
    more.quantities = vec!["connections:5:concurrent".parse().unwrap()];
    let second = site.sandbox.issue_more("acme", &more).await.unwrap();
    let api = ws.server().api(None).unwrap();
    let stacked = ws
        .allocations()
        .stack(&api, &second.key, now)
        .await
        .unwrap();
    assert_eq!(stacked.terms.seats, 5);
    // The license's own key is not a second license: refused (by the server, as a key in use,
    // or here when the account re-activates it), and nothing more is stacked.
    let again = ws.allocations().stack(&api, &site.issued.key, now).await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(
        ws.database()
            .connected()
            .unwrap()
            .stacked()
            .await
            .unwrap()
            .len(),
        1
    );

    let connections = |pools: Vec<tenure_client::Pool>| {
        pools
            .into_iter()
            .find(|p| p.quantity == "connections")
            .unwrap()
    };
    let pool = connections(ws.allocations().pools(now).await.unwrap());
    assert_eq!((pool.size, pool.grants.len()), (15, 2));
    ws.allocations()
        .save(
            None,
            &[
                group("Designers", GroupKind::Role, ""),
                group("Reviewers", GroupKind::Role, ""),
                allocate("connections", "Designers", Share::Fixed(8)),
                allocate("connections", "Reviewers", Share::Fixed(7)),
            ],
            None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        ws.allocations().validate_stacked(&api, now).await.unwrap(),
        1
    );

    // A stacked license edited in the database is refused: the pool is the license's alone,
    // until the signed text is back.
    let db = ws.database().connected().unwrap();
    let kept = db.stacked().await.unwrap();
    // One character of the signed text changed.
    sqlx::query(
        "UPDATE tenure_stacked SET armored = substr(armored, 1, 200) || \
         CASE WHEN substr(armored, 201, 1) = 'A' THEN 'B' ELSE 'A' END || substr(armored, 202)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    assert_eq!(
        connections(ws.allocations().pools(now).await.unwrap()).size,
        10
    );
    db.save_stacked(&kept[0], now).await.unwrap();
    assert_eq!(
        connections(ws.allocations().pools(now).await.unwrap()).size,
        15
    );

    // Seen at 15 (the screen or `tenure groups` records it)…
    ws.allocations().overview(now).await.unwrap();
    // Twenty days on, the stacked license has ended: 10 connections, Reviewers (later) cut.
    let later = now + chrono::Duration::days(20);
    let overview = ws.allocations().overview(later).await.unwrap();
    let view = overview
        .quantities
        .iter()
        .find(|q| q.pool.quantity == "connections")
        .unwrap();
    assert_eq!(view.pool.size, 10);
    let reviewers = view
        .lines
        .iter()
        .find(|l| l.group.as_deref() == Some("Reviewers"))
        .unwrap();
    assert_eq!((reviewers.allocated, reviewers.cut), (2, true));
    // …and the cut is written to the audit log once, by name.
    let cuts: Vec<_> = ws
        .database()
        .recent_events(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "share cut")
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        cuts,
        [
            "Reviewers now gets 2 of the 7 connections it was given: the pool is 10 now (the latest shares give way first)"
        ]
    );
    ws.allocations().overview(later).await.unwrap();
    let again = ws.database().recent_events(50).await.unwrap();
    assert_eq!(again.iter().filter(|e| e.kind == "share cut").count(), 1);
}

/// The licensee edits the product database: the license copied in as a stacked one, a plan
/// written by hand over the pool, a device id and a login no product would send. None of it
/// grants more than the vendor signed, and the odd names are refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edited_tables_never_grant_more_than_the_license() {
    let data = tempfile::tempdir().unwrap();
    let spec = DbSpec::Sqlite(data.path().join("plant.db"));
    let (_site, ws, _home) = licensed(3, &spec).await;
    let now = Utc::now();
    let db = ws.database().connected().unwrap();

    // The license itself, copied into the stacked table: still counted once.
    let license = ws.license().unwrap().unwrap();
    db.save_stacked(
        &tenure_client::product_db::StackedLicense {
            license_id: license.id.clone(),
            armored: license.text().to_owned(),
            holder_secret: "00".repeat(32),
            validated_at: license.validated_at,
        },
        now,
    )
    .await
    .unwrap();
    let pools = ws.allocations().pools(now).await.unwrap();
    let servers = pools.iter().find(|p| p.quantity == "servers").unwrap();
    assert_eq!(servers.size, 3);

    // A site given 50 servers by hand: it gets the 3 there are, and a fourth is refused.
    let assign = |id: &str| AllocationChange::AssignDevice {
        id: id.into(),
        device_type: "servers".into(),
        group: "Engine A".into(),
    };
    let ids = ["s1", "s2", "s3", "s4"];
    let mut changes = vec![group("Engine A", GroupKind::Site, "")];
    changes.extend(ids.map(assign));
    ws.allocations()
        .save(None, &changes, None, now)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tenure_allocations (quantity, group_name, share, allocated_at) \
         VALUES ('servers', 'Engine A', 50, 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let mut licensed = 0;
    for id in ids {
        let answer = ws
            .allocations()
            .register_device(id, "servers", now)
            .await
            .unwrap();
        licensed += usize::from(matches!(answer, DeviceAnswer::Licensed { .. }));
    }
    assert_eq!(licensed, 3);

    // Names no product sends are refused before they are written.
    let why = refusal(&ws, assign("pc\u{0}1"), None).await;
    assert!(why.contains("cannot be used"), "{why}");
    let member = AllocationChange::AddMember {
        group: "Engine A".into(),
        login: "ana\nbo".into(),
    };
    let why = refusal(&ws, member, None).await;
    assert!(why.contains("ana"), "{why}");
}
