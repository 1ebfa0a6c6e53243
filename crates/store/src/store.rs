//! Opening a store, migrations, and reads.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;

use crate::error::{StoreError, StoreErrorKind};
use crate::rows::{AuditRow, PersonRow, SealedRow, WrappedKeyRow};
use crate::tx::Tx;

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A blind-index column of `people`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexColumn {
    /// `sn_index`
    ServiceNumber,
    /// `surname_index`
    Surname,
    /// `email_index`
    Email,
}

impl IndexColumn {
    fn column(self) -> &'static str {
        match self {
            IndexColumn::ServiceNumber => "sn_index",
            IndexColumn::Surname => "surname_index",
            IndexColumn::Email => "email_index",
        }
    }
}

const PERSON_COLUMNS: &str =
    "id, status, protected, created_at, updated_at, row_version, sn_index, surname_index, email_index";
const SEALED_COLUMNS: &str = "person_id, compartment, ck_version, key_version, wrapped_key, fields";

/// One query for all the tree nodes at `positions` (level 0 is the leaf hash
/// in `audit_log`), so a proof costs one round trip, not one per node. The
/// positions are integers we format ourselves; nothing from outside reaches
/// the SQL text.
pub(crate) fn nodes_sql(positions: &[(u32, u64)]) -> String {
    let leaves: Vec<String> = positions.iter().filter(|(l, _)| *l == 0).map(|(_, i)| i.to_string()).collect();
    let nodes: Vec<String> =
        positions.iter().filter(|(l, _)| *l > 0).map(|(l, i)| format!("(level = {l} AND idx = {i})")).collect();
    let mut parts = Vec::new();
    if !leaves.is_empty() {
        parts.push(format!(
            "SELECT CAST(0 AS BIGINT) AS level, idx, leaf_hash AS hash FROM audit_log WHERE idx IN ({})",
            leaves.join(",")
        ));
    }
    if !nodes.is_empty() {
        parts.push(format!(
            "SELECT CAST(level AS BIGINT) AS level, idx, hash FROM audit_nodes WHERE {}",
            nodes.join(" OR ")
        ));
    }
    parts.join(" UNION ALL ")
}

/// Puts fetched `(level, idx, hash)` rows in the order of `positions`.
pub(crate) fn order_nodes(positions: &[(u32, u64)], rows: Vec<(i64, i64, Vec<u8>)>) -> Vec<Option<Vec<u8>>> {
    let mut found: std::collections::HashMap<(i64, i64), Vec<u8>> =
        rows.into_iter().map(|(l, i, h)| ((l, i), h)).collect();
    positions.iter().map(|(l, i)| found.remove(&(i64::from(*l), i64::try_from(*i).unwrap_or(i64::MAX)))).collect()
}

/// A connection pool to one store.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    // Whole-log scans read the SQLite file directly (see `scan`).
    pub(crate) sqlite_path: Option<std::path::PathBuf>,
    /// The SQLite file this store opened (device and inode).
    opened: Option<(u64, u64)>,
}

/// Which file is at `path` now (device and inode), if any.
#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(_: &Path) -> Option<(u64, u64)> {
    None
}

/// Opening failed: a full disk says so; anything else is unreachable.
fn unreachable(e: sqlx::Error) -> StoreError {
    let mapped = StoreError::from(e);
    match mapped.kind() {
        StoreErrorKind::Full(_) | StoreErrorKind::Unreachable(_) => mapped,
        other => StoreError::new(StoreErrorKind::Unreachable(other.to_string())),
    }
}

