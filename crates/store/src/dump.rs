//! Every table as backend-neutral rows, read from one consistent snapshot,
//! and loaded back into a fresh store of either backend: the substance of
//! `lanyard backup`.
//!
//! A value is null, an integer, text or bytes. PostgreSQL's UUIDs become
//! their 16 bytes and its booleans 0 or 1, which is how SQLite stores them,
//! so a backup of either restores into the other; on the way back the
//! target's column types say how to bind each value. What a row holds is
//! carried as it is stored: ciphertext stays ciphertext.

use futures_util::TryStreamExt;
use sqlx::{Column, Row, TypeInfo, ValueRef};
use uuid::Uuid;

use crate::error::{StoreError, StoreErrorKind};
use crate::store::{Pool, Store};
use crate::tx::{Tx, TxInner};

/// Every table lanyard keeps, in an order that loads without breaking a
/// foreign key (each after those it references).
pub const TABLES: &[&str] = &[
    "meta",
    "wrapped_keys",
    "people",
    "sealed",
    "audit_log",
    "audit_nodes",
    "audit_checkpoints",
    "users",
    "sessions",
    "service_tokens",
    "login_throttle",
    "cards",
    "zones",
    "permits",
    "suppliers",
    "batches",
    "batch_cards",
    "batch_chunks",
    "canaries",
    "audit_notes",
    "audit_note_people",
    "audit_redactions",
    "audit_cosignatures",
];

/// One stored value, in the form both backends share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (booleans as 0 and 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (UUIDs as their 16 bytes).
    Bytes(Vec<u8>),
}

fn bad(what: String) -> StoreError {
    StoreError::new(StoreErrorKind::Conflict(what))
}

/// Each table's primary key: rows are read in its order. Without it
/// PostgreSQL returns rows in heap order, which after rolled-back writes is
/// not the log's order, and a backup's audit tree would be computed over
/// events out of place (found by the crash harness, tests/cli/crash.rs).
fn key_of(table: &str) -> &'static str {
    match table {
        "meta" => "key",
        "wrapped_keys" => "purpose, name, version",
        "people" | "users" | "service_tokens" | "permits" | "cards" | "batches" | "audit_notes" => "id",
        "sealed" => "person_id, compartment",
        "audit_log" | "audit_redactions" => "idx",
        "audit_nodes" => "level, idx",
        "audit_checkpoints" => "size",
        "sessions" => "token_hash",
        "login_throttle" => "client",
        "zones" => "code",
        "suppliers" => "name",
        "batch_cards" => "batch_id, card_id",
        "batch_chunks" => "batch_id, seq",
        "canaries" => "recipient",
        "audit_note_people" => "person_id, note_id",
        "audit_cosignatures" => "witness, size",
        // Every table of TABLES is named above (a unit test checks).
        _ => "1",
    }
}

fn known(table: &str) -> Result<&'static str, StoreError> {
    TABLES.iter().find(|t| **t == table).copied().ok_or_else(|| bad(format!("no table named {table}")))
}

/// A read-only snapshot of the whole store: every table as of one moment,
/// however many writes run meanwhile.
pub struct Snapshot {
    tx: TxInner,
}

impl Store {
    /// Opens a snapshot (SQLite: one read transaction over the WAL;
    /// PostgreSQL: REPEATABLE READ, READ ONLY).
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let tx = match &self.pool {
            Pool::Sqlite(p) => {
                let mut t = crate::tx::SqliteTx::begin(p, "BEGIN").await?;
                // The snapshot is taken at the first read.
                sqlx::query("SELECT COUNT(*) FROM meta").execute(&mut *t).await?;
                TxInner::Sqlite(t)
            }
            Pool::Postgres(p) => {
                let mut t = p.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *t).await?;
                TxInner::Postgres(t)
            }
        };
        Ok(Snapshot { tx })
    }

    /// The schema version: the latest migration applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await)?)
    }

    /// The schema version this lanyard's migrations reach.
    pub fn schema_target(&self) -> i64 {
        let migrator = match &self.pool {
            Pool::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            Pool::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Rows per table, for every table in [`TABLES`] (the data-loss
    /// watch's volumes).
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = on_pool!(self, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(p).await)?;
            out.push(((*table).to_owned(), n));
        }
        Ok(out)
    }

    /// The tables this store holds (for the check that [`TABLES`] names
    /// them all).
    pub async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let sql = match &self.pool {
            Pool::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> '_sqlx_migrations' ORDER BY name"
            }
            Pool::Postgres(_) => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_name <> '_sqlx_migrations' ORDER BY table_name"
            }
        };
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).fetch_all(p).await)?)
    }
}

