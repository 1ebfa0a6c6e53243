//! The unwrapped middle of the key hierarchy: compartment keys by version and
//! the blind indexer. Person keys are made, wrapped and unwrapped here and
//! never leave this module.

use std::collections::{BTreeMap, HashMap};

use lanyard_core::{Compartment, Field, PersonId};
use zeroize::Zeroizing;

use crate::aead::{FieldSlot, field_cipher, open, open_with, push_part, seal, seal_with};
use crate::blind::BlindIndexer;
use crate::error::{CryptoError, CryptoErrorKind};
use crate::secret::Key32;

/// The versions of one compartment's key.
#[derive(Default)]
pub struct CompartmentKeyring {
    versions: BTreeMap<u32, Key32>,
}

impl CompartmentKeyring {
    /// The newest version, which new writes use.
    pub fn current(&self) -> Option<u32> {
        self.versions.keys().next_back().copied()
    }

    /// Every loaded version, oldest first.
    pub fn versions(&self) -> Vec<u32> {
        self.versions.keys().copied().collect()
    }
}

/// One compartment of one person, sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedCompartment {
    /// Which compartment.
    pub compartment: Compartment,
    /// The compartment key version that wraps the person key.
    pub ck_version: u32,
    /// The person key, wrapped by that compartment key.
    pub wrapped_key: Vec<u8>,
    /// The person key's own version; bound into every field ciphertext.
    pub key_version: u32,
    /// Field ciphertexts.
    pub fields: Vec<(Field, Vec<u8>)>,
}

/// A field that failed to open, and why. Carries no plaintext.
#[derive(Debug)]
pub struct OpenFailure {
    /// The field whose ciphertext failed, or `None` when the person key did.
    pub field: Option<Field>,
    /// The cause.
    pub error: CryptoError,
}

/// Compartment keys and the blind indexer, unwrapped and ready.
pub struct Vault {
    compartments: HashMap<Compartment, CompartmentKeyring>,
    indexer: BlindIndexer,
    notes: Option<crate::notes::NoteSealer>,
}

fn person_key_ad(person: PersonId, compartment: Compartment, ck_version: u32, key_version: u32) -> Vec<u8> {
    let mut ad = Vec::with_capacity(64);
    push_part(&mut ad, b"lanyard/person-key/v1");
    push_part(&mut ad, person.as_uuid().as_bytes());
    push_part(&mut ad, compartment.as_str().as_bytes());
    push_part(&mut ad, &ck_version.to_be_bytes());
    push_part(&mut ad, &key_version.to_be_bytes());
    ad
}

impl Vault {
    /// An empty vault around an indexer.
    pub fn new(indexer: BlindIndexer) -> Self {
        Vault { compartments: HashMap::new(), indexer, notes: None }
    }

    /// Loads the unwrapped audit-notes key.
    pub fn set_notes_key(&mut self, key: Key32) {
        self.notes = Some(crate::notes::NoteSealer::new(key));
    }

    /// The audit-notes sealer, once its key is loaded.
    pub fn notes(&self) -> Option<&crate::notes::NoteSealer> {
        self.notes.as_ref()
    }

    /// Loads one unwrapped compartment key.
    pub fn add_compartment_key(&mut self, compartment: Compartment, version: u32, key: Key32) {
        self.compartments.entry(compartment).or_default().versions.insert(version, key);
    }

    /// The keys of `compartment`.
    pub fn keyring(&self, compartment: Compartment) -> Option<&CompartmentKeyring> {
        self.compartments.get(&compartment)
    }

    /// The blind indexer.
    pub fn indexer(&self) -> &BlindIndexer {
        &self.indexer
    }

    fn compartment_key(&self, compartment: Compartment, version: u32) -> Result<&Key32, CryptoError> {
        self.compartments.get(&compartment).and_then(|k| k.versions.get(&version)).ok_or_else(|| {
            CryptoError::new(CryptoErrorKind::UnknownKeyVersion { compartment: compartment.as_str(), version })
        })
    }

    fn current(&self, compartment: Compartment) -> Result<(u32, &Key32), CryptoError> {
        let version = self.compartments.get(&compartment).and_then(CompartmentKeyring::current).ok_or_else(|| {
            CryptoError::new(CryptoErrorKind::UnknownKeyVersion { compartment: compartment.as_str(), version: 0 })
        })?;
        Ok((version, self.compartment_key(compartment, version)?))
    }

    /// Seals the given fields of one compartment under a fresh person key of
    /// `key_version`, wrapped by the compartment's current key.
    pub fn seal_compartment(
        &self,
        person: PersonId,
        compartment: Compartment,
        key_version: u32,
        fields: &[(Field, &[u8])],
    ) -> Result<SealedCompartment, CryptoError> {
        let (ck_version, ck) = self.current(compartment)?;
        let person_key = Key32::random();
        let wrapped_key = seal(ck, &person_key_ad(person, compartment, ck_version, key_version), person_key.expose())?;
        let cipher = field_cipher(&person_key);
        let mut sealed = Vec::with_capacity(fields.len());
        for (field, value) in fields {
            if field.compartment() != compartment {
                return Err(CryptoError::new(CryptoErrorKind::Malformed("field outside its compartment")));
            }
            let slot = FieldSlot { person, field: *field, key_version };
            sealed.push((*field, seal_with(&cipher, &slot.associated_data(), value)?));
        }
        Ok(SealedCompartment { compartment, ck_version, wrapped_key, key_version, fields: sealed })
    }

