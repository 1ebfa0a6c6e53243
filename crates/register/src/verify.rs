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

use std::collections::{HashMap, HashSet};

use lanyard_audit::checkpoint::NoteVerifier;
use lanyard_audit::merkle::Hash;
use lanyard_audit::{Event, leaf_hash, log};
use lanyard_core::{Compartment, PersonId};
use serde::Serialize;
use uuid::Uuid;

use lanyard_audit::{Ledger, RowCheck};
use lanyard_store::{AuditRow, Authenticated};

pub use crate::finding::Finding;
use crate::oldpurposes::SetDigest;
use crate::replay::Replay;
use crate::rowlog::{TableVisitor, for_each_table};
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};
use crate::write::state_digest;

/// What `audit verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// Events in the log.
    pub events: u64,
    /// Events read by this pass: all of them, or for a watch pass that
    /// resumed, those since the last.
    pub events_read: u64,
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

/// The people and tagged rows that events `[from, to)` wrote.
#[derive(Default)]
struct Written {
    people: HashSet<Uuid>,
    rows: HashSet<(String, String)>,
}

impl Written {
    async fn read(store: &lanyard_store::Store, from: u64, to: u64) -> Result<Self, RegisterError> {
        let mut out = Written::default();
        let (from, to) = (i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(to).unwrap_or(i64::MAX));
        let mut pages = store.audit_pages(from, to, false);
        while let Some(page) = pages.next().await {
            for row in page? {
                let Ok(e) = Event::from_bytes(&row.event) else { continue };
                if crate::replay::WRITE_ACTIONS.contains(&e.action.as_str()) {
                    out.people.extend(e.people.iter().map(|p| *p.as_uuid()));
                }
                out.rows.extend(e.rows.into_iter().map(|w| (w.table, w.id)));
            }
        }
        Ok(out)
    }

    /// Whether `f` is about something these events wrote.
    fn covers(&self, f: &Finding) -> bool {
        match f {
            Finding::RowChanged { person }
            | Finding::RowInserted { person }
            | Finding::RowDeleted { person }
            | Finding::CompartmentMissing { person, .. } => self.people.contains(person.as_uuid()),
            // A session is named by its stamp id and then its row id.
            Finding::RowNotAsLogged { table, id, .. } => {
                let stamp = id.split(' ').next().unwrap_or_default();
                self.rows.contains(&(table.clone(), stamp.to_owned()))
            }
            _ => false,
        }
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
        Ok(self.verify_pass(op, None, now_ms).await?.0)
    }

    /// [`Register::verify_log`] for the watch: from `saved` (what the last
    /// pass returned) it reads only the events since, where the saved
    /// replay still holds and is younger than `full_every_ms`; otherwise
    /// the whole log. Returns the report and the replay to keep for the
    /// next pass, sealed.
    pub async fn verify_since(
        &self,
        op: &Operator,
        saved: Option<Vec<u8>>,
        full_every_ms: i64,
        now_ms: i64,
    ) -> Result<(VerifyReport, Vec<u8>), RegisterError> {
        let mut findings = Vec::new();
        // The bytes are dropped once opened: a replay of a million people
        // is tens of megabytes, and the pass needs only the map.
        let replay = match saved.map(|b| Replay::open(&self.ledger, &b)).transpose()? {
            Some(None) => {
                findings.push(Finding::WatchStateRejected);
                None
            }
            Some(Some(r)) if now_ms.saturating_sub(r.full_at_ms) < full_every_ms => Some(r),
            _ => None,
        };
        let (mut report, replay) = self.verify_pass(op, replay, now_ms).await?;
        findings.append(&mut report.findings);
        report.findings = findings;
        Ok((report, replay.seal(&self.ledger)?))
    }

