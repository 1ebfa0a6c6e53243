//! `backup create`: one snapshot, streamed table by table into an age
//! file, the manifest signed by the log's key at the end.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::merkle::Frontier;
use lanyard_register::{Operator, Register};
use lanyard_store::{Store, TABLES, Value};
use sha2::{Digest, Sha256};

use crate::format::{BackupError, FORMAT, Manifest, TableSum, hex, to_json};

fn line(out: &mut impl Write, value: &serde_json::Value) -> Result<Vec<u8>, BackupError> {
    let mut bytes = serde_json::to_vec(value).map_err(|e| BackupError::Io(e.to_string()))?;
    bytes.push(b'\n');
    out.write_all(&bytes)?;
    Ok(bytes)
}

/// Writes a backup of `store` (the store `register` runs on) to `out`,
/// sealed to `recipients`. Returns its manifest.
pub async fn create(
    register: &Register,
    store: &Store,
    op: &Operator,
    recipients: &[Box<dyn age::Recipient + Send + Sync>],
    out: impl Write,
    key_provider: &str,
    now_ms: i64,
) -> Result<Manifest, BackupError> {
    if recipients.is_empty() {
        return Err(BackupError::invalid("a backup needs at least one recipient"));
    }
    // Sign first, so the snapshot holds a checkpoint of (nearly) all of it.
    register.checkpoint_if_grown(op, now_ms).await?;
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient))
        .map_err(|e| BackupError::Io(format!("sealing: {e}")))?;
    let mut sealed = encryptor.wrap_output(std::io::BufWriter::new(out))?;
    line(&mut sealed, &serde_json::json!({ "lanyard_backup": FORMAT }))?;

    let mut snapshot = store.snapshot().await?;
    let mut sums = Vec::new();
    let mut frontier = Frontier::default();
    let mut keys = Vec::new();
    let mut latest_checkpoint: Option<(i64, String)> = None;
    let mut cosignatures: Vec<(i64, String)> = Vec::new();
    for table in TABLES {
        let columns = snapshot.columns(table).await?;
        line(&mut sealed, &serde_json::json!({ "table": table, "columns": columns }))?;
        let col = |name: &str| columns.iter().position(|c| c == name);
        let (leaf_at, key_at, cp_at, cos_at) = (
            col("leaf_hash").filter(|_| *table == "audit_log"),
            (col("purpose"), col("name"), col("version")),
            (col("size"), col("note")),
            (col("size"), col("line")),
        );
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        let mut failed: Option<BackupError> = None;
        snapshot
            .rows(table, &columns, |values: Vec<Value>| -> Result<(), lanyard_store::StoreError> {
                if failed.is_some() {
                    return Ok(());
                }
                let json: Vec<serde_json::Value> = values.iter().map(to_json).collect();
                match line(&mut sealed, &serde_json::Value::Array(json)) {
                    Ok(bytes) => hasher.update(&bytes),
                    Err(e) => failed = Some(e),
                }
                rows += 1;
                let get = |i: Option<usize>| i.and_then(|i| values.get(i));
                if let Some(Value::Bytes(h)) = get(leaf_at)
                    && let Ok(h) = <[u8; 32]>::try_from(h.as_slice())
                {
                    frontier.push(h);
                }
                if *table == "wrapped_keys"
                    && let (Some(Value::Text(p)), Some(Value::Text(n)), Some(Value::Int(v))) =
                        (get(key_at.0), get(key_at.1), get(key_at.2))
                {
                    keys.push(format!("{p}/{n}/v{v}"));
                }
                if *table == "audit_checkpoints"
                    && let (Some(Value::Int(size)), Some(Value::Text(note))) = (get(cp_at.0), get(cp_at.1))
                    && latest_checkpoint.as_ref().is_none_or(|(s, _)| size > s)
                {
                    latest_checkpoint = Some((*size, note.clone()));
                }
                if *table == "audit_cosignatures"
                    && let (Some(Value::Int(size)), Some(Value::Text(l))) = (get(cos_at.0), get(cos_at.1))
                {
                    cosignatures.push((*size, l.clone()));
                }
                Ok(())
            })
            .await?;
        if let Some(e) = failed {
            return Err(e);
        }
        let sha256 = hex(&hasher.finalize());
        line(&mut sealed, &serde_json::json!({ "end": table, "rows": rows, "sha256": sha256 }))?;
        sums.push(TableSum { name: (*table).to_owned(), rows, sha256 });
    }
    drop(snapshot);

    let checkpoint = latest_checkpoint.map(|(size, mut note)| {
        for (_, l) in cosignatures.iter().filter(|(s, _)| *s == size) {
            note.push_str(l);
            note.push('\n');
        }
        note
    });
    let manifest = Manifest {
        format: FORMAT,
        lanyard_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: store.schema_version().await?,
        created_at_ms: now_ms,
        origin: register.audit_origin().await?,
        tables: sums,
        audit_size: frontier.size(),
        audit_root: B64.encode(frontier.root()),
        checkpoint,
        key_provider: key_provider.to_owned(),
        keys,
    };
    let signature = register.sign_with_log_key(op, &manifest.note_body()?, now_ms).await?;
    line(&mut sealed, &serde_json::json!({ "manifest": manifest, "signature": signature }))?;
    let mut inner = sealed.finish()?;
    inner.flush()?;
    Ok(manifest)
}
