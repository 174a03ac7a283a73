//! Signed documents: Ed25519 over the exact payload bytes, verified before anything is parsed.
//!
//! The signed message is `tenure/<kind>/v<format>\n` followed by the payload, so a signature made
//! for one kind of document never passes for another (domain separation). Keys are named by a key
//! id derived from the public key; an unknown id is refused outright, never tried against other
//! keys. [`open`] is the only way to obtain a [`Verified`] value, so code that takes a
//! `Verified<License>` can rely on the signature having been checked.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};

use crate::armor::Armored;
use crate::license::License;

/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// What a document is. Each kind has its own armor label and signing domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A signed license (also the answer to an offline request).
    License,
    /// An offline request made by a workstation (unsigned).
    Request,
    /// A vendor public key (unsigned): a root, pinned in the product at build time.
    PublicKey,
    /// A root's statement that a signing key may sign until a date.
    Certificate,
    /// A root's list of signing keys that must no longer be trusted.
    Revocation,
    /// A server's signed word that a license's credential was replaced: it moved elsewhere.
    Moved,
}

impl DocKind {
    /// The armor label: `TENURE LICENSE`, ….
    pub fn label(self) -> &'static str {
        match self {
            DocKind::License => "TENURE LICENSE",
            DocKind::Request => "TENURE REQUEST",
            DocKind::PublicKey => "TENURE PUBLIC KEY",
            DocKind::Certificate => "TENURE KEY CERTIFICATE",
            DocKind::Revocation => "TENURE KEY REVOCATION",
            DocKind::Moved => "TENURE LICENSE MOVED",
        }
    }

    /// The signing domain name.
    fn domain(self) -> &'static str {
        match self {
            DocKind::License => "license",
            DocKind::Request => "request",
            DocKind::PublicKey => "public-key",
            DocKind::Certificate => "key-certificate",
            DocKind::Revocation => "key-revocation",
            DocKind::Moved => "license-moved",
        }
    }

    /// Words for people.
    pub fn noun(self) -> &'static str {
        match self {
            DocKind::License => "a license file",
            DocKind::Request => "a license request file",
            DocKind::PublicKey => "a vendor public key file",
            DocKind::Certificate => "a signing-key certificate",
            DocKind::Revocation => "a signing-key revocation list",
            DocKind::Moved => "a notice that a license moved",
        }
    }

    pub(crate) fn from_label(label: &str) -> Option<Self> {
        [
            DocKind::License,
            DocKind::Request,
            DocKind::PublicKey,
            DocKind::Certificate,
            DocKind::Revocation,
            DocKind::Moved,
        ]
        .into_iter()
        .find(|k| k.label() == label)
    }
}

