//! The register: add, import, read, update, erase and export people.

use std::collections::HashSet;
use std::sync::Arc;

use lanyard_audit::{Actor, Event, Ledger, Outcome, leaf_hash};
use lanyard_core::{
    Compartment, Field, PersonId, PersonRecord, PersonStatus, RankTable, normalise_email, normalise_name,
    normalise_service_number,
};
use lanyard_crypto::{KeyProvider, SealedCompartment, Vault};
use lanyard_store::{AuditEntry, IndexColumn, PersonRow, SealedRow, Store};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::codec::{decode_fields, encode_fields};
use crate::error::{ErrorKind, RegisterError};
use crate::photo::normalise_photo;

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
    ranks: RankTable,
}

/// The blind indexes of one person's identity.
struct BlindIndexes {
    service_number: Option<Vec<u8>>,
    surname: Option<Vec<u8>>,
    email: Option<Vec<u8>>,
}

/// People per unit of import work: sealed together, written together.
const IMPORT_CHUNK: usize = 2000;

/// One chunk of an import, sealed and ready to write: input line, sealed
/// person, audit event.
type SealedChunk = Vec<(usize, SealedPerson, AuditEntry)>;

/// Where an import's records come from, a chunk at a time.
pub trait RecordSource: Send {
    /// Up to `max` records with their input lines; `None` when there are no more.
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>>;

    /// How many input rows were refused so far.
    fn refused(&self) -> usize {
        0
    }
}

impl RecordSource for std::vec::IntoIter<(usize, PersonRecord)> {
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>> {
        let chunk: Vec<_> = self.by_ref().take(max.max(1)).collect();
        if chunk.is_empty() { None } else { Some(chunk) }
    }
}

impl<R: std::io::Read + Send> RecordSource for crate::import::Parser<R> {
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>> {
        crate::import::Parser::next_chunk(self, max)
    }

    fn refused(&self) -> usize {
        self.errors().len()
    }
}

/// Seals a chunk of records on all cores, with their audit events.
fn seal_chunk(
    vault: &Vault,
    op: &Operator,
    records: &[(usize, PersonRecord)],
    now_ms: i64,
) -> Result<SealedChunk, RegisterError> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let per_thread = records.len().div_ceil(threads).max(1);
    let parts: Vec<Result<SealedChunk, RegisterError>> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(line, r)| {
                            let sp = seal_new(vault, PersonId::new(), r, false, now_ms / 1000)?;
                            let event = encode_event(&write_event(op, "person.create", now_ms, &sp));
                            Ok((*line, sp, event))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(RegisterError::new(ErrorKind::Internal("a sealing thread failed"))))
            })
            .collect()
    });
    let mut chunk = SealedChunk::with_capacity(records.len());
    for part in parts {
        chunk.extend(part?);
    }
    Ok(chunk)
}

fn encode_event(e: &Event) -> AuditEntry {
    let bytes = e.to_bytes();
    let hash = leaf_hash(&bytes);
    (bytes, hash)
}

pub(crate) struct SealedPerson {
    pub(crate) row: PersonRow,
    pub(crate) sealed: Vec<SealedRow>,
    pub(crate) compartments: Vec<Compartment>,
    pub(crate) fields: Vec<Field>,
}

