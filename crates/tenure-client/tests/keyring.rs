//! The OS keyring as the workstation uses it: the real Secret Service (run the tests under
//! `scripts/with-keyring`), one connection kept for the process, entries compatible with the
//! ones the `keyring` crate wrote for earlier builds.
#![cfg(target_os = "linux")]

use tenure_client::SecretStore;

fn store(test: &str) -> SecretStore {
    let namespace = format!("keyring-test-{test}-{}", std::process::id());
    let store = SecretStore::keyring_on(&namespace, &format!("{namespace}-machine"));
    store
        .probe()
        .unwrap_or_else(|e| panic!("{e}\n{}", tenure_testkit::KEYRING_HINT));
    store
}

fn namespace(store: &SecretStore) -> String {
    match store {
        SecretStore::Keyring { namespace, .. } => namespace.clone(),
        other => panic!("not the keyring: {other:?}"),
    }
}

#[test]
fn entries_written_by_the_keyring_crate_read_the_same_and_back() {
    let store = store("compat");
    let user = format!("{}/cache-key", namespace(&store));
    let old = keyring::Entry::new("tenure", &user).unwrap();
    old.set_password("written by an earlier build").unwrap();
    assert_eq!(
        store.get("cache-key").unwrap().as_deref(),
        Some("written by an earlier build")
    );

    // Written now, read by the crate: the same one entry, replaced, not a second one.
    store.set("cache-key", "written now").unwrap();
    assert_eq!(old.get_password().unwrap(), "written now");

    // A new entry is one the crate finds.
    store.set("credentials", "token").unwrap();
    let fresh = keyring::Entry::new("tenure", &format!("{}/credentials", namespace(&store)));
    assert_eq!(fresh.unwrap().get_password().unwrap(), "token");

    store.delete("cache-key").unwrap();
    assert!(matches!(old.get_password(), Err(keyring::Error::NoEntry)));
    assert_eq!(store.get("cache-key").unwrap(), None);
    // Deleting what is not there is no error.
    store.delete("cache-key").unwrap();
    store.delete("credentials").unwrap();
}

#[test]
fn machine_entries_are_shared_and_apart_from_the_profile() {
    let store = store("machine");
    store.set_machine("clock-mark", "m").unwrap();
    store.set("clock-mark", "p").unwrap();
    assert_eq!(
        store.get_machine("clock-mark").unwrap().as_deref(),
        Some("m")
    );
    assert_eq!(store.get("clock-mark").unwrap().as_deref(), Some("p"));
    store.delete_machine("clock-mark").unwrap();
    assert_eq!(store.get_machine("clock-mark").unwrap(), None);
    assert_eq!(store.get("clock-mark").unwrap().as_deref(), Some("p"));
    store.delete("clock-mark").unwrap();
}

#[test]
fn many_threads_share_the_one_connection() {
    let store = store("threads");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::Builder::new()
                .spawn(move || {
                    for round in 0..10 {
                        let name = format!("t{t}");
                        let value = format!("{t}-{round}");
                        store.set(&name, &value).unwrap();
                        assert_eq!(store.get(&name).unwrap(), Some(value));
                    }
                })
                .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    for t in 0..8 {
        assert_eq!(store.get(&format!("t{t}")).unwrap(), Some(format!("{t}-9")));
        store.delete(&format!("t{t}")).unwrap();
    }
}

#[test]
fn a_call_from_inside_a_tokio_runtime_is_answered() {
    // The GUI worker and the CLI call from tokio; the keyring's own runtime must not nest.
    let store = store("tokio");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let read = runtime.block_on(async {
        store.set("inside", "yes").unwrap();
        store.get("inside").unwrap()
    });
    assert_eq!(read.as_deref(), Some("yes"));
    store.delete("inside").unwrap();
}

