//! The crypto crate's one error. It never carries key material or plaintext.

/// A cryptographic operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct CryptoError {
    kind: CryptoErrorKind,
}

/// What failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoErrorKind {
    /// A ciphertext or wrapped key failed authentication: wrong key, wrong
    /// place, or tampered bytes.
    #[error("authentication failed (wrong key, moved or tampered ciphertext)")]
    Authentication,
    /// The passphrase does not open the keyring.
    #[error("wrong passphrase for the keyring")]
    WrongPassphrase,
    /// The keyring file is absent.
    #[error("no keyring at {0}")]
    KeyringMissing(String),
    /// The keyring file exists but is damaged.
    #[error("keyring is corrupted: {0}")]
    KeyringCorrupt(String),
    /// The keyring file already exists where a new one was to be made.
    #[error("a keyring already exists at {0}")]
    KeyringExists(String),
    /// The PKCS#11 module, token or key could not be used.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// A key of the wrong length or a malformed wrapped key.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The compartment key of that version is not loaded.
    #[error("no {compartment} compartment key of version {version}")]
    UnknownKeyVersion {
        /// The compartment.
        compartment: &'static str,
        /// The missing version.
        version: u32,
    },
    /// Reading or writing a key file failed.
    #[error("key file: {0}")]
    Io(String),
    /// The key provider did not answer its check (a token removed, a PIN
    /// refused, an HSM gone): keys it released earlier are not used until
    /// it answers again. Says why, in the provider's words.
    #[error("the key provider is unavailable: {0}")]
    ProviderUnavailable(String),
}

impl CryptoError {
    pub(crate) fn new(kind: CryptoErrorKind) -> Self {
        CryptoError { kind }
    }

    /// What failed.
    pub fn kind(&self) -> &CryptoErrorKind {
        &self.kind
    }

    /// Whether the key provider is unavailable (not a wrong key or a bad
    /// ciphertext): the same request may work once it answers again.
    pub fn is_provider_unavailable(&self) -> bool {
        matches!(self.kind, CryptoErrorKind::ProviderUnavailable(_))
    }
}