/// SHA-256 over a person's stored state, as recorded in write events. Key
/// wrapping (`ck_version`, `wrapped_key`) is left out, so that key rotation
/// does not change it; a tampered wrapping fails authentication instead.
pub fn state_digest(row: &PersonRow, sealed: &[SealedRow]) -> [u8; 32] {
    fn part(h: &mut Sha256, bytes: &[u8]) {
        h.update((bytes.len() as u32).to_be_bytes());
        h.update(bytes);
    }
    fn opt(h: &mut Sha256, bytes: &Option<Vec<u8>>) {
        match bytes {
            Some(b) => {
                h.update([1]);
                part(h, b);
            }
            None => h.update([0]),
        }
    }
    let mut h = Sha256::new();
    part(&mut h, b"lanyard/state/v1");
    part(&mut h, row.id.as_bytes());
    part(&mut h, row.status.as_bytes());
    h.update([u8::from(row.protected)]);
    h.update(row.row_version.to_be_bytes());
    opt(&mut h, &row.sn_index);
    opt(&mut h, &row.surname_index);
    opt(&mut h, &row.email_index);
    let mut rows: Vec<&SealedRow> = sealed.iter().collect();
    rows.sort_by(|a, b| a.compartment.cmp(&b.compartment));
    for r in rows {
        part(&mut h, r.compartment.as_bytes());
        h.update(r.key_version.to_be_bytes());
        part(&mut h, &r.fields);
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Both nibbles are below 16, so from_digit always succeeds.
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    out
}

pub(crate) fn check_purpose(purpose: Option<&str>) -> Result<String, RegisterError> {
    let p = purpose.map(str::trim).unwrap_or("");
    if p.chars().count() < 3 || p.chars().count() > 200 || p.chars().any(char::is_control) {
        return Err(RegisterError::new(ErrorKind::PurposeRequired));
    }
    Ok(p.to_owned())
}

fn to_status(row: &PersonRow) -> Result<PersonStatus, RegisterError> {
    row.status.parse().map_err(|_| {
        RegisterError::new(ErrorKind::Corrupt { person: PersonId::from_uuid(row.id), what: "unknown status".into() })
    })
}

fn parse_compartment(person: PersonId, name: &str) -> Result<Compartment, RegisterError> {
    name.parse().map_err(|_| RegisterError::new(ErrorKind::Corrupt { person, what: "unknown compartment".into() }))
}

fn to_u32(person: PersonId, v: i64) -> Result<u32, RegisterError> {
    u32::try_from(v)
        .map_err(|_| RegisterError::new(ErrorKind::Corrupt { person, what: "key version out of range".into() }))
}

impl Register {
    pub(crate) fn from_parts(ledger: Ledger, vault: Vault, provider: Arc<dyn KeyProvider>) -> Self {
        Register { ledger, vault: std::sync::RwLock::new(Arc::new(vault)), provider, ranks: RankTable::default_ranks() }
    }

    /// The store, for this crate's reads. Other services have the ledger.
    pub(crate) fn store(&self) -> &Store {
        self.ledger.store()
    }

    /// The keys as they are now.
    pub(crate) fn vault(&self) -> Arc<Vault> {
        // A poisoned lock still holds a whole vault: it is only ever replaced.
        match self.vault.read() {
            Ok(v) => Arc::clone(&v),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
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

    /// The force's rank table.
    pub fn ranks(&self) -> &RankTable {
        &self.ranks
    }

    /// Appends events, group-committed with any concurrent ones, and
    /// returns the leaf index of the first once it is durable.
    pub async fn record(&self, events: &[Event]) -> Result<u64, RegisterError> {
        Ok(self.ledger.record(events).await?)
    }

    /// Adds one person. `record.photo`, if present, is the raw upload; it is
    /// re-encoded here.
    pub async fn add(
        &self,
        op: &Operator,
        mut record: PersonRecord,
        protected: bool,
        now_ms: i64,
    ) -> Result<PersonId, RegisterError> {
        record.check_complete()?;
        if let Some(raw) = record.photo.take() {
            record.photo = Some(normalise_photo(&raw).map_err(|e| RegisterError::new(ErrorKind::Photo(e)))?);
        }
        let id = PersonId::new();
        let sp = seal_new(&self.vault(), id, &record, protected, now_ms / 1000)?;
        let event = write_event(op, "person.create", now_ms, &sp);
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_people(std::slice::from_ref(&sp.row)).await.map_err(duplicate_or)?;
        tx.tx().insert_sealed(&sp.sealed).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Imports validated records (photos already normalised) in one
    /// transaction. Records whose service number is already registered are
    /// left alone and reported, which makes a repeated import a no-op.
    pub async fn import(
        &self,
        op: &Operator,
        records: Vec<(usize, PersonRecord)>,
        now_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ImportOutcome, RegisterError> {
        let (outcome, _) = self.import_from(op, records.into_iter(), false, now_ms, progress).await?;
        Ok(outcome)
    }

    /// Imports from a source read chunk by chunk, in one transaction: a
    /// worker thread reads and seals the next chunk while this task writes
    /// the last one (the database writer is one thread, so that is where the
    /// time goes). With `strict`, a source that refused any row rolls the
    /// whole import back. The source is handed back for its error list.
    pub async fn import_from<S: RecordSource + 'static>(
        &self,
        op: &Operator,
        source: S,
        strict: bool,
        now_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(ImportOutcome, S), RegisterError> {
        let mut outcome = ImportOutcome::default();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<SealedChunk, RegisterError>>(4);
        let vault = self.vault();
        let worker_op = op.clone();
        let worker = std::thread::spawn(move || {
            let mut source = source;
            while let Some(part) = source.next_chunk(IMPORT_CHUNK) {
                let chunk = seal_chunk(&vault, &worker_op, &part, now_ms);
                let failed = chunk.is_err();
                if sender.blocking_send(chunk).is_err() || failed {
                    break;
                }
            }
            source
        });
        let mut tx = self.ledger.begin().await?;
        let (mut waited, mut wrote) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        loop {
            let t = std::time::Instant::now();
            let Some(chunk) = receiver.recv().await else { break };
            waited += t.elapsed();
            let t = std::time::Instant::now();
            let chunk = chunk?;
            let in_chunk = chunk.len() as u64;
            let indexes: Vec<Vec<u8>> =
                chunk.iter().map(|(_, sp, _)| sp.row.sn_index.clone().unwrap_or_default()).collect();
            let taken: HashSet<Vec<u8>> = tx.tx().taken_service_indexes(&indexes).await?.into_iter().collect();
            let (mut people, mut sealed, mut events) = (Vec::new(), Vec::new(), Vec::new());
            for ((line, sp, event), index) in chunk.into_iter().zip(indexes) {
                if taken.contains(&index) {
                    outcome.already_registered.push(line);
                    continue;
                }
                outcome.imported.push(PersonId::from_uuid(sp.row.id));
                people.push(sp.row);
                sealed.extend(sp.sealed);
                events.push(event);
            }
            tx.tx().insert_people(&people).await.map_err(duplicate_or)?;
            tx.tx().insert_sealed(&sealed).await?;
            tx.append_encoded(&events).await?;
            progress(in_chunk);
            wrote += t.elapsed();
        }
        let source = worker.join().map_err(|_| RegisterError::new(ErrorKind::Internal("the sealing thread failed")))?;
        if strict && source.refused() > 0 {
            drop(tx);
            return Ok((ImportOutcome { rolled_back: true, ..outcome }, source));
        }
        if tx.events() == 0 {
            // Everyone was registered already: nothing was written.
            return Ok((outcome, source));
        }
        let t = std::time::Instant::now();
        tx.commit().await?;
        tracing::debug!(
            people = outcome.imported.len(),
            waited_for_sealing_ms = waited.as_millis() as u64,
            writing_ms = wrote.as_millis() as u64,
            commit_ms = t.elapsed().as_millis() as u64,
            "import committed"
        );
        Ok((outcome, source))
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

    /// Reveals `compartments` of one person.
    pub async fn show(
        &self,
        op: &Operator,
        id: PersonId,
        compartments: &[Compartment],
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Revealed, RegisterError> {
        let purpose = check_purpose(purpose)?;
        let row =
            self.store().person(*id.as_uuid()).await?.ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))?;
        let mut out = self.reveal(op, vec![row], compartments, &purpose, now_ms, "person.read").await?;
        out.pop().ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))
    }

    /// Reveals `compartments` of many people, 500 to an audit event. Ids
    /// not in the register are left out of the answer.
    pub async fn show_many(
        &self,
        op: &Operator,
        ids: &[PersonId],
        compartments: &[Compartment],
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Revealed>, RegisterError> {
        let purpose = check_purpose(purpose)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let uuids: Vec<Uuid> = chunk.iter().map(|p| *p.as_uuid()).collect();
            let rows = self.store().people_by_id(&uuids).await?;
            out.extend(self.reveal(op, rows, compartments, &purpose, now_ms, "person.read").await?);
        }
        Ok(out)
    }

    /// Whether the person's vetting meets any of `accepted` (minimum levels,
    /// on any ladder) and has not expired by `today`. The level is decrypted
    /// here and never leaves: the caller learns only yes or no. The read is
    /// audited as `vetting.check` with `purpose`, before it happens.
    pub async fn vetting_satisfies(
        &self,
        op: &Operator,
        id: PersonId,
        accepted: &[lanyard_core::VettingLevel],
        today: time::Date,
        purpose: &str,
        now_ms: i64,
    ) -> Result<VettingDecision, RegisterError> {
        let purpose = check_purpose(Some(purpose))?;
        let row =
            self.store().person(*id.as_uuid()).await?.ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))?;
        // The decision is the system's, so the protected flag does not hide
        // vetting from it; the caller still sees no value.
        let system = Operator { protected_clearance: true, ..op.clone() };
        let mut out =
            self.reveal(&system, vec![row], &[Compartment::Vetting], &purpose, now_ms, "vetting.check").await?;
        let record = out.pop().map(|r| r.record).unwrap_or_default();
        Ok(match (record.vetting_level, record.vetting_expiry) {
            (None, _) => VettingDecision::NotVetted,
            (Some(_), Some(expiry)) if expiry < today => VettingDecision::Expired,
            (Some(level), _) if accepted.iter().any(|need| level.satisfies(*need)) => VettingDecision::Satisfied,
            (Some(_), _) => VettingDecision::Insufficient,
        })
    }

    /// Finds people by exact service number, surname or email, and reveals
    /// `compartments` of each.
    pub async fn find(
        &self,
        op: &Operator,
        lookup: Lookup<'_>,
        compartments: &[Compartment],
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Revealed>, RegisterError> {
        let purpose = check_purpose(purpose)?;
        let vault = self.vault();
        let ix = vault.indexer();
        let (column, index) = match lookup {
            Lookup::ServiceNumber(v) => {
                (IndexColumn::ServiceNumber, ix.index(Field::ServiceNumber, &normalise_service_number(v)?))
            }
            Lookup::Surname(v) => (IndexColumn::Surname, ix.index(Field::Surname, &normalise_name(v))),
            Lookup::Email(v) => (IndexColumn::Email, ix.index(Field::Email, &normalise_email(v))),
        };
        let Some(index) = index else { return Ok(Vec::new()) };
        let rows = self.store().find(column, &index).await?;
        self.reveal(op, rows, compartments, &purpose, now_ms, "person.find").await
    }

    /// Streams every active person, page by page, revealing `compartments`.
    /// Each page's audit event is durable before that page is decrypted.
    pub async fn export(
        &self,
        op: &Operator,
        compartments: &[Compartment],
        purpose: Option<&str>,
        now_ms: i64,
        sink: &mut (dyn FnMut(Revealed) -> Result<(), RegisterError> + Send),
    ) -> Result<u64, RegisterError> {
        self.export_to(op, compartments, purpose, None, now_ms, sink).await
    }

    /// As [`Register::export`], for `recipient`: its canary (which must be
    /// planted) goes into the stream where its id sorts, like anyone else.
    /// The count returned is of people only.
    pub async fn export_to(
        &self,
        op: &Operator,
        compartments: &[Compartment],
        purpose: Option<&str>,
        recipient: Option<&str>,
        now_ms: i64,
        sink: &mut (dyn FnMut(Revealed) -> Result<(), RegisterError> + Send),
    ) -> Result<u64, RegisterError> {
        let purpose = check_purpose(purpose)?;
        let mut canary = match recipient {
            Some(r) => {
                let c = self.canary_for(r).await?;
                // Recorded before anything is read: an export to a recipient
                // is itself worth knowing of.
                let mut event = Event::new(now_ms, op.actor.clone(), "canary.include", Outcome::Ok);
                event.request_id = Some(op.request_id.clone());
                event.purpose = Some(purpose.clone());
                event.detail = Some(serde_json::json!({ "recipient": r }));
                self.record(std::slice::from_ref(&event)).await?;
                Some(crate::canary::revealed(&c, compartments))
            }
            None => None,
        };
        let mut after = None;
        let mut n = 0;
        loop {
            let rows = self.store().people_page(after, 500).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            let active: Vec<PersonRow> = rows.into_iter().filter(|r| r.status == "active").collect();
            for person in self.reveal(op, active, compartments, &purpose, now_ms, "person.export").await? {
                if canary.as_ref().is_some_and(|c| c.id.as_uuid() < person.id.as_uuid())
                    && let Some(c) = canary.take()
                {
                    sink(c)?;
                }
                sink(person)?;
                n += 1;
            }
        }
        if let Some(c) = canary {
            sink(c)?;
        }
        Ok(n)
    }

    /// Audit first, then decrypt. People are returned in the order given.
    async fn reveal(
        &self,
        op: &Operator,
        rows: Vec<PersonRow>,
        compartments: &[Compartment],
        purpose: &str,
        now_ms: i64,
        action: &str,
    ) -> Result<Vec<Revealed>, RegisterError> {
        let mut plan = Vec::with_capacity(rows.len());
        let mut revealed_people = Vec::new();
        for row in &rows {
            let id = PersonId::from_uuid(row.id);
            let status = to_status(row)?;
            let (allowed, withheld): (Vec<Compartment>, Vec<Compartment>) = compartments
                .iter()
                .partition(|c| lanyard_core::policy::may_reveal(row.protected, op.protected_clearance, **c));
            if status == PersonStatus::Active && !allowed.is_empty() {
                revealed_people.push(id);
            }
            plan.push((id, status, row.protected, allowed, withheld));
        }
        // Even a lookup that matched nobody is recorded: probing is access too.
        let mut event = Event::new(now_ms, op.actor.clone(), action, Outcome::Ok);
        event.people = revealed_people.clone();
        event.compartments = compartments.to_vec();
        event.fields = compartments.iter().flat_map(|c| c.fields().iter().copied()).collect();
        event.purpose = Some(purpose.to_owned());
        event.request_id = Some(op.request_id.clone());
        let withheld_count = plan.iter().filter(|p| !p.4.is_empty()).count();
        if withheld_count > 0 {
            event.detail = Some(serde_json::json!({ "withheld_protected": withheld_count }));
        }
        // Fail closed: no durable event, no plaintext.
        self.record(std::slice::from_ref(&event)).await?;

        let ids: Vec<Uuid> = revealed_people.iter().map(|p| *p.as_uuid()).collect();
        let names: Vec<&str> = compartments.iter().map(|c| c.as_str()).collect();
        let sealed = self.store().sealed(&ids, &names).await?;
        // A key version this process has not seen was made by a rotation
        // elsewhere (another server, the CLI): load the keys again, once.
        let vault = self.vault();
        let unseen = sealed.iter().any(|s| {
            s.compartment
                .parse::<Compartment>()
                .ok()
                .and_then(|c| vault.keyring(c))
                .is_none_or(|k| u32::try_from(s.ck_version).map_or(true, |v| !k.versions().contains(&v)))
        });
        if unseen {
            self.reload_keys().await?;
        }
        let mut out = Vec::with_capacity(plan.len());
        for (id, status, protected, allowed, withheld) in plan {
            let mut record = PersonRecord::default();
            if status == PersonStatus::Active {
                for s in sealed.iter().filter(|s| s.person_id == *id.as_uuid()) {
                    let compartment = parse_compartment(id, &s.compartment)?;
                    if !allowed.contains(&compartment) {
                        continue;
                    }
                    self.open_into(id, s, compartment, compartment.fields(), &mut record)?;
                }
            }
            out.push(Revealed { id, status, protected, record, withheld });
        }
        Ok(out)
    }

    fn open_into(
        &self,
        id: PersonId,
        row: &SealedRow,
        compartment: Compartment,
        wanted: &[Field],
        record: &mut PersonRecord,
    ) -> Result<(), RegisterError> {
        let sealed = from_row(id, row, compartment)?;
        let opened = self
            .vault()
            .open_compartment(id, &sealed, wanted)
            .map_err(|f| RegisterError::new(ErrorKind::Tampered { person: id, compartment, field: f.field }))?;
        for (field, bytes) in opened {
            record.set_field_bytes(field, bytes).map_err(|_| {
                RegisterError::new(ErrorKind::Corrupt { person: id, what: format!("field {field} does not decode") })
            })?;
        }
        Ok(())
    }

    /// Changes the fields set in `changes` (and `protected`, if given).
    /// Every touched compartment is re-sealed under a new person key.
    pub async fn update(
        &self,
        op: &Operator,
        id: PersonId,
        mut changes: PersonRecord,
        protected: Option<bool>,
        now_ms: i64,
    ) -> Result<(), RegisterError> {
        if let Some(raw) = changes.photo.take() {
            changes.photo = Some(normalise_photo(&raw).map_err(|e| RegisterError::new(ErrorKind::Photo(e)))?);
        }
        let old =
            self.store().person(*id.as_uuid()).await?.ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))?;
        if to_status(&old)? == PersonStatus::Erased {
            return Err(RegisterError::new(ErrorKind::Erased(id)));
        }
        let touched: Vec<Compartment> = Compartment::ALL.into_iter().filter(|c| changes.has_compartment(*c)).collect();
        let changed_fields: Vec<Field> = Field::ALL.into_iter().filter(|f| changes.has(*f)).collect();
        let all_names: Vec<&str> = Compartment::ALL.iter().map(|c| c.as_str()).collect();
        let current = self.store().sealed(&[*id.as_uuid()], &all_names).await?;

        // Merge: current plaintext of each touched compartment, then the changes.
        let mut merged = PersonRecord::default();
        let mut new_rows = Vec::new();
        for c in &touched {
            let existing = current.iter().find(|r| r.compartment == c.as_str());
            let next_version = match existing {
                Some(r) => {
                    self.open_into(id, r, *c, c.fields(), &mut merged)?;
                    to_u32(id, r.key_version)?.saturating_add(1)
                }
                None => 1,
            };
            for f in c.fields() {
                if let Some(b) = changes.field_bytes(*f) {
                    merged.set_field_bytes(*f, b)?;
                }
            }
            let values: Vec<(Field, Vec<u8>)> =
                c.fields().iter().filter_map(|f| merged.field_bytes(*f).map(|b| (*f, b))).collect();
            let refs: Vec<(Field, &[u8])> = values.iter().map(|(f, b)| (*f, b.as_slice())).collect();
            new_rows.push(to_row(id, &self.vault().seal_compartment(id, *c, next_version, &refs)?));
        }
        let mut row = old.clone();
        if touched.contains(&Compartment::Identity) {
            let indexes = indexes(&self.vault(), &merged);
            row.sn_index = indexes.service_number;
            row.surname_index = indexes.surname;
            row.email_index = indexes.email;
        }
        if let Some(p) = protected {
            row.protected = p;
        }
        row.row_version += 1;
        row.updated_at = now_ms / 1000;
        let mut state: Vec<SealedRow> =
            current.into_iter().filter(|r| !touched.iter().any(|c| c.as_str() == r.compartment)).collect();
        state.extend(new_rows.iter().cloned());

        let sp = SealedPerson { row, sealed: state, compartments: touched, fields: changed_fields };
        let mut event = write_event(op, "person.update", now_ms, &sp);
        if let Some(p) = protected {
            event.detail = Some(serde_json::json!({ "protected": p }));
        }
        let mut tx = self.ledger.begin().await?;
        tx.tx().update_person(&sp.row, old.row_version).await.map_err(duplicate_or)?;
        for r in &new_rows {
            tx.tx().upsert_sealed(r).await?;
        }
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Crypto-shreds a person: their sealed compartments (person keys and
    /// ciphertexts) and blind indexes are deleted, the row becomes a
    /// tombstone, and the store is purged so no copy of it taken afterwards
    /// holds them.
    pub async fn erase(&self, op: &Operator, id: PersonId, now_ms: i64) -> Result<(), RegisterError> {
        let old =
            self.store().person(*id.as_uuid()).await?.ok_or_else(|| RegisterError::new(ErrorKind::NotFound(id)))?;
        if to_status(&old)? == PersonStatus::Erased {
            return Err(RegisterError::new(ErrorKind::Erased(id)));
        }
        let row = PersonRow {
            status: PersonStatus::Erased.as_str().to_owned(),
            sn_index: None,
            surname_index: None,
            email_index: None,
            row_version: old.row_version + 1,
            updated_at: now_ms / 1000,
            ..old.clone()
        };
        let sp = SealedPerson { row, sealed: Vec::new(), compartments: Compartment::ALL.to_vec(), fields: Vec::new() };
        let event = write_event(op, "person.erase", now_ms, &sp);
        let names: Vec<&str> = Compartment::ALL.iter().map(|c| c.as_str()).collect();
        let mut tx = self.ledger.begin().await?;
        tx.tx().update_person(&sp.row, old.row_version).await?;
        tx.tx().delete_sealed(*id.as_uuid(), &names).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        self.store().purge_deleted().await?;
        Ok(())
    }
}

fn indexes(vault: &Vault, record: &PersonRecord) -> BlindIndexes {
    let ix = vault.indexer();
    let idx = |field: Field, value: Option<String>| value.and_then(|v| ix.index(field, &v)).map(|h| h.to_vec());
    BlindIndexes {
        service_number: idx(Field::ServiceNumber, record.service_number.clone()),
        surname: idx(Field::Surname, record.surname.as_deref().map(normalise_name)),
        email: idx(Field::Email, record.email.as_deref().map(normalise_email)),
    }
}

/// Seals every compartment `record` holds, with person keys of version 1.
pub(crate) fn seal_new(
    vault: &Vault,
    id: PersonId,
    record: &PersonRecord,
    protected: bool,
    now_s: i64,
) -> Result<SealedPerson, RegisterError> {
    let indexes = indexes(vault, record);
    let row = PersonRow {
        id: *id.as_uuid(),
        status: PersonStatus::Active.as_str().to_owned(),
        protected,
        created_at: now_s,
        updated_at: now_s,
        row_version: 1,
        sn_index: indexes.service_number,
        surname_index: indexes.surname,
        email_index: indexes.email,
    };
    let mut sealed = Vec::new();
    let mut compartments = Vec::new();
    let mut fields = Vec::new();
    for compartment in Compartment::ALL {
        let values: Vec<(Field, Vec<u8>)> =
            compartment.fields().iter().filter_map(|f| record.field_bytes(*f).map(|b| (*f, b))).collect();
        if values.is_empty() {
            continue;
        }
        let refs: Vec<(Field, &[u8])> = values.iter().map(|(f, b)| (*f, b.as_slice())).collect();
        let s = vault.seal_compartment(id, compartment, 1, &refs)?;
        fields.extend(values.iter().map(|(f, _)| *f));
        compartments.push(compartment);
        sealed.push(to_row(id, &s));
    }
    Ok(SealedPerson { row, sealed, compartments, fields })
}

fn write_event(op: &Operator, action: &str, now_ms: i64, sp: &SealedPerson) -> Event {
    let mut e = Event::new(now_ms, op.actor.clone(), action, Outcome::Ok);
    e.people = vec![PersonId::from_uuid(sp.row.id)];
    e.compartments = sp.compartments.clone();
    e.fields = sp.fields.clone();
    e.request_id = Some(op.request_id.clone());
    e.digest = Some(hex(&state_digest(&sp.row, &sp.sealed)));
    e
}

fn summary_of(row: &PersonRow) -> Result<PersonSummary, RegisterError> {
    Ok(PersonSummary {
        id: PersonId::from_uuid(row.id),
        status: to_status(row)?,
        protected: row.protected,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn duplicate_or(e: lanyard_store::StoreError) -> RegisterError {
    match e.kind() {
        lanyard_store::StoreErrorKind::Conflict(what) if what.contains("sn_index") || what.contains("unique") => {
            RegisterError::new(ErrorKind::DuplicateServiceNumber)
        }
        _ => RegisterError::from(e),
    }
}

pub(crate) fn to_row(id: PersonId, s: &SealedCompartment) -> SealedRow {
    SealedRow {
        person_id: *id.as_uuid(),
        compartment: s.compartment.as_str().to_owned(),
        ck_version: i64::from(s.ck_version),
        key_version: i64::from(s.key_version),
        wrapped_key: s.wrapped_key.clone(),
        fields: encode_fields(&s.fields),
    }
}

pub(crate) fn from_row(
    id: PersonId,
    row: &SealedRow,
    compartment: Compartment,
) -> Result<SealedCompartment, RegisterError> {
    let fields =
        decode_fields(&row.fields).map_err(|what| RegisterError::new(ErrorKind::Corrupt { person: id, what }))?;
    Ok(SealedCompartment {
        compartment,
        ck_version: to_u32(id, row.ck_version)?,
        wrapped_key: row.wrapped_key.clone(),
        key_version: to_u32(id, row.key_version)?,
        fields,
    })
}