#[test]
fn reads_sent_ahead_answer_once_and_never_outlive_a_write() {
    let store = store("ahead");
    store.set("cache-key", "k1").unwrap();
    store.set_machine("clock-mark", "m1").unwrap();
    // Read together on the keyring thread, as a start does; answered in any order after.
    store.read_ahead(&["cache-key", "missing"], &["clock-mark"]);
    assert_eq!(
        store.get_machine("clock-mark").unwrap().as_deref(),
        Some("m1")
    );
    assert_eq!(store.get("missing").unwrap(), None);
    assert_eq!(store.get("cache-key").unwrap().as_deref(), Some("k1"));

    // A write by this process after the read was sent: the read is not used.
    store.read_ahead(&["cache-key"], &[]);
    store.set("cache-key", "k2").unwrap();
    assert_eq!(store.get("cache-key").unwrap().as_deref(), Some("k2"));
    store.read_ahead(&["cache-key"], &[]);
    store.delete("cache-key").unwrap();
    assert_eq!(store.get("cache-key").unwrap(), None);

    // Another process's write after a read that is no longer fresh: asked again.
    store.read_ahead(&[], &["clock-mark"]);
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let user = format!("{}-machine/clock-mark", namespace(&store));
    keyring::Entry::new("tenure", &user)
        .unwrap()
        .set_password("m2")
        .unwrap();
    assert_eq!(
        store.get_machine("clock-mark").unwrap().as_deref(),
        Some("m2")
    );
    store.delete_machine("clock-mark").unwrap();
}

#[test]
fn two_entries_of_one_name_are_named_even_when_read_together() {
    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;
    let store = store("twice");
    store.set("credentials", "one").unwrap();
    // A second item under the same attributes, as a stray tool might leave.
    let user = format!("{}/credentials", namespace(&store));
    let service = SecretService::connect(EncryptionType::Plain).unwrap();
    let collection = service.get_default_collection().unwrap();
    let attributes = std::collections::HashMap::from([
        ("service", "tenure"),
        ("username", user.as_str()),
        ("target", "default"),
    ]);
    collection
        .create_item("stray", attributes, b"two", false, "text/plain")
        .unwrap();
    store.read_ahead(&["credentials", "other"], &[]);
    let e = store.get("credentials").unwrap_err().to_string();
    assert!(e.contains("holds 2 entries"), "{e}");
    assert!(e.contains("delete all but one"), "{e}");
    assert_eq!(store.get("other").unwrap(), None);
    store.delete("credentials").unwrap();
    assert_eq!(store.get("credentials").unwrap(), None);
}

// The macOS and Windows backend (`secrets/native.rs`, through the `keyring` crate) is built
// only there; here it runs against the same crate's Secret Service backend, so its logic is
// tested on this machine too.
#[path = "../src/secrets/request.rs"]
#[expect(dead_code, reason = "the backend uses part of it")]
mod request;

#[path = "../src/secrets/native.rs"]
mod native;

#[test]
fn the_other_platforms_backend_sets_reads_and_deletes_an_entry() {
    use request::{Op, Outcome};
    let user = format!("keyring-test-native-{}/entry", std::process::id());
    let mut backend = native::Backend;
    let read = |backend: &mut native::Backend| match backend.run(&user, &Op::Get) {
        Ok(Outcome::Value(value)) => value,
        other => panic!("a value, not {other:?}"),
    };
    assert_eq!(read(&mut backend), None);
    assert!(matches!(
        backend.run(&user, &Op::Set("kept".into())),
        Ok(Outcome::Done)
    ));
    assert_eq!(read(&mut backend).as_deref(), Some("kept"));
    // Reads in a row are each left to `run` there.
    assert!(
        backend
            .get_many(&[&user, &user])
            .iter()
            .all(Option::is_none)
    );
    assert!(matches!(backend.run(&user, &Op::Delete), Ok(Outcome::Done)));
    assert!(matches!(backend.run(&user, &Op::Delete), Ok(Outcome::Done)));
    assert_eq!(read(&mut backend), None);
}
