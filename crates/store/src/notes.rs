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
    /// the events carrying the notes: many rows per statement, since a
    /// group commit brings one note per read that had one.
    pub async fn insert_note_keys(&mut self, rows: &[NoteKeyRow]) -> Result<(), StoreError> {
        // Well under either backend's limit on bound parameters.
        const CHUNK: usize = 500;
        for chunk in rows.chunks(CHUNK) {
            on_tx!(self, c => {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_notes (id, wrapped, created_at) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.id).push_bind(&r.wrapped).push_bind(r.created_at);
                });
                q.build().execute(c).await.map(|_| ())
            })?;
        }
        let links: Vec<(Uuid, &str)> =
            rows.iter().flat_map(|r| r.people.iter().map(move |p| (*p, r.id.as_str()))).collect();
        for chunk in links.chunks(CHUNK) {
            on_tx!(self, c => {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_note_people (person_id, note_id) ");
                q.push_values(chunk, |mut b, (person, note)| {
                    b.push_bind(*person).push_bind(*note);
                });
                q.build().execute(c).await.map(|_| ())
            })?;
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
