//! Sealed audit notes: the free-text part of a purpose, kept in the audit
//! log only as ciphertext.
//!
//! Each note has a key of its own, used once. The ciphertext goes into the
//! audit event (so the log commits to it, and nobody can change it); the
//! note key, wrapped by the audit-notes key, goes into a row of its own
//! linked to the people the event names. Deleting that row when one of
//! those people is erased crypto-shreds the note, although its ciphertext
//! stays in the append-only log. Only the auditor's read (audited) opens
//! a note.

use crate::aead::{field_cipher, open, open_with, push_part, seal, seal_with};
use crate::error::CryptoError;
use crate::secret::Key32;

/// Seals and opens notes under the audit-notes key (wrapped by the key
/// provider's root key, like the compartment keys).
pub struct NoteSealer {
    key: Key32,
}

impl std::fmt::Debug for NoteSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteSealer([redacted])")
    }
}

/// A note, sealed: the ciphertext for the log, and its key wrapped for the
/// note-key row.
pub struct SealedNote {
    /// `nonce ‖ ciphertext ‖ tag` under the note's own key.
    pub sealed: Vec<u8>,
    /// The note key, wrapped by the audit-notes key.
    pub wrapped_key: Vec<u8>,
}

fn note_ad(id: &str) -> Vec<u8> {
    let mut ad = Vec::with_capacity(48);
    push_part(&mut ad, b"lanyard/audit-note/v1");
    push_part(&mut ad, id.as_bytes());
    ad
}

fn key_ad(id: &str) -> Vec<u8> {
    let mut ad = Vec::with_capacity(48);
    push_part(&mut ad, b"lanyard/audit-note-key/v1");
    push_part(&mut ad, id.as_bytes());
    ad
}

impl NoteSealer {
    /// A sealer under the audit-notes key.
    pub fn new(key: Key32) -> Self {
        NoteSealer { key }
    }

    /// Seals `text` as note `id` under a fresh key.
    pub fn seal(&self, id: &str, text: &[u8]) -> Result<SealedNote, CryptoError> {
        let note_key = Key32::random();
        let sealed = seal_with(&field_cipher(&note_key), &note_ad(id), text)?;
        let wrapped_key = seal(&self.key, &key_ad(id), note_key.expose())?;
        Ok(SealedNote { sealed, wrapped_key })
    }

    /// Opens note `id`; fails if the key, the id or either byte string
    /// differs (a note moved to another event does not open).
    pub fn open(&self, id: &str, sealed: &[u8], wrapped_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let note_key = Key32::from_slice(&zeroize::Zeroizing::new(open(&self.key, &key_ad(id), wrapped_key)?))?;
        open_with(&field_cipher(&note_key), &note_ad(id), sealed)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_note_opens_only_in_its_place(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            let sealer = NoteSealer::new(Key32::random());
            let n = sealer.seal("N1", &text).unwrap();
            prop_assert_eq!(sealer.open("N1", &n.sealed, &n.wrapped_key).unwrap(), text);
            prop_assert!(sealer.open("N2", &n.sealed, &n.wrapped_key).is_err());
            let other = NoteSealer::new(Key32::random());
            prop_assert!(other.open("N1", &n.sealed, &n.wrapped_key).is_err());
            let m = sealer.seal("N1", b"another").unwrap();
            prop_assert!(sealer.open("N1", &n.sealed, &m.wrapped_key).is_err(), "another note's key");
        }
    }
}
