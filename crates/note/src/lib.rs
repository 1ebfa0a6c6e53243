//! C2SP signed notes with Ed25519: the verifier key string, signing a note
//! and verifying one.
//!
//! ```text
//! <body: lines of text, each ending in a newline>
//!
//! — <key name> <base64(4-byte key hash ‖ 64-byte signature)>
//! ```
//!
//! The key hash is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖
//! public key); the verifier key string is `<name>+<hex key hash>+<base64(0x01
//! ‖ key)>`. A crate of its own because three parties read these keys and
//! no two of them share anything else: the audit log (checkpoints), the
//! print supplier's agent (the force's batch-signing key it pins), and an
//! outside reviewer.

pub mod cosignature;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;
/// Every signature line starts with an em dash and a space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note or a key was refused. The text names the rule, never the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoteError(pub &'static str);

/// A key name: non-empty, no spaces, no '+'.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('+') && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// First four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    [a, b, c, d]
}

/// A note split at the blank line before its signatures: the body (with
/// its final newline) and the signature lines.
pub fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    let split = note.rfind("\n\n").ok_or(NoteError("no blank line before the signatures"))?;
    let body = note.get(..=split).ok_or(NoteError("malformed note"))?;
    let signatures = note.get(split + 2..).ok_or(NoteError("malformed note"))?;
    Ok((body, signatures))
}

/// `<name>+<hex id>+<base64(alg ‖ key)>`: the key string of either kind.
pub(crate) fn key_string(name: &str, id: [u8; 4], alg: u8, key: &[u8; 32]) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(key);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}+{id}+{}", B64.encode(raw))
}

/// Reads a key string of type `alg`: its name, its id as written, and the
/// 32-byte key. The caller checks the id against the name and key.
pub(crate) fn parse_key_string(text: &str, alg: u8) -> Result<(&str, &str, [u8; 32]), NoteError> {
    // The base64 key may itself contain '+': split at the first two only.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError("a key must be name+id+key"));
    };
    let raw = B64.decode(key).map_err(|_| NoteError("the key is not base64"))?;
    let (kind, public) = raw.split_first().ok_or(NoteError("the key is empty"))?;
    if *kind != alg {
        return Err(NoteError(if alg == ALG_ED25519 {
            "the key is not an Ed25519 signed-note key (type 0x01)"
        } else {
            "the key is not an Ed25519 cosignature key (type 0x04)"
        }));
    }
    let public: [u8; 32] = public.try_into().map_err(|_| NoteError("the key is not 32 bytes"))?;
    Ok((name, id, public))
}

fn hex4(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A named Ed25519 public key: what a verifier pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key: VerifyingKey,
}

impl Verifier {
    /// A verifier for `name` and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError("key name must be non-empty, without spaces or '+'"));
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteError("not an Ed25519 public key"))?;
        Ok(Verifier { name: name.to_owned(), key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// First four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
    pub fn key_hash(&self) -> [u8; 4] {
        key_hash(&self.name, &self.key.to_bytes())
    }

    /// `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.
    pub fn to_key_string(&self) -> String {
        key_string(&self.name, self.key_hash(), ALG_ED25519, &self.key.to_bytes())
    }

    /// Parses a verifier key string, checking that its hash matches.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, hash, public) = parse_key_string(text, ALG_ED25519)?;
        let v = Verifier::new(name, &public)?;
        if hash != hex4(v.key_hash()) {
            return Err(NoteError("verifier key hash does not match its name and key"));
        }
        Ok(v)
    }

    /// Checks an Ed25519 signature of `message` by this key (strict: no
    /// malleable or small-order forms).
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), NoteError> {
        let signature = Signature::from_slice(signature).map_err(|_| NoteError("signature is not 64 bytes"))?;
        self.key.verify_strict(message, &signature).map_err(|_| NoteError("bad signature"))
    }

    /// Verifies a signed note and returns its body (ending in a newline).
    /// Other signers' lines are allowed and ignored; one valid line of ours
    /// is required, and a line of ours that does not verify refuses the note.
    pub fn verify<'n>(&self, note: &'n str) -> Result<&'n str, NoteError> {
        let (body, signatures) = split_note(note)?;
        let signatures = signatures.strip_suffix('\n').ok_or(NoteError("signature block does not end in a newline"))?;
        let mut ours = false;
        for line in signatures.split('\n') {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError("signature line does not start with '— '"))?;
            let (name, sig) = rest.split_once(' ').ok_or(NoteError("signature line has no signature"))?;
            if name != self.name {
                continue;
            }
            let raw = B64.decode(sig).map_err(|_| NoteError("signature is not base64"))?;
            let (hash, signature) = raw.split_first_chunk::<4>().ok_or(NoteError("signature too short"))?;
            if *hash != self.key_hash() {
                continue;
            }
            self.verify_signature(body.as_bytes(), signature)?;
            ours = true;
        }
        if !ours {
            return Err(NoteError("no signature by this key"));
        }
        Ok(body)
    }
}

