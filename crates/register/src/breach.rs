//! Breach scoping from the log alone: given an actor, a time window and/or a
//! compartment, which people's data was revealed, which compartments and
//! fields, when first and last, and how many, with the signed checkpoint that
//! makes the answer provably complete up to its tree size.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use lanyard_audit::{Event, Outcome};
use lanyard_core::{Compartment, Field, PersonId};
use memchr::memmem;
use serde::{Deserialize, Serialize};

use lanyard_store::{AuditPages, AuditRow};

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};

/// Actions that reveal personal data to their actor. A print batch's
/// download or out-of-band export reveals what is printed on its cards to
/// the supplier (issue 6 emits those events, naming the people).
pub const REVEALING_ACTIONS: [&str; 5] =
    ["person.read", "person.find", "person.export", "batch.download", "batch.export"];

/// What to scope. Every part is optional; all given parts must match.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// For a query by actor: events of any kind, revealing or not, by that
    /// actor in the whole log. Zero means the name was never an actor here
    /// (a typing mistake, say), not that they revealed nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_events: Option<u64>,
}

/// `wanted` is a whole actor id (`operator:alice`), a bare name (`alice`),
/// or a prefix ending at a `:` (`supplier:acme` or `acme` covers every token
/// `supplier:acme:…` the supplier held; `supplier` covers every supplier).
fn actor_matches(wanted: &str, id: &str) -> bool {
    let covers = |id: &str| id == wanted || id.strip_prefix(wanted).is_some_and(|rest| rest.starts_with(':'));
    covers(id) || id.split_once(':').is_some_and(|(_, name)| covers(name))
}

/// One person's exposure while scanning: sets as bit masks, which keeps the
/// per-event work to a few instructions.
struct Tally {
    compartments: u8,
    fields: u16,
    first_ms: i64,
    last_ms: i64,
    reads: u64,
}

fn compartment_bit(c: Compartment) -> u8 {
    Compartment::ALL.iter().position(|x| *x == c).map_or(0, |i| 1 << i)
}

fn field_bit(f: Field) -> u16 {
    Field::ALL.iter().position(|x| *x == f).map_or(0, |i| 1 << i)
}

impl Tally {
    fn exposure(self, person: PersonId) -> Exposure {
        Exposure {
            person,
            compartments: Compartment::ALL
                .iter()
                .copied()
                .filter(|c| self.compartments & compartment_bit(*c) != 0)
                .collect(),
            fields: Field::ALL.iter().copied().filter(|f| self.fields & field_bit(*f) != 0).collect(),
            first_ms: self.first_ms,
            last_ms: self.last_ms,
            reads: self.reads,
        }
    }
}

// Both sets must fit their masks.
const _: () = assert!(Compartment::ALL.len() <= 8 && Field::ALL.len() <= 16);

/// The parts of an event scoping reads, borrowed from its bytes: parsing
/// only these, without copying, is most of what makes a scan of millions of
/// events fast.
#[derive(Deserialize)]
struct ActorView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct AccessView<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    actor: ActorView<'a>,
    time_ms: i64,
    outcome: Outcome,
    #[serde(default)]
    people: Vec<PersonId>,
    #[serde(default)]
    compartments: Vec<Compartment>,
    #[serde(default)]
    fields: Vec<Field>,
}

/// Cheap byte tests that pass every event that could match, so that most
/// others are never parsed. They look for the JSON text the event must
/// contain: a revealing action, and the actor's name as JSON writes it.
struct Prefilter {
    actions: Vec<memmem::Finder<'static>>,
    actor: Option<memmem::Finder<'static>>,
}

impl Prefilter {
    fn new(query: &ScopeQuery) -> Self {
        let actions =
            REVEALING_ACTIONS.iter().map(|a| memmem::Finder::new(format!("\"{a}\"").as_bytes()).into_owned()).collect();
        // The name as it appears inside a JSON string (escaped, no quotes).
        let actor = query.actor.as_deref().and_then(|a| {
            let quoted = serde_json::to_string(a).ok()?;
            let inner = quoted.strip_prefix('"')?.strip_suffix('"')?.to_owned();
            Some(memmem::Finder::new(inner.as_bytes()).into_owned())
        });
        Prefilter { actions, actor }
    }

    #[cfg(test)]
    fn may_match(&self, bytes: &[u8]) -> bool {
        self.may_be_by_actor(bytes) && self.may_reveal(bytes)
    }

    fn may_reveal(&self, bytes: &[u8]) -> bool {
        self.actions.iter().any(|f| f.find(bytes).is_some())
    }

