//! The web console over real HTTP on loopback, on SQLite and PostgreSQL: sign-in, the session
//! cookie's flags, CSRF, roles, a license named `<script>` shown as text, search, revoking,
//! signing out, a stolen or made-up cookie, a guesser slowed, and a session started on one
//! instance served by another on the same database.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN, SET_COOKIE};
use tenure_server::Store;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_server::service::Role;
use tenure_testkit::PgCluster;
use web::{FORM, PASSWORD, ana_and_sam, client, csrf_in, encoded, get, post};

pub mod web;

/// Signs `name` in on `url`: the cookie to send back (`tenure_console=…`).
async fn sign_in(url: &str, name: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{url}/console/sign-in"))
        .header(CONTENT_TYPE, FORM)
        .body(encoded(&[("name", name), ("password", password)]))
        .send()
        .await
        .unwrap()
}

async fn cookie_of(url: &str, name: &str) -> String {
    let response = sign_in(url, name, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn the_console_holds(sandbox: &Sandbox) {
    let url = sandbox.url();
    let vendor = sandbox.vendor();
    ana_and_sam(vendor).await;
    let short = vendor.staff().add("tim", Role::Support, "short").await;
    assert!(short.unwrap_err().to_string().contains("at least 12"));
    let mut terms = sample_terms("<script>alert(1)</script>");
    terms.seats = 7;
    let issued = sandbox.issue("acme", &terms).await.unwrap();
    let id = issued.license_id.as_str();

    let ana = signing_in_holds(&url).await;
    listing_holds(&url, &ana, id).await;
    creating_holds(sandbox, &ana).await;
    let keys = get(&url, "/console/keys", &ana).await.text().await.unwrap();
    let key_id = vendor.key().key_id().to_string();
    assert!(
        keys.contains(&key_id) && keys.contains("Certified as"),
        "{keys}"
    );
    assert!(
        keys.contains("root certify --root root.key --public-key signing.pub"),
        "the command to run where the root is kept"
    );
    let sams_page = support_cannot_revoke(&url, id).await;
    let csrf = revoking_holds(sandbox, &ana, id, &sams_page).await;
    signing_out_holds(&url, &ana, &csrf).await;
}

/// Signs ana in after the refusals a stranger meets: her cookie.
async fn signing_in_holds(url: &str) -> String {
    let url = url.to_owned();
    // Signed out: sent to sign in.
    let response = get(&url, "/console/licenses", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/console/sign-in");
    let made_up = get(&url, "/console/licenses", "tenure_console=tcs_00ff").await;
    assert_eq!(made_up.status(), StatusCode::SEE_OTHER);

    // A wrong password, and a sign-in posted from another site, are refused.
    let wrong = sign_in(&url, "ana", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("the name or password is wrong")
    );
    let cross_site = client()
        .post(format!("{url}/console/sign-in"))
        .header(ORIGIN, "https://evil.example")
        .header(CONTENT_TYPE, FORM)
        .body(encoded(&[("name", "ana"), ("password", PASSWORD)]))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // Signed in: the cookie is HttpOnly, Secure, SameSite=Strict, for the console only.
    let response = sign_in(&url, "ana", PASSWORD).await;
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

async fn listing_holds(url: &str, ana: &str, id: &str) {
    let (url, ana) = (url.to_owned(), ana.to_owned());
    // The list shows the customer's name as text, never as markup, under a strict policy.
    let response = get(&url, "/console/licenses", &ana).await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(page.contains(id));
    let found = get(&url, "/console/licenses?q=acme", &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("1 licenses"), "{found}");
    let past = get(&url, "/console/licenses?q=ACME&page=5", &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        past.contains("1 licenses · page 5 of 1"),
        "a page past the last: {past}"
    );
    let none = get(&url, "/console/licenses?q=%25nobody", &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("0 licenses"), "{none}");
}

/// Support's view of the license page (its forms carry sam's CSRF token).
/// An admin adds a webhook from the console (its secret shown once, listed after); support
/// sees it but is offered no form.
async fn console_webhooks_hold(url: &str, ana: &str, csrf: &str) {
    let url = url.to_owned();
    let csrf = csrf.to_owned();
    let added = post(
        &url,
        "/console/webhooks",
        ana,
        &[
            ("csrf", &csrf),
            ("url", "https://hooks.example.com/tenure"),
            ("events", "license.created"),
            ("events", "license.revoked"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(added.contains("whsec_"), "{added}");
    let hooks = get(&url, "/console/webhooks", ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        hooks.contains("license.created, license.revoked"),
        "{hooks}"
    );

    let sam = cookie_of(&url, "sam").await;
    let sams_hooks = get(&url, "/console/webhooks", &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(sams_hooks.contains("hooks.example.com") && !sams_hooks.contains("Add the webhook"));
}

/// An admin extends a license and forgives its moves, each in its latest events by name; an
/// earlier day is refused; support may do neither.
async fn changing_holds(sandbox: &Sandbox, ana: &str, id: &str, csrf: &str) {
    let url = sandbox.url();
    let extend = format!("/console/licenses/{id}/extend");
    let earlier = post(
        &url,
        &extend,
        ana,
        &[("csrf", csrf), ("expires", "2030-01-01")],
    )
    .await;
    assert_eq!(earlier.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let later = post(
        &url,
        &extend,
        ana,
        &[("csrf", csrf), ("expires", "2100-01-31")],
    )
    .await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER);
    let reset = format!("/console/licenses/{id}/reset-moves");
    let forgiven = post(&url, &reset, ana, &[("csrf", csrf)]).await;
    assert_eq!(forgiven.status(), StatusCode::SEE_OTHER);
    let since = chrono::Utc::now().date_naive();
    let shown = sandbox.vendor().licenses().show(id, since).await.unwrap();
    assert_eq!(
        shown.license.terms.validity.expires.to_string(),
        "2100-01-31"
    );
    let page = get(&url, &format!("/console/licenses/{id}?said=extended"), ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Extended: its workstations"), "{page}");
    assert!(
        page.contains("from 2099-12-31 to 2100-01-31 by staff ana"),
        "{page}"
    );
    assert!(page.contains("moves forgiven by staff ana"), "{page}");

    let sam = cookie_of(&url, "sam").await;
    let sams_csrf = csrf_in(
        &get(&url, "/console/licenses", &sam)
            .await
            .text()
            .await
            .unwrap(),
    );
    let refused = post(
        &url,
        &extend,
        &sam,
        &[("csrf", &sams_csrf), ("expires", "2101-01-01")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = post(&url, &reset, &sam, &[("csrf", &sams_csrf)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// An admin creates an account (its token shown once) and a license for it (its key shown
/// once); a mistyped date is named and the form keeps what was typed; support can do neither.
async fn creating_holds(sandbox: &Sandbox, ana: &str) {
    let url = sandbox.url();
    let page = get(&url, "/console/accounts", ana)
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let created = post(
        &url,
        "/console/accounts",
        ana,
        &[("csrf", &csrf), ("name", "rig9")],
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    let created = created.text().await.unwrap();
    assert!(created.contains("Account created"), "{created}");
    assert!(created.contains("tnr_"), "the token, shown once");

    let mut license = vec![
        ("csrf", csrf.as_str()),
        ("account", "rig9"),
        ("customer", "Rig Nine"),
        ("kind", "concurrent"),
        ("seats", "12"),
        ("modules", "reporting, export"),
        ("expires", "2099-31-12"),
        ("grace_days", "20"),
    ];
    let mistyped = post(&url, "/console/licenses/new", ana, &license).await;
    let mistyped = mistyped.text().await.unwrap();
    assert!(
        mistyped.contains("the last day is a date as YYYY-MM-DD"),
        "{mistyped}"
    );
    assert!(
        mistyped.contains("value=\"Rig Nine\""),
        "what was typed is kept"
    );
    license[6] = ("expires", "2099-12-31");
    let made = post(&url, "/console/licenses/new", ana, &license).await;
    let made = made.text().await.unwrap();
    assert!(made.contains("Its key, shown only now"), "{made}");
    let listed = sandbox
        .vendor()
        .licenses()
        .list(Some("rig9"))
        .await
        .unwrap();
    let terms = &listed[0].terms;
    assert_eq!(
        (
            terms.seats,
            terms.kind,
            terms.grace_days,
            terms.max_grace_days
        ),
        (12, tenure_core::SeatKind::Concurrent, 20, 60)
    );
    assert_eq!(terms.modules.len(), 2);
    changing_holds(sandbox, ana, &listed[0].id, &csrf).await;

    console_webhooks_hold(&url, ana, &csrf).await;

    let sam = cookie_of(&url, "sam").await;
    let sams_page = get(&url, "/console/accounts", &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(!sams_page.contains("Create the account"));
    let sams_csrf = csrf_in(&sams_page);
    let refused = post(
        &url,
        "/console/accounts",
        &sam,
        &[("csrf", &sams_csrf), ("name", "rig10")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    license[0] = ("csrf", &sams_csrf);
    let refused = post(&url, "/console/licenses/new", &sam, &license).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

async fn support_cannot_revoke(url: &str, id: &str) -> String {
    let url = url.to_owned();
    // Support reads the license but cannot revoke it, even by posting the form by hand.
    let sam = cookie_of(&url, "sam").await;
    let sams_page = get(&url, &format!("/console/licenses/{id}"), &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(sams_page.contains("7 named"), "{sams_page}");
    assert!(!sams_page.contains("Revoke this license"));
    let refused = post(
        &url,
        &format!("/console/licenses/{id}/revoke"),
        &sam,
        &[("csrf", &csrf_in(&sams_page)), ("confirm", id)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("only an admin"));

    sams_page
}

/// The admin's revocation; the CSRF token of her session.
async fn revoking_holds(sandbox: &Sandbox, ana: &str, id: &str, sams_page: &str) -> String {
    let (url, vendor, ana) = (sandbox.url(), sandbox.vendor(), ana.to_owned());
    // The admin revokes: not without the session's CSRF token, not without confirming.
    let page = get(&url, &format!("/console/licenses/{id}"), &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Revoke this license"));
    let csrf = csrf_in(&page);
    let revoke = format!("/console/licenses/{id}/revoke");
    let forged = post(&url, &revoke, &ana, &[("csrf", "forged"), ("confirm", id)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let sams_token = csrf_in(sams_page);
    let borrowed = post(
        &url,
        &revoke,
        &ana,
        &[("csrf", &sams_token), ("confirm", id)],
    )
    .await;
    assert_eq!(
        borrowed.status(),
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    let unconfirmed = post(&url, &revoke, &ana, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let since = chrono::Utc::now().date_naive();
    assert!(
        !vendor
            .licenses()
            .show(id, since)
            .await
            .unwrap()
            .license
            .revoked
    );
    let done = post(&url, &revoke, &ana, &[("csrf", &csrf), ("confirm", id)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(
        vendor
            .licenses()
            .show(id, since)
            .await
            .unwrap()
            .license
            .revoked
    );
    let after = get(&url, &format!("/console/licenses/{id}?said=revoked"), &ana).await;
    assert!(
        after
            .text()
            .await
            .unwrap()
            .contains("Revoked: its workstations")
    );

    csrf
}

async fn signing_out_holds(url: &str, ana: &str, csrf: &str) {
    let (url, ana, csrf) = (url.to_owned(), ana.to_owned(), csrf.to_owned());
    // Signed out, the cookie is worth nothing, even replayed.
    let out = post(&url, "/console/sign-out", &ana, &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let replayed = get(&url, "/console/licenses", &ana).await;
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);

    // A guesser is slowed: a few tries a minute per name, then 429 even with the password.
    for _ in 0..5 {
        let _ = sign_in(&url, "sam", "guess guess guess").await;
    }
    let slowed = sign_in(&url, "sam", PASSWORD).await;
    assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    the_console_holds(&sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_holds_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_console");
    let sandbox = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    the_console_holds(&sandbox).await;
}

/// Sessions live in the database: one started on one instance is served by another behind
/// the same balancer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_session_started_on_one_instance_is_served_by_another() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_console");
    let first = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    let second = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    first
        .vendor()
        .staff()
        .add("ana", Role::Admin, PASSWORD)
        .await
        .unwrap();
    let cookie = cookie_of(&first.url(), "ana").await;
    let page = get(&second.url(), "/console/licenses", &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("ana (admin)"));
}

/// Attack: a stranger tries a new name each time, which the per-name limit never slows (and
/// each try costs the server an argon2 hash). The client address has a budget of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cycling_names_is_slowed_by_address() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let url = sandbox.url();
    // The address's burst is 20, refilled at 10 a minute while the hashes run.
    let mut refused_first = None;
    for i in 0..30 {
        let answer = sign_in(&url, &format!("stranger{i}"), "guess guess guess").await;
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            refused_first = Some((i, answer));
            break;
        }
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let (tries, slowed) = refused_first.expect("slowed within 30 tries");
    assert!(tries >= 20, "not before the burst: {tries}");
    assert!(slowed.headers().contains_key("retry-after"));
    assert!(
        slowed
            .text()
            .await
            .unwrap()
            .contains("too many sign-in attempts")
    );
    // The form itself is still served.
    let form = client()
        .get(format!("{url}/console/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
}

/// The usage page: validations and refusals per day, rolled up or not (a refusal row counts
/// the refusals it stands for, before and after the roll-up), filtered by license and outcome,
/// the log paged; support may read it; a mistyped day is named.
async fn usage_holds(sandbox: &Sandbox, store: &Store) {
    let url = sandbox.url();
    let vendor = sandbox.vendor();
    ana_and_sam(vendor).await;
    let quiet = sandbox.issue("acme", &sample_terms("Quiet")).await.unwrap();
    let busy = sandbox
        .issue_more("acme", &sample_terms("Busy"))
        .await
        .unwrap();
    let (quiet, busy) = (quiet.license_id.as_str(), busy.license_id.as_str());
    let now = vendor.now();
    let days_ago = |n: u64| now - chrono::Days::new(n);
    for _ in 0..5 {
        store
            .log_event(Some(quiet), "validation", "ok", "db1/erp", days_ago(3))
            .await
            .unwrap();
    }
    store
        .log_row(tenure_server::store::EventRow {
            license_id: Some(quiet.to_owned()),
            kind: "validation".into(),
            outcome: "refused_no_proof".into(),
            detail: "12 refused".into(),
            at: days_ago(3),
            count: 12,
        })
        .await
        .unwrap();
    for _ in 0..105 {
        store
            .log_event(Some(busy), "validation", "ok", "db2/erp", now)
            .await
            .unwrap();
    }
    // The older day is rolled up into daily counts: the chart counts it the same.
    assert_eq!(store.roll_up_events(days_ago(2)).await.unwrap(), 6);

    let sam = cookie_of(&url, "sam").await;
    let all = get(&url, "/console/usage", &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        all.contains("Validations per day: 110 in all, at most 105 in a day"),
        "{all}"
    );
    assert!(all.contains("Refusals per day: 12 in all"), "{all}");
    let quiet_only = get(&url, &format!("/console/usage?license={quiet}"), &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        quiet_only.contains("Validations per day: 5 in all"),
        "{quiet_only}"
    );
    assert!(
        quiet_only.contains(">created<") && !quiet_only.contains("refused_no_proof"),
        "its creation listed, its refusals rolled up into the day's figures"
    );

    // The log, a hundred to a page, filtered by license; the next page from the link.
    let link_to_busy = format!("href=\"/console/licenses/{busy}\"");
    let first = get(&url, &format!("/console/usage?license={busy}"), &sam)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first.matches(&link_to_busy).count(), 100);
    let older = first.split("href=\"/console/usage?").nth(1).unwrap();
    let older = older.split('"').next().unwrap().replace("&amp;", "&");
    let second = get(&url, &format!("/console/usage?{older}"), &sam)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        second.matches(&link_to_busy).count(),
        6,
        "the last five validations and its creation"
    );
    assert!(!second.contains("Older →"));
    let refused = get(&url, "/console/usage?outcome=refused", &sam)
        .await
        .text()
        .await
        .unwrap();
    assert!(!refused.contains(&link_to_busy), "only refusals: {refused}");

    let typo = get(&url, "/console/usage?from=12%2F01%2F2026", &sam).await;
    assert_eq!(typo.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(typo.text().await.unwrap().contains("YYYY-MM-DD"));
    let signed_out = get(&url, "/console/usage", "").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    usage_holds(&sandbox, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_holds_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_usage");
    let sandbox = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    usage_holds(&sandbox, &Store::open(&url).await.unwrap()).await;
}

/// Runs `tenure-server` (the real binary) with `args`, as on the root's offline machine:
/// its standard output.
fn root_machine(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenure-server"))
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// Uploads a file the root signed on the keys page.
async fn upload_signed(url: &str, cookie: &str, csrf: &str, text: &str) -> reqwest::Response {
    web::upload(url, "/console/keys", cookie, csrf, text).await
}

/// The root stays offline: an admin downloads this key's public key, the root certifies it
/// and signs a revocation list on its own machine (the real binary, no data folder), and the
/// console checks each upload against the deployment's root and records it for every
/// instance's next start. Another root's certificate, a list no newer than the one in force
/// and support's upload are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_root_signs_what_the_console_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).display().to_string();
    root_machine(&["root", "create", "-o", &file("root.key")]);
    root_machine(&["root", "create", "-o", &file("other-root.key")]);
    let root =
        tenure_server::config::read_key_file(std::path::Path::new(&file("root.key"))).unwrap();
    let db = dir.path().join("db");
    let sandbox = Sandbox::start_with_root(Store::open_sqlite_dir(&db).await.unwrap(), root)
        .await
        .unwrap();
    let store = &Store::open_sqlite_dir(&db).await.unwrap();
    let (url, vendor) = (sandbox.url(), sandbox.vendor());
    ana_and_sam(vendor).await;
    let ana = cookie_of(&url, "ana").await;
    let page = get(&url, "/console/keys", &ana).await.text().await.unwrap();
    let csrf = csrf_in(&page);

    let public = get(&url, "/console/keys/signing.pub", &ana).await;
    assert!(
        public.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    std::fs::write(file("signing.pub"), public.text().await.unwrap()).unwrap();
    for (root, name) in [
        ("other-root.key", "forged.cert"),
        ("root.key", "signing.cert"),
    ] {
        root_machine(&[
            "root",
            "certify",
            "--root",
            &file(root),
            "--public-key",
            &file("signing.pub"),
            "--days",
            "4000",
            "-o",
            &file(name),
        ]);
    }
    let forged = std::fs::read_to_string(file("forged.cert")).unwrap();
    let refused = upload_signed(&url, &ana, &csrf, &forged).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("the certificate was refused")
    );
    let certificate = std::fs::read_to_string(file("signing.cert")).unwrap();
    let sam = cookie_of(&url, "sam").await;
    let sams_csrf = csrf_in(&get(&url, "/console/keys", &sam).await.text().await.unwrap());
    let support = upload_signed(&url, &sam, &sams_csrf, &certificate).await;
    assert_eq!(support.status(), StatusCode::FORBIDDEN);
    let recorded = upload_signed(&url, &ana, &csrf, &certificate).await;
    assert_eq!(recorded.status(), StatusCode::OK);
    assert!(
        recorded
            .text()
            .await
            .unwrap()
            .contains("Recorded: a certificate for this key until")
    );
    let (key_id, in_db) = store.current_signing_key().await.unwrap().unwrap();
    assert_eq!(
        (key_id, in_db),
        (vendor.key().key_id().to_string(), Some(certificate.clone()))
    );
    let again = upload_signed(&url, &ana, &csrf, &certificate).await;
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("no later than the one in force")
    );

    revocations_are_recorded(&url, &ana, &csrf, dir.path(), store).await;
}

/// A revocation list signed offline from nothing, then one extended from the list in force;
/// the same list twice is refused, and an instance's next start sends the newest.
async fn revocations_are_recorded(
    url: &str,
    ana: &str,
    csrf: &str,
    dir: &std::path::Path,
    store: &Store,
) {
    let (url, ana, csrf) = (url.to_owned(), ana.to_owned(), csrf.to_owned());
    let file = |name: &str| dir.join(name).display().to_string();
    root_machine(&[
        "root",
        "revoke",
        "--root",
        &file("root.key"),
        "00112233aabbccdd",
        "--reason",
        "laptop stolen",
        "-o",
        &file("list1.txt"),
    ]);
    let first = std::fs::read_to_string(file("list1.txt")).unwrap();
    let recorded = upload_signed(&url, &ana, &csrf, &first).await;
    assert!(
        recorded
            .text()
            .await
            .unwrap()
            .contains("Recorded: revocation list 1, revoking 1 keys")
    );
    let again = upload_signed(&url, &ana, &csrf, &first).await;
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("not newer than the one in force")
    );
    root_machine(&[
        "root",
        "revoke",
        "--root",
        &file("root.key"),
        "--list",
        &file("list1.txt"),
        "8899aabbccddeeff",
        "-o",
        &file("list2.txt"),
    ]);
    let second = std::fs::read_to_string(file("list2.txt")).unwrap();
    let recorded = upload_signed(&url, &ana, &csrf, &second).await;
    assert!(
        recorded
            .text()
            .await
            .unwrap()
            .contains("revocation list 2, revoking 2 keys")
    );
    // What an instance sends from its next start.
    let root_public = std::fs::read_to_string(file("root.pub")).unwrap();
    let sent = tenure_server::signed_files::newest_revocations(store, Some(&root_public), None)
        .await
        .unwrap();
    assert_eq!(sent.as_deref(), Some(second.as_str()));
}
