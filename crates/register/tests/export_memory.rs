//! An audit export is made in bounded memory: the document is written a
//! page of events at a time, so exporting a long log must not hold it.
//! Before, every event and proof was collected first (and the CLI then
//! built the whole JSON text beside them): more than the document's size.
//! The bound allows for SQLite's page cache, which grows with the file up
//! to its own limit whatever lanyard does.
//!
//! One test in its own binary, so the high-water mark (`VmHWM`) is this
//! export's and no other test's. SQLite only: the bound is the code's, not
//! the backend's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::{Actor, Event, Outcome};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};

const EVENTS: i64 = 120_000;

fn op() -> Operator {
    Operator::local(Actor::operator("reviewer"), false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporting_a_long_log_does_not_hold_it() {
    if !lanyard_testkit::peak_rss_measurable() {
        return;
    }
    let t = lanyard_testkit::stores().await.into_iter().next().unwrap();
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let ledger = lanyard_audit::Ledger::new(t.store.clone());
    let register = Register::init(ledger, provider, &op(), 1_000).await.unwrap();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..EVENTS {
        let mut e =
            Event::new(2_000 + i, Actor::operator(&format!("officer{:02}", i % 40)), "person.read", Outcome::Ok);
        e.request_id = Some(format!("{i:032x}"));
        e.purpose = Some("card renewal".into());
        batch.push(e);
        if batch.len() == 10_000 {
            register.record(&batch).await.unwrap();
            batch.clear();
        }
    }
    register.record(&batch).await.unwrap();

    // One export first, so that SQLite's caches hold what they will of the
    // file (they grow with it to their own limit, whatever lanyard does);
    // from here on, the peak is the second export's.
    let mut warm = register.export_window(&op(), None, None, 100_000_000).await.unwrap();
    while warm.next_chunk().await.unwrap().is_some() {}
    assert!(lanyard_testkit::reset_peak_rss());
    let (before, _) = lanyard_testkit::rss_kib().unwrap();
    let mut export = register.export_window(&op(), None, None, 100_000_000).await.unwrap();
    let mut doc_bytes = 0u64;
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        doc_bytes += chunk.len() as u64;
    }
    let (_, peak) = lanyard_testkit::rss_kib().unwrap();
    assert!(export.events() > EVENTS as u64);
    let (doc_kib, grew_kib) = (doc_bytes / 1024, peak.saturating_sub(before));
    let db_kib: u64 = ["", "-wal"]
        .iter()
        .filter_map(|ext| std::fs::metadata(format!("{}{ext}", t.sqlite_path.as_ref()?.display())).ok())
        .map(|m| m.len() / 1024)
        .sum();
    eprintln!(
        "export of {} events: {doc_kib} KiB from a {db_kib} KiB database; peak RSS {before} -> {peak} KiB (+{grew_kib})",
        export.events()
    );
    // In hand at once: one page of 2,000 events with their proofs (about
    // 2 MiB), and what SQLite caches of the file it reads, on up to two
    // pooled connections. Held whole, the document costs more than its
    // size; so it must be larger than the bound for the test to tell.
    let bound = 2 * db_kib + 16 * 1024;
    assert!(doc_kib > bound, "the export must be large enough to tell: {doc_kib} KiB, bound {bound} KiB");
    assert!(grew_kib < bound, "exporting {doc_kib} KiB grew the peak by {grew_kib} KiB (bound {bound} KiB)");
}
