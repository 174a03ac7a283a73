//! A site with no network, end to end through files: the workstation exports requests, the
//! vendor answers them with the real `tenure-server offline sign` command, the workstation
//! imports the answers — activation, validation, re-validation after a restore, and a grace
//! extension — and never touches the network for an offline-only license.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step should panic loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use tenure_client::product_db::DbSpec;
use tenure_client::{EngineError, OfflineWish, Profile, SecretStore, Workstation};
use tenure_core::Status;

struct Vendor {
    dir: tempfile::TempDir,
}

impl Vendor {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tenure-server"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tenure-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `tenure-server ARGS`, which may fail.
    fn try_run(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_tenure-server"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// Signs a request file with the vendor CLI; returns the answer file.
    fn sign(&self, request: &Path) -> PathBuf {
        let answer = request.with_extension("answer");
        self.run(&[
            "offline",
            "sign",
            request.to_str().unwrap(),
            "-o",
            answer.to_str().unwrap(),
        ]);
        answer
    }
}

async fn import(ws: &mut Workstation, answer: &Path) -> tenure_client::Report {
    ws.offline_import(&std::fs::read(answer).unwrap(), Utc::now())
        .await
        .unwrap()
}

async fn request(ws: &Workstation, wish: &OfflineWish, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.request"));
    let text = ws
        .offline_files()
        .offline_request(wish, Utc::now())
        .await
        .unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_validate_move_and_extend_by_files_alone() {
    let vendor = Vendor {
        dir: tempfile::tempdir().unwrap(),
    };
    vendor.run(&["account", "create", "rig7"]);
    let created = vendor.run(&[
        "license",
        "create",
        "--account",
        "rig7",
        "--seats",
        "5",
        "--expires",
        "2099-12-31",
        "--offline",
        "--grace-days",
        "30",
        "--max-grace-days",
        "90",
    ]);
    let (_, key) = tenure_testkit::created_license(&created);
    // The vendor's offline root certifies the server's signing key; the product pins the root.
    let root_dir = tempfile::tempdir().unwrap();
    let root_key = root_dir.path().join("root.key");
    vendor.run(&["root", "create", "-o", root_key.to_str().unwrap()]);
    vendor.run(&["key", "certify", "--root", root_key.to_str().unwrap()]);
    let roots = std::fs::read_to_string(root_dir.path().join("root.pub")).unwrap();
    let roots = tenure_client::Roots::pinned_from_text(&roots).unwrap();

    let site = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut ws = Workstation::open(
        Profile::at(home.path()),
        SecretStore::memory(),
        roots.clone(),
    )
    .unwrap();
    ws.connect_db(&DbSpec::Sqlite(site.path().join("rig.db")), Utc::now())
        .await
        .unwrap();

    // Activation.
    let answer =
        vendor.sign(&request(&ws, &OfflineWish::Activate(key), site.path(), "activate").await);
    let report = import(&mut ws, &answer).await;
    assert!(
        matches!(report.status, Status::Valid(_)),
        "{:?}",
        report.status
    );
    // The same answer again is a replay.
    let again = ws
        .offline_import(&std::fs::read(&answer).unwrap(), Utc::now())
        .await;
    assert!(again.unwrap_err().to_string().contains("already imported"));

    // An offline-only license never goes to the network, whatever the settings say.
    ws.update_settings(|s| s.server_url = Some("http://127.0.0.1:9".into()))
        .unwrap();
    let api = ws.server().api(None).unwrap();
    let online = ws.validate(&api, Utc::now()).await;
    assert!(
        matches!(online, Err(EngineError::OfflineOnly)),
        "{online:?}"
    );

    // Validation, then a grace extension to 60 days.
    let answer = vendor.sign(&request(&ws, &OfflineWish::Validate, site.path(), "validate").await);
    import(&mut ws, &answer).await;
    let answer = vendor.sign(&request(&ws, &OfflineWish::Extend(60), site.path(), "extend").await);
    let report = import(&mut ws, &answer).await;
    assert_eq!(report.status.grace().map(|g| g.days_left), Some(60));

    // The database is restored under another name: the license must move by file too.
    for suffix in ["", "-wal"] {
        let from = site.path().join(format!("rig.db{suffix}"));
        if from.exists() {
            std::fs::copy(from, site.path().join(format!("rig_restored.db{suffix}"))).unwrap();
        }
    }
    let mut moved =
        Workstation::open(Profile::at(home.path()), ws.secrets().clone(), roots).unwrap();
    moved
        .connect_db(
            &DbSpec::Sqlite(site.path().join("rig_restored.db")),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        moved.report(Utc::now()).unwrap().status,
        Status::BindingMismatch { .. }
    ));
    let wish = OfflineWish::Rebind("restored after a disk failure".into());
    let answer = vendor.sign(&request(&moved, &wish, site.path(), "rebind").await);
    let report = import(&mut moved, &answer).await;
    assert!(report.status.is_licensed(), "{:?}", report.status);
    assert_eq!(report.license.unwrap().binding.database, "rig_restored");
}

/// Issue 25: the site lost its machine; staff confirmed with the account that the key may be
/// activated at the new site, and answer its activation request with `--reactivate` (the
/// stranger's refusal otherwise). The usage log records it as done by staff, and the old
/// site's next validation file is answered with the notice that the license moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_reactivate_a_key_for_a_new_site_and_the_old_one_hears_it_moved() {
    let vendor = Vendor {
        dir: tempfile::tempdir().unwrap(),
    };
    vendor.run(&["account", "create", "rig7"]);
    let created = vendor.run(&[
        "license",
        "create",
        "--account",
        "rig7",
        "--expires",
        "2099-12-31",
        "--offline",
    ]);
    let (license_id, key) = tenure_testkit::created_license(&created);
    let root_dir = tempfile::tempdir().unwrap();
    let root_key = root_dir.path().join("root.key");
    vendor.run(&["root", "create", "-o", root_key.to_str().unwrap()]);
    vendor.run(&["key", "certify", "--root", root_key.to_str().unwrap()]);
    let roots = std::fs::read_to_string(root_dir.path().join("root.pub")).unwrap();
    let roots = tenure_client::Roots::pinned_from_text(&roots).unwrap();
    let open_site = async |home: &Path, db: &Path| {
        let mut ws =
            Workstation::open(Profile::at(home), SecretStore::memory(), roots.clone()).unwrap();
        ws.connect_db(&DbSpec::Sqlite(db.to_path_buf()), Utc::now())
            .await
            .unwrap();
        ws
    };
    let (old_home, old_site) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut old = open_site(old_home.path(), &old_site.path().join("rig.db")).await;
    let wish = OfflineWish::Activate(key.clone());
    let answer = vendor.sign(&request(&old, &wish, old_site.path(), "activate").await);
    import(&mut old, &answer).await;

