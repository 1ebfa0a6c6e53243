//! The force's signature on a batch: a COSE_Sign1 (RFC 9052, EdDSA) over
//! the exact bytes of `manifest.json`, carried beside it as
//! `manifest.cose` with the payload detached.
//!
//! age authenticates nothing about the sender: anyone who knows the
//! supplier's public recipient can seal a valid batch to it. The manifest
//! lists every file's digest, the supplier and the expiry, so a signature
//! over it covers the whole batch. The `kid` is the C2SP signed-note key
//! hash of the force's batch key, which the supplier pins at enrolment as a
//! verifier key string (`lanyard-agent trust --key name+hash+key`); `typ`
//! says what was signed, so no other lanyard signature (a card, a status
//! list) can stand in for this one.

use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, Label, TaggedCborSerializable, iana};
use lanyard_note::{Signer, Verifier};

use crate::PackageError;

/// The signature's name at the archive root.
pub const SIGNATURE: &str = "manifest.cose";
/// The `typ` protected header (RFC 9596) of a manifest signature.
pub const MANIFEST_TYP: &str = "application/vnd.lanyard.print-manifest+json";
/// The `typ` header parameter's label.
const TYP: i64 = 16;

/// Signs `manifest` (the exact bytes stored as `manifest.json`).
pub fn sign(manifest: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, PackageError> {
    let kid = lanyard_note::key_hash(signer.name(), &signer.public_key());
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.to_vec())
        .value(TYP, Value::Text(MANIFEST_TYP.to_owned()))
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .try_create_detached_signature(manifest, b"", |tbs| signer.sign(tbs).map(|s| s.to_vec()))
        .map_err(PackageError::Seal)?
        .build();
    sign1.to_tagged_vec().map_err(|_| PackageError::Seal("encoding the manifest signature".into()))
}

/// Checks `signature` over `manifest` against the pinned keys and returns
/// the key that signed. Unsigned, signed by a key not pinned, and signed
/// but not matching are three different refusals.
pub fn verify<'k>(
    manifest: &[u8],
    signature: Option<&[u8]>,
    trusted: &'k [Verifier],
) -> Result<&'k Verifier, PackageError> {
    let bytes = signature.ok_or(PackageError::Unsigned)?;
    let sign1 = CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|_| PackageError::BadSignature("manifest.cose is not a COSE_Sign1"))?;
    let header = &sign1.protected.header;
    if header.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) {
        return Err(PackageError::BadSignature("the signature's algorithm is not EdDSA"));
    }
    if !header.crit.is_empty() {
        return Err(PackageError::BadSignature("the signature has a critical header lanyard does not know"));
    }
    let typ = header.rest.iter().find_map(|(label, value)| match (label, value) {
        (Label::Int(TYP), Value::Text(t)) => Some(t.as_str()),
        _ => None,
    });
    if typ != Some(MANIFEST_TYP) {
        return Err(PackageError::BadSignature("the signature is not a print manifest's"));
    }
    // A payload inside would be a second manifest beside the one checked.
    if sign1.payload.is_some() {
        return Err(PackageError::BadSignature("the signature carries a payload of its own"));
    }
    let key = trusted
        .iter()
        .find(|k| k.key_hash().as_slice() == header.key_id.as_slice())
        .ok_or(PackageError::UntrustedSigner)?;
    sign1
        .verify_detached_signature(manifest, b"", |sig, tbs| key.verify_signature(tbs, sig))
        .map_err(|_| PackageError::BadSignature("the signature does not match the manifest"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Signer as _;

    use super::*;

    struct Local(&'static str, ed25519_dalek::SigningKey);

    impl Signer for Local {
        fn name(&self) -> &str {
            self.0
        }
        fn public_key(&self) -> [u8; 32] {
            self.1.verifying_key().to_bytes()
        }
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
            Ok(self.1.sign(message).to_bytes())
        }
    }

    fn force(seed: u8) -> (Local, Verifier) {
        let s = Local("lanyard.example/print-batches", ed25519_dalek::SigningKey::from_bytes(&[seed; 32]));
        let v = Verifier::new(s.0, &s.public_key()).unwrap();
        (s, v)
    }

    #[test]
    fn a_signed_manifest_verifies_under_the_pinned_key_only() {
        let (s, v) = force(1);
        let (_, other) = force(2);
        let sig = sign(b"{\"batch\":\"B1\"}", &s).unwrap();
        assert_eq!(verify(b"{\"batch\":\"B1\"}", Some(&sig), std::slice::from_ref(&v)).unwrap(), &v);
        assert!(matches!(
            verify(b"{\"batch\":\"B2\"}", Some(&sig), std::slice::from_ref(&v)),
            Err(PackageError::BadSignature(_))
        ));
        assert!(matches!(
            verify(b"{\"batch\":\"B1\"}", Some(&sig), std::slice::from_ref(&other)),
            Err(PackageError::UntrustedSigner)
        ));
        assert!(matches!(verify(b"{}", None, std::slice::from_ref(&v)), Err(PackageError::Unsigned)));
        assert!(matches!(verify(b"{}", Some(b"junk"), &[v]), Err(PackageError::BadSignature(_))));
    }

    #[test]
    fn a_signature_of_another_kind_is_refused() {
        // Same key, same bytes, but signed as something else (as a card or a
        // status list would be): the typ is bound, so it does not count.
        let (s, v) = force(1);
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .key_id(v.key_hash().to_vec())
            .value(TYP, Value::Text("application/statuslist+cwt".into()))
            .build();
        let other = CoseSign1Builder::new()
            .protected(protected)
            .create_detached_signature(b"m", b"", |tbs| s.sign(tbs).unwrap().to_vec())
            .build()
            .to_tagged_vec()
            .unwrap();
        assert!(matches!(verify(b"m", Some(&other), &[v]), Err(PackageError::BadSignature(_))));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_as_a_signature_are_refused_cleanly(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let (_, v) = force(1);
            proptest::prop_assert!(verify(b"m", Some(&data), &[v]).is_err());
        }
    }
}
