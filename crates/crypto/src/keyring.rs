//! The default key provider: a root key sealed in a file under a passphrase.
//!
//! The passphrase is stretched with Argon2id into a key-encryption key, which
//! seals the random root key with AES-256-GCM-SIV. A plain SHA-256 checksum over
//! the file's fields tells a damaged file apart from a wrong passphrase (both
//! would otherwise look like an authentication failure).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::aead::{open, push_part, seal};
use crate::error::{CryptoError, CryptoErrorKind};
use crate::provider::{KeyProvider, WrapContext};
use crate::secret::Key32;

const FORMAT: &str = "lanyard-keyring/1";
const ROOT_AD: &[u8] = b"lanyard/keyring/root/v1";

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about a quarter of a second here, once per
    /// process start, which is what guards the root key against guessing.
    pub fn recommended() -> Self {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }

    /// Cheap parameters for unit tests only; never for a real keyring.
    pub fn insecure_for_tests() -> Self {
        KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }
    }

    fn derive(&self, passphrase: &[u8], salt: &[u8]) -> Result<Key32, CryptoError> {
        let corrupt = |why: &str| CryptoError::new(CryptoErrorKind::KeyringCorrupt(why.to_owned()));
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|_| corrupt("invalid Argon2id parameters"))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, salt, out.as_mut())
            .map_err(|_| corrupt("Argon2id refused the parameters"))?;
        Ok(Key32::from_bytes(*out))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    kdf: KdfParams,
    salt: String,
    sealed_root_key: String,
    checksum: String,
}

impl KeyringFile {
    fn checksum(format: &str, kdf: &KdfParams, salt: &str, sealed: &str) -> String {
        let mut bytes = Vec::new();
        push_part(&mut bytes, format.as_bytes());
        push_part(&mut bytes, &kdf.memory_kib.to_be_bytes());
        push_part(&mut bytes, &kdf.iterations.to_be_bytes());
        push_part(&mut bytes, &kdf.parallelism.to_be_bytes());
        push_part(&mut bytes, salt.as_bytes());
        push_part(&mut bytes, sealed.as_bytes());
        B64.encode(Sha256::digest(&bytes))
    }
}

/// A root key held in a passphrase-sealed file.
#[derive(Debug)]
pub struct KeyringProvider {
    path: PathBuf,
    root: Key32,
}

impl KeyringProvider {
    /// Makes a new root key and writes it, sealed, to `path` (mode 0600).
    /// Refuses to overwrite an existing keyring.
    pub fn create(path: &Path, passphrase: &[u8], kdf: KdfParams) -> Result<Self, CryptoError> {
        if passphrase.is_empty() {
            return Err(CryptoError::new(CryptoErrorKind::WrongPassphrase));
        }
        let root = Key32::random();
        let mut salt = [0u8; 16];
        rand::rng().fill(&mut salt[..]);
        let kek = kdf.derive(passphrase, &salt)?;
        let sealed = B64.encode(seal(&kek, ROOT_AD, root.expose())?);
        let salt = B64.encode(salt);
        let file = KeyringFile {
            checksum: KeyringFile::checksum(FORMAT, &kdf, &salt, &sealed),
            format: FORMAT.to_owned(),
            kdf,
            salt,
            sealed_root_key: sealed,
        };
        let json =
            serde_json::to_vec_pretty(&file).map_err(|e| CryptoError::new(CryptoErrorKind::Io(e.to_string())))?;
        let io = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                CryptoError::new(CryptoErrorKind::KeyringExists(path.display().to_string()))
            } else {
                CryptoError::new(CryptoErrorKind::Io(format!("{}: {e}", path.display())))
            }
        };
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(KeyringProvider { path: path.to_owned(), root })
    }

    /// Opens the keyring at `path` with `passphrase`.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Self, CryptoError> {
        let corrupt = |why: &str| CryptoError::new(CryptoErrorKind::KeyringCorrupt(why.to_owned()));
        let bytes = fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CryptoError::new(CryptoErrorKind::KeyringMissing(path.display().to_string()))
            } else {
                CryptoError::new(CryptoErrorKind::Io(format!("{}: {e}", path.display())))
            }
        })?;
        let file: KeyringFile = serde_json::from_slice(&bytes).map_err(|_| corrupt("not a lanyard keyring file"))?;
        if file.format != FORMAT {
            return Err(corrupt("unknown keyring format"));
        }
        if KeyringFile::checksum(&file.format, &file.kdf, &file.salt, &file.sealed_root_key) != file.checksum {
            return Err(corrupt("checksum mismatch"));
        }
        let salt = B64.decode(&file.salt).map_err(|_| corrupt("bad salt"))?;
        let sealed = B64.decode(&file.sealed_root_key).map_err(|_| corrupt("bad sealed key"))?;
        let kek = file.kdf.derive(passphrase, &salt)?;
        let root = Zeroizing::new(
            open(&kek, ROOT_AD, &sealed).map_err(|_| CryptoError::new(CryptoErrorKind::WrongPassphrase))?,
        );
        Ok(KeyringProvider { path: path.to_owned(), root: Key32::from_slice(&root)? })
    }
}

