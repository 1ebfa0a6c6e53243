//! The ledger's writes on every backend: the first event of a write
//! carries every tagged row the write changed, whatever the order of the
//! service's calls, and a write that changes tagged rows no event can
//! record is not committed.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use lanyard_audit::ledger::encode;
use lanyard_audit::log::LogError;
use lanyard_audit::{Actor, Event, Ledger, Outcome, RowWrite};
use lanyard_crypto::{Key32, RowAuth};
use lanyard_store::{Authenticated, WrappedKeyRow};

fn key_row(version: i64) -> WrappedKeyRow {
    WrappedKeyRow {
        purpose: "test".into(),
        name: "k".into(),
        version,
        wrapped: vec![1, 2, 3],
        created_at: 7,
        mac: None,
    }
}

#[tokio::test]
async fn a_writes_first_event_records_its_rows_and_unrecorded_rows_are_refused() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let ledger = Ledger::new(t.store.clone());
        ledger.install_row_auth(RowAuth::new(Key32::random()));

        // The event appended before the row is written still records it.
        let (mut one, mut two) = (key_row(1), key_row(2));
        ledger.tag(&mut one).unwrap();
        ledger.tag(&mut two).unwrap();
        let mut w = ledger.begin().await.unwrap();
        w.append(&[Event::new(1, Actor::system(), "key.create", Outcome::Ok)]).await.unwrap();
        w.tx().insert_wrapped_key(&one).await.unwrap();
        w.append(&[Event::new(2, Actor::system(), "key.create", Outcome::Ok)]).await.unwrap();
        w.tx().insert_wrapped_key(&two).await.unwrap();
        w.commit().await.unwrap();
        let rows = t.store.audit_rows(0, 10).await.unwrap();
        let first = Event::from_bytes(&rows[0].event).unwrap();
        let second = Event::from_bytes(&rows[1].event).unwrap();
        let expect = |r: &WrappedKeyRow| RowWrite {
            id: r.row_id(),
            table: "wrapped_keys".into(),
            tag: Some(RowWrite::tag_text(r.tag().unwrap())),
        };
        assert_eq!(first.rows, vec![expect(&one), expect(&two)], "{n}");
        assert!(second.rows.is_empty(), "{n}");

        // Rows written after the last event, when that event was encoded
        // before them, have no event to record them: nothing commits.
        let mut three = key_row(3);
        ledger.tag(&mut three).unwrap();
        let mut w = ledger.begin().await.unwrap();
        w.append_encoded(&[encode(&Event::new(3, Actor::system(), "import", Outcome::Ok))]).await.unwrap();
        w.tx().insert_wrapped_key(&three).await.unwrap();
        assert!(matches!(w.commit().await, Err(LogError::Unstamped)), "{n}");
        assert_eq!(t.store.audit_rows(0, 10).await.unwrap().len(), 2, "{n}: nothing was committed");
        assert_eq!(t.store.wrapped_keys().await.unwrap().len(), 2, "{n}");
    }
}
