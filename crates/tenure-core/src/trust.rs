//! Who may sign a license: vendor roots, and the signing keys they certify.
//!
//! The vendor keeps an offline **root** key. Products pin the root's public key at build time;
//! nothing a licensee can edit adds a root. The license servers sign with **signing keys** that a
//! root certifies for a span of dates (a [`KeyCertificate`]), so a signing key can be rotated
//! without touching customers: every license carries its signer's certificate after the license
//! block, and [`Trust::open_license`] accepts a signer only with a valid certificate from a
//! pinned root. A root can also revoke signing keys ([`Revocations`]); licenses they signed are
//! refused from then on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::armor::Armored;
use crate::signed::{
    DocError, DocKind, KeyId, TrustedKeys, VendorKey, Verified, VerifiedLicense, check_version,
    expect_kind, open, parse_payload, verified, verify_armored,
};

/// A root's statement that `key` may sign licenses issued between two dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCertificate {
    /// The certified Ed25519 public key, hex.
    pub key_hex: String,
    /// Licenses issued before this are not covered.
    pub not_before: DateTime<Utc>,
    /// Licenses issued after this are not covered.
    pub not_after: DateTime<Utc>,
    /// When the root signed it.
    pub issued_at: DateTime<Utc>,
    /// A name for people ("licenses.example.com 2026").
    pub label: String,
}

/// One revoked signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedKey {
    /// The signing key's id.
    pub key_id: String,
    /// When it was revoked.
    pub revoked_at: DateTime<Utc>,
    /// Why, in a few words.
    pub reason: String,
}

/// A root's full list of revoked signing keys; a later list replaces an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revocations {
    /// When the root signed this list.
    pub issued_at: DateTime<Utc>,
    /// Every key revoked so far.
    pub keys: Vec<RevokedKey>,
}

impl VendorKey {
    /// Signs a certificate for `key` (this key acting as a root).
    pub fn certify(
        &self,
        key: &VerifyingKey,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        issued_at: DateTime<Utc>,
        label: &str,
    ) -> Result<String, DocError> {
        self.sign(
            DocKind::Certificate,
            &KeyCertificate {
                key_hex: hex::encode(key.as_bytes()),
                not_before,
                not_after,
                issued_at,
                label: label.to_owned(),
            },
        )
    }
}

/// A signing key some root certified.
#[derive(Debug, Clone)]
struct Certified {
    key: VerifyingKey,
    certificate: KeyCertificate,
    text: String,
}

/// The roots a product trusts, the signing keys they certified, and what they revoked.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    roots: TrustedKeys,
    certified: BTreeMap<KeyId, Certified>,
    revocations: Option<Verified<Revocations>>,
}

impl Trust {
    /// Trust in these roots only.
    pub fn new(roots: TrustedKeys) -> Self {
        Self {
            roots,
            ..Self::default()
        }
    }

    /// The roots.
    pub fn roots(&self) -> &TrustedKeys {
        &self.roots
    }

    /// True when no root is trusted: nothing can be verified.
    pub fn has_no_roots(&self) -> bool {
        self.roots.is_empty()
    }

    /// Adds a root (development builds only; see the client's `Roots`).
    pub fn add_root(&mut self, key: VerifyingKey) -> KeyId {
        self.roots.add(key)
    }

    /// Ids of the certified signing keys known, with their certificates.
    pub fn certified(&self) -> impl Iterator<Item = (&KeyId, &KeyCertificate)> {
        self.certified.iter().map(|(id, c)| (id, &c.certificate))
    }

    /// The certificates known, as text.
    pub fn certificate_texts(&self) -> impl Iterator<Item = &str> {
        self.certified.values().map(|c| c.text.as_str())
    }

    /// The revocation list in force, if any.
    pub fn revocations(&self) -> Option<&Verified<Revocations>> {
        self.revocations.as_ref()
    }

    /// Verifies a certificate against the roots and remembers its key. Refuses a key the roots
    /// revoked.
    pub fn add_certificate(&mut self, text: &str) -> Result<KeyId, DocError> {
        let certified = self.check_certificate(text)?;
        let id = KeyId::of(&certified.key);
        self.certified.insert(id.clone(), certified);
        Ok(id)
    }