    fn may_be_by_actor(&self, bytes: &[u8]) -> bool {
        self.actor.as_ref().is_none_or(|f| f.find(bytes).is_some())
    }
}

/// Only the actor of an event.
#[derive(Deserialize)]
struct ByView<'a> {
    #[serde(borrow)]
    actor: ActorView<'a>,
}

/// A revealing event that matches the query, reduced to what the tally
/// needs.
struct Access<'a> {
    actor: Cow<'a, str>,
    time_ms: i64,
    compartments: u8,
    fields: u16,
    people: Vec<PersonId>,
}

/// The matching revealing events of `rows`, and how many events of any
/// kind the query's actor made among them.
fn matching<'a>(rows: &'a [AuditRow], query: &ScopeQuery, prefilter: &Prefilter) -> (Vec<Access<'a>>, u64) {
    let mut out = Vec::new();
    let mut by_actor = 0u64;
    for row in rows {
        if !prefilter.may_be_by_actor(&row.event) {
            continue;
        }
        let by = |id: &str| query.actor.as_deref().is_some_and(|wanted| actor_matches(wanted, id));
        if !prefilter.may_reveal(&row.event) {
            // Counted for "never appears", and parsed no further.
            if query.actor.is_some() && serde_json::from_slice::<ByView<'_>>(&row.event).is_ok_and(|v| by(&v.actor.id))
            {
                by_actor += 1;
            }
            continue;
        }
        // One parse serves both the count and the match.
        let Ok(e) = serde_json::from_slice::<AccessView<'_>>(&row.event) else { continue };
        if by(&e.actor.id) {
            by_actor += 1;
        }
        if !REVEALING_ACTIONS.contains(&e.action.as_ref()) || e.outcome != Outcome::Ok {
            continue;
        }
        if query.actor.as_deref().is_some_and(|a| !actor_matches(a, &e.actor.id))
            || query.from_ms.is_some_and(|t| e.time_ms < t)
            || query.to_ms.is_some_and(|t| e.time_ms >= t)
            || query.compartment.is_some_and(|c| !e.compartments.contains(&c))
        {
            continue;
        }
        let compartments = match query.compartment {
            Some(c) => compartment_bit(c),
            None => e.compartments.iter().fold(0, |m, c| m | compartment_bit(*c)),
        };
        let fields = e
            .fields
            .iter()
            .filter(|f| compartments & compartment_bit(f.compartment()) != 0)
            .fold(0, |m, f| m | field_bit(*f));
        out.push(Access { actor: e.actor.id, time_ms: e.time_ms, compartments, fields, people: e.people });
    }
    (out, by_actor)
}

/// What one scanning thread found.
#[derive(Default)]
struct Partial {
    people: HashMap<PersonId, Tally>,
    actors: BTreeSet<String>,
    matched: u64,
    by_actor: u64,
}

impl Partial {
    fn add(&mut self, e: Access<'_>) {
        self.matched += 1;
        if !self.actors.contains(e.actor.as_ref()) {
            self.actors.insert(e.actor.into_owned());
        }
        for person in &e.people {
            let x = self.people.entry(*person).or_insert(Tally {
                compartments: 0,
                fields: 0,
                first_ms: e.time_ms,
                last_ms: e.time_ms,
                reads: 0,
            });
            x.compartments |= e.compartments;
            x.fields |= e.fields;
            x.first_ms = x.first_ms.min(e.time_ms);
            x.last_ms = x.last_ms.max(e.time_ms);
            x.reads += 1;
        }
    }

    fn merge(&mut self, other: Partial) {
        self.matched += other.matched;
        self.by_actor += other.by_actor;
        self.actors.extend(other.actors);
        for (person, t) in other.people {
            match self.people.entry(person) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(t);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let x = o.get_mut();
                    x.compartments |= t.compartments;
                    x.fields |= t.fields;
                    x.first_ms = x.first_ms.min(t.first_ms);
                    x.last_ms = x.last_ms.max(t.last_ms);
                    x.reads += t.reads;
                }
            }
        }
    }
}

