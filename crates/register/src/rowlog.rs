//! The tagged tables against the log's record of their writes.
//!
//! A row's tag shows lanyard wrote it, not that it is the row lanyard wrote
//! last: a revoked token's row from before the revocation, put back, still
//! carries a valid tag. So every write's audit event records each tagged
//! row it wrote (with the first half of its tag) or removed, and
//! `audit verify` replays those records and compares each table with the
//! last of them. Sessions change without an event (their last-seen time,
//! their expiry on sight), so they are held only to their endings: a
//! session the log ended, or never began, must not exist.
//!
//! A store tagged before rows were recorded gets one `integrity.baseline`
//! event at open that records every row as it stands; a second one is a
//! finding, as a second enrolment is.

use std::collections::{BTreeMap, HashMap, HashSet};

use lanyard_audit::{Event, Ledger, Outcome, RowCheck, RowWrite};
use lanyard_store::{Authenticated, RowStamp, Store};
use serde::{Deserialize, Serialize};

use crate::error::RegisterError;
use crate::finding::Finding;

/// Does something with each tagged table's rows in turn.
pub(crate) trait TableVisitor {
    fn visit<R: Authenticated>(&mut self, rows: &[R]) -> Result<(), RegisterError>;
}

/// Every tagged table, read whole, given to `v` one table at a time.
pub(crate) async fn for_each_table(store: &Store, v: &mut impl TableVisitor) -> Result<(), RegisterError> {
    v.visit(&store.users().await?)?;
    v.visit(&store.sessions().await?)?;
    v.visit(&store.service_tokens().await?)?;
    v.visit(&store.suppliers().await?)?;
    v.visit(&store.cards_by_status_idx().await?)?;
    v.visit(&store.zones().await?)?;
    v.visit(&store.permits(None, None).await?)?;
    v.visit(&store.batches(None, None).await?)?;
    v.visit(&store.wrapped_keys().await?)?;
    v.visit(&store.canaries().await?)?;
    Ok(())
}

const SESSIONS: &str = "sessions";
/// Meta value: this store's writes of tagged rows are in the log.
pub(crate) const ROW_WRITES_META: &str = "row_writes";
/// The detail flag of an init or enrolment that recorded every row.
pub(crate) const ROW_WRITES_FLAG: &str = "row_writes";

/// Records every row whose tag verifies, as it stands.
struct Baseline<'a> {
    ledger: &'a Ledger,
    rows: Vec<RowWrite>,
}

impl TableVisitor for Baseline<'_> {
    fn visit<R: Authenticated>(&mut self, rows: &[R]) -> Result<(), RegisterError> {
        for row in rows {
            // A row that fails its tag is left to `audit verify` to name;
            // recording it would bless it.
            if self.ledger.inspect(row)? == RowCheck::Valid {
                self.rows.push(RowWrite::from(&RowStamp::written(row)));
            }
        }
        Ok(())
    }
}

/// Gives a store whose rows were tagged before their writes were logged a
/// record of every row as it stands, once (`integrity.baseline`).
pub(crate) async fn record_baseline(ledger: &Ledger, now_ms: i64) -> Result<(), RegisterError> {
    if ledger.store().meta(ROW_WRITES_META).await?.is_some() {
        return Ok(());
    }
    let mut baseline = Baseline { ledger, rows: Vec::new() };
    for_each_table(ledger.store(), &mut baseline).await?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &baseline.rows {
        *counts.entry(r.table.as_str()).or_default() += 1;
    }
    let mut event = Event::new(now_ms, lanyard_audit::Actor::system(), "integrity.baseline", Outcome::Ok);
    event.detail = Some(serde_json::json!({ "recorded": counts }));
    event.rows = baseline.rows;
    let mut tx = ledger.begin().await?;
    tx.tx().set_meta(ROW_WRITES_META, "1").await?;
    tx.append(&[event]).await?;
    tx.commit().await?;
    Ok(())
}

/// The log's record of row writes, replayed event by event.
#[derive(Default)]
pub(crate) struct RowLog {
    /// The last write of each row: its tag text, or `None` if removed.
    last: HashMap<(String, String), Option<String>>,
    /// `integrity.baseline` events seen.
    baselines: u64,
    /// Whether the register recorded row writes from its start (or from an
    /// enrolment that recorded every row), so that no baseline is due.
    from_start: bool,
}

/// A [`RowLog`] as the watch keeps it between passes.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedRowLog {
    last: Vec<(String, String, Option<String>)>,
    baselines: u64,
    from_start: bool,
}

impl RowLog {
    pub(crate) fn save(&self) -> SavedRowLog {
        SavedRowLog {
            last: self.last.iter().map(|((t, id), tag)| (t.clone(), id.clone(), tag.clone())).collect(),
            baselines: self.baselines,
            from_start: self.from_start,
        }
    }

    pub(crate) fn restore(saved: SavedRowLog) -> Self {
        RowLog {
            last: saved.last.into_iter().map(|(t, id, tag)| ((t, id), tag)).collect(),
            baselines: saved.baselines,
            from_start: saved.from_start,
        }
    }

