//! A real license server in-process on a free 127.0.0.1 port, with a clock that can be moved:
//! what the desktop demo runs, and what tests run against. Everything goes through the same
//! `Vendor`, store and HTTP stack as a deployed server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Result;
use chrono::{Duration, Utc};
use tenure_core::license::DEFAULT_LEASE_SECS;
use tenure_core::protocol::CreateLicenseRequest;
use tenure_core::{ActivationMode, LicenseTerms, SeatKind, Validity, VendorKey};

use crate::{AppState, Store, Vendor};

/// An issued license: its key and the owning account's token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The 13-digit key, formatted.
    pub key: String,
    /// The account's token (secret).
    pub account_token: String,
    /// The license id.
    pub license_id: String,
}

/// A running in-process server.
pub struct Sandbox {
    addr: SocketAddr,
    vendor: Vendor,
    root: Arc<VendorKey>,
    handle: tokio::task::JoinHandle<()>,
    clock_offset_secs: Arc<AtomicI64>,
}

/// The longest grace the sandbox's signing key may give (its certificate's bound).
pub const SANDBOX_MAX_GRACE_DAYS: u32 = 365;

/// The admin token of every sandbox (it listens on loopback only).
pub const SANDBOX_ADMIN_TOKEN: &str = "sandbox-admin";

impl Sandbox {
    /// Starts a server over `store` with a fresh random root (kept in memory: the demo's and the
    /// tests' vendor) and a signing key it certifies.
    pub async fn start(store: Store) -> Result<Self> {
        Self::start_with_root(store, random_key()?).await
    }

    /// Starts a server over `store` with a fresh signing key certified by `root`: a rotated key,
    /// as a second server of the same vendor would have.
    pub async fn start_with_root(store: Store, root: VendorKey) -> Result<Self> {
        Self::start_with(store, root, AppState::new).await
    }

    /// As [`Self::start_with_root`], with the state adjusted by `state` (e.g. rate limits).
    pub async fn start_with(
        store: Store,
        root: VendorKey,
        state: impl FnOnce(Vendor, &str) -> AppState,
    ) -> Result<Self> {
        let clock_offset_secs = Arc::new(AtomicI64::new(0));
        let offset = clock_offset_secs.clone();
        let clock: crate::Clock =
            Arc::new(move || Utc::now() + Duration::seconds(offset.load(Ordering::SeqCst)));
        let signing = random_key()?;
        let now = Utc::now();
        // Ten years either side: tests move the server's clock by months.
        let certificate = root.certify(
            &signing.verifying_key(),
            now - Duration::days(3650),
            now + Duration::days(3650),
            now,
            "sandbox",
            SANDBOX_MAX_GRACE_DAYS,
        )?;
        let vendor = Vendor::new(store, signing, clock)
            .with_trust_documents(Some(certificate), None)
            .with_webhook_retry(std::time::Duration::from_millis(500));
        vendor.spawn_refusal_flush();
        crate::webhooks::spawn_delivery(&vendor);
        let (addr, handle) = crate::spawn_on_loopback(
            state(vendor.clone(), SANDBOX_ADMIN_TOKEN)
                .with_root_public(Some(root.public_key_text())),
        )
        .await?;
        Ok(Self {
            addr,
            vendor,
            root: Arc::new(root),
            handle,
            clock_offset_secs,
        })
    }

    /// Starts a server with a SQLite store in `dir`.
    pub async fn start_sqlite(dir: &std::path::Path) -> Result<Self> {
        Self::start(Store::open_sqlite_dir(dir).await?).await
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The vendor service behind the server.
    pub fn vendor(&self) -> &Vendor {
        &self.vendor
    }

    /// The root public key file's content: what a product pins.
    pub fn root_public_key(&self) -> String {
        self.root.public_key_text()
    }

    /// The root's secret key (the sandbox is the vendor too).
    pub fn root(&self) -> &VendorKey {
        &self.root
    }

    /// Moves the server's clock relative to the real one.
    pub fn set_clock_offset(&self, offset: Duration) {
        self.clock_offset_secs
            .store(offset.num_seconds(), Ordering::SeqCst);
    }

    /// Another license for an account `issue` created (its token is not shown again: empty).
    pub async fn issue_more(&self, account: &str, terms: &LicenseTerms) -> Result<Issued> {
        let created = self
            .vendor
            .licenses()
            .create(&CreateLicenseRequest {
                account: account.to_owned(),
                terms: terms.clone(),
            })
            .await?;
        Ok(Issued {
            key: created.key,
            account_token: String::new(),
            license_id: created.id,
        })
    }

    /// Creates the account (it must be new) and a license for it.
    pub async fn issue(&self, account: &str, terms: &LicenseTerms) -> Result<Issued> {
        let account_token = self.vendor.accounts().create(account).await?;
        Ok(Issued {
            account_token,
            ..self.issue_more(account, terms).await?
        })
    }

    /// Answers an offline request file as the vendor's staff would (`offline sign`).
    pub async fn answer_offline(&self, request: &str) -> Result<String> {
        Ok(self
            .vendor
            .offline()
            .answer(&crate::service::OfflineAnswer {
                request,
                reactivate: false,
            })
            .await?)
    }

    /// Stops accepting connections (as if the server went down).
    pub fn stop(&self) {
        self.handle.abort();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn random_key() -> Result<VendorKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    Ok(VendorKey::from_secret(secret))
}

/// Typical terms: named users, 10 seats, 30 days of grace (90 at most), valid from a month ago
/// for 400 days, no modules.
pub fn sample_terms(customer: &str) -> LicenseTerms {
    let today = Utc::now().date_naive();
    LicenseTerms {
        customer: customer.to_owned(),
        kind: SeatKind::Named,
        seats: 10,
        grace_days: 30,
        max_grace_days: 90,
        validity: Validity {
            starts: today - Duration::days(30),
            expires: today + Duration::days(400),
        },
        activation_mode: ActivationMode::Online,
        modules: vec![],
        max_borrow_days: 14,
        max_rebinds_per_30_days: 3,
        lease_secs: DEFAULT_LEASE_SECS,
        quantities: vec![],
        floating: tenure_core::Floating::default(),
        churn: tenure_core::Churn::default(),
    }
}
