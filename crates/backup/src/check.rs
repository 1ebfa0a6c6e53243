//! `backup verify` and `backup restore`: the backup loaded into a store
//! (a scratch one, or the one to switch to), and everything about it
//! checked before anyone relies on it. A restore is a verify into the
//! store that is then switched to.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::{Ledger, log};
use lanyard_crypto::KeyProvider;
use lanyard_register::{Operator, Register};
use lanyard_store::{Store, TABLES, Value};
use sha2::{Digest, Sha256};

use crate::format::{BackupError, FORMAT, Manifest, TableSum, from_json, hex};

/// The longest line read: a row with a large sealed photo, base64.
const MAX_LINE: u64 = 64 << 20;
/// Rows per insert batch.
const BATCH: usize = 500;

/// A backup that was read and loaded whole.
pub struct Checked {
    /// Its manifest, signed by the log's key.
    pub manifest: Manifest,
    /// What `audit verify` (and the start check) found in the loaded store;
    /// empty means the backup holds.
    pub findings: Vec<String>,
    /// The register on the loaded store.
    pub register: Register,
}

fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<bool, BackupError> {
    buf.clear();
    let n = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', buf)
        .map_err(|e| BackupError::invalid(format!("the sealed stream is damaged or cut short ({e})")))?;
    if n as u64 >= MAX_LINE && buf.last() != Some(&b'\n') {
        return Err(BackupError::invalid("a line is longer than any lanyard writes"));
    }
    Ok(n > 0)
}

/// A member of a JSON object, or null.
fn field<'v>(v: &'v serde_json::Value, key: &str) -> &'v serde_json::Value {
    v.get(key).unwrap_or(&serde_json::Value::Null)
}

fn json(buf: &[u8], what: &str) -> Result<serde_json::Value, BackupError> {
    serde_json::from_slice(buf).map_err(|_| BackupError::invalid(format!("{what} is not JSON")))
}

