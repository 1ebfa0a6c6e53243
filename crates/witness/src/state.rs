//! The witness's data folder:
//!
//! - `witness.key`: the 32-byte Ed25519 seed (mode 0600), made by `init`;
//! - `witness.json`: its name;
//! - `logs.json`: origin → the log's verifier key;
//! - `state/<SHA-256 of origin, hex>.json`: size and root of the latest
//!   checkpoint cosigned for that log, replaced atomically (written to a
//!   temporary file, synced, renamed, the folder synced).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_note::Verifier;
use lanyard_note::cosignature::Cosigner;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why the data folder could not be used. Names the file and the rule.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds something else than it should.
    #[error("{path}: {what}")]
    Invalid {
        /// Which.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// `init` on a folder that has a witness already.
    #[error("{0} already holds a witness key; a witness's key and state are never replaced")]
    Exists(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_owned(), source }
}

fn invalid(path: &Path, what: impl Into<String>) -> StateError {
    StateError::Invalid { path: path.to_owned(), what: what.into() }
}

#[derive(Serialize, Deserialize)]
struct Identity {
    name: String,
}

/// The latest checkpoint a witness cosigned for one log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogState {
    /// Its size.
    pub size: u64,
    /// Its root hash.
    pub root: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct StoredState {
    size: u64,
    root: String,
}

/// A witness's data folder.
#[derive(Clone, Debug)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The folder at `path` (nothing is read yet).
    pub fn new(path: &Path) -> Self {
        DataDir { path: path.to_owned() }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Makes a new witness named `name`: a fresh key, no logs.
    pub fn init(&self, name: &str) -> Result<Cosigner, StateError> {
        let key_path = self.file("witness.key");
        if key_path.exists() {
            return Err(StateError::Exists(self.path.clone()));
        }
        std::fs::create_dir_all(self.path.join("state")).map_err(io(&self.path))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill(&mut seed[..]);
        let cosigner = Cosigner::new(name, &seed).map_err(|e| invalid(&self.file("witness.json"), e.0))?;
        write_new_private(&key_path, &seed[..])?;
        let identity = serde_json::to_vec_pretty(&Identity { name: name.to_owned() })
            .map_err(|e| invalid(&self.file("witness.json"), e.to_string()))?;
        replace(&self.file("witness.json"), &identity)?;
        replace(&self.file("logs.json"), b"{}\n")?;
        Ok(cosigner)
    }

    /// The witness's key.
    pub fn cosigner(&self) -> Result<Cosigner, StateError> {
        let key_path = self.file("witness.key");
        let seed = Zeroizing::new(std::fs::read(&key_path).map_err(io(&key_path))?);
        let seed: &[u8; 32] =
            seed.as_slice().try_into().map_err(|_| invalid(&key_path, "not a 32-byte key (run 'witness init')"))?;
        let id_path = self.file("witness.json");
        let identity: Identity = serde_json::from_slice(&std::fs::read(&id_path).map_err(io(&id_path))?)
            .map_err(|e| invalid(&id_path, e.to_string()))?;
        Cosigner::new(&identity.name, seed).map_err(|e| invalid(&id_path, e.0))
    }

    /// The logs this witness serves: origin → verifier.
    pub fn logs(&self) -> Result<BTreeMap<String, Verifier>, StateError> {
        let path = self.file("logs.json");
        let raw: BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(&path).map_err(io(&path))?)
            .map_err(|e| invalid(&path, e.to_string()))?;
        raw.into_iter()
            .map(|(origin, key)| {
                let v = Verifier::parse(&key).map_err(|e| invalid(&path, format!("log {origin}: {}", e.0)))?;
                if v.name() != origin {
                    return Err(invalid(&path, format!("log {origin}: its key is named {}", v.name())));
                }
                Ok((origin, v))
            })
            .collect()
    }

    /// Adds a log, by its verifier key (whose name is its origin).
    pub fn add_log(&self, key: &str) -> Result<String, StateError> {
        let path = self.file("logs.json");
        let v = Verifier::parse(key).map_err(|e| invalid(&path, format!("the log's key: {}", e.0)))?;
        let mut raw: BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(&path).map_err(io(&path))?)
            .map_err(|e| invalid(&path, e.to_string()))?;
        raw.insert(v.name().to_owned(), v.to_key_string());
        let bytes = serde_json::to_vec_pretty(&raw).map_err(|e| invalid(&path, e.to_string()))?;
        replace(&path, &bytes)?;
        Ok(v.name().to_owned())
    }

    /// Forgets what this witness last cosigned for `origin`, so that the
    /// log's next checkpoint starts afresh here: for a log the force
    /// restored with an accepted loss, once its operator has seen the
    /// restore event. The old state is kept beside, renamed, as evidence.
    /// Returns the size forgotten and where it was kept, or `None` if
    /// there was none.
    pub fn reset_log(&self, origin: &str, now_ms: i64) -> Result<Option<(u64, PathBuf)>, StateError> {
        if !self.logs()?.contains_key(origin) {
            return Err(invalid(&self.file("logs.json"), format!("no log {origin} is added here")));
        }
        let Some(state) = self.state(origin)? else { return Ok(None) };
        let path = self.state_path(origin);
        let kept = path.with_extension(format!("json.reset-{now_ms}"));
        std::fs::rename(&path, &kept).map_err(io(&path))?;
        Ok(Some((state.size, kept)))
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        let digest: [u8; 32] = Sha256::digest(origin.as_bytes()).into();
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.path.join("state").join(format!("{name}.json"))
    }

    /// The latest cosigned checkpoint of `origin`, if any.
    pub fn state(&self, origin: &str) -> Result<Option<LogState>, StateError> {
        let path = self.state_path(origin);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let s: StoredState = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, e.to_string()))?;
        let root = B64.decode(&s.root).map_err(|_| invalid(&path, "root is not base64"))?;
        let root: [u8; 32] = root.try_into().map_err(|_| invalid(&path, "root is not 32 bytes"))?;
        Ok(Some(LogState { size: s.size, root }))
    }

    /// Records a new latest cosigned checkpoint, durably, before it is
    /// answered.
    pub fn set_state(&self, origin: &str, state: LogState) -> Result<(), StateError> {
        let path = self.state_path(origin);
        let bytes = serde_json::to_vec(&StoredState { size: state.size, root: B64.encode(state.root) })
            .map_err(|e| invalid(&path, e.to_string()))?;
        replace(&path, &bytes)
    }
}

fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Replaces `path` whole: a reader sees the old file or the new one, and
/// after a crash one of them is there.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_is_made_once_and_keeps_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::new(dir.path());
        let w = d.init("witness.example/w1").unwrap();
        assert!(matches!(d.init("witness.example/w1"), Err(StateError::Exists(_))));
        assert_eq!(d.cosigner().unwrap().verifier(), w.verifier());
        assert_eq!(d.state("log.example/a").unwrap(), None);
        let s = LogState { size: 7, root: [3u8; 32] };
        d.set_state("log.example/a", s).unwrap();
        assert_eq!(d.state("log.example/a").unwrap(), Some(s));
        assert!(d.add_log("not a key").is_err());
    }
}
