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
    /// Row tag (see [`crate::Authenticated`]): a nonce moved to another
    /// recipient would blame the wrong one for a leak.
    pub mac: Option<Vec<u8>>,
}

impl crate::Authenticated for CanaryRow {
    const TABLE: &'static str = "canaries";
    fn row_id(&self) -> String {
        self.recipient.clone()
    }
    fn canonical(&self) -> Vec<u8> {
        crate::Canon::new()
            .str(&self.recipient)
            .bytes(&self.nonce)
            .str(&self.template)
            .str(&self.created_by)
            .int(self.created_at)
            .finish()
    }
    crate::authenticated::tag_in_mac_field!();
}

const COLUMNS: &str = "recipient, nonce, template, created_by, created_at, mac";

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
        self.stamp(c);
        let sql = sqlx::AssertSqlSafe(format!("INSERT INTO canaries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"));
        on_tx!(self, conn => sqlx::query(sql).bind(&c.recipient).bind(&c.nonce).bind(&c.template)
            .bind(&c.created_by).bind(c.created_at).bind(&c.mac).execute(conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Sets a canary's tag (the one-time enrolment of rows from before tags).
    pub async fn set_canary_tag(&mut self, c: &CanaryRow) -> Result<(), StoreError> {
        self.stamp(c);
        let sql = "UPDATE canaries SET mac = $1 WHERE recipient = $2";
        on_tx!(self, conn => sqlx::query(sql).bind(&c.mac).bind(&c.recipient).execute(conn).await.map(|_| ()))?;
        Ok(())
    }
}
