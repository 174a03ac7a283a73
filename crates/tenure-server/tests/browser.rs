//! The console and the portal in a real browser: Debian's Chromium, headless, driven through
//! chromedriver (`fantoccini`) against a real server on loopback. Staff sign in, create an
//! account and a license, and revoke it; support finds no way to revoke; a license named
//! `<script>alert(1)</script>` shows as text and opens no dialog; a customer uploads a
//! workstation's request file and the answer the browser downloads imports on the workstation.
//! A page on another port posting a revocation with the admin's cookie but no CSRF token, and a
//! made-up session cookie, change nothing; every page fits a 360 px wide window.
//! Each main page is photographed (into `TENURE_SCREENSHOTS` when set: README's pictures).
//!
//! Needs `chromium` and `chromium-driver` (`scripts/install-deps` installs them).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use tenure_client::product_db::DbSpec;
use tenure_client::{OfflineWish, Profile, Roots, SecretStore, Workstation};
use tenure_server::sandbox::{Sandbox, sample_terms};

use web::PASSWORD;

pub mod web;

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Stops chromedriver and the Chromium it started (its own process group), even when a
    /// test failed before closing the browser.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromedriver is missing: apt-get install chromium chromium-driver (scripts/install-deps installs them)");
    let port = tenure_testkit::free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A headless Chromium whose downloads land in `downloads`.
async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,900"],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// Where this run's pictures go: `TENURE_SCREENSHOTS`, or a folder of its own.
fn pictures(fallback: &Path) -> PathBuf {
    std::env::var_os("TENURE_SCREENSHOTS").map_or_else(|| fallback.to_owned(), PathBuf::from)
}

