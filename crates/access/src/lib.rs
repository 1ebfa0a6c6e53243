//! Who is asking: server users (Argon2id passwords and RFC 6238 TOTP), their
//! sessions, service tokens for suppliers and devices, and the lockout that
//! slows guessing. Everything here answers with a [`Principal`]; what a
//! principal may then do is `lanyard_core::policy`'s business.
//!
//! Secrets are kept only as hashes (passwords, session cookies, tokens) or
//! wrapped by the key provider (TOTP secrets). Every user and token change,
//! and every login, succeeded or failed, is an audit event; a failed login
//! by an unknown name records no name, since people type passwords there.

mod error;
mod secret;

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use lanyard_audit::{Actor, Event, Outcome};
use lanyard_audit::{Housekeeping, Ledger};
use lanyard_core::Role;
use lanyard_crypto::{Key32, KeyProvider, WrapContext};
use lanyard_store::{SessionRow, TokenRow, UserRow};
use uuid::Uuid;
use zeroize::Zeroizing;

pub use error::{AccessError, AccessErrorKind};
use secret::{hash_token, new_token};

/// Failed logins allowed before back-off starts.
const FREE_FAILURES: i64 = 3;
/// The longest back-off, in seconds.
const MAX_BACKOFF_S: i64 = 15 * 60;
/// Minimum password length, in characters.
const MIN_PASSWORD: usize = 12;
/// The issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "lanyard";
/// A session's last-seen time is rewritten at most this often.
const TOUCH_EVERY_S: i64 = 60;

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_s: i64,
    /// A session ends this long after login, used or not.
    pub absolute_s: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle_s: 15 * 60, absolute_s: 8 * 3600 }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// As audit events name it.
    pub actor: Actor,
    /// What it may do, by `lanyard_core::policy`.
    pub role: Role,
    /// May see protected persons' identities.
    pub protected_clearance: bool,
    /// The user or token id.
    pub id: Uuid,
    /// The supplier or device a service token belongs to.
    pub subject: Option<String>,
}

/// What a new or reset user needs once, and never again: the TOTP secret.
pub struct Enrolment {
    /// The user's id.
    pub user_id: Uuid,
    /// Base32 TOTP secret, for typing into an authenticator.
    pub totp_secret: Zeroizing<String>,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: Zeroizing<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Enrolment {{ user_id: {}, totp: [redacted] }}", self.user_id)
    }
}

/// A user as the access service shows it: no password hash, no second
/// factor, the role typed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Login name (not register data).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Holds the `protected` clearance.
    pub protected: bool,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Unix seconds until which logins are refused; 0 when not locked.
    pub locked_until: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A service token as the access service shows it: never its hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Token {
    /// Token id (not secret).
    pub id: Uuid,
    /// `print_supplier` or `verifier`.
    pub role: Role,
    /// The supplier or device it belongs to.
    pub subject: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
}

impl User {
    fn from_row(u: UserRow) -> Result<Self, AccessError> {
        Ok(User {
            id: u.id,
            role: u.role,
            name: u.name,
            protected: u.protected,
            disabled: u.disabled,
            locked_until: u.locked_until,
            created_at: u.created_at,
        })
    }
}

impl Token {
    fn from_row(t: TokenRow) -> Result<Self, AccessError> {
        Ok(Token {
            id: t.id,
            role: t.role,
            subject: t.subject,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        })
    }
}

/// A new service token: the secret is shown once.
pub struct IssuedToken {
    /// The token (no hash).
    pub token: Token,
    /// The bearer secret.
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedToken {{ id: {}, secret: [redacted] }}", self.token.id)
    }
}

/// Users, sessions and tokens on a store.
pub struct Access {
    ledger: Ledger,
    provider: Arc<dyn KeyProvider>,
    sessions: SessionPolicy,
}

