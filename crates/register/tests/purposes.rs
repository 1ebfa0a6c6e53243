//! Issue 15: purposes typed as free text before purposes had codes are
//! sealed into notes at upgrade, on every backend. The log of a store from
//! before notes is made here as that version wrote it: events with their
//! purposes in clear, appended to the tree.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// The old log is written beneath the ledger, as the old version wrote it.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;

use lanyard_audit::{Actor, Event, Ledger, Outcome, ledger::encode, log};
use lanyard_core::PersonId;
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Finding, Operator, Register};

const T0: i64 = 1_800_000_000_000;
const SENTENCE: &str = "renewal for Callum Ahmed callum.ahmed@force.example";

fn op() -> Operator {
    Operator::local(Actor::operator("auditor"), false)
}

fn read(purpose: Option<&str>, person: PersonId) -> Event {
    let mut e = Event::new(T0, Actor::operator("clerk"), "person.read", Outcome::Ok);
    e.people = vec![person];
    e.purpose = purpose.map(str::to_owned);
    e
}

async fn stored(store: &lanyard_store::Store, idx: i64) -> (String, Vec<u8>) {
    let row = store.audit_rows(idx, 1).await.unwrap().remove(0);
    (String::from_utf8(row.event).unwrap(), row.leaf_hash)
}

#[tokio::test]
async fn old_free_text_purposes_are_sealed_once_and_the_log_still_verifies() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let ledger = Ledger::new(t.store.clone());
        Register::init(ledger.clone(), Arc::clone(&provider), &op(), T0).await.unwrap();

        // The log as a store from before notes holds it: its own init, and
        // reads whose purposes were typed in clear.
        t.behind_lanyards_back(
            "DELETE FROM audit_log; DELETE FROM audit_nodes; DELETE FROM audit_checkpoints; \
             DELETE FROM meta WHERE key = 'row_writes'",
        )
        .await;
        let mut init = Event::new(T0, Actor::operator("setup"), "register.init", Outcome::Ok);
        init.detail = Some(serde_json::json!({ "provider": "keyring", "row_key": true }));
        let who = PersonId::new();
        let old = [
            init,
            read(Some(SENTENCE), who),
            read(Some("payroll"), who),
            read(Some("vetting_review: follow-up on Ms Okafor"), who),
            read(None, who),
        ];
        let mut tx = t.store.begin().await.unwrap();
        log::append(&mut tx, &old.iter().map(encode).collect::<Vec<_>>()).await.unwrap();
        tx.commit().await.unwrap();
        let root = log::root(&t.store, 5).await.unwrap();
        let leaves: Vec<Vec<u8>> = futures_leaves(&t.store, 5).await;

        let register = Register::open(ledger.clone(), Arc::clone(&provider), T0).await.unwrap();
        let (one, _) = stored(&t.store, 1).await;
        assert!(!one.contains("Callum") && !one.contains("callum"), "{n}: the sentence is sealed: {one}");
        let one: Event = Event::from_bytes(one.as_bytes()).unwrap();
        assert_eq!(one.purpose.as_deref(), Some("other"), "{n}");
        assert!(one.note.is_some(), "{n}");
        assert_eq!(stored(&t.store, 2).await.0, String::from_utf8(encode(&old[2]).0).unwrap(), "{n}: a code stays");
        let three = Event::from_bytes(stored(&t.store, 3).await.0.as_bytes()).unwrap();
        assert_eq!(three.purpose.as_deref(), Some("vetting_review"), "{n}: the code it began with, in clear");
        assert!(!stored(&t.store, 3).await.0.contains("Okafor"), "{n}");
        assert_eq!(futures_leaves(&t.store, 5).await, leaves, "{n}: every leaf hash stands");
        assert_eq!(log::root(&t.store, 5).await.unwrap(), root, "{n}: and so the tree and its checkpoints");
        let sealed: Vec<Event> =
            all_events(&t.store).await.into_iter().filter(|e| e.action == "audit.purposes_sealed").collect();
        assert_eq!(sealed.len(), 1, "{n}");
        assert_eq!(sealed[0].detail.as_ref().unwrap()["sealed"], 2, "{n}");
        assert_eq!(sealed[0].detail.as_ref().unwrap()["provable"], 2, "{n}");

        let report = register.verify_log(&op(), T0).await.unwrap();
        assert!(report.findings.is_empty(), "{n}: {:?}", report.findings);
        assert!(register.start_check(&op(), T0).await.unwrap().is_empty(), "{n}");

        // The auditor opens the note, and sees it is what the log first held.
        let opened = register.audit_note(&op(), 1, T0).await.unwrap();
        assert_eq!((opened.note.as_str(), opened.code.as_deref()), (SENTENCE, Some("other")), "{n}");
        assert_eq!(opened.proves_leaf, Some(true), "{n}");
        let opened = register.audit_note(&op(), 3, T0).await.unwrap();
        assert_eq!(opened.note, "vetting_review: follow-up on Ms Okafor", "{n}");
        assert_eq!(opened.proves_leaf, Some(true), "{n}");

        // Once: opening again seals nothing more.
        let again = Register::open(ledger.clone(), Arc::clone(&provider), T0).await.unwrap();
        let count = all_events(&t.store).await.iter().filter(|e| e.action == "audit.purposes_sealed").count();
        assert_eq!(count, 1, "{n}");

        // A redacted event changed, or its redaction removed, is found.
        let swap = if t.sqlite_path.is_some() {
            "CAST(REPLACE(CAST(event AS TEXT), 'vetting_review', 'payroll') AS BLOB)"
        } else {
            "convert_to(replace(convert_from(event, 'UTF8'), 'vetting_review', 'payroll'), 'UTF8')"
        };
        t.behind_lanyards_back(&format!("UPDATE audit_log SET event = {swap} WHERE idx = 3")).await;
        let found = again.verify_log(&op(), T0).await.unwrap().findings;
        assert!(found.contains(&Finding::EventAltered { index: 3 }), "{n}: {found:?}");
        t.behind_lanyards_back("DELETE FROM audit_redactions WHERE idx = 1").await;
        let found = again.verify_log(&op(), T0).await.unwrap().findings;
        assert!(found.contains(&Finding::EventAltered { index: 1 }), "{n}: {found:?}");
        assert!(found.contains(&Finding::RedactionsNotAsLogged), "{n}: {found:?}");
    }
}

async fn all_events(store: &lanyard_store::Store) -> Vec<Event> {
    store.audit_rows(0, 10_000).await.unwrap().iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

async fn futures_leaves(store: &lanyard_store::Store, n: i64) -> Vec<Vec<u8>> {
    store.audit_rows(0, n).await.unwrap().into_iter().map(|r| r.leaf_hash).collect()
}
