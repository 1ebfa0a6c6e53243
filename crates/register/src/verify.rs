//! `lanyard audit verify`: the whole log, checked end to end, and the store
//! reconciled against it.
//!
//! - Every stored event hashes to its stored leaf hash.
//! - The tree recomputed from the leaves has the root the stored nodes give,
//!   and the root of every stored checkpoint, whose signatures all verify.
//! - Reconciliation: each person's current rows must have the state digest
//!   that the last write event about them recorded. A row changed, deleted or
//!   inserted outside lanyard is named, with the kind of change.
//! - Every tagged row's tag verifies, and each tagged table is as the log's
//!   record of its writes last left it (`rowlog.rs`).
//!
//! Memory is bounded by the number of people (one digest each), not by the
//! number of events: the log is streamed a page at a time.

use std::collections::HashMap;

use lanyard_audit::checkpoint::NoteVerifier;
use lanyard_audit::merkle::{Frontier, Hash};
use lanyard_audit::{Event, leaf_hash, log};
use lanyard_core::{Compartment, PersonId};
use serde::Serialize;
use uuid::Uuid;

use lanyard_audit::{Ledger, RowCheck};
use lanyard_store::{AuditRow, Authenticated, SealedRow};

pub use crate::finding::Finding;
use crate::oldpurposes::SetDigest;
use crate::rowlog::{RowLog, TableVisitor, for_each_table};
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};
use crate::write::state_digest;

/// What `audit verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// People reconciled.
    pub people: u64,
    /// What was found wrong, up to [`MAX_FINDINGS`]; empty means the store
    /// and the log agree.
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], counted but not listed, so that a
    /// wholly rewritten log cannot exhaust memory.
    pub findings_omitted: u64,
}

/// The most findings listed one by one.
pub const MAX_FINDINGS: usize = 10_000;

/// Findings, listed up to a bound and counted beyond it.
#[derive(Default)]
struct Findings {
    listed: Vec<Finding>,
    omitted: u64,
}

impl Findings {
    fn push(&mut self, f: Finding) {
        if self.listed.len() < MAX_FINDINGS {
            self.listed.push(f);
        } else {
            self.omitted += 1;
        }
    }
}

const PAGE: i64 = 2000;

/// A set of compartments as bits, in `Compartment::ALL`'s order.
fn compartment_bits(compartments: &[Compartment]) -> u8 {
    compartments.iter().fold(0, |bits, c| bits | Compartment::ALL.iter().position(|a| a == c).map_or(0, |i| 1 << i))
}
const WRITE_ACTIONS: [&str; 3] = ["person.create", "person.update", "person.erase"];

/// One stored event in order: a gap before it is a missing event, bytes that
/// do not hash to its stored leaf hash an altered one. Returns its index and
/// the leaf hash to build the tree from (the stored one, where readable).
///
/// A redacted event (an old free-text purpose sealed into a note) hashes to
/// its leaf no more: its bytes stand if a redaction row with a valid tag
/// gives their digest.
fn leaf(row: &AuditRow, expected: &mut u64, redactions: &Redactions, findings: &mut Findings) -> (u64, Hash) {
    let index = u64::try_from(row.idx).unwrap_or(0);
    for gap in *expected..index {
        findings.push(Finding::EventMissing { index: gap });
    }
    *expected = index + 1;
    let stored: Option<Hash> = row.leaf_hash.as_slice().try_into().ok();
    let computed = leaf_hash(&row.event);
    if stored != Some(computed) && !redactions.stand_for(row) {
        findings.push(Finding::EventAltered { index });
    }
    (index, stored.unwrap_or(computed))
}

/// The redactions whose tags verify, by event index.
#[derive(Default)]
struct Redactions {
    digests: HashMap<i64, Vec<u8>>,
    set: SetDigest,
}

impl Redactions {
    /// Those from `from` on; a row whose tag fails is named and not used.
    async fn load(ledger: &Ledger, from: i64, findings: &mut Findings) -> Result<Self, RegisterError> {
        let mut out = Redactions::default();
        let rows = ledger.store().redactions(from).await?;
        TagCheck { ledger, findings }.visit(&rows)?;
        for r in rows {
            if ledger.inspect(&r)? == RowCheck::Valid {
                out.set.add(r.idx, &r.digest);
                out.digests.insert(r.idx, r.digest);
            }
        }
        Ok(out)
    }

