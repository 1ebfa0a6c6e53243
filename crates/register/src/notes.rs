//! Opening a sealed audit note (the free-text part of a purpose). Only the
//! auditor asks (the policy's `ReadAuditNotes`); the opening is itself an
//! audit event naming the people of the event it opens, durable before the
//! note is decrypted. A note whose key was shredded with a person it names
//! answers that it was erased, never a guess.

use base64::Engine;
use lanyard_audit::{Event, Outcome, leaf_hash};
use serde::Serialize;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};

/// An opened note.
#[derive(Clone, Serialize)]
pub struct OpenedNote {
    /// The event it belongs to.
    pub index: u64,
    /// The purpose code in clear.
    pub code: Option<String>,
    /// The note.
    pub note: String,
    /// For an event whose old free-text purpose was sealed into this note
    /// at upgrade: whether the event rebuilt with the note as its purpose
    /// hashes to its leaf, proving the note is what the log first held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proves_leaf: Option<bool>,
}

// The note may name people: never printed by `Debug`.
impl std::fmt::Debug for OpenedNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedNote {{ index: {}, code: {:?}, note: [redacted] }}", self.index, self.code)
    }
}

fn note_error(text: String) -> RegisterError {
    RegisterError::new(ErrorKind::Note(text))
}

impl Register {
    /// Opens the note of event `index`, recording `audit.note.read` first.
    pub async fn audit_note(&self, op: &Operator, index: u64, now_ms: i64) -> Result<OpenedNote, RegisterError> {
        let (bytes, leaf) = self.audit_event(index).await?;
        let event = Event::from_bytes(&bytes).map_err(|_| note_error(format!("event {index} does not parse")))?;
        let note = event.note.clone().ok_or_else(|| note_error(format!("event {index} carries no note")))?;
        let mut read = Event::new(now_ms, op.actor.clone(), "audit.note.read", Outcome::Ok);
        read.request_id = Some(op.request_id.clone());
        read.people = event.people.clone();
        read.detail = Some(serde_json::json!({ "event": index, "note": note.id }));
        self.record(std::slice::from_ref(&read)).await?;
        let wrapped = self.store().audit_note_key(&note.id).await?.ok_or_else(|| {
            note_error(format!("the note of event {index} was erased with a person it names; it cannot be opened"))
        })?;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&note.sealed)
            .map_err(|_| note_error(format!("the note of event {index} is not base64")))?;
        let vault = self.vault()?;
        let sealer = vault.notes().ok_or_else(|| RegisterError::new(ErrorKind::Internal("no audit-notes key")))?;
        let plain = sealer
            .open(&note.id, &sealed, &wrapped)
            .map_err(|_| note_error(format!("the note of event {index} does not open: it or its key was altered")))?;
        let text =
            String::from_utf8(plain).map_err(|_| note_error(format!("the note of event {index} is not text")))?;
        let at = i64::try_from(index).unwrap_or(i64::MAX);
        let redacted = self.store().redaction(at).await?.is_some();
        let proves_leaf = redacted.then(|| leaf_hash(&crate::oldpurposes::original_bytes(&event, &text)) == leaf);
        Ok(OpenedNote { index, code: event.purpose, note: text, proves_leaf })
    }
}
