//! Write transactions. Everything that must change together (a person and
//! their audit event, a whole import) goes through one [`Tx`].

use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::authenticated::{Authenticated, RowStamp};
use crate::error::{StoreError, StoreErrorKind};
use crate::rows::{PersonRow, SealedRow, WrappedKeyRow};
use crate::store::{Pool, Store};

pub(crate) enum TxInner {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// An open write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: TxInner,
    // Every tagged row this transaction wrote or removed, for its audit
    // event (the ledger takes them before it commits).
    stamps: Vec<RowStamp>,
}

/// A SQLite write transaction on a connection of its own, begun and ended
/// with plain statements rather than sqlx's `Transaction`. When SQLite
/// itself ends a transaction (a full disk, an I/O error), sqlx's ROLLBACK on
/// drop fails and its count of open transactions stays at one, so that
/// pooled connection refused every later write (found by the disk-full
/// test, tests/cli/faults.rs). Here a transaction that did not commit
/// closes its connection instead of returning it: closing rolls back
/// whatever SQLite still holds open, and nothing is left to miscount.
pub(crate) struct SqliteTx {
    conn: sqlx::pool::PoolConnection<Sqlite>,
    committed: bool,
}

impl SqliteTx {
    pub(crate) async fn begin(pool: &sqlx::SqlitePool, statement: &'static str) -> Result<SqliteTx, StoreError> {
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql(statement).execute(&mut *conn).await?;
        Ok(SqliteTx { conn, committed: false })
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await?;
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if !self.committed {
            self.conn.close_on_drop();
        }
    }
}

/// An audit event's canonical bytes and its leaf hash.
pub type AuditEntry = (Vec<u8>, [u8; 32]);

/// Rows per multi-row INSERT; well under SQLite's 32,766 bound variables.
const BATCH: usize = 1000;

/// Any fixed key serialises audit appends across PostgreSQL servers.
const AUDIT_LOCK_KEY: i64 = 0x6c61_6e79_6172_6401;

