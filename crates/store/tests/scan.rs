//! Whole-log scans: every event of the range, once, in order, on both
//! backends, and an early stop leaves nothing hanging.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// These test the store's (or the log's) own transactions, beneath the ledger.
#![allow(clippy::disallowed_methods)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_exactly_the_range_in_order() {
    for t in lanyard_testkit::stores().await {
        let entries: Vec<(Vec<u8>, [u8; 32])> =
            (0..10_000u32).map(|i| (format!("{{\"n\":{i}}}").into_bytes(), [(i % 251) as u8; 32])).collect();
        let mut tx = t.store.begin().await.unwrap();
        tx.append_audit(&entries).await.unwrap();
        tx.commit().await.unwrap();
        for (from, to, hashes) in
            [(0i64, 10_000i64, true), (17, 9_001, false), (5_000, 5_000, true), (9_990, 20_000, true)]
        {
            let mut pages = t.store.audit_pages(from, to, hashes);
            let mut seen = Vec::new();
            while let Some(page) = pages.next().await {
                for row in page.unwrap() {
                    assert_eq!(row.event, entries[row.idx as usize].0, "{}", t.name);
                    if hashes {
                        assert_eq!(row.leaf_hash, entries[row.idx as usize].1.to_vec(), "{}", t.name);
                    }
                    seen.push(row.idx);
                }
            }
            let expected: Vec<i64> = (from..to.min(10_000)).collect();
            assert_eq!(seen, expected, "{}: [{from}, {to})", t.name);
        }
        // A caller that stops early just drops the pages.
        let mut pages = t.store.audit_pages(0, 10_000, true);
        assert!(pages.next().await.unwrap().is_ok());
        drop(pages);
    }
}
