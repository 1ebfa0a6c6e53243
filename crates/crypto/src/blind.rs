//! Blind indexes: keyed HMAC-SHA256 of normalised values, so exact lookups
//! work without storing plaintext. Each field gets its own HKDF-derived
//! subkey, so equal values in different fields do not link.
//!
//! The same key also seeds canary records (DESIGN §7): a canary is made
//! from `canary_seed(nonce)`, so the store keeps only the nonce and someone
//! who reads the database cannot tell which exported rows are canaries.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use lanyard_core::Field;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{CryptoError, CryptoErrorKind};
use crate::secret::Key32;

type HmacSha256 = Hmac<Sha256>;

/// Computes blind indexes under one index key.
#[derive(Clone)]
pub struct BlindIndexer {
    service_number: HmacSha256,
    surname: HmacSha256,
    email: HmacSha256,
    canary: HmacSha256,
}

impl std::fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexer([redacted])")
    }
}

fn subkey(index_key: &Key32, label: &str) -> Result<HmacSha256, CryptoError> {
    let hk = Hkdf::<Sha256>::new(Some(b"lanyard/blind-index/v1"), index_key.expose());
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(label.as_bytes(), okm.as_mut())
        .map_err(|_| CryptoError::new(CryptoErrorKind::Malformed("blind-index subkey")))?;
    HmacSha256::new_from_slice(okm.as_ref())
        .map_err(|_| CryptoError::new(CryptoErrorKind::Malformed("blind-index subkey")))
}

impl BlindIndexer {
    /// An indexer keyed by `index_key`.
    pub fn new(index_key: &Key32) -> Result<Self, CryptoError> {
        Ok(BlindIndexer {
            service_number: subkey(index_key, "service_number")?,
            surname: subkey(index_key, "surname")?,
            email: subkey(index_key, "email")?,
            canary: subkey(index_key, "canary")?,
        })
    }

    /// The blind index of an already-normalised value, for the fields that
    /// have one (service number, surname, email).
    pub fn index(&self, field: Field, normalised: &str) -> Option<[u8; 32]> {
        let mac = match field {
            Field::ServiceNumber => &self.service_number,
            Field::Surname => &self.surname,
            Field::Email => &self.email,
            _ => return None,
        };
        let mut mac = mac.clone();
        mac.update(normalised.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// The seed a canary record is generated from. Only synthetic values
    /// come from it, never a key.
    pub fn canary_seed(&self, nonce: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut mac = self.canary.clone();
        mac.update(nonce);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_per_field_and_deterministic() {
        let key = Key32::random();
        let ix = BlindIndexer::new(&key).unwrap();
        let a = ix.index(Field::Surname, "smith").unwrap();
        assert_eq!(a, ix.index(Field::Surname, "smith").unwrap());
        assert_ne!(a, ix.index(Field::Email, "smith").unwrap());
        assert_ne!(a, BlindIndexer::new(&Key32::random()).unwrap().index(Field::Surname, "smith").unwrap());
        assert!(ix.index(Field::Salary, "1").is_none());
        let seed = ix.canary_seed(b"n1");
        assert_eq!(*seed, *ix.canary_seed(b"n1"));
        assert_ne!(*seed, *ix.canary_seed(b"n2"));
        assert_ne!(seed.as_slice(), ix.index(Field::Email, "n1").unwrap().as_slice(), "its own subkey");
    }
}
