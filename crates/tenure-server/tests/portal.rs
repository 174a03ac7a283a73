//! The customer portal over real HTTP on loopback, on SQLite and PostgreSQL, with a real
//! workstation on the other side: a customer signs in with its account token, sees only its
//! licenses, uploads the workstation's offline request and imports the answer it downloads,
//! releases a license the workstation gave up and activates it elsewhere, adds a user who signs
//! in with a password, rotates its token —
//! and never reaches another account's license, nor acts without the session's CSRF token.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION, SET_COOKIE};
use tenure_client::product_db::DbSpec;
use tenure_client::{OfflineWish, Profile, Roots, SecretStore, Workstation};
use tenure_core::Status;
use tenure_server::Store;
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_testkit::PgCluster;
use web::{FORM, client, csrf_in, encoded, get, post};

pub mod web;

/// Signs `account` in with `token`.
async fn sign_in(url: &str, account: &str, token: &str) -> reqwest::Response {
    client()
        .post(format!("{url}/portal/sign-in"))
        .header(CONTENT_TYPE, FORM)
        .body(encoded(&[("account", account), ("token", token)]))
        .send()
        .await
        .unwrap()
}

/// The session cookie a response sets (`tenure_portal=…`).
fn cookie_set_by(response: &reqwest::Response) -> String {
    let set = response.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// Uploads a file as the offline page's form does: the preview page.
async fn upload(url: &str, cookie: &str, csrf: &str, text: &str) -> reqwest::Response {
    web::upload(url, "/portal/offline", cookie, csrf, text).await
}

/// The request text a preview page's form carries, as a browser sends it back (line ends
/// made `\r\n`).
fn request_in(page: &str) -> String {
    let at = page.find("name=\"request\" value=\"").unwrap() + 22;
    let escaped = page[at..].split('"').next().unwrap();
    escaped
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace('\n', "\r\n")
}

/// A workstation on its own SQLite product database, trusting the sandbox's root.
async fn workstation(sandbox: &Sandbox, dir: &std::path::Path, name: &str) -> Workstation {
    let roots = Roots::pinned_from_text(&sandbox.root_public_key()).unwrap();
    let home = dir.join(format!("{name}-home"));
    std::fs::create_dir_all(&home).unwrap();
    let mut ws = Workstation::open(Profile::at(&home), SecretStore::memory(), roots).unwrap();
    ws.connect_db(&DbSpec::Sqlite(dir.join(format!("{name}.db"))), Utc::now())
        .await
        .unwrap();
    ws
}

/// Uploads `request`, answers it from the preview, and imports the download on `ws`.
async fn answered(url: &str, cookie: &str, csrf: &str, ws: &mut Workstation, request: &str) {
    let preview = upload(url, cookie, csrf, request).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let page = preview.text().await.unwrap();
    let answer = post(
        url,
        "/portal/offline/answer",
        cookie,
        &[("csrf", csrf), ("request", &request_in(&page))],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let saved_as = answer.headers()[CONTENT_DISPOSITION].to_str().unwrap();
    assert!(saved_as.starts_with("attachment; filename=\"tenure-answer-"));
    let file = answer.bytes().await.unwrap();
    let report = ws.offline_import(&file, Utc::now()).await.unwrap();
    assert!(report.status.is_licensed(), "{:?}", report.status);
}

async fn the_portal_holds(sandbox: &Sandbox) {
    let url = sandbox.url();
    let dir = tempfile::tempdir().unwrap();
    let rig7 = sandbox.issue("rig7", &sample_terms("Rig 7")).await.unwrap();
    let other = sandbox
        .issue("other", &sample_terms("Someone else"))
        .await
        .unwrap();

    // A wrong token is refused; the right one signs in, and the cookie is locked down.
    let wrong = sign_in(&url, "rig7", "tnr_not_the_token").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let signed_in = sign_in(&url, "rig7", &rig7.account_token).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/portal"] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    let cookie = cookie_set_by(&signed_in);

    // Its licenses, and only its own.
    let page = get(&url, "/portal/licenses", &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(&rig7.license_id), "{page}");
    assert!(!page.contains(&other.license_id));
    assert!(!page.contains("Someone else"));
    let csrf = csrf_in(&page);

    // The workstation with no internet activates by a request file and the downloaded answer.
    let mut ws = workstation(sandbox, dir.path(), "rig").await;
    let activation = ws
        .offline_files()
        .offline_request(&OfflineWish::Activate(rig7.key.clone()), Utc::now())
        .await
        .unwrap();
    answered(&url, &cookie, &csrf, &mut ws, &activation).await;

    // Another account's key, or a form without the session's token, gets nothing.
    let mut stranger = workstation(sandbox, dir.path(), "stranger").await;
    let theirs = stranger
        .offline_files()
        .offline_request(&OfflineWish::Activate(other.key.clone()), Utc::now())
        .await
        .unwrap();
    let refused = post(
        &url,
        "/portal/offline/answer",
        &cookie,
        &[("csrf", &csrf), ("request", &theirs)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("no license of your account matches")
    );
    let validation = ws
        .offline_files()
        .offline_request(&OfflineWish::Validate, Utc::now())
        .await
        .unwrap();
    let forged = post(
        &url,
        "/portal/offline/answer",
        &cookie,
        &[("csrf", "forged"), ("request", &validation)],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    answered(&url, &cookie, &csrf, &mut ws, &validation).await;
    // Its usage, counted from its own licenses only.
    let page = get(&url, "/portal/licenses", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Validations per day: 1 in all"), "{page}");

    users_hold(&url, &cookie, &csrf).await;
    releasing_holds(sandbox, &cookie, &csrf, &mut ws, &mut stranger, &rig7).await;
    rotating_the_token_holds(&url, &cookie, &csrf, &rig7.account_token).await;
    let _ = stranger;
}

/// The workstation releases the license and stops; the portal frees the key, which a
/// workstation elsewhere then activates. The same release file is worth nothing twice.
async fn releasing_holds(
    sandbox: &Sandbox,
    cookie: &str,
    csrf: &str,
    ws: &mut Workstation,
    elsewhere: &mut Workstation,
    rig7: &tenure_server::sandbox::Issued,
) {
    let url = sandbox.url();
    let release = ws
        .offline_files()
        .offline_release(Utc::now())
        .await
        .unwrap();
    let stopped = ws.report(Utc::now()).unwrap().status;
    assert!(
        matches!(stopped, Status::Moved { released: true, .. }),
        "{stopped:?}"
    );
    assert!(stopped.advice().contains("released the license"));

    let preview = upload(&url, cookie, csrf, &release).await;
    let page = preview.text().await.unwrap();
    assert!(page.contains("It asks for a release"), "{page}");
    let released = post(
        &url,
        "/portal/offline/release",
        cookie,
        &[("csrf", csrf), ("request", &request_in(&page))],
    )
    .await;
    assert_eq!(released.status(), StatusCode::OK);
    let said = released.text().await.unwrap();
    assert!(said.contains("is freed from"), "{said}");
    assert!(said.contains("2 moves left"), "{said}");
    let since = Utc::now().date_naive();
    let shown = sandbox
        .vendor()
        .licenses()
        .show(&rig7.license_id, since)
        .await
        .unwrap();
    assert_eq!(shown.license.binding, None, "the key is free");

    let again = post(
        &url,
        "/portal/offline/release",
        cookie,
        &[("csrf", csrf), ("request", &release)],
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a replayed release"
    );
    assert!(again.text().await.unwrap().contains("could not prove"));

    // Elsewhere (another database), the key activates.
    let there = elsewhere
        .offline_files()
        .offline_request(&OfflineWish::Activate(rig7.key.clone()), Utc::now())
        .await
        .unwrap();
    answered(&url, cookie, csrf, elsewhere, &there).await;
}

/// Signs the account's user in with its password.
async fn sign_in_user(url: &str, account: &str, user: &str, password: &str) -> reqwest::Response {
    let form = [("account", account), ("user", user), ("password", password)];
    client()
        .post(format!("{url}/portal/sign-in-user"))
        .header(CONTENT_TYPE, FORM)
        .body(encoded(&form))
        .send()
        .await
        .unwrap()
}

/// The shown-once secret on a page (`<p class="token">…</p>`).
fn shown_once(page: &str) -> String {
    let at = page.find("class=\"token\">").unwrap() + 14;
    page[at..].split('<').next().unwrap().to_owned()
}

/// The account adds a user, who signs in with its own password, sees the licenses, may not
/// manage users nor rotate the token, and sets a new password (ending its other sessions);
/// removed, its session ends. No other account's name lets it in.
async fn users_hold(url: &str, owner: &str, owner_csrf: &str) {
    let user = "ana@rig7.example";
    let added = post(
        url,
        "/portal/users",
        owner,
        &[("csrf", owner_csrf), ("name", user)],
    )
    .await;
    assert_eq!(added.status(), StatusCode::OK);
    let first = shown_once(&added.text().await.unwrap());
    assert_eq!(first.len(), 24, "{first}");

    for (account, password) in [("rig7", "not the password"), ("other", first.as_str())] {
        let refused = sign_in_user(url, account, user, password).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{account}");
    }
    let ana = cookie_set_by(&sign_in_user(url, "rig7", user, &first).await);
    let page = get(url, "/portal/licenses", &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("ana@rig7.example (rig7)"), "who is signed in");
    let ana_csrf = csrf_in(&page);
    for (path, form) in [
        (
            "/portal/users",
            vec![("csrf", ana_csrf.as_str()), ("name", "mallory")],
        ),
        ("/portal/token", vec![("csrf", ana_csrf.as_str())]),
    ] {
        let refused = post(url, path, &ana, &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("sign in with the account's token")
        );
    }

    // A new password: the wrong current one changes nothing; the right one ends the old
    // session and gives this browser a new one.
    let other_browser = cookie_set_by(&sign_in_user(url, "rig7", user, &first).await);
    let new_password = "ana's own long password";
    let wrong = [
        ("csrf", ana_csrf.as_str()),
        ("current", "guess guess guess"),
        ("new", new_password),
    ];
    let refused = post(url, "/portal/password", &ana, &wrong).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let right = [
        ("csrf", ana_csrf.as_str()),
        ("current", first.as_str()),
        ("new", new_password),
    ];
    let set = post(url, "/portal/password", &ana, &right).await;
    assert_eq!(set.status(), StatusCode::OK);
    let ana = cookie_set_by(&set);
    assert_eq!(
        get(url, "/portal/licenses", &other_browser).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        get(url, "/portal/licenses", &ana).await.status(),
        StatusCode::OK
    );
    let old = sign_in_user(url, "rig7", user, &first).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    // Removed by the account: signed out at once.
    let removed = post(
        url,
        "/portal/users/remove",
        owner,
        &[("csrf", owner_csrf), ("name", user)],
    )
    .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(removed.text().await.unwrap().contains("No users yet."));
    assert_eq!(
        get(url, "/portal/licenses", &ana).await.status(),
        StatusCode::SEE_OTHER
    );
    let gone = sign_in_user(url, "rig7", user, new_password).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
}

/// A new token is shown once; every session started with the old one ends, the old token
/// signs in no more, the new one does.
async fn rotating_the_token_holds(url: &str, cookie: &str, csrf: &str, old_token: &str) {
    let other_browser = cookie_set_by(&sign_in(url, "rig7", old_token).await);
    let rotated = post(url, "/portal/token", cookie, &[("csrf", csrf)]).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let this_browser = cookie_set_by(&rotated);
    let new_token = shown_once(&rotated.text().await.unwrap());
    assert!(new_token.starts_with("tnr_"), "{new_token}");

    for ended in [cookie, other_browser.as_str()] {
        let answer = get(url, "/portal/licenses", ended).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()[LOCATION], "/portal/sign-in");
    }
    assert_eq!(
        get(url, "/portal/licenses", &this_browser).await.status(),
        StatusCode::OK
    );
    let old = sign_in(url, "rig7", old_token).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = sign_in(url, "rig7", &new_token).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    the_portal_holds(&sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_holds_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("tenure_portal");
    let sandbox = Sandbox::start(Store::open(&url).await.unwrap())
        .await
        .unwrap();
    the_portal_holds(&sandbox).await;
}

/// A disabled account's sessions end at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_is_signed_out() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let url = sandbox.url();
    let issued = sandbox.issue("rig7", &sample_terms("Rig 7")).await.unwrap();
    let cookie = cookie_set_by(&sign_in(&url, "rig7", &issued.account_token).await);
    assert_eq!(
        get(&url, "/portal/licenses", &cookie).await.status(),
        StatusCode::OK
    );
    sandbox.vendor().accounts().disable("rig7").await.unwrap();
    let answer = get(&url, "/portal/licenses", &cookie).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let again = sign_in(&url, "rig7", &issued.account_token).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}