impl Store {
    /// Opens (and with `create`, creates) the SQLite store at `path`: WAL
    /// journal, full fsync on commit (audit events must be durable),
    /// `secure_delete` so erased rows are overwritten with zeros.
    pub async fn open_sqlite(path: &Path, create: bool) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON")
            .pragma("page_size", "8192")
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "MEMORY");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Store { pool: Pool::Sqlite(pool), sqlite_path: Some(path.to_path_buf()), opened: file_identity(path) })
    }

    /// Whether the SQLite file at the path this store opened is another
    /// file now, or gone (a new `lanyard init` or `demo` in the same data
    /// directory): the open connections still read the old one, so this
    /// process no longer serves the register its operator sees.
    pub fn file_replaced(&self) -> bool {
        match (&self.sqlite_path, self.opened) {
            (Some(path), Some(opened)) => file_identity(path) != Some(opened),
            _ => false,
        }
    }

    /// Connects to PostgreSQL. With `schema`, every connection uses that
    /// schema (created if absent); tests use this to stay apart.
    pub async fn open_postgres(url: &str, schema: Option<&str>) -> Result<Store, StoreError> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::new(StoreErrorKind::Unreachable(format!("bad PostgreSQL URL: {e}"))))?;
        if let Some(schema) = schema {
            if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(StoreError::new(StoreErrorKind::Unreachable("bad schema name".into())));
            }
            let bootstrap = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options.clone())
                .await
                .map_err(unreachable)?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                .execute(&bootstrap)
                .await?;
            bootstrap.close().await;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Store { pool: Pool::Postgres(pool), sqlite_path: None, opened: None })
    }

    /// Drops a schema that `open_postgres` made for a test or benchmark, with
    /// everything in it.
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::new(StoreErrorKind::Unreachable("bad schema name".into())));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::new(StoreErrorKind::Unreachable(format!("bad PostgreSQL URL: {e}"))))?;
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await.map_err(unreachable)?;
        let dropped =
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&pool).await;
        pool.close().await;
        dropped.map(|_| ()).map_err(Into::into)
    }

    /// Opens a store from a URL: `postgres://…`/`postgresql://…`, or
    /// `sqlite:PATH`.
    pub async fn open_url(url: &str, create: bool) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(url, None).await
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Store::open_sqlite(Path::new(path), create).await
        } else {
            Err(StoreError::new(StoreErrorKind::Unreachable(
                "database_url must start with postgres:// or sqlite:".into(),
            )))
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        };
        result.map_err(|e| StoreError::new(StoreErrorKind::Migration(e.to_string())))
    }

    /// True when the schema has been created.
    pub async fn is_initialised(&self) -> Result<bool, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta'"
            }
        };
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of failing mid-way.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Tx::begin(self).await
    }

    /// Reads one metadata value.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT value FROM meta WHERE key = $1";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(key).fetch_optional(p).await)?)
    }

    /// Every wrapped key.
    pub async fn wrapped_keys(&self) -> Result<Vec<WrappedKeyRow>, StoreError> {
        let sql =
            "SELECT purpose, name, version, wrapped, created_at, mac FROM wrapped_keys ORDER BY purpose, name, version";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// One person's metadata.
    pub async fn person(&self, id: Uuid) -> Result<Option<PersonRow>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }

    /// The people with these ids, in id order; ids not found are left out.
    pub async fn people_by_id(&self, ids: &[Uuid]) -> Result<Vec<PersonRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id IN ({}) ORDER BY id", marks.join(","));
            let sql = sqlx::AssertSqlSafe(sql);
            let rows: Vec<PersonRow> = on_pool!(self, p => {
                let mut q = sqlx::query_as(sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// People whose blind index in `column` equals `index`.
    pub async fn find(&self, column: IndexColumn, index: &[u8]) -> Result<Vec<PersonRow>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE {} = $1 ORDER BY id", column.column());
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(index).fetch_all(p).await)?)
    }

    /// A page of people in id order, after `after`.
    pub async fn people_page(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<PersonRow>, StoreError> {
        let after = after.unwrap_or(Uuid::nil());
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id > $1 ORDER BY id LIMIT $2");
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(after).bind(limit).fetch_all(p).await)?)
    }

    /// Number of people by status.
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT status, COUNT(*) FROM people GROUP BY status ORDER BY status";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// The sealed compartments of the given people, limited to `compartments`.
    pub async fn sealed(&self, people: &[Uuid], compartments: &[&str]) -> Result<Vec<SealedRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in people.chunks(500) {
            let id_marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let c_marks: Vec<String> =
                (chunk.len() + 1..=chunk.len() + compartments.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {SEALED_COLUMNS} FROM sealed WHERE person_id IN ({}) AND compartment IN ({}) ORDER BY person_id, compartment",
                id_marks.join(","),
                if c_marks.is_empty() { "NULL".to_owned() } else { c_marks.join(",") }
            );
            let sql = sqlx::AssertSqlSafe(sql);
            let rows: Vec<SealedRow> = on_pool!(self, p => {
                let mut q = sqlx::query_as(sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                for c in compartments {
                    q = q.bind(*c);
                }
                q.fetch_all(p).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Count of sealed compartments per (compartment, compartment-key version).
    pub async fn sealed_counts(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let sql = "SELECT compartment, ck_version, COUNT(*) FROM sealed GROUP BY compartment, ck_version ORDER BY compartment, ck_version";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// Up to `limit` sealed rows of `compartment` wrapped by a version older
    /// than `current`.
    pub async fn sealed_older_than(
        &self,
        compartment: &str,
        current: i64,
        limit: i64,
    ) -> Result<Vec<SealedRow>, StoreError> {
        let sql = format!(
            "SELECT {SEALED_COLUMNS} FROM sealed WHERE compartment = $1 AND ck_version < $2 ORDER BY person_id LIMIT $3"
        );
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(compartment).bind(current).bind(limit).fetch_all(p).await)?)
    }

    /// Audit tree node hashes at `(level, index)` (level 0 reads leaf
    /// hashes); missing nodes are `None`.
    pub async fn audit_nodes(&self, positions: &[(u32, u64)]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        let sql = nodes_sql(positions);
        let rows: Vec<(i64, i64, Vec<u8>)> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await)?;
        Ok(order_nodes(positions, rows))
    }

    /// The hashes at tree `level` with indexes `[from, from + count)`, in
    /// order (leaf hashes at level 0, stored subtree hashes above): a
    /// tlog-tiles hash tile. Fewer than `count` means some are missing.
    pub async fn audit_hash_range(&self, level: u32, from: i64, count: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = from.saturating_add(count);
        if level == 0 {
            let sql = "SELECT leaf_hash FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx";
            return Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(from).bind(end).fetch_all(p).await)?);
        }
        let level = i32::try_from(level).unwrap_or(i32::MAX);
        let sql = "SELECT hash FROM audit_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(level).bind(from).bind(end).fetch_all(p).await)?)
    }

    /// The signed checkpoint stored for `size`, if any.
    pub async fn checkpoint_at(&self, size: i64) -> Result<Option<String>, StoreError> {
        let sql = "SELECT note FROM audit_checkpoints WHERE size = $1";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).bind(size).fetch_optional(p).await)?)
    }

    /// The largest stored checkpoint, `(size, created_at)`.
    pub async fn latest_checkpoint(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let sql = "SELECT size, created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_optional(p).await)?)
    }

    /// Every stored checkpoint, `(size, note)`, smallest first.
    pub async fn checkpoints(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = "SELECT size, note FROM audit_checkpoints ORDER BY size";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// Number of audit events.
    pub async fn audit_len(&self) -> Result<i64, StoreError> {
        // Indexes run from 0 without gaps, so this is the count, read from
        // the end of the primary key instead of by a scan.
        let sql = "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await)?)
    }

    /// Audit events from `from`, at most `limit`.
    pub async fn audit_rows(&self, from: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let sql = "SELECT idx, event, leaf_hash FROM audit_log WHERE idx >= $1 ORDER BY idx LIMIT $2";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(from).bind(limit).fetch_all(p).await)?)
    }

    /// Makes deleted rows unrecoverable from the database files: on SQLite,
    /// checkpoints and truncates the WAL (the pages were zeroed by
    /// `secure_delete`); on PostgreSQL, rewrites the tables that held them.
    pub async fn purge_deleted(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await?;
            }
            Pool::Postgres(p) => {
                sqlx::query("VACUUM FULL sealed, people").execute(p).await?;
            }
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}
