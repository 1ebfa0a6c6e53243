//! The IETF Token Status List (draft-ietf-oauth-status-list) in CWT form,
//! with 2 bits per card: 0 valid, 1 invalid, 2 suspended.
//!
//! Entry `i` sits in byte `i / 4` at bit offset `2 * (i % 4)`, least
//! significant first, as the draft fixes. The list is zlib-compressed inside
//! a COSE_Sign1 with `typ` `application/statuslist+cwt`, signed by the issuer.

use std::io::{Read, Write};

use ciborium::value::{Integer, Value};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::bundle::{IssuerSigner, TrustBundle};
use crate::claims::{as_text, as_time, as_u64, keys};
use crate::cose;
use crate::error::CredentialError;

/// The `typ` of a status list token.
pub const TYP: &str = "application/statuslist+cwt";
/// Bits per entry.
pub const BITS: u8 = 2;
/// The largest decompressed list accepted (64 million cards).
pub const MAX_LIST_BYTES: usize = 16 << 20;

pub use lanyard_core::CardStatus;

fn bits(status: CardStatus) -> u8 {
    match status {
        CardStatus::Valid => 0,
        CardStatus::Invalid => 1,
        CardStatus::Suspended => 2,
    }
}

fn from_bits(b: u8) -> CardStatus {
    match b {
        0 => CardStatus::Valid,
        2 => CardStatus::Suspended,
        // 3 is application-specific in the draft; lanyard never writes
        // it, so a list carrying it is treated as invalid (fail closed).
        _ => CardStatus::Invalid,
    }
}

/// A list of 2-bit statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `len` valid entries.
    pub fn new(len: u64) -> Self {
        StatusList { bytes: vec![0; usize::try_from(len.div_ceil(4)).unwrap_or(0)] }
    }

    /// How many entries it holds (a multiple of 4).
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * 4
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Sets entry `idx`, growing the list if needed.
    pub fn set(&mut self, idx: u64, status: CardStatus) {
        let Ok(byte) = usize::try_from(idx / 4) else { return };
        if byte >= self.bytes.len() {
            self.bytes.resize(byte + 1, 0);
        }
        let shift = (idx % 4) * 2;
        if let Some(b) = self.bytes.get_mut(byte) {
            *b = (*b & !(0b11 << shift)) | (bits(status) << shift);
        }
    }

    /// Entry `idx`, or `None` past the end.
    pub fn get(&self, idx: u64) -> Option<CardStatus> {
        let byte = self.bytes.get(usize::try_from(idx / 4).ok()?)?;
        Some(from_bits((byte >> ((idx % 4) * 2)) & 0b11))
    }

    /// The zlib-compressed bytes (`lst`).
    pub fn compress(&self) -> Result<Vec<u8>, CredentialError> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&self.bytes).map_err(|e| CredentialError::StatusList(e.to_string()))?;
        z.finish().map_err(|e| CredentialError::StatusList(e.to_string()))
    }

    /// Inflates `lst`, refusing more than [`MAX_LIST_BYTES`].
    pub fn decompress(lst: &[u8]) -> Result<Self, CredentialError> {
        let mut bytes = Vec::new();
        let n = ZlibDecoder::new(lst)
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| CredentialError::malformed("status list: lst is not a zlib stream"))?;
        if n > MAX_LIST_BYTES {
            return Err(CredentialError::malformed("status list: larger than 16 MiB inflated"));
        }
        Ok(StatusList { bytes })
    }
}

/// A verified status list token.
#[derive(Clone, Debug)]
pub struct StatusListToken {
    /// `sub`: the list's URI, which cards name.
    pub uri: String,
    /// `iat`.
    pub issued_at: i64,
    /// `exp`, if set.
    pub expires_at: Option<i64>,
    /// `ttl`: how long a verifier may cache it, in seconds.
    pub ttl: Option<u64>,
    /// The statuses.
    pub list: StatusList,
}

/// What a signed list covers and how long it may be cached.
#[derive(Clone, Debug)]
pub struct ListTimes {
    /// `iat`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
    /// `ttl`.
    pub ttl: u64,
}

impl StatusListToken {
    /// Signs `list` as a status list token for `uri`.
    pub fn sign(
        list: &StatusList,
        uri: &str,
        times: &ListTimes,
        signer: &IssuerSigner,
    ) -> Result<Vec<u8>, CredentialError> {
        let int = |v: i64| Value::Integer(Integer::from(v));
        let claims = Value::Map(vec![
            (int(keys::SUB), Value::Text(uri.to_owned())),
            (int(keys::IAT), int(times.issued_at)),
            (int(keys::EXP), int(times.expires_at)),
            (int(keys::TTL), Value::Integer(Integer::from(times.ttl))),
            (
                int(keys::STATUS_LIST),
                Value::Map(vec![
                    (Value::Text("bits".into()), Value::Integer(Integer::from(BITS))),
                    (Value::Text("lst".into()), Value::Bytes(list.compress()?)),
                ]),
            ),
        ]);
        let mut payload = Vec::new();
        ciborium::into_writer(&claims, &mut payload).map_err(|_| CredentialError::malformed("status list claims"))?;
        cose::sign(payload, &signer.kid, Some(TYP), signer.key.as_ref())
    }

