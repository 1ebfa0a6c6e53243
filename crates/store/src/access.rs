//! Users, sessions, service tokens and login throttling. Every secret here
//! arrives already hashed or wrapped; the store never sees one in the clear.

use uuid::Uuid;

use crate::authenticated::{Authenticated, Canon, tag_in_mac_field};
use crate::error::StoreError;
use crate::store::Store;
use crate::tx::Tx;

/// A server user.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    /// User id.
    pub id: Uuid,
    /// Login name (not register data).
    pub name: String,
    /// Role, stored by its name; a name lanyard does not know is refused.
    #[sqlx(try_from = "String")]
    pub role: lanyard_core::Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// TOTP secret wrapped by the key provider; absent for roles without it.
    pub totp_wrapped: Option<Vec<u8>>,
    /// Last TOTP time step accepted, so a code is never accepted twice.
    pub totp_last_step: i64,
    /// Holds the `protected` clearance.
    pub protected: bool,
    /// Disabled users cannot log in, and their sessions stop working.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failures: i64,
    /// Unix seconds until which logins are refused.
    pub locked_until: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("name", &self.name).field("role", &self.role).finish()
    }
}

/// A login session, found by the hash of its cookie.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// SHA-256 of the cookie value.
    pub token_hash: Vec<u8>,
    /// Whose.
    pub user_id: Uuid,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last request.
    pub last_seen: i64,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

/// A service token for a supplier or a device.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    /// Token id (not secret; shown in lists and audit events).
    pub id: Uuid,
    /// SHA-256 of the secret.
    pub token_hash: Vec<u8>,
    /// Role, stored by its name; a name lanyard does not know is refused.
    #[sqlx(try_from = "String")]
    pub role: lanyard_core::Role,
    /// The supplier or device it belongs to.
    pub subject: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// Row tag (see [`Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl Authenticated for UserRow {
    const TABLE: &'static str = "users";
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    // The counters are bound too: lifting a lockout or rewinding the last
    // TOTP step (to replay a code) is as much a change as a new role.
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .uuid(self.id)
            .str(&self.name)
            .str(self.role.as_str())
            .str(&self.password_hash)
            .opt_bytes(self.totp_wrapped.as_deref())
            .int(self.totp_last_step)
            .flag(self.protected)
            .flag(self.disabled)
            .int(self.failures)
            .int(self.locked_until)
            .int(self.created_at)
            .finish()
    }
    tag_in_mac_field!();
}

impl Authenticated for SessionRow {
    const TABLE: &'static str = "sessions";
    // A session is named by whose it is: its key is the hash of a secret.
    fn row_id(&self) -> String {
        format!("of user {}", self.user_id)
    }
    fn stamp_id(&self) -> String {
        crate::authenticated::session_stamp_id(&self.token_hash)
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new().bytes(&self.token_hash).uuid(self.user_id).int(self.created_at).int(self.last_seen).finish()
    }
    tag_in_mac_field!();
}

impl Authenticated for TokenRow {
    const TABLE: &'static str = "service_tokens";
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn canonical(&self) -> Vec<u8> {
        Canon::new()
            .uuid(self.id)
            .bytes(&self.token_hash)
            .str(self.role.as_str())
            .str(&self.subject)
            .int(self.created_at)
            .int(self.expires_at)
            .opt_int(self.revoked_at)
            .finish()
    }
    tag_in_mac_field!();
}

const USER_COLUMNS: &str = "id, name, role, password_hash, totp_wrapped, totp_last_step, protected, disabled, failures, locked_until, created_at, mac";
const TOKEN_COLUMNS: &str = "id, token_hash, role, subject, created_at, expires_at, revoked_at, mac";
const SESSION_COLUMNS: &str = "token_hash, user_id, created_at, last_seen, mac";

impl Store {
    /// The user called `name`.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(name).fetch_optional(p).await)?)
    }

    /// The user with this id.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// The session whose cookie hashes to `token_hash`.
    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(token_hash).fetch_optional(p).await)?)
    }

    /// Every session (for `audit verify` and the one-time tagging).
    pub async fn sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// The service token whose secret hashes to `token_hash`.
    pub async fn service_token(&self, token_hash: &[u8]) -> Result<Option<TokenRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM service_tokens WHERE token_hash = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(token_hash).fetch_optional(p).await)?)
    }

    /// The service token with this id.
    pub async fn service_token_by_id(&self, id: Uuid) -> Result<Option<TokenRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM service_tokens WHERE id = $1"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Every service token, newest first.
    pub async fn service_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM service_tokens ORDER BY created_at DESC, id"));
        Ok(on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await)?)
    }

    /// `(failures, locked_until)` of a client address.
    pub async fn throttle(&self, client: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let sql = "SELECT failures, locked_until FROM login_throttle WHERE client = $1";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(client).fetch_optional(p).await)?)
    }
}

