//! Demo mode: a real license server in-process on 127.0.0.1 with a fresh SQLite store in a demo
//! folder under the OS data dir, a demo account and license, and a workstation profile of its own
//! that trusts the demo vendor key and is activated — so everything in the window works exactly
//! as against a real server.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{Duration, Utc};
use tenure_client::product_db::DbSpec;
use tenure_client::{Credentials, Profile, SecretStore, Workstation};
use tenure_core::directory::Change;
use tenure_core::{LicenseTerms, Module, Validity};
use tenure_server::sandbox::{Sandbox, sample_terms};

/// A running demo.
pub struct Demo {
    /// The demo workstation, activated.
    pub workstation: Workstation,
    /// What the banner says.
    pub banner: String,
}

struct DemoServer {
    url: String,
    public_key: String,
    key: String,
    token: String,
}

/// The demo folder: `<OS data dir>/tenure/demo`.
pub fn demo_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "tenure").map_or_else(
        || PathBuf::from(".tenure-demo"),
        |d| d.data_dir().join("demo"),
    )
}

/// `TENURE_DEMO_SEATS=concurrent` shows a concurrent license (5 seats) instead of named users.
fn concurrent_demo() -> bool {
    std::env::var("TENURE_DEMO_SEATS").is_ok_and(|v| v == "concurrent")
}

fn demo_terms() -> LicenseTerms {
    let mut terms = sample_terms("Demo Offshore Drilling Ltd");
    if concurrent_demo() {
        terms.kind = tenure_core::SeatKind::Concurrent;
        terms.seats = 5;
    }
    // One license counting people and devices: the Allocations screen splits them.
    let seats = tenure_core::Quantity {
        name: tenure_core::license::seats_quantity_name(terms.kind).to_owned(),
        kind: terms.kind.into(),
        count: terms.seats,
    };
    terms.quantities = vec![seats];
    terms.quantities.extend(
        ["devices:120:device", "mobile:30:device", "servers:3:device"]
            .iter()
            .filter_map(|q| q.parse().ok()),
    );
    let validity = terms.validity;
    terms.modules = vec![
        Module {
            name: "Inspect".into(),
            validity,
        },
        Module {
            name: "Reports".into(),
            validity: Validity {
                starts: validity.starts,
                expires: Utc::now().date_naive() + Duration::days(180),
            },
        },
    ];
    terms
}

/// Users in the demo's product database (`TENURE_DEMO_USERS` overrides, e.g. 10000).
const DEMO_USERS: usize = 36;

/// A crew list of `count` users, and a month of seats given and taken back, as (days ago,
/// changes): seven seats are held at the end.
pub fn demo_users(count: usize) -> Vec<(i64, Vec<Change>)> {
    const FIRST: [&str; 12] = [
        "Ana", "Bo", "Chidi", "Dagny", "Emeka", "Freya", "Goran", "Hana", "Ines", "Jonas", "Kari",
        "Lars",
    ];
    const LAST: [&str; 9] = [
        "Lima", "Chen", "Okafor", "Berg", "Nwosu", "Hansen", "Petrov", "Sato", "Moreau",
    ];
    let mut added = Vec::with_capacity(count);
    let mut logins = Vec::with_capacity(count);
    for i in 0..count {
        let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
        let round = i / (FIRST.len() * LAST.len());
        let login = if round == 0 {
            format!("{}.{}", first.to_lowercase(), last.to_lowercase())
        } else {
            format!("{}.{}{round}", first.to_lowercase(), last.to_lowercase())
        };
        added.push(Change::Add {
            email: format!("{login}@demo-offshore.example"),
            name: format!("{first} {last}"),
            login: login.clone(),
        });
        logins.push(login);
    }
    let assign = |range: std::ops::Range<usize>| -> Vec<Change> {
        logins
            .iter()
            .skip(range.start)
            .take(range.len())
            .map(|login| Change::Assign {
                login: login.clone(),
            })
            .collect()
    };
    let mut steps = vec![(30, added), (30, assign(0..4)), (21, assign(4..7))];
    if let Some(login) = logins.get(2) {
        steps.push((
            12,
            vec![Change::Unassign {
                login: login.clone(),
            }],
        ));
    }
    steps.push((5, assign(7..8)));
    steps
}

