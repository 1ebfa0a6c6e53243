//! The cards service on every backend (SQLite always, PostgreSQL when
//! `LANYARD_TEST_PG` is set), with time passed in so expiry and key
//! retirement can be tested without waiting.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::{Actor, Event, Outcome};
use lanyard_cards::{CardError, Cards, IssuerConfig, PersonRef};
use lanyard_core::{CardAction, CardType, Field, PersonRecord, RankTable, Reason};
use lanyard_credential::{StatusListToken, Verdict, verify_qr};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};

const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

struct Env {
    name: &'static str,
    register: Arc<Register>,
    store: lanyard_store::Store,
    cards: Cards,
    t: lanyard_testkit::TestStore,
}

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    for t in lanyard_testkit::stores().await {
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let ledger = lanyard_audit::Ledger::new(t.store.clone());
        let register = Arc::new(Register::init(ledger.clone(), provider, &op("setup"), T0).await.unwrap());
        let cards = Cards::new(Arc::clone(&register), ledger, IssuerConfig::default());
        out.push(Env { name: t.name, register, store: t.store.clone(), cards, t });
    }
    out
}

fn op(name: &str) -> Operator {
    Operator::local(Actor::operator(name), false)
}

async fn person(reg: &Register, sn: &str) -> lanyard_core::PersonId {
    vetted(reg, sn, "SC").await
}

async fn vetted(reg: &Register, sn: &str, level: &str) -> lanyard_core::PersonId {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, sn),
        (Field::Forenames, "Ada"),
        (Field::Surname, "Quayle"),
        (Field::Rank, "Inspector"),
        (Field::Email, "ada@force.example"),
        (Field::VettingLevel, level),
        (Field::Salary, "51234"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    reg.add(&op("clerk"), p, false, T0).await.unwrap()
}

async fn events(store: &lanyard_store::Store) -> Vec<Event> {
    let rows = store.audit_rows(0, 100_000).await.unwrap();
    rows.iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

#[tokio::test]
async fn lifecycle_dual_control_and_audit() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob) = (op("alice"), op("bob"));
        person(&env.register, "900001").await;
        let card =
            env.cards.request(&alice, PersonRef::ServiceNumber("900001"), CardType::WarrantCard, T0).await.unwrap();
        assert_eq!(card.state.as_str(), "requested", "{n}");

        // Dual control: the requester cannot approve, whatever role they hold.
        let err = env.cards.transition(&alice, &card.id, CardAction::Approve, None, T0).await.unwrap_err();
        assert!(matches!(err, CardError::DualControl(_)), "{n}: {err}");
        let as_user = Operator::local(Actor::user("alice", "approver"), false);
        assert!(matches!(
            env.cards.transition(&as_user, &card.id, CardAction::Approve, None, T0).await,
            Err(CardError::DualControl(_))
        ));
        assert_eq!(env.cards.card(&card.id, T0).await.unwrap().state.as_str(), "requested");

        // An illegal move names the current state.
        let err = env.cards.transition(&alice, &card.id, CardAction::Issue, None, T0).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("card {} is requested; it cannot issue: approve it first (another person must)", card.id),
            "{n}"
        );

        let approved = env.cards.transition(&bob, &card.id, CardAction::Approve, None, T0).await.unwrap();
        assert_eq!(approved.approved_by.as_deref(), Some("operator:bob"));
        assert_eq!(approved.expires_at, Some(T0 / 1000 + 5 * 365 * 86_400));
        for action in [CardAction::Print, CardAction::Issue, CardAction::Suspend, CardAction::Resume] {
            env.cards.transition(&alice, &card.id, action, Some(Reason::Investigation), T0).await.unwrap();
        }
        assert_eq!(env.cards.card(&card.id, T0).await.unwrap().state.as_str(), "issued");

        // Lost: reissue revokes at once and requests a new card id.
        let (old, new) = env.cards.reissue(&alice, &card.id, Reason::Lost, T0).await.unwrap();
        assert_eq!((old.state.as_str(), old.reason.as_deref()), ("revoked", Some("lost")));
        assert_ne!(new.id, old.id);
        assert_eq!((new.state.as_str(), new.supersedes.as_deref()), ("requested", Some(old.id.as_str())));

        let evs = events(&env.store).await;
        let card_events: Vec<&Event> = evs.iter().filter(|e| e.action.starts_with("card.")).collect();
        let actions: Vec<&str> = card_events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "card.request",
                "card.approve",
                "card.approve",
                "card.approve",
                "card.print",
                "card.issue",
                "card.suspend",
                "card.resume",
                "card.revoke",
                "card.request"
            ],
            "{n}"
        );
        assert_eq!(card_events[1].outcome, Outcome::Denied);
        assert_eq!(card_events[6].detail.as_ref().unwrap()["reason"], "investigation");
        assert_eq!(card_events[8].detail.as_ref().unwrap()["reason"], "lost");
        assert!(card_events.iter().all(|e| e.people.len() == 1));
        let all = serde_json::to_string(&card_events).unwrap();
        assert!(!all.contains("Quayle") && !all.contains("900001"), "{n}: no personal data in card events");
    }
}

