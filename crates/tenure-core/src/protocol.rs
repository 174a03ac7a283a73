//! The JSON bodies of the license server's HTTP API, shared by the server and the client so the
//! two cannot drift apart. Every signed answer is an armored license in [`LicenseResponse`].

use serde::{Deserialize, Serialize};

use crate::binding::Binding;
use crate::license::LicenseTerms;

/// `POST /v1/activations`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivationRequest {
    /// The 13-digit license key, digits only.
    pub key: String,
    /// Where the license will be used (canonical).
    pub binding: Binding,
    /// A fresh random nonce; the signed answer echoes it.
    pub nonce: String,
    /// The public half of the workstation's new activation credential (hex): later requests
    /// prove they hold its private half.
    pub holder: String,
}

/// `POST /v1/validations`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationRequest {
    /// The license id from the signed license.
    pub license_id: String,
    /// Where the license is used now.
    pub binding: Binding,
    /// A fresh random nonce.
    pub nonce: String,
    /// The activation credential's signature over this request (hex): proof of possession.
    pub proof: String,
    /// Concurrent seats given beyond the count (under the license's overdraft) on each whole
    /// day since the last report, for the vendor's records. Absent when there were none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overdraft: Vec<OverdraftDay>,
    /// Borrowed seats an admin revoked on the license's pool (lost laptops): the vendor's
    /// server may confirm them, and its answer lists those confirmed, so the pool frees them
    /// at once instead of at the borrow's end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_borrows: Vec<RevokedBorrow>,
    /// The borrowed seat this workstation holds, if any: the answer lists it if it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowed_session: Option<String>,
}

/// A borrowed seat an admin revoked, as the pool reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedBorrow {
    /// The borrowed session's id in the pool.
    pub session_id: String,
    /// When the borrow ends.
    pub until: chrono::DateTime<chrono::Utc>,
}

/// Seats given as overdraft on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverdraftDay {
    /// The day.
    pub day: chrono::NaiveDate,
    /// Seats given beyond the count that day.
    pub grants: u32,
}

/// `POST /v1/grace-extensions` (account token required)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraceExtensionRequest {
    /// The license id.
    pub license_id: String,
    /// Where the license is used now.
    pub binding: Binding,
    /// Grace days asked for, counted from now.
    pub days: u32,
    /// A fresh random nonce.
    pub nonce: String,
    /// The activation credential's signature over this request (hex): proof of possession.
    pub proof: String,
}

/// `POST /v1/rebinds` (account token required)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebindRequest {
    /// The license id.
    pub license_id: String,
    /// The new binding.
    pub binding: Binding,
    /// Why, in a few words ("database restored to SRV2").
    pub reason: String,
    /// A fresh random nonce.
    pub nonce: String,
    /// The activation credential's signature over this request (hex): proof of possession.
    pub proof: String,
}

/// What an offline request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfflineAsk {
    /// Activate this key here.
    Activate {
        /// The 13 key digits.
        key: String,
    },
    /// Validate: restart the grace period.
    Validate {
        /// The license id.
        license_id: String,
    },
    /// Move the license here after a restore.
    Rebind {
        /// The license id.
        license_id: String,
        /// Why, in a few words.
        reason: String,
    },
    /// Extend the grace to this many days from the vendor's signing.
    Extend {
        /// The license id.
        license_id: String,
        /// Days asked for.
        days: u32,
    },
    /// Release the license from this database so its key can be activated elsewhere (the
    /// workstation stopped it when it wrote the file). Counts as a move.
    Release {
        /// The license id.
        license_id: String,
    },
}

impl OfflineAsk {
    /// "activation", "validation", … for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            OfflineAsk::Activate { .. } => "activation",
            OfflineAsk::Validate { .. } => "validation",
            OfflineAsk::Rebind { .. } => "re-validation for a new database",
            OfflineAsk::Extend { .. } => "grace extension",
            OfflineAsk::Release { .. } => "release",
        }
    }
}

/// An offline request file's content (armored as `TENURE REQUEST`, unsigned): carried to the
/// vendor by hand, answered with a signed license file that echoes the nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineRequest {
    /// What is asked.
    pub ask: OfflineAsk,
    /// Where the license is used (canonical).
    pub binding: Binding,
    /// A fresh random nonce; the workstation remembers it until the answer is imported.
    pub nonce: String,
    /// The app that made it.
    pub app_version: String,
    /// When it was made (workstation clock, informative only).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// For an activation: the public half of the new activation credential (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// For the other asks: the credential's proof over the request (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// A signed license, as armored text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseResponse {
    /// The armored, signed license, followed by its signing key's certificate.
    pub license: String,
    /// The vendor root's latest list of revoked signing keys, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocations: Option<String>,
}

