//! COSE_Sign1 (RFC 9052) with EdDSA over Ed25519, as every lanyard credential
//! and status list is signed. `kid` (and `typ`, for status lists) sit in the
//! protected header, so they are covered by the signature.

use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, Label, TaggedCborSerializable, iana};
use lanyard_crypto::SigningKey;

use crate::error::CredentialError;

/// The `typ` header parameter (RFC 9596).
const TYP: i64 = 16;

/// A parsed, not yet verified, COSE_Sign1.
#[derive(Debug)]
pub struct Signed {
    sign1: CoseSign1,
    /// The key id from the protected header.
    pub kid: Vec<u8>,
    /// The `typ` protected header, if present.
    pub typ: Option<String>,
}

/// Signs `payload` as a tagged COSE_Sign1 with EdDSA.
pub fn sign(payload: Vec<u8>, kid: &[u8], typ: Option<&str>, key: &dyn SigningKey) -> Result<Vec<u8>, CredentialError> {
    let mut protected = HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(kid.to_vec());
    if let Some(typ) = typ {
        protected = protected.value(TYP, Value::Text(typ.to_owned()));
    }
    let sign1 = CoseSign1Builder::new()
        .protected(protected.build())
        .payload(payload)
        .try_create_signature(b"", |tbs| key.sign(tbs).map(|s| s.to_vec()))
        .map_err(|e| CredentialError::Signing(e.to_string()))?
        .build();
    sign1.to_tagged_vec().map_err(|_| CredentialError::malformed("COSE_Sign1 encoding"))
}

/// Parses a COSE_Sign1 (tagged, or untagged as some encoders write it) and
/// checks its header: EdDSA, a key id, no critical parameters.
pub fn parse(bytes: &[u8]) -> Result<Signed, CredentialError> {
    let sign1 = CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|_| CredentialError::malformed("COSE_Sign1"))?;
    let header = &sign1.protected.header;
    if header.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) {
        return Err(CredentialError::malformed("COSE_Sign1: algorithm is not EdDSA"));
    }
    if !header.crit.is_empty() {
        return Err(CredentialError::malformed("COSE_Sign1: unsupported critical header"));
    }
    if header.key_id.is_empty() {
        return Err(CredentialError::malformed("COSE_Sign1: no kid in the protected header"));
    }
    if sign1.payload.is_none() {
        return Err(CredentialError::malformed("COSE_Sign1: detached payload"));
    }
    let typ = header.rest.iter().find_map(|(label, value)| match (label, value) {
        (Label::Int(TYP), Value::Text(t)) => Some(t.clone()),
        _ => None,
    });
    let kid = header.key_id.clone();
    Ok(Signed { sign1, kid, typ })
}

impl Signed {
    /// Checks the signature under `public_key`.
    pub fn verify(&self, public_key: &[u8; 32]) -> Result<(), CredentialError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).map_err(|_| CredentialError::UnknownIssuer)?;
        self.verify_with(&key)
    }

    /// Checks the signature under an already decoded key (a verifier that
    /// checks many cards decodes each trusted key once).
    pub fn verify_with(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), CredentialError> {
        self.sign1.verify_signature(b"", |sig, data| {
            let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| CredentialError::BadSignature)?;
            key.verify_strict(data, &sig).map_err(|_| CredentialError::BadSignature)
        })
    }

    /// The payload (present: [`parse`] refuses detached ones).
    pub fn payload(&self) -> &[u8] {
        self.sign1.payload.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use lanyard_crypto::{Ed25519Key, Key32};

    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_other_keys_and_tampering() {
        let key = Ed25519Key::from_seed(&Key32::random());
        let other = Ed25519Key::from_seed(&Key32::random());
        let bytes = sign(b"payload".to_vec(), b"k1", Some("application/statuslist+cwt"), &key).unwrap();
        let signed = parse(&bytes).unwrap();
        assert_eq!(signed.kid, b"k1");
        assert_eq!(signed.typ.as_deref(), Some("application/statuslist+cwt"));
        signed.verify(&key.public_key()).unwrap();
        assert_eq!(signed.verify(&other.public_key()), Err(CredentialError::BadSignature));

        let mut tampered = bytes.clone();
        let at = tampered.windows(7).position(|w| w == b"payload").unwrap();
        tampered[at] ^= 1;
        assert_eq!(parse(&tampered).unwrap().verify(&key.public_key()), Err(CredentialError::BadSignature));
        assert!(parse(b"not cbor").is_err());
    }
}
