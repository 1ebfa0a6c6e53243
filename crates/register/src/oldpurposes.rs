//! Purposes typed as free text before purposes had codes, sealed into
//! notes once, at the upgrade that brought notes (issue 15).
//!
//! Such a purpose ("renewal for Callum Ahmed, callum.ahmed@…") sits in
//! clear in an event already in the tree. The event's stored bytes are
//! replaced by the same event with the purpose's code (`other` unless the
//! text began with a code) and the whole text as a sealed note, linked to
//! the event's people so that erasing one shreds it. The leaf hash stays
//! the original's, so the tree and every signed checkpoint stand.
//!
//! Each redaction is a row of `audit_redactions` (the event's index and the
//! SHA-256 of the bytes now stored), tagged under the row-integrity key,
//! and the one `audit.purposes_sealed` event that ends the migration
//! commits to the whole set. `audit verify` accepts an event whose bytes
//! differ from its leaf only where such a row, with a valid tag, says these
//! are its bytes; and the auditor who opens the note can rebuild the
//! original bytes and see that they hash to the leaf.

use lanyard_audit::{Event, Outcome, leaf_hash, log};
use lanyard_core::purpose::{self, Purpose};
use lanyard_store::{NoteKeyRow, RedactionRow};
use sha2::{Digest, Sha256};

use crate::error::RegisterError;
use crate::register::Register;

/// Meta key: the old purposes of this store were sealed.
const META: &str = "old_purposes_sealed";
/// The event that ends the migration.
pub(crate) const ACTION: &str = "audit.purposes_sealed";
/// Note keys stored per statement (all in one transaction).
const BATCH: usize = 1000;

/// Whether this event starts the part of the log where every purpose is a
/// code: a register born with notes, or the notes key added at upgrade.
fn notes_begin(e: &Event) -> bool {
    let detail = |k: &str| e.detail.as_ref().map(|d| d[k].clone()).unwrap_or_default();
    (e.action == "register.init" && detail("row_tables") == "all")
        || (e.action == "key.create" && detail("key") == "audit-notes")
}

/// The event as it is now stored: the code in clear and the whole old
/// text sealed. `None` where the purpose is already just a code.
fn redacted(reg: &Register, e: &Event, now_ms: i64) -> Result<Option<(Event, NoteKeyRow)>, RegisterError> {
    let Some(text) = e.purpose.as_deref() else { return Ok(None) };
    if e.note.is_some() || purpose::DEFAULT_CODES.contains(&text) {
        return Ok(None);
    }
    let code = Purpose::parse(text, &purpose::default_codes()).map_or(purpose::OTHER.to_owned(), |p| p.code().into());
    let mut new = e.clone();
    new.purpose = Some(code);
    let key = reg.seal_note(&mut new, text, now_ms)?;
    Ok(Some((new, key)))
}

/// The stored bytes of a redacted event rebuilt as they were: its note
/// (the whole old purpose) back as the purpose. They hash to its leaf.
pub(crate) fn original_bytes(stored: &Event, note: &str) -> Vec<u8> {
    let mut e = stored.clone();
    e.purpose = Some(note.to_owned());
    e.note = None;
    e.to_bytes()
}

/// The digest the ending event commits to: every redaction in index order.
#[derive(Default)]
pub(crate) struct SetDigest {
    hasher: Sha256,
    count: u64,
}

impl SetDigest {
    pub(crate) fn add(&mut self, idx: i64, digest: &[u8]) {
        self.hasher.update(idx.to_be_bytes());
        self.hasher.update(digest);
        self.count += 1;
    }

    pub(crate) fn finish(self) -> (u64, String) {
        let d: [u8; 32] = self.hasher.finalize().into();
        (self.count, d.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Seals the old purposes of an upgraded store, once. A store born with
/// notes has none and is left as it is.
pub(crate) async fn seal_old_purposes(reg: &Register, now_ms: i64) -> Result<(), RegisterError> {
    let store = reg.store();
    if store.meta(META).await?.is_some() {
        return Ok(());
    }
    let end = i64::try_from(log::size(store).await?).unwrap_or(i64::MAX);
    // First pass: which events to redact (indexes only; the bytes are
    // read again in the write, in batches, so memory stays bounded).
    let mut todo: Vec<i64> = Vec::new();
    let mut born_with_notes = false;
    let mut pages = store.audit_pages(0, end, true);
    'scan: while let Some(page) = pages.next().await {
        for row in page? {
            let Ok(e) = Event::from_bytes(&row.event) else { continue };
            if notes_begin(&e) {
                born_with_notes = row.idx == 0;
                break 'scan;
            }
            if e.purpose.is_some() && e.note.is_none() {
                todo.push(row.idx);
            }
        }
    }
    if born_with_notes {
        return Ok(());
    }
    let mut set = SetDigest::default();
    let (mut provable, mut sealed) = (0u64, 0u64);
    let mut w = reg.ledger.begin().await?;
    if let (Some(first), Some(last)) = (todo.first(), todo.last()) {
        let mut keys = Vec::new();
        let mut pages = store.audit_pages(*first, last + 1, true);
        while let Some(page) = pages.next().await {
            for row in page?.iter().filter(|r| todo.binary_search(&r.idx).is_ok()) {
                let Ok(e) = Event::from_bytes(&row.event) else { continue };
                let Some((new, key)) = redacted(reg, &e, now_ms)? else { continue };
                let bytes = new.to_bytes();
                let text = e.purpose.as_deref().unwrap_or_default();
                if row.leaf_hash.as_slice() == leaf_hash(&original_bytes(&new, text)).as_slice() {
                    provable += 1;
                }
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                let mut redaction = RedactionRow { idx: row.idx, digest: digest.to_vec(), mac: None };
                reg.ledger.tag(&mut redaction)?;
                w.tx().redact_event(&redaction, &bytes).await?;
                set.add(row.idx, &digest);
                keys.push(key);
                sealed += 1;
                if keys.len() >= BATCH {
                    w.tx().insert_note_keys(&std::mem::take(&mut keys)).await?;
                }
            }
        }
        w.tx().insert_note_keys(&keys).await?;
    }
    let (count, digest) = set.finish();
    let mut event = Event::new(now_ms, lanyard_audit::Actor::system(), ACTION, Outcome::Ok);
    // `provable`: how many rebuild, from the note, to bytes that hash to
    // their leaf (all of them, unless an event was stored non-canonically).
    event.detail = Some(serde_json::json!({ "sealed": sealed, "provable": provable, "set": digest, "count": count }));
    w.tx().set_meta(META, "1").await?;
    w.append(&[event]).await?;
    w.commit().await?;
    Ok(())
}
