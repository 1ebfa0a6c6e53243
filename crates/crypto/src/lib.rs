//! Keys and encryption for lanyard. Only this crate ever holds key material.
//!
//! The hierarchy of DESIGN §2:
//!
//! - a **root key** that never leaves its [`KeyProvider`]: a passphrase-sealed
//!   [`KeyringProvider`] file by default, or a non-extractable AES key inside a
//!   PKCS#11 token ([`Pkcs11Provider`]);
//! - one versioned **compartment key** per compartment, one **blind-index
//!   key** and one **row-integrity key** ([`RowAuth`]), each wrapped by the
//!   root key;
//! - one **person key** per person per compartment, wrapped by the compartment
//!   key, so that destroying it crypto-shreds that compartment of that person;
//! - **field ciphertexts** under the person key, bound by associated data to
//!   (person, compartment, field, key version): moved elsewhere, they fail to open.
//!
//! Everything secret is zeroized on drop and prints as `[redacted]`.
//!
//! ```
//! use lanyard_core::{Compartment, Field, PersonId};
//! use lanyard_crypto::{FieldSlot, Key32};
//!
//! let person_key = Key32::random();
//! let slot = FieldSlot { person: PersonId::new(), field: Field::Surname, key_version: 1 };
//! let sealed = lanyard_crypto::seal_field(&person_key, &slot, b"Smith").unwrap();
//! assert_eq!(lanyard_crypto::open_field(&person_key, &slot, &sealed).unwrap(), b"Smith");
//! let elsewhere = FieldSlot { field: Field::Forenames, ..slot };
//! assert!(lanyard_crypto::open_field(&person_key, &elsewhere, &sealed).is_err());
//! ```

mod aead;
mod blind;
mod error;
mod keyring;
mod liveness;
mod notes;
mod pkcs11;
mod provider;
mod rowauth;
mod secret;
mod signing;
mod vault;

pub use aead::{FieldSlot, open_field, seal_field};
pub use blind::BlindIndexer;
pub use error::{CryptoError, CryptoErrorKind};
pub use keyring::{KdfParams, KeyringProvider};
pub use liveness::{Liveness, LivenessChange};
pub use notes::{NoteSealer, SealedNote};
pub use pkcs11::{Pkcs11Config, Pkcs11Provider};
pub use provider::{KeyProvider, NativeSigning, SigningKey, WrapContext};
pub use rowauth::{ROW_TAG_LEN, RowAuth};
pub use secret::Key32;
pub use signing::Ed25519Key;
pub use vault::{CompartmentKeyring, OpenFailure, SealedCompartment, Vault};
