//! Reads of personal data: every one needs a purpose, and its audit event
//! is durable before anything is decrypted (audit first, then decrypt).

use base64::Engine;
use lanyard_audit::{Event, Note, Outcome};
use lanyard_core::{
    Compartment, Field, PersonId, PersonRecord, PersonStatus, Purpose, normalise_email, normalise_name,
    normalise_service_number,
};
use lanyard_store::{IndexColumn, NoteKeyRow, PersonRow, SealedRow};
use uuid::Uuid;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{FindFilter, Lookup, Operator, Register, Revealed, ShortEntry, VettingDecision};
use crate::write::from_row;

pub(crate) fn parse_compartment(person: PersonId, name: &str) -> Result<Compartment, RegisterError> {
    name.parse().map_err(|_| RegisterError::new(ErrorKind::Corrupt { person, what: "unknown compartment".into() }))
}

impl Register {
    /// Reads a purpose as an operator typed it (`CODE`, `CODE: note`, or
    /// free text, which becomes code `other` with the text as its note)
    /// against the force's codes.
    pub fn purpose(&self, text: Option<&str>) -> Result<Purpose, RegisterError> {
        Purpose::parse(text.unwrap_or(""), self.purpose_codes())
            .map_err(|_| RegisterError::new(ErrorKind::PurposeRequired))
    }

    /// Puts `purpose` on `event`, whose people must be set already: the
    /// code in clear, the note sealed under a key of its own. Returns that
    /// key's row, to be stored in the transaction that appends the event,
    /// linked to the event's people so that erasing any of them shreds it.
    pub(crate) fn stamp(
        &self,
        event: &mut Event,
        purpose: &Purpose,
        now_ms: i64,
    ) -> Result<Option<NoteKeyRow>, RegisterError> {
        event.purpose = Some(purpose.code().to_owned());
        match purpose.note() {
            Some(text) => self.seal_note(event, text, now_ms).map(Some),
            None => Ok(None),
        }
    }

    /// Seals `text` into `event` as its note; returns the note key's row,
    /// linked to the event's people (which must be set already).
    pub(crate) fn seal_note(&self, event: &mut Event, text: &str, now_ms: i64) -> Result<NoteKeyRow, RegisterError> {
        let vault = self.vault()?;
        let sealer = vault.notes().ok_or_else(|| RegisterError::new(ErrorKind::Internal("no audit-notes key")))?;
        // Time-ordered, so each group commit appends to the notes tables' B-trees
        // rather than touching pages all over them (the event says the time anyway).
        let id = Uuid::now_v7().simple().to_string();
        let sealed = sealer.seal(&id, text.as_bytes())?;
        event.note =
            Some(Note { id: id.clone(), sealed: base64::engine::general_purpose::STANDARD.encode(&sealed.sealed) });
        Ok(NoteKeyRow {
            id,
            wrapped: sealed.wrapped_key,
            created_at: now_ms / 1000,
            people: event.people.iter().map(|p| *p.as_uuid()).collect(),
        })
    }

