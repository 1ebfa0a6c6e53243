//! Ed25519 signing keys (the audit log's checkpoint key, later the card
//! issuer's). The seed is stored wrapped by the key provider's root key and
//! unwrapped only into this type, which zeroizes it on drop.

use ed25519_dalek::Signer;

use crate::error::CryptoError;
use crate::provider::SigningKey;
use crate::secret::Key32;

/// An Ed25519 key pair held in memory.
pub struct Ed25519Key {
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Key {{ public: {:02x?}, secret: [redacted] }}", &self.public_key()[..4])
    }
}

impl Ed25519Key {
    /// The key pair of a 32-byte seed.
    pub fn from_seed(seed: &Key32) -> Self {
        Ed25519Key { key: ed25519_dalek::SigningKey::from_bytes(seed.expose()) }
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl SigningKey for Ed25519Key {
    fn public_key(&self) -> [u8; 32] {
        Ed25519Key::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], CryptoError> {
        Ok(Ed25519Key::sign(self, message))
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Verifier;

    use super::*;

    #[test]
    fn signs_verifiably_and_hides_the_seed() {
        let seed = Key32::random();
        let k = Ed25519Key::from_seed(&seed);
        let sig = k.sign(b"note");
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&k.public_key()).unwrap();
        assert!(vk.verify(b"note", &ed25519_dalek::Signature::from_bytes(&sig)).is_ok());
        assert!(vk.verify(b"other", &ed25519_dalek::Signature::from_bytes(&sig)).is_err());
        assert!(!format!("{k:?}").contains(&format!("{:02x?}", seed.expose())));
    }
}