#[tokio::test]
async fn revocation_and_suspension_reach_the_status_list() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob) = (op("alice"), op("bob"));
        let who = person(&env.register, "900002").await;
        let card = env.cards.request(&alice, PersonRef::Id(who), CardType::StaffPass, T0).await.unwrap();
        env.cards.transition(&bob, &card.id, CardAction::Approve, None, T0).await.unwrap();
        env.cards.transition(&alice, &card.id, CardAction::Print, None, T0).await.unwrap();
        env.cards.transition(&alice, &card.id, CardAction::Issue, None, T0).await.unwrap();
        let cred = env.cards.credential(&alice, &card.id, Some("card print"), T0).await.unwrap();
        assert_eq!(cred.claims.rank.as_deref(), Some("Inspector"));
        assert!(
            events(&env.store)
                .await
                .iter()
                .any(|e| e.action == "person.read" && e.purpose.as_deref() == Some("card_print") && e.note.is_none())
        );
        let bundle = env.cards.trust_bundle(&alice, T0).await.unwrap();
        let verdict = |t: i64| {
            let (cards, alice, bundle, qr) = (env.cards.clone(), alice.clone(), bundle.clone(), cred.qr_text.clone());
            async move {
                let list = cards.status_list(&alice, t).await.unwrap();
                let list = StatusListToken::verify(&list, &bundle, t / 1000).unwrap();
                verify_qr(&qr, &bundle, Some(&list), t / 1000).unwrap().verdict
            }
        };
        assert_eq!(verdict(T0).await, Verdict::Valid, "{n}");
        env.cards.transition(&alice, &card.id, CardAction::Suspend, Some(Reason::Investigation), T0).await.unwrap();
        assert_eq!(verdict(T0).await, Verdict::Suspended, "{n}");
        env.cards.transition(&alice, &card.id, CardAction::Resume, None, T0).await.unwrap();
        assert_eq!(verdict(T0).await, Verdict::Valid, "{n}");
        let online = |t: i64| {
            let (cards, alice, qr) = (env.cards.clone(), alice.clone(), cred.qr_text.clone());
            async move { cards.verify_online(&alice, &qr, t / 1000, t).await.unwrap().verdict }
        };
        assert_eq!(online(T0).await, Verdict::Valid, "{n}");
        env.cards.transition(&alice, &card.id, CardAction::Revoke, Some(Reason::Stolen), T0).await.unwrap();
        assert_eq!(verdict(T0).await, Verdict::Revoked, "{n}");
        assert_eq!(online(T0).await, Verdict::Revoked, "{n}: online checks read the live state");
    }
}

