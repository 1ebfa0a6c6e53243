//! Canary records: the recipient, the nonce its canary is generated from,
//! and the template of its made-up values. No value of the canary itself.

use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

/// One recipient's canary.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CanaryRow {
    /// Who it is planted for (a supplier, a partner system).
    pub recipient: String,
    /// The nonce its seed is derived from.
    pub nonce: Vec<u8>,
    /// JSON: the shape of its made-up values.
    pub template: String,
    /// Actor who planted it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

const COLUMNS: &str = "recipient, nonce, template, created_by, created_at";

impl Store {
    /// One recipient's canary.
    pub async fn canary(&self, recipient: &str) -> Result<Option<CanaryRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM canaries WHERE recipient = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(recipient).fetch_optional(p).await)?)
    }

    /// Every canary, by recipient.
    pub async fn canaries(&self) -> Result<Vec<CanaryRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM canaries ORDER BY recipient"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }
}

impl Tx {
    /// Adds a canary; a recipient that has one already is a conflict.
    pub async fn insert_canary(&mut self, c: &CanaryRow) -> Result<(), StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("INSERT INTO canaries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"));
        on_tx!(self, conn => sqlx::query(sql).bind(&c.recipient).bind(&c.nonce).bind(&c.template)
            .bind(&c.created_by).bind(c.created_at).execute(conn).await.map(|_| ()))?;
        Ok(())
    }
}