    /// Group-commits one event with its note's key, if it has one.
    pub(crate) async fn record_stamped(&self, event: &Event, note: Option<NoteKeyRow>) -> Result<u64, RegisterError> {
        Ok(self.ledger.record_noted(std::slice::from_ref(event), note.into_iter().collect()).await?)
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
        let purpose = self.purpose(purpose)?;
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
        let purpose = self.purpose(purpose)?;
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
        let purpose = self.purpose(Some(purpose))?;
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
        let purpose = self.purpose(purpose)?;
        let vault = self.vault()?;
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

    /// Finds people and answers a short list, read from the identity
    /// compartment alone (and audited as such): id, service number, name,
    /// rank. The officer then opens the one they meant with `show`, so a
    /// common surname does not reveal everyone's full record.
    pub async fn find_short(
        &self,
        op: &Operator,
        lookup: Lookup<'_>,
        filter: &FindFilter,
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<ShortEntry>, RegisterError> {
        let found = self.find(op, lookup, &[Compartment::Identity], purpose, now_ms).await?;
        Ok(found.iter().filter(|p| filter.keeps(p)).map(ShortEntry::of).collect())
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
        let purpose = self.purpose(purpose)?;
        let mut canary = match recipient {
            Some(r) => {
                let c = self.canary_for(r, now_ms).await?;
                // Recorded before anything is read: an export to a recipient
                // is itself worth knowing of.
                let mut event = Event::new(now_ms, op.actor.clone(), "canary.include", Outcome::Ok);
                event.request_id = Some(op.request_id.clone());
                event.detail = Some(serde_json::json!({ "recipient": r }));
                let note = self.stamp(&mut event, &purpose, now_ms)?;
                self.record_stamped(&event, note).await?;
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
            let active: Vec<PersonRow> = rows.into_iter().filter(|r| r.status == PersonStatus::Active).collect();
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
    pub(crate) async fn reveal(
        &self,
        op: &Operator,
        rows: Vec<PersonRow>,
        compartments: &[Compartment],
        purpose: &Purpose,
        now_ms: i64,
        action: &str,
    ) -> Result<Vec<Revealed>, RegisterError> {
        let mut plan = Vec::with_capacity(rows.len());
        let mut revealed_people = Vec::new();
        for row in &rows {
            let id = PersonId::from_uuid(row.id);
            let status = row.status;
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
        event.request_id = Some(op.request_id.clone());
        // Fail closed on a key provider that is gone, and say so in the log:
        // the attempt, its people and purpose code, refused (no note: its
        // key is one of those not to be used).
        if let Err(e) = self.key_provider_live() {
            return Err(self.record_refused_read(event, purpose, e).await);
        }
        let note = self.stamp(&mut event, purpose, now_ms)?;
        let withheld_count = plan.iter().filter(|p| !p.4.is_empty()).count();
        if withheld_count > 0 {
            event.detail = Some(serde_json::json!({ "withheld_protected": withheld_count }));
        }
        // Fail closed: no durable event, no plaintext.
        let read_at = self.record_stamped(&event, note).await?;

        let ids: Vec<Uuid> = revealed_people.iter().map(|p| *p.as_uuid()).collect();
        let names: Vec<&str> = compartments.iter().map(|c| c.as_str()).collect();
        let sealed = self.store().sealed(&ids, &names).await?;
        // A key version this process has not seen was made by a rotation
        // elsewhere (another server, the CLI): load the keys again, once.
        let vault = self.vault()?;
        let unseen = sealed.iter().any(|s| {
            s.compartment
                .parse::<Compartment>()
                .ok()
                .and_then(|c| vault.keyring(c))
                .is_none_or(|k| u32::try_from(s.ck_version).map_or(true, |v| !k.versions().contains(&v)))
        });
        if unseen {
            self.reload_keys(now_ms).await?;
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
                    if let Err(e) = self.open_into(id, s, compartment, compartment.fields(), &mut record) {
                        return Err(self.record_failed_read(op, read_at, id, compartment, e, now_ms).await);
                    }
                }
            }
            out.push(Revealed { id, status, protected, record, withheld });
        }
        Ok(out)
    }

    /// A read refused before anything was opened: `event` is recorded as
    /// an error naming why. `e` is returned whether or not it could be.
    async fn record_refused_read(&self, mut event: Event, purpose: &Purpose, e: RegisterError) -> RegisterError {
        event.outcome = Outcome::Error;
        event.purpose = Some(purpose.code().to_owned());
        event.detail = Some(serde_json::json!({ "refused": "key_provider_unavailable", "error": e.code() }));
        if let Err(log) = self.record(std::slice::from_ref(&event)).await {
            tracing::error!(error = %log, "the refused read could not be recorded");
        }
        e
    }

    /// The read event at `read_at` was durable before anything was opened,
    /// and says what was asked. When opening then fails, a `read.failed`
    /// event names that event, the person and the compartment, so that the
    /// log never claims a read succeeded that did not. `e` is returned
    /// whether or not that event could be recorded.
    async fn record_failed_read(
        &self,
        op: &Operator,
        read_at: u64,
        id: PersonId,
        compartment: Compartment,
        e: RegisterError,
        now_ms: i64,
    ) -> RegisterError {
        let mut failed = Event::new(now_ms, op.actor.clone(), "read.failed", Outcome::Error);
        failed.people = vec![id];
        failed.compartments = vec![compartment];
        failed.request_id = Some(op.request_id.clone());
        failed.detail = Some(serde_json::json!({ "read_event": read_at, "error": e.code() }));
        if let Err(log) = self.record(std::slice::from_ref(&failed)).await {
            tracing::error!(error = %log, "the failed read could not be recorded");
        }
        e
    }

    pub(crate) fn open_into(
        &self,
        id: PersonId,
        row: &SealedRow,
        compartment: Compartment,
        wanted: &[Field],
        record: &mut PersonRecord,
    ) -> Result<(), RegisterError> {
        let sealed = from_row(id, row, compartment)?;
        let opened = self
            .vault()?
            .open_compartment(id, &sealed, wanted)
            .map_err(|f| RegisterError::new(ErrorKind::Tampered { person: id, compartment, field: f.field }))?;
        for (field, bytes) in opened {
            record.set_field_bytes(field, bytes).map_err(|_| {
                RegisterError::new(ErrorKind::Corrupt { person: id, what: format!("field {field} does not decode") })
            })?;
        }
        Ok(())
    }
}
