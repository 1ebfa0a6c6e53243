//! The store interface on every backend: SQLite always, PostgreSQL when
//! `LANYARD_TEST_PG` holds a connection URL (each test in its own schema).
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// These test the store's (or the log's) own transactions, beneath the ledger.
#![allow(clippy::disallowed_methods)]

use lanyard_store::{IndexColumn, PersonRow, SealedRow, Store, StoreErrorKind, WrappedKeyRow};
use uuid::Uuid;

fn person(sn: u8) -> PersonRow {
    PersonRow {
        id: Uuid::now_v7(),
        status: lanyard_core::PersonStatus::Active,
        protected: false,
        created_at: 1,
        updated_at: 1,
        row_version: 1,
        sn_index: Some(vec![sn; 32]),
        surname_index: Some(vec![7; 32]),
        email_index: None,
    }
}

fn sealed(p: &PersonRow, c: &str) -> SealedRow {
    SealedRow {
        person_id: p.id,
        compartment: c.into(),
        ck_version: 1,
        key_version: 1,
        wrapped_key: vec![1, 2, 3],
        fields: vec![4, 5, 6],
    }
}

#[tokio::test]
async fn people_round_trip_and_lookups() {
    for lanyard_testkit::TestStore { name, store, .. } in lanyard_testkit::stores().await {
        assert!(store.is_initialised().await.unwrap(), "{name}");
        let people: Vec<PersonRow> = (0..1000u32).map(|i| person((i % 250) as u8)).collect();
        // sn_index must be unique, so give each its own.
        let people: Vec<PersonRow> = people
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                p.sn_index = Some((i as u32).to_be_bytes().to_vec());
                p
            })
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.insert_people(&people).await.unwrap();
        let rows: Vec<SealedRow> = people.iter().flat_map(|p| [sealed(p, "identity"), sealed(p, "pay")]).collect();
        tx.insert_sealed(&rows).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.person(people[5].id).await.unwrap().unwrap(), people[5], "{name}");
        assert_eq!(store.find(IndexColumn::Surname, &[7; 32]).await.unwrap().len(), 1000, "{name}");
        assert_eq!(store.find(IndexColumn::ServiceNumber, &5u32.to_be_bytes()).await.unwrap()[0].id, people[5].id);
        let page = store.people_page(None, 10).await.unwrap();
        let next = store.people_page(Some(page[9].id), 10).await.unwrap();
        assert!(next[0].id > page[9].id);
        let got = store.sealed(&[people[1].id, people[2].id], &["pay"]).await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| r.compartment == "pay"));
        let mut tx = store.begin().await.unwrap();
        let taken = tx.taken_service_indexes(&[5u32.to_be_bytes().to_vec(), vec![9, 9]]).await.unwrap();
        drop(tx);
        assert_eq!(taken, vec![5u32.to_be_bytes().to_vec()]);
        assert_eq!(store.count_by_status().await.unwrap(), vec![("active".to_owned(), 1000)]);
    }
}

#[tokio::test]
async fn duplicate_service_index_conflicts_and_rolls_back_everything() {
    for lanyard_testkit::TestStore { name, store, .. } in lanyard_testkit::stores().await {
        let a = person(1);
        let mut b = person(1);
        b.surname_index = None;
        let mut tx = store.begin().await.unwrap();
        tx.insert_people(std::slice::from_ref(&a)).await.unwrap();
        let err = tx.insert_people(&[b]).await.unwrap_err();
        assert!(matches!(err.kind(), StoreErrorKind::Conflict(_)), "{name}: {err}");
        drop(tx);
        assert!(store.person(a.id).await.unwrap().is_none(), "{name}: rolled back");
    }
}

#[tokio::test]
async fn optimistic_update_rewrap_and_audit_order() {
    for lanyard_testkit::TestStore { name, store, .. } in lanyard_testkit::stores().await {
        let mut p = person(3);
        let mut tx = store.begin().await.unwrap();
        tx.insert_people(std::slice::from_ref(&p)).await.unwrap();
        tx.insert_sealed(&[sealed(&p, "vetting")]).await.unwrap();
        tx.insert_wrapped_key(&WrappedKeyRow {
            purpose: "compartment".into(),
            name: "vetting".into(),
            version: 1,
            wrapped: vec![0; 40],
            created_at: 1,
            mac: Some(vec![7; 32]),
        })
        .await
        .unwrap();
        let first = tx.append_audit(&[(b"a".to_vec(), [1; 32]), (b"b".to_vec(), [2; 32])]).await.unwrap();
        assert_eq!(first, 0);
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        p.row_version = 2;
        tx.update_person(&p, 1).await.unwrap();
        assert!(tx.update_person(&p, 1).await.is_err(), "{name}: stale version must conflict");
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.rewrap_sealed(p.id, "vetting", 1, 2, &[9, 9]).await.unwrap());
        assert!(!tx.rewrap_sealed(p.id, "vetting", 1, 2, &[9, 9]).await.unwrap());
        assert_eq!(tx.append_audit(&[(b"c".to_vec(), [3; 32])]).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert_eq!(store.sealed_counts().await.unwrap(), vec![("vetting".to_owned(), 2, 1)]);
        let log = store.audit_rows(0, 10).await.unwrap();
        assert_eq!(
            log.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(store.wrapped_keys().await.unwrap().len(), 1);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_sealed(p.id, &["vetting", "pay"]).await.unwrap(), 1);
        tx.commit().await.unwrap();
        store.purge_deleted().await.unwrap();
        assert!(store.sealed(&[p.id], &["vetting"]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn unreachable_postgres_is_reported_as_such() {
    let err = Store::open_postgres("postgres://nobody@127.0.0.1:1/none", None).await.unwrap_err();
    assert!(matches!(err.kind(), StoreErrorKind::Unreachable(_)), "{err}");
}

/// A backup holds every table: a migration that adds one must add it to
/// `TABLES` too (in load order), or this fails.
#[tokio::test]
async fn the_backup_table_list_names_every_table() {
    for t in lanyard_testkit::stores().await {
        let mut listed: Vec<String> = lanyard_store::TABLES.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(t.store.table_names().await.unwrap(), listed, "{}", t.name);
        assert_eq!(t.store.schema_version().await.unwrap(), t.store.schema_target(), "{}", t.name);
    }
}

/// A snapshot reads the log in its order whatever order the rows lie in:
/// on PostgreSQL, rows inserted out of order (as after rolled-back writes
/// whose space is reused) came back in heap order, and a backup computed
/// its audit tree over events out of place.
#[tokio::test]
async fn a_snapshot_reads_the_log_in_index_order() {
    for t in lanyard_testkit::stores().await {
        t.behind_lanyards_back(
            "INSERT INTO audit_log (idx, event, leaf_hash) VALUES (2, 'c', 'h2'); \
             INSERT INTO audit_log (idx, event, leaf_hash) VALUES (0, 'a', 'h0'); \
             INSERT INTO audit_log (idx, event, leaf_hash) VALUES (1, 'b', 'h1');",
        )
        .await;
        let mut snapshot = t.store.snapshot().await.unwrap();
        let columns = vec!["idx".to_owned()];
        let mut seen = Vec::new();
        snapshot
            .rows("audit_log", &columns, |values| -> Result<(), lanyard_store::StoreError> {
                seen.push(values[0].clone());
                Ok(())
            })
            .await
            .unwrap();
        use lanyard_store::Value::Int;
        assert_eq!(seen, vec![Int(0), Int(1), Int(2)], "{}", t.name);
    }
}
