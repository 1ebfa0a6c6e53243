//! `lanyard audit export`: the events of a time window, each with its
//! inclusion proof against one signed checkpoint, as one JSON document an
//! outside reviewer checks with nothing but the verifier key (DESIGN §4).
//!
//! The document is made a page of events at a time ([`AuditExport::next_chunk`]),
//! so an export of a year's log costs the memory of one page, on the server
//! streaming it and in the CLI writing it. Its shape:
//!
//! ```text
//! {"verifier_key":…,"tree_size":…,"checkpoint":…,"from_ms":…,"to_ms":…,"events":[
//! {"index":…,"event_base64":…,"leaf_hash":…,"hashes":[…]},
//! …
//! ]}
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::{Event, Outcome, leaf_hash, log, merkle};
use lanyard_store::Store;
use serde::Serialize;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};

/// Events read and proved together: one read of the log and O(log n) of
/// the tree per page.
const PAGE: i64 = 2000;

/// One event of an export, with its proof.
#[derive(Clone, Debug, Serialize)]
pub struct ExportedEvent {
    /// Index in the log.
    pub index: u64,
    /// The stored bytes.
    pub event_base64: String,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// Base64 inclusion path against the export's checkpoint.
    pub hashes: Vec<String>,
}

/// What comes before the events.
#[derive(Serialize)]
struct Head<'a> {
    verifier_key: &'a str,
    tree_size: u64,
    checkpoint: &'a str,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// An export being written: take its chunks in order until `None`.
pub struct AuditExport {
    store: Store,
    tree_size: u64,
    /// The signed checkpoint's root, which every proof must reach.
    root: [u8; 32],
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    head: Option<Vec<u8>>,
    /// The next log index to read; past `end` once the events are out.
    next: i64,
    end: i64,
    events: u64,
    done: bool,
    /// A page failed: nothing more comes, so no later page can be taken
    /// for the rest of a whole document.
    failed: bool,
}

fn refused(e: impl std::fmt::Display) -> RegisterError {
    RegisterError::new(ErrorKind::Proof(e.to_string()))
}

fn damaged(index: impl std::fmt::Display, what: &str) -> RegisterError {
    refused(format!("audit event {index} {what}; run 'lanyard audit verify'"))
}

impl Register {
    /// Starts an export of the events with `from_ms <= time < to_ms`
    /// (either end open) against a checkpoint signed now. The export is
    /// recorded before any event is read, so none leaves unaccounted for.
    pub async fn export_window(
        &self,
        op: &Operator,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<AuditExport, RegisterError> {
        let verifier_key = self.verifier_key(op, now_ms).await?;
        let cp = self.checkpoint(op, None, now_ms).await?;
        let end = i64::try_from(cp.tree_size).map_err(refused)?;
        let root = B64.decode(&cp.root).ok().and_then(|r| <[u8; 32]>::try_from(r).ok());
        let root = root.ok_or_else(|| refused("the checkpoint's root is not a hash"))?;
        let head =
            Head { verifier_key: &verifier_key, tree_size: cp.tree_size, checkpoint: &cp.checkpoint, from_ms, to_ms };
        let mut head = serde_json::to_vec(&head).map_err(refused)?;
        // The head is an object; the events open inside it.
        head.pop();
        head.extend_from_slice(b",\"events\":[");
        let mut event = Event::new(now_ms, op.actor.clone(), "audit.export", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({ "tree_size": cp.tree_size, "from_ms": from_ms, "to_ms": to_ms }));
        self.record(&[event]).await?;
        Ok(AuditExport {
            store: self.store().clone(),
            tree_size: cp.tree_size,
            root,
            from_ms,
            to_ms,
            head: Some(head),
            next: 0,
            end,
            events: 0,
            done: false,
            failed: false,
        })
    }
}

impl AuditExport {
    /// Size of the checkpoint every proof is against.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// Events written so far (all of them once `next_chunk` gave `None`).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The next bytes of the document, or `None` after its end. An error
    /// leaves the document unfinished: the caller must not pass what it
    /// has as a whole export.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, RegisterError> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }
        if self.failed {
            return Err(refused("this export stopped at an error and cannot go on"));
        }
        while self.next < self.end {
            let out = match self.page().await {
                Ok(out) => out,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            };
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(b"\n]}\n".to_vec()))
    }

    /// The next page's events in the window, as JSON lines.
    async fn page(&mut self) -> Result<Vec<u8>, RegisterError> {
        let rows = self.store.audit_rows(self.next, PAGE.min(self.end - self.next)).await?;
        if rows.is_empty() {
            return Err(damaged(self.next, "is missing"));
        }
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            // A gap would end the window early without a word.
            if row.idx != self.next {
                return Err(damaged(self.next, "is missing"));
            }
            self.next += 1;
            let Ok(e) = Event::from_bytes(&row.event) else { return Err(damaged(row.idx, "is unreadable")) };
            if self.from_ms.is_some_and(|t| e.time_ms < t) || self.to_ms.is_some_and(|t| e.time_ms >= t) {
                continue;
            }
            kept.push((u64::try_from(row.idx).map_err(refused)?, row.event));
        }
        let indexes: Vec<u64> = kept.iter().map(|(i, _)| *i).collect();
        let proofs = log::inclusions(&self.store, &indexes, self.tree_size).await?;
        let mut out = Vec::new();
        for ((index, event), (leaf, hashes)) in kept.into_iter().zip(proofs) {
            // What the reviewer will check is checked first: the bytes hash
            // to the leaf, and the leaf's path reaches the signed root. A
            // stored hash changed behind lanyard's back fails here, and is
            // not passed on as proven.
            if leaf_hash(&event) != leaf {
                return Err(damaged(index, "does not match its leaf hash"));
            }
            if !merkle::verify_inclusion(&leaf, index, self.tree_size, &hashes, &self.root) {
                return Err(damaged(index, "is not proven by the tree's stored hashes"));
            }
            let exported = ExportedEvent {
                index,
                event_base64: B64.encode(&event),
                leaf_hash: B64.encode(leaf),
                hashes: hashes.iter().map(|h| B64.encode(h)).collect(),
            };
            out.extend_from_slice(if self.events == 0 { b"\n" } else { b",\n" });
            out.extend(serde_json::to_vec(&exported).map_err(refused)?);
            self.events += 1;
        }
        Ok(out)
    }
}