/// `GET /v1/keys`: what a workstation needs to trust the server's signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeysResponse {
    /// The current signing key's id.
    pub key_id: String,
    /// Its certificate from a vendor root (armored), if it has one.
    pub certificate: Option<String>,
    /// The root's latest list of revoked signing keys, if any.
    pub revocations: Option<String>,
}

/// `POST /v1/admin/licenses`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateLicenseRequest {
    /// The owning account's name.
    pub account: String,
    /// What is sold.
    pub terms: LicenseTerms,
}

/// The answer to a license creation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateLicenseResponse {
    /// Server-side id.
    pub id: String,
    /// The 13-digit key to give the customer, formatted `1234-5678-9012-3`.
    pub key: String,
}

/// One license owned by an account (`GET /v1/account/licenses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountLicense {
    /// Server-side id.
    pub id: String,
    /// The key, formatted.
    pub key: String,
    /// What was sold.
    pub terms: LicenseTerms,
    /// Where it is bound, if activated.
    pub binding: Option<Binding>,
    /// Revoked licenses cannot be activated.
    pub revoked: bool,
    /// Moves to another database still allowed in the last 30 days (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebinds_left: Option<u32>,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable code: `not_found`, `bound_elsewhere`, ….
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// With `moved`: the server's signed notice that the license's credential was replaced
    /// (a `TENURE LICENSE MOVED` document echoing the request's nonce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// `GET /v1/health`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// Server version.
    pub version: String,
    /// The id of the key the server signs with.
    pub key_id: String,
    /// True when that key has a certificate from a vendor root.
    #[serde(default)]
    pub certified: bool,
    /// `ok` when the database takes writes, else why not (the answer is then 503).
    #[serde(default)]
    pub database: String,
    /// `ok` when this instance may sign: its key is the deployment's current one and its
    /// certificate covers today; else why not (the answer is then 503).
    #[serde(default)]
    pub signing: String,
}

/// The limits every request's fields are held to, before anything else is done with them — the
/// same the OpenAPI document states (its schemas carry these as `pattern`, `minLength`,
/// `maxLength`, `minimum`, `maximum`). Text follows [`crate::text`]'s one rule.
pub mod limits {
    /// Characters in a nonce.
    pub const NONCE_CHARS: usize = 128;
    /// Characters in a license id.
    pub const LICENSE_ID_CHARS: usize = 100;
    /// Characters in an account name.
    pub const ACCOUNT_NAME_CHARS: usize = 64;
    /// Characters in a binding's server or database name.
    pub const BINDING_NAME_CHARS: usize = 255;
    /// Characters in a reason given for a move.
    pub const REASON_CHARS: usize = 500;
    /// Characters in a customer's name.
    pub const CUSTOMER_CHARS: usize = 200;
    /// Characters in a module's name.
    pub const MODULE_NAME_CHARS: usize = 100;
    /// Characters in a quantity's name.
    pub const QUANTITY_NAME_CHARS: usize = crate::allocation::MAX_NAME_LEN;
    /// The most days of overdraft one validation may report.
    pub const OVERDRAFT_DAYS: usize = 400;
    /// The most revoked borrows one validation may report.
    pub const REVOKED_BORROWS: usize = 64;
    /// Characters in a pool session's id.
    pub const SESSION_ID_CHARS: usize = 64;
    /// The most grace days a request may ask for (the license's own cap applies after).
    pub const GRACE_REQUEST_DAYS: u32 = 36_500;
    /// A license key as sent: 13 digits, with spaces and dashes anywhere.
    pub const KEY_PATTERN: &str = r"^[ -]*(?:[0-9][ -]*){13}$";
    /// A credential's public half: 32 bytes in hex.
    pub const HOLDER_PATTERN: &str = "^[0-9a-fA-F]{64}$";
    /// A proof of possession: a 64-byte signature in hex.
    pub const PROOF_PATTERN: &str = "^[0-9a-fA-F]{128}$";
}

/// A field that breaks the limits its schema states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

impl From<crate::text::TextProblem> for FieldError {
    fn from(problem: crate::text::TextProblem) -> Self {
        Self(problem.to_string())
    }
}

