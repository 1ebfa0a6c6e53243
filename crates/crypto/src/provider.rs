//! The key-provider interface: something that holds the root key and can wrap
//! and unwrap other keys with it, without ever handing the root key out.

use std::sync::Arc;

use crate::aead::push_part;
use crate::error::CryptoError;
use crate::secret::Key32;

/// What a wrapped key is for. Its bytes are bound into the wrapping as
/// associated data, so a wrapped compartment key cannot be passed off as
/// another compartment's or another version's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapContext<'a> {
    /// The key's role: `compartment`, `blind-index`, `signing`, …
    pub purpose: &'a str,
    /// Which one of that role (a compartment name, a key name).
    pub name: &'a str,
    /// The key's version.
    pub version: u32,
}

impl WrapContext<'_> {
    /// The associated-data bytes of this context.
    pub fn associated_data(&self) -> Vec<u8> {
        let mut ad = Vec::with_capacity(48);
        push_part(&mut ad, b"lanyard/wrap/v1");
        push_part(&mut ad, self.purpose.as_bytes());
        push_part(&mut ad, self.name.as_bytes());
        push_part(&mut ad, &self.version.to_be_bytes());
        ad
    }
}

/// Holds the root key and wraps data-encryption keys with it.
pub trait KeyProvider: Send + Sync {
    /// `keyring` or `pkcs11`.
    fn kind(&self) -> &'static str;

    /// A non-secret description: the keyring path, or the token and key label.
    fn describe(&self) -> String;

    /// Wraps `key` under the root key, bound to `context`.
    fn wrap(&self, key: &Key32, context: &WrapContext<'_>) -> Result<Vec<u8>, CryptoError>;

    /// Unwraps a key made by [`KeyProvider::wrap`] with the same context.
    fn unwrap(&self, wrapped: &[u8], context: &WrapContext<'_>) -> Result<Key32, CryptoError>;

    /// The provider's own signing keys, if it can hold them (an HSM can).
    fn native_signing(&self) -> Option<&dyn NativeSigning> {
        None
    }

    /// Whether the provider still answers: by default a throwaway key
    /// wrapped and unwrapped. Touches no stored key. [`crate::Liveness`]
    /// calls it to decide whether keys released earlier may still be used.
    fn check(&self) -> Result<(), CryptoError> {
        let probe = Key32::random();
        let ctx = WrapContext { purpose: "probe", name: "liveness", version: 1 };
        let back = self.unwrap(&self.wrap(&probe, &ctx)?, &ctx)?;
        if back == probe { Ok(()) } else { Err(CryptoError::new(crate::error::CryptoErrorKind::Authentication)) }
    }
}

/// An Ed25519 signing key: in this process, or inside the token where only
/// its handle is held.
pub trait SigningKey: Send + Sync {
    /// The 32-byte public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 (pure) signature of `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], CryptoError>;
}

/// Where a provider can keep signing keys itself (an HSM), the key never
/// leaves it; a provider that cannot answers `Ok(None)`, and the caller keeps
/// a seed wrapped under the root key instead.
pub trait NativeSigning {
    /// The signing key called `name`, if the provider holds one. Names are
    /// the provider's own: a token labels them under its root key's label.
    fn find_signing_key(&self, name: &str) -> Result<Option<Arc<dyn SigningKey>>, CryptoError>;
    /// Generates a non-extractable signing key called `name`; refuses if one
    /// exists.
    fn create_signing_key(&self, name: &str) -> Result<Arc<dyn SigningKey>, CryptoError>;
}