/// Why a document was refused. Each case has its own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Nothing in the file.
    #[error("the file is empty")]
    Empty,
    /// Bigger than any Tenure file.
    #[error(
        "the file is {bytes} bytes, larger than any Tenure file ({limit} bytes): it is not a Tenure file"
    )]
    TooLarge {
        /// Size found.
        bytes: usize,
        /// Largest accepted.
        limit: usize,
    },
    /// Not text.
    #[error("the file is not text (not UTF-8): it is not a Tenure file")]
    NotUtf8,
    /// No BEGIN line.
    #[error("this is not a Tenure file: it has no \"-----BEGIN TENURE …-----\" line")]
    NotArmored,
    /// A BEGIN line naming something this build does not know.
    #[error("unknown kind of Tenure file {0:?}: a newer version of Tenure may be needed")]
    UnknownKind(String),
    /// A different kind of document than the one asked for.
    #[error("this is {found}, but {expected} was expected")]
    WrongKind {
        /// What the caller wanted.
        expected: &'static str,
        /// What the file is.
        found: &'static str,
    },
    /// Broken structure.
    #[error("the file is damaged: {0}")]
    Malformed(&'static str),
    /// A format version this build does not read.
    #[error(
        "the file has format version {found}, but this build reads version {supported}: update Tenure, or ask the sender for a version {supported} file"
    )]
    UnknownVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A document that must be signed is not.
    #[error("the file is not signed")]
    Unsigned,
    /// Signed by a key that no pinned vendor root has certified.
    #[error(
        "the file is signed by key {key_id}, which no vendor root built into this product has certified: it was not issued by your vendor"
    )]
    UntrustedKey {
        /// The key id named in the file.
        key_id: String,
    },
    /// A certificate or revocation list signed by a key that is not a trusted root.
    #[error(
        "the file is signed by key {key_id}, which is not one of the vendor roots this program trusts: it did not come from your vendor"
    )]
    UnknownRoot {
        /// The key id named in the file.
        key_id: String,
    },
    /// Signed by a key its root has revoked.
    #[error(
        "the file is signed by key {key_id}, which the vendor revoked on {revoked_at}: validate online, or ask your vendor for a new file"
    )]
    RevokedKey {
        /// The key id named in the file.
        key_id: String,
        /// When the root revoked it (server clock, as text).
        revoked_at: String,
    },
    /// Signed outside the dates its key's certificate allows.
    #[error(
        "the file was signed on {signed_at} by key {key_id}, whose certificate covers {not_before} to {not_after}: it was not issued by your vendor"
    )]
    OutsideCertificate {
        /// The signing key.
        key_id: String,
        /// When the document says it was signed.
        signed_at: String,
        /// Certificate start.
        not_before: String,
        /// Certificate end.
        not_after: String,
    },
    /// Gives more offline grace than its key's certificate allows.
    #[error(
        "the file gives {grace_days} days of offline grace, but the certificate of key {key_id} allows at most {max_grace_days}: it was not issued by your vendor"
    )]
    GraceBeyondCertificate {
        /// The signing key.
        key_id: String,
        /// Grace the document gives.
        grace_days: u32,
        /// The most the certificate allows.
        max_grace_days: u32,
    },
    /// The signature does not match the content.
    #[error("the signature does not match the content: the file was altered or damaged")]
    BadSignature,
    /// Signed correctly but the content is not what this kind holds.
    #[error("the signed content does not match the expected layout: {0}")]
    Schema(String),
    /// Could not serialise (a bug, not user input).
    #[error("could not encode the document: {0}")]
    Encode(String),
}

/// A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The key id of a public key.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        Self(hex::encode(&digest[..8]))
    }

    /// A key id from its text, as typed (lower-case hex).
    pub fn from_text(text: &str) -> Self {
        Self(text.trim().to_lowercase())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The payload of a public-key file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PublicKeyPayload {
    algorithm: String,
    key_hex: String,
}

/// A vendor's private signing key, with its key id.
pub struct VendorKey {
    signing: SigningKey,
    key_id: KeyId,
}

impl VendorKey {
    /// Wraps a 32-byte Ed25519 secret (the caller supplies the randomness).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&secret);
        let key_id = KeyId::of(&signing.verifying_key());
        Self { signing, key_id }
    }

    /// The secret bytes, for storing owner-only on the server.
    pub fn secret(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// This key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as an armored file anyone may receive.
    pub fn public_key_text(&self) -> String {
        let payload = PublicKeyPayload {
            algorithm: "ed25519".into(),
            key_hex: hex::encode(self.verifying_key().as_bytes()),
        };
        Armored {
            kind: DocKind::PublicKey,
            format: FORMAT_VERSION,
            signature: None,
            payload: ron::to_string(&payload).unwrap_or_default().into_bytes(),
        }
        .to_text()
    }

    /// Serialises `value` to RON and signs it as a document of `kind`.
    pub fn sign<T: Serialize>(&self, kind: DocKind, value: &T) -> Result<String, DocError> {
        let payload = ron::to_string(value)
            .map_err(|e| DocError::Encode(e.to_string()))?
            .into_bytes();
        let signature = self
            .signing
            .sign(&signed_message(kind, FORMAT_VERSION, &payload));
        Ok(Armored {
            kind,
            format: FORMAT_VERSION,
            signature: Some((self.key_id.0.clone(), signature.to_bytes().to_vec())),
            payload,
        }
        .to_text())
    }
}

impl fmt::Debug for VendorKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VendorKey({})", self.key_id)
    }
}

fn signed_message(kind: DocKind, format: u32, payload: &[u8]) -> Vec<u8> {
    let mut message = format!("tenure/{}/v{format}\n", kind.domain()).into_bytes();
    message.extend_from_slice(payload);
    message
}

/// The vendor keys this workstation trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    pub(crate) keys: BTreeMap<KeyId, VerifyingKey>,
}

impl TrustedKeys {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; returns its id.
    pub fn add(&mut self, key: VerifyingKey) -> KeyId {
        let id = KeyId::of(&key);
        self.keys.insert(id.clone(), key);
        id
    }

    /// Reads a public-key file and adds the key; returns its id.
    pub fn add_public_key_text(&mut self, text: &str) -> Result<KeyId, DocError> {
        let key = parse_public_key(text)?;
        Ok(self.add(key))
    }

