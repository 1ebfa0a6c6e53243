//! The audit log on the store, SQLite always and PostgreSQL when
//! `LANYARD_TEST_PG` is set: appends in several batches keep exactly the
//! nodes an in-memory tree has, and proofs read from the store verify.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// These test the store's (or the log's) own transactions, beneath the ledger.
#![allow(clippy::disallowed_methods)]

use lanyard_audit::leaf_hash;
use lanyard_audit::log;
use lanyard_audit::merkle::{self, MemoryTree, NodeSource, verify_consistency, verify_inclusion};

#[tokio::test]
async fn batched_appends_give_the_same_tree_and_proofs_verify() {
    for lanyard_testkit::TestStore { name, store, .. } in lanyard_testkit::stores().await {
        let mut memory = MemoryTree::default();
        let mut n = 0u64;
        for batch in [1usize, 1, 5, 16, 3, 64, 7, 130] {
            let entries: Vec<(Vec<u8>, [u8; 32])> = (0..batch)
                .map(|_| {
                    let bytes = format!("{{\"event\":{n}}}").into_bytes();
                    n += 1;
                    let h = leaf_hash(&bytes);
                    memory.push(h);
                    (bytes, h)
                })
                .collect();
            let mut tx = store.begin().await.unwrap();
            log::append(&mut tx, &entries).await.unwrap();
            tx.commit().await.unwrap();
        }
        let size = log::size(&store).await.unwrap();
        assert_eq!(size, n, "{name}");
        for s in [1, 2, 3, 17, 64, 100, size] {
            let root = log::root(&store, s).await.unwrap();
            assert_eq!(root, merkle::root(&memory, s).unwrap(), "{name}: root of {s}");
            for index in [0, s / 2, s - 1] {
                let (leaf, proof) = log::inclusion(&store, index, s).await.unwrap();
                assert_eq!(leaf, memory.node(0, index).unwrap());
                assert!(verify_inclusion(&leaf, index, s, &proof, &root), "{name}: {index} in {s}");
            }
            for old in [1, s / 3 + 1, s] {
                let proof = log::consistency(&store, old, s).await.unwrap();
                let old_root = log::root(&store, old).await.unwrap();
                assert!(verify_consistency(old, s, &old_root, &root, &proof), "{name}: {old} -> {s}");
            }
        }
        assert!(log::inclusion(&store, size, size).await.is_err());
        assert!(log::root(&store, size + 1).await.is_err());
    }
}