impl Snapshot {
    /// A table's column names, in the table's order.
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        let table = known(table)?;
        Ok(match &mut self.tx {
            TxInner::Sqlite(t) => {
                let sql = sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"));
                sqlx::query_scalar(sql).fetch_all(&mut **t).await?
            }
            TxInner::Postgres(t) => {
                let sql = "SELECT column_name::text FROM information_schema.columns \
                           WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
                sqlx::query_scalar(sql).bind(table).fetch_all(&mut **t).await?
            }
        })
    }

    /// Every row of `table`, given to `each` one at a time as it is read
    /// (so memory holds one row, not the table), in `columns`' order.
    pub async fn rows<E: From<StoreError>>(
        &mut self,
        table: &str,
        columns: &[String],
        mut each: impl FnMut(Vec<Value>) -> Result<(), E>,
    ) -> Result<(), E> {
        let table = known(table)?;
        let list = columns.iter().map(|c| format!("\"{}\"", c.replace('"', ""))).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {list} FROM {table} ORDER BY {}", key_of(table));
        match &mut self.tx {
            TxInner::Sqlite(t) => {
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut **t);
                while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                    each(sqlite_values(&row)?)?;
                }
            }
            TxInner::Postgres(t) => {
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut **t);
                while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                    each(pg_values(&row)?)?;
                }
            }
        }
        Ok(())
    }
}

fn sqlite_values(row: &sqlx::sqlite::SqliteRow) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let kind = raw.type_info().name().to_owned();
        out.push(match kind.as_str() {
            "INTEGER" | "BOOLEAN" => Value::Int(row.try_get::<i64, _>(i)?),
            "TEXT" => Value::Text(row.try_get::<String, _>(i)?),
            "BLOB" => Value::Bytes(row.try_get::<Vec<u8>, _>(i)?),
            other => {
                return Err(bad(format!(
                    "column {} holds a {other}, which lanyard never stores",
                    row.column(i).name()
                )));
            }
        });
    }
    Ok(out)
}

fn pg_values(row: &sqlx::postgres::PgRow) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let kind = raw.type_info().name().to_owned();
        out.push(match kind.as_str() {
            "INT8" => Value::Int(row.try_get::<i64, _>(i)?),
            "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i)?)),
            "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i)?)),
            "BOOL" => Value::Int(i64::from(row.try_get::<bool, _>(i)?)),
            "TEXT" | "VARCHAR" => Value::Text(row.try_get::<String, _>(i)?),
            "BYTEA" => Value::Bytes(row.try_get::<Vec<u8>, _>(i)?),
            "UUID" => Value::Bytes(row.try_get::<Uuid, _>(i)?.as_bytes().to_vec()),
            other => {
                return Err(bad(format!(
                    "column {} holds a {other}, which lanyard never stores",
                    row.column(i).name()
                )));
            }
        });
    }
    Ok(out)
}

/// How a PostgreSQL column takes a value.
#[derive(Clone, Copy)]
enum PgKind {
    Int8,
    Int4,
    Bool,
    Text,
    Bytea,
    Uuid,
}

