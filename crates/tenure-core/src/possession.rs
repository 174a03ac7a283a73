//! Proof of possession: the activation credential.
//!
//! At activation the workstation makes an Ed25519 key pair and registers the public half with the
//! server. The private half lives where the license lives (the product database and the cache).
//! Every later validation, grace extension and rebind signs what it asks — action, license id,
//! binding and the request's fresh nonce — so a license id and a binding name, which are not
//! secret, grant nothing on their own.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

use crate::binding::Binding;

/// What a proof is for: one signing domain each, so a proof for one never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofAction {
    /// Restart the grace period.
    Validate,
    /// Extend the grace period.
    Extend,
    /// Move the license to a new binding.
    Rebind,
    /// Give the license up here, to be activated elsewhere.
    Release,
}

impl ProofAction {
    fn domain(self) -> &'static str {
        match self {
            ProofAction::Validate => "validate",
            ProofAction::Extend => "extend",
            ProofAction::Rebind => "rebind",
            ProofAction::Release => "release",
        }
    }
}

/// The bytes a proof signs.
fn proof_message(action: ProofAction, license_id: &str, binding: &Binding, nonce: &str) -> Vec<u8> {
    // Newlines separate fields that never contain one (ids, nonces and canonical names are
    // checked by the server), so no two requests share a message.
    format!(
        "tenure/proof/v1\n{}\n{license_id}\n{}\n{}\n{nonce}",
        action.domain(),
        binding.server,
        binding.database
    )
    .into_bytes()
}

/// The workstation's private activation credential.
#[derive(Clone)]
pub struct Credential {
    signing: SigningKey,
}

impl Credential {
    /// From 32 random bytes (the caller supplies the randomness).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// From its hex form, as stored.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
        Some(Self::from_secret(bytes))
    }

    /// The secret as hex, for storing with the license.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The public half as hex, registered with the server at activation.
    pub fn public_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs a request: the proof, as hex.
    pub fn prove(
        &self,
        action: ProofAction,
        license_id: &str,
        binding: &Binding,
        nonce: &str,
    ) -> String {
        let message = proof_message(action, license_id, binding, nonce);
        hex::encode(self.signing.sign(&message).to_bytes())
    }
}

impl std::fmt::Debug for Credential {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}…)", &self.public_hex()[..8])
    }
}

/// True when `public_hex` is a valid Ed25519 public key.
pub fn is_public_key(public_hex: &str) -> bool {
    decode_public(public_hex).is_some()
}

/// The public half as a key, decoded once (decoding is a point decompression: worth keeping
/// for a holder that proves many requests). A weak key (a point of small order, for which some
/// signatures verify on any message) is no key at all: refused here, at activation.
pub fn decode_public(public_hex: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(public_hex).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes)
        .ok()
        .filter(|key| !key.is_weak())
}

/// Checks a proof against the public half registered at activation.
pub fn verify_proof(
    public_hex: &str,
    proof_hex: &str,
    action: ProofAction,
    license_id: &str,
    binding: &Binding,
    nonce: &str,
) -> bool {
    decode_public(public_hex)
        .is_some_and(|key| verify_proof_with(&key, proof_hex, action, license_id, binding, nonce))
}

/// [`verify_proof`] with the public half already decoded.
pub fn verify_proof_with(
    key: &VerifyingKey,
    proof_hex: &str,
    action: ProofAction,
    license_id: &str,
    binding: &Binding,
    nonce: &str,
) -> bool {
    let Some(signature) = hex::decode(proof_hex)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
    else {
        return false;
    };
    // Weak keys never get here (see `decode_public`), and for any other key RFC 8032's check
    // (canonical s, R recomputed and compared byte for byte) is as hard to forge as
    // `verify_strict`, without decompressing R: a square root less per request.
    !key.is_weak()
        && key
            .verify(
                &proof_message(action, license_id, binding, nonce),
                &signature,
            )
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Binding {
        Binding {
            server: "srv1".into(),
            database: "prod".into(),
        }
    }

    #[test]
    fn a_proof_verifies_only_for_what_it_signed() {
        let credential = Credential::from_secret([3; 32]);
        let public = credential.public_hex();
        let proof = credential.prove(ProofAction::Validate, "lic_1", &here(), "n1");
        assert!(verify_proof(
            &public,
            &proof,
            ProofAction::Validate,
            "lic_1",
            &here(),
            "n1"
        ));
        assert!(!verify_proof(
            &public,
            &proof,
            ProofAction::Rebind,
            "lic_1",
            &here(),
            "n1"
        ));
        assert!(!verify_proof(
            &public,
            &proof,
            ProofAction::Validate,
            "lic_2",
            &here(),
            "n1"
        ));
        assert!(!verify_proof(
            &public,
            &proof,
            ProofAction::Validate,
            "lic_1",
            &here(),
            "n2"
        ));
        let elsewhere = Binding {
            server: "srv2".into(),
            database: "prod".into(),
        };
        assert!(!verify_proof(
            &public,
            &proof,
            ProofAction::Validate,
            "lic_1",
            &elsewhere,
            "n1"
        ));
        let stranger = Credential::from_secret([4; 32]);
        assert!(!verify_proof(
            &stranger.public_hex(),
            &proof,
            ProofAction::Validate,
            "lic_1",
            &here(),
            "n1"
        ));
        assert!(!verify_proof(
            &public,
            "",
            ProofAction::Validate,
            "lic_1",
            &here(),
            "n1"
        ));
        assert!(!verify_proof(
            "zz",
            &proof,
            ProofAction::Validate,
            "lic_1",
            &here(),
            "n1"
        ));
    }

    /// A small-order public key (here the identity point, encoded 01 00 … 00) would accept a
    /// signature that any stranger can write for any message: R = identity, s = 0.
    #[test]
    fn a_weak_public_key_is_refused_and_its_forged_proof_fails() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = hex::encode(identity);
        assert!(decode_public(&weak).is_none(), "refused at activation");
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let at = here();
        let key = VerifyingKey::from_bytes(&identity).expect("the identity decodes");
        assert!(!verify_proof_with(
            &key,
            &hex::encode(forged),
            ProofAction::Validate,
            "lic_1",
            &at,
            "n1"
        ));
    }

    #[test]
    fn the_secret_round_trips_and_never_prints() {
        let credential = Credential::from_secret([5; 32]);
        let again = Credential::from_hex(&credential.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), credential.public_hex());
        assert!(!format!("{credential:?}").contains(&credential.secret_hex()));
    }
}
