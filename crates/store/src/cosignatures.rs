//! Witness cosignatures of the log's checkpoints, as the witnesses
//! returned them: self-authenticating, so kept as they came.

use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

impl Store {
    /// The largest size `witness` cosigned, as far as this store knows.
    pub async fn latest_cosigned(&self, witness: &str) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MAX(size) FROM audit_cosignatures WHERE witness = $1";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(witness).fetch_one(p).await)?)
    }

    /// Every cosignature line of the checkpoint of `size`, `(witness, line)`.
    pub async fn cosignatures_at(&self, size: i64) -> Result<Vec<(String, String)>, StoreError> {
        let sql = "SELECT witness, line FROM audit_cosignatures WHERE size = $1 ORDER BY witness";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(size).fetch_all(p).await)?)
    }
}

impl Tx {
    /// Keeps a witness's cosignature of the checkpoint of `size`.
    pub async fn insert_cosignature(
        &mut self,
        witness: &str,
        size: i64,
        line: &str,
        created_at: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_cosignatures (witness, size, line, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (witness, size) DO UPDATE SET line = excluded.line, created_at = excluded.created_at";
        on_tx!(self, c => sqlx::query(sql).bind(witness).bind(size).bind(line).bind(created_at).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}