#[tokio::test]
async fn rotated_keys_verify_until_their_last_card_expires() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob) = (op("alice"), op("bob"));
        let who = person(&env.register, "900003").await;
        // A visitor pass (one day) signed by key 1.
        let old = env.cards.request(&alice, PersonRef::Id(who), CardType::VisitorPass, T0).await.unwrap();
        env.cards.transition(&bob, &old.id, CardAction::Approve, None, T0).await.unwrap();
        assert_eq!(env.cards.rotate_issuer(&alice, T0).await.unwrap(), 2);
        let new = env.cards.request(&alice, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap();
        let new = env.cards.transition(&bob, &new.id, CardAction::Approve, None, T0).await.unwrap();
        assert_eq!(new.key_version, Some(2));

        let bundle = env.cards.trust_bundle(&alice, T0).await.unwrap();
        let kids: Vec<&str> = bundle.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["azE", "azI"], "{n}: k1 and k2, base64url");
        for card in [&old.id, &new.id] {
            let cred = env.cards.credential(&alice, card, Some("check"), T0).await.unwrap();
            assert_eq!(
                verify_qr(&cred.qr_text, &bundle, None, T0 / 1000).unwrap().verdict,
                Verdict::StatusUnknown,
                "{n}"
            );
        }
        // The visitor pass lapses; key 1 leaves the bundle, key 2 stays.
        let later = env.cards.trust_bundle(&alice, T0 + 2 * DAY).await.unwrap();
        let kids: Vec<&str> = later.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["azI"], "{n}");
        let cred = env.cards.credential(&alice, &old.id, Some("check"), T0).await.unwrap();
        assert_eq!(verify_qr(&cred.qr_text, &later, None, T0 / 1000 + 1).unwrap().verdict, Verdict::UnknownIssuer);
    }
}

#[tokio::test]
async fn issued_cards_expire_when_their_time_is_up() {
    for env in envs().await {
        let (alice, bob) = (op("alice"), op("bob"));
        let who = person(&env.register, "900004").await;
        let card = env.cards.request(&alice, PersonRef::Id(who), CardType::VisitorPass, T0).await.unwrap();
        env.cards.transition(&bob, &card.id, CardAction::Approve, None, T0).await.unwrap();
        env.cards.transition(&alice, &card.id, CardAction::Print, None, T0).await.unwrap();
        env.cards.transition(&alice, &card.id, CardAction::Issue, None, T0).await.unwrap();
        assert_eq!(env.cards.expire_due(&alice, T0 + DAY / 2).await.unwrap(), 0);
        assert_eq!(env.cards.expire_due(&alice, T0 + DAY).await.unwrap(), 1);
        assert_eq!(env.cards.card(&card.id, T0).await.unwrap().state.as_str(), "expired", "{}", env.name);
        let err = env.cards.card("NOSUCHCARD", T0).await.unwrap_err();
        assert_eq!(err.to_string(), "no card NOSUCHCARD");
    }
}

#[tokio::test]
async fn permits_follow_vetting_and_doors_decide_with_reasons() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob, admin, door) = (op("alice"), op("bob"), op("admin"), op("gate-1"));
        let sc = vetted(&env.register, "900010", "SC").await;
        let mv = vetted(&env.register, "900011", "MV").await;
        env.cards.add_zone(&admin, "ARMOURY", "Armoury", "SC", T0).await.unwrap();
        env.cards.add_zone(&admin, "HQ", "Headquarters", "MV, CTC", T0).await.unwrap();
        assert!(env.cards.add_zone(&admin, "bad code", "x", "SC", T0).await.is_err());

        let (from, to) = (T0 / 1000, T0 / 1000 + 30 * 86_400);
        env.cards.grant_permit(&alice, sc, "ARMOURY", from, to, T0).await.unwrap();
        // SC is on the national security ladder: it satisfies CTC for HQ.
        env.cards.grant_permit(&alice, sc, "HQ", from, to, T0).await.unwrap();
        let err = env.cards.grant_permit(&alice, mv, "ARMOURY", from, to, T0).await.unwrap_err();
        assert!(matches!(err, CardError::PermitRefused("vetting_insufficient")), "{n}: {err}");
        assert!(!err.to_string().contains("MV"), "the level is never shown");

        let card = env.cards.request(&alice, PersonRef::Id(sc), CardType::WarrantCard, T0).await.unwrap();
        env.cards.transition(&bob, &card.id, CardAction::Approve, None, T0).await.unwrap();
        let cred = env.cards.credential(&alice, &card.id, Some("print"), T0).await.unwrap();
        assert_eq!(cred.claims.zones, ["ARMOURY", "HQ"], "{n}: offline doors see the zones");
        use lanyard_cards::AccessSubject::{Card, Qr};
        let at = from + 3600;
        let check = |subject, zone: &'static str, at: i64| {
            let (cards, door) = (env.cards.clone(), door.clone());
            async move { cards.check_access(&door, subject, zone, at, T0).await.unwrap() }
        };
        assert_eq!(check(Card(&card.id), "ARMOURY", at).await.reason, "card_not_issued", "{n}");
        env.cards.transition(&alice, &card.id, CardAction::Print, None, T0).await.unwrap();
        env.cards.transition(&alice, &card.id, CardAction::Issue, None, T0).await.unwrap();
        let d = check(Card(&card.id), "ARMOURY", at).await;
        assert!(d.allow && d.reason == "permit", "{n}: {d:?}");
        let d = check(Qr(&cred.qr_text), "ARMOURY", at).await;
        assert!(d.allow, "{n}: {d:?}");
        assert_eq!(check(Card(&card.id), "VAULT", at).await.reason, "unknown_zone");
        assert_eq!(check(Card(&card.id), "ARMOURY", to + 1).await.reason, "no_permit");
        env.cards.transition(&alice, &card.id, CardAction::Revoke, Some(Reason::Stolen), T0).await.unwrap();
        assert_eq!(check(Qr(&cred.qr_text), "ARMOURY", at).await.reason, "card_revoked", "{n}");

        let evs = events(&env.store).await;
        let checks: Vec<&Event> = evs.iter().filter(|e| e.action == "access.check").collect();
        assert_eq!(checks.len(), 6, "{n}: every decision is audited");
        let vetting: Vec<&Event> = evs.iter().filter(|e| e.action == "vetting.check").collect();
        assert!(!vetting.is_empty());
        let text = serde_json::to_string(&vetting).unwrap() + &serde_json::to_string(&checks).unwrap();
        assert!(!text.contains("\"SC\"") && !text.contains("\"MV\""), "{n}: no level in the log: {text}");
    }
}