impl Tx {
    /// Whether `table` holds no rows (a restore goes only into an empty store).
    pub async fn is_empty(&mut self, table: &str) -> Result<bool, StoreError> {
        let table = known(table)?;
        let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) t");
        let n: i64 = on_tx!(self, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(c).await)?;
        Ok(n == 0)
    }

    /// Loads rows of `table` (values in `columns`' order), many per
    /// statement, converting each to the target column's type.
    pub async fn load_rows(&mut self, table: &str, columns: &[String], rows: &[Vec<Value>]) -> Result<(), StoreError> {
        let table = known(table)?;
        if rows.is_empty() {
            return Ok(());
        }
        let list = columns.iter().map(|c| format!("\"{}\"", c.replace('"', ""))).collect::<Vec<_>>().join(", ");
        let head = format!("INSERT INTO {table} ({list}) ");
        // SQLite allows 32,766 bound values per statement.
        let per = (30_000 / columns.len().max(1)).max(1);
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                for chunk in rows.chunks(per) {
                    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(head.clone());
                    q.push_values(chunk, |mut b, row| {
                        for v in row {
                            match v {
                                Value::Null => b.push_bind(None::<i64>),
                                Value::Int(n) => b.push_bind(*n),
                                Value::Text(s) => b.push_bind(s.clone()),
                                Value::Bytes(x) => b.push_bind(x.clone()),
                            };
                        }
                    });
                    q.build().execute(&mut **t).await?;
                }
            }
            TxInner::Postgres(t) => {
                let sql = "SELECT column_name::text, data_type::text FROM information_schema.columns \
                           WHERE table_schema = current_schema() AND table_name = $1";
                let types: Vec<(String, String)> = sqlx::query_as(sql).bind(table).fetch_all(&mut **t).await?;
                let kinds = columns
                    .iter()
                    .map(|c| {
                        let ty = types.iter().find(|(n, _)| n == c).map(|(_, ty)| ty.as_str());
                        Ok(match ty {
                            Some("bigint") => PgKind::Int8,
                            Some("integer") | Some("smallint") => PgKind::Int4,
                            Some("boolean") => PgKind::Bool,
                            Some("text") | Some("character varying") => PgKind::Text,
                            Some("bytea") => PgKind::Bytea,
                            Some("uuid") => PgKind::Uuid,
                            other => {
                                return Err(bad(format!("{table}.{c}: no column of a type lanyard loads ({other:?})")));
                            }
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                for chunk in rows.chunks(per.min(60_000 / columns.len().max(1))) {
                    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(head.clone());
                    let mut wrong = None;
                    q.push_values(chunk, |mut b, row| {
                        for (v, kind) in row.iter().zip(&kinds) {
                            match (kind, v) {
                                (PgKind::Int8, Value::Int(n)) => b.push_bind(Some(*n)),
                                (PgKind::Int8, Value::Null) => b.push_bind(None::<i64>),
                                (PgKind::Int4, Value::Int(n)) => b.push_bind(i32::try_from(*n).ok()),
                                (PgKind::Int4, Value::Null) => b.push_bind(None::<i32>),
                                (PgKind::Bool, Value::Int(n)) => b.push_bind(Some(*n != 0)),
                                (PgKind::Bool, Value::Null) => b.push_bind(None::<bool>),
                                (PgKind::Text, Value::Text(s)) => b.push_bind(Some(s.clone())),
                                (PgKind::Text, Value::Null) => b.push_bind(None::<String>),
                                (PgKind::Bytea, Value::Bytes(x)) => b.push_bind(Some(x.clone())),
                                (PgKind::Bytea, Value::Null) => b.push_bind(None::<Vec<u8>>),
                                (PgKind::Uuid, Value::Bytes(x)) => b.push_bind(Uuid::from_slice(x).ok()),
                                (PgKind::Uuid, Value::Null) => b.push_bind(None::<Uuid>),
                                _ => {
                                    wrong = Some(());
                                    b.push_bind(None::<i64>)
                                }
                            };
                        }
                    });
                    if wrong.is_some() {
                        return Err(bad(format!("{table}: a value does not fit its column's type")));
                    }
                    q.build().execute(&mut **t).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_read_in_its_key_order() {
        for table in TABLES {
            assert_ne!(key_of(table), "1", "{table} has no key named in key_of");
        }
    }
}
