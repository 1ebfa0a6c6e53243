//! Card rows: lifecycle state and the clear metadata of each card. Updates
//! are optimistic (`row_version`), so two servers changing one card cannot
//! both win.

use lanyard_core::CardState;
use uuid::Uuid;

use crate::authenticated::{Authenticated, Canon, tag_in_mac_field};
use crate::error::{StoreError, StoreErrorKind};
use crate::store::Store;
use crate::tx::Tx;

/// One card.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CardRow {
    /// Card id (short, printable).
    pub id: String,
    /// Whose card.
    pub person_id: Uuid,
    /// Card type name.
    pub card_type: String,
    /// Lifecycle state; a name lanyard does not know fails to decode.
    #[sqlx(try_from = "String")]
    pub state: CardState,
    /// The number printed on the card.
    pub number: String,
    /// Index in the status list.
    pub status_idx: i64,
    /// Actor who requested it.
    pub requested_by: String,
    /// Actor who approved it.
    pub approved_by: Option<String>,
    /// The card this one replaces.
    pub supersedes: Option<String>,
    /// Issuer key version that signs its credential (set at approval).
    pub key_version: Option<i64>,
    /// Credential `iat`/`nbf`, unix seconds (set at approval).
    pub issued_at: Option<i64>,
    /// Credential `exp`, unix seconds (set at approval).
    pub expires_at: Option<i64>,
    /// Reason code of the last transition.
    pub reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Optimistic concurrency counter.
    pub row_version: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for CardRow {
    const TABLE: &'static str = "cards";
    fn row_id(&self) -> String {
        self.id.clone()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .str(&self.id)
            .uuid(self.person_id)
            .str(&self.card_type)
            .str(self.state.as_str())
            .str(&self.number)
            .int(self.status_idx)
            .str(&self.requested_by)
            .opt_str(self.approved_by.as_deref())
            .opt_str(self.supersedes.as_deref())
            .opt_int(self.key_version)
            .opt_int(self.issued_at)
            .opt_int(self.expires_at)
            .opt_str(self.reason.as_deref())
            .int(self.created_at)
            .int(self.updated_at)
            .int(self.row_version)
            .finish()
    }
    tag_in_mac_field!();
}

/// The advisory lock that serialises card making on PostgreSQL ("lanyardc").
const CARD_LOCK_KEY: i64 = 0x6c61_6e79_6172_6463;

const CARD_COLUMNS: &str = "id, person_id, card_type, state, number, status_idx, requested_by, approved_by, \
                            supersedes, key_version, issued_at, expires_at, reason, created_at, updated_at, row_version, mac";

/// Which cards to list.
#[derive(Clone, Debug, Default)]
pub struct CardFilter {
    /// Only this person's.
    pub person: Option<Uuid>,
    /// Only in this state.
    pub state: Option<CardState>,
}

impl Store {
    /// The card with this id.
    pub async fn card(&self, id: &str) -> Result<Option<CardRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Cards matching `filter`, oldest first.
    pub async fn cards(&self, filter: &CardFilter) -> Result<Vec<CardRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE ($1 IS NULL OR person_id = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY created_at, id"
        ));
        Ok(
            on_pool!(self, p => sqlx::query_as(sql).bind(filter.person).bind(filter.state.map(CardState::as_str)).fetch_all(p).await)?,
        )
    }

    /// Every card by status list index: what a status list is built from
    /// (whole rows, so each one's tag can be checked).
    pub async fn cards_by_status_idx(&self) -> Result<Vec<CardRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CARD_COLUMNS} FROM cards ORDER BY status_idx"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// `(key_version, latest expiry)` of the cards each issuer key signed and
    /// that have not left service for good: how long each key must stay in
    /// the trust bundle.
    pub async fn issuer_key_horizons(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = "SELECT key_version, MAX(expires_at) FROM cards \
                   WHERE key_version IS NOT NULL AND expires_at IS NOT NULL GROUP BY key_version";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }
}

impl Tx {
    /// A card of `person` and `card_type` still in service (requested,
    /// approved, printed, issued or suspended), if any: one per person and
    /// type, read inside the write that would add another.
    pub async fn live_card(&mut self, person: Uuid, card_type: &str) -> Result<Option<CardRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 AND card_type = $2 \
             AND state IN ('requested', 'approved', 'printed', 'issued', 'suspended') ORDER BY created_at LIMIT 1"
        ));
        Ok(on_tx!(self, c => sqlx::query_as(sql).bind(person).bind(card_type).fetch_optional(c).await)?)
    }

    /// Serialises the making of cards until this transaction ends, so
    /// that "no live card of this type" and "the next number" are read by
    /// one maker at a time. Call it first in a transaction that adds a
    /// card. SQLite already holds its one writer; PostgreSQL takes a
    /// transaction advisory lock (released at commit or rollback).
    pub async fn lock_card_making(&mut self) -> Result<(), StoreError> {
        if let crate::tx::TxInner::Postgres(t) = &mut self.inner {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CARD_LOCK_KEY).execute(&mut **t).await?;
        }
        Ok(())
    }

    /// The next free status list index.
    pub async fn next_status_idx(&mut self) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(MAX(status_idx) + 1, 0) FROM cards";
        let (n,): (i64,) = on_tx!(self, c => sqlx::query_as(sql).fetch_one(c).await)?;
        Ok(n)
    }

    /// Adds a card; a taken id, number or index is a conflict.
    pub async fn insert_card(&mut self, r: &CardRow) -> Result<(), StoreError> {
        self.stamp(r);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO cards ({CARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ));
        on_tx!(self, c => sqlx::query(sql)
            .bind(&r.id).bind(r.person_id).bind(&r.card_type).bind(r.state.as_str()).bind(&r.number).bind(r.status_idx)
            .bind(&r.requested_by).bind(&r.approved_by).bind(&r.supersedes).bind(r.key_version).bind(r.issued_at)
            .bind(r.expires_at).bind(&r.reason).bind(r.created_at).bind(r.updated_at).bind(r.row_version).bind(&r.mac)
            .execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes back a card's state if nobody changed it since `expected_version`.
    pub async fn update_card(&mut self, r: &CardRow, expected_version: i64) -> Result<(), StoreError> {
        self.stamp(r);
        let sql = "UPDATE cards SET state = $2, approved_by = $3, key_version = $4, issued_at = $5, expires_at = $6, \
                   reason = $7, updated_at = $8, row_version = $9, mac = $11 WHERE id = $1 AND row_version = $10";
        let done = on_tx!(self, c => sqlx::query(sql)
            .bind(&r.id).bind(r.state.as_str()).bind(&r.approved_by).bind(r.key_version).bind(r.issued_at)
            .bind(r.expires_at).bind(&r.reason).bind(r.updated_at).bind(r.row_version).bind(expected_version).bind(&r.mac)
            .execute(c).await.map(|r| r.rows_affected()))?;
        if done != 1 {
            return Err(StoreError::new(StoreErrorKind::Conflict("a newer version of this card".into())));
        }
        Ok(())
    }
}
