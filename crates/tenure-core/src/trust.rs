//! Who may sign a license: vendor roots, and the signing keys they certify.
//!
//! The vendor keeps an offline **root** key. Products pin the root's public key at build time;
//! nothing a licensee can edit adds a root. The license servers sign with **signing keys** that a
//! root certifies for a span of dates (a [`KeyCertificate`]), so a signing key can be rotated
//! without touching customers: every license carries its signer's certificate after the license
//! block, and [`Trust::open_license`] accepts a signer only with a valid certificate from a
//! pinned root.
//!
//! A certificate bounds everything its key signs: a license is believed only if it was issued
//! and last validated within the certificate's dates and gives no more grace than the bound the
//! root wrote into it, so nothing a key signed outlives the certificate's end by more than that
//! bound, whatever dates the document claims. A root can also revoke signing keys
//! ([`Revocations`], numbered lists that only ever go up); licenses they signed are refused from
//! then on, and license files carry the latest list so a workstation learns it with any file.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Utc};
use ed25519_dalek::VerifyingKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::armor::Armored;
use crate::signed::{
    DocError, DocKind, KeyId, TrustedKeys, VendorKey, Verified, VerifiedLicense, check_version,
    expect_kind, open, parse_payload, verified, verify_armored,
};

/// A root's statement that `key` may sign licenses issued between two dates, giving at most
/// `max_grace_days` of offline grace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCertificate {
    /// The certified Ed25519 public key, hex.
    pub key_hex: String,
    /// Licenses issued before this are not covered.
    pub not_before: DateTime<Utc>,
    /// Licenses issued or validated after this are not covered.
    pub not_after: DateTime<Utc>,
    /// When the root signed it.
    pub issued_at: DateTime<Utc>,
    /// A name for people ("licenses.example.com 2026").
    pub label: String,
    /// The longest offline grace the key may give: nothing it signed is believed later than
    /// `not_after` plus this many days.
    pub max_grace_days: u32,
}

impl KeyCertificate {
    /// Reads a certificate's terms without checking who signed it: for a server that bounds
    /// what it signs by its own certificate (checked when it started), never for deciding what
    /// to believe.
    pub fn read_unverified(text: &str) -> Result<Self, DocError> {
        let armored = Armored::parse(text)?;
        expect_kind(&armored, DocKind::Certificate)?;
        check_version(&armored)?;
        parse_payload(&armored.payload)
    }

