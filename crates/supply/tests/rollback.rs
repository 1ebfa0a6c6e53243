//! Issue 15: the tagged tables reconciled against the log, on every
//! backend. An attacker who holds no key cannot make a tag, but can keep a
//! row lanyard wrote and put it back after a later write: a revoked token,
//! card or session from before its end, a supplier's old recipient. Its tag
//! still verifies, so only the log's record of each row's last write shows
//! it. Each test makes exactly that edit and shows `audit verify` naming
//! the table, the row and what differs; and that the same flows, left
//! alone, give no finding.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_access::{Access, SessionPolicy};
use lanyard_audit::{Actor, Ledger};
use lanyard_cards::{Cards, IssuerConfig, PersonRef};
use lanyard_core::{CardAction, CardType, Field, PersonRecord, RankTable, Reason, Role};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Finding, Operator, Register};
use lanyard_supply::{Supply, SupplyConfig, package};

const T0: i64 = 1_800_000_000_000;
const PASSWORD: &str = "correct horse battery";

struct Env {
    name: &'static str,
    register: Arc<Register>,
    provider: Arc<dyn KeyProvider>,
    ledger: Ledger,
    cards: Cards,
    supply: Supply,
    access: Access,
    t: lanyard_testkit::TestStore,
}

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    for t in lanyard_testkit::stores().await {
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let ledger = Ledger::new(t.store.clone());
        let register = Arc::new(Register::init(ledger.clone(), Arc::clone(&provider), &op("setup"), T0).await.unwrap());
        let cards = Cards::new(Arc::clone(&register), ledger.clone(), IssuerConfig::default());
        let supply = Supply::new(Arc::clone(&register), ledger.clone(), cards.clone(), SupplyConfig::default());
        let access = Access::new(ledger.clone(), Arc::clone(&provider), SessionPolicy::default());
        out.push(Env { name: t.name, register, provider, ledger, cards, supply, access, t });
    }
    out
}

fn op(name: &str) -> Operator {
    Operator::local(Actor::operator(name), false)
}

fn code(secret_b32: &str, now_s: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).with_account_name("x").build().unwrap();
    t.generate(now_s as u64).to_string()
}

async fn person(reg: &Register, sn: &str) -> lanyard_core::PersonId {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, sn),
        (Field::Forenames, "Ada"),
        (Field::Surname, "Quayle"),
        (Field::Rank, "Inspector"),
        (Field::VettingLevel, "SC"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    reg.add(&op("clerk"), p, false, T0).await.unwrap()
}

async fn findings(env: &Env) -> Vec<String> {
    let report = env.register.verify_log(&op("dpo"), T0).await.unwrap();
    report.findings.iter().map(ToString::to_string).collect()
}

/// The rows named by `filter` copied aside into `saved`, as an attacker
/// would keep them to put back later.
async fn keep(env: &Env, table: &str, filter: &str, saved: &str) {
    env.t.behind_lanyards_back(&format!("CREATE TABLE {saved} AS SELECT * FROM {table} WHERE {filter}")).await;
}

/// An issued card, revoked; a token, revoked; a supplier, given a new
/// recipient; each put back by SQL as it was before. Every row verifies
/// (lanyard tagged it), and `audit verify` names each one.
#[tokio::test]
async fn rows_put_back_as_they_were_are_found() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob) = (op("alice"), op("bob"));
        person(&env.register, "900001").await;
        let card = env.cards.request(&alice, PersonRef::ServiceNumber("900001"), CardType::WarrantCard, T0).await;
        let card = card.unwrap();
        for (who, action) in [(&bob, CardAction::Approve), (&alice, CardAction::Print), (&alice, CardAction::Issue)] {
            env.cards.transition(who, &card.id, action, None, T0).await.unwrap();
        }
        let admin = Actor::operator("admin");
        let issued = env.access.create_token(&admin, Role::PrintSupplier, "acme", 3600, T0 / 1000).await.unwrap();
        let (_, first) = package::keygen("acme");
        let (_, second) = package::keygen("acme");
        env.supply.add_supplier(&op("admin"), "acme", &first, T0).await.unwrap();
        assert!(findings(&env).await.is_empty(), "{n}: {:?}", findings(&env).await);

        keep(&env, "cards", &format!("id = '{}'", card.id), "saved_cards").await;
        keep(&env, "service_tokens", "subject = 'acme'", "saved_tokens").await;
        keep(&env, "suppliers", "name = 'acme'", "saved_suppliers").await;
        env.cards.transition(&bob, &card.id, CardAction::Revoke, Some(Reason::Stolen), T0 + 1).await.unwrap();
        env.access.revoke_token(&admin, issued.token.id, T0 / 1000 + 1).await.unwrap();
        env.supply.rotate_recipient(&op("admin"), "acme", &second, T0 + 1).await.unwrap();
        assert!(findings(&env).await.is_empty(), "{n}");

        env.t
            .behind_lanyards_back(
                "UPDATE cards SET state = s.state, approved_by = s.approved_by, key_version = s.key_version, \
                 issued_at = s.issued_at, expires_at = s.expires_at, reason = s.reason, updated_at = s.updated_at, \
                 row_version = s.row_version, mac = s.mac FROM saved_cards s WHERE cards.id = s.id; \
                 UPDATE service_tokens SET revoked_at = s.revoked_at, mac = s.mac FROM saved_tokens s \
                 WHERE service_tokens.id = s.id; \
                 UPDATE suppliers SET recipient = s.recipient, updated_at = s.updated_at, mac = s.mac \
                 FROM saved_suppliers s WHERE suppliers.name = s.name",
            )
            .await;
        // Each row is one lanyard wrote, so its tag verifies: the card reads
        // as issued again. Only the log knows it is not the last write.
        assert_eq!(env.cards.card(&card.id, T0 + 2).await.unwrap().state.as_str(), "issued", "{n}");

        let found = findings(&env).await;
        let expect = [
            format!("cards row {}: not the version the log last wrote", card.id),
            format!("service_tokens row {}: not the version the log last wrote", issued.token.id),
            "suppliers row acme: not the version the log last wrote".to_owned(),
        ];
        for e in &expect {
            assert!(found.iter().any(|f| f.starts_with(e.as_str())), "{n}: {e} in {found:?}");
        }
        assert_eq!(found.len(), 3, "{n}: nothing else is named: {found:?}");
    }
}