    /// Takes in one event.
    pub(crate) fn replay(&mut self, event: &Event) {
        if event.action == "integrity.baseline" {
            self.baselines += 1;
        }
        if matches!(event.action.as_str(), "register.init" | "integrity.enrol")
            && event.detail.as_ref().is_some_and(|d| d[ROW_WRITES_FLAG] == true)
        {
            self.from_start = true;
        }
        for w in &event.rows {
            self.last.insert((w.table.clone(), w.id.clone()), w.tag.clone());
        }
    }

    /// One baseline is due for a store from before row writes were logged,
    /// none for one that logged them from its start; more is a finding.
    fn baseline_finding(&self) -> Option<Finding> {
        let allowed = u64::from(!self.from_start);
        (self.baselines > allowed).then_some(Finding::RowBaselineAgain { baselines: self.baselines })
    }

    /// Compares the store with the record: each finding names the table,
    /// the row and what differs. Rows whose tags fail are skipped (they are
    /// named as such already).
    pub(crate) async fn reconcile(&self, ledger: &Ledger) -> Result<Vec<Finding>, RegisterError> {
        let mut findings: Vec<Finding> = self.baseline_finding().into_iter().collect();
        let mut check = Reconcile { ledger, last: &self.last, seen: HashSet::new(), found: Vec::new() };
        for_each_table(ledger.store(), &mut check).await?;
        let seen = check.seen;
        let mut gone: Vec<(String, String)> = self
            .last
            .iter()
            .filter(|(key, tag)| tag.is_some() && key.0 != SESSIONS && !seen.contains(key))
            .map(|(key, _)| key.clone())
            .collect();
        gone.sort();
        findings.extend(check.found);
        for (table, id) in gone {
            findings.push(Finding::RowNotAsLogged {
                table,
                id,
                found: "deleted (the log's last write kept it)".into(),
            });
        }
        Ok(findings)
    }
}

struct Reconcile<'a> {
    ledger: &'a Ledger,
    last: &'a HashMap<(String, String), Option<String>>,
    /// The rows of `last` met in the store.
    seen: HashSet<&'a (String, String)>,
    found: Vec<Finding>,
}

impl TableVisitor for Reconcile<'_> {
    fn visit<R: Authenticated>(&mut self, rows: &[R]) -> Result<(), RegisterError> {
        for row in rows {
            if self.ledger.inspect(row)? != RowCheck::Valid {
                continue;
            }
            let id = row.stamp_id();
            let tag = row.tag().map(RowWrite::tag_text);
            let last = self.last.get_key_value(&(R::TABLE.to_owned(), id.clone()));
            if let Some((key, _)) = last {
                self.seen.insert(key);
            }
            let found = match last.map(|(_, tag)| tag) {
                None => "written by no logged event",
                Some(None) => "put back after the log recorded its removal",
                Some(Some(_)) if R::TABLE == SESSIONS => continue,
                Some(Some(logged)) if Some(logged) == tag.as_ref() => continue,
                Some(Some(_)) => "not the version the log last wrote (an earlier one put back)",
            };
            let id = if R::TABLE == SESSIONS { format!("{id} ({})", row.row_id()) } else { id };
            self.found.push(Finding::RowNotAsLogged { table: R::TABLE.to_owned(), id, found: found.to_owned() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lanyard_audit::Actor;

    use super::*;

    fn event(action: &str, detail: serde_json::Value) -> Event {
        let mut e = Event::new(1, Actor::system(), action, Outcome::Ok);
        e.detail = Some(detail);
        e
    }

    #[test]
    fn one_baseline_is_due_only_where_writes_were_not_logged_from_the_start() {
        let old_init = event("register.init", serde_json::json!({ "row_key": true }));
        let new_init = event("register.init", serde_json::json!({ "row_key": true, "row_writes": true }));
        let baseline = event("integrity.baseline", serde_json::json!({}));
        let replay = |events: &[&Event]| {
            let mut log = RowLog::default();
            events.iter().for_each(|e| log.replay(e));
            log.baseline_finding()
        };
        assert_eq!(replay(&[&old_init, &baseline]), None, "an upgraded store: its one baseline");
        assert_eq!(replay(&[&old_init, &baseline, &baseline]), Some(Finding::RowBaselineAgain { baselines: 2 }));
        assert_eq!(replay(&[&new_init]), None);
        assert_eq!(replay(&[&new_init, &baseline]), Some(Finding::RowBaselineAgain { baselines: 1 }));
        let enrol = event("integrity.enrol", serde_json::json!({ "tagged": {}, "row_writes": true }));
        assert_eq!(replay(&[&old_init, &enrol, &baseline]), Some(Finding::RowBaselineAgain { baselines: 1 }));
    }

    #[test]
    fn the_last_write_of_a_row_is_the_one_kept() {
        let mut log = RowLog::default();
        let write = |tag: Option<&str>| {
            let mut e = Event::new(1, Actor::system(), "card.transition", Outcome::Ok);
            e.rows = vec![RowWrite { id: "c1".into(), table: "cards".into(), tag: tag.map(str::to_owned) }];
            e
        };
        log.replay(&write(Some("aa")));
        log.replay(&write(Some("bb")));
        assert_eq!(log.last.get(&("cards".to_owned(), "c1".to_owned())), Some(&Some("bb".to_owned())));
        log.replay(&write(None));
        assert_eq!(log.last.get(&("cards".to_owned(), "c1".to_owned())), Some(&None));
    }
}
