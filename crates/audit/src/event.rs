//! The audit event and its canonical encoding.

use lanyard_core::{Compartment, Field, PersonId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who acted: an id and the role they acted in. Ids name accounts, tokens or
/// OS users, never register people. Fields are in alphabetical order, as
/// the event's canonical JSON needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Set when the action was taken in break-glass mode: directly on the
    /// store, on the register host, with the root passphrase and no
    /// signed-in user. Absent (not `false`) otherwise, so that events
    /// written before the flag existed keep their bytes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// `os:alice`, `user:…`, `token:…`, `supplier:…`, `local:…`.
    pub id: String,
    /// The role acted in.
    pub role: String,
}

impl Actor {
    /// A caller inside lanyard's own processes, named by the code that acts
    /// (the server's public routes, the checkpointer, the demo's staff).
    pub fn operator(name: &str) -> Self {
        Actor { break_glass: false, id: format!("operator:{name}"), role: "local_operator".to_owned() }
    }

    /// Host administration from the command line (init, keys, backups, the
    /// watch), known as the local OS user. Never used for reading or
    /// changing people: that is a signed-in user's, or break-glass.
    pub fn os_user(name: &str) -> Self {
        Actor { break_glass: false, id: format!("os:{name}"), role: "host".to_owned() }
    }

    /// An operator command run directly on the store in break-glass mode
    /// (`--local`), known as the local OS user and flagged on every event.
    pub fn break_glass(os_user: &str) -> Self {
        Actor { break_glass: true, id: format!("local:{os_user}"), role: "break_glass".to_owned() }
    }

    /// A server user acting in `role`.
    pub fn user(name: &str, role: &str) -> Self {
        Actor { break_glass: false, id: format!("user:{name}"), role: role.to_owned() }
    }

    /// A print supplier's service token. The id names the supplier first,
    /// so scoping a breach by supplier covers every token it held.
    pub fn supplier_token(supplier: &str, token_id: &str) -> Self {
        Actor { break_glass: false, id: format!("supplier:{supplier}:{token_id}"), role: "print_supplier".to_owned() }
    }

    /// lanyard itself, for what it finds rather than what someone asked
    /// (a row that fails its integrity check).
    pub fn system() -> Self {
        Actor { break_glass: false, id: "system:lanyard".to_owned(), role: "system".to_owned() }
    }

    /// A gate or door device's token.
    pub fn device_token(device: &str, token_id: &str) -> Self {
        Actor { break_glass: false, id: format!("device:{device}:{token_id}"), role: "verifier".to_owned() }
    }
}

/// How the audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Ok,
    /// Policy refused it.
    Denied,
    /// It failed.
    Error,
}

/// A sealed note in an event: its id (which binds the ciphertext and finds
/// its key) and the ciphertext, base64. Fields in sorted order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// The note's id.
    pub id: String,
    /// `nonce ‖ ciphertext ‖ tag`, standard base64.
    pub sealed: String,
}

/// A tagged row a write changed: its table, its id, and the first half of
/// its new tag in hex, or no tag where the write removed it. `audit verify`
/// compares each row with the last of these, so a row put back as it was
/// (its old tag still verifies) is found. Fields in sorted order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowWrite {
    /// The row's id in its table.
    pub id: String,
    /// The table.
    pub table: String,
    /// The tag's first 16 bytes, hex; `None` for a removal.
    pub tag: Option<String>,
}

impl RowWrite {
    /// How a stored tag is written in a [`RowWrite`].
    pub fn tag_text(tag: &[u8]) -> String {
        tag.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

impl From<&lanyard_store::RowStamp> for RowWrite {
    fn from(s: &lanyard_store::RowStamp) -> Self {
        RowWrite { id: s.id.clone(), table: s.table.to_owned(), tag: s.tag.as_deref().map(RowWrite::tag_text) }
    }
}

/// One audit event (DESIGN §4). Fields are declared in alphabetical order,
/// which is what makes the derived JSON canonical (sorted keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What, as `subject.verb`: `person.read`, `person.create`, `key.rotate`, …
    pub action: String,
    /// Who.
    pub actor: Actor,
    /// Which compartments were revealed or written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<Compartment>,
    /// Extra non-personal detail (counts, key versions, reasons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// For writes: hex SHA-256 of the record's new sealed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Which fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// The free-text part of the purpose, sealed (only the auditor opens
    /// it, and it is shredded with the people the event names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// How it ended.
    pub outcome: Outcome,
    /// Whose data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonId>,
    /// Why: a purpose code from the force's list (required for reads).
    /// Never free text; that is the sealed `note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Correlates the events of one request or command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The tagged rows the write changed, in order (the ledger fills this
    /// in from the write's transaction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowWrite>,
    /// Unix milliseconds.
    pub time_ms: i64,
}

impl Event {
    /// An event with the required parts; fill the rest by field.
    pub fn new(time_ms: i64, actor: Actor, action: &str, outcome: Outcome) -> Self {
        Event {
            time_ms,
            actor,
            action: action.to_owned(),
            people: Vec::new(),
            compartments: Vec::new(),
            fields: Vec::new(),
            purpose: None,
            note: None,
            request_id: None,
            rows: Vec::new(),
            outcome,
            digest: None,
            detail: None,
        }
    }

    /// Canonical bytes: JSON with keys sorted at every level and no spaces.
    /// Struct fields are declared in sorted order, and `detail` is a `Value`,
    /// whose maps are sorted (serde_json's `preserve_order` is off).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data cannot fail; an empty object would still be
        // an honest, if useless, record.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// Parses stored event bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// RFC 9162 leaf hash: SHA-256(0x00 ‖ bytes).
pub fn leaf_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_sorted_and_compact() {
        let mut e = Event::new(5, Actor::operator("bob"), "person.read", Outcome::Ok);
        e.compartments = vec![Compartment::Pay];
        e.purpose = Some("payroll check".into());
        let text = String::from_utf8(e.to_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"action":"person.read","actor":{"id":"operator:bob","role":"local_operator"},"compartments":["pay"],"outcome":"ok","purpose":"payroll check","time_ms":5}"#
        );
        assert_eq!(Event::from_bytes(text.as_bytes()).unwrap(), e);
    }

    #[test]
    fn derived_order_is_the_sorted_order() {
        let mut e = Event::new(9, Actor::os_user("root"), "key.rotate", Outcome::Denied);
        e.people = vec![PersonId::new()];
        e.compartments = vec![Compartment::Identity, Compartment::Pay];
        e.fields = vec![Field::Surname];
        e.purpose = Some("p".into());
        e.request_id = Some("r".into());
        e.digest = Some("00".into());
        e.detail = Some(serde_json::json!({ "z": 1, "a": { "y": 2, "b": 3 } }));
        let via_value = serde_json::to_vec(&serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(e.to_bytes(), via_value);
    }

    #[test]
    fn leaf_hash_matches_rfc6962_empty_leaf() {
        // RFC 6962 test vector: the hash of the empty leaf.
        let h = leaf_hash(b"");
        assert_eq!(
            h.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
