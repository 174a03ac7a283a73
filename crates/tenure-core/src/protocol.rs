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
}

impl OfflineAsk {
    /// "activation", "validation", … for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            OfflineAsk::Activate { .. } => "activation",
            OfflineAsk::Validate { .. } => "validation",
            OfflineAsk::Rebind { .. } => "re-validation for a new database",
            OfflineAsk::Extend { .. } => "grace extension",
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
}