    /// The last moment anything this key signed can be believed: the certificate's end plus
    /// the longest grace it allows.
    pub fn believed_until(&self) -> DateTime<Utc> {
        self.not_after
            .checked_add_days(Days::new(u64::from(self.max_grace_days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Refuses a document this certificate does not cover: one signed or vouching for a time
    /// outside its dates, or giving more grace than it allows.
    fn check_covers(&self, key_id: &str, dates: &SignedDates) -> Result<(), DocError> {
        let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        for at in [dates.issued_at, dates.vouches_for] {
            if at < self.not_before || at > self.not_after {
                return Err(DocError::OutsideCertificate {
                    key_id: key_id.to_owned(),
                    signed_at: day(at),
                    not_before: day(self.not_before),
                    not_after: day(self.not_after),
                });
            }
        }
        if dates.grace_days > self.max_grace_days {
            return Err(DocError::GraceBeyondCertificate {
                key_id: key_id.to_owned(),
                grace_days: dates.grace_days,
                max_grace_days: self.max_grace_days,
            });
        }
        Ok(())
    }
}

/// The dates a signed document claims, which its signer's certificate must cover.
struct SignedDates {
    /// When it was signed.
    issued_at: DateTime<Utc>,
    /// The time it vouches for (a license's last validation).
    vouches_for: DateTime<Utc>,
    /// The offline grace it gives from then.
    grace_days: u32,
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

/// A root's full list of revoked signing keys. Lists are numbered: a list replaces the one held
/// only if its number is higher, so an older list can never undo a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revocations {
    /// This list's number: each list the root signs is one higher than the last.
    pub serial: u64,
    /// When the root signed this list.
    pub issued_at: DateTime<Utc>,
    /// Every key revoked so far.
    pub keys: Vec<RevokedKey>,
}

impl Revocations {
    /// True when this list replaces `held`.
    pub fn supersedes(&self, held: &Revocations) -> bool {
        (self.serial, self.issued_at) > (held.serial, held.issued_at)
    }

    fn revoked(&self, key_id: &str) -> Option<&RevokedKey> {
        self.keys.iter().find(|r| r.key_id == key_id)
    }
}

/// A server's signed word that the license `license_id` was activated again by its account
/// elsewhere (its activation credential replaced): the answer to a validation proved by the
/// credential it replaced. It echoes the request's nonce; where the license went is not said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedNotice {
    /// The license that moved.
    pub license_id: String,
    /// The nonce of the request it answers.
    pub nonce: String,
    /// The public half (hex) of the credential that was replaced: the notice speaks for the
    /// workstations holding that credential only.
    pub holder: String,
    /// When the credential was replaced (server clock).
    pub moved_at: DateTime<Utc>,
    /// When the server signed this notice.
    pub issued_at: DateTime<Utc>,
}

impl VendorKey {
    /// Signs a certificate for `key` (this key acting as a root): it may sign between
    /// `not_before` and `not_after`, giving at most `max_grace_days` of grace.
    pub fn certify(
        &self,
        key: &VerifyingKey,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        issued_at: DateTime<Utc>,
        label: &str,
        max_grace_days: u32,
    ) -> Result<String, DocError> {
        self.sign(
            DocKind::Certificate,
            &KeyCertificate {
                key_hex: hex::encode(key.as_bytes()),
                not_before,
                not_after,
                issued_at,
                label: label.to_owned(),
                max_grace_days,
            },
        )
    }
}

/// A signing key some root certified.
#[derive(Debug, Clone)]
struct Certified {
    key: VerifyingKey,
    certificate: KeyCertificate,
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

    /// The revocation list in force, if any.
    pub fn revocations(&self) -> Option<&Verified<Revocations>> {
        self.revocations.as_ref()
    }

    /// Verifies a certificate against the roots and remembers its key. Refuses a key the roots
    /// revoked.
    pub fn add_certificate(&mut self, text: &str) -> Result<KeyId, DocError> {
        let certified = self.check_certificate(text, self.held_revocations())?;
        let id = KeyId::of(&certified.key);
        self.certified.insert(id.clone(), certified);
        Ok(id)
    }

    fn held_revocations(&self) -> Option<&Revocations> {
        self.revocations.as_ref().map(Verified::value)
    }

    fn check_certificate(
        &self,
        text: &str,
        revocations: Option<&Revocations>,
    ) -> Result<Certified, DocError> {
        let cert: Verified<KeyCertificate> =
            open(text, DocKind::Certificate, &self.roots).map_err(from_root)?;
        let bytes: [u8; 32] = hex::decode(&cert.key_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| DocError::Schema("the certified key is not 32 bytes of hex".into()))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| DocError::Schema("the certified key is not a valid Ed25519 key".into()))?;
        check_not_revoked(revocations, KeyId::of(&key).as_str())?;
        Ok(Certified {
            key,
            certificate: cert.value().clone(),
        })
    }

    /// Verifies a revocation list against the roots, without keeping it.
    pub fn check_revocations(&self, text: &str) -> Result<Verified<Revocations>, DocError> {
        open(text, DocKind::Revocation, &self.roots).map_err(from_root)
    }

    /// Verifies a revocation list against the roots; keeps it if it supersedes the one held.
    /// Returns true when it replaced the list. Certified keys it names are dropped.
    pub fn add_revocations(&mut self, text: &str) -> Result<bool, DocError> {
        let list = self.check_revocations(text)?;
        if self
            .held_revocations()
            .is_some_and(|held| !list.supersedes(held))
        {
            return Ok(false);
        }
        self.certified
            .retain(|id, _| list.revoked(id.as_str()).is_none());
        self.revocations = Some(list);
        Ok(true)
    }

    /// Opens a license: the license block, then the certificates and revocation lists carried
    /// after it. The signer must hold a certificate from a root (carried in the file or known
    /// already) that covers the license's dates and grace, and must not be revoked by the
    /// newest list known or carried. The signature is checked before the license is parsed.
    pub fn open_license(&self, text: &str) -> Result<VerifiedLicense, DocError> {
        self.open_signed(text, DocKind::License, |license: &crate::License| {
            SignedDates {
                issued_at: license.issued_at,
                vouches_for: license.validated_at,
                grace_days: license.grace_days,
            }
        })
    }

    /// Opens a notice that a license moved, by the same rules as a license.
    pub fn open_moved_notice(&self, text: &str) -> Result<Verified<MovedNotice>, DocError> {
        self.open_signed(text, DocKind::Moved, |notice: &MovedNotice| SignedDates {
            issued_at: notice.issued_at,
            vouches_for: notice.issued_at,
            grace_days: 0,
        })
    }

    fn open_signed<T: DeserializeOwned>(
        &self,
        text: &str,
        kind: DocKind,
        dates: impl Fn(&T) -> SignedDates,
    ) -> Result<Verified<T>, DocError> {
        let blocks = split_blocks(text);
        let (first, carried) = blocks.split_first().ok_or(DocError::Empty)?;
        let armored = Armored::parse(first)?;
        check_version(&armored)?;
        expect_kind(&armored, kind)?;
        let key_id = armored
            .signature
            .as_ref()
            .map(|(id, _)| id.clone())
            .ok_or(DocError::Unsigned)?;
        let carried_list = self.newest_carried_revocations(carried)?;
        let revocations = carried_list
            .as_ref()
            .map(Verified::value)
            .or(self.held_revocations());
        check_not_revoked(revocations, &key_id)?;
        let mut signer = self.certified.get(&KeyId::from_text(&key_id)).cloned();
        for block in carried {
            if kind_of(block)? != DocKind::Certificate {
                continue;
            }
            // A certificate from a root this product does not hold vouches for nothing; the
            // answer is then that the signer is not certified. A damaged one is reported.
            let certified = match self.check_certificate(block, revocations) {
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
        verify_armored(&armored, kind, &one)?;
        let value: T = parse_payload(&armored.payload)?;
        signer.certificate.check_covers(&key_id, &dates(&value))?;
        Ok(verified(value, key_id, text.to_owned()))
    }

    /// The newest revocation list carried after a document that supersedes the one held, if
    /// any. A list from a root this product does not hold is ignored; a damaged one refused.
    fn newest_carried_revocations(
        &self,
        carried: &[&str],
    ) -> Result<Option<Verified<Revocations>>, DocError> {
        let mut newest: Option<Verified<Revocations>> = None;
        for block in carried {
            match kind_of(block)? {
                DocKind::Certificate => continue,
                DocKind::Revocation => {}
                other => {
                    return Err(DocError::WrongKind {
                        expected: "only certificates and revocation lists after the document",
                        found: other.noun(),
                    });
                }
            }
            let list = match self.check_revocations(block) {
                Ok(list) => list,
                Err(DocError::UnknownRoot { .. }) => continue,
                Err(e) => return Err(e),
            };
            let best = newest
                .as_ref()
                .map(Verified::value)
                .or(self.held_revocations());
            if best.is_none_or(|held| list.supersedes(held)) {
                newest = Some(list);
            }
        }
        Ok(newest)
    }
}

fn check_not_revoked(revocations: Option<&Revocations>, key_id: &str) -> Result<(), DocError> {
    match revocations.and_then(|list| list.revoked(key_id)) {
        Some(r) => Err(DocError::RevokedKey {
            key_id: key_id.to_owned(),
            revoked_at: r.revoked_at.format("%Y-%m-%d").to_string(),
        }),
        None => Ok(()),
    }
}

/// The revocation lists a document carries after its first block, as text (unverified: give
/// them to [`Trust::add_revocations`]).
pub fn carried_revocations(text: &str) -> impl Iterator<Item = &str> {
    split_blocks(text)
        .into_iter()
        .skip(1)
        .filter(|block| kind_of(block).is_ok_and(|kind| kind == DocKind::Revocation))
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
    bundle_all(license, [certificate])
}

/// A signed document with the public documents that back it after it (its signer's
/// certificate, the latest revocation list), each starting on a line of its own.
pub fn bundle_all<'a>(document: &str, after: impl IntoIterator<Item = &'a str>) -> String {
    let mut text = document.to_owned();
    for block in after {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(block);
    }
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
                floating: crate::Floating::default(),
                churn: crate::Churn::default(),
            },
            grace_days: 30,
            binding: Binding::new("srv1", "prod", ctx),
            issued_at: "2026-11-23T09:00:00Z".parse().unwrap(),
            validated_at: "2026-11-23T09:00:00Z".parse().unwrap(),
            nonce: "n".into(),
            revoked_borrows: Vec::new(),
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
            revoked_borrows: &license.revoked_borrows,
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
            90,
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
            serial: 2,
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
        // An older list does not replace a newer one, even one that claims a later date.
        let older = Revocations {
            serial: 1,
            issued_at: now + Duration::days(1),
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
                90,
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

    /// Issue 25: a key whose certificate ended re-signs a license with its issue date moved
    /// back into the certificate's dates, its validation date now and a century of grace.
    /// Neither date trick nor the grace is believed.
    #[test]
    fn a_certificate_bounds_the_dates_and_grace_its_key_signs() {
        let (root, signing) = (key(1), key(2));
        let ended = sample_license().issued_at;
        let certificate = root
            .certify(
                &signing.verifying_key(),
                ended - Duration::days(730),
                ended,
                ended - Duration::days(730),
                "ended",
                30,
            )
            .unwrap();
        let sign = |license: &crate::License| {
            bundle(
                &signing.sign(DocKind::License, license).unwrap(),
                &certificate,
            )
        };
        let mut license = sample_license();
        license.issued_at = ended - Duration::days(10);
        license.validated_at = ended + Duration::days(70);
        license.grace_days = 30;
        assert!(matches!(
            roots(&root).open_license(&sign(&license)),
            Err(DocError::OutsideCertificate { .. })
        ));
        license.validated_at = ended - Duration::days(1);
        license.grace_days = 36_500;
        let refused = roots(&root).open_license(&sign(&license));
        assert!(
            matches!(
                refused,
                Err(DocError::GraceBeyondCertificate {
                    grace_days: 36_500,
                    max_grace_days: 30,
                    ..
                })
            ),
            "{refused:?}"
        );
        // Within the bound it is the vendor's license, and its grace ends by the bound.
        license.grace_days = 30;
        let opened = roots(&root).open_license(&sign(&license)).unwrap();
        let bound = ended + Duration::days(30);
        assert!(opened.grace_ends_at() <= bound);
    }

    /// Issue 25: a license file carries the latest revocation list; it is applied even by a
    /// workstation that never held it, and an older list carried does not undo a newer one held.
    #[test]
    fn a_revocation_list_carried_in_a_file_is_applied() {
        let (root, signing) = (key(1), key(2));
        let license = sample_license();
        let now = license.issued_at;
        let revoking = |serial: u64, keys: Vec<RevokedKey>| {
            root.sign(
                DocKind::Revocation,
                &Revocations {
                    serial,
                    issued_at: now,
                    keys,
                },
            )
            .unwrap()
        };
        let revoked = vec![RevokedKey {
            key_id: signing.key_id().to_string(),
            revoked_at: now,
            reason: "leaked".into(),
        }];
        let signed = signing.sign(DocKind::License, &license).unwrap();
        let certificate = cert(&root, &signing, now);
        let with_list = bundle_all(&signed, [certificate.as_str(), &revoking(3, revoked)]);
        assert!(matches!(
            roots(&root).open_license(&with_list),
            Err(DocError::RevokedKey { .. })
        ));
        assert_eq!(carried_revocations(&with_list).count(), 1);
        let mut trust = roots(&root);
        assert!(
            trust
                .add_revocations(carried_revocations(&with_list).next().unwrap())
                .unwrap()
        );
        let with_older = bundle_all(&signed, [certificate.as_str(), &revoking(2, vec![])]);
        assert!(matches!(
            trust.open_license(&with_older),
            Err(DocError::RevokedKey { .. })
        ));
    }

    #[test]
    fn a_moved_notice_opens_by_the_rules_of_a_license() {
        let (root, signing) = (key(1), key(2));
        let now = sample_license().issued_at;
        let notice = MovedNotice {
            license_id: "lic_1".into(),
            nonce: "n1".into(),
            holder: "ab".repeat(32),
            moved_at: now,
            issued_at: now,
        };
        let text = bundle(
            &signing.sign(DocKind::Moved, &notice).unwrap(),
            &cert(&root, &signing, now),
        );
        assert_eq!(
            roots(&root).open_moved_notice(&text).unwrap().value(),
            &notice
        );
        // A license is not a notice, nor the reverse: each has its own signing domain.
        assert!(roots(&root).open_license(&text).is_err());
        let forged = bundle(
            &key(9).sign(DocKind::Moved, &notice).unwrap(),
            &cert(&key(8), &key(9), now),
        );
        assert!(matches!(
            roots(&root).open_moved_notice(&forged),
            Err(DocError::UntrustedKey { .. })
        ));
    }
}