impl Tx {
    pub(crate) async fn begin(store: &Store) -> Result<Tx, StoreError> {
        let inner = match &store.pool {
            Pool::Sqlite(p) => TxInner::Sqlite(SqliteTx::begin(p, "BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx { inner, stamps: Vec::new() })
    }

    /// Records that this transaction writes `row` with its tag.
    pub(crate) fn stamp<R: Authenticated>(&mut self, row: &R) {
        self.stamps.push(RowStamp::written(row));
    }

    /// Records that this transaction removes a row.
    pub(crate) fn stamp_removed(&mut self, table: &'static str, id: String) {
        self.stamps.push(RowStamp { table, id, tag: None });
    }

    /// The tagged rows written or removed so far, in order, taken out so
    /// that the write's audit event can carry them.
    pub fn take_stamps(&mut self) -> Vec<RowStamp> {
        std::mem::take(&mut self.stamps)
    }

    /// Makes every change of this transaction durable, or none.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Sets one metadata value.
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        on_tx!(self, c => sqlx::query(sql).bind(key).bind(value).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores a wrapped key; a version is written once.
    pub async fn insert_wrapped_key(&mut self, row: &WrappedKeyRow) -> Result<(), StoreError> {
        self.stamp(row);
        let sql = "INSERT INTO wrapped_keys (purpose, name, version, wrapped, created_at, mac) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_tx!(self, c => sqlx::query(sql)
            .bind(&row.purpose)
            .bind(&row.name)
            .bind(row.version)
            .bind(&row.wrapped)
            .bind(row.created_at)
            .bind(&row.mac)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a wrapped key's tag (the one-time enrolment of rows from
    /// before tags).
    pub async fn set_wrapped_key_tag(&mut self, row: &WrappedKeyRow) -> Result<(), StoreError> {
        self.stamp(row);
        let sql = "UPDATE wrapped_keys SET mac = $1 WHERE purpose = $2 AND name = $3 AND version = $4";
        on_tx!(self, c => sqlx::query(sql).bind(&row.mac).bind(&row.purpose).bind(&row.name).bind(row.version)
            .execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Inserts people, many rows per statement.
    pub async fn insert_people(&mut self, rows: &[PersonRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(BATCH) {
            on_tx!(self, c => {
                let mut q = QueryBuilder::new(
                    "INSERT INTO people (id, status, protected, created_at, updated_at, row_version, sn_index, surname_index, email_index) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id)
                        .push_bind(r.status.as_str())
                        .push_bind(r.protected)
                        .push_bind(r.created_at)
                        .push_bind(r.updated_at)
                        .push_bind(r.row_version)
                        .push_bind(r.sn_index.as_deref())
                        .push_bind(r.surname_index.as_deref())
                        .push_bind(r.email_index.as_deref());
                });
                q.build().execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Inserts sealed compartments, many rows per statement.
    pub async fn insert_sealed(&mut self, rows: &[SealedRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(BATCH) {
            on_tx!(self, c => {
                let mut q = QueryBuilder::new(
                    "INSERT INTO sealed (person_id, compartment, ck_version, key_version, wrapped_key, fields) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.person_id)
                        .push_bind(r.compartment.as_str())
                        .push_bind(r.ck_version)
                        .push_bind(r.key_version)
                        .push_bind(r.wrapped_key.as_slice())
                        .push_bind(r.fields.as_slice());
                });
                q.build().execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Replaces a person's metadata if its `row_version` is still
    /// `expected_version`; otherwise reports a conflict (someone else wrote).
    pub async fn update_person(&mut self, row: &PersonRow, expected_version: i64) -> Result<(), StoreError> {
        let sql = "UPDATE people SET status = $1, protected = $2, updated_at = $3, row_version = $4, \
                   sn_index = $5, surname_index = $6, email_index = $7 WHERE id = $8 AND row_version = $9";
        let done = on_tx!(self, c => sqlx::query(sql)
            .bind(row.status.as_str())
            .bind(row.protected)
            .bind(row.updated_at)
            .bind(row.row_version)
            .bind(row.sn_index.as_deref())
            .bind(row.surname_index.as_deref())
            .bind(row.email_index.as_deref())
            .bind(row.id)
            .bind(expected_version)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if done != 1 {
            return Err(StoreError::new(StoreErrorKind::Conflict("a newer version of this person".into())));
        }
        Ok(())
    }

    /// Inserts or replaces one sealed compartment.
    pub async fn upsert_sealed(&mut self, row: &SealedRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO sealed (person_id, compartment, ck_version, key_version, wrapped_key, fields) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (person_id, compartment) DO UPDATE SET \
                   ck_version = excluded.ck_version, key_version = excluded.key_version, \
                   wrapped_key = excluded.wrapped_key, fields = excluded.fields";
        on_tx!(self, c => sqlx::query(sql)
            .bind(row.person_id)
            .bind(row.compartment.as_str())
            .bind(row.ck_version)
            .bind(row.key_version)
            .bind(row.wrapped_key.as_slice())
            .bind(row.fields.as_slice())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Replaces a person key's wrapping if it is still at `old_version`.
    /// Returns whether the row changed (a concurrent write may have won).
    pub async fn rewrap_sealed(
        &mut self,
        person: Uuid,
        compartment: &str,
        old_version: i64,
        new_version: i64,
        wrapped_key: &[u8],
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE sealed SET ck_version = $1, wrapped_key = $2 WHERE person_id = $3 AND compartment = $4 AND ck_version = $5";
        let done = on_tx!(self, c => sqlx::query(sql)
            .bind(new_version)
            .bind(wrapped_key)
            .bind(person)
            .bind(compartment)
            .bind(old_version)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Stores a signed checkpoint for a log size (once per size).
    pub async fn insert_checkpoint(&mut self, size: i64, note: &str, created_at: i64) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO audit_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING";
        on_tx!(self, c => sqlx::query(sql).bind(size).bind(note).bind(created_at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores perfect-subtree hashes of the audit tree: `(level ≥ 1, index, hash)`.
    pub async fn insert_audit_nodes(&mut self, nodes: &[(u32, u64, [u8; 32])]) -> Result<(), StoreError> {
        for chunk in nodes.chunks(BATCH) {
            on_tx!(self, c => {
                let mut q = QueryBuilder::new("INSERT INTO audit_nodes (level, idx, hash) ");
                q.push_values(chunk, |mut b, (level, idx, hash)| {
                    b.push_bind(i64::from(*level)).push_bind(*idx as i64).push_bind(hash.as_slice());
                });
                q.build().execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Audit tree node hashes at `(level, index)` as this transaction sees
    /// them (level 0 reads leaf hashes); missing nodes are `None`.
    pub async fn audit_nodes(&mut self, positions: &[(u32, u64)]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        let sql = crate::store::nodes_sql(positions);
        let rows: Vec<(i64, i64, Vec<u8>)> =
            on_tx!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(c).await)?;
        Ok(crate::store::order_nodes(positions, rows))
    }

    /// Which of `indexes` are already taken in `sn_index`, as this
    /// transaction sees it.
    pub async fn taken_service_indexes(&mut self, indexes: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for chunk in indexes.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql =
                sqlx::AssertSqlSafe(format!("SELECT sn_index FROM people WHERE sn_index IN ({})", marks.join(",")));
            let rows: Vec<Vec<u8>> = on_tx!(self, c => {
                let mut q = sqlx::query_scalar(sql);
                for ix in chunk {
                    q = q.bind(ix.as_slice());
                }
                q.fetch_all(c).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Deletes the sealed compartments of `person`; returns how many.
    pub async fn delete_sealed(&mut self, person: Uuid, compartments: &[&str]) -> Result<u64, StoreError> {
        let mut n = 0;
        for compartment in compartments {
            let sql = "DELETE FROM sealed WHERE person_id = $1 AND compartment = $2";
            let done = on_tx!(self, c => sqlx::query(sql).bind(person).bind(*compartment).execute(c).await.map(|r| r.rows_affected()))?;
            n += done;
        }
        Ok(n)
    }

    /// Appends audit events (bytes and leaf hash) in order; returns the index
    /// of the first. Appends are serialised: SQLite holds the write lock for
    /// the whole transaction, PostgreSQL takes a transaction advisory lock.
    pub async fn append_audit(&mut self, events: &[AuditEntry]) -> Result<i64, StoreError> {
        if let TxInner::Postgres(t) = &mut self.inner {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK_KEY).execute(&mut **t).await?;
        }
        let next_sql = "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log";
        let first: i64 = on_tx!(self, c => sqlx::query_scalar(next_sql).fetch_one(c).await)?;
        let numbered: Vec<(i64, &AuditEntry)> = (first..).zip(events.iter()).collect();
        for chunk in numbered.chunks(BATCH) {
            on_tx!(self, c => {
                let mut q = QueryBuilder::new("INSERT INTO audit_log (idx, event, leaf_hash) ");
                q.push_values(chunk, |mut b, (idx, (event, leaf))| {
                    b.push_bind(*idx).push_bind(event.as_slice()).push_bind(leaf.as_slice());
                });
                q.build().execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(first)
    }
}
