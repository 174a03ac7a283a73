//! Tenure's workstation engine: the encrypted license cache, the secret store (OS keyring), the
//! license server client, and [`Workstation`], which the CLI and the desktop app both drive. A
//! product embeds it to ask whether a user may work.
//!
//! The license is bound to the product's database ([`product_db`]): connect it first, then
//! activate a key once, validate now and then (the offline grace restarts), and ask
//! [`NamedSeats::authorize`] (`workstation.named_seats().authorize(user)`) whenever a user starts work.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::Utc;
//! use tenure_client::product_db::DbSpec;
//! use tenure_client::{Authorization, Profile, Roots, SecretStore, Workstation};
//! use tenure_core::directory::Change;
//! # let dir = tempfile::tempdir()?;
//! # let server = tenure_server::sandbox::Sandbox::start_sqlite(&dir.path().join("server")).await?;
//! # let issued = server
//! #     .issue("acme", &tenure_server::sandbox::sample_terms("Acme"))
//! #     .await?;
//! # let (vendor_root, server_url, key) = (server.root_public_key(), server.url(), issued.key);
//!
//! // A product pins its vendor's root key; the OS keyring holds secrets (memory here).
//! let roots = Roots::pinned_from_text(&vendor_root)?;
//! let profile = Profile::at(dir.path());
//! let workstation = Workstation::open(profile, SecretStore::memory(), roots)?;
//!
//! // The binding (server and database name) comes from the product database itself.
//! let db = DbSpec::Sqlite(dir.path().join("product.db"));
//! let mut workstation = workstation.with_run_database(Some(db));
//! workstation.connect(Utc::now()).await?;
//! let binding = workstation.database().current_binding().ok_or("no binding")?;
//!
//! // Activate once; validate now and then: the offline grace restarts.
//! let api = workstation.server().api(Some(&server_url))?;
//! let report = workstation.activate(&api, &key, binding, Utc::now()).await?;
//! assert!(report.status.is_licensed());
//! workstation.validate(&api, Utc::now()).await?;
//!
//! // Named-user seats: give ana one, then ask as the product does.
//! let seat_for_ana = [
//!     Change::Add { login: "ana".into(), name: "Ana Lima".into(), email: String::new() },
//!     Change::Assign { login: "ana".into() },
//! ];
//! workstation.named_seats().change_users(&seat_for_ana, Utc::now()).await?;
//! match workstation.named_seats().authorize("ana", Utc::now()).await? {
//!     Authorization::Granted(_) => println!("ana may work"),
//!     Authorization::Refused(refusal) => panic!("{refusal}"),
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

// The engine's parts are private; what a product or front-end uses is re-exported below. The
// product database, the cache, seat-use reports and the users CSV are namespaces of their own.
mod api;
mod atomic;
mod authorize;
pub mod cache;
mod checkout;
pub mod embedded;
mod keeper;
pub mod product_db;
mod profile;
pub mod reports;
mod roots;
mod secrets;
mod settings;
pub mod users_csv;
mod workstation;

pub use api::{ApiClient, ApiError, Credentials};
pub use atomic::write_atomic;
pub use authorize::{Authorization, Grant, Reason, Refusal};
pub use checkout::{SeatAnswer, SeatRefusal};
pub use keeper::{SeatEvent, SeatKeeper, SeatListener, WAIT_POLL, WAIT_TROUBLE};
pub use profile::Profile;
pub use roots::Roots;
pub use secrets::{SecretError, SecretStore};
pub use settings::Settings;
pub use workstation::{
    Allocations, AllocationsError, BorrowStatus, ConcurrentSeats, ConcurrentSeatsError, Configure,
    Database, Ending, EngineError, ImportError, MAX_FUTURE_DRIFT, NamedSeats, NamedSeatsError,
    OfflineFiles, OfflineWish, Overview, Pool, QuantityView, Report, ServerAccount, ShareLine,
    Trusted, VendorKeys, Workstation, cuts_of, local_host_name,
};
