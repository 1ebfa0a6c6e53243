//! Writes of people: each compartment sealed under a fresh person key, and
//! the write's audit event, with the digest of the new sealed state, in the
//! same transaction; and the stored form of sealed rows.

use lanyard_audit::{Event, Outcome, leaf_hash};
use lanyard_core::{Compartment, Field, PersonId, PersonRecord, PersonStatus, normalise_email, normalise_name};
use lanyard_crypto::{SealedCompartment, Vault};
use lanyard_store::{AuditEntry, PersonRow, SealedRow};
use sha2::{Digest, Sha256};

use crate::codec::{decode_fields, encode_fields};
use crate::error::{ErrorKind, RegisterError};
use crate::photo::normalise_photo;
use crate::register::{Operator, Register};

/// The blind indexes of one person's identity.
pub(crate) struct BlindIndexes {
    service_number: Option<Vec<u8>>,
    surname: Option<Vec<u8>>,
    email: Option<Vec<u8>>,
}

pub(crate) fn encode_event(e: &Event) -> AuditEntry {
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
    part(&mut h, row.status.as_str().as_bytes());
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Both nibbles are below 16, so from_digit always succeeds.
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    out
}

pub(crate) fn to_u32(person: PersonId, v: i64) -> Result<u32, RegisterError> {
    u32::try_from(v)
        .map_err(|_| RegisterError::new(ErrorKind::Corrupt { person, what: "key version out of range".into() }))
}

pub(crate) fn indexes(vault: &Vault, record: &PersonRecord) -> BlindIndexes {
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
        status: PersonStatus::Active,
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

pub(crate) fn write_event(op: &Operator, action: &str, now_ms: i64, sp: &SealedPerson) -> Event {
    let mut e = Event::new(now_ms, op.actor.clone(), action, Outcome::Ok);
    e.people = vec![PersonId::from_uuid(sp.row.id)];
    e.compartments = sp.compartments.clone();
    e.fields = sp.fields.clone();
    e.request_id = Some(op.request_id.clone());
    e.digest = Some(hex(&state_digest(&sp.row, &sp.sealed)));
    e
}

pub(crate) fn duplicate_or(e: lanyard_store::StoreError) -> RegisterError {
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

impl Register {
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
        let sp = seal_new(&*self.vault()?, id, &record, protected, now_ms / 1000)?;
        let event = write_event(op, "person.create", now_ms, &sp);
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_people(std::slice::from_ref(&sp.row)).await.map_err(duplicate_or)?;
        tx.tx().insert_sealed(&sp.sealed).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(id)
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
        if old.status == PersonStatus::Erased {
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
            new_rows.push(to_row(id, &self.vault()?.seal_compartment(id, *c, next_version, &refs)?));
        }
        let mut row = old.clone();
        if touched.contains(&Compartment::Identity) {
            let indexes = indexes(&*self.vault()?, &merged);
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
        if old.status == PersonStatus::Erased {
            return Err(RegisterError::new(ErrorKind::Erased(id)));
        }
        let row = PersonRow {
            status: PersonStatus::Erased,
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
        // The notes of every event that named them go too: their keys are
        // deleted, and the ciphertexts in the log no longer open.
        let shredded = tx.tx().shred_notes_of(*id.as_uuid()).await?;
        let mut event = event;
        if shredded > 0 {
            event.detail = Some(serde_json::json!({ "notes_shredded": shredded }));
        }
        tx.append(&[event]).await?;
        tx.commit().await?;
        self.store().purge_deleted().await?;
        Ok(())
    }
}
