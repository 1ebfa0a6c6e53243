//! The key-provider interface: something that holds the root key and can wrap
//! and unwrap other keys with it, without ever handing the root key out.

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
}
