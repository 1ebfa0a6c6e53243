//! Errors of credential handling. Messages name what is wrong and where in
//! the structure, never a claim's value: a card's name is personal data.

/// Why a credential, status list or bundle was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// Not the expected encoding or structure; says which part.
    #[error("malformed {0}")]
    Malformed(String),
    /// The signature does not verify under the named key.
    #[error("bad signature")]
    BadSignature,
    /// The key id is not in the trust bundle, or the issuer differs.
    #[error("unknown issuer or key")]
    UnknownIssuer,
    /// Signing failed (the key provider refused).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The QR text would not fit a QR symbol.
    #[error("QR encoding failed: {0}")]
    Qr(String),
    /// A status list that cannot be used: wrong list, expired, too short.
    #[error("status list refused: {0}")]
    StatusList(String),
}

impl CredentialError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        CredentialError::Malformed(what.into())
    }
}