    fn stand_for(&self, row: &AuditRow) -> bool {
        self.digests.get(&row.idx).is_some_and(|d| d.as_slice() == Sha256::digest(&row.event).as_slice())
    }
}

/// Names every row whose tag does not verify.
struct TagCheck<'a> {
    ledger: &'a Ledger,
    findings: &'a mut Findings,
}

impl TableVisitor for TagCheck<'_> {
    fn visit<R: Authenticated>(&mut self, rows: &[R]) -> Result<(), RegisterError> {
        for row in rows {
            let found = match self.ledger.inspect(row)? {
                RowCheck::Valid => continue,
                RowCheck::Untagged => "carries no tag",
                RowCheck::Mismatch => "does not match its tag",
            };
            self.findings.push(Finding::RowTagInvalid {
                table: R::TABLE.to_owned(),
                id: row.row_id(),
                found: found.to_owned(),
            });
        }
        Ok(())
    }
}

impl Register {
    /// Every tagged table's rows against their tags (nothing is recorded
    /// per row: the report is the record).
    async fn check_row_tags(&self, findings: &mut Findings) -> Result<(), RegisterError> {
        for_each_table(self.store(), &mut TagCheck { ledger: &self.ledger, findings }).await
    }

    /// What `lanyard serve` checks before it answers anyone: the latest
    /// signed checkpoint verifies and the stored tree gives its root; every
    /// event after it hashes to its stored leaf hash, with none missing;
    /// and every tagged row's tag verifies. Cheaper than [`Register::verify_log`]
    /// (the checkpointed part of the log is trusted through its signature),
    /// and enough that the server never signs a checkpoint over a log it has
    /// not checked. Empty means all is well.
    pub async fn start_check(&self, op: &Operator, now_ms: i64) -> Result<Vec<Finding>, RegisterError> {
        let mut findings = Findings::default();
        let size = log::size(self.store()).await?;
        let mut from = 0u64;
        if let Some((cp_size, _)) = self.store().latest_checkpoint().await? {
            let cp_size_u = u64::try_from(cp_size).unwrap_or(0);
            let key = self.verifier_key(op, now_ms).await?;
            let verifier =
                NoteVerifier::parse(&key).map_err(|e| RegisterError::new(ErrorKind::Proof(e.to_string())))?;
            let note = self.store().checkpoint_at(cp_size).await?.unwrap_or_default();
            match verifier.verify(&note) {
                Err(_) => findings.push(Finding::CheckpointBadSignature { size: cp_size_u }),
                Ok(cp) => {
                    let root = if cp.size <= size { log::root(self.store(), cp.size).await.ok() } else { None };
                    if cp.size != cp_size_u || root != Some(cp.root) {
                        findings.push(Finding::CheckpointRootMismatch { size: cp_size_u });
                    }
                }
            }
            from = cp_size_u.min(size);
        }
        let mut expected = from;
        let end = i64::try_from(size).unwrap_or(i64::MAX);
        let from_i = i64::try_from(from).unwrap_or(0);
        let redactions = Redactions::load(&self.ledger, from_i, &mut findings).await?;
        let mut pages = self.store().audit_pages(from_i, end, true);
        while let Some(page) = pages.next().await {
            for row in page? {
                leaf(&row, &mut expected, &redactions, &mut findings);
            }
        }
        for gap in expected..size {
            findings.push(Finding::EventMissing { index: gap });
        }
        self.check_row_tags(&mut findings).await?;
        Ok(findings.listed)
    }