/// An admin may not disable or reset their own account: the one way to
/// lock every admin out, or to take over a second factor without a second
/// person. Another admin, or `lanyard user` on the register host, does it.
fn not_oneself(by: &Actor, name: &str) -> Result<(), AccessError> {
    if by.id == Actor::user(name, "").id {
        return Err(AccessError::new(AccessErrorKind::OwnAccount));
    }
    Ok(())
}

fn backoff(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doubling = u32::try_from(failures - FREE_FAILURES).unwrap_or(u32::MAX).min(20);
    (1i64 << doubling).min(MAX_BACKOFF_S)
}

fn totp_context(user: Uuid) -> (String, u32) {
    (user.to_string(), 1)
}

fn totp(secret: &Key32, account: &str) -> Result<totp_rs::Totp, AccessError> {
    totp_rs::Builder::new()
        .with_secret(secret.expose().to_vec())
        .with_account_name(account)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| AccessError::new(AccessErrorKind::Internal(format!("TOTP: {e}"))))
}

fn check_password(password: &str) -> Result<(), AccessError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=1024).contains(&n) {
        return Err(AccessError::invalid(format!("the password must be {MIN_PASSWORD} to 1024 characters")));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, AccessError> {
    let salt: [u8; 16] = rand::random();
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccessError::new(AccessErrorKind::Internal(format!("hashing a password: {e}"))))
}

