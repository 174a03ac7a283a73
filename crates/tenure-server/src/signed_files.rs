//! The files the vendor's offline root signs, carried to it and back by hand: a certificate for
//! a signing key (from that key's public key file) and the next list of revoked keys (from the
//! list in force). The root signs them on its own machine (`tenure-server root certify` /
//! `root revoke`), with no data folder or database; the console accepts what it signed.
//!
//! An accepted file is checked against the root public key the deployment was certified with
//! and recorded in the database, where every instance finds it at its next start.

use anyhow::{Result, bail};
use chrono::{DateTime, Duration, Utc};
use tenure_core::trust::{KeyCertificate, Revocations, RevokedKey};
use tenure_core::{DocKind, KeyId, Trust, TrustedKeys, VendorKey};

use crate::Vendor;
use crate::service::Denial;
use crate::store::Store;

/// How far before now a certificate starts: covers a root machine whose clock is a little
/// ahead of the servers'.
const CERTIFY_BACKDATE: Duration = Duration::days(1);

/// The database setting holding the newest revocation list accepted.
const REVOCATIONS_SETTING: &str = "root_revocations";

/// How long a certificate covers, and the longest grace its key may give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateSpan {
    /// Days from now the key may sign.
    pub days: u32,
    /// The longest offline grace the key may give: nothing it signed is believed later than
    /// the certificate's end plus this many days.
    pub max_grace_days: u32,
}

/// The root's certificate for the signing key `key`, for `span` from `now`, and its last day.
pub fn certificate_for(
    root: &VendorKey,
    key: &ed25519_dalek::VerifyingKey,
    span: CertificateSpan,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>)> {
    let key_id = KeyId::of(key);
    if &key_id == root.key_id() {
        bail!("the root and the signing key are the same key: a root only certifies");
    }
    let until = now + Duration::days(i64::from(span.days));
    let certificate = root.certify(
        key,
        now - CERTIFY_BACKDATE,
        until,
        now,
        &format!("signing key {key_id}"),
        span.max_grace_days,
    )?;
    Ok((certificate, until))
}

/// The root's next revocation list: the keys of `current` (a list this root signed, if any)
/// and `key_id`, numbered one higher. Returns it and how many keys it revokes.
pub fn next_revocations(
    root: &VendorKey,
    current: Option<&str>,
    key_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(String, usize)> {
    let key_id = KeyId::from_text(key_id);
    if key_id.as_str().len() != 16 || !key_id.as_str().bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{key_id} is not a key id: a key id is 16 hex digits (tenure-server key certify prints it)"
        );
    }
    let mut list = Revocations {
        serial: 1,
        issued_at: now,
        keys: Vec::new(),
    };
    if let Some(text) = current {
        let mut trust = Trust::new(roots_of(root));
        if trust.add_revocations(text).is_err() {
            bail!(
                "the revocation list in force was not signed by this root: give the list the deployment sends (the console's Keys page offers it; the data folder keeps it as key-revocations.txt)"
            );
        }
        if let Some(held) = trust.revocations() {
            list.keys.clone_from(&held.keys);
            // Each list is numbered one higher than the last: workstations keep the highest.
            list.serial = held.serial + 1;
            list.issued_at = now.max(held.issued_at);
        }
    }
    if !list.keys.iter().any(|k| k.key_id == key_id.as_str()) {
        list.keys.push(RevokedKey {
            key_id: key_id.to_string(),
            revoked_at: now,
            reason: reason.trim().to_owned(),
        });
    }
    Ok((root.sign(DocKind::Revocation, &list)?, list.keys.len()))
}

fn roots_of(root: &VendorKey) -> TrustedKeys {
    let mut roots = TrustedKeys::new();
    roots.add(root.verifying_key());
    roots
}

/// What the console accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A new certificate for this deployment's signing key, to its last day.
    Certificate {
        /// Its last day.
        until: DateTime<Utc>,
        /// The longest grace it lets the key give.
        max_grace_days: u32,
    },
    /// A newer revocation list.
    Revocations {
        /// Its number.
        serial: u64,
        /// How many keys it revokes.
        keys: usize,
        /// It revokes the deployment's own signing key.
        revokes_own_key: bool,
    },
}

/// Checks a file the root signed (`text`: a certificate or a revocation list) against
/// `root_public` (the root public key file the deployment was certified with) and records it
/// in the database, in the usage log as done `by`. A certificate must be for this deployment's
/// signing key and end later than the one in force; a list must supersede the one in force.
pub async fn accept(
    vendor: &Vendor,
    root_public: &str,
    text: &str,
    by: &str,
) -> Result<Accepted, Denial> {
    let accepted = check_and_record(vendor, root_public, text).await?;
    let what = match &accepted {
        Accepted::Certificate { until, .. } => {
            format!("certificate until {} by {by}", until.format("%Y-%m-%d"))
        }
        Accepted::Revocations { serial, .. } => format!("revocation list {serial} by {by}"),
    };
    vendor
        .record(None, "key", "signed_file_recorded", &what)
        .await;
    Ok(accepted)
}

