//! The trust bundle (DESIGN §5): the issuer id, its public keys by `kid` as
//! JWK (`OKP`/`Ed25519`, RFC 8037), and the status list URI. A verifier needs
//! only this and the latest status list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use lanyard_crypto::SigningKey;
use serde::{Deserialize, Serialize};

use crate::error::CredentialError;

/// The largest bundle file accepted.
pub const MAX_BUNDLE_BYTES: usize = 1 << 20;

/// An issuer public key as a JWK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKey {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// base64url key id, as it appears in the COSE protected header.
    pub kid: String,
    /// base64url public key.
    pub x: String,
}

impl IssuerKey {
    /// The JWK of an Ed25519 public key.
    pub fn ed25519(kid: &[u8], public_key: &[u8; 32]) -> Self {
        IssuerKey { kty: "OKP".into(), crv: "Ed25519".into(), kid: B64URL.encode(kid), x: B64URL.encode(public_key) }
    }

    pub(crate) fn decode(&self) -> Result<(Vec<u8>, [u8; 32]), CredentialError> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(CredentialError::malformed("trust bundle: a key is not OKP/Ed25519"));
        }
        let kid =
            B64URL.decode(&self.kid).map_err(|_| CredentialError::malformed("trust bundle: kid is not base64url"))?;
        let x = B64URL.decode(&self.x).map_err(|_| CredentialError::malformed("trust bundle: x is not base64url"))?;
        let x: [u8; 32] =
            x.try_into().map_err(|_| CredentialError::malformed("trust bundle: x is not a 32-byte Ed25519 key"))?;
        Ok((kid, x))
    }
}

/// The key id of issuer key `version`: `k` and the version, as text bytes.
/// Short, because it travels in every QR code; unique, because versions are.
pub fn key_id(version: u32) -> Vec<u8> {
    format!("k{version}").into_bytes()
}

/// An issuer key ready to sign, with its key id.
#[derive(Clone)]
pub struct IssuerSigner {
    /// The key id in the protected header.
    pub kid: Vec<u8>,
    /// The key (in memory or in the HSM).
    pub key: std::sync::Arc<dyn SigningKey>,
}

impl std::fmt::Debug for IssuerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerSigner {{ kid: {:?} }}", String::from_utf8_lossy(&self.kid))
    }
}

impl IssuerSigner {
    /// The key's JWK for the trust bundle.
    pub fn jwk(&self) -> IssuerKey {
        IssuerKey::ed25519(&self.kid, &self.key.public_key())
    }
}

/// What a verifier trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustBundle {
    /// The force's issuer id (`iss`).
    pub issuer: String,
    /// Every key that may still have signed a valid card.
    pub keys: Vec<IssuerKey>,
    /// The status list URI.
    pub status_list_uri: String,
}

impl TrustBundle {
    /// Parses and checks a bundle: every key must decode.
    pub fn from_json(bytes: &[u8]) -> Result<Self, CredentialError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(CredentialError::malformed("trust bundle: larger than 1 MiB"));
        }
        let bundle: TrustBundle = serde_json::from_slice(bytes)
            .map_err(|e| CredentialError::malformed(format!("trust bundle: {}", e.classify_msg())))?;
        for key in &bundle.keys {
            key.decode()?;
        }
        Ok(bundle)
    }

    /// The public key of `kid`, if trusted.
    pub fn key(&self, kid: &[u8]) -> Option<[u8; 32]> {
        self.keys.iter().filter_map(|k| k.decode().ok()).find(|(id, _)| id == kid).map(|(_, x)| x)
    }
}

trait ClassifyMsg {
    fn classify_msg(&self) -> String;
}

impl ClassifyMsg for serde_json::Error {
    /// serde_json's message may quote input; keep only its position and kind.
    fn classify_msg(&self) -> String {
        let kind = match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "wrong fields or types",
            serde_json::error::Category::Eof => "truncated",
        };
        format!("{kind} at line {} column {}", self.line(), self.column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_bad_keys_are_refused() {
        let pk = [9u8; 32];
        let b = TrustBundle {
            issuer: "i".into(),
            keys: vec![IssuerKey::ed25519(&key_id(3), &pk)],
            status_list_uri: "u".into(),
        };
        let json = serde_json::to_vec(&b).unwrap();
        let back = TrustBundle::from_json(&json).unwrap();
        assert_eq!(back.key(b"k3"), Some(pk));
        assert_eq!(back.key(b"nope"), None);

        let mut bad = b.clone();
        bad.keys[0].x = B64URL.encode([1u8; 31]);
        assert!(
            TrustBundle::from_json(&serde_json::to_vec(&bad).unwrap()).unwrap_err().to_string().contains("32-byte")
        );
        assert!(TrustBundle::from_json(b"{").unwrap_err().to_string().contains("truncated"));
    }
}
