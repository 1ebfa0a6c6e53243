//! Signed checkpoints: the C2SP `tlog-checkpoint` body, signed as a C2SP
//! `signed-note` with Ed25519 (DESIGN §4).
//!
//! ```text
//! lanyard.example/force-audit
//! 1234
//! <base64 root hash>
//!
//! — <key name> <base64(4-byte key hash ‖ 64-byte signature)>
//! ```
//!
//! The key hash is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public
//! key); the verifier key string is `<name>+<hex key hash>+<base64(0x01 ‖ key)>`.
//! Signing goes through [`NoteSigner`], so the private key can stay in the key
//! provider; verification needs only the verifier key string.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::merkle::Hash;

/// A tree head: origin, size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, e.g. `lanyard.example/force-audit`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 root hash.
    pub root: Hash,
}

/// Why a note or key was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint refused: {0}")]
pub struct NoteError(pub &'static str);

fn valid_line(s: &str) -> bool {
    !s.is_empty() && !s.contains('\n') && !s.chars().any(|c| c.is_control())
}

impl Checkpoint {
    /// The note body: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    /// Parses a body; lines after the third (extensions) are allowed and ignored.
    pub fn parse_body(body: &str) -> Result<Self, NoteError> {
        let text = body.strip_suffix('\n').ok_or(NoteError("body does not end in a newline"))?;
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|l| valid_line(l)).ok_or(NoteError("bad origin line"))?;
        let size = lines.next().ok_or(NoteError("no size line"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(NoteError("size is not a decimal number"));
        }
        let size: u64 = size.parse().map_err(|_| NoteError("size out of range"))?;
        let root = lines.next().ok_or(NoteError("no root hash line"))?;
        let root = B64.decode(root).map_err(|_| NoteError("root hash is not base64"))?;
        let root: Hash = root.try_into().map_err(|_| NoteError("root hash is not 32 bytes"))?;
        if lines.any(str::is_empty) {
            return Err(NoteError("empty line inside the body"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

/// A named Ed25519 public key that verifies checkpoints: a signed-note
/// verifier (`lanyard-note`) that reads the body as a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier(lanyard_note::Verifier);

fn note_error(e: lanyard_note::NoteError) -> NoteError {
    NoteError(e.0)
}

impl NoteVerifier {
    /// A verifier for `name` and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        lanyard_note::Verifier::new(name, public_key).map(NoteVerifier).map_err(note_error)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// First four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
    pub fn key_hash(&self) -> [u8; 4] {
        self.0.key_hash()
    }

    /// `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.
    pub fn to_key_string(&self) -> String {
        self.0.to_key_string()
    }

    /// Parses a verifier key string, checking that its hash matches.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        lanyard_note::Verifier::parse(text).map(NoteVerifier).map_err(note_error)
    }

    /// Verifies a signed note and returns the checkpoint it carries. Other
    /// signers' lines are allowed and ignored; one valid line of ours is required.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, NoteError> {
        Checkpoint::parse_body(self.0.verify(note).map_err(note_error)?)
    }
}

/// Something that signs notes with an Ed25519 key it keeps to itself.
pub use lanyard_note::Signer as NoteSigner;

/// Signs a checkpoint: its body, a blank line, and our signature line.
pub fn sign_checkpoint(checkpoint: &Checkpoint, signer: &dyn NoteSigner) -> Result<String, String> {
    if !valid_line(&checkpoint.origin) {
        return Err("origin must be one non-empty line".into());
    }
    lanyard_note::sign(&checkpoint.body(), signer)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    struct Local(String, SigningKey);

    impl NoteSigner for Local {
        fn name(&self) -> &str {
            &self.0
        }
        fn public_key(&self) -> [u8; 32] {
            self.1.verifying_key().to_bytes()
        }
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
            Ok(self.1.sign(message).to_bytes())
        }
    }

    fn signer() -> Local {
        Local("lanyard.example/force-audit".into(), SigningKey::from_bytes(&[7u8; 32]))
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint { origin: "lanyard.example/force-audit".into(), size: 1234, root: [0xAB; 32] }
    }

    #[test]
    fn signs_and_verifies_in_the_c2sp_layout() {
        let s = signer();
        let note = sign_checkpoint(&checkpoint(), &s).unwrap();
        let lines: Vec<&str> = note.split('\n').collect();
        assert_eq!(lines[0], "lanyard.example/force-audit");
        assert_eq!(lines[1], "1234");
        assert_eq!(lines[2], B64.encode([0xAB; 32]));
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("\u{2014} lanyard.example/force-audit "));
        let v = NoteVerifier::new(s.name(), &s.public_key()).unwrap();
        assert_eq!(v.verify(&note).unwrap(), checkpoint());
        let parsed = NoteVerifier::parse(&v.to_key_string()).unwrap();
        assert_eq!(parsed, v);
        assert!(v.to_key_string().starts_with("lanyard.example/force-audit+"));
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        let s = signer();
        let note = sign_checkpoint(&checkpoint(), &s).unwrap();
        let v = NoteVerifier::new(s.name(), &s.public_key()).unwrap();
        let bytes = note.as_bytes();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.to_vec();
            b[i / 8] ^= 1 << (i % 8);
            if let Ok(text) = String::from_utf8(b) {
                assert!(v.verify(&text).is_err(), "bit {i} flipped still verifies");
            }
        }
    }

    #[test]
    fn key_strings_round_trip_whatever_the_key() {
        // Standard base64 uses '+', so some keys put one in the key part.
        let mut plus = 0;
        for seed in 0..200u8 {
            let key = SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes();
            let v = NoteVerifier::new("lanyard.example/force-audit", &key).unwrap();
            let text = v.to_key_string();
            plus += usize::from(text.matches('+').count() > 2);
            assert_eq!(NoteVerifier::parse(&text).unwrap(), v, "{text}");
        }
        assert!(plus > 0, "the loop must include keys whose base64 has a '+'");
    }

    #[test]
    fn other_keys_and_bad_key_strings_are_refused() {
        let s = signer();
        let note = sign_checkpoint(&checkpoint(), &s).unwrap();
        let other =
            NoteVerifier::new(s.name(), &SigningKey::from_bytes(&[9u8; 32]).verifying_key().to_bytes()).unwrap();
        assert!(other.verify(&note).is_err());
        let good = NoteVerifier::new(s.name(), &s.public_key()).unwrap().to_key_string();
        let tampered = good.replacen('+', "+0", 1);
        assert!(NoteVerifier::parse(&tampered).is_err());
        assert!(NoteVerifier::parse("name+00000000").is_err());
        assert!(Checkpoint::parse_body("o\n012\nAAAA\n").is_err());
        // A second, unknown signer's line is ignored.
        let extra = format!("{note}\u{2014} someone.else AAAA\n");
        let v = NoteVerifier::new(s.name(), &s.public_key()).unwrap();
        assert!(v.verify(&extra).is_ok());
    }
}