/// Parsing is most of the cost of a scan, so two threads take pages as the
/// reader fills them, each keeping its own tally, merged at the end.
fn tally_pages(pages: AuditPages, query: &ScopeQuery) -> Result<Partial, RegisterError> {
    const THREADS: usize = 2;
    let prefilter = Prefilter::new(query);
    let pages = std::sync::Mutex::new(pages);
    let work = || -> Result<Partial, RegisterError> {
        let mut part = Partial::default();
        loop {
            let next = pages
                .lock()
                .map_err(|_| RegisterError::new(ErrorKind::Internal("breach scan lock poisoned")))?
                .blocking_next();
            match next {
                None => return Ok(part),
                Some(page) => {
                    let page = page?;
                    let (found, by_actor) = matching(&page, query, &prefilter);
                    part.by_actor += by_actor;
                    for e in found {
                        part.add(e);
                    }
                }
            }
        }
    };
    let results: Vec<Result<Partial, RegisterError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS).map(|_| s.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(RegisterError::new(ErrorKind::Internal("breach scan thread failed"))))
            })
            .collect()
    });
    let mut total = Partial::default();
    for r in results {
        total.merge(r?);
    }
    Ok(total)
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
        let query_actor = query.actor.is_some();
        let end = i64::try_from(cp.tree_size).unwrap_or(i64::MAX);
        let pages = self.store().audit_pages(0, end, false);
        let scan_query = query.clone();
        let Partial { people, actors, matched, by_actor } =
            tokio::task::spawn_blocking(move || tally_pages(pages, &scan_query))
                .await
                .map_err(|_| RegisterError::new(ErrorKind::Internal("breach scan failed")))??;
        let mut people: Vec<Exposure> = people.into_iter().map(|(person, t)| t.exposure(person)).collect();
        people.sort_by_key(|x| x.person);
        let mut per_compartment = BTreeMap::new();
        for x in &people {
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
            people,
            people_per_compartment: per_compartment,
            actor_events: query_actor.then_some(by_actor),
        })
    }
}

#[cfg(test)]
mod tests {
    use lanyard_audit::Actor;

    use super::*;

    fn read_by(actor: Actor) -> Vec<u8> {
        let mut e = Event::new(1, actor, "person.read", Outcome::Ok);
        e.people = vec![PersonId::new()];
        e.compartments = vec![Compartment::Pay];
        e.to_bytes()
    }

    #[test]
    fn the_prefilter_passes_every_event_that_could_match() {
        for name in ["alice", "o\"brien", "back\\slash", "zoë", "tab\there", "a/b"] {
            let bytes = read_by(Actor::operator(name));
            for wanted in [name.to_owned(), format!("operator:{name}")] {
                let query = ScopeQuery { actor: Some(wanted.clone()), ..ScopeQuery::default() };
                assert!(Prefilter::new(&query).may_match(&bytes), "{wanted}");
                let rows = [AuditRow { idx: 0, event: bytes.clone(), leaf_hash: Vec::new() }];
                let (found, by_actor) = matching(&rows, &query, &Prefilter::new(&query));
                assert_eq!((found.len(), by_actor), (1, 1), "{wanted}");
            }
        }
        let query = ScopeQuery { actor: Some("mallory".into()), ..ScopeQuery::default() };
        assert!(!Prefilter::new(&query).may_match(&read_by(Actor::operator("alice"))));
        let write = Event::new(1, Actor::operator("alice"), "person.create", Outcome::Ok).to_bytes();
        assert!(!Prefilter::new(&ScopeQuery::default()).may_match(&write), "writes reveal nothing");
    }

    #[test]
    fn actors_match_by_id_name_or_supplier() {
        let token = Actor::supplier_token("acme", "tok1").id;
        for wanted in ["supplier:acme", "acme", "supplier:acme:tok1"] {
            assert!(actor_matches(wanted, &token), "{wanted}");
        }
        // A kind covers all its actors: `supplier` is every supplier's token.
        assert!(actor_matches("supplier", &token));
        for wanted in ["acm", "supplier:acm", "tok1", "acme:tok", "operator"] {
            assert!(!actor_matches(wanted, &token), "{wanted}");
        }
        assert!(actor_matches("alice", "operator:alice") && !actor_matches("alice", "operator:alicea"));
    }

    #[test]
    fn partial_tallies_merge_to_the_whole() {
        let person = PersonId::new();
        let access = |t: i64, c: Compartment| Access {
            actor: Cow::Borrowed("operator:a"),
            time_ms: t,
            compartments: compartment_bit(c),
            fields: 0,
            people: vec![person],
        };
        let (mut a, mut b) = (Partial::default(), Partial::default());
        a.add(access(5, Compartment::Pay));
        b.add(access(2, Compartment::Identity));
        b.add(access(9, Compartment::Identity));
        a.merge(b);
        let x = a.people.remove(&person).unwrap().exposure(person);
        assert_eq!((x.first_ms, x.last_ms, x.reads, a.matched), (2, 9, 3, 3));
        assert_eq!(x.compartments.into_iter().collect::<Vec<_>>(), vec![Compartment::Identity, Compartment::Pay]);
    }
}