/// Something that signs with an Ed25519 key it keeps to itself (in an HSM,
/// or wrapped by the key provider).
pub trait Signer {
    /// The key's name.
    fn name(&self) -> &str;
    /// The 32-byte public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 signature of `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String>;
}

/// Signs a note: `body` (non-empty lines, each ending in a newline), a
/// blank line, and the signer's line.
pub fn sign(body: &str, signer: &dyn Signer) -> Result<String, String> {
    if body.is_empty() || !body.ends_with('\n') || body.contains("\n\n") {
        return Err("a note body is non-empty lines, each ending in a newline".into());
    }
    if !valid_name(signer.name()) {
        return Err("key name must be non-empty, without spaces or '+'".into());
    }
    let signature = signer.sign(body.as_bytes())?;
    let mut raw = key_hash(signer.name(), &signer.public_key()).to_vec();
    raw.extend_from_slice(&signature);
    Ok(format!("{body}\n{SIG_PREFIX}{} {}\n", signer.name(), B64.encode(raw)))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};

    use super::*;

    struct Local(String, SigningKey);

    impl Signer for Local {
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
        Local("lanyard.example/print-batches".into(), SigningKey::from_bytes(&[7u8; 32]))
    }

    #[test]
    fn a_note_signs_and_verifies_and_names_its_body() {
        let s = signer();
        let note = sign("one\ntwo\n", &s).unwrap();
        let v = Verifier::new(s.name(), &s.public_key()).unwrap();
        assert_eq!(v.verify(&note).unwrap(), "one\ntwo\n");
        assert!(sign("", &s).is_err());
        assert!(sign("no newline", &s).is_err());
        assert!(sign("a\n\nb\n", &s).is_err());
    }

    #[test]
    fn the_key_hash_is_the_c2sp_one() {
        // SHA-256("name\n" ‖ 0x01 ‖ key), first four bytes, computed by hand.
        let key = [7u8; 32];
        let mut h = Sha256::new();
        h.update(b"n\n\x01");
        h.update(key);
        let full: [u8; 32] = h.finalize().into();
        assert_eq!(key_hash("n", &key), full[..4]);
    }

    proptest::proptest! {
        #[test]
        fn key_strings_round_trip(seed in proptest::prelude::any::<[u8; 32]>(), name in "[a-z.]{1,20}/[a-z-]{1,20}") {
            let key = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            let v = Verifier::new(&name, &key).unwrap();
            proptest::prop_assert_eq!(Verifier::parse(&v.to_key_string()).unwrap(), v);
        }

        #[test]
        fn a_changed_body_never_verifies(body in "[a-z0-9 ]{1,40}\n", flip in 0usize..320) {
            let s = signer();
            let note = sign(&body, &s).unwrap();
            let v = Verifier::new(s.name(), &s.public_key()).unwrap();
            let mut bytes = note.into_bytes();
            let i = flip % (body.len() * 8);
            bytes[i / 8] ^= 1 << (i % 8);
            if let Ok(text) = String::from_utf8(bytes) {
                proptest::prop_assert!(v.verify(&text).is_err());
            }
        }
    }
}
