//! Tenure's pure domain: license keys, the license model, signed documents and their armored
//! text, bindings, the status function, seat trimming and the allocation of counted quantities.
//!
//! Nothing here does I/O or reads the clock: time and randomness come in as arguments, so every
//! rule can be tested exactly and every workstation computes the same answer.
#![warn(missing_docs)]

pub mod allocation;
pub mod armor;
pub mod binding;
pub mod directory;
pub mod key;
pub mod license;
pub mod possession;
pub mod protocol;
pub mod seats;
pub mod signed;
pub mod status;
pub mod text;
pub mod trust;
pub mod usage;

pub use allocation::{Quantity, QuantityKind};
pub use binding::{Binding, ServerContext};
pub use key::{KeyError, LicenseKey};
pub use license::{
    ActivationMode, Churn, Floating, License, LicenseTerms, Module, SeatKind, Validity,
};
pub use signed::{DocError, DocKind, KeyId, TrustedKeys, VendorKey, Verified, VerifiedLicense};
pub use status::{Grace, Status, status};
pub use trust::{KeyCertificate, Revocations, RevokedKey, Trust};
