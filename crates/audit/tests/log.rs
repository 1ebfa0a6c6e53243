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

/// Many proofs read together are the proofs read one at a time, for every
/// kind of index set (all, a window, strided, scattered, one, none); and a
/// node missing from a run is named, never read around.
#[tokio::test]
async fn proofs_read_together_are_the_proofs_read_one_at_a_time() {
    for t in lanyard_testkit::stores().await {
        let (name, store) = (t.name, &t.store);
        let entries: Vec<(Vec<u8>, [u8; 32])> = (0..301u32)
            .map(|n| {
                let bytes = format!("{{\"event\":{n}}}").into_bytes();
                let h = leaf_hash(&bytes);
                (bytes, h)
            })
            .collect();
        for chunk in entries.chunks(97) {
            let mut tx = store.begin().await.unwrap();
            log::append(&mut tx, chunk).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for size in [1u64, 2, 3, 64, 65, 127, 200, 256, 301] {
            let scattered: Vec<u64> = (0..40)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed % size
                })
                .collect();
            let sets: [Vec<u64>; 6] = [
                (0..size).collect(),
                (size / 3..size / 3 + size.min(50) / 2).collect(),
                (0..size).step_by(7).collect(),
                scattered,
                vec![size - 1],
                Vec::new(),
            ];
            for set in sets {
                let together = log::inclusions(store, &set, size).await.unwrap();
                assert_eq!(together.len(), set.len(), "{name}");
                for (&index, got) in set.iter().zip(&together) {
                    let alone = log::inclusion(store, index, size).await.unwrap();
                    assert_eq!(got, &alone, "{name}: event {index} in {size}");
                }
            }
        }
        assert!(log::inclusions(store, &[301], 301).await.is_err(), "{name}: an index past the tree");
        assert!(log::inclusions(store, &[0], 302).await.is_err(), "{name}: a tree past the log");

        t.behind_lanyards_back("DELETE FROM audit_nodes WHERE level = 1 AND idx = 40").await;
        let err = log::inclusions(store, &(70..90).collect::<Vec<_>>(), 301).await.unwrap_err();
        assert!(
            matches!(err, log::LogError::MissingNode { level: 1, index: 40 }),
            "{name}: a node missing mid-run is named: {err:?}"
        );
    }
}
