//! Workstation settings: a RON file in the profile's config folder, written atomically. Holds no
//! secrets — the account token lives in the secret store.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tenure_core::Binding;

use crate::atomic::write_atomic;

/// Settings saved between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The license server's base URL.
    pub server_url: Option<String>,
    /// Vendor roots added by hand, as armored public-key files: believed by development builds
    /// only (a customer build pins its roots at build time).
    pub trusted_keys: Vec<String>,
    /// Signing-key certificates added by hand (checked against the roots at every start).
    pub certificates: Vec<String>,
    /// The latest revocation list from a vendor root.
    pub revocations: Option<String>,
    /// The binding given at activation (until it is derived from the product database).
    pub binding: Option<Binding>,
    /// The user chose, explicitly, to keep secrets in a plain file instead of the keyring.
    pub plain_file_secrets: bool,
    /// The product database (`sqlite:PATH` or a `postgres://` URL without its password).
    pub db: Option<String>,
    /// Bindings IT set by hand (`--server-name/--database`, `tenure binding`), per product
    /// database (its setting text, without a password): they replace the derived binding there.
    pub binding_overrides: std::collections::BTreeMap<String, Binding>,
}

/// Why settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Read or write failed.
    #[error("cannot {action} the settings file: {source} ({path})")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// OS error.
        source: std::io::Error,
        /// File.
        path: String,
    },
    /// The file is not valid RON.
    #[error("the settings file is damaged: {detail}. Fix or delete it ({path})")]
    Damaged {
        /// Parser message.
        detail: String,
        /// File.
        path: String,
    },
}

impl Settings {
    /// Reads settings; an absent file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ron::from_str(&text).map_err(|e| SettingsError::Damaged {
                detail: e.to_string(),
                path: path.display().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(SettingsError::Io {
                action: "read",
                source,
                path: path.display().to_string(),
            }),
        }
    }

    /// Writes settings atomically.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let text =
            ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).map_err(|e| {
                SettingsError::Io {
                    action: "write",
                    source: std::io::Error::other(e.to_string()),
                    path: path.display().to_string(),
                }
            })?;
        write_atomic(path, text.as_bytes(), false).map_err(|source| SettingsError::Io {
            action: "write",
            source,
            path: path.display().to_string(),
        })
    }
}
