//! Tenure's workstation engine: the encrypted license cache, the secret store (OS keyring), the
//! license server client, and [`Workstation`], which the CLI and the desktop app both drive.

pub mod api;
pub mod atomic;
pub mod authorize;
pub mod cache;
pub mod checkout;
pub mod keeper;
pub mod product_db;
pub mod profile;
pub mod reports;
pub mod roots;
pub mod secrets;
pub mod settings;
pub mod users_csv;
pub mod workstation;

pub use api::{ApiClient, ApiError, Credentials};
pub use authorize::{Authorization, Grant, Reason, Refusal};
pub use checkout::{SeatAnswer, SeatRefusal};
pub use keeper::SeatKeeper;
pub use profile::Profile;
pub use roots::Roots;
pub use secrets::{SecretError, SecretStore};
pub use settings::Settings;
pub use workstation::{
    BorrowStatus, EngineError, ImportError, OfflineWish, Report, Trusted, Workstation,
};