/// Two weeks of concurrent sessions (busy mornings, a few refusals), and three seats held now.
async fn demo_sessions(workstation: &Workstation) -> Result<()> {
    use tenure_client::product_db::{Checkout, CheckoutRequest};
    let db = workstation
        .database()
        .connected()
        .context("the demo database is not connected")?;
    let crew = ["ana", "bo", "chidi", "dagny", "emeka", "freya", "goran"];
    let now = Utc::now();
    for day in (1..=14).rev() {
        let morning = now - Duration::days(day) - Duration::hours(6);
        let wanted = 3 + usize::try_from(day % 5).unwrap_or(0);
        let mut held = Vec::new();
        for (i, login) in crew.iter().take(wanted).enumerate() {
            let at = morning + Duration::minutes(i64::try_from(i).unwrap_or(0) * 20);
            let request = CheckoutRequest {
                login,
                machine: &format!("{login}-pc"),
                seats: 5,
                overdraft: 0,
                idle_timeout_mins: 0,
                lease: Duration::hours(10),
                borrow: false,
                share: None,
                admin: false,
                wait: false,
            };
            if let Checkout::Granted(session) = db.checkout(&request, at).await? {
                held.push((session.id, at));
            }
        }
        for (i, (id, at)) in held.iter().enumerate() {
            let hours = 2 + i64::try_from(i % 4).unwrap_or(0) * 2;
            db.end_session(id, "checked in", *at + Duration::hours(hours))
                .await?;
        }
    }
    for (login, machine) in [
        ("ana", "rig-console-1"),
        ("bo", "rig-console-2"),
        ("dagny", "office-3"),
    ] {
        workstation
            .concurrent_seats()
            .checkout(login, machine, now)
            .await?;
    }
    Ok(())
}

/// Two rigs as tenants sharing the devices, roles for the crew, and devices that connected.
async fn demo_allocations(workstation: &Workstation) -> Result<()> {
    use tenure_client::product_db::{AllocationChange as C, GroupKind};
    use tenure_core::allocation::Share;
    let group = |name: &str, kind, tenant: &str| C::AddGroup {
        name: name.into(),
        kind,
        tenant: tenant.into(),
    };
    let share = |quantity: &str, group: &str, share| C::Allocate {
        quantity: quantity.into(),
        group: group.into(),
        share: Some(share),
    };
    let now = Utc::now();
    let allocations = workstation.allocations();
    allocations
        .save(
            None,
            &[
                group("Rig North", GroupKind::Tenant, ""),
                group("Rig South", GroupKind::Tenant, ""),
                group("Drill floor", GroupKind::Site, "Rig North"),
                group("Control room", GroupKind::Site, "Rig North"),
                share("devices", "Rig North", Share::Fixed(70)),
                share("devices", "Rig South", Share::Fixed(40)),
                share("devices", "Drill floor", Share::Fixed(40)),
                share("devices", "Control room", Share::Remaining),
                share("mobile", "Rig North", Share::Fixed(20)),
            ],
            None,
            now,
        )
        .await?;
    let mut assigned = Vec::new();
    for i in 0..36 {
        let (site, kind) = match i % 4 {
            0 | 1 => ("Drill floor", "devices"),
            2 => ("Control room", "devices"),
            _ => ("", "mobile"),
        };
        assigned.push(C::AssignDevice {
            id: format!("{}-{i:03}", if kind == "mobile" { "tablet" } else { "pc" }),
            device_type: kind.into(),
            group: site.into(),
        });
    }
    allocations.save(None, &assigned, None, now).await?;
    for (i, change) in assigned.iter().enumerate() {
        // Most have connected; a few wait for their first contact.
        if let C::AssignDevice {
            id, device_type, ..
        } = change
            && i % 9 != 8
        {
            allocations.register_device(id, device_type, now).await?;
        }
    }
    Ok(())
}

