//! Users, logins, lockout, sessions and tokens on every backend.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_access::{Access, AccessErrorKind, SessionPolicy};
use lanyard_audit::{Actor, Event};
use lanyard_core::Role;
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};

const PASSWORD: &str = "correct horse battery";

fn code(secret_b32: &str, now_s: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).with_account_name("x").build().unwrap();
    t.generate(now_s as u64).to_string()
}

/// A ledger with a row-integrity key loaded, as a register's opening would
/// load it.
fn ledger(store: &lanyard_store::Store) -> lanyard_audit::Ledger {
    let ledger = lanyard_audit::Ledger::new(store.clone());
    ledger.install_row_auth(lanyard_crypto::RowAuth::new(lanyard_crypto::Key32::random()));
    ledger
}

async fn events(store: &lanyard_store::Store) -> Vec<(Event, String)> {
    let rows = store.audit_rows(0, 10_000).await.unwrap();
    rows.into_iter().map(|r| (Event::from_bytes(&r.event).unwrap(), String::from_utf8(r.event).unwrap())).collect()
}

#[tokio::test]
async fn login_lockout_sessions_and_tokens() {
    for t in lanyard_testkit::stores().await {
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let policy = SessionPolicy { idle_s: 600, absolute_s: 3600 };
        let access = Access::new(ledger(&t.store), provider, policy);
        let admin = Actor::operator("admin");
        let now = 1_800_000_000i64;
        let e = access.create_user(&admin, "ida", Role::IdOfficer, PASSWORD, false, now).await.unwrap();
        assert!(e.otpauth_uri.starts_with("otpauth://totp/lanyard:ida?"), "{}", t.name);
        let err = access.create_user(&admin, "ida", Role::Approver, PASSWORD, false, now).await.unwrap_err();
        assert!(matches!(err.kind(), AccessErrorKind::Conflict(_)), "{}", t.name);
        assert!(access.create_user(&admin, "p", Role::PrintSupplier, PASSWORD, false, now).await.is_err());
        assert!(access.create_user(&admin, "short", Role::Approver, "too short", false, now).await.is_err());
        // The TOTP secret is stored wrapped only.
        let row = t.store.user_by_name("ida").await.unwrap().unwrap();
        let raw = totp_rs::Secret::try_from_base32(e.totp_secret.as_str()).unwrap();
        let wrapped = row.totp_wrapped.clone().unwrap();
        assert!(!wrapped.windows(raw.as_ref().len()).any(|w| w == raw.as_ref()), "{}", t.name);
        assert!(row.password_hash.starts_with("$argon2id$"));

        // A good login, and the principal its cookie stands for.
        let (cookie, p) = access.login("ida", PASSWORD, &code(&e.totp_secret, now), "10.0.0.1", now).await.unwrap();
        assert_eq!((p.role, p.actor.id.as_str()), (Role::IdOfficer, "user:ida"));
        assert_eq!(access.session(&cookie, now + 10).await.unwrap(), p);
        // The same code twice is refused, even with the right password.
        let again = access.login("ida", PASSWORD, &code(&e.totp_secret, now), "10.0.0.1", now + 1).await;
        assert!(matches!(again.unwrap_err().kind(), AccessErrorKind::BadCredentials), "{}", t.name);

        // Repeated failures lock the account, with growing waits (the reused
        // code above was the first failure).
        let later = now + 100;
        for i in 0..2 {
            let r = access.login("ida", "wrong password!!", "000000", &format!("10.0.1.{i}"), later).await;
            assert!(matches!(r.unwrap_err().kind(), AccessErrorKind::BadCredentials));
        }
        let locked = access.login("ida", PASSWORD, &code(&e.totp_secret, later), "10.0.2.1", later).await;
        assert!(matches!(locked.unwrap_err().kind(), AccessErrorKind::Locked { retry_after_s: 1 }), "{}", t.name);
        // After the wait, the right credentials work and clear the count.
        let ok = access.login("ida", PASSWORD, &code(&e.totp_secret, later + 30), "10.0.2.1", later + 30).await;
        assert!(ok.is_ok(), "{}", t.name);

        // One address guessing at many names is throttled too, and unknown
        // names never reach the log.
        for name in ["ghost1", "my password is hunter2", "ghost3"] {
            let _ = access.login(name, "whatever password", "1", "192.0.2.9", later).await;
        }
        let throttled = access.login("ida", PASSWORD, &code(&e.totp_secret, later), "192.0.2.9", later).await;
        assert!(matches!(throttled.unwrap_err().kind(), AccessErrorKind::Throttled { .. }), "{}", t.name);
        let log = events(&t.store).await;
        assert!(log.iter().all(|(_, text)| !text.contains("ghost") && !text.contains("hunter2")), "{}", t.name);
        assert!(log.iter().any(|(e, _)| e.action == "login.failed" && e.actor.id == "anonymous"));
        assert!(log.iter().any(|(e, _)| e.action == "login.ok" && e.actor.id == "user:ida"));

        // Sessions end when idle or too old, and when the user is disabled.
        assert!(matches!(
            access.session(&cookie, now + 10 + 601).await.unwrap_err().kind(),
            AccessErrorKind::NoSession
        ));
        let (cookie2, _) = ok.unwrap();
        assert!(access.session(&cookie2, later + 40).await.is_ok());
        access.disable_user(&admin, "ida", later + 50).await.unwrap();
        assert!(access.session(&cookie2, later + 51).await.is_err(), "{}", t.name);
        let reset = access.reset_user(&admin, "ida", "a new long password", later + 60).await.unwrap();
        assert_ne!(*reset.totp_secret, *e.totp_secret);
        let relog = access
            .login("ida", "a new long password", &code(&reset.totp_secret, later + 90), "10.0.3.1", later + 90)
            .await;
        assert!(relog.is_ok(), "{}", t.name);

        // Service tokens: scoped to a subject, expiring, revocable.
        let issued = access.create_token(&admin, Role::PrintSupplier, "acme", 3600, now).await.unwrap();
        assert!(issued.secret.starts_with("lyt_"));
        let p = access.token(&issued.secret, now + 10).await.unwrap();
        assert_eq!(p.role, Role::PrintSupplier);
        assert_eq!(p.actor.id, format!("supplier:acme:{}", issued.token.id));
        assert!(matches!(
            access.token(&issued.secret, now + 3600).await.unwrap_err().kind(),
            AccessErrorKind::TokenExpired
        ));
        access.revoke_token(&admin, issued.token.id, now + 20).await.unwrap();
        assert!(matches!(
            access.token(&issued.secret, now + 30).await.unwrap_err().kind(),
            AccessErrorKind::TokenRevoked
        ));
        assert!(access.token("lyt_not-a-token", now).await.is_err());
        assert!(access.create_token(&admin, Role::Admin, "x", 3600, now).await.is_err());
        let tokens = access.tokens(now).await.unwrap();
        assert_eq!(tokens.len(), 1);
        assert!(!format!("{tokens:?}").contains(issued.secret.as_str()));
    }
}