    /// A saved replay, if the store still agrees with it; `None` means the
    /// pass reads the whole log. A log shorter than the replay is a finding.
    async fn resume(
        &self,
        replay: Replay,
        checkpoints: &[(i64, String)],
        findings: &mut Findings,
    ) -> Result<Option<Replay>, RegisterError> {
        let size = log::size(self.store()).await?;
        let watched = replay.frontier.size();
        if watched > size {
            findings.push(Finding::LogShorterThanWatched { watched, size });
            return Ok(None);
        }
        let root = if watched == 0 { None } else { log::root(self.store(), watched).await.ok() };
        let holds = (watched == 0 || root == Some(replay.frontier.root()))
            && Replay::checkpoints_digest(checkpoints, watched) == replay.checkpoints_below;
        Ok(holds.then_some(replay))
    }

    async fn verify_pass(
        &self,
        op: &Operator,
        saved: Option<Replay>,
        now_ms: i64,
    ) -> Result<(VerifyReport, Replay), RegisterError> {
        let mut findings = Findings::default();
        let checkpoints = self.store().checkpoints().await?;
        let mut replay = match saved {
            Some(r) => self.resume(r, &checkpoints, &mut findings).await?,
            None => None,
        }
        .unwrap_or_else(|| Replay { full_at_ms: now_ms, ..Replay::default() });
        let from = replay.frontier.size();
        let mut checkpoint_at: HashMap<u64, &str> = HashMap::new();
        for (size, note) in &checkpoints {
            checkpoint_at.insert(u64::try_from(*size).unwrap_or(0), note);
        }
        let key = self.verifier_key(op, now_ms).await?;
        let verifier = NoteVerifier::parse(&key).map_err(|e| RegisterError::new(ErrorKind::Proof(e.to_string())))?;

        // Stream the log: leaf hashes, the tree, and what each write says.
        let redactions = Redactions::load(&self.ledger, 0, &mut findings).await?;
        let mut expected = from;
        let end = i64::try_from(log::size(self.store()).await?).unwrap_or(i64::MAX);
        let mut pages = self.store().audit_pages(i64::try_from(from).unwrap_or(i64::MAX), end, true);
        while let Some(page) = pages.next().await {
            for row in page? {
                let (index, stored) = leaf(&row, &mut expected, &redactions, &mut findings);
                replay.frontier.push(stored);
                let size = replay.frontier.size();
                if let Some(note) = checkpoint_at.get(&size) {
                    match verifier.verify(note) {
                        Err(_) => findings.push(Finding::CheckpointBadSignature { size }),
                        Ok(cp) if cp.root != replay.frontier.root() || cp.size != size => {
                            findings.push(Finding::CheckpointRootMismatch { size })
                        }
                        Ok(_) => {}
                    }
                }
                match Event::from_bytes(&row.event) {
                    Ok(e) => replay.event(&e),
                    Err(_) => findings.push(Finding::EventUnreadable { index }),
                }
            }
        }
        let events = replay.frontier.size();
        if events > 0 && log::root(self.store(), events).await.ok() != Some(replay.frontier.root()) {
            findings.push(Finding::TreeNodesAltered);
        }
        for size in checkpoint_at.keys() {
            if *size == 0 || *size > events {
                findings.push(Finding::CheckpointRootMismatch { size: *size });
            }
        }
        replay.checkpoints_below = Replay::checkpoints_digest(&checkpoints, events);

        let people = self.reconcile_people(&mut replay, &mut findings).await?;
        // A table is tagged as it stands once: at init, or at the upgrade
        // that brought its tags. Another enrolment is someone having rows
        // tagged anew (the key deleted, or the marker that says a table is
        // tagged): it would bless whatever they had changed.
        let later = |t: &str| crate::keys::LATER_TABLES.contains(&t);
        let allowed = |t: &str| u64::from(!(replay.all_at_init || (replay.keyed_at_init && !later(t))));
        let enrolments =
            replay.enrolled.iter().filter(|(t, n)| **n > allowed(t)).map(|(_, n)| *n).max().unwrap_or_default();
        if enrolments > 0 {
            findings.push(Finding::RowKeyEnrolledAgain { enrolments });
        }
        let (count, set) = redactions.set.finish();
        let unlogged = replay.redactions_logged.is_none() && count > 0;
        if unlogged || replay.redactions_logged.as_ref().is_some_and(|logged| *logged != (count, set)) {
            findings.push(Finding::RedactionsNotAsLogged);
        }
        self.check_row_tags(&mut findings).await?;
        for f in replay.row_log.reconcile(&self.ledger).await? {
            findings.push(f);
        }
        // Writes that landed while this pass read the store made rows newer
        // than the replay knows: what was found about those rows is not yet
        // known, and is left to the next pass, which reads their events.
        let now_size = log::size(self.store()).await?;
        if now_size > events && !findings.listed.is_empty() {
            let written = Written::read(self.store(), events, now_size).await?;
            findings.listed.retain(|f| !written.covers(f));
        }
        let report = VerifyReport {
            events,
            events_read: events - from,
            checkpoints: checkpoints.len() as u64,
            people,
            findings: findings.listed,
            findings_omitted: findings.omitted,
        };
        Ok((report, replay))
    }

