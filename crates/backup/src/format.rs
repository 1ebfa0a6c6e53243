//! Inside the age file, one JSON value per line:
//!
//! ```text
//! {"lanyard_backup":1}
//! {"table":"people","columns":["id","status",…]}
//! [<value>, <value>, …]                 one line per row
//! {"end":"people","rows":N,"sha256":"…"}  SHA-256 over the row lines
//! …                                      every table, in load order
//! {"manifest":{…},"signature":"<signed note>"}
//! ```
//!
//! A value is `null`, an integer, a string, or `{"b":"<base64>"}` for
//! bytes. The signature is a C2SP signed note by the log's key whose body
//! names the format, the log and the SHA-256 of the manifest's JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_store::Value;
use serde::{Deserialize, Serialize};

/// The format version.
pub const FORMAT: u32 = 1;

/// Why a backup could not be made, read or trusted.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// It cannot be read at all: not an age file, or not for this identity.
    #[error("the backup cannot be read: {0}")]
    Unreadable(String),
    /// It was read, and does not hold: what failed.
    #[error("the backup does not hold: {0}")]
    Invalid(String),
    /// Writing it, or the store, failed.
    #[error("{0}")]
    Io(String),
    /// The register refused.
    #[error(transparent)]
    Register(#[from] lanyard_register::RegisterError),
    /// The store refused.
    #[error(transparent)]
    Store(#[from] lanyard_store::StoreError),
}

impl BackupError {
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        BackupError::Invalid(what.into())
    }
}

impl From<std::io::Error> for BackupError {
    fn from(e: std::io::Error) -> Self {
        BackupError::Io(e.to_string())
    }
}

/// One table's count and digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    /// The table.
    pub name: String,
    /// Its rows.
    pub rows: u64,
    /// SHA-256 of its row lines, hex.
    pub sha256: String,
}

/// What a backup holds, signed by the log's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The lanyard that made it.
    pub lanyard_version: String,
    /// The schema version of the store it was taken from.
    pub schema_version: i64,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// The log's origin.
    pub origin: String,
    /// Every table, in load order.
    pub tables: Vec<TableSum>,
    /// Audit events in the snapshot.
    pub audit_size: u64,
    /// The RFC 9162 root of those events, base64.
    pub audit_root: String,
    /// The latest signed checkpoint in the snapshot, with its cosignatures.
    pub checkpoint: Option<String>,
    /// The key provider whose root key unwraps the keys in it (`keyring`,
    /// `pkcs11`): the root key itself is not in a backup.
    pub key_provider: String,
    /// The wrapped keys it holds, `purpose/name/vN`.
    pub keys: Vec<String>,
}

impl Manifest {
    /// The signed-note body that binds it.
    pub fn note_body(&self) -> Result<String, BackupError> {
        use sha2::Digest;
        let json = serde_json::to_vec(self).map_err(|e| BackupError::Io(e.to_string()))?;
        Ok(format!("lanyard-backup/v{FORMAT}\n{}\n{}\n", self.origin, B64.encode(sha2::Sha256::digest(&json))))
    }
}

/// A value as a JSON value.
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Bytes(b) => serde_json::json!({ "b": B64.encode(b) }),
    }
}

/// A JSON value back as a value.
pub(crate) fn from_json(v: &serde_json::Value) -> Option<Value> {
    Some(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(n) => Value::Int(n.as_i64()?),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Object(m) if m.len() == 1 => Value::Bytes(B64.decode(m.get("b")?.as_str()?).ok()?),
        _ => return None,
    })
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
