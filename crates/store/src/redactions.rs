//! Redacted audit events: which stored bytes stand in for an event whose
//! original bytes (and so its leaf hash) held what must not stay in clear.
//! The store keeps the rows; the tag over each is made and checked above
//! it, with the row-integrity key.

use crate::authenticated::{Canon, tag_in_mac_field};
use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

/// One redacted event.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RedactionRow {
    /// The event's index in the log.
    pub idx: i64,
    /// SHA-256 of the bytes now stored for it.
    pub digest: Vec<u8>,
    /// Row tag (see [`crate::Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl crate::Authenticated for RedactionRow {
    const TABLE: &'static str = "audit_redactions";
    fn row_id(&self) -> String {
        self.idx.to_string()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new().int(self.idx).bytes(&self.digest).finish()
    }
    tag_in_mac_field!();
}

impl Store {
    /// Redactions of events at `from` and after, in index order.
    pub async fn redactions(&self, from: i64) -> Result<Vec<RedactionRow>, StoreError> {
        let sql = "SELECT idx, digest, mac FROM audit_redactions WHERE idx >= $1 ORDER BY idx";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(from).fetch_all(p).await)?)
    }
}

impl Store {
    /// The redaction of event `idx`, if it was redacted.
    pub async fn redaction(&self, idx: i64) -> Result<Option<RedactionRow>, StoreError> {
        let sql = "SELECT idx, digest, mac FROM audit_redactions WHERE idx = $1";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(idx).fetch_optional(p).await)?)
    }
}

impl Tx {
    /// Replaces an event's stored bytes, keeping its leaf hash, and records
    /// the redaction. Not recorded as a row write: the event that ends the
    /// migration commits to every redaction at once.
    pub async fn redact_event(&mut self, row: &RedactionRow, bytes: &[u8]) -> Result<(), StoreError> {
        let sql = "UPDATE audit_log SET event = $2 WHERE idx = $1";
        on_tx!(self, c => sqlx::query(sql).bind(row.idx).bind(bytes).execute(c).await.map(|_| ()))?;
        let sql = "INSERT INTO audit_redactions (idx, digest, mac) VALUES ($1, $2, $3)";
        on_tx!(self, c => sqlx::query(sql).bind(row.idx).bind(&row.digest).bind(&row.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}
