//! The server over TLS (rustls, `--tls-cert/--tls-key`) and the client's TLS errors.

use tenure_client::{ApiClient, ApiError};
use tenure_server::{AppState, Store, Vendor, system_clock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_trusted_certificate_and_a_refused_one() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();

    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let vendor = Vendor::new(
        store,
        tenure_core::VendorKey::from_secret([2; 32]),
        system_clock(),
    );
    let port = tenure_testkit::free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let server = tokio::spawn(async move {
        tenure_server::serve_tls(addr, AppState::new(vendor, "admin"), &cert_path, &key_path).await
    });
    let url = format!("https://localhost:{port}");

    // Trusting the server's certificate: the health check answers over TLS.
    let trusted = ApiClient::with_options(
        &url,
        std::time::Duration::from_secs(5),
        &[cert_pem.into_bytes()],
    )
    .unwrap();
    let mut health = None;
    for _ in 0..50 {
        match trusted.health().await {
            Ok(h) => {
                health = Some(h);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert_eq!(health.expect("the TLS server answers").status, "ok");

    // Not trusting it: a TLS error that says so, not "offline".
    let untrusting = ApiClient::new(&url).unwrap();
    let err = untrusting.health().await.unwrap_err();
    assert!(matches!(err, ApiError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    server.abort();
}
