//! The crypto crate's one error. It never carries key material or plaintext.

use std::fmt;

/// A cryptographic operation failed.
#[derive(Debug)]
pub struct CryptoError {
    kind: CryptoErrorKind,
}

/// What failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CryptoErrorKind {
    /// A ciphertext or wrapped key failed authentication: wrong key, wrong
    /// place, or tampered bytes.
    Authentication,
    /// The passphrase does not open the keyring.
    WrongPassphrase,
    /// The keyring file is absent.
    KeyringMissing(String),
    /// The keyring file exists but is damaged.
    KeyringCorrupt(String),
    /// The keyring file already exists where a new one was to be made.
    KeyringExists(String),
    /// The PKCS#11 module, token or key could not be used.
    Pkcs11(String),
    /// A key of the wrong length or a malformed wrapped key.
    Malformed(&'static str),
    /// The compartment key of that version is not loaded.
    UnknownKeyVersion {
        /// The compartment.
        compartment: &'static str,
        /// The missing version.
        version: u32,
    },
    /// Reading or writing a key file failed.
    Io(String),
}

impl CryptoError {
    pub(crate) fn new(kind: CryptoErrorKind) -> Self {
        CryptoError { kind }
    }

    /// What failed.
    pub fn kind(&self) -> &CryptoErrorKind {
        &self.kind
    }
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CryptoErrorKind::Authentication => {
                f.write_str("authentication failed (wrong key, moved or tampered ciphertext)")
            }
            CryptoErrorKind::WrongPassphrase => f.write_str("wrong passphrase for the keyring"),
            CryptoErrorKind::KeyringMissing(path) => write!(f, "no keyring at {path}"),
            CryptoErrorKind::KeyringCorrupt(why) => write!(f, "keyring is corrupted: {why}"),
            CryptoErrorKind::KeyringExists(path) => write!(f, "a keyring already exists at {path}"),
            CryptoErrorKind::Pkcs11(why) => write!(f, "PKCS#11: {why}"),
            CryptoErrorKind::Malformed(what) => write!(f, "malformed {what}"),
            CryptoErrorKind::UnknownKeyVersion { compartment, version } => {
                write!(f, "no {compartment} compartment key of version {version}")
            }
            CryptoErrorKind::Io(why) => write!(f, "key file: {why}"),
        }
    }
}

impl std::error::Error for CryptoError {}
