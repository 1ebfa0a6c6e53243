//! Field sealing: AES-256-GCM-SIV with associated data that pins a ciphertext
//! to its place.
//!
//! GCM-SIV is chosen over GCM because it stays safe if a random nonce ever
//! repeats, and we seal millions of small values under long-lived keys.
//! Layout of a sealed value: `nonce (12) ‖ ciphertext ‖ tag (16)`.

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

/// A cipher keyed once, for sealing several values under one key.
pub(crate) fn cipher(key: &Key32) -> Aes256GcmSiv {
    Aes256GcmSiv::new(key.expose().into())
}

pub(crate) fn seal(key: &Key32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with(&cipher(key), aad, plaintext)
}

pub(crate) fn seal_with(cipher: &Aes256GcmSiv, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_nonce();
    let ct = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn open(key: &Key32, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    open_with(&cipher(key), aad, sealed)
}

pub(crate) fn open_with(cipher: &Aes256GcmSiv, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (nonce, ct) =
        sealed.split_first_chunk::<NONCE_LEN>().ok_or_else(|| CryptoError::new(CryptoErrorKind::Authentication))?;
    cipher
        .decrypt(&Nonce::from(*nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))
}

/// Seals one field value under a person key.
pub fn seal_field(person_key: &Key32, slot: &FieldSlot, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal(person_key, &slot.associated_data(), plaintext)
}

/// Opens one field value; fails if the key, the place or the bytes differ.
pub fn open_field(person_key: &Key32, slot: &FieldSlot, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    open(person_key, &slot.associated_data(), sealed)
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