#[tokio::test]
async fn the_status_list_is_signed_once_per_ttl_unless_a_card_changes() {
    let env = envs().await.remove(0);
    let (alice, bob) = (op("alice"), op("bob"));
    let who = person(&env.register, "900020").await;
    let card = env.cards.request(&alice, PersonRef::Id(who), CardType::StaffPass, T0).await.unwrap();
    let first = env.cards.status_list(&alice, T0).await.unwrap();
    // A second later: the same signed list (its iat is still T0).
    assert_eq!(env.cards.status_list(&alice, T0 + 1000).await.unwrap(), first);
    // A card changed here: a fresh list at once.
    env.cards.transition(&bob, &card.id, CardAction::Approve, None, T0 + 2000).await.unwrap();
    let second = env.cards.status_list(&alice, T0 + 3000).await.unwrap();
    assert_ne!(second, first);
    // Past the TTL (300 s by default): fresh again.
    assert_eq!(env.cards.status_list(&alice, T0 + 4000).await.unwrap(), second);
    assert_ne!(env.cards.status_list(&alice, T0 + 3000 + 300_000).await.unwrap(), second);
}

/// A card state written into the table outside lanyard is not a state: the
/// card does not read, and the status list is not signed over it, so a card
/// whose status nobody can show is never published as valid.
#[tokio::test]
async fn a_stored_card_state_lanyard_does_not_know_fails_closed() {
    for env in envs().await {
        person(&env.register, "900001").await;
        let card = env
            .cards
            .request(&op("alice"), PersonRef::ServiceNumber("900001"), CardType::WarrantCard, T0)
            .await
            .unwrap();
        env.cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0).await.unwrap();
        assert!(env.cards.status_list(&op("gate"), T0).await.is_ok());

        env.t.behind_lanyards_back(&format!("UPDATE cards SET state = 'valid' WHERE id = '{}'", card.id)).await;
        assert!(env.cards.card(&card.id, T0).await.is_err(), "an unknown state stands for nothing");
        assert!(env.cards.list(None, None, T0).await.is_err(), "nor does the list show it");
        // Past the cached list's TTL, so the next list is built from the table.
        assert!(env.cards.status_list(&op("gate"), T0 + DAY).await.is_err(), "no status list is signed over it");
    }
}

