//! Zones and permits: clear metadata only (codes, names, ids, windows).

use uuid::Uuid;

use crate::authenticated::{Authenticated, Canon, tag_in_mac_field};
use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

/// A zone.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ZoneRow {
    /// Short code, as printed in credentials.
    pub code: String,
    /// Name.
    pub name: String,
    /// Comma-separated minimum vetting levels.
    pub accepts: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for ZoneRow {
    const TABLE: &'static str = "zones";
    fn row_id(&self) -> String {
        self.code.clone()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new().str(&self.code).str(&self.name).str(&self.accepts).int(self.created_at).finish()
    }
    tag_in_mac_field!();
}

/// A permit.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PermitRow {
    /// Permit id.
    pub id: Uuid,
    /// Whose.
    pub person_id: Uuid,
    /// Zone code.
    pub zone: String,
    /// Unix seconds, inclusive.
    pub valid_from: i64,
    /// Unix seconds, exclusive.
    pub valid_to: i64,
    /// Actor who granted it.
    pub granted_by: String,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for PermitRow {
    const TABLE: &'static str = "permits";
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .uuid(self.id)
            .uuid(self.person_id)
            .str(&self.zone)
            .int(self.valid_from)
            .int(self.valid_to)
            .str(&self.granted_by)
            .opt_int(self.revoked_at)
            .int(self.created_at)
            .finish()
    }
    tag_in_mac_field!();
}

const PERMIT_COLUMNS: &str = "id, person_id, zone, valid_from, valid_to, granted_by, revoked_at, created_at, mac";

impl Store {
    /// One zone.
    pub async fn zone(&self, code: &str) -> Result<Option<ZoneRow>, StoreError> {
        let sql = "SELECT code, name, accepts, created_at, mac FROM zones WHERE code = $1";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(code).fetch_optional(p).await)?)
    }

    /// Every zone, by code.
    pub async fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        let sql = "SELECT code, name, accepts, created_at, mac FROM zones ORDER BY code";
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// A person's permits (all, or for one zone), oldest first.
    pub async fn permits(&self, person: Option<Uuid>, zone: Option<&str>) -> Result<Vec<PermitRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PERMIT_COLUMNS} FROM permits WHERE ($1 IS NULL OR person_id = $1) AND ($2 IS NULL OR zone = $2) \
             ORDER BY created_at, id"
        ));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(person).bind(zone).fetch_all(p).await)?)
    }

    /// One permit.
    pub async fn permit(&self, id: Uuid) -> Result<Option<PermitRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {PERMIT_COLUMNS} FROM permits WHERE id = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }
}

impl Tx {
    /// Adds a zone; a taken code is a conflict.
    pub async fn insert_zone(&mut self, z: &ZoneRow) -> Result<(), StoreError> {
        self.stamp(z);
        let sql = "INSERT INTO zones (code, name, accepts, created_at, mac) VALUES ($1, $2, $3, $4, $5)";
        on_tx!(self, c => sqlx::query(sql).bind(&z.code).bind(&z.name).bind(&z.accepts).bind(z.created_at)
            .bind(&z.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Adds a permit.
    pub async fn insert_permit(&mut self, r: &PermitRow) -> Result<(), StoreError> {
        self.stamp(r);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO permits ({PERMIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ));
        on_tx!(self, c => sqlx::query(sql)
            .bind(r.id).bind(r.person_id).bind(&r.zone).bind(r.valid_from).bind(r.valid_to).bind(&r.granted_by)
            .bind(r.revoked_at).bind(r.created_at).bind(&r.mac)
            .execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes a permit's revocation (`r` as revoked, with its new tag);
    /// false if there is no such live permit.
    pub async fn revoke_permit(&mut self, r: &PermitRow) -> Result<bool, StoreError> {
        let sql = "UPDATE permits SET revoked_at = $2, mac = $3 WHERE id = $1 AND revoked_at IS NULL";
        let done = on_tx!(self, c => sqlx::query(sql).bind(r.id).bind(r.revoked_at).bind(&r.mac).execute(c).await.map(|q| q.rows_affected()))?
            == 1;
        if done {
            self.stamp(r);
        }
        Ok(done)
    }

    /// Writes a zone's tag alone (the one-time tagging at upgrade).
    pub async fn set_zone_tag(&mut self, z: &ZoneRow) -> Result<(), StoreError> {
        self.stamp(z);
        let sql = "UPDATE zones SET mac = $2 WHERE code = $1";
        on_tx!(self, c => sqlx::query(sql).bind(&z.code).bind(&z.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes a permit's tag alone (the one-time tagging at upgrade).
    pub async fn set_permit_tag(&mut self, r: &PermitRow) -> Result<(), StoreError> {
        self.stamp(r);
        let sql = "UPDATE permits SET mac = $2 WHERE id = $1";
        on_tx!(self, c => sqlx::query(sql).bind(r.id).bind(&r.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}
