//! Breach scoping from the log alone: given an actor, a time window and/or a
//! compartment, which people's data was revealed, which compartments and
//! fields, when first and last, and how many, with the signed checkpoint that
//! makes the answer provably complete up to its tree size.

use std::collections::{BTreeMap, BTreeSet};

use lanyard_audit::{Event, Outcome};
use lanyard_core::{Compartment, Field, PersonId};
use serde::Serialize;

use crate::error::RegisterError;
use crate::register::{Operator, Register};

/// Actions that reveal personal data to their actor.
pub const REVEALING_ACTIONS: [&str; 3] = ["person.read", "person.find", "person.export"];

/// What to scope. Every part is optional; all given parts must match.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScopeQuery {
    /// An actor id (`operator:alice`, `os:root`, `token:…`), or its bare name.
    pub actor: Option<String>,
    /// Unix milliseconds, inclusive.
    pub from_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub to_ms: Option<i64>,
    /// Only revelations of this compartment.
    pub compartment: Option<Compartment>,
}

/// One person's exposure.
#[derive(Clone, Debug, Serialize)]
pub struct Exposure {
    /// Who.
    pub person: PersonId,
    /// Compartments revealed.
    pub compartments: BTreeSet<Compartment>,
    /// Fields revealed.
    pub fields: BTreeSet<Field>,
    /// First revelation, unix milliseconds.
    pub first_ms: i64,
    /// Last revelation, unix milliseconds.
    pub last_ms: i64,
    /// How many audited reads revealed them.
    pub reads: u64,
}

/// The answer.
#[derive(Clone, Debug, Serialize)]
pub struct ScopeReport {
    /// What was asked.
    pub query: ScopeQuery,
    /// Events in the log when scoped; the answer covers all of them.
    pub tree_size: u64,
    /// The signed checkpoint of that size.
    pub checkpoint: String,
    /// Matching revealing events.
    pub events_matched: u64,
    /// Actors among them.
    pub actors: BTreeSet<String>,
    /// People revealed, by id.
    pub people: Vec<Exposure>,
    /// Distinct people revealed, per compartment.
    pub people_per_compartment: BTreeMap<Compartment, u64>,
}

fn actor_matches(wanted: &str, id: &str) -> bool {
    id == wanted || id.split_once(':').is_some_and(|(_, name)| name == wanted)
}

impl Register {
    /// Scopes a breach from the log, streaming it a page at a time.
    pub async fn breach_scope(
        &self,
        op: &Operator,
        query: ScopeQuery,
        now_ms: i64,
    ) -> Result<ScopeReport, RegisterError> {
        let cp = self.checkpoint(op, None, now_ms).await?;
        let mut people: BTreeMap<PersonId, Exposure> = BTreeMap::new();
        let mut actors = BTreeSet::new();
        let mut matched = 0u64;
        let mut from = 0i64;
        let end = i64::try_from(cp.tree_size).unwrap_or(i64::MAX);
        while from < end {
            let rows = self.store().audit_rows(from, 2000.min(end - from)).await?;
            let Some(last) = rows.last() else { break };
            from = last.idx + 1;
            for row in rows {
                let Ok(e) = Event::from_bytes(&row.event) else { continue };
                if !REVEALING_ACTIONS.contains(&e.action.as_str()) || e.outcome != Outcome::Ok {
                    continue;
                }
                if query.actor.as_deref().is_some_and(|a| !actor_matches(a, &e.actor.id))
                    || query.from_ms.is_some_and(|t| e.time_ms < t)
                    || query.to_ms.is_some_and(|t| e.time_ms >= t)
                    || query.compartment.is_some_and(|c| !e.compartments.contains(&c))
                {
                    continue;
                }
                matched += 1;
                actors.insert(e.actor.id.clone());
                let compartments: Vec<Compartment> = match query.compartment {
                    Some(c) => vec![c],
                    None => e.compartments.clone(),
                };
                let fields: Vec<Field> =
                    e.fields.iter().copied().filter(|f| compartments.contains(&f.compartment())).collect();
                for person in &e.people {
                    let x = people.entry(*person).or_insert_with(|| Exposure {
                        person: *person,
                        compartments: BTreeSet::new(),
                        fields: BTreeSet::new(),
                        first_ms: e.time_ms,
                        last_ms: e.time_ms,
                        reads: 0,
                    });
                    x.compartments.extend(compartments.iter().copied());
                    x.fields.extend(fields.iter().copied());
                    x.first_ms = x.first_ms.min(e.time_ms);
                    x.last_ms = x.last_ms.max(e.time_ms);
                    x.reads += 1;
                }
            }
        }
        let mut per_compartment = BTreeMap::new();
        for x in people.values() {
            for c in &x.compartments {
                *per_compartment.entry(*c).or_insert(0u64) += 1;
            }
        }
        let mut event = Event::new(now_ms, op.actor.clone(), "breach.scope", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({
            "query": &query,
            "tree_size": cp.tree_size,
            "people": people.len(),
        }));
        self.record(&[event]).await?;
        Ok(ScopeReport {
            query,
            tree_size: cp.tree_size,
            checkpoint: cp.checkpoint,
            events_matched: matched,
            actors,
            people: people.into_values().collect(),
            people_per_compartment: per_compartment,
        })
    }
}
