//! Why a file cannot be inspected. Each is a fail-closed verdict (exit 2),
//! and each message names the file's problem, never its content.

use thiserror::Error;

/// A file, or a part of one, that could not be inspected.
#[derive(Debug, Error)]
pub enum ScanError {
    /// Password-protected or encrypted.
    #[error("encrypted or password-protected: {0}")]
    Encrypted(String),
    /// Not what it claims to be, or broken.
    #[error("corrupt or unreadable: {0}")]
    Corrupt(String),
    /// Over a size, depth, count or ratio limit.
    #[error("over a limit: {0}")]
    TooLarge(String),
    /// A format lanyard does not read.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// The per-file time ran out.
    #[error("took longer than the {0} s allowed per file")]
    Timeout(u64),
    /// Reading failed.
    #[error("cannot read: {0}")]
    Io(String),
}

/// An io error that is a limit being hit, not a fault: readers that count
/// what they inflate return it inside an `io::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitHit(pub String);

impl From<std::io::Error> for ScanError {
    fn from(e: std::io::Error) -> Self {
        match e.get_ref().and_then(|x| x.downcast_ref::<LimitHit>()) {
            Some(hit) => ScanError::TooLarge(hit.0.clone()),
            None => ScanError::Io(e.kind().to_string()),
        }
    }
}

impl From<zip::result::ZipError> for ScanError {
    fn from(e: zip::result::ZipError) -> Self {
        match e {
            zip::result::ZipError::UnsupportedArchive(m) if m.contains("ncrypt") || m.contains("assword") => {
                ScanError::Encrypted("an encrypted ZIP member".into())
            }
            zip::result::ZipError::InvalidPassword => ScanError::Encrypted("an encrypted ZIP member".into()),
            zip::result::ZipError::Io(e) => ScanError::from(e),
            other => ScanError::Corrupt(format!("ZIP: {other}")),
        }
    }
}

impl From<quick_xml::Error> for ScanError {
    fn from(e: quick_xml::Error) -> Self {
        if let quick_xml::Error::Io(io) = &e
            && let Some(hit) = io.get_ref().and_then(|x| x.downcast_ref::<LimitHit>())
        {
            return ScanError::TooLarge(hit.0.clone());
        }
        ScanError::Corrupt(format!("XML: {e}"))
    }
}
