//! The register service: its types (operators, revealed people, summaries),
//! its keys and ledger, and listings that decrypt nothing. Reads are in
//! `reveal.rs`, writes in `write.rs`, bulk import in `bulk.rs`.

use std::sync::Arc;

use lanyard_audit::{Actor, Event, Ledger, Outcome};
use lanyard_core::{Compartment, Field, PersonId, PersonRecord, PersonStatus, RankTable};
use lanyard_crypto::{KeyProvider, Liveness, LivenessChange, Vault};
use lanyard_store::{PersonRow, Store};
use uuid::Uuid;

use crate::error::{ErrorKind, RegisterError};

/// What a reader without the `protected` clearance sees instead of a
/// protected person's identity.
pub const PROTECTED_MARK: &str = "[protected]";

/// Who is acting, and with what clearance.
#[derive(Clone, Debug)]
pub struct Operator {
    /// The audited actor.
    pub actor: Actor,
    /// May see the identity and photo of protected persons.
    pub protected_clearance: bool,
    /// Ties together the events of one command or request.
    pub request_id: String,
}

impl Operator {
    /// A local CLI operator, named explicitly or known as the OS user. The
    /// clearance shows in the audited role.
    pub fn local(actor: Actor, protected_clearance: bool) -> Self {
        let mut actor = actor;
        if protected_clearance {
            actor.role.push_str("+protected");
        }
        Operator { actor, protected_clearance, request_id: Uuid::new_v4().to_string() }
    }
}

/// One person as revealed to a reader: only the compartments asked for and
/// allowed, with the rest withheld.
#[derive(Clone, Debug)]
pub struct Revealed {
    /// Person id.
    pub id: PersonId,
    /// Live or erased.
    pub status: PersonStatus,
    /// Whether the person is protected.
    pub protected: bool,
    /// The revealed fields.
    pub record: PersonRecord,
    /// Compartments asked for but withheld (protected person, no clearance).
    pub withheld: Vec<Compartment>,
}

/// Narrows a find on the identity compartment: forenames containing a
/// text, and an exact rank, both without regard to case.
#[derive(Clone, Debug, Default)]
pub struct FindFilter {
    /// Part of the forenames.
    pub forenames: Option<String>,
    /// The rank, whole.
    pub rank: Option<String>,
}

impl FindFilter {
    /// Whether a revealed person passes. A filter on a field that was not
    /// revealed (a protected person, withheld) does not pass.
    pub fn keeps(&self, p: &Revealed) -> bool {
        let has = |value: &Option<String>, wanted: &str, whole: bool| {
            value.as_deref().is_some_and(|v| {
                let (v, w) = (v.to_lowercase(), wanted.trim().to_lowercase());
                if whole { v == w } else { v.contains(&w) }
            })
        };
        self.forenames.as_deref().is_none_or(|f| has(&p.record.forenames, f, false))
            && self.rank.as_deref().is_none_or(|r| has(&p.record.rank, r, true))
    }

    /// Whether the filter narrows at all.
    pub fn is_empty(&self) -> bool {
        self.forenames.is_none() && self.rank.is_none()
    }
}

/// One line of a find's short list.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ShortEntry {
    /// Person id.
    pub id: PersonId,
    /// Service number; absent when withheld.
    pub service_number: Option<String>,
    /// Forenames and surname, or `[protected]` when withheld.
    pub name: String,
    /// Rank; absent when withheld.
    pub rank: Option<String>,
    /// Compartments withheld (a protected person, without clearance).
    pub withheld: Vec<Compartment>,
}

impl ShortEntry {
    pub(crate) fn of(p: &Revealed) -> Self {
        let name = match (&p.record.forenames, &p.record.surname) {
            (None, None) => PROTECTED_MARK.to_owned(),
            (f, s) => {
                format!("{} {}", f.as_deref().unwrap_or_default(), s.as_deref().unwrap_or_default()).trim().to_owned()
            }
        };
        ShortEntry {
            id: p.id,
            service_number: p.record.service_number.clone(),
            name,
            rank: p.record.rank.clone(),
            withheld: p.withheld.clone(),
        }
    }
}

/// The answer of [`Register::vetting_satisfies`]: a decision, never a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VettingDecision {
    /// Meets one of the accepted levels and is in date.
    Satisfied,
    /// Vetted, but below every accepted level or on another ladder.
    Insufficient,
    /// Vetting has lapsed.
    Expired,
    /// No vetting recorded.
    NotVetted,
}

