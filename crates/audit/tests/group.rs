//! Group commit under real concurrency, on SQLite and PostgreSQL: many
//! callers at once get distinct, contiguous leaf indexes, each index holds
//! that caller's event, and the stored tree is the tree of those events.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::group::GroupCommitter;
use lanyard_audit::merkle::{self, MemoryTree};
use lanyard_audit::{leaf_hash, log};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_get_their_own_durable_indexes() {
    for t in lanyard_testkit::stores().await {
        let committer = Arc::new(GroupCommitter::new(t.store.clone()));
        let callers = 300usize;
        let mut handles = Vec::new();
        for caller in 0..callers {
            let committer = Arc::clone(&committer);
            handles.push(tokio::spawn(async move {
                // Callers append one to three events.
                let entries: Vec<_> = (0..1 + caller % 3)
                    .map(|k| {
                        let bytes = format!("{{\"caller\":{caller},\"k\":{k}}}").into_bytes();
                        let leaf = leaf_hash(&bytes);
                        (bytes, leaf)
                    })
                    .collect();
                let first = committer.append(entries.clone()).await.unwrap();
                (first, entries)
            }));
        }
        let mut by_index = Vec::new();
        for h in handles {
            let (first, entries) = h.await.unwrap();
            for (k, e) in entries.into_iter().enumerate() {
                by_index.push((first + k as u64, e));
            }
        }
        by_index.sort_by_key(|(i, _)| *i);
        let expected: Vec<u64> = (0..by_index.len() as u64).collect();
        let got: Vec<u64> = by_index.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, expected, "{}: indexes are distinct and contiguous", t.name);

        let rows = t.store.audit_rows(0, by_index.len() as i64 + 1).await.unwrap();
        assert_eq!(rows.len(), by_index.len());
        let mut memory = MemoryTree::default();
        for (row, (_, (bytes, leaf))) in rows.iter().zip(&by_index) {
            assert_eq!(&row.event, bytes, "{}: index {} holds its caller's event", t.name, row.idx);
            memory.push(*leaf);
        }
        let size = log::size(&t.store).await.unwrap();
        assert_eq!(log::root(&t.store, size).await.unwrap(), merkle::root(&memory, size).unwrap());
    }
}
