//! Where the server keeps its files, and the secrets it makes on first start: the vendor signing
//! key and the admin token, each in an owner-only (0600) file in the data folder.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use tenure_core::VendorKey;

/// File name of the vendor signing key inside the data folder.
pub const KEY_FILE: &str = "vendor-signing.key";
/// File name of the admin token inside the data folder.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// File name of the signing key's certificate from a vendor root (public).
pub const CERTIFICATE_FILE: &str = "vendor-signing.cert";
/// File name of the root's list of revoked signing keys (public).
pub const REVOCATIONS_FILE: &str = "key-revocations.txt";
/// File name of the secret license keys are hashed with.
pub const KEY_HASH_SECRET_FILE: &str = "license-keys.secret";
/// File name of the root public key that certified the signing key (public).
pub const ROOT_FILE: &str = "vendor-root.pub";

/// The server's default data folder (`~/.local/share/tenure-server` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "tenure-server").map_or_else(
        || PathBuf::from("tenure-server-data"),
        |d| d.data_dir().to_path_buf(),
    )
}

/// Writes a new file readable by its owner only; refuses to overwrite.
pub fn write_owner_only(path: &Path, contents: &str) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{} is readable by other users: run chmod 600 on it",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads a key file (64 hex digits: a signing key or a root key).
pub fn read_key_file(path: &Path) -> Result<VendorKey> {
    warn_if_readable_by_others(path);
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let Some(secret) = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
    else {
        bail!(
            "the key file is damaged (expected 64 hex digits); restore it from backup ({})",
            path.display()
        );
    };
    Ok(VendorKey::from_secret(secret))
}

/// A new random key, written owner-only to `path` (which must not exist).
pub fn create_key_file(path: &Path) -> Result<VendorKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).context("the operating system gave no randomness")?;
    write_owner_only(path, &format!("{}\n", hex::encode(secret)))?;
    Ok(VendorKey::from_secret(secret))
}

/// Creates the data folder if needed, owner-only (0700): it holds the signing key.
pub fn private_dir(data_dir: &Path) -> Result<()> {
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} owner-only", data_dir.display()))?;
    }
    Ok(())
}

/// Loads the vendor key from `data_dir`, creating it on first start.
pub fn load_or_create_vendor_key(data_dir: &Path) -> Result<VendorKey> {
    private_dir(data_dir)?;
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        return read_key_file(&path);
    }
    let key = create_key_file(&path)?;
    tracing::info!(key_id = %key.key_id(), "created a new vendor signing key in {}", path.display());
    Ok(key)
}

/// A public document kept in the data folder (certificate, revocations), if present.
pub fn read_public_file(data_dir: &Path, name: &str) -> Result<Option<String>> {
    let path = data_dir.join(name);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Reads an admin token file (a mounted secret every instance shares).
pub fn read_admin_token(path: &Path) -> Result<String> {
    warn_if_readable_by_others(path);
    let token = fs::read_to_string(path)?.trim().to_owned();
    if token.len() < 32 {
        bail!(
            "the admin token file holds no token of at least 32 characters: make one with `tenure-server admin-token rotate --output FILE`"
        );
    }
    Ok(token)
}

/// A new random admin token.
pub fn new_admin_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).context("the operating system gave no randomness")?;
    Ok(format!("tadm_{}", hex::encode(bytes)))
}

/// Replaces the admin token in `path` with a new one, written whole or not at all
/// (owner-only); returns it.
pub fn replace_admin_token(path: &Path) -> Result<String> {
    let token = new_admin_token()?;
    let partial = path.with_extension("partial");
    let _ = fs::remove_file(&partial);
    write_owner_only(&partial, &format!("{token}\n"))?;
    fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}

/// Loads the admin token from `data_dir` (creating it on first start) and returns it.
pub fn load_or_create_admin_token(data_dir: &Path) -> Result<String> {
    private_dir(data_dir)?;
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if path.exists() {
        warn_if_readable_by_others(&path);
        let token = fs::read_to_string(&path)
            .with_context(|| format!("cannot read the admin token {}", path.display()))?;
        return Ok(token.trim().to_owned());
    }
    let token = new_admin_token()?;
    write_owner_only(&path, &format!("{token}\n"))?;
    tracing::info!("created a new admin token in {}", path.display());
    Ok(token)
}

/// The signing key's certificate and the root's revocations from `data_dir`, checked against
/// the root public key kept beside them: a certificate for another key, or one the root did not
/// sign, stops the server instead of sending answers every workstation refuses.
pub fn load_trust_documents(
    data_dir: &Path,
    key: &VendorKey,
) -> Result<(Option<String>, Option<String>)> {
    let certificate = read_public_file(data_dir, CERTIFICATE_FILE)?;
    let revocations = read_public_file(data_dir, REVOCATIONS_FILE)?;
    let Some(certificate) = certificate else {
        return Ok((None, revocations));
    };
    let root_text = read_public_file(data_dir, ROOT_FILE)?.with_context(|| {
        format!(
            "{} is missing beside {CERTIFICATE_FILE}: run `tenure-server key certify` again",
            data_dir.join(ROOT_FILE).display()
        )
    })?;
    let mut roots = tenure_core::TrustedKeys::new();
    roots.add_public_key_text(&root_text).with_context(|| {
        format!(
            "{} is not a root public key",
            data_dir.join(ROOT_FILE).display()
        )
    })?;
    let mut trust = tenure_core::Trust::new(roots);
    if let Some(list) = &revocations {
        trust
            .add_revocations(list)
            .with_context(|| format!("{REVOCATIONS_FILE} was refused"))?;
    }
    let certified = trust
        .add_certificate(&certificate)
        .with_context(|| format!("the certificate {CERTIFICATE_FILE} was refused"))?;
    if &certified != key.key_id() {
        bail!(
            "the certificate in {} is for key {certified}, but this server signs with key {}: certify this key (tenure-server key certify --root ROOT.key)",
            data_dir.join(CERTIFICATE_FILE).display(),
            key.key_id()
        );
    }
    Ok((Some(certificate), revocations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_made_once_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_vendor_key(dir.path()).unwrap();
        let again = load_or_create_vendor_key(dir.path()).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_key_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "not hex").unwrap();
        let err = load_or_create_vendor_key(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("damaged"));
        assert_eq!(
            fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(),
            "not hex"
        );
    }
}