/// Issue 15, attack 1 on cards: `update cards set state='issued'` by SQL.
/// The card is refused at use (read, move, door, status list), with an
/// `integrity.failure` event, and `audit verify` names the row.
#[tokio::test]
async fn a_card_state_set_by_sql_is_refused_and_found() {
    for env in envs().await {
        let n = env.name;
        person(&env.register, "900001").await;
        let card = env
            .cards
            .request(&op("alice"), PersonRef::ServiceNumber("900001"), CardType::WarrantCard, T0)
            .await
            .unwrap();
        env.cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0).await.unwrap();
        assert!(env.register.verify_log(&op("dpo"), T0).await.unwrap().findings.is_empty(), "{n}");

        env.t.behind_lanyards_back(&format!("UPDATE cards SET state = 'issued' WHERE id = '{}'", card.id)).await;
        let err = env.cards.card(&card.id, T0).await.unwrap_err();
        assert!(err.to_string().contains("changed outside lanyard"), "{n}: {err}");
        assert!(env.cards.transition(&op("bob"), &card.id, CardAction::Suspend, None, T0).await.is_err(), "{n}");
        assert!(env.cards.status_list(&op("gate"), T0 + DAY).await.is_err(), "{n}: no list is signed over it");

        let evs = events(&env.store).await;
        let failure = evs.iter().find(|e| e.action == "integrity.failure").expect("an integrity.failure event");
        let detail = failure.detail.as_ref().unwrap();
        assert_eq!((detail["table"].as_str(), detail["id"].as_str()), (Some("cards"), Some(card.id.as_str())), "{n}");

        let report = env.register.verify_log(&op("dpo"), T0).await.unwrap();
        let found = report.findings.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(
            found.iter().any(|f| f.starts_with(&format!("cards row {}: does not match its tag", card.id))),
            "{n}: {found:?}"
        );
    }
}

/// Issue 15, attack 1 on permits and zones: a lapsed permit stretched, and
/// a zone's vetting lowered, by SQL. The door refuses to decide on either
/// (fail closed), with an `integrity.failure` event, and `audit verify`
/// names both rows.
#[tokio::test]
async fn a_permit_or_zone_changed_by_sql_opens_no_door() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob, admin, door) = (op("alice"), op("bob"), op("admin"), op("gate-1"));
        let sc = vetted(&env.register, "900010", "SC").await;
        env.cards.add_zone(&admin, "ARMOURY", "Armoury", "SC", T0).await.unwrap();
        let (from, to) = (T0 / 1000, T0 / 1000 + 86_400);
        let permit = env.cards.grant_permit(&alice, sc, "ARMOURY", from, to, T0).await.unwrap();
        let card = env.cards.request(&alice, PersonRef::Id(sc), CardType::WarrantCard, T0).await.unwrap();
        for (who, action) in [(&bob, CardAction::Approve), (&alice, CardAction::Print), (&alice, CardAction::Issue)] {
            env.cards.transition(who, &card.id, action, None, T0).await.unwrap();
        }
        let subject = lanyard_cards::AccessSubject::Card(&card.id);
        let later = to + 86_400;
        let d = env.cards.check_access(&door, subject, "ARMOURY", later, T0).await.unwrap();
        assert_eq!(d.reason, "no_permit", "{n}: the permit has lapsed");

        env.t.behind_lanyards_back("UPDATE permits SET valid_to = valid_to + 31536000 WHERE zone = 'ARMOURY'").await;
        let subject = lanyard_cards::AccessSubject::Card(&card.id);
        assert!(env.cards.check_access(&door, subject, "ARMOURY", later, T0).await.is_err(), "{n}: no door opens");
        env.t.behind_lanyards_back("UPDATE zones SET accepts = 'BPSS' WHERE code = 'ARMOURY'").await;
        assert!(env.cards.zones(T0).await.is_err(), "{n}");

        let report = env.register.verify_log(&op("dpo"), T0).await.unwrap();
        let found = report.findings.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(found.iter().any(|f| f.starts_with(&format!("permits row {}", permit.id))), "{n}: {found:?}");
        assert!(found.iter().any(|f| f.starts_with("zones row ARMOURY")), "{n}: {found:?}");
    }
}

