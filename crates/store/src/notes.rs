//! Audit-note keys: each sealed note's own key, wrapped, and the people its
//! event names. The store sees neither a note nor an unwrapped key.

use uuid::Uuid;

use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

/// One note's key, wrapped by the audit-notes key, and whom it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteKeyRow {
    /// The note id the event carries.
    pub id: String,
    /// The note key, wrapped.
    pub wrapped: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// The people its event names; erasing any of them shreds the note.
    pub people: Vec<Uuid>,
}

impl Store {
    /// A note's wrapped key, or `None` once it was shredded.
    pub async fn audit_note_key(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = "SELECT wrapped FROM audit_notes WHERE id = $1";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)?)
    }
}

impl Tx {
    /// Stores note keys and their people, in the transaction that appends
    /// the events carrying the notes.
    pub async fn insert_note_keys(&mut self, rows: &[NoteKeyRow]) -> Result<(), StoreError> {
        let key_sql = "INSERT INTO audit_notes (id, wrapped, created_at) VALUES ($1, $2, $3)";
        let person_sql = "INSERT INTO audit_note_people (person_id, note_id) VALUES ($1, $2)";
        for row in rows {
            on_tx!(self, c => sqlx::query(key_sql).bind(&row.id).bind(&row.wrapped).bind(row.created_at)
                .execute(c).await.map(|_| ()))?;
            for person in &row.people {
                on_tx!(self, c => sqlx::query(person_sql).bind(*person).bind(&row.id).execute(c).await.map(|_| ()))?;
            }
        }
        Ok(())
    }

    /// Deletes the key of every note whose event names `person` (their
    /// links go with them, by the foreign key): those notes can no longer
    /// be opened. Returns how many.
    pub async fn shred_notes_of(&mut self, person: Uuid) -> Result<u64, StoreError> {
        let sql = "DELETE FROM audit_notes WHERE id IN (SELECT note_id FROM audit_note_people WHERE person_id = $1)";
        Ok(on_tx!(self, c => sqlx::query(sql).bind(person).execute(c).await.map(|r| r.rows_affected()))?)
    }
}