async fn photograph(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a picture");
    std::fs::write(dir.join(format!("screenshot-{name}.png")), png).unwrap();
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Presses the button labelled `label` and waits for the page it leads to.
async fn press(client: &Client, label: &str) {
    let before = client.find(Locator::Css("html")).await.unwrap();
    press_only(client, label).await;
    gone(&before, label).await;
}

/// Follows the link `text` and waits for the page it leads to.
async fn follow(client: &Client, text: &str) {
    let before = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    gone(&before, text).await;
}

/// Waits until `before` (a page's root) was replaced by the next page's.
async fn gone(before: &fantoccini::elements::Element, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while before.text().await.is_ok() {
        assert!(Instant::now() < deadline, "{what:?} led nowhere");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses the button labelled `label` (a download: the page stays).
async fn press_only(client: &Client, label: &str) {
    let xpath = format!("//button[normalize-space()='{label}']");
    client
        .find(Locator::XPath(&xpath))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The secret a page shows once (a token, a key).
async fn shown_once(client: &Client) -> String {
    client
        .find(Locator::Css("p.token"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn page_text(client: &Client) -> String {
    client
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn sign_in_to_console(client: &Client, url: &str, name: &str) {
    client
        .goto(&format!("{url}/console/sign-in"))
        .await
        .unwrap();
    fill(client, "name", name).await;
    fill(client, "password", PASSWORD).await;
    press(client, "Sign in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_and_a_customer_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let url = sandbox.url();
    web::ana_and_sam(sandbox.vendor()).await;
    let scripted = sandbox
        .issue("acme", &sample_terms("<script>alert(1)</script>"))
        .await
        .unwrap();
    let shots = pictures(dir.path());
    std::fs::create_dir_all(&shots).unwrap();
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = start_driver();
    let client = browser(&driver, &downloads).await;

    let token = admin_creates_and_revokes(&client, &url, &shots).await;
    usage_is_charted(&client, &url, dir.path(), &shots).await;

    // The license named like a script is text, and no dialog opens.
    client
        .goto(&format!("{url}/console/licenses?q=acme"))
        .await
        .unwrap();
    assert!(
        page_text(&client)
            .await
            .contains("<script>alert(1)</script>")
    );
    assert!(client.get_alert_text().await.is_err(), "no dialog opened");
    photograph(&client, &shots, "console-licenses").await;
    press(&client, "Sign out").await;

    // Support reads a license but is offered no way to revoke it.
    sign_in_to_console(&client, &url, "sam").await;
    client
        .goto(&format!("{url}/console/licenses/{}", scripted.license_id))
        .await
        .unwrap();
    assert!(page_text(&client).await.contains("Early returns"));
    assert!(client.find(Locator::Id("confirm")).await.is_err());
    press(&client, "Sign out").await;

    customer_answers_its_own_request(&client, &sandbox, &token, dir.path(), &shots).await;
    client.close().await.unwrap();
}

/// An admin creates an account and a license for it, and revokes the license: the account's
/// token, shown once.
async fn admin_creates_and_revokes(client: &Client, url: &str, shots: &Path) -> String {
    // Staff: an admin creates an account and a license, and revokes it.
    sign_in_to_console(client, url, "ana").await;
    client
        .goto(&format!("{url}/console/accounts"))
        .await
        .unwrap();
    fill(client, "name", "rig7").await;
    press(client, "Create the account").await;
    let shown = page_text(client).await;
    assert!(shown.contains("Account created"), "{shown}");
    let token = shown_once(client).await;
    assert!(token.starts_with("tnr_"), "{token}");
    follow(client, "Create a license for rig7").await;
    fill(client, "customer", "Rig Seven").await;
    fill(client, "seats", "8").await;
    fill(client, "expires", "2099-12-31").await;
    photograph(client, shots, "console-new-license").await;
    press(client, "Create the license").await;
    let created = page_text(client).await;
    assert!(created.contains("Its key, shown only now"), "{created}");
    let key = shown_once(client).await;
    assert_eq!(key.len(), 16, "a key: {key}");
    follow(client, "Open the license").await;
    let license_url = client.current_url().await.unwrap().to_string();
    let license_id = license_url.rsplit('/').next().unwrap().to_owned();
    fill(client, "confirm", &license_id).await;
    photograph(client, shots, "console-license").await;
    press(client, "Revoke this license").await;
    assert!(
        page_text(client)
            .await
            .contains("Revoked: its workstations")
    );

    token
}

/// A month of validations and refusals (as the daily roll-up leaves them), charted on the
/// usage page; the refusals filter lists refusals only.
async fn usage_is_charted(client: &Client, url: &str, dir: &Path, shots: &Path) {
    let store = tenure_server::Store::open_sqlite_dir(dir).await.unwrap();
    let now = Utc::now();
    for day in 0..30u64 {
        let at = now - chrono::Days::new(day);
        for (outcome, count) in [("ok", 600 + 37 * (day % 7)), ("refused_no_proof", day % 5)] {
            let row = tenure_server::store::EventRow {
                license_id: None,
                kind: "validation".into(),
                outcome: outcome.into(),
                detail: format!("{count} requests"),
                at,
                count,
            };
            store.log_row(row).await.unwrap();
        }
    }
    client.goto(&format!("{url}/console/usage")).await.unwrap();
    let shown = page_text(client).await;
    assert!(shown.contains("Requests per day"), "{shown}");
    photograph(client, shots, "console-usage").await;
    client
        .find(Locator::Id("outcome"))
        .await
        .unwrap()
        .select_by_value("refused")
        .await
        .unwrap();
    press(client, "Show").await;
    let refused = page_text(client).await;
    assert!(refused.contains("refused_no_proof") && !refused.contains("600 requests"));
}

/// The customer signs in with its token, uploads the workstation's request file, and the
/// answer the browser downloads imports on the workstation.
async fn customer_answers_its_own_request(
    client: &Client,
    sandbox: &Sandbox,
    token: &str,
    dir: &Path,
    shots: &Path,
) {
    let url = sandbox.url();
    // A second license of rig7's, still in force (the first was revoked above).
    let license = sandbox
        .vendor()
        .licenses()
        .create(&tenure_core::protocol::CreateLicenseRequest {
            account: "rig7".into(),
            terms: sample_terms("Rig Seven"),
        })
        .await
        .unwrap();
    let roots = Roots::pinned_from_text(&sandbox.root_public_key()).unwrap();
    let mut ws = Workstation::open(
        Profile::at(&dir.join("rig-home")),
        SecretStore::memory(),
        roots,
    )
    .unwrap();
    ws.connect_db(&DbSpec::Sqlite(dir.join("rig.db")), Utc::now())
        .await
        .unwrap();
    let request = ws
        .offline_files()
        .offline_request(&OfflineWish::Activate(license.key.clone()), Utc::now())
        .await
        .unwrap();
    let request_file = dir.join("rig7-request.txt");
    std::fs::write(&request_file, request).unwrap();

    client.goto(&format!("{url}/portal/sign-in")).await.unwrap();
    fill(client, "account", "rig7").await;
    fill(client, "token", token).await;
    press(client, "Sign in").await;
    let licenses = page_text(client).await;
    assert!(licenses.contains(&license.id), "{licenses}");
    assert!(!licenses.contains("alert(1)"), "another account's license");
    photograph(client, shots, "portal-licenses").await;

    client.goto(&format!("{url}/portal/offline")).await.unwrap();
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(&request_file.display().to_string())
        .await
        .unwrap();
    press(client, "See what it asks").await;
    assert!(
        page_text(client)
            .await
            .contains("It asks for an activation")
    );
    photograph(client, shots, "portal-offline").await;
    press_only(client, "Sign and download the answer").await;

    let downloads = dir.join("downloads");
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let done = std::fs::read_dir(&downloads)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "txt"));
        if let Some(answer) = done {
            break answer;
        }
        assert!(Instant::now() < deadline, "the answer was not downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let report = ws
        .offline_import(&std::fs::read(&answer).unwrap(), Utc::now())
        .await
        .unwrap();
    assert!(report.status.is_licensed(), "{:?}", report.status);
}

/// An attacker's page that, once opened, posts a revocation of `id` to the console with a
/// made-up CSRF token: served on loopback at another port, so on the same site (the session
/// cookie travels with the post, and only the CSRF token can stop it). Its URL.
async fn attacker_page(console: &str, id: &str) -> String {
    let html = format!(
        "<!DOCTYPE html><html><body><form method=\"post\" action=\"{console}/console/licenses/{id}/revoke\">\
         <input type=\"hidden\" name=\"csrf\" value=\"forged\"><input type=\"hidden\" name=\"confirm\" value=\"{id}\">\
         </form><script>document.forms[0].submit()</script></body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(html) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// How far a page is wider than the window (0 or less when it fits: a vertical scroll bar
/// takes some of the window).
async fn overflow(client: &Client) -> i64 {
    let width = client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            Vec::new(),
        )
        .await
        .unwrap();
    width.as_i64().unwrap()
}

/// Attacks from a real browser — a page that posts a revocation with the admin's cookie but
/// no CSRF token, a made-up session cookie — change nothing; and every page fits a 360 px
/// wide phone without sideways scrolling (wide tables scroll in their own box).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_fail_and_pages_fit_a_phone_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_sqlite(dir.path()).await.unwrap();
    let url = sandbox.url();
    web::ana_and_sam(sandbox.vendor()).await;
    let issued = sandbox.issue("acme", &sample_terms("Acme")).await.unwrap();
    let id = issued.license_id.as_str();
    let driver = start_driver();
    let client = browser(&driver, dir.path()).await;

    sign_in_to_console(&client, &url, "ana").await;
    client.goto(&attacker_page(&url, id).await).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !client
        .current_url()
        .await
        .unwrap()
        .as_str()
        .starts_with(&url)
    {
        assert!(
            Instant::now() < deadline,
            "the attacker's form was never posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let said = page_text(&client).await;
    assert!(said.contains("Refused"), "{said}");
    let since = Utc::now().date_naive();
    let shown = sandbox.vendor().licenses().show(id, since).await.unwrap();
    assert!(!shown.license.revoked, "the forged post revoked nothing");

    // Narrow: every page fits, signed in or not.
    client.set_window_size(360, 740).await.unwrap();
    for path in [
        "/console/licenses",
        "/console/usage",
        "/console/accounts",
        "/console/keys",
    ] {
        client.goto(&format!("{url}{path}")).await.unwrap();
        let wider = overflow(&client).await;
        assert!(wider <= 0, "{path} at 360 px: {wider} px too wide");
    }
    client
        .goto(&format!("{url}/console/licenses/{id}"))
        .await
        .unwrap();
    let wider = overflow(&client).await;
    assert!(
        wider <= 0,
        "a license's page at 360 px: {wider} px too wide"
    );

    // A made-up session cookie signs no one in.
    client.delete_all_cookies().await.unwrap();
    for path in ["/portal/sign-in", "/console/sign-in"] {
        client.goto(&format!("{url}{path}")).await.unwrap();
        let wider = overflow(&client).await;
        assert!(wider <= 0, "{path} at 360 px: {wider} px too wide");
    }
    let forged = fantoccini::cookies::Cookie::parse(
        "tenure_console=tcs_00ff00ff; Path=/console; Domain=127.0.0.1; SameSite=Strict",
    )
    .unwrap();
    client.add_cookie(forged).await.unwrap();
    let held = client.get_named_cookie("tenure_console").await.unwrap();
    assert_eq!(
        held.value(),
        "tcs_00ff00ff",
        "the browser sends the made-up cookie"
    );
    client
        .goto(&format!("{url}/console/licenses"))
        .await
        .unwrap();
    let at = client.current_url().await.unwrap();
    assert!(at.as_str().ends_with("/console/sign-in"), "{at}");
    client.close().await.unwrap();
}