/// The demo's data: allocations, and a month of seat history or two weeks of sessions.
async fn seed(workstation: &Workstation) -> Result<()> {
    demo_allocations(workstation).await?;
    let count = std::env::var("TENURE_DEMO_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEMO_USERS);
    if concurrent_demo() {
        return demo_sessions(workstation).await;
    }
    // A month of seat history, so the History chart has a story to tell.
    let seats = workstation.named_seats();
    for (days_ago, changes) in demo_users(count) {
        seats
            .change_users(&changes, Utc::now() - Duration::days(days_ago))
            .await?;
    }
    Ok(())
}

/// Starts the demo server on its own thread and prepares the demo workstation.
pub fn start() -> Result<Demo> {
    let base = demo_dir();
    // A fresh demo every time: nothing from an earlier run leaks in.
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)
        .with_context(|| format!("cannot create the demo folder {}", base.display()))?;
    let server_dir = base.join("server");
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<DemoServer>>(1);
    std::thread::Builder::new()
        .name("demo-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            };
            runtime.block_on(async move {
                let started = async {
                    let sandbox = Sandbox::start_sqlite(&server_dir).await?;
                    let issued = sandbox.issue("demo-offshore", &demo_terms()).await?;
                    let server = DemoServer {
                        url: sandbox.url(),
                        public_key: sandbox.root_public_key(),
                        key: issued.key,
                        token: issued.account_token,
                    };
                    anyhow::Ok((sandbox, server))
                };
                match started.await {
                    Ok((_sandbox, server)) => {
                        let _ = tx.send(Ok(server));
                        // Serve for as long as the app runs.
                        std::future::pending::<()>().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        })?;
    let server = rx.recv().context("the demo server thread stopped")??;

    let profile = Profile::at(&base.join("workstation"));
    let keyring = SecretStore::keyring(profile.keyring_namespace());
    let (secrets, banner) = match keyring.probe() {
        Ok(()) => (
            keyring,
            format!(
                "DEMO — a demo license server runs inside this app at {}; nothing here is a real license.",
                server.url
            ),
        ),
        Err(e) => {
            eprintln!("note: {e}\nThe demo keeps its secrets in memory only.");
            (
                SecretStore::memory(),
                format!(
                    "DEMO — license server at {}. No OS keyring is running here, so secrets are kept in memory only.",
                    server.url
                ),
            )
        }
    };
    // The program's own roots, or none: a development build says so in the demo too.
    let banner = if crate::vendor_roots().is_ok_and(|r| r.is_pinned()) {
        banner
    } else {
        format!(
            "{banner} This is a development build: no vendor roots are built in, so outside the demo licenses are not protected."
        )
    };
    let roots = tenure_client::Roots::demo_from_text(&server.public_key)?;
    let mut workstation = Workstation::open(profile, secrets, roots)?;
    workstation.update_settings(|s| s.server_url = Some(server.url.clone()))?;
    workstation.server().login(&Credentials {
        account: "demo-offshore".into(),
        token: server.token.clone(),
    })?;
    // The demo's product database is a SQLite file named demo.db: the license binds to it.
    let spec = DbSpec::Sqlite(base.join("demo.db"));
    workstation.configure().choose_database(&spec)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(workstation.connect_db(&spec, Utc::now()))?;
    let binding = workstation
        .database()
        .current_binding()
        .context("the demo database gave no binding")?;
    let api = workstation.server().api(None)?;
    runtime.block_on(workstation.activate(&api, &server.key, binding, Utc::now()))?;
    runtime.block_on(seed(&workstation))?;
    Ok(Demo {
        workstation,
        banner,
    })
}
