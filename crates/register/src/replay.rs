//! The log replayed for reconciliation, and kept between the watch's passes.
//!
//! `audit verify` reads the whole log: every event's leaf hash, the tree,
//! and, from the write events, what the store should hold. The watch runs
//! that check every few minutes over logs of millions of events, so it keeps
//! what the replay built, sealed under the row-integrity key (a file in the
//! data directory is trusted no more than a row is), and its next pass reads
//! only the events since.
//!
//! A saved replay is used only where it still holds: the stored tree must
//! give, at the saved size, the root of the saved frontier, and the stored
//! checkpoints up to that size must be the ones it saw. Otherwise, or once
//! it is older than the caller allows, the pass reads the whole log again.
//! Memory follows the people (one digest each), never the events.

use std::collections::HashMap;

use lanyard_audit::merkle::{Frontier, Hash};
use lanyard_audit::{Event, Ledger};
use lanyard_core::Compartment;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::RegisterError;
use crate::rowlog::{RowLog, SavedRowLog};

const MAGIC: &[u8] = b"lanyard/watch-replay/v1\n";
/// The row-integrity key's domain for the sealed replay.
const DOMAIN: &str = "watch-replay";
/// id, compartment bits, digest flag, digest.
const PERSON_LEN: usize = 16 + 1 + 1 + 32;
pub(crate) const WRITE_ACTIONS: [&str; 3] = ["person.create", "person.update", "person.erase"];

/// What the log last wrote of one person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Logged {
    /// The state digest of their rows the last write recorded; `None` when
    /// it recorded none a row could have.
    pub digest: Option<[u8; 32]>,
    /// The compartments they should have, as bits in `Compartment::ALL`'s order.
    pub bits: u8,
    /// Met in this pass's walk of the store (not saved).
    pub seen: bool,
}

/// A set of compartments as bits, in `Compartment::ALL`'s order.
pub(crate) fn compartment_bits(compartments: &[Compartment]) -> u8 {
    compartments.iter().fold(0, |bits, c| bits | Compartment::ALL.iter().position(|a| a == c).map_or(0, |i| 1 << i))
}

