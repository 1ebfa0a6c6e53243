//! Test support shared by the crates' integration tests: a fresh, migrated
//! store on SQLite always, and on PostgreSQL when `LANYARD_TEST_PG` holds a
//! connection URL (each in a schema of its own). Without it, the PostgreSQL
//! case is skipped with a printed reason.

use std::path::PathBuf;

use lanyard_store::Store;

/// One fresh store for a test.
pub struct TestStore {
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    /// The migrated store.
    pub store: Store,
    /// The SQLite file, for tests that act behind lanyard's back.
    pub sqlite_path: Option<PathBuf>,
    /// The PostgreSQL URL and schema, for the same.
    pub postgres: Option<(String, String)>,
    /// Keeps the SQLite directory alive for the test.
    pub dir: tempfile::TempDir,
}

impl TestStore {
    /// Runs `sql` straight on the database, as an attacker who can write
    /// SQL but holds no key would: nothing of lanyard's is in the way.
    pub async fn behind_lanyards_back(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if let Some(path) = &self.sqlite_path {
            let url = format!("sqlite://{}", path.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("connect to SQLite");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("the edit runs");
        } else if let Some((url, schema)) = &self.postgres {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
            let path = sqlx::AssertSqlSafe(format!("SET search_path TO {schema}"));
            sqlx::raw_sql(path).execute(&mut c).await.expect("set the schema");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("the edit runs");
        }
    }

    /// The one integer a query answers (`SELECT COUNT(*) …`), read
    /// straight from the database as [`TestStore::behind_lanyards_back`]
    /// writes to it.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if let Some(path) = &self.sqlite_path {
            let url = format!("sqlite://{}", path.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("connect to SQLite");
            sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("the query runs")
        } else if let Some((url, schema)) = &self.postgres {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
            let path = sqlx::AssertSqlSafe(format!("SET search_path TO {schema}"));
            sqlx::raw_sql(path).execute(&mut c).await.expect("set the schema");
            sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("the query runs")
        } else {
            panic!("a test store with no database")
        }
    }
}

/// Writes past the test harness, which would swallow an `eprintln!`.
pub fn skip(reason: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("SKIP {reason}\n").as_bytes());
}

/// A fresh migrated store on every backend available.
pub async fn stores() -> Vec<TestStore> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("t.db");
    let store = Store::open_sqlite(&path, true).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    out.push(TestStore { name: "sqlite", store, sqlite_path: Some(path), postgres: None, dir });
    match std::env::var("LANYARD_TEST_PG") {
        Ok(url) => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let store = Store::open_postgres(&url, Some(&schema)).await.expect("open PostgreSQL");
            store.migrate().await.expect("migrate PostgreSQL");
            let dir = tempfile::tempdir().expect("a temporary directory");
            out.push(TestStore { name: "postgres", store, sqlite_path: None, postgres: Some((url, schema)), dir });
        }
        Err(_) => skip("postgres: LANYARD_TEST_PG is not set"),
    }
    out
}

/// This process's resident memory now and at its peak since the last
/// [`reset_peak_rss`], in KiB, from `/proc/self/status` (`VmRSS`,
/// `VmHWM`); `None` where there is no such file.
pub fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Starts the peak over from the memory in use now (Linux 4.0 and later),
/// so that a test measures one step, not its setup.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Whether this machine lets a test measure its own peak memory
/// ([`rss_kib`] and [`reset_peak_rss`] both work); where not, prints the
/// reason the test skips.
pub fn peak_rss_measurable() -> bool {
    let can = rss_kib().is_some() && reset_peak_rss();
    if !can {
        skip("no /proc/self/status and clear_refs here to measure the peak with");
    }
    can
}