    /// Parses and verifies a status list token against `bundle`, refusing
    /// one past its `exp` at `now`.
    pub fn verify(bytes: &[u8], bundle: &TrustBundle, now: i64) -> Result<Self, CredentialError> {
        let signed = cose::parse(bytes)?;
        if signed.typ.as_deref() != Some(TYP) {
            return Err(CredentialError::malformed(format!("status list: typ is not {TYP}")));
        }
        let key = bundle.key(&signed.kid).ok_or(CredentialError::UnknownIssuer)?;
        signed.verify(&key)?;
        let token = Self::from_claims(signed.payload())?;
        if let Some(exp) = token.expires_at
            && exp <= now
        {
            return Err(CredentialError::StatusList("it has expired; fetch a fresh one".into()));
        }
        Ok(token)
    }

    fn from_claims(payload: &[u8]) -> Result<Self, CredentialError> {
        let value: Value =
            ciborium::from_reader(payload).map_err(|_| CredentialError::malformed("status list: claims not CBOR"))?;
        let Value::Map(entries) = value else {
            return Err(CredentialError::malformed("status list: claims not a map"));
        };
        let (mut uri, mut iat, mut exp, mut ttl, mut list) = (None, None, None, None, None);
        for (k, v) in entries {
            let Some(k) = k.as_integer().and_then(|i| i64::try_from(i).ok()) else { continue };
            match k {
                keys::SUB => uri = Some(as_text(v, "sub")?),
                keys::IAT => iat = Some(as_time(v, "iat")?),
                keys::EXP => exp = Some(as_time(v, "exp")?),
                keys::TTL => ttl = Some(as_u64(v, "status list: ttl")?),
                keys::STATUS_LIST => list = Some(Self::list(v)?),
                _ => {}
            }
        }
        Ok(StatusListToken {
            uri: uri.ok_or_else(|| CredentialError::malformed("status list: no sub"))?,
            issued_at: iat.ok_or_else(|| CredentialError::malformed("status list: no iat"))?,
            expires_at: exp,
            ttl,
            list: list.ok_or_else(|| CredentialError::malformed("status list: no status_list claim"))?,
        })
    }

    fn list(v: Value) -> Result<StatusList, CredentialError> {
        let Value::Map(members) = v else { return Err(CredentialError::malformed("status list: not a map")) };
        let (mut bits, mut lst) = (None, None);
        for (k, v) in members {
            match (k.as_text(), v) {
                (Some("bits"), v) => bits = Some(as_u64(v, "status list: bits")?),
                (Some("lst"), Value::Bytes(b)) => lst = Some(b),
                (Some("lst"), _) => return Err(CredentialError::malformed("status list: lst is not bytes")),
                _ => {}
            }
        }
        if bits != Some(u64::from(BITS)) {
            return Err(CredentialError::malformed("status list: bits is not 2"));
        }
        StatusList::decompress(&lst.ok_or_else(|| CredentialError::malformed("status list: no lst"))?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use lanyard_crypto::{Ed25519Key, Key32};
    use proptest::prelude::*;

    use super::*;

    pub(crate) fn signer(version: u32) -> IssuerSigner {
        IssuerSigner { kid: crate::bundle::key_id(version), key: Arc::new(Ed25519Key::from_seed(&Key32::random())) }
    }

    #[test]
    fn packs_two_bits_least_significant_first() {
        let mut l = StatusList::new(8);
        l.set(0, CardStatus::Invalid);
        l.set(1, CardStatus::Suspended);
        l.set(3, CardStatus::Invalid);
        l.set(5, CardStatus::Suspended);
        // idx0=01, idx1=10, idx2=00, idx3=01 -> 0b01_00_10_01
        assert_eq!(l.bytes, vec![0b0100_1001, 0b0000_1000]);
        assert_eq!(l.get(1), Some(CardStatus::Suspended));
        assert_eq!(l.get(2), Some(CardStatus::Valid));
        assert_eq!(l.get(8), None);
        l.set(1, CardStatus::Valid);
        assert_eq!(l.get(1), Some(CardStatus::Valid));
        l.set(41, CardStatus::Invalid);
        assert_eq!(l.len(), 44);
    }

    #[test]
    fn signed_list_verifies_and_expired_or_foreign_lists_are_refused() {
        let key = signer(1);
        let bundle = TrustBundle {
            issuer: "i".into(),
            keys: vec![key.jwk()],
            status_list_uri: "https://x/v1/status-lists/1".into(),
        };
        let mut l = StatusList::new(1000);
        l.set(999, CardStatus::Suspended);
        let times = ListTimes { issued_at: 100, expires_at: 200, ttl: 60 };
        let bytes = StatusListToken::sign(&l, &bundle.status_list_uri, &times, &key).unwrap();
        let t = StatusListToken::verify(&bytes, &bundle, 150).unwrap();
        assert_eq!(t.list.get(999), Some(CardStatus::Suspended));
        assert_eq!((t.uri.as_str(), t.ttl), (bundle.status_list_uri.as_str(), Some(60)));
        assert!(StatusListToken::verify(&bytes, &bundle, 200).unwrap_err().to_string().contains("expired"));

        let stranger = signer(2);
        let foreign = StatusListToken::sign(&l, &bundle.status_list_uri, &times, &stranger).unwrap();
        assert_eq!(StatusListToken::verify(&foreign, &bundle, 150).unwrap_err(), CredentialError::UnknownIssuer);
    }

    proptest! {
        #[test]
        fn set_then_get(ops in proptest::collection::vec((0u64..4096, 0u8..3), 0..200)) {
            let mut l = StatusList::new(0);
            let mut model = std::collections::HashMap::new();
            for (i, s) in ops {
                let s = from_bits(s);
                l.set(i, s);
                model.insert(i, s);
            }
            for (i, s) in model {
                prop_assert_eq!(l.get(i), Some(s));
            }
            let back = StatusList::decompress(&l.compress().unwrap()).unwrap();
            prop_assert_eq!(back, l);
        }
    }
}