impl Tx {
    /// Adds a user; a taken name is a conflict.
    pub async fn insert_user(&mut self, u: &UserRow) -> Result<(), StoreError> {
        self.stamp(u);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ));
        on_tx!(self, c => sqlx::query(sql)
            .bind(u.id).bind(&u.name).bind(u.role.as_str()).bind(&u.password_hash).bind(&u.totp_wrapped)
            .bind(u.totp_last_step).bind(u.protected).bind(u.disabled).bind(u.failures).bind(u.locked_until)
            .bind(u.created_at).bind(&u.mac)
            .execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes back a user's mutable state (credentials, flags, counters).
    pub async fn update_user(&mut self, u: &UserRow) -> Result<u64, StoreError> {
        self.stamp(u);
        let sql = "UPDATE users SET role = $2, password_hash = $3, totp_wrapped = $4, totp_last_step = $5, \
                   protected = $6, disabled = $7, failures = $8, locked_until = $9, mac = $10 WHERE id = $1";
        Ok(on_tx!(self, c => sqlx::query(sql)
            .bind(u.id).bind(u.role.as_str()).bind(&u.password_hash).bind(&u.totp_wrapped).bind(u.totp_last_step)
            .bind(u.protected).bind(u.disabled).bind(u.failures).bind(u.locked_until).bind(&u.mac)
            .execute(c).await.map(|r| r.rows_affected()))?)
    }

    /// Starts a session.
    pub async fn insert_session(&mut self, s: &SessionRow) -> Result<(), StoreError> {
        self.stamp(s);
        let sql = sqlx::AssertSqlSafe(format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"));
        on_tx!(self, c => sqlx::query(sql).bind(&s.token_hash).bind(s.user_id).bind(s.created_at).bind(s.last_seen)
            .bind(&s.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Records activity on a session (its new last-seen time and tag).
    pub async fn touch_session(&mut self, s: &SessionRow) -> Result<(), StoreError> {
        self.stamp(s);
        let sql = "UPDATE sessions SET last_seen = $2, mac = $3 WHERE token_hash = $1";
        on_tx!(self, c => sqlx::query(sql).bind(&s.token_hash).bind(s.last_seen).bind(&s.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&mut self, token_hash: &[u8]) -> Result<(), StoreError> {
        let sql = "DELETE FROM sessions WHERE token_hash = $1";
        on_tx!(self, c => sqlx::query(sql).bind(token_hash).execute(c).await.map(|_| ()))?;
        self.stamp_removed("sessions", crate::authenticated::session_stamp_id(token_hash));
        Ok(())
    }

    /// Ends every session of a user (disable, reset).
    pub async fn delete_sessions_of(&mut self, user_id: Uuid) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash";
        let ended: Vec<(Vec<u8>,)> = on_tx!(self, c => sqlx::query_as(sql).bind(user_id).fetch_all(c).await)?;
        for (hash,) in &ended {
            self.stamp_removed("sessions", crate::authenticated::session_stamp_id(hash));
        }
        Ok(ended.len() as u64)
    }

    /// Adds a service token.
    pub async fn insert_service_token(&mut self, t: &TokenRow) -> Result<(), StoreError> {
        self.stamp(t);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO service_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ));
        on_tx!(self, c => sqlx::query(sql)
            .bind(t.id).bind(&t.token_hash).bind(t.role.as_str()).bind(&t.subject).bind(t.created_at).bind(t.expires_at)
            .bind(t.revoked_at).bind(&t.mac)
            .execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes a token's revocation (`t` as revoked, with its new tag);
    /// false if there is no such unrevoked token.
    pub async fn revoke_service_token(&mut self, t: &TokenRow) -> Result<bool, StoreError> {
        let sql = "UPDATE service_tokens SET revoked_at = $2, mac = $3 WHERE id = $1 AND revoked_at IS NULL";
        let done = on_tx!(self, c => sqlx::query(sql).bind(t.id).bind(t.revoked_at).bind(&t.mac).execute(c).await.map(|q| q.rows_affected()))?
            == 1;
        if done {
            self.stamp(t);
        }
        Ok(done)
    }

    /// Writes a service token's tag alone: the one-time tagging of rows
    /// written before tags existed (users, sessions, suppliers and cards
    /// are written whole by their updates).
    pub async fn set_token_tag(&mut self, t: &TokenRow) -> Result<(), StoreError> {
        self.stamp(t);
        let sql = "UPDATE service_tokens SET mac = $2 WHERE id = $1";
        on_tx!(self, c => sqlx::query(sql).bind(t.id).bind(&t.mac).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Sets a client address's throttle state.
    pub async fn set_throttle(&mut self, client: &str, failures: i64, locked_until: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO login_throttle (client, failures, locked_until) VALUES ($1, $2, $3) \
                   ON CONFLICT (client) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until";
        on_tx!(self, c => sqlx::query(sql).bind(client).bind(failures).bind(locked_until).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}