/// A request body whose fields can be held to their schema's limits.
pub trait CheckFields {
    /// `Ok` when every field is within its limits.
    fn check_fields(&self) -> Result<(), FieldError>;
}

fn check_hex(field: &str, value: &str, digits: usize) -> Result<(), FieldError> {
    if value.len() == digits && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(FieldError(format!(
            "the {field} must be {digits} hex digits"
        )))
    }
}

fn check_nonce(nonce: &str) -> Result<(), FieldError> {
    Ok(crate::text::check_free_text(
        "nonce",
        nonce,
        1,
        limits::NONCE_CHARS,
    )?)
}

fn check_license_id(id: &str) -> Result<(), FieldError> {
    Ok(crate::text::check_name(
        "license id",
        id,
        limits::LICENSE_ID_CHARS,
    )?)
}

/// A key as sent: 13 digits, with spaces and dashes anywhere ([`limits::KEY_PATTERN`]). Whether
/// its check digit holds is a rule, checked after.
fn check_key_shape(key: &str) -> Result<(), FieldError> {
    let digits = key.chars().filter(char::is_ascii_digit).count();
    if digits == 13
        && key
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        Ok(())
    } else {
        Err(FieldError(
            "the key must be 13 digits (spaces and dashes may separate them)".into(),
        ))
    }
}

impl CheckFields for Binding {
    fn check_fields(&self) -> Result<(), FieldError> {
        crate::text::check_name("server name", &self.server, limits::BINDING_NAME_CHARS)?;
        crate::text::check_name("database name", &self.database, limits::BINDING_NAME_CHARS)?;
        Ok(())
    }
}

impl CheckFields for ActivationRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        check_key_shape(&self.key)?;
        self.binding.check_fields()?;
        check_nonce(&self.nonce)?;
        check_hex("activation credential", &self.holder, 64)
    }
}

impl CheckFields for ValidationRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        check_license_id(&self.license_id)?;
        self.binding.check_fields()?;
        check_nonce(&self.nonce)?;
        if self.overdraft.len() > limits::OVERDRAFT_DAYS {
            return Err(FieldError(format!(
                "an overdraft report covers at most {} days",
                limits::OVERDRAFT_DAYS
            )));
        }
        if self.revoked_borrows.len() > limits::REVOKED_BORROWS {
            return Err(FieldError(format!(
                "a validation reports at most {} revoked borrows",
                limits::REVOKED_BORROWS
            )));
        }
        for id in self
            .revoked_borrows
            .iter()
            .map(|b| &b.session_id)
            .chain(&self.borrowed_session)
        {
            crate::text::check_name("session id", id, limits::SESSION_ID_CHARS)?;
        }
        check_hex("proof", &self.proof, 128)
    }
}

impl CheckFields for GraceExtensionRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        check_license_id(&self.license_id)?;
        self.binding.check_fields()?;
        if !(1..=limits::GRACE_REQUEST_DAYS).contains(&self.days) {
            return Err(FieldError(format!(
                "the days asked for must be 1 to {}",
                limits::GRACE_REQUEST_DAYS
            )));
        }
        check_nonce(&self.nonce)?;
        check_hex("proof", &self.proof, 128)
    }
}

impl CheckFields for RebindRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        check_license_id(&self.license_id)?;
        self.binding.check_fields()?;
        crate::text::check_free_text("reason", &self.reason, 0, limits::REASON_CHARS)?;
        check_nonce(&self.nonce)?;
        check_hex("proof", &self.proof, 128)
    }
}

impl CheckFields for LicenseTerms {
    fn check_fields(&self) -> Result<(), FieldError> {
        crate::text::check_name("customer name", &self.customer, limits::CUSTOMER_CHARS)?;
        if self.grace_days == 0 {
            return Err(FieldError(
                "the grace period must be at least one day".into(),
            ));
        }
        for module in &self.modules {
            crate::text::check_name("module name", &module.name, limits::MODULE_NAME_CHARS)?;
        }
        for quantity in &self.quantities {
            if let Some(problem) = crate::allocation::name_problem(&quantity.name) {
                return Err(FieldError(problem));
            }
            if quantity.count == 0 {
                return Err(FieldError(format!(
                    "the quantity {} must count at least one",
                    quantity.name
                )));
            }
        }
        Ok(())
    }
}

impl CheckFields for CreateLicenseRequest {
    fn check_fields(&self) -> Result<(), FieldError> {
        crate::text::check_name("account name", &self.account, limits::ACCOUNT_NAME_CHARS)?;
        self.terms.check_fields()
    }
}
