//! The vendor's key commands: certify the server's signing key with the offline root, rotate it,
//! revoke one. Certificates and revocation lists are public documents kept in the data folder and
//! sent to workstations with every answer; the root's secret never enters the data folder.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use tenure_core::trust::KeyCertificate;
use tenure_core::{KeyId, VendorKey};

use crate::ServerPaths;
use crate::config::{
    CERTIFICATE_FILE, KEY_FILE, REVOCATIONS_FILE, ROOT_FILE, create_key_file,
    load_or_create_vendor_key, read_key_file, read_public_file,
};
use crate::signed_files::{certificate_for, next_revocations};

/// Writes a public file whole or not at all, owner-only like everything in the data folder.
fn write_public(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("partial");
    let _ = fs::remove_file(&temporary);
    crate::config::write_owner_only(&temporary, text)?;
    fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

pub use crate::signed_files::CertificateSpan;

fn certify_key(
    data_dir: &Path,
    root: &VendorKey,
    key: &VendorKey,
    span: CertificateSpan,
    now: DateTime<Utc>,
) -> Result<String> {
    crate::config::private_dir(data_dir)?;
    let (certificate, until) = certificate_for(root, &key.verifying_key(), span, now)?;
    write_public(&data_dir.join(CERTIFICATE_FILE), &certificate)?;
    write_public(&data_dir.join(ROOT_FILE), &root.public_key_text())?;
    Ok(format!(
        "signing key {} certified by root {} until {}, giving at most {} days of grace: restart the server to send the certificate",
        key.key_id(),
        root.key_id(),
        until.format("%Y-%m-%d"),
        span.max_grace_days
    ))
}

/// Certifies `key` with the root in `root_path`; the certificate goes into `data_dir`.
pub fn certify(
    data_dir: &Path,
    key: &VendorKey,
    root_path: &Path,
    span: CertificateSpan,
    now: DateTime<Utc>,
) -> Result<String> {
    let root = read_key_file(root_path)?;
    certify_key(data_dir, &root, key, span, now)
}

/// Sets the current signing key aside, makes a new one and certifies it.
pub fn rotate(
    data_dir: &Path,
    root_path: &Path,
    span: CertificateSpan,
    now: DateTime<Utc>,
) -> Result<String> {
    let root = read_key_file(root_path)?;
    let old = load_or_create_vendor_key(data_dir)?;
    let old_certificate = read_public_file(data_dir, CERTIFICATE_FILE)?
        .and_then(|text| KeyCertificate::read_unverified(&text).ok());
    let retired = data_dir.join(format!("{KEY_FILE}.{}.retired", old.key_id()));
    fs::rename(data_dir.join(KEY_FILE), &retired)
        .with_context(|| format!("cannot set the old key aside as {}", retired.display()))?;
    let key = create_key_file(&data_dir.join(KEY_FILE))?;
    let said = certify_key(data_dir, &root, &key, span, now)?;
    let old_licenses = old_certificate.map_or_else(
        || "Licenses it signed keep working until their next validation replaces them.".to_owned(),
        |c| {
            format!(
                "Licenses it signed keep working until their next validation replaces them, and never after {} (its certificate's end, {}, plus the {} days of grace it may give).",
                c.believed_until().format("%Y-%m-%d"),
                c.not_after.format("%Y-%m-%d"),
                c.max_grace_days
            )
        },
    );
    Ok(format!(
        "old signing key {} kept as {}; {said}. {old_licenses}",
        old.key_id(),
        retired.display()
    ))
}

/// Adds `key_id` to the root's revocation list in the data folder.
pub fn revoke(
    data_dir: &Path,
    root_path: &Path,
    key_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let root = read_key_file(root_path)?;
    let current = read_public_file(data_dir, REVOCATIONS_FILE)?;
    let (text, revoked) = next_revocations(&root, current.as_deref(), key_id, reason, now)?;
    write_public(&data_dir.join(REVOCATIONS_FILE), &text)?;
    let key_id = KeyId::from_text(key_id);
    let current = load_or_create_vendor_key(data_dir)?;
    let warning = if current.key_id() == &key_id {
        " This is the server's own signing key: rotate it now (tenure-server key rotate), or workstations refuse every answer."
    } else {
        ""
    };
    Ok(format!(
        "signing key {key_id} revoked ({revoked} keys revoked in all): restart the servers to send the list.{warning}"
    ))
}

/// Certifies the deployment's signing key (`paths`) with the root in `root_path` and records it
/// as the database's current key — if the database names none yet, or names this one;
/// another key is replaced only when `make_current` (its instances then stop signing).
pub async fn certify_deployment(
    paths: &ServerPaths,
    root_path: &Path,
    span: CertificateSpan,
    make_current: bool,
    now: DateTime<Utc>,
) -> Result<String> {
    let key = paths.signing_key()?;
    let current = paths.store().await?.current_signing_key().await?;
    if let Some((current, _)) = current
        && current != key.key_id().as_str()
        && !make_current
    {
        bail!(
            "the database's current signing key is {current}, not this one ({}): every instance on it signs with {current}. Certify that key instead (give this command its file with --signing-key-file), or run this again with --make-current to replace it — then restart every instance with this key, as those signing with {current} stop signing within a minute",
            key.key_id()
        );
    }
    let said = certify(&paths.data_dir, &key, root_path, span, now)?;
    record_current(paths, now).await?;
    Ok(said)
}

/// Rotates the data folder's signing key ([`rotate`]) and records the new one as the
/// deployment's current key: instances still signing with the old one stop within a minute,
/// until restarted with the new key.
pub async fn rotate_deployment(
    paths: &ServerPaths,
    root_path: &Path,
    span: CertificateSpan,
    now: DateTime<Utc>,
) -> Result<String> {
    if paths.signing_key_file.is_some() {
        bail!(
            "the signing key is a shared file (--signing-key-file): rotate it in a data folder (tenure-server --data-dir DIR key rotate), then give every instance the new vendor-signing.key"
        );
    }
    let said = rotate(&paths.data_dir, root_path, span, now)?;
    record_current(paths, now).await?;
    Ok(said)
}

/// Revokes `key_id` ([`revoke`]) in the deployment's data folder.
pub async fn revoke_deployment(
    paths: &ServerPaths,
    root_path: &Path,
    key_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let said = revoke(&paths.data_dir, root_path, key_id, reason, now)?;
    record_current(paths, now).await?;
    Ok(said)
}

/// The database records the deployment's current key (and its certificate), so every
/// instance signs with it.
async fn record_current(paths: &ServerPaths, now: DateTime<Utc>) -> Result<()> {
    let key = paths.signing_key()?;
    let certificate = read_public_file(&paths.data_dir, CERTIFICATE_FILE)?;
    paths
        .store()
        .await?
        .record_signing_key(key.key_id().as_str(), certificate.as_deref(), now)
        .await?;
    Ok(())
}

/// Writes a new admin token (into the deployment's token file) and records it as the one
/// every instance must share; returns where it is.
pub async fn rotate_admin_token(paths: &ServerPaths) -> Result<std::path::PathBuf> {
    crate::config::private_dir(&paths.data_dir)?;
    let path = paths.admin_token_path();
    let token = crate::config::replace_admin_token(&path)?;
    paths
        .store()
        .await?
        .set_shared_setting(
            crate::ADMIN_TOKEN_SETTING,
            &crate::admin_token_fingerprint(&token),
        )
        .await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_trust_documents;
    use tenure_core::{Trust, TrustedKeys};

    #[test]
    fn certify_rotate_and_revoke_leave_documents_the_server_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let root_path = dir.path().join("root.key");
        create_key_file(&root_path).unwrap();
        let data = dir.path().join("data");
        let now = Utc::now();
        let first = load_or_create_vendor_key(&data).unwrap();
        let span = CertificateSpan {
            days: 30,
            max_grace_days: 90,
        };
        certify(&data, &first, &root_path, span, now).unwrap();
        let (certificate, revocations) = load_trust_documents(&data, &first).unwrap();
        assert!(certificate.is_some());
        assert!(revocations.is_none());

        let said = rotate(&data, &root_path, span, now).unwrap();
        assert!(said.contains("never after"), "{said}");
        let second = load_or_create_vendor_key(&data).unwrap();
        assert_ne!(first.key_id(), second.key_id());
        // The certificate now names the new key; the old key's would stop the server.
        assert!(load_trust_documents(&data, &second).unwrap().0.is_some());
        assert!(load_trust_documents(&data, &first).is_err());

        revoke(&data, &root_path, first.key_id().as_str(), "rotated", now).unwrap();
        revoke(&data, &root_path, first.key_id().as_str(), "again", now).unwrap();
        // A mistyped key id is named as such, not blamed on the list in force.
        let typo = revoke(&data, &root_path, "not-a-key", "typo", now).unwrap_err();
        assert!(typo.to_string().contains("is not a key id"), "{typo:#}");
        let (_, revocations) = load_trust_documents(&data, &second).unwrap();
        let mut roots = TrustedKeys::new();
        roots.add(read_key_file(&root_path).unwrap().verifying_key());
        let mut trust = Trust::new(roots);
        assert!(trust.add_revocations(&revocations.unwrap()).unwrap());
        assert_eq!(trust.revocations().unwrap().keys.len(), 1);
        assert_eq!(
            trust.revocations().unwrap().serial,
            2,
            "one list per revoke"
        );
        assert!(revoke(&data, &root_path, "not-a-key", "x", now).is_err());
    }
}