fn password_matches(password: &str, hash: &str) -> bool {
    argon2::Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Argon2 takes tens of milliseconds of CPU: off the async workers.
async fn password_matches_async(password: &str, hash: &str) -> bool {
    let (password, hash) = (Zeroizing::new(password.to_owned()), hash.to_owned());
    tokio::task::spawn_blocking(move || password_matches(&password, &hash)).await.unwrap_or(false)
}

impl Access {
    /// Access on `store`. Its events commit with the changes they record.
    pub fn new(ledger: Ledger, provider: Arc<dyn KeyProvider>, sessions: SessionPolicy) -> Self {
        Access { ledger, provider, sessions }
    }

    /// How long sessions last (the console shows it).
    pub fn session_policy(&self) -> SessionPolicy {
        self.sessions
    }

    fn enrol(&self, user: Uuid, name: &str) -> Result<(Vec<u8>, Enrolment), AccessError> {
        let secret = Key32::random();
        let (ctx_name, version) = totp_context(user);
        let wrapped = self.provider.wrap(&secret, &WrapContext { purpose: "totp", name: &ctx_name, version })?;
        let t = totp(&secret, name)?;
        let uri = t.to_url().map_err(|e| AccessError::new(AccessErrorKind::Internal(format!("TOTP: {e}"))))?;
        let secret_b32 = totp_rs::Secret::from(secret.expose().to_vec()).to_base32();
        Ok((
            wrapped,
            Enrolment { user_id: user, totp_secret: Zeroizing::new(secret_b32), otpauth_uri: Zeroizing::new(uri) },
        ))
    }

    /// Adds a user. Every user gets a second factor (stricter than DESIGN,
    /// which requires it for roles that read personal data: an admin manages
    /// the users who do).
    pub async fn create_user(
        &self,
        by: &Actor,
        name: &str,
        role: Role,
        password: &str,
        protected_clearance: bool,
        now_s: i64,
    ) -> Result<Enrolment, AccessError> {
        if !lanyard_core::valid_name(name) {
            return Err(AccessError::invalid("a user name is 1 to 64 letters, digits or . _ - @".into()));
        }
        if role.is_service() {
            return Err(AccessError::invalid(format!(
                "{role} is a service role: create a token (lanyard token create), not a user"
            )));
        }
        check_password(password)?;
        let id = Uuid::now_v7();
        let (wrapped, enrolment) = self.enrol(id, name)?;
        let mut row = UserRow {
            id,
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
            totp_wrapped: Some(wrapped),
            totp_last_step: 0,
            protected: protected_clearance,
            disabled: false,
            failures: 0,
            locked_until: 0,
            created_at: now_s,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let mut event = Event::new(now_s * 1000, by.clone(), "user.create", Outcome::Ok);
        event.detail = Some(serde_json::json!({ "user": name, "role": role, "protected": protected_clearance }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_user(&row).await.map_err(|e| AccessError::conflict_or(e, "user"))?;
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(enrolment)
    }

    /// Every user (refused whole if any row fails its integrity check).
    pub async fn users(&self, now_s: i64) -> Result<Vec<User>, AccessError> {
        let rows = self.ledger.check_all(self.ledger.store().users().await?, now_s * 1000).await?;
        rows.into_iter().map(User::from_row).collect()
    }

    async fn user_named(&self, name: &str, now_s: i64) -> Result<UserRow, AccessError> {
        let row = self.ledger.store().user_by_name(name).await?;
        self.ledger.check_opt(row, now_s * 1000).await?.ok_or_else(|| AccessError::new(AccessErrorKind::NoSuchUser))
    }

    /// Disables a user and ends their sessions.
    pub async fn disable_user(&self, by: &Actor, name: &str, now_s: i64) -> Result<(), AccessError> {
        let mut user = self.user_named(name, now_s).await?;
        not_oneself(by, &user.name)?;
        user.disabled = true;
        self.save_and_end_sessions(&user, by, "user.disable", now_s).await
    }

    /// Writes a changed user, ends their sessions and records `action`, in
    /// one transaction.
    async fn save_and_end_sessions(
        &self,
        user: &UserRow,
        by: &Actor,
        action: &str,
        now_s: i64,
    ) -> Result<(), AccessError> {
        let mut user = user.clone();
        self.ledger.tag(&mut user)?;
        let mut event = Event::new(now_s * 1000, by.clone(), action, Outcome::Ok);
        event.detail = Some(serde_json::json!({ "user": user.name }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().update_user(&user).await?;
        tx.tx().delete_sessions_of(user.id).await?;
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// New password and second factor, lockout cleared, sessions ended,
    /// account enabled.
    pub async fn reset_user(
        &self,
        by: &Actor,
        name: &str,
        password: &str,
        now_s: i64,
    ) -> Result<Enrolment, AccessError> {
        check_password(password)?;
        let mut user = self.user_named(name, now_s).await?;
        not_oneself(by, &user.name)?;
        let (wrapped, enrolment) = self.enrol(user.id, name)?;
        user.password_hash = hash_password(password)?;
        user.totp_wrapped = Some(wrapped);
        user.totp_last_step = 0;
        user.failures = 0;
        user.locked_until = 0;
        user.disabled = false;
        self.save_and_end_sessions(&user, by, "user.reset", now_s).await?;
        Ok(enrolment)
    }

    /// Password and TOTP code to a session cookie value. Failures back off
    /// exponentially, per account and per client address, and are audited.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        code: &str,
        client: &str,
        now_s: i64,
    ) -> Result<(Zeroizing<String>, Principal), AccessError> {
        if let Some((_, until)) = self.ledger.store().throttle(client).await?
            && until > now_s
        {
            return Err(AccessError::new(AccessErrorKind::Throttled { retry_after_s: until - now_s }));
        }
        let user = if lanyard_core::valid_name(name) { self.ledger.store().user_by_name(name).await? } else { None };
        // A user row changed outside lanyard is refused before its password
        // is even compared: its role or lockout cannot be trusted.
        let user = self.ledger.check_opt(user, now_s * 1000).await?;
        let Some(mut user) = user else {
            // Spend the time a real check would, so names cannot be probed.
            let _ = password_matches_async(password, DUMMY_HASH).await;
            return self.failed(None, client, now_s, "unknown_user").await;
        };
        if user.locked_until > now_s {
            return Err(AccessError::new(AccessErrorKind::Locked { retry_after_s: user.locked_until - now_s }));
        }
        let password_ok = password_matches_async(password, &user.password_hash).await;
        let step = match (&user.totp_wrapped, password_ok) {
            (Some(wrapped), true) => {
                let (ctx_name, version) = totp_context(user.id);
                let secret =
                    self.provider.unwrap(wrapped, &WrapContext { purpose: "totp", name: &ctx_name, version })?;
                let t = totp(&secret, &user.name)?;
                u64::try_from(now_s).ok().and_then(|now| t.check(code.trim(), now))
            }
            _ => None,
        };
        let fresh_step = step.and_then(|s| i64::try_from(s).ok()).filter(|s| *s > user.totp_last_step);
        let reason = match (password_ok, step, fresh_step, user.disabled) {
            (false, _, _, _) => Some("bad_password"),
            (true, None, _, _) => Some("bad_code"),
            (true, Some(_), None, _) => Some("code_reused"),
            (true, Some(_), Some(_), true) => Some("disabled"),
            _ => None,
        };
        if let Some(reason) = reason {
            return self.failed(Some(&mut user), client, now_s, reason).await;
        }
        let role = user.role;
        user.failures = 0;
        user.locked_until = 0;
        user.totp_last_step = fresh_step.unwrap_or(user.totp_last_step);
        let (cookie, hash) = new_token("lys_");
        let mut session =
            SessionRow { token_hash: hash.to_vec(), user_id: user.id, created_at: now_s, last_seen: now_s, mac: None };
        self.ledger.tag(&mut session)?;
        self.ledger.tag(&mut user)?;
        let actor = Actor::user(&user.name, role.as_str());
        let mut event = Event::new(now_s * 1000, actor.clone(), "login.ok", Outcome::Ok);
        event.detail = Some(serde_json::json!({ "client": client }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().update_user(&user).await?;
        tx.tx().insert_session(&session).await?;
        tx.tx().set_throttle(client, 0, 0).await?;
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        let principal = Principal { actor, role, protected_clearance: user.protected, id: user.id, subject: None };
        Ok((cookie, principal))
    }

    async fn failed(
        &self,
        user: Option<&mut UserRow>,
        client: &str,
        now_s: i64,
        reason: &str,
    ) -> Result<(Zeroizing<String>, Principal), AccessError> {
        let client_failures = self.ledger.store().throttle(client).await?.map_or(0, |t| t.0) + 1;
        let actor = match &user {
            Some(u) => Actor::user(&u.name, u.role.as_str()),
            None => Actor { break_glass: false, id: "anonymous".into(), role: "none".into() },
        };
        let mut event = Event::new(now_s * 1000, actor, "login.failed", Outcome::Denied);
        event.detail = Some(serde_json::json!({ "client": client, "reason": reason }));
        let mut tx = self.ledger.begin().await?;
        if let Some(u) = user {
            u.failures += 1;
            u.locked_until = now_s + backoff(u.failures);
            self.ledger.tag(u)?;
            tx.tx().update_user(u).await?;
        }
        tx.tx().set_throttle(client, client_failures, now_s + backoff(client_failures)).await?;
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Err(AccessError::new(AccessErrorKind::BadCredentials))
    }

    /// The principal of a session cookie, ending it if it has timed out.
    pub async fn session(&self, cookie: &str, now_s: i64) -> Result<Principal, AccessError> {
        let hash = hash_token(cookie);
        let no_session = || AccessError::new(AccessErrorKind::NoSession);
        let session = self.ledger.store().session(&hash).await?;
        let mut session = self.ledger.check_opt(session, now_s * 1000).await?.ok_or_else(no_session)?;
        let user = self.ledger.store().user(session.user_id).await?;
        let user = self.ledger.check_opt(user, now_s * 1000).await?.ok_or_else(no_session)?;
        if user.disabled
            || now_s - session.last_seen > self.sessions.idle_s
            || now_s - session.created_at > self.sessions.absolute_s
        {
            let mut tx = self.ledger.begin().await?;
            tx.tx().delete_session(&hash).await?;
            tx.commit_housekeeping(Housekeeping::SessionExpiry).await?;
            return Err(no_session());
        }
        if now_s - session.last_seen >= TOUCH_EVERY_S {
            session.last_seen = now_s;
            self.ledger.tag(&mut session)?;
            let mut tx = self.ledger.begin().await?;
            tx.tx().touch_session(&session).await?;
            tx.commit_housekeeping(Housekeeping::SessionTouch).await?;
        }
        let role = user.role;
        Ok(Principal {
            actor: Actor::user(&user.name, role.as_str()),
            role,
            protected_clearance: user.protected,
            id: user.id,
            subject: None,
        })
    }

    /// Ends a session.
    pub async fn logout(&self, cookie: &str, now_s: i64) -> Result<(), AccessError> {
        let principal = self.session(cookie, now_s).await?;
        let mut tx = self.ledger.begin().await?;
        tx.tx().delete_session(&hash_token(cookie)).await?;
        tx.append(&[Event::new(now_s * 1000, principal.actor, "logout", Outcome::Ok)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Issues a service token for a supplier or a device.
    pub async fn create_token(
        &self,
        by: &Actor,
        role: Role,
        subject: &str,
        ttl_s: i64,
        now_s: i64,
    ) -> Result<IssuedToken, AccessError> {
        if !role.is_service() {
            return Err(AccessError::invalid(format!(
                "{role} is a user role: tokens are for print_supplier or verifier"
            )));
        }
        if !lanyard_core::valid_name(subject) {
            return Err(AccessError::invalid("a supplier or device name is 1 to 64 letters, digits or . _ - @".into()));
        }
        if !(60..=366 * 86_400).contains(&ttl_s) {
            return Err(AccessError::invalid("a token lasts from 1 minute to 366 days".into()));
        }
        let (secret, hash) = new_token("lyt_");
        let mut row = TokenRow {
            id: Uuid::now_v7(),
            token_hash: hash.to_vec(),
            role,
            subject: subject.to_owned(),
            created_at: now_s,
            expires_at: now_s + ttl_s,
            revoked_at: None,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let mut event = Event::new(now_s * 1000, by.clone(), "token.create", Outcome::Ok);
        event.detail = Some(serde_json::json!({
            "token": row.id, "role": role, "subject": subject, "expires_at": row.expires_at
        }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_service_token(&row).await?;
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(IssuedToken { token: Token::from_row(row)?, secret })
    }

    /// Records that `principal` was refused `action` at `route` (a front
    /// end's name for what was asked: `METHOD /path` over HTTP), with the
    /// policy's reason code: an `access.denied` event, durable when this
    /// returns. The compartments asked for are named; nothing else is.
    pub async fn record_refusal(
        &self,
        principal: &Principal,
        request_id: &str,
        action: &lanyard_core::policy::Action,
        route: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), AccessError> {
        use lanyard_core::policy::Action;
        let mut event = Event::new(now_ms, principal.actor.clone(), "access.denied", Outcome::Denied);
        event.request_id = Some(request_id.to_owned());
        if let Action::ReadPeople(cs) | Action::WritePeople(cs) = action {
            event.compartments = cs.clone();
        }
        event.detail = Some(serde_json::json!({ "route": route, "reason": reason }));
        self.ledger.record(std::slice::from_ref(&event)).await?;
        Ok(())
    }

    /// Records the requests a front end refused before any service saw
    /// them (unreadable bodies, bad queries, oversized bodies, timeouts,
    /// unknown routes, missing credentials), counted per route, status and
    /// caller (an actor id, when one had authenticated) since `since_ms`:
    /// one `request.rejected` event per window rather than one per request,
    /// so that a flood cannot fill the log. Routes are route templates,
    /// never the path as sent.
    pub async fn record_rejections(
        &self,
        counts: &[(String, u16, Option<String>, u64)],
        since_ms: i64,
        now_ms: i64,
    ) -> Result<(), AccessError> {
        let rejected: Vec<serde_json::Value> = counts
            .iter()
            .map(|(route, status, caller, n)| match caller {
                Some(c) => serde_json::json!({ "route": route, "status": status, "caller": c, "count": n }),
                None => serde_json::json!({ "route": route, "status": status, "count": n }),
            })
            .collect();
        let mut event = Event::new(now_ms, Actor::system(), "request.rejected", Outcome::Denied);
        event.detail = Some(serde_json::json!({ "since": since_ms, "rejected": rejected }));
        self.ledger.record(std::slice::from_ref(&event)).await?;
        Ok(())
    }

    /// Every token (refused whole if any row fails its integrity check).
    pub async fn tokens(&self, now_s: i64) -> Result<Vec<Token>, AccessError> {
        let rows = self.ledger.check_all(self.ledger.store().service_tokens().await?, now_s * 1000).await?;
        rows.into_iter().map(Token::from_row).collect()
    }

    /// Revokes a token at once.
    pub async fn revoke_token(&self, by: &Actor, id: Uuid, now_s: i64) -> Result<(), AccessError> {
        let mut event = Event::new(now_s * 1000, by.clone(), "token.revoke", Outcome::Ok);
        event.detail = Some(serde_json::json!({ "token": id }));
        let row = self.ledger.store().service_token_by_id(id).await?;
        let mut row = self
            .ledger
            .check_opt(row, now_s * 1000)
            .await?
            .filter(|t| t.revoked_at.is_none())
            .ok_or_else(|| AccessError::new(AccessErrorKind::NoSuchToken))?;
        row.revoked_at = Some(now_s);
        self.ledger.tag(&mut row)?;
        let mut tx = self.ledger.begin().await?;
        if !tx.tx().revoke_service_token(&row).await? {
            return Err(AccessError::new(AccessErrorKind::NoSuchToken));
        }
        tx.append(std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal of a bearer token.
    pub async fn token(&self, secret: &str, now_s: i64) -> Result<Principal, AccessError> {
        let row = self.ledger.store().service_token(&hash_token(secret)).await?;
        let row = self
            .ledger
            .check_opt(row, now_s * 1000)
            .await?
            .ok_or_else(|| AccessError::new(AccessErrorKind::NoSession))?;
        if row.revoked_at.is_some() {
            return Err(AccessError::new(AccessErrorKind::TokenRevoked));
        }
        if row.expires_at <= now_s {
            return Err(AccessError::new(AccessErrorKind::TokenExpired));
        }
        let role = row.role;
        let token_id = row.id.to_string();
        let actor = match role {
            Role::PrintSupplier => Actor::supplier_token(&row.subject, &token_id),
            _ => Actor::device_token(&row.subject, &token_id),
        };
        Ok(Principal { actor, role, protected_clearance: false, id: row.id, subject: Some(row.subject) })
    }
}

/// A valid Argon2id hash of nothing anyone knows, checked against when the
/// name is unknown so that the answer takes as long.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bGFueWFyZC1kdW1teQ$3tqkVVPh0yQ+Y0mJH0hXc8EJ0XGvQ6HdXKz3Q0r3nKk";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_after_the_free_failures_and_doubles_to_a_cap() {
        let waits: Vec<i64> = (0..8).map(backoff).collect();
        assert_eq!(waits, vec![0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(backoff(1000), MAX_BACKOFF_S);
    }

    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!password_matches("anything at all", DUMMY_HASH));
    }

    #[test]
    fn names_are_plain() {
        for ok in ["alice", "a.b-c_d@force"] {
            assert!(lanyard_core::valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", ".x", "a b", "ålice", &"x".repeat(65)] {
            assert!(!lanyard_core::valid_name(bad), "{bad}");
        }
    }
}
