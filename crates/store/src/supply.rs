//! Print suppliers and batches: names, public recipients, states, card ids
//! and the sealed batch files, which nobody here can open.

use lanyard_core::{BatchState, PrintOutcome, UnknownName};
use uuid::Uuid;

use crate::authenticated::{Authenticated, Canon, tag_in_mac_field};
use crate::error::{StoreError, StoreErrorKind};
use crate::store::Store;
use crate::tx::Tx;

/// A print supplier.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SupplierRow {
    /// Name, as its service tokens carry it.
    pub name: String,
    /// Its age X25519 recipient (`age1…`), public.
    pub recipient: String,
    /// Unix seconds, when disabled.
    pub disabled_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for SupplierRow {
    const TABLE: &'static str = "suppliers";
    fn row_id(&self) -> String {
        self.name.clone()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .str(&self.name)
            .str(&self.recipient)
            .opt_int(self.disabled_at)
            .int(self.created_at)
            .int(self.updated_at)
            .finish()
    }
    tag_in_mac_field!();
}

/// A print batch, without its file.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRow {
    /// Batch id.
    pub id: String,
    /// The supplier it is for.
    pub supplier: String,
    /// Where the batch is; a name lanyard does not know fails to decode.
    #[sqlx(try_from = "String")]
    pub state: BatchState,
    /// The recipient the file was sealed to.
    pub recipient: String,
    /// How many cards it holds.
    pub card_count: i64,
    /// Size of the sealed file in bytes.
    pub sealed_size: i64,
    /// SHA-256 of the sealed file.
    pub sealed_sha256: Vec<u8>,
    /// Actor who made it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; a pending batch past this is gone.
    pub expires_at: i64,
    /// How many times it was downloaded or exported.
    pub downloads: i64,
    /// Unix seconds, when confirmed, expired or destroyed.
    pub closed_at: Option<i64>,
    /// Optimistic concurrency counter.
    pub row_version: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for BatchRow {
    const TABLE: &'static str = "batches";
    fn row_id(&self) -> String {
        self.id.clone()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .str(&self.id)
            .str(&self.supplier)
            .str(self.state.as_str())
            .str(&self.recipient)
            .int(self.card_count)
            .int(self.sealed_size)
            .bytes(&self.sealed_sha256)
            .str(&self.created_by)
            .int(self.created_at)
            .int(self.expires_at)
            .int(self.downloads)
            .opt_int(self.closed_at)
            .int(self.row_version)
            .finish()
    }
    tag_in_mac_field!();
}

/// A card in a batch.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchCardRow {
    /// Batch id.
    pub batch_id: String,
    /// Card id.
    pub card_id: String,
    /// Whose card.
    pub person_id: Uuid,
    /// Comma-separated names of the personal fields printed on it.
    pub fields: String,
    /// What became of the card, once known.
    #[sqlx(try_from = "NullableName")]
    pub outcome: Option<PrintOutcome>,
}

/// A name column that may be NULL, decoded as text first so the name can be
/// checked against lanyard's own.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct NullableName(Option<String>);

impl TryFrom<NullableName> for Option<PrintOutcome> {
    type Error = UnknownName;
    fn try_from(n: NullableName) -> Result<Self, Self::Error> {
        n.0.map(PrintOutcome::try_from).transpose()
    }
}

const BATCH_COLUMNS: &str = "id, supplier, state, recipient, card_count, sealed_size, sealed_sha256, created_by, \
                             created_at, expires_at, downloads, closed_at, row_version, mac";
const SUPPLIER_COLUMNS: &str = "name, recipient, disabled_at, created_at, updated_at, mac";

