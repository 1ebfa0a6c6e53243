//! Issue 16: the watch's reconciliation reads only the events since its
//! last pass, finds what a whole `audit verify` finds, and falls back to
//! reading the whole log wherever the replay it kept no longer holds. On
//! every backend.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::{Actor, Ledger, log};
use lanyard_core::{Compartment, Field, PersonRecord, RankTable};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Finding, Operator, Register};
use lanyard_testkit::TestStore;

const T0: i64 = 1_800_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn op() -> Operator {
    Operator::local(Actor::operator("watch"), false)
}

fn person(sn: &str) -> PersonRecord {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, sn),
        (Field::Forenames, "Ada"),
        (Field::Surname, "Okafor"),
        (Field::Rank, "Inspector"),
        (Field::Email, &format!("{sn}@force.example")),
        (Field::VettingLevel, "SC"),
        (Field::Salary, "40000"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    p
}

async fn register(t: &TestStore) -> Register {
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let reg = Register::init(Ledger::new(t.store.clone()), provider, &op(), T0).await.unwrap();
    for i in 0..4 {
        reg.add(&op(), person(&format!("PC{i}")), false, T0 + 1).await.unwrap();
    }
    reg.checkpoint(&op(), None, T0 + 2).await.unwrap();
    reg
}

#[tokio::test]
async fn a_pass_reads_only_new_events_and_finds_what_a_whole_check_finds() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let reg = register(&t).await;
        let (first, saved) = reg.verify_since(&op(), None, DAY_MS, T0 + 3).await.unwrap();
        assert!(first.findings.is_empty(), "{n}: {:?}", first.findings);
        assert_eq!(first.events_read, first.events, "{n}: the first pass reads the whole log");

        let id = reg.add(&op(), person("PC9"), false, T0 + 4).await.unwrap();
        reg.show(&op(), id, &[Compartment::Pay], Some("payroll"), T0 + 5).await.unwrap();
        let (second, saved) = reg.verify_since(&op(), Some(saved.clone()), DAY_MS, T0 + 6).await.unwrap();
        assert!(second.findings.is_empty(), "{n}: {:?}", second.findings);
        assert_eq!(second.events, first.events + 2, "{n}");
        assert_eq!(second.events_read, 2, "{n}: only the create and the read");
        assert_eq!(second.people, 5, "{n}");

        // The store is read whole every pass: a compartment deleted out of
        // band is named by a pass that reads no event.
        let uuid = id.as_uuid();
        let key = if n == "sqlite" { format!("X'{}'", uuid.simple()) } else { format!("'{uuid}'") };
        t.behind_lanyards_back(&format!("DELETE FROM sealed WHERE person_id = {key} AND compartment = 'vetting'"))
            .await;
        let (third, saved) = reg.verify_since(&op(), Some(saved.clone()), DAY_MS, T0 + 7).await.unwrap();
        assert_eq!(third.events_read, 0, "{n}");
        let whole = reg.verify_log(&op(), T0 + 7).await.unwrap();
        assert_eq!(third.findings, whole.findings, "{n}: the same findings as a whole check");
        assert!(
            third.findings.contains(&Finding::CompartmentMissing { person: id, compartment: Compartment::Vetting }),
            "{n}: {:?}",
            third.findings
        );

        // A day on, the pass reads the whole log again.
        let (later, _) = reg.verify_since(&op(), Some(saved.clone()), DAY_MS, T0 + 3 + DAY_MS).await.unwrap();
        assert_eq!(later.events_read, later.events, "{n}");
    }
}

#[tokio::test]
async fn a_cut_tail_a_changed_tree_and_a_forged_replay_are_each_caught() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let reg = register(&t).await;
        let (first, saved) = reg.verify_since(&op(), None, DAY_MS, T0 + 3).await.unwrap();
        assert!(first.findings.is_empty(), "{n}: {:?}", first.findings);

        // The replay file changed by someone without the key: named, and the
        // whole log read instead.
        let mut forged = saved.clone();
        let mid = forged.len() / 2;
        forged[mid] ^= 1;
        let (report, _) = reg.verify_since(&op(), Some(forged), DAY_MS, T0 + 4).await.unwrap();
        assert_eq!(report.findings, vec![Finding::WatchStateRejected], "{n}");
        assert_eq!(report.events_read, report.events, "{n}");
        let (report, _) = reg.verify_since(&op(), Some(b"short".to_vec()), DAY_MS, T0 + 4).await.unwrap();
        assert_eq!(report.findings, vec![Finding::WatchStateRejected], "{n}");

        // The stored tree changed below the replay's size: the saved replay
        // no longer holds, so the pass reads the whole log, and names it.
        let zeros = if n == "sqlite" { "zeroblob(32)" } else { "decode(repeat('00', 32), 'hex')" };
        t.behind_lanyards_back(&format!("UPDATE audit_nodes SET hash = {zeros}")).await;
        let (report, _) = reg.verify_since(&op(), Some(saved.clone()), DAY_MS, T0 + 5).await.unwrap();
        assert_eq!(report.events_read, report.events, "{n}");
        assert!(report.findings.contains(&Finding::TreeNodesAltered), "{n}: {:?}", report.findings);

        // The tail cut below what the watch had read.
        let size = log::size(&t.store).await.unwrap();
        t.behind_lanyards_back(&format!("DELETE FROM audit_log WHERE idx >= {}", size - 2)).await;
        let (report, _) = reg.verify_since(&op(), Some(saved.clone()), DAY_MS, T0 + 6).await.unwrap();
        assert!(
            report.findings.contains(&Finding::LogShorterThanWatched { watched: size, size: size - 2 }),
            "{n}: {:?}",
            report.findings
        );
    }
}

#[tokio::test]
async fn writes_landing_during_a_pass_are_no_finding() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let reg = Arc::new(register(&t).await);
        let writer = {
            let reg = Arc::clone(&reg);
            tokio::spawn(async move {
                let mut change = PersonRecord::default();
                change.set_from_text(Field::Salary, "41000", &RankTable::default_ranks()).unwrap();
                for i in 0..40 {
                    let id = reg.add(&op(), person(&format!("PX{i}")), false, T0 + 10).await.unwrap();
                    reg.update(&op(), id, change.clone(), None, T0 + 11).await.unwrap();
                }
            })
        };
        let mut saved: Option<Vec<u8>> = None;
        let mut passes = 0;
        while !writer.is_finished() || passes < 2 {
            let (report, next) = reg.verify_since(&op(), saved.clone(), DAY_MS, T0 + 12).await.unwrap();
            assert!(report.findings.is_empty(), "{n}: pass {passes} found {:?}", report.findings);
            saved = Some(next);
            passes += 1;
        }
        writer.await.unwrap();
        let (report, _) = reg.verify_since(&op(), saved.clone(), DAY_MS, T0 + 13).await.unwrap();
        assert!(report.findings.is_empty(), "{n}: {:?}", report.findings);
        assert_eq!(report.people, 44, "{n}");
    }
}