/// How a revealed photo appears in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoJson {
    /// Only its size, for terminals.
    Size,
    /// The JPEG, base64, for API clients that show it.
    Base64,
}

impl Revealed {
    /// The revealed compartments as JSON: each compartment a map of its
    /// fields, or `"[protected]"` where withheld.
    pub fn to_json(&self, compartments: &[Compartment], photo: PhotoJson) -> serde_json::Value {
        use base64::Engine;
        use serde_json::{Map, Value, json};
        let mut obj = Map::new();
        obj.insert("id".into(), json!(self.id));
        obj.insert("status".into(), json!(self.status));
        obj.insert("protected".into(), json!(self.protected));
        for c in compartments {
            if self.withheld.contains(c) {
                obj.insert(c.as_str().into(), json!(PROTECTED_MARK));
                continue;
            }
            let mut fields = Map::new();
            for f in c.fields() {
                let value = match (f, photo) {
                    (Field::Photo, PhotoJson::Size) => {
                        self.record.photo.as_ref().map(|b| json!({ "jpeg_bytes": b.len() }))
                    }
                    (Field::Photo, PhotoJson::Base64) => self
                        .record
                        .photo
                        .as_ref()
                        .map(|b| json!({ "jpeg_base64": base64::engine::general_purpose::STANDARD.encode(b) })),
                    _ => self.record.field_text(*f).map(Value::String),
                };
                fields.insert(f.as_str().into(), value.unwrap_or(Value::Null));
            }
            obj.insert(c.as_str().into(), Value::Object(fields));
        }
        Value::Object(obj)
    }
}