/// Decrypts `sealed` with `identities` and loads it into `store` (migrated
/// here; every table must be empty), then
/// checks it: every table's count and digest, the manifest's signature by
/// the log key its own key rows give under `provider`'s root key, the
/// audit tree's root, and `audit verify` on the loaded store.
pub async fn verify(
    sealed: impl Read,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    provider: Arc<dyn KeyProvider>,
    store: Store,
    now_ms: i64,
) -> Result<Checked, BackupError> {
    let decryptor = age::Decryptor::new_buffered(BufReader::new(sealed))
        .map_err(|_| BackupError::Unreadable("not an age-encrypted backup".into()))?;
    let plain =
        decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => BackupError::Unreadable("it is not sealed to this identity".into()),
            _ => BackupError::Unreadable("its header is damaged".into()),
        })?;
    let mut reader = BufReader::new(plain);
    let mut buf = Vec::new();
    if !next_line(&mut reader, &mut buf)? || field(&json(&buf, "the first line")?, "lanyard_backup") != FORMAT {
        return Err(BackupError::invalid(format!("not a lanyard backup of format {FORMAT}")));
    }

    store.migrate().await?;
    let mut ledger_write = Ledger::new(store.clone()).begin().await.map_err(|e| BackupError::Io(e.to_string()))?;
    for table in TABLES {
        if !ledger_write.tx().is_empty(table).await? {
            return Err(BackupError::Io(format!("the store to restore into is not empty (table {table})")));
        }
    }
    let mut sums = Vec::new();
    let mut tables = TABLES.iter();
    let manifest_line = loop {
        if !next_line(&mut reader, &mut buf)? {
            return Err(BackupError::invalid("it ends before its manifest (cut short)"));
        }
        let head = json(&buf, "a table header")?;
        if head.get("manifest").is_some() {
            break head;
        }
        let Some(name) = field(&head, "table").as_str() else {
            return Err(BackupError::invalid("a table header names no table"));
        };
        if tables.next() != Some(&name) {
            return Err(BackupError::invalid(format!("table {name} is not where the format puts it")));
        }
        let columns: Vec<String> = serde_json::from_value(field(&head, "columns").clone())
            .map_err(|_| BackupError::invalid(format!("table {name}: no column list")))?;
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
        let end = loop {
            if !next_line(&mut reader, &mut buf)? {
                return Err(BackupError::invalid(format!("table {name}: cut short")));
            }
            if buf.first() != Some(&b'[') {
                break json(&buf, "a table's end")?;
            }
            hasher.update(&buf);
            rows += 1;
            let row = json(&buf, "a row")?;
            let values = row
                .as_array()
                .filter(|a| a.len() == columns.len())
                .and_then(|a| a.iter().map(from_json).collect::<Option<Vec<_>>>())
                .ok_or_else(|| BackupError::invalid(format!("table {name}: row {rows} is malformed")))?;
            batch.push(values);
            if batch.len() == BATCH {
                ledger_write.tx().load_rows(name, &columns, &batch).await?;
                batch.clear();
            }
        };
        ledger_write.tx().load_rows(name, &columns, &batch).await?;
        let sum = TableSum { name: name.to_owned(), rows, sha256: hex(&hasher.finalize()) };
        if field(&end, "end") != name || field(&end, "rows") != rows || field(&end, "sha256") != sum.sha256.as_str() {
            return Err(BackupError::invalid(format!("table {name}: its rows are not those the backup counted")));
        }
        sums.push(sum);
    };
    if tables.next().is_some() {
        return Err(BackupError::invalid("tables are missing"));
    }
    if next_line(&mut reader, &mut buf)? {
        return Err(BackupError::invalid("something follows the manifest"));
    }
    let manifest: Manifest = serde_json::from_value(field(&manifest_line, "manifest").clone())
        .map_err(|e| BackupError::invalid(format!("the manifest is malformed ({e})")))?;
    let signature = field(&manifest_line, "signature").as_str().unwrap_or_default().to_owned();
    if manifest.tables != sums {
        return Err(BackupError::invalid("the manifest's tables are not the tables it holds"));
    }
    let schema = store.schema_target();
    if manifest.schema_version != schema {
        return Err(BackupError::invalid(format!(
            "it was made with schema {}, this lanyard has {schema}: restore it with the lanyard that made it",
            manifest.schema_version
        )));
    }
    ledger_write
        .commit_housekeeping(lanyard_audit::Housekeeping::Restore)
        .await
        .map_err(|e| BackupError::Io(e.to_string()))?;

    // The log key from the backup's own key rows, under this force's root
    // key: a backup of another register does not open, and one forged by
    // whoever knows a recipient carries no signature this key made.
    let register = Register::open(Ledger::new(store.clone()), provider, now_ms).await.map_err(|e| {
        BackupError::invalid(format!("its keys do not open under this root key (another register's backup?): {e}"))
    })?;
    let op = Operator::local(lanyard_audit::Actor::system(), false);
    let key = register.verifier_key(&op, now_ms).await?;
    let verifier = lanyard_note::Verifier::parse(&key).map_err(|e| BackupError::invalid(e.0))?;
    match verifier.verify(&signature) {
        Ok(body) if body == manifest.note_body()? => {}
        _ => return Err(BackupError::invalid("its manifest is not signed by this log's key")),
    }
    let size = log::size(&store).await.map_err(|e| BackupError::Io(e.to_string()))?;
    let root = if size == 0 { None } else { log::root(&store, size).await.ok() };
    if size != manifest.audit_size || root.map(|r| B64.encode(r)) != Some(manifest.audit_root.clone()) {
        return Err(BackupError::invalid("its audit tree is not the one its manifest signs"));
    }
    let mut findings: Vec<String> = register.start_check(&op, now_ms).await?.iter().map(ToString::to_string).collect();
    findings.extend(register.verify_log(&op, now_ms).await?.findings.iter().map(ToString::to_string));
    findings.sort();
    findings.dedup();
    Ok(Checked { manifest, findings, register })
}
