//! License keys at rest: a keyed hash (HMAC-SHA256) with a secret kept outside the database, so
//! someone who reads the database learns no key. The key is shown once, at creation; lists show
//! its last four digits.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

/// Marks a stored key as hashed (the column once held plain digits).
pub const HASHED_PREFIX: &str = "hmac:";

/// Hashes license keys with the deployment's secret.
#[derive(Clone)]
pub struct KeyHasher {
    secret: [u8; 32],
}

impl std::fmt::Debug for KeyHasher {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHasher({})", self.fingerprint())
    }
}

impl KeyHasher {
    /// A hasher with this secret.
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// A hasher with a fresh random secret (tests and the in-process demo, where nothing
    /// outlives the process).
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        let _ = getrandom::fill(&mut secret);
        Self::new(secret)
    }

    /// The stored form of a key's 13 digits.
    pub fn hash(&self, digits: &str) -> String {
        // HMAC accepts a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"tenure/license-key/v1\n");
        mac.update(digits.as_bytes());
        format!(
            "{HASHED_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// A short public name for the secret: instances sharing a database must agree on it.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"tenure/key-hash-fingerprint\n")
            .chain_update(self.secret)
            .finalize();
        hex::encode(&digest[..8])
    }
}

/// The last four digits of a key, as lists show them.
pub fn last4(digits: &str) -> String {
    digits
        .get(digits.len().saturating_sub(4)..)
        .unwrap_or_default()
        .to_owned()
}

/// A key for lists: only its last four digits, `****-****-*012-3`.
pub fn masked(last4: &str) -> String {
    let mut chars = last4.chars();
    match (chars.next(), chars.next(), chars.next(), chars.next()) {
        (Some(a), Some(b), Some(c), Some(d)) => format!("****-****-*{a}{b}{c}-{d}"),
        _ => "****-****-****-*".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_secret_gives_the_same_hash_and_another_does_not() {
        let a = KeyHasher::new([1; 32]);
        let b = KeyHasher::new([2; 32]);
        assert_eq!(a.hash("1234567890123"), a.hash("1234567890123"));
        assert_ne!(a.hash("1234567890123"), b.hash("1234567890123"));
        assert_ne!(a.hash("1234567890123"), a.hash("1234567890124"));
        assert!(!a.hash("1234567890123").contains("1234567890123"));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!format!("{a:?}").contains(&hex::encode([1u8; 32])));
        assert_eq!(masked(&last4("1234567890123")), "****-****-*012-3");
    }
}
