//! C2SP `tlog-cosignature`, version 1 (Ed25519): a witness's statement
//! that, at a time, the largest consistent tree it has seen of a log has
//! this root.
//!
//! A cosignature is a note signature line whose key id is the first four
//! bytes of SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key) and whose signature is
//! an 8-byte big-endian timestamp followed by an Ed25519 signature of
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint's body>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{NoteError, SIG_PREFIX, key_string, parse_key_string, valid_name};

/// The key-id type byte of Ed25519 cosignatures.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// First four bytes of SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_COSIGNATURE_V1]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    [a, b, c, d]
}

/// The message a v1 cosignature signs.
fn message(body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// A witness's signing key and name.
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cosigner {{ name: {}, key: [redacted] }}", self.name)
    }
}

impl Cosigner {
    /// A cosigner named `name` with the Ed25519 key of `seed`.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError("key name must be non-empty, without spaces or '+'"));
        }
        Ok(Cosigner { name: name.to_owned(), key: SigningKey::from_bytes(seed) })
    }

    /// Its verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier { name: self.name.clone(), key: self.key.verifying_key() }
    }

    /// The signature line (with its newline) cosigning the checkpoint
    /// `body` at `timestamp` (POSIX seconds).
    pub fn cosign(&self, body: &str, timestamp: u64) -> String {
        let signature = self.key.sign(&message(body, timestamp));
        let mut raw = key_id(&self.name, &self.key.verifying_key().to_bytes()).to_vec();
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&signature.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A witness's public key, as a log or a verifier pins it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier for `name` and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError("key name must be non-empty, without spaces or '+'"));
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteError("not an Ed25519 public key"))?;
        Ok(CosignatureVerifier { name: name.to_owned(), key })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>+<hex key id>+<base64(0x04 ‖ public key)>` (a C2SP vkey).
    pub fn to_key_string(&self) -> String {
        let key = self.key.to_bytes();
        key_string(&self.name, key_id(&self.name, &key), ALG_COSIGNATURE_V1, &key)
    }

    /// Parses a vkey of type 0x04, checking that its id matches.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, id, public) = parse_key_string(text, ALG_COSIGNATURE_V1)?;
        let v = CosignatureVerifier::new(name, &public)?;
        if id != crate::hex4(key_id(name, &public)) {
            return Err(NoteError("witness key id does not match its name and key"));
        }
        Ok(v)
    }

    /// The timestamp of this witness's cosignature among the signature
    /// lines of a note whose body is `body`, if one verifies. Lines of
    /// other keys are ignored; a line of this key that does not verify
    /// refuses the note.
    pub fn verify(&self, body: &str, signature_lines: &str) -> Result<u64, NoteError> {
        let id = key_id(&self.name, &self.key.to_bytes());
        let mut found = None;
        for line in signature_lines.lines().filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError("signature line does not start with '— '"))?;
            let (name, sig) = rest.split_once(' ').ok_or(NoteError("signature line has no signature"))?;
            if name != self.name {
                continue;
            }
            let raw = B64.decode(sig).map_err(|_| NoteError("signature is not base64"))?;
            let (line_id, rest) = raw.split_first_chunk::<4>().ok_or(NoteError("signature too short"))?;
            if *line_id != id {
                continue;
            }
            let (time, signature) = rest.split_first_chunk::<8>().ok_or(NoteError("cosignature too short"))?;
            let timestamp = u64::from_be_bytes(*time);
            if timestamp > i64::MAX as u64 {
                return Err(NoteError("cosignature timestamp out of range"));
            }
            let signature = Signature::from_slice(signature).map_err(|_| NoteError("signature is not 64 bytes"))?;
            self.key.verify_strict(&message(body, timestamp), &signature).map_err(|_| NoteError("bad cosignature"))?;
            found = Some(timestamp);
        }
        found.ok_or(NoteError("no cosignature by this witness"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn a_cosignature_verifies_and_carries_its_time() {
        let w = Cosigner::new("witness.example/w1", &[9u8; 32]).unwrap();
        let line = w.cosign(BODY, 1_679_315_147);
        assert_eq!(w.verifier().verify(BODY, &line), Ok(1_679_315_147));
        let other = BODY.replace("20852163", "20852164");
        assert!(w.verifier().verify(&other, &line).is_err(), "another body");
        let stranger = Cosigner::new("witness.example/w2", &[8u8; 32]).unwrap();
        assert!(stranger.verifier().verify(BODY, &line).is_err(), "another witness's line is not ours");
    }

    #[test]
    fn the_key_id_is_the_c2sp_one_and_vkeys_round_trip() {
        let w = Cosigner::new("w", &[9u8; 32]).unwrap();
        let pk = w.verifier().key.to_bytes();
        let mut h = Sha256::new();
        h.update(b"w\n\x04");
        h.update(pk);
        let full: [u8; 32] = h.finalize().into();
        assert_eq!(key_id("w", &pk), full[..4]);
        let v = w.verifier();
        assert_eq!(CosignatureVerifier::parse(&v.to_key_string()).unwrap(), v);
        // A checkpoint key (type 0x01) is not a witness key.
        let log = crate::Verifier::new("w", &pk).unwrap().to_key_string();
        assert!(CosignatureVerifier::parse(&log).is_err());
    }

    proptest::proptest! {
        #[test]
        fn a_changed_cosignature_never_verifies(flip in 0usize..(76 * 8), time in 0u64..(1 << 40)) {
            let w = Cosigner::new("witness.example/w1", &[9u8; 32]).unwrap();
            let line = w.cosign(BODY, time);
            let b64 = line.trim_end().rsplit(' ').next().unwrap();
            let mut raw = B64.decode(b64).unwrap();
            raw[flip / 8] ^= 1 << (flip % 8);
            let bad = format!("{SIG_PREFIX}witness.example/w1 {}\n", B64.encode(raw));
            proptest::prop_assert!(w.verifier().verify(BODY, &bad).is_err());
        }
    }
}