    /// Each person's rows against what the log last wrote of them: their
    /// state digest and the compartments they should have. Returns the
    /// people read.
    async fn reconcile_people(&self, replay: &mut Replay, findings: &mut Findings) -> Result<u64, RegisterError> {
        for logged in replay.people.values_mut() {
            logged.seen = false;
        }
        let mut people = 0u64;
        let mut pages = self.store().people_pages();
        while let Some(page) = pages.next().await {
            for (row, mine) in page? {
                people += 1;
                let person = PersonId::from_uuid(row.id);
                let Some(logged) = replay.people.get_mut(&row.id) else {
                    findings.push(Finding::RowInserted { person });
                    continue;
                };
                logged.seen = true;
                let present = mine.iter().fold(0u8, |bits, s| {
                    bits | Compartment::ALL.iter().position(|c| c.as_str() == s.compartment).map_or(0, |i| 1 << i)
                });
                for (i, c) in Compartment::ALL.iter().enumerate() {
                    if logged.bits & (1 << i) != 0 && present & (1 << i) == 0 {
                        findings.push(Finding::CompartmentMissing { person, compartment: *c });
                    }
                }
                if logged.digest != Some(state_digest(&row, &mine)) {
                    findings.push(Finding::RowChanged { person });
                }
            }
        }
        let mut deleted: Vec<Uuid> = replay.people.iter().filter(|(_, l)| !l.seen).map(|(id, _)| *id).collect();
        deleted.sort();
        for id in deleted {
            findings.push(Finding::RowDeleted { person: PersonId::from_uuid(id) });
        }
        Ok(people)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_about_what_a_later_write_wrote_is_left_to_the_next_pass() {
        let (written_person, other) = (PersonId::new(), PersonId::new());
        let written = Written {
            people: HashSet::from([*written_person.as_uuid()]),
            rows: HashSet::from([("sessions".to_owned(), "ab12".to_owned()), ("cards".to_owned(), "C-1".to_owned())]),
        };
        let row = |table: &str, id: &str| Finding::RowNotAsLogged {
            table: table.to_owned(),
            id: id.to_owned(),
            found: "written by no logged event".to_owned(),
        };
        assert!(written.covers(&Finding::RowChanged { person: written_person }));
        assert!(
            written.covers(&Finding::CompartmentMissing { person: written_person, compartment: Compartment::Photo })
        );
        assert!(!written.covers(&Finding::RowChanged { person: other }));
        assert!(written.covers(&row("sessions", "ab12 (5f0c)")));
        assert!(written.covers(&row("cards", "C-1")));
        assert!(!written.covers(&row("cards", "C-2")));
        assert!(!written.covers(&row("permits", "C-1")));
        assert!(!written.covers(&Finding::RowTagInvalid {
            table: "cards".into(),
            id: "C-1".into(),
            found: "does not match its tag".into()
        }));
        assert!(!written.covers(&Finding::TreeNodesAltered));
    }

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