/// A role written into the users table outside lanyard is not a role: the
/// row does not decode, so the session that stands on it is refused rather
/// than read as whatever the name might mean.
#[tokio::test]
async fn a_stored_role_lanyard_does_not_know_is_refused() {
    let t = lanyard_testkit::stores().await.into_iter().next().unwrap();
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let access = Access::new(ledger(&t.store), provider, SessionPolicy::default());
    let now = 1_800_000_000i64;
    let e = access.create_user(&Actor::operator("admin"), "ida", Role::IdOfficer, PASSWORD, false, now).await.unwrap();
    let (cookie, _) = access.login("ida", PASSWORD, &code(&e.totp_secret, now), "10.0.0.1", now).await.unwrap();
    assert!(access.session(&cookie, now + 1).await.is_ok());

    let db = rusqlite::Connection::open(t.sqlite_path.as_ref().unwrap()).unwrap();
    db.execute("UPDATE users SET role = 'superuser' WHERE name = 'ida'", []).unwrap();
    assert!(access.session(&cookie, now + 2).await.is_err(), "an unknown role stands for nothing");
    assert!(access.users(now).await.is_err(), "and the list does not show it as a role");
}

/// The attacks of issue 15 on the access tables, each by the SQL edit an
/// attacker who holds no key would make: each row is refused at use, with
/// an `integrity.failure` event naming the table and the row's id.
#[tokio::test]
async fn rows_changed_by_sql_are_refused_at_use() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let access = Access::new(ledger(&t.store), provider, SessionPolicy::default());
        let admin = Actor::operator("admin");
        let now = 1_800_000_000i64;
        let e = access.create_user(&admin, "freya", Role::DisclosureOfficer, PASSWORD, false, now).await.unwrap();
        access.create_user(&admin, "gil", Role::Admin, PASSWORD, false, now).await.unwrap();
        let (cookie, _) = access.login("freya", PASSWORD, &code(&e.totp_secret, now), "10.0.0.1", now).await.unwrap();
        assert_eq!(access.session(&cookie, now + 1).await.unwrap().role, Role::DisclosureOfficer);
        let issued = access.create_token(&admin, Role::PrintSupplier, "acme", 3600, now).await.unwrap();
        access.revoke_token(&admin, issued.token.id, now + 2).await.unwrap();

        // Privilege by SQL: freya made an admin.
        t.behind_lanyards_back("UPDATE users SET role = 'admin' WHERE name = 'freya'").await;
        let err = access.session(&cookie, now + 3).await.unwrap_err();
        assert!(matches!(err.kind(), AccessErrorKind::Integrity(_)), "{n}: {err}");
        assert!(err.to_string().contains("changed outside lanyard"), "{n}: {err}");
        assert!(access.users(now + 3).await.is_err(), "{n}: the list does not show her as an admin");
        let again = access.login("freya", PASSWORD, &code(&e.totp_secret, now + 60), "10.0.0.1", now + 60).await;
        assert!(matches!(again.unwrap_err().kind(), AccessErrorKind::Integrity(_)), "{n}: nor may she log in");

        // A user row inserted, with another row's tag copied onto it.
        t.behind_lanyards_back("UPDATE users SET role = 'disclosure_officer' WHERE name = 'freya'").await;
        assert!(access.session(&cookie, now + 4).await.is_ok(), "{n}: put back as it was, the row verifies");
        let new_id = if t.sqlite_path.is_some() {
            "X'00112233445566778899aabbccddeeff'"
        } else {
            "'00112233-4455-6677-8899-aabbccddeeff'"
        };
        t.behind_lanyards_back(&format!(
            "INSERT INTO users (id, name, role, password_hash, totp_wrapped, totp_last_step, protected, disabled, \
             failures, locked_until, created_at, mac) SELECT {new_id}, 'mallory', role, password_hash, totp_wrapped, \
             totp_last_step, protected, disabled, failures, locked_until, created_at, mac FROM users WHERE name = 'gil'"
        ))
        .await;
        let err = access.login("mallory", PASSWORD, "000000", "10.0.0.2", now + 5).await.unwrap_err();
        assert!(matches!(err.kind(), AccessErrorKind::Integrity(_)), "{n}: an inserted user is refused: {err}");
        assert!(access.users(now + 5).await.is_err(), "{n}");
        t.behind_lanyards_back("DELETE FROM users WHERE name = 'mallory'").await;

        // A revoked token brought back to life.
        t.behind_lanyards_back("UPDATE service_tokens SET expires_at = expires_at + 86400000, revoked_at = NULL").await;
        let err = access.token(&issued.secret, now + 6).await.unwrap_err();
        assert!(matches!(err.kind(), AccessErrorKind::Integrity(_)), "{n}: {err}");
        assert!(access.tokens(now + 6).await.is_err(), "{n}");

        let found: Vec<serde_json::Value> = events(&t.store)
            .await
            .into_iter()
            .filter(|(e, _)| e.action == "integrity.failure")
            .filter_map(|(e, _)| e.detail)
            .collect();
        assert!(found.iter().any(|d| d["table"] == "users"), "{n}: {found:?}");
        assert!(found.iter().any(|d| d["table"] == "service_tokens" && d["id"] == issued.token.id.to_string()));
        assert!(found.iter().all(|d| !d.to_string().contains("freya")), "{n}: ids only, never a name");
    }
}
