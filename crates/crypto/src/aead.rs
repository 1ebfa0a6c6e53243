//! Authenticated encryption, with associated data that pins a ciphertext to
//! its place. Two modes, each where it fits:
//!
//! - **Key wrapping** (root, compartment keys: long-lived, many messages)
//!   uses AES-256-GCM-SIV, which stays safe even if a random nonce repeats.
//! - **Field values** use AES-256-GCM under the person key. A person key is
//!   made fresh for every write of a compartment and seals at most a handful
//!   of fields, so a nonce collision is out of reach, and GCM avoids the
//!   per-message key derivation that made GCM-SIV the largest cost of an import.
//!
//! Layout of a sealed value, either mode: `nonce (12) ‖ ciphertext ‖ tag (16)`.

use aes_gcm::Aes256Gcm;
use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use lanyard_core::{Field, PersonId};

use crate::error::{CryptoError, CryptoErrorKind};
use crate::secret::{Key32, random_nonce};

const NONCE_LEN: usize = 12;

/// Where a field ciphertext belongs. Its bytes are the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSlot {
    /// The person.
    pub person: PersonId,
    /// The field (its compartment follows from it).
    pub field: Field,
    /// The version of the person key that sealed it.
    pub key_version: u32,
}

impl FieldSlot {
    pub(crate) fn associated_data(&self) -> Vec<u8> {
        let mut ad = Vec::with_capacity(64);
        push_part(&mut ad, b"lanyard/field/v1");
        push_part(&mut ad, self.person.as_uuid().as_bytes());
        push_part(&mut ad, self.field.compartment().as_str().as_bytes());
        push_part(&mut ad, self.field.as_str().as_bytes());
        push_part(&mut ad, &self.key_version.to_be_bytes());
        ad
    }
}

/// Length-prefixed concatenation, so that no two different tuples share bytes.
pub(crate) fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
    out.extend_from_slice(part);
}

/// A field cipher keyed once with a person key, for that person's fields.
pub(crate) fn field_cipher(person_key: &Key32) -> Aes256Gcm {
    Aes256Gcm::new(person_key.expose().into())
}

/// Wraps (seals) under a long-lived key.
pub(crate) fn seal(key: &Key32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with(&Aes256GcmSiv::new(key.expose().into()), aad, plaintext)
}

pub(crate) fn seal_with<C>(cipher: &C, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError>
where
    C: Aead + aes_gcm_siv::aead::AeadCore<NonceSize = aes_gcm_siv::aead::consts::U12>,
{
    let nonce = random_nonce();
    let ct = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Unwraps (opens) under a long-lived key.
pub(crate) fn open(key: &Key32, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    open_with(&Aes256GcmSiv::new(key.expose().into()), aad, sealed)
}

pub(crate) fn open_with<C>(cipher: &C, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError>
where
    C: Aead + aes_gcm_siv::aead::AeadCore<NonceSize = aes_gcm_siv::aead::consts::U12>,
{
    let (nonce, ct) =
        sealed.split_first_chunk::<NONCE_LEN>().ok_or_else(|| CryptoError::new(CryptoErrorKind::Authentication))?;
    cipher
        .decrypt(&Nonce::from(*nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))
}

/// Seals one field value under a person key.
pub fn seal_field(person_key: &Key32, slot: &FieldSlot, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with(&field_cipher(person_key), &slot.associated_data(), plaintext)
}

/// Opens one field value; fails if the key, the place or the bytes differ.
pub fn open_field(person_key: &Key32, slot: &FieldSlot, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    open_with(&field_cipher(person_key), &slot.associated_data(), sealed)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn slot() -> FieldSlot {
        FieldSlot { person: PersonId::new(), field: Field::Surname, key_version: 1 }
    }

    proptest! {
        #[test]
        fn round_trips(value in proptest::collection::vec(any::<u8>(), 0..512)) {
            let key = Key32::random();
            let s = slot();
            let sealed = seal_field(&key, &s, &value).unwrap();
            prop_assert_eq!(open_field(&key, &s, &sealed).unwrap(), value);
        }

        #[test]
        fn any_bit_flip_is_rejected(value in proptest::collection::vec(any::<u8>(), 1..64), bit in any::<prop::sample::Index>()) {
            let key = Key32::random();
            let s = slot();
            let mut sealed = seal_field(&key, &s, &value).unwrap();
            let i = bit.index(sealed.len() * 8);
            sealed[i / 8] ^= 1 << (i % 8);
            prop_assert!(open_field(&key, &s, &sealed).is_err());
        }
    }

    #[test]
    fn bound_to_person_field_and_version() {
        let key = Key32::random();
        let s = slot();
        let sealed = seal_field(&key, &s, b"value").unwrap();
        for other in [
            FieldSlot { person: PersonId::new(), ..s },
            FieldSlot { field: Field::Forenames, ..s },
            FieldSlot { key_version: 2, ..s },
        ] {
            assert!(open_field(&key, &other, &sealed).is_err());
        }
        assert!(open_field(&Key32::random(), &s, &sealed).is_err());
        assert!(open_field(&key, &s, &sealed[..5]).is_err());
    }
}