/// A person without any personal data: what `person list` shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PersonSummary {
    /// Person id.
    pub id: PersonId,
    /// Live or erased.
    pub status: PersonStatus,
    /// Whether the person is protected.
    pub protected: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// An exact lookup through a blind index.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    /// By service number.
    ServiceNumber(&'a str),
    /// By surname.
    Surname(&'a str),
    /// By email.
    Email(&'a str),
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportOutcome {
    /// New people, in input order.
    pub imported: Vec<PersonId>,
    /// Input lines whose service number was already registered; left as they were.
    pub already_registered: Vec<usize>,
    /// A strict import that met invalid rows: nothing was committed.
    pub rolled_back: bool,
}

/// The register service.
pub struct Register {
    // The store and the audit log, shared with the other services.
    pub(crate) ledger: Ledger,
    // Replaced whole when keys change (a rotation here, or one another
    // process made, found on reload). Readers and import's sealing thread
    // hold their own `Arc`, so a rotation never waits for them.
    vault: std::sync::RwLock<Arc<Vault>>,
    provider: Arc<dyn KeyProvider>,
    // Whether the provider still answers: the keys in `vault` are used
    // only while it does (`vault()`).
    liveness: Arc<Liveness>,
    ranks: RankTable,
    purpose_codes: Vec<String>,
}

impl Register {
    pub(crate) fn from_parts(ledger: Ledger, vault: Vault, provider: Arc<dyn KeyProvider>) -> Self {
        Register {
            ledger,
            vault: std::sync::RwLock::new(Arc::new(vault)),
            liveness: Arc::new(Liveness::new(Arc::clone(&provider), Liveness::DEFAULT_EVERY)),
            provider,
            ranks: RankTable::default_ranks(),
            purpose_codes: lanyard_core::purpose::default_codes(),
        }
    }

    /// The same register, reading purposes against the force's own codes
    /// (`[purposes] codes` in lanyard.toml) beside the default ones. A
    /// code must be lower-case letters, digits and `_`.
    pub fn with_purpose_codes(mut self, codes: &[String]) -> Result<Self, RegisterError> {
        for code in codes {
            if !lanyard_core::purpose::valid_code(code) {
                return Err(RegisterError::new(ErrorKind::Note(format!(
                    "purpose code {:?}: use lower-case letters, digits and _",
                    code.chars().take(40).collect::<String>()
                ))));
            }
            if !self.purpose_codes.contains(code) {
                self.purpose_codes.push(code.clone());
            }
        }
        Ok(self)
    }

    /// The purpose codes this register accepts.
    pub fn purpose_codes(&self) -> &[String] {
        &self.purpose_codes
    }

    /// The store, for this crate's reads. Other services have the ledger.
    pub(crate) fn store(&self) -> &Store {
        self.ledger.store()
    }

    /// The same register, asking its key provider whether it still answers
    /// at most once per `every` (default [`Liveness::DEFAULT_EVERY`]): the
    /// longest the keys it released may go on being used once it is gone.
    pub fn with_key_check_interval(mut self, every: std::time::Duration) -> Self {
        self.liveness = Arc::new(Liveness::new(Arc::clone(&self.provider), every));
        self
    }

    /// The keys as they are now, if the key provider still answers: fail
    /// closed, so keys it released are not used once it is gone (a token
    /// pulled, a PIN changed, an HSM down).
    pub(crate) fn vault(&self) -> Result<Arc<Vault>, RegisterError> {
        self.key_provider_live()?;
        Ok(self.held_vault())
    }

    /// The keys held, for what uses none of them (which versions are
    /// loaded).
    pub(crate) fn held_vault(&self) -> Arc<Vault> {
        // A poisoned lock still holds a whole vault: it is only ever replaced.
        match self.vault.read() {
            Ok(v) => Arc::clone(&v),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Ok if the key provider answered a check within the interval (asking
    /// it now if not); else an error for which
    /// [`RegisterError::is_key_provider_down`] holds. The server asks this
    /// before every authenticated request.
    pub fn key_provider_live(&self) -> Result<(), RegisterError> {
        Ok(self.liveness.ensure()?)
    }

    /// Asks the key provider now (a readiness probe).
    pub(crate) fn key_provider_checked_now(&self) -> Result<(), RegisterError> {
        Ok(self.liveness.check_now()?)
    }

    /// Asks the key provider now, and records in the log each time it was
    /// found gone (`keys.provider_lost`, with the provider's reason) or
    /// back (`keys.provider_restored`) since the last call. The server
    /// calls it on a timer, so an outage is in the log even if no request
    /// met it.
    pub async fn watch_key_provider(&self, now_ms: i64) -> Result<(), RegisterError> {
        let live = self.liveness.check_now();
        let changes = self.liveness.take_changes();
        let events: Vec<Event> = changes
            .iter()
            .map(|change| {
                let (action, outcome, reason) = match change {
                    LivenessChange::Lost(why) => ("keys.provider_lost", Outcome::Error, Some(why.as_str())),
                    LivenessChange::Restored => ("keys.provider_restored", Outcome::Ok, None),
                };
                let mut event = Event::new(now_ms, Actor::system(), action, outcome);
                event.detail = Some(serde_json::json!({ "provider": self.provider.kind(), "reason": reason }));
                event
            })
            .collect();
        if !events.is_empty() {
            self.record(&events).await?;
        }
        Ok(live?)
    }

    pub(crate) fn set_vault(&self, vault: Vault) {
        match self.vault.write() {
            Ok(mut v) => *v = Arc::new(vault),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(vault),
        }
    }

    pub(crate) fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }

    /// The key provider, for a service that opens another store under the
    /// same root key (a backup verified in a scratch store).
    pub fn key_provider(&self) -> Arc<dyn KeyProvider> {
        Arc::clone(&self.provider)
    }

    /// The force's rank table.
    pub fn ranks(&self) -> &RankTable {
        &self.ranks
    }

    /// Appends events, group-committed with any concurrent ones, and
    /// returns the leaf index of the first once it is durable.
    pub async fn record(&self, events: &[Event]) -> Result<u64, RegisterError> {
        Ok(self.ledger.record(events).await?)
    }

    /// Metadata of one person, no personal data.
    pub async fn summary(&self, id: PersonId) -> Result<PersonSummary, RegisterError> {
        let row =
            self.store().person(*id.as_uuid()).await?.ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))?;
        summary_of(&row)
    }

    /// A page of people without personal data, in id order.
    pub async fn list(&self, after: Option<PersonId>, limit: i64) -> Result<Vec<PersonSummary>, RegisterError> {
        let rows = self.store().people_page(after.map(|a| *a.as_uuid()), limit).await?;
        rows.iter().map(summary_of).collect()
    }

    /// Counts of people by status.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, RegisterError> {
        Ok(self.store().count_by_status().await?)
    }
}

fn summary_of(row: &PersonRow) -> Result<PersonSummary, RegisterError> {
    Ok(PersonSummary {
        id: PersonId::from_uuid(row.id),
        status: row.status,
        protected: row.protected,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