    let (new_home, new_site) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut new = open_site(new_home.path(), &new_site.path().join("rig2.db")).await;
    let asked = request(&new, &wish, new_site.path(), "activate").await;
    let answer = asked.with_extension("answer");
    let (asked_text, answer_text) = (asked.to_str().unwrap(), answer.to_str().unwrap());
    let refused = vendor.try_run(&["offline", "sign", asked_text, "-o", answer_text]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("cannot be activated here"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    vendor.run(&[
        "offline",
        "sign",
        "--reactivate",
        asked_text,
        "-o",
        answer_text,
    ]);
    let report = import(&mut new, &answer).await;
    assert!(report.status.is_licensed(), "{:?}", report.status);

    let answer =
        vendor.sign(&request(&old, &OfflineWish::Validate, old_site.path(), "validate").await);
    let moved = old
        .offline_import(&std::fs::read(&answer).unwrap(), Utc::now())
        .await;
    assert!(matches!(moved, Err(EngineError::Moved { .. })), "{moved:?}");
    assert!(matches!(
        old.report(Utc::now()).unwrap().status,
        Status::Moved { .. }
    ));
    let store = tenure_server::Store::open_sqlite_dir(vendor.dir.path())
        .await
        .unwrap();
    assert_eq!(
        store
            .total_events(&license_id, "activation", "ok_reactivated_by_staff")
            .await
            .unwrap(),
        1
    );
}