impl Store {
    /// One supplier.
    pub async fn supplier(&self, name: &str) -> Result<Option<SupplierRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {SUPPLIER_COLUMNS} FROM suppliers WHERE name = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(name).fetch_optional(p).await)?)
    }

    /// Every supplier, by name.
    pub async fn suppliers(&self) -> Result<Vec<SupplierRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {SUPPLIER_COLUMNS} FROM suppliers ORDER BY name"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// One batch.
    pub async fn batch(&self, id: &str) -> Result<Option<BatchRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Batches of a supplier and/or in a state, oldest first.
    pub async fn batches(
        &self,
        supplier: Option<&str>,
        state: Option<BatchState>,
    ) -> Result<Vec<BatchRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM batches WHERE ($1 IS NULL OR supplier = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY created_at, id"
        ));
        Ok(
            on_pool!(self, p => sqlx::query_as(sql).bind(supplier).bind(state.map(BatchState::as_str)).fetch_all(p).await)?,
        )
    }

    /// Chunk `seq` of a batch's sealed file, while it exists.
    pub async fn batch_chunk(&self, id: &str, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = "SELECT bytes FROM batch_chunks WHERE batch_id = $1 AND seq = $2";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(id).bind(seq).fetch_optional(p).await)?)
    }

    /// The sealed file of a batch whole, while it exists (for tests and
    /// small files; the server streams [`Store::batch_chunk`]s).
    pub async fn batch_file(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut file = Vec::new();
        let mut seq = 0;
        while let Some(chunk) = self.batch_chunk(id, seq).await? {
            file.extend_from_slice(&chunk);
            seq += 1;
        }
        Ok((seq > 0).then_some(file))
    }

    /// Stores chunk `seq` of a batch's sealed file, in a transaction of its
    /// own: a batch's chunks are written as it is sealed, before its row.
    pub async fn put_batch_chunk(&self, id: &str, seq: i64, bytes: &[u8], now_s: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO batch_chunks (batch_id, seq, bytes, created_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, p => sqlx::query(sql).bind(id).bind(seq).bind(bytes).bind(now_s).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes the chunks of batch `id` (one that failed before its row).
    pub async fn drop_batch_chunks(&self, id: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM batch_chunks WHERE batch_id = $1";
        on_pool!(self, p => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes chunks written before `before_s` that belong to no open
    /// batch (a batch whose making was cut off); returns how many.
    pub async fn sweep_batch_chunks(&self, before_s: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM batch_chunks WHERE created_at < $1 \
                   AND batch_id NOT IN (SELECT id FROM batches WHERE closed_at IS NULL)";
        Ok(on_pool!(self, p => sqlx::query(sql).bind(before_s).execute(p).await.map(|r| r.rows_affected()))?)
    }

    /// The cards of a batch, by card id.
    pub async fn batch_cards(&self, batch: &str) -> Result<Vec<BatchCardRow>, StoreError> {
        let sql = "SELECT batch_id, card_id, person_id, fields, outcome FROM batch_cards WHERE batch_id = $1 \
                   ORDER BY card_id";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(batch).fetch_all(p).await)?)
    }
}

impl Tx {
    /// Adds a supplier; a taken name is a conflict.
    pub async fn insert_supplier(&mut self, s: &SupplierRow) -> Result<(), StoreError> {
        self.stamp(s);
        let sql =
            sqlx::AssertSqlSafe(format!("INSERT INTO suppliers ({SUPPLIER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"));
        on_tx!(self, c => sqlx::query(sql).bind(&s.name).bind(&s.recipient).bind(s.disabled_at).bind(s.created_at)
            .bind(s.updated_at).bind(&s.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes back a supplier's recipient and disabled time.
    pub async fn update_supplier(&mut self, s: &SupplierRow) -> Result<(), StoreError> {
        self.stamp(s);
        let sql = "UPDATE suppliers SET recipient = $2, disabled_at = $3, updated_at = $4, mac = $5 WHERE name = $1";
        let done = on_tx!(self, c => sqlx::query(sql).bind(&s.name).bind(&s.recipient).bind(s.disabled_at)
            .bind(s.updated_at).bind(&s.mac).execute(c).await.map(|r| r.rows_affected()))?;
        if done != 1 {
            return Err(StoreError::new(StoreErrorKind::Corrupt("the supplier vanished during an update".into())));
        }
        Ok(())
    }

    /// Adds a batch, whose sealed file is already stored in chunks
    /// ([`Store::put_batch_chunk`]) adding up to its sealed size, and its
    /// cards. Chunks that do not add up are an error: no batch row points
    /// at a file that is not whole.
    pub async fn insert_batch(&mut self, b: &BatchRow, cards: &[BatchCardRow]) -> Result<(), StoreError> {
        let sql = "SELECT COUNT(*), COALESCE(SUM(LENGTH(bytes)), 0), COALESCE(MAX(seq), -1) FROM batch_chunks \
                   WHERE batch_id = $1";
        let (count, size, last): (i64, i64, i64) =
            on_tx!(self, c => sqlx::query_as(sql).bind(&b.id).fetch_one(c).await)?;
        if size != b.sealed_size || last + 1 != count {
            return Err(StoreError::new(StoreErrorKind::Corrupt(format!(
                "batch {}: its stored chunks hold {size} bytes in {count}, not the {} sealed",
                b.id, b.sealed_size
            ))));
        }
        self.stamp(b);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO batches ({BATCH_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ));
        on_tx!(self, c => sqlx::query(sql)
            .bind(&b.id).bind(&b.supplier).bind(b.state.as_str()).bind(&b.recipient).bind(b.card_count).bind(b.sealed_size)
            .bind(&b.sealed_sha256).bind(&b.created_by).bind(b.created_at).bind(b.expires_at).bind(b.downloads)
            .bind(b.closed_at).bind(b.row_version).bind(&b.mac)
            .execute(c).await.map(|_| ()))?;
        let sql = "INSERT INTO batch_cards (batch_id, card_id, person_id, fields, outcome) VALUES ($1, $2, $3, $4, $5)";
        for card in cards {
            on_tx!(self, c => sqlx::query(sql).bind(&card.batch_id).bind(&card.card_id).bind(card.person_id)
                .bind(&card.fields).bind(card.outcome.map(PrintOutcome::as_str)).execute(c).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Writes back a batch's state, downloads and closing time if nobody
    /// changed it since `expected_version`; a closed batch loses its file.
    pub async fn update_batch(&mut self, b: &BatchRow, expected_version: i64) -> Result<(), StoreError> {
        self.stamp(b);
        let sql = "UPDATE batches SET state = $2, downloads = $3, closed_at = $4, row_version = $5, mac = $7 \
                   WHERE id = $1 AND row_version = $6";
        let done = on_tx!(self, c => sqlx::query(sql).bind(&b.id).bind(b.state.as_str()).bind(b.downloads)
            .bind(b.closed_at).bind(b.row_version).bind(expected_version).bind(&b.mac)
            .execute(c).await.map(|r| r.rows_affected()))?;
        if done != 1 {
            return Err(StoreError::new(StoreErrorKind::Conflict("a newer version of this batch".into())));
        }
        if b.closed_at.is_some() {
            let sql = "DELETE FROM batch_chunks WHERE batch_id = $1";
            on_tx!(self, c => sqlx::query(sql).bind(&b.id).execute(c).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Records what became of a card in a batch.
    pub async fn set_batch_card_outcome(
        &mut self,
        batch: &str,
        card: &str,
        outcome: PrintOutcome,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE batch_cards SET outcome = $3 WHERE batch_id = $1 AND card_id = $2";
        on_tx!(self, c => sqlx::query(sql).bind(batch).bind(card).bind(outcome.as_str()).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}