/// A session ended at logout and put back by SQL; a permit deleted by SQL.
#[tokio::test]
async fn a_session_put_back_after_logout_and_a_deleted_permit_are_found() {
    for env in envs().await {
        let n = env.name;
        let now = T0 / 1000;
        let admin = Actor::operator("admin");
        let e = env.access.create_user(&admin, "ida", Role::IdOfficer, PASSWORD, false, now).await.unwrap();
        let (cookie, _) = env.access.login("ida", PASSWORD, &code(&e.totp_secret, now), "10.0.0.1", now).await.unwrap();
        // A touch (no event) and a second session that times out on sight
        // (no event either) are housekeeping, not findings.
        env.access.session(&cookie, now + 120).await.unwrap();
        let (stale, _) =
            env.access.login("ida", PASSWORD, &code(&e.totp_secret, now + 60), "10.0.0.1", now + 60).await.unwrap();
        assert!(env.access.session(&stale, now + 60 + 86_400 * 2).await.is_err(), "{n}: timed out");
        let sc = person(&env.register, "900010").await;
        env.cards.add_zone(&op("admin"), "ARMOURY", "Armoury", "SC", T0).await.unwrap();
        let permit = env.cards.grant_permit(&op("alice"), sc, "ARMOURY", now, now + 86_400, T0).await.unwrap();
        assert!(findings(&env).await.is_empty(), "{n}: {:?}", findings(&env).await);

        keep(&env, "sessions", "1 = 1", "saved_sessions").await;
        env.access.logout(&cookie, now + 180).await.unwrap();
        env.t.behind_lanyards_back("INSERT INTO sessions SELECT * FROM saved_sessions").await;
        env.t.behind_lanyards_back("DELETE FROM permits WHERE zone = 'ARMOURY'").await;

        let found = findings(&env).await;
        assert!(
            found.iter().any(|f| f.starts_with("sessions row ")
                && f.contains(&format!("(of user {})", e.user_id))
                && f.contains("put back after the log recorded its removal")),
            "{n}: {found:?}"
        );
        assert!(found.iter().any(|f| f.starts_with(&format!("permits row {}: deleted", permit.id))), "{n}: {found:?}");
        assert!(found.iter().all(|f| !f.contains("ida")), "{n}: ids only: {found:?}");
    }
}

/// The marker that says a store's row writes are in the log, deleted so
/// that the next opening records the rows as they stand (blessing whatever
/// was put back): `audit verify` names the second record.
#[tokio::test]
async fn rows_recorded_as_they_stand_again_is_a_finding() {
    for env in envs().await {
        let n = env.name;
        env.t.behind_lanyards_back("DELETE FROM meta WHERE key = 'row_writes'").await;
        let reopened = Register::open(env.ledger.clone(), Arc::clone(&env.provider), T0).await.unwrap();
        let report = reopened.verify_log(&op("dpo"), T0).await.unwrap();
        assert!(report.findings.contains(&Finding::RowBaselineAgain { baselines: 1 }), "{n}: {:?}", report.findings);
        assert_eq!(report.findings.len(), 1, "{n}: {:?}", report.findings);
    }
}