/// Issue 17: one card in service per person and type. A second request is
/// refused, naming the live card; a refused or revoked card frees the slot;
/// `reissue` is the way to replace a live one.
#[tokio::test]
async fn one_card_in_service_per_person_and_type() {
    for env in envs().await {
        let n = env.name;
        let (alice, bob) = (op("alice"), op("bob"));
        let who = person(&env.register, "900077").await;
        let first = env.cards.request(&alice, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap();
        let again = env.cards.request(&bob, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap_err();
        match &again {
            CardError::AlreadyLive { card, state, .. } => {
                assert_eq!((card.as_str(), state.as_str()), (first.id.as_str(), "requested"), "{n}")
            }
            other => panic!("{n}: {other}"),
        }
        assert!(again.to_string().contains(&first.id) && again.to_string().contains("reissue"), "{n}: {again}");
        // Another type is another slot.
        env.cards.request(&alice, PersonRef::Id(who), CardType::StaffPass, T0).await.unwrap();

        // Approved, printed, issued: still the one card.
        for action in [CardAction::Approve, CardAction::Print, CardAction::Issue] {
            let by = if action == CardAction::Approve { &bob } else { &alice };
            env.cards.transition(by, &first.id, action, None, T0).await.unwrap();
            let err = env.cards.request(&alice, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap_err();
            assert!(matches!(err, CardError::AlreadyLive { .. }), "{n}: {action:?}: {err}");
        }
        // Reissue replaces it; then the new one is the live card.
        let (_, replacement) = env.cards.reissue(&alice, &first.id, Reason::Lost, T0).await.unwrap();
        let err = env.cards.request(&alice, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap_err();
        assert!(matches!(&err, CardError::AlreadyLive { card, .. } if *card == replacement.id), "{n}: {err}");
        // Refused: the slot is free again.
        env.cards.transition(&bob, &replacement.id, CardAction::Reject, Some(Reason::NotJustified), T0).await.unwrap();
        env.cards.request(&alice, PersonRef::Id(who), CardType::WarrantCard, T0).await.unwrap();
    }
}

/// Found by the crash harness (tests/cli/crash.rs): a print batch queued a
/// card that another request had just moved, and the store's "newer
/// version" conflict reached the API as a 500. It is a conflict — nothing
/// written, try again — and says so.
#[tokio::test]
async fn a_move_staged_from_a_stale_read_is_a_conflict_and_writes_nothing() {
    for env in envs().await {
        let n = env.name;
        person(&env.register, "900077").await;
        let card =
            env.cards.request(&op("alice"), PersonRef::ServiceNumber("900077"), CardType::StaffPass, T0).await.unwrap();
        let stale = env.cards.card(&card.id, T0).await.unwrap();
        env.cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0 + 1).await.unwrap();
        let before = events(&env.store).await.len();
        let staged = Cards::stage(&op("alice"), stale, CardAction::Reject, None, T0 + 2).unwrap();
        let ledger = lanyard_audit::Ledger::new(env.store.clone());
        let mut tx = ledger.begin().await.unwrap();
        let err = env.cards.apply_in(&mut tx, staged).await.unwrap_err();
        drop(tx);
        assert!(err.is_conflict(), "{n}: {err}");
        assert_eq!(events(&env.store).await.len(), before, "{n}: nothing was logged");
        assert_eq!(env.cards.card(&card.id, T0 + 3).await.unwrap().state.as_str(), "approved", "{n}");
    }
}

/// Found by the crash harness on PostgreSQL: card requests for different
/// people at the same moment took the same next card number, and all but
/// one were refused as conflicts. Each is retried in a fresh transaction,
/// so all succeed, with distinct numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_at_the_same_moment_all_get_cards_with_distinct_numbers() {
    for env in envs().await {
        let n = env.name;
        let mut sns = Vec::new();
        for i in 0..12 {
            let sn = format!("9301{i:02}");
            person(&env.register, &sn).await;
            sns.push(sn);
        }
        let tasks: Vec<_> = sns
            .iter()
            .map(|sn| {
                let (cards, sn) = (env.cards.clone(), sn.clone());
                tokio::spawn(async move {
                    cards.request(&op("alice"), PersonRef::ServiceNumber(&sn), CardType::StaffPass, T0).await
                })
            })
            .collect();
        let mut numbers = std::collections::BTreeSet::new();
        for t in tasks {
            let card = t.await.unwrap().unwrap_or_else(|e| panic!("{n}: {e}"));
            numbers.insert(card.number);
        }
        assert_eq!(numbers.len(), 12, "{n}: every card has its own number");
    }
}