fn parse_digest(hex: Option<&str>) -> Option<[u8; 32]> {
    let hex = hex?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Everything reconciliation needs from the log, and the tree so far.
#[derive(Default)]
pub(crate) struct Replay {
    pub frontier: Frontier,
    pub people: HashMap<Uuid, Logged>,
    pub row_log: RowLog,
    /// Enrolments per table.
    pub enrolled: HashMap<String, u64>,
    /// Whether the register tagged its rows from init, and all of them.
    pub keyed_at_init: bool,
    pub all_at_init: bool,
    /// What the purpose migration's event committed to: (count, digest).
    pub redactions_logged: Option<(u64, String)>,
    /// Digest of the stored checkpoints at or below the frontier's size.
    pub checkpoints_below: Hash,
    /// When the whole log was last read (Unix ms).
    pub full_at_ms: i64,
}

/// The small part of a saved replay, as JSON.
#[derive(Serialize, Deserialize)]
struct Header {
    size: u64,
    frontier: Vec<String>,
    row_log: SavedRowLog,
    enrolled: HashMap<String, u64>,
    keyed_at_init: bool,
    all_at_init: bool,
    redactions_logged: Option<(u64, String)>,
    checkpoints_below: String,
    full_at_ms: i64,
    people: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Replay {
    /// Takes in one event.
    pub fn event(&mut self, e: &Event) {
        self.row_log.replay(e);
        match e.action.as_str() {
            "integrity.enrol" => {
                let tables = e.detail.as_ref().and_then(|d| d["tagged"].as_object());
                for table in tables.into_iter().flat_map(|t| t.keys()) {
                    *self.enrolled.entry(table.clone()).or_default() += 1;
                }
            }
            crate::oldpurposes::ACTION => {
                let d = e.detail.clone().unwrap_or_default();
                let count = d.get("count").and_then(serde_json::Value::as_u64).unwrap_or(u64::MAX);
                let set = d.get("set").and_then(serde_json::Value::as_str).unwrap_or_default();
                self.redactions_logged = Some((count, set.to_owned()));
            }
            "register.init" => {
                self.keyed_at_init = e.detail.as_ref().is_some_and(|d| d["row_key"] == true);
                self.all_at_init = e.detail.as_ref().is_some_and(|d| d["row_tables"] == "all");
            }
            action if WRITE_ACTIONS.contains(&action) => {
                // The compartments a person should have: what their creation
                // and updates sealed; none once erased.
                let written = compartment_bits(&e.compartments);
                let digest = parse_digest(e.digest.as_deref());
                for p in &e.people {
                    let logged = self.people.entry(*p.as_uuid()).or_default();
                    logged.digest = digest;
                    logged.bits = match action {
                        "person.create" => written,
                        "person.update" => logged.bits | written,
                        _ => 0,
                    };
                }
            }
            _ => {}
        }
    }

    /// The digest of the checkpoints `(size, note)` at or below `size`.
    pub fn checkpoints_digest(checkpoints: &[(i64, String)], size: u64) -> Hash {
        let mut h = Sha256::new();
        for (s, note) in checkpoints.iter().filter(|(s, _)| u64::try_from(*s).is_ok_and(|s| s <= size)) {
            h.update(s.to_be_bytes());
            h.update((note.len() as u64).to_be_bytes());
            h.update(note.as_bytes());
        }
        h.finalize().into()
    }

    /// The replay as bytes, sealed under the row-integrity key.
    pub fn seal(&self, ledger: &Ledger) -> Result<Vec<u8>, RegisterError> {
        let mut out = self.body()?;
        let tag = ledger.tag_bytes(DOMAIN, &out)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// The replay as bytes, before its tag: what [`Replay::parse`] reads.
    fn body(&self) -> Result<Vec<u8>, RegisterError> {
        let header = Header {
            size: self.frontier.size(),
            frontier: self.frontier.hashes().iter().map(|h| hex(h)).collect(),
            row_log: self.row_log.save(),
            enrolled: self.enrolled.clone(),
            keyed_at_init: self.keyed_at_init,
            all_at_init: self.all_at_init,
            redactions_logged: self.redactions_logged.clone(),
            checkpoints_below: hex(&self.checkpoints_below),
            full_at_ms: self.full_at_ms,
            people: self.people.len() as u64,
        };
        let header = serde_json::to_vec(&header).map_err(|_| RegisterError::output("the watch's replay"))?;
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + header.len() + self.people.len() * PERSON_LEN + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_be_bytes());
        out.extend_from_slice(&header);
        for (id, logged) in &self.people {
            out.extend_from_slice(id.as_bytes());
            out.push(logged.bits);
            out.push(u8::from(logged.digest.is_some()));
            out.extend_from_slice(&logged.digest.unwrap_or_default());
        }
        Ok(out)
    }

    /// A sealed replay back, or `None` if its tag fails or it is not one
    /// (the caller then reads the whole log).
    pub fn open(ledger: &Ledger, sealed: &[u8]) -> Result<Option<Replay>, RegisterError> {
        let Some((body, tag)) = sealed.split_at_checked(sealed.len().saturating_sub(32)) else { return Ok(None) };
        if !ledger.check_bytes(DOMAIN, body, tag)? {
            return Ok(None);
        }
        Ok(Self::parse(body))
    }

    fn parse(body: &[u8]) -> Option<Replay> {
        let rest = body.strip_prefix(MAGIC)?;
        let (len, rest) = rest.split_at_checked(8)?;
        let len = usize::try_from(u64::from_be_bytes(len.try_into().ok()?)).ok()?;
        let (header, people) = rest.split_at_checked(len)?;
        let header: Header = serde_json::from_slice(header).ok()?;
        let hashes: Vec<Hash> = header.frontier.iter().map(|h| parse_digest(Some(h))).collect::<Option<_>>()?;
        let frontier = Frontier::new(header.size, hashes)?;
        if people.len() % PERSON_LEN != 0 || (people.len() / PERSON_LEN) as u64 != header.people {
            return None;
        }
        let mut map = HashMap::with_capacity(people.len() / PERSON_LEN);
        for rec in people.chunks_exact(PERSON_LEN) {
            let (id, rest) = rec.split_first_chunk::<16>()?;
            let ([bits, has_digest], digest) = rest.split_first_chunk::<2>()?;
            let digest: [u8; 32] = digest.try_into().ok()?;
            let digest = (*has_digest == 1).then_some(digest);
            map.insert(Uuid::from_bytes(*id), Logged { digest, bits: *bits, seen: false });
        }
        Some(Replay {
            frontier,
            people: map,
            row_log: RowLog::restore(header.row_log),
            enrolled: header.enrolled,
            keyed_at_init: header.keyed_at_init,
            all_at_init: header.all_at_init,
            redactions_logged: header.redactions_logged,
            checkpoints_below: parse_digest(Some(&header.checkpoints_below))?,
            full_at_ms: header.full_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use lanyard_audit::{Actor, Outcome};
    use lanyard_core::PersonId;

    use super::*;

    fn write(action: &str, person: PersonId, digest: &str, compartments: &[Compartment]) -> Event {
        let mut e = Event::new(1, Actor::system(), action, Outcome::Ok);
        e.people = vec![person];
        e.digest = Some(digest.to_owned());
        e.compartments = compartments.to_vec();
        e
    }

    #[test]
    fn a_persons_compartments_are_those_created_and_updated_and_none_once_erased() {
        let p = PersonId::new();
        let mut r = Replay::default();
        r.event(&write("person.create", p, &"ab".repeat(32), &[Compartment::Identity]));
        r.event(&write("person.update", p, &"cd".repeat(32), &[Compartment::Photo]));
        let logged = r.people[p.as_uuid()];
        assert_eq!(logged.bits, compartment_bits(&[Compartment::Identity, Compartment::Photo]));
        assert_eq!(logged.digest, Some([0xcd; 32]));
        r.event(&write("person.erase", p, "not hex", &[]));
        assert_eq!(r.people[p.as_uuid()], Logged { digest: None, bits: 0, seen: false });
    }

    #[test]
    fn digests_parse_only_as_64_hex_digits() {
        assert_eq!(parse_digest(Some(&"0f".repeat(32))), Some([0x0f; 32]));
        assert_eq!(parse_digest(Some(&"0f".repeat(31))), None);
        assert_eq!(parse_digest(Some(&format!("{}zz", "0f".repeat(31)))), None);
        assert_eq!(parse_digest(Some("é")), None);
        assert_eq!(parse_digest(None), None);
    }

    #[test]
    fn a_saved_replay_parses_back_and_a_cut_one_does_not() {
        let mut r = Replay::default();
        for _ in 0..3 {
            r.frontier.push([7; 32]);
        }
        let p = PersonId::new();
        r.event(&write("person.create", p, &"ab".repeat(32), &[Compartment::Vetting]));
        r.full_at_ms = 42;
        let body = r.body().unwrap();
        let back = Replay::parse(&body).unwrap();
        assert_eq!(back.frontier.root(), r.frontier.root());
        assert_eq!(back.people[p.as_uuid()], r.people[p.as_uuid()]);
        assert_eq!(back.full_at_ms, 42);
        assert!(Replay::parse(&body[..body.len() - 1]).is_none());
        assert!(Replay::parse(&body[1..]).is_none());
    }
}