    /// Records that the server was started over a store that failed its
    /// start-up check (`--allow-degraded`): the kinds found and how many.
    pub async fn record_degraded_start(
        &self,
        op: &Operator,
        findings: &[Finding],
        now_ms: i64,
    ) -> Result<(), RegisterError> {
        let mut kinds: Vec<String> = findings
            .iter()
            .filter_map(|f| serde_json::to_value(f).ok())
            .filter_map(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .collect();
        kinds.sort();
        kinds.dedup();
        let mut ev =
            lanyard_audit::Event::new(now_ms, op.actor.clone(), "server.degraded_start", lanyard_audit::Outcome::Error);
        ev.request_id = Some(op.request_id.clone());
        ev.detail = Some(serde_json::json!({ "findings": findings.len(), "kinds": kinds }));
        self.record(&[ev]).await?;
        Ok(())
    }

    /// Checks the whole log and reconciles the store against it.
    pub async fn verify_log(&self, op: &Operator, now_ms: i64) -> Result<VerifyReport, RegisterError> {
        let mut findings = Findings::default();
        // Enrolments per table, and which tables the register tagged at init.
        let mut enrolled: HashMap<String, u64> = HashMap::new();
        let (mut keyed_at_init, mut all_at_init) = (false, false);
        let checkpoints = self.store().checkpoints().await?;
        let mut checkpoint_at: HashMap<u64, String> = HashMap::new();
        for (size, note) in checkpoints {
            checkpoint_at.insert(u64::try_from(size).unwrap_or(0), note);
        }
        let key = self.verifier_key(op, now_ms).await?;
        let verifier = NoteVerifier::parse(&key).map_err(|e| RegisterError::new(ErrorKind::Proof(e.to_string())))?;

        // Stream the log: leaf hashes, the tree, and the last digest per person.
        let mut frontier = Frontier::default();
        let mut last_digest: HashMap<Uuid, Option<String>> = HashMap::new();
        let mut sealed_by_log: HashMap<Uuid, u8> = HashMap::new();
        let mut row_log = RowLog::default();
        let redactions = Redactions::load(&self.ledger, 0, &mut findings).await?;
        // What the purpose migration's event committed to: (count, digest).
        let mut redactions_logged: Option<(u64, String)> = None;
        let mut expected = 0u64;
        let end = i64::try_from(log::size(self.store()).await?).unwrap_or(i64::MAX);
        let mut pages = self.store().audit_pages(0, end, true);
        while let Some(page) = pages.next().await {
            for row in page? {
                let (index, stored) = leaf(&row, &mut expected, &redactions, &mut findings);
                frontier.push(stored);
                if let Some(note) = checkpoint_at.get(&frontier.size()) {
                    match verifier.verify(note) {
                        Err(_) => findings.push(Finding::CheckpointBadSignature { size: frontier.size() }),
                        Ok(cp) if cp.root != frontier.root() || cp.size != frontier.size() => {
                            findings.push(Finding::CheckpointRootMismatch { size: frontier.size() })
                        }
                        Ok(_) => {}
                    }
                }
                let event = Event::from_bytes(&row.event);
                if let Ok(e) = &event {
                    row_log.replay(e);
                }
                match event {
                    Ok(e) if e.action == "integrity.enrol" => {
                        let tables = e.detail.as_ref().and_then(|d| d["tagged"].as_object().cloned());
                        for table in tables.unwrap_or_default().keys() {
                            *enrolled.entry(table.clone()).or_default() += 1;
                        }
                    }
                    Ok(e) if e.action == crate::oldpurposes::ACTION => {
                        let d = e.detail.unwrap_or_default();
                        let count = d.get("count").and_then(serde_json::Value::as_u64).unwrap_or(u64::MAX);
                        let set = d.get("set").and_then(serde_json::Value::as_str).unwrap_or_default();
                        redactions_logged = Some((count, set.to_owned()));
                    }
                    Ok(e) if e.action == "register.init" => {
                        keyed_at_init = e.detail.as_ref().is_some_and(|d| d["row_key"] == true);
                        all_at_init = e.detail.as_ref().is_some_and(|d| d["row_tables"] == "all");
                    }
                    Ok(e) if WRITE_ACTIONS.contains(&e.action.as_str()) => {
                        // The compartments a person should have: what their
                        // creation and updates sealed; none once erased.
                        let written = compartment_bits(&e.compartments);
                        for p in e.people {
                            last_digest.insert(*p.as_uuid(), e.digest.clone());
                            let bits = sealed_by_log.entry(*p.as_uuid()).or_default();
                            *bits = match e.action.as_str() {
                                "person.create" => written,
                                "person.update" => *bits | written,
                                _ => 0,
                            };
                        }
                    }
                    Ok(_) => {}
                    Err(_) => findings.push(Finding::EventUnreadable { index }),
                }
            }
        }
        let events = frontier.size();
        if events > 0 && log::root(self.store(), events).await.ok() != Some(frontier.root()) {
            findings.push(Finding::TreeNodesAltered);
        }
        for size in checkpoint_at.keys() {
            if *size == 0 || *size > events {
                findings.push(Finding::CheckpointRootMismatch { size: *size });
            }
        }

        // Reconcile the people rows against the log.
        let names: Vec<&str> = Compartment::ALL.iter().map(|c| c.as_str()).collect();
        let mut after = None;
        let mut people = 0u64;
        loop {
            let page = self.store().people_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let ids: Vec<Uuid> = page.iter().map(|p| p.id).collect();
            let mut sealed: HashMap<Uuid, Vec<SealedRow>> = HashMap::new();
            for s in self.store().sealed(&ids, &names).await? {
                sealed.entry(s.person_id).or_default().push(s);
            }
            for row in &page {
                people += 1;
                let mine = sealed.remove(&row.id).unwrap_or_default();
                let present = mine.iter().fold(0u8, |bits, s| {
                    bits | Compartment::ALL.iter().position(|c| c.as_str() == s.compartment).map_or(0, |i| 1 << i)
                });
                let want = sealed_by_log.remove(&row.id).unwrap_or_default();
                for (i, c) in Compartment::ALL.iter().enumerate() {
                    if want & (1 << i) != 0 && present & (1 << i) == 0 {
                        findings
                            .push(Finding::CompartmentMissing { person: PersonId::from_uuid(row.id), compartment: *c });
                    }
                }
                let digest: String = state_digest(row, &mine).iter().map(|b| format!("{b:02x}")).collect();
                match last_digest.remove(&row.id) {
                    None => findings.push(Finding::RowInserted { person: PersonId::from_uuid(row.id) }),
                    Some(expected) if expected.as_deref() != Some(digest.as_str()) => {
                        findings.push(Finding::RowChanged { person: PersonId::from_uuid(row.id) })
                    }
                    Some(_) => {}
                }
            }
        }
        let mut deleted: Vec<Uuid> = last_digest.into_keys().collect();
        deleted.sort();
        for id in deleted {
            findings.push(Finding::RowDeleted { person: PersonId::from_uuid(id) });
        }
        // A table is tagged as it stands once: at init, or at the upgrade
        // that brought its tags. Another enrolment is someone having rows
        // tagged anew (the key deleted, or the marker that says a table is
        // tagged): it would bless whatever they had changed.
        let later = |t: &str| crate::keys::LATER_TABLES.contains(&t);
        let allowed = |t: &str| u64::from(!(all_at_init || (keyed_at_init && !later(t))));
        let enrolments = enrolled.iter().filter(|(t, n)| **n > allowed(t)).map(|(_, n)| *n).max().unwrap_or_default();
        if enrolments > 0 {
            findings.push(Finding::RowKeyEnrolledAgain { enrolments });
        }
        let (count, set) = redactions.set.finish();
        let unlogged = redactions_logged.is_none() && count > 0;
        if unlogged || redactions_logged.is_some_and(|logged| logged != (count, set)) {
            findings.push(Finding::RedactionsNotAsLogged);
        }
        self.check_row_tags(&mut findings).await?;
        for f in row_log.reconcile(&self.ledger).await? {
            findings.push(f);
        }
        Ok(VerifyReport {
            events,
            checkpoints: checkpoint_at.len() as u64,
            people,
            findings: findings.listed,
            findings_omitted: findings.omitted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_listed_up_to_the_bound_and_counted_beyond_it() {
        let mut f = Findings::default();
        for index in 0..MAX_FINDINGS as u64 + 5 {
            f.push(Finding::EventAltered { index });
        }
        assert_eq!(f.listed.len(), MAX_FINDINGS);
        assert_eq!(f.omitted, 5);
        assert_eq!(f.listed.last(), Some(&Finding::EventAltered { index: MAX_FINDINGS as u64 - 1 }));
    }
}
