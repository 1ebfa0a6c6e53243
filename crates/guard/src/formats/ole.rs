//! OLE2 compound files: legacy Excel (.xls), and the wrapper Office puts
//! around an encrypted OOXML file. An encrypted file cannot be inspected;
//! legacy Word and PowerPoint are not read (exit 2, never a silent pass).

use crate::error::ScanError;
use crate::sink::Sink;

/// UTF-16LE directory names that mark an encrypted OOXML package.
fn utf16(name: &str) -> Vec<u8> {
    name.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn scan(_sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), ScanError> {
    if contains(bytes, &utf16("EncryptionInfo")) || contains(bytes, &utf16("EncryptedPackage")) {
        return Err(ScanError::Encrypted("a password-protected Office file".into()));
    }
    if contains(bytes, &utf16("WordDocument")) {
        return Err(ScanError::Unsupported("legacy Word (.doc): save it as .docx and scan again".into()));
    }
    if contains(bytes, &utf16("Workbook")) || contains(bytes, &utf16("Book")) {
        return Err(ScanError::Unsupported("legacy Excel (.xls) (the reader is not built yet)".into()));
    }
    Err(ScanError::Unsupported("an OLE2 compound file of unknown kind".into()))
}