async fn check_and_record(
    vendor: &Vendor,
    root_public: &str,
    text: &str,
) -> Result<Accepted, Denial> {
    let invalid = |why: String| Denial::Invalid(why);
    let mut roots = TrustedKeys::new();
    roots
        .add_public_key_text(root_public)
        .map_err(|e| Denial::Internal(format!("the deployment's root public key: {e}")))?;
    let mut trust = Trust::new(roots);
    // The lists in force (this instance's, and one accepted since on any instance); one this
    // root did not sign is left out of the check, not trusted.
    let recorded = vendor.store().shared_setting(REVOCATIONS_SETTING).await?;
    for list in [vendor.revocations(), recorded.as_deref()]
        .into_iter()
        .flatten()
    {
        let _ = trust.add_revocations(list);
    }
    let kind = tenure_core::armor::Armored::parse(text)
        .map(|armored| armored.kind)
        .map_err(|e| invalid(format!("this is not a file the root signed ({e}): upload the certificate or revocation list `tenure-server root …` wrote")))?;
    let now = vendor.now();
    match kind {
        DocKind::Certificate => {
            let certified = trust
                .add_certificate(text)
                .map_err(|e| invalid(format!("the certificate was refused: {e}")))?;
            let mine = vendor.key().key_id();
            if &certified != mine {
                return Err(invalid(format!(
                    "the certificate is for key {certified}, but this deployment signs with key {mine}: certify this key's public key (download it from this page)"
                )));
            }
            let cert = KeyCertificate::read_unverified(text)
                .map_err(|e| invalid(format!("the certificate cannot be read: {e}")))?;
            // The certificate in force: this instance's, or one accepted since. Recording it
            // makes its key the deployment's current one, so a key replaced meanwhile is left
            // alone.
            let recorded = vendor.store().current_signing_key().await?;
            if let Some((current, _)) = &recorded
                && current != mine.as_str()
            {
                return Err(invalid(format!(
                    "the deployment signs with key {current} now, not this instance's ({mine}): upload the certificate on an instance running the current key"
                )));
            }
            let recorded_end = recorded
                .and_then(|(_, text)| text)
                .and_then(|text| KeyCertificate::read_unverified(&text).ok())
                .map(|c| c.not_after);
            let in_force = vendor
                .certificate_terms()
                .map(|c| c.not_after)
                .max(recorded_end);
            if let Some(in_force) = in_force
                && cert.not_after <= in_force
            {
                return Err(invalid(format!(
                    "this certificate ends {}, no later than the one in force ({}): nothing was changed",
                    cert.not_after.format("%Y-%m-%d"),
                    in_force.format("%Y-%m-%d")
                )));
            }
            vendor
                .store()
                .record_signing_key(mine.as_str(), Some(text), now)
                .await?;
            Ok(Accepted::Certificate {
                until: cert.not_after,
                max_grace_days: cert.max_grace_days,
            })
        }
        DocKind::Revocation => {
            let newer = trust
                .add_revocations(text)
                .map_err(|e| invalid(format!("the revocation list was refused: {e}")))?;
            let list = trust.revocations().filter(|_| newer).ok_or_else(|| {
                invalid("this list is not newer than the one in force: nothing was changed".into())
            })?;
            vendor
                .store()
                .set_shared_setting(REVOCATIONS_SETTING, text)
                .await?;
            Ok(Accepted::Revocations {
                serial: list.serial,
                keys: list.keys.len(),
                revokes_own_key: list
                    .keys
                    .iter()
                    .any(|k| k.key_id == vendor.key().key_id().as_str()),
            })
        }
        other => Err(invalid(format!(
            "this is a {} file, not a certificate or revocation list the root signed",
            other.label()
        ))),
    }
}

/// The newest of the revocation list in the data folder and the one the console accepted
/// (recorded in the database), each checked against the root: what an instance sends.
pub async fn newest_revocations(
    store: &Store,
    root_public: Option<&str>,
    from_folder: Option<String>,
) -> Result<Option<String>> {
    let (Some(root_public), Some(recorded)) = (
        root_public,
        store.shared_setting(REVOCATIONS_SETTING).await?,
    ) else {
        return Ok(from_folder);
    };
    let mut roots = TrustedKeys::new();
    roots.add_public_key_text(root_public)?;
    let mut trust = Trust::new(roots);
    if let Some(list) = &from_folder {
        trust.add_revocations(list)?;
    }
    match trust.add_revocations(&recorded) {
        Ok(true) => Ok(Some(recorded)),
        Ok(false) => Ok(from_folder),
        Err(e) => {
            tracing::error!(error = %e, "the revocation list recorded in the database is not the root's: it is ignored");
            Ok(from_folder)
        }
    }
}
