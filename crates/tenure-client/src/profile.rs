//! Where a workstation keeps its files, and what its keyring entries are called.
//!
//! By default the OS folders (`~/.config/tenure`, `~/.local/share/tenure` on Linux). Setting
//! `TENURE_HOME` moves everything under one folder, and names the keyring entries after that
//! folder, so tests and side-by-side profiles never collide.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Environment variable that moves every file of the workstation under one folder.
pub const HOME_ENV: &str = "TENURE_HOME";

/// A workstation profile: folders and the keyring namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    config_dir: PathBuf,
    data_dir: PathBuf,
    keyring_namespace: String,
}

impl Profile {
    /// The profile from `TENURE_HOME`, or the OS default folders.
    pub fn from_env() -> Self {
        match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            Some(home) => Self::at(Path::new(&home)),
            None => Self::os_default(),
        }
    }

    /// Everything under `home`.
    pub fn at(home: &Path) -> Self {
        let home = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
        let digest = Sha256::digest(home.to_string_lossy().as_bytes());
        Self {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            keyring_namespace: format!("home-{}", &hex::encode(digest)[..12]),
        }
    }

    fn os_default() -> Self {
        match directories::ProjectDirs::from("", "", "tenure") {
            Some(dirs) => Self {
                config_dir: dirs.config_dir().to_path_buf(),
                data_dir: dirs.data_dir().to_path_buf(),
                keyring_namespace: "default".into(),
            },
            None => Self::at(Path::new(".tenure")),
        }
    }

    /// Folder for settings.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// Folder for the cache and the product database.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The settings file.
    pub fn settings_path(&self) -> PathBuf {
        self.config_dir.join("settings.ron")
    }

    /// The encrypted license cache.
    pub fn cache_path(&self) -> PathBuf {
        self.data_dir.join("license-cache.bin")
    }

    /// The plain-file secret store, used only after an explicit opt-in.
    pub fn plain_secrets_path(&self) -> PathBuf {
        self.config_dir.join("secrets-PLAIN-TEXT.ron")
    }

    /// Prefix of this profile's keyring entries.
    pub fn keyring_namespace(&self) -> &str {
        &self.keyring_namespace
    }
}