    fn person_key(&self, person: PersonId, sealed: &SealedCompartment) -> Result<Key32, CryptoError> {
        let ck = self.compartment_key(sealed.compartment, sealed.ck_version)?;
        let ad = person_key_ad(person, sealed.compartment, sealed.ck_version, sealed.key_version);
        let bytes = Zeroizing::new(open(ck, &ad, &sealed.wrapped_key)?);
        Key32::from_slice(&bytes)
    }

    /// Opens the fields of `sealed` that are in `wanted`, and only those.
    pub fn open_compartment(
        &self,
        person: PersonId,
        sealed: &SealedCompartment,
        wanted: &[Field],
    ) -> Result<Vec<(Field, Vec<u8>)>, OpenFailure> {
        let key = self.person_key(person, sealed).map_err(|error| OpenFailure { field: None, error })?;
        let cipher = field_cipher(&key);
        let mut out = Vec::new();
        for (field, ct) in sealed.fields.iter().filter(|(f, _)| wanted.contains(f)) {
            if field.compartment() != sealed.compartment {
                return Err(OpenFailure {
                    field: Some(*field),
                    error: CryptoError::new(CryptoErrorKind::Authentication),
                });
            }
            let slot = FieldSlot { person, field: *field, key_version: sealed.key_version };
            let plain = open_with(&cipher, &slot.associated_data(), ct)
                .map_err(|error| OpenFailure { field: Some(*field), error })?;
            out.push((*field, plain));
        }
        Ok(out)
    }

    /// Re-wraps a person key under the compartment's current key. The field
    /// ciphertexts are untouched, which is what makes rotation cheap and
    /// interruptible: every row is readable under either version.
    pub fn rewrap(&self, person: PersonId, sealed: &SealedCompartment) -> Result<(u32, Vec<u8>), CryptoError> {
        let key = self.person_key(person, sealed)?;
        let (ck_version, ck) = self.current(sealed.compartment)?;
        let wrapped =
            seal(ck, &person_key_ad(person, sealed.compartment, ck_version, sealed.key_version), key.expose())?;
        Ok((ck_version, wrapped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        let mut v = Vault::new(BlindIndexer::new(&Key32::random()).unwrap());
        for c in Compartment::ALL {
            v.add_compartment_key(c, 1, Key32::random());
        }
        v
    }

    #[test]
    fn seal_open_only_wanted_fields() {
        let v = vault();
        let p = PersonId::new();
        let s = v
            .seal_compartment(p, Compartment::Identity, 1, &[(Field::Surname, b"Smith"), (Field::Email, b"s@x.uk")])
            .unwrap();
        let opened = v.open_compartment(p, &s, &[Field::Surname]).unwrap();
        assert_eq!(opened, vec![(Field::Surname, b"Smith".to_vec())]);
        assert!(v.seal_compartment(p, Compartment::Pay, 1, &[(Field::Surname, b"x")]).is_err());
    }

    #[test]
    fn swapped_rows_and_fields_fail_with_the_field_named() {
        let v = vault();
        let (a, b) = (PersonId::new(), PersonId::new());
        let sa = v
            .seal_compartment(a, Compartment::Identity, 1, &[(Field::Surname, b"A"), (Field::Forenames, b"F")])
            .unwrap();
        assert!(v.open_compartment(b, &sa, &[Field::Surname]).unwrap_err().field.is_none());
        let mut swapped = sa.clone();
        swapped.fields[0].0 = Field::Forenames;
        swapped.fields[1].0 = Field::Surname;
        let err = v.open_compartment(a, &swapped, &[Field::Surname, Field::Forenames]).unwrap_err();
        assert!(err.field.is_some());
    }

    #[test]
    fn rotation_rewraps_without_touching_fields() {
        let mut v = vault();
        let p = PersonId::new();
        let s = v.seal_compartment(p, Compartment::Pay, 1, &[(Field::Salary, b"100")]).unwrap();
        v.add_compartment_key(Compartment::Pay, 2, Key32::random());
        let (ver, wrapped) = v.rewrap(p, &s).unwrap();
        assert_eq!(ver, 2);
        let rotated = SealedCompartment { ck_version: 2, wrapped_key: wrapped, ..s.clone() };
        assert_eq!(v.open_compartment(p, &rotated, &[Field::Salary]).unwrap()[0].1, b"100");
        assert_eq!(v.open_compartment(p, &s, &[Field::Salary]).unwrap()[0].1, b"100");
    }
}