    fn check_certificate(&self, text: &str) -> Result<Certified, DocError> {
        let cert: Verified<KeyCertificate> =
            open(text, DocKind::Certificate, &self.roots).map_err(from_root)?;
        let bytes: [u8; 32] = hex::decode(&cert.key_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| DocError::Schema("the certified key is not 32 bytes of hex".into()))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| DocError::Schema("the certified key is not a valid Ed25519 key".into()))?;
        self.check_not_revoked(KeyId::of(&key).as_str())?;
        Ok(Certified {
            key,
            certificate: cert.value().clone(),
            text: text.to_owned(),
        })
    }

    /// Verifies a revocation list against the roots; keeps it if it is newer than the one held.
    /// Returns true when it replaced the list. Certified keys it names are dropped.
    pub fn add_revocations(&mut self, text: &str) -> Result<bool, DocError> {
        let list: Verified<Revocations> =
            open(text, DocKind::Revocation, &self.roots).map_err(from_root)?;
        if self
            .revocations
            .as_ref()
            .is_some_and(|held| held.issued_at >= list.issued_at)
        {
            return Ok(false);
        }
        self.certified
            .retain(|id, _| !list.keys.iter().any(|r| r.key_id == id.as_str()));
        self.revocations = Some(list);
        Ok(true)
    }

    fn check_not_revoked(&self, key_id: &str) -> Result<(), DocError> {
        let revoked = self
            .revocations
            .as_ref()
            .and_then(|list| list.keys.iter().find(|r| r.key_id == key_id));
        match revoked {
            Some(r) => Err(DocError::RevokedKey {
                key_id: key_id.to_owned(),
                revoked_at: r.revoked_at.format("%Y-%m-%d").to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Opens a license: the license block, then any certificates after it. The signer must hold
    /// a certificate from a root (carried in the file or known already), not be revoked, and the
    /// license must have been issued within the certificate's dates. The signature is checked
    /// before the license is parsed.
    pub fn open_license(&self, text: &str) -> Result<VerifiedLicense, DocError> {
        let blocks = split_blocks(text);
        let (first, carried) = blocks.split_first().ok_or(DocError::Empty)?;
        let armored = Armored::parse(first)?;
        check_version(&armored)?;
        expect_kind(&armored, DocKind::License)?;
        let key_id = armored
            .signature
            .as_ref()
            .map(|(id, _)| id.clone())
            .ok_or(DocError::Unsigned)?;
        self.check_not_revoked(&key_id)?;
        let mut signer = self.certified.get(&KeyId::from_text(&key_id)).cloned();
        for block in carried {
            // A certificate from a root this product does not hold vouches for nothing; the
            // answer is then that the signer is not certified. A damaged one is reported.
            let certified = match self.check_certificate(block) {
                Ok(certified) => certified,
                Err(DocError::UnknownRoot { .. }) => continue,
                Err(e) => return Err(e),
            };
            if signer.is_none() && KeyId::of(&certified.key).as_str() == key_id {
                signer = Some(certified);
            }
        }
        let signer = signer.ok_or_else(|| DocError::UntrustedKey {
            key_id: key_id.clone(),
        })?;
        let mut one = TrustedKeys::new();
        one.add(signer.key);
        verify_armored(&armored, DocKind::License, &one)?;
        let license: crate::License = parse_payload(&armored.payload)?;
        let cert = &signer.certificate;
        if license.issued_at < cert.not_before || license.issued_at > cert.not_after {
            return Err(DocError::OutsideCertificate {
                key_id,
                signed_at: license.issued_at.format("%Y-%m-%d").to_string(),
                not_before: cert.not_before.format("%Y-%m-%d").to_string(),
                not_after: cert.not_after.format("%Y-%m-%d").to_string(),
            });
        }
        Ok(verified(license, key_id, text.to_owned()))
    }
}

/// A document only a root may sign names its signer as an unknown root, not an uncertified key.
fn from_root(e: DocError) -> DocError {
    match e {
        DocError::UntrustedKey { key_id } => DocError::UnknownRoot { key_id },
        other => other,
    }
}

/// Reads one or more root public-key blocks (a `roots.pub` file may hold several).
pub fn parse_roots(text: &str) -> Result<TrustedKeys, DocError> {
    let mut roots = TrustedKeys::new();
    for block in split_blocks(text) {
        if block.trim().is_empty() {
            continue;
        }
        roots.add(crate::signed::parse_public_key(block.trim_start())?);
    }
    if roots.is_empty() {
        return Err(DocError::Empty);
    }
    Ok(roots)
}

/// The kind of a Tenure file, read from its BEGIN line (nothing verified).
pub fn kind_of(text: &str) -> Result<DocKind, DocError> {
    let first = split_blocks(text).into_iter().next().unwrap_or_default();
    Ok(Armored::parse(first)?.kind)
}

/// A license file with its signer's certificate after it, as servers send it.
pub fn bundle(license: &str, certificate: &str) -> String {
    let mut text = license.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(certificate);
    text
}

/// Splits text after each END line. Anything after the last END line is one more block, which
/// then fails to parse: a file never carries stray bytes.
fn split_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find("-----END ") {
        let line_end = rest[end..].find('\n').map_or(rest.len(), |i| end + i + 1);
        blocks.push(&rest[..line_end]);
        rest = &rest[line_end..];
    }
    if !rest.is_empty() || blocks.is_empty() {
        blocks.push(rest);
    }
    blocks
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::binding::{Binding, ServerContext};
    use crate::license::{ActivationMode, DEFAULT_LEASE_SECS, LicenseTerms, SeatKind, Validity};
    use chrono::Duration;

    /// Signs `license` with `signing`, certified by a root made from it, and opens it.
    pub(crate) fn verified_for_test(
        signing: &VendorKey,
        license: &crate::License,
    ) -> VerifiedLicense {
        let root = key(200);
        let text = bundle(
            &signing.sign(DocKind::License, license).unwrap(),
            &cert(&root, signing, license.issued_at),
        );
        roots(&root).open_license(&text).unwrap()
    }

    /// A named-user license for 10 seats, bound to srv1 / prod, validated 2026-11-23.
    pub(crate) fn sample_license() -> crate::License {
        let ctx = ServerContext {
            local_host: "ws1",
            default_port: Some(5432),
        };
        crate::License {
            id: "lic_1".into(),
            account: "acme".into(),
            terms: LicenseTerms {
                customer: "Acme".into(),
                kind: SeatKind::Named,
                seats: 10,
                grace_days: 30,
                max_grace_days: 60,
                validity: Validity {
                    starts: "2026-01-01".parse().unwrap(),
                    expires: "2027-12-31".parse().unwrap(),
                },
                activation_mode: ActivationMode::Online,
                modules: vec![],
                max_borrow_days: 0,
                max_rebinds_per_30_days: 3,
                lease_secs: DEFAULT_LEASE_SECS,
                quantities: vec![],
            },
            grace_days: 30,
            binding: Binding::new("srv1", "prod", ctx),
            issued_at: "2026-11-23T09:00:00Z".parse().unwrap(),
            validated_at: "2026-11-23T09:00:00Z".parse().unwrap(),
            nonce: "n".into(),
        }
    }

    fn key(seed: u8) -> VendorKey {
        VendorKey::from_secret([seed; 32])
    }

    /// A license signed with its terms encoded beforehand is the same document, byte for byte,
    /// as one signed whole, with modules and quantities in its terms; and it opens as a License.
    #[test]
    fn a_license_with_terms_encoded_once_signs_to_the_same_text() {
        use crate::license::{EncodedTerms, LicenseToSign, Module};
        let mut license = sample_license();
        license.terms.customer = "Acme \"Offshore\"\n(North)".into();
        license.terms.modules = vec![Module {
            name: "inspect".into(),
            validity: license.terms.validity,
        }];
        license.terms.quantities = vec!["servers:3:device".parse().unwrap()];
        let signing = key(7);
        let terms = EncodedTerms::new(&license.terms).unwrap();
        let to_sign = LicenseToSign {
            id: &license.id,
            account: &license.account,
            terms: terms.raw(),
            grace_days: license.grace_days,
            binding: &license.binding,
            issued_at: license.issued_at,
            validated_at: license.validated_at,
            nonce: &license.nonce,
        };
        let whole = signing.sign(DocKind::License, &license).unwrap();
        assert_eq!(signing.sign(DocKind::License, &to_sign).unwrap(), whole);
        let root = key(200);
        let text = bundle(&whole, &cert(&root, &signing, license.issued_at));
        assert_eq!(roots(&root).open_license(&text).unwrap().value(), &license);
    }

    fn roots(root: &VendorKey) -> Trust {
        let mut keys = TrustedKeys::new();
        keys.add(root.verifying_key());
        Trust::new(keys)
    }

    fn cert(root: &VendorKey, signing: &VendorKey, now: DateTime<Utc>) -> String {
        root.certify(
            &signing.verifying_key(),
            now - Duration::days(1),
            now + Duration::days(365),
            now,
            "test",
        )
        .unwrap()
    }

    #[test]
    fn a_certified_signer_is_accepted_with_its_certificate_attached() {
        let (root, signing) = (key(1), key(2));
        let license = sample_license();
        let now = license.issued_at;
        let text = bundle(
            &signing.sign(DocKind::License, &license).unwrap(),
            &cert(&root, &signing, now),
        );
        let opened = roots(&root).open_license(&text).unwrap();
        assert_eq!(opened.value(), &license);
        assert_eq!(opened.text(), text);
    }

    #[test]
    fn an_uncertified_signer_is_refused_even_when_it_is_a_root() {
        let (root, other) = (key(1), key(3));
        let license = sample_license();
        let forged = other.sign(DocKind::License, &license).unwrap();
        assert!(matches!(
            roots(&root).open_license(&forged),
            Err(DocError::UntrustedKey { .. })
        ));
        // Self-certified: a certificate from a key that is not a pinned root.
        let self_cert = bundle(&forged, &cert(&other, &other, license.issued_at));
        assert!(matches!(
            roots(&root).open_license(&self_cert),
            Err(DocError::UntrustedKey { .. })
        ));
        // Signed directly by the root: roots certify, they do not sign licenses.
        let by_root = root.sign(DocKind::License, &license).unwrap();
        assert!(matches!(
            roots(&root).open_license(&by_root),
            Err(DocError::UntrustedKey { .. })
        ));
    }

    #[test]
    fn a_revoked_signer_is_refused_and_outside_dates_too() {
        let (root, signing) = (key(1), key(2));
        let license = sample_license();
        let now = license.issued_at;
        let text = bundle(
            &signing.sign(DocKind::License, &license).unwrap(),
            &cert(&root, &signing, now),
        );
        let mut trust = roots(&root);
        let list = Revocations {
            issued_at: now,
            keys: vec![RevokedKey {
                key_id: signing.key_id().to_string(),
                revoked_at: now,
                reason: "stolen".into(),
            }],
        };
        let list_text = root.sign(DocKind::Revocation, &list).unwrap();
        assert!(trust.add_revocations(&list_text).unwrap());
        assert!(matches!(
            trust.open_license(&text),
            Err(DocError::RevokedKey { .. })
        ));
        // An older list does not replace a newer one.
        let older = Revocations {
            issued_at: now - Duration::days(1),
            keys: vec![],
        };
        assert!(
            !trust
                .add_revocations(&root.sign(DocKind::Revocation, &older).unwrap())
                .unwrap()
        );
        // A list not signed by a root is refused.
        assert!(
            roots(&root)
                .add_revocations(&signing.sign(DocKind::Revocation, &list).unwrap())
                .is_err()
        );

        let late = root
            .certify(
                &signing.verifying_key(),
                now + Duration::days(1),
                now + Duration::days(2),
                now,
                "later",
            )
            .unwrap();
        let outside = bundle(&signing.sign(DocKind::License, &license).unwrap(), &late);
        assert!(matches!(
            roots(&root).open_license(&outside),
            Err(DocError::OutsideCertificate { .. })
        ));
    }

    #[test]
    fn stray_bytes_after_the_certificate_are_refused() {
        let (root, signing) = (key(1), key(2));
        let license = sample_license();
        let text = bundle(
            &signing.sign(DocKind::License, &license).unwrap(),
            &cert(&root, &signing, license.issued_at),
        );
        assert!(roots(&root).open_license(&format!("{text}x")).is_err());
        let two_licenses = bundle(&text, &signing.sign(DocKind::License, &license).unwrap());
        assert!(roots(&root).open_license(&two_licenses).is_err());
    }
}