    /// The trusted key ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// True when no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key with this id, if trusted.
    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(id, _)| id.as_str() == key_id)
            .map(|(_, key)| key)
    }

    /// Every trusted key.
    pub fn keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.values()
    }
}

/// Reads a vendor public-key file.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, DocError> {
    let armored = Armored::parse(text)?;
    expect_kind(&armored, DocKind::PublicKey)?;
    check_version(&armored)?;
    let payload: PublicKeyPayload = parse_payload(&armored.payload)?;
    let bytes: [u8; 32] = hex::decode(&payload.key_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| DocError::Schema("the key is not 32 bytes of hex".into()))?;
    if payload.algorithm != "ed25519" {
        return Err(DocError::Schema(format!(
            "unsupported key algorithm {:?}",
            payload.algorithm
        )));
    }
    VerifyingKey::from_bytes(&bytes).map_err(|_| DocError::Schema("not a valid Ed25519 key".into()))
}

/// A document whose signature was checked against a trusted key. Only [`open`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified<T> {
    value: T,
    key_id: String,
    text: String,
}

impl<T> Verified<T> {
    /// The verified content.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The id of the key that signed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The armored text exactly as verified, for storing and re-verifying later.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<T> std::ops::Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A verified license.
pub type VerifiedLicense = Verified<License>;

/// Opens a signed document: structure, kind, version, trusted key, signature — and only then the
/// payload is parsed. `trusted` are the keys allowed to sign this kind directly (for licenses, use
/// [`crate::trust::Trust::open_license`], which admits only root-certified signing keys).
pub fn open<T: DeserializeOwned>(
    text: &str,
    kind: DocKind,
    trusted: &TrustedKeys,
) -> Result<Verified<T>, DocError> {
    let armored = Armored::parse(text)?;
    let key_id = verify_armored(&armored, kind, trusted)?;
    let value = parse_payload(&armored.payload)?;
    Ok(Verified {
        value,
        key_id,
        text: text.to_owned(),
    })
}

/// Checks kind, version, key and signature of a parsed block; returns the signer's key id.
pub(crate) fn verify_armored(
    armored: &Armored,
    kind: DocKind,
    trusted: &TrustedKeys,
) -> Result<String, DocError> {
    expect_kind(armored, kind)?;
    check_version(armored)?;
    let (key_id, signature) = armored.signature.as_ref().ok_or(DocError::Unsigned)?;
    let key = trusted.get(key_id).ok_or_else(|| DocError::UntrustedKey {
        key_id: key_id.clone(),
    })?;
    let signature = Signature::from_slice(signature).map_err(|_| DocError::BadSignature)?;
    key.verify_strict(
        &signed_message(kind, armored.format, &armored.payload),
        &signature,
    )
    .map_err(|_| DocError::BadSignature)?;
    Ok(key_id.clone())
}

/// Wraps a value whose document was verified by [`crate::trust`].
pub(crate) fn verified<T>(value: T, key_id: String, text: String) -> Verified<T> {
    Verified {
        value,
        key_id,
        text,
    }
}

/// Writes an unsigned document (an offline request).
pub fn write_unsigned<T: Serialize>(kind: DocKind, value: &T) -> Result<String, DocError> {
    let payload = ron::to_string(value)
        .map_err(|e| DocError::Encode(e.to_string()))?
        .into_bytes();
    Ok(Armored {
        kind,
        format: FORMAT_VERSION,
        signature: None,
        payload,
    }
    .to_text())
}

/// Reads an unsigned document of `kind`.
pub fn read_unsigned<T: DeserializeOwned>(text: &str, kind: DocKind) -> Result<T, DocError> {
    let armored = Armored::parse(text)?;
    expect_kind(&armored, kind)?;
    check_version(&armored)?;
    parse_payload(&armored.payload)
}

/// Reads raw file bytes as text, refusing what cannot be a Tenure file.
pub fn text_from_bytes(bytes: &[u8]) -> Result<&str, DocError> {
    if bytes.len() > crate::armor::MAX_DOCUMENT_BYTES {
        return Err(DocError::TooLarge {
            bytes: bytes.len(),
            limit: crate::armor::MAX_DOCUMENT_BYTES,
        });
    }
    std::str::from_utf8(bytes).map_err(|_| DocError::NotUtf8)
}

pub(crate) fn expect_kind(armored: &Armored, kind: DocKind) -> Result<(), DocError> {
    if armored.kind == kind {
        Ok(())
    } else {
        Err(DocError::WrongKind {
            expected: kind.noun(),
            found: armored.kind.noun(),
        })
    }
}

pub(crate) fn check_version(armored: &Armored) -> Result<(), DocError> {
    if armored.format == FORMAT_VERSION {
        Ok(())
    } else {
        Err(DocError::UnknownVersion {
            found: armored.format,
            supported: FORMAT_VERSION,
        })
    }
}

pub(crate) fn parse_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DocError> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| DocError::Schema("the content is not UTF-8".into()))?;
    ron::from_str(text).map_err(|e| DocError::Schema(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        name: String,
        seats: u32,
    }

    fn vendor(seed: u8) -> VendorKey {
        VendorKey::from_secret([seed; 32])
    }

    fn trusting(key: &VendorKey) -> TrustedKeys {
        let mut t = TrustedKeys::new();
        t.add(key.verifying_key());
        t
    }

    fn doc() -> Doc {
        Doc {
            name: "Acme".into(),
            seats: 10,
        }
    }

    #[test]
    fn sign_then_open() {
        let key = vendor(1);
        let text = key.sign(DocKind::License, &doc()).unwrap();
        let opened: Verified<Doc> = open(&text, DocKind::License, &trusting(&key)).unwrap();
        assert_eq!(opened.value(), &doc());
        assert_eq!(opened.key_id(), key.key_id().as_str());
        assert_eq!(opened.text(), text);
    }

    #[test]
    fn untrusted_key_refused() {
        let text = vendor(1).sign(DocKind::License, &doc()).unwrap();
        let err = open::<Doc>(&text, DocKind::License, &trusting(&vendor(2))).unwrap_err();
        assert!(matches!(err, DocError::UntrustedKey { .. }));
    }

    #[test]
    fn wrong_kind_refused_even_if_relabelled() {
        let key = vendor(1);
        let text = key.sign(DocKind::License, &doc()).unwrap();
        assert!(matches!(
            open::<Doc>(&text, DocKind::Request, &trusting(&key)),
            Err(DocError::WrongKind { .. })
        ));
        // Relabelling the armor does not carry the signature over: domains differ.
        let relabelled = text.replace("TENURE LICENSE", "TENURE REQUEST");
        assert_eq!(
            open::<Doc>(&relabelled, DocKind::Request, &trusting(&key)),
            Err(DocError::BadSignature)
        );
    }

    #[test]
    fn unknown_version_refused() {
        let key = vendor(1);
        let text = key.sign(DocKind::License, &doc()).unwrap();
        let v2 = text.replace("Format: 1", "Format: 2");
        assert_eq!(
            open::<Doc>(&v2, DocKind::License, &trusting(&key)),
            Err(DocError::UnknownVersion {
                found: 2,
                supported: 1
            })
        );
    }

    #[test]
    fn signed_but_wrong_schema() {
        let key = vendor(1);
        let text = key.sign(DocKind::License, &("just", "a tuple")).unwrap();
        assert!(matches!(
            open::<Doc>(&text, DocKind::License, &trusting(&key)),
            Err(DocError::Schema(_))
        ));
    }

    #[test]
    fn public_key_file_round_trips() {
        let key = vendor(3);
        let mut trusted = TrustedKeys::new();
        let id = trusted.add_public_key_text(&key.public_key_text()).unwrap();
        assert_eq!(&id, key.key_id());
        assert!(format!("{key:?}").contains(id.as_str()));
    }

    proptest! {
        #[test]
        fn round_trip_any_content(name in ".{0,200}", seats in any::<u32>(), seed in any::<u8>()) {
            let key = vendor(seed);
            let value = Doc { name, seats };
            let text = key.sign(DocKind::License, &value).unwrap();
            let opened: Verified<Doc> = open(&text, DocKind::License, &trusting(&key)).unwrap();
            prop_assert_eq!(opened.value(), &value);
        }

        #[test]
        fn any_single_byte_change_is_refused(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let key = vendor(9);
            let text = key.sign(DocKind::License, &doc()).unwrap();
            let mut bytes = text.clone().into_bytes();
            let i = index.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let result = text_from_bytes(&bytes)
                .and_then(|t| open::<Doc>(t, DocKind::License, &trusting(&key)));
            prop_assert!(result.is_err(), "accepted a change at byte {} to {:?}", i, byte);
        }
    }
}