impl KeyProvider for KeyringProvider {
    fn kind(&self) -> &'static str {
        "keyring"
    }

    fn describe(&self) -> String {
        format!("keyring file {}", self.path.display())
    }

    fn wrap(&self, key: &Key32, context: &WrapContext<'_>) -> Result<Vec<u8>, CryptoError> {
        seal(&self.root, &context.associated_data(), key.expose())
    }

    fn unwrap(&self, wrapped: &[u8], context: &WrapContext<'_>) -> Result<Key32, CryptoError> {
        let bytes = Zeroizing::new(open(&self.root, &context.associated_data(), wrapped)?);
        Key32::from_slice(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: WrapContext<'static> = WrapContext { purpose: "compartment", name: "pay", version: 1 };

    #[test]
    fn create_open_wrap_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let k = KeyringProvider::create(&path, b"correct horse", KdfParams::insecure_for_tests()).unwrap();
        let dek = Key32::random();
        let wrapped = k.wrap(&dek, &CTX).unwrap();
        let k2 = KeyringProvider::open(&path, b"correct horse").unwrap();
        assert_eq!(k2.unwrap(&wrapped, &CTX).unwrap(), dek);
        let other = WrapContext { version: 2, ..CTX };
        assert!(k2.unwrap(&wrapped, &other).is_err());
        assert!(matches!(
            KeyringProvider::create(&path, b"x", KdfParams::insecure_for_tests()).unwrap_err().kind(),
            CryptoErrorKind::KeyringExists(_)
        ));
    }

    #[test]
    fn wrong_passphrase_missing_and_corrupt_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        KeyringProvider::create(&path, b"right", KdfParams::insecure_for_tests()).unwrap();
        let kind = |r: Result<KeyringProvider, CryptoError>| r.err().map(|e| format!("{:?}", e.kind()));
        assert_eq!(kind(KeyringProvider::open(&path, b"wrong")).unwrap(), "WrongPassphrase");
        assert!(kind(KeyringProvider::open(&dir.path().join("nope"), b"right")).unwrap().starts_with("KeyringMissing"));

        let text = fs::read_to_string(&path).unwrap();
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sealed = file["sealed_root_key"].as_str().unwrap().to_owned();
        let flipped = if sealed.starts_with('A') { sealed.replacen('A', "B", 1) } else { format!("A{}", &sealed[1..]) };
        file["sealed_root_key"] = flipped.into();
        fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(kind(KeyringProvider::open(&path, b"right")).unwrap().starts_with("KeyringCorrupt"));
        fs::write(&path, b"{not json").unwrap();
        assert!(kind(KeyringProvider::open(&path, b"right")).unwrap().starts_with("KeyringCorrupt"));
    }
}
