//! The supplier-compromise drill: everything a full compromise of one
//! supplier would yield right now, read from the store without decrypting
//! anything.
//!
//! A supplier holds its private key, its service tokens, its spool, and can
//! download its pending batches. With the key, every pending batch opens, and
//! so does every batch it downloaded and never confirmed (the agent wipes
//! its spool only on confirmation). Those batches' cards, and the fields
//! recorded for each card when it was packed, are the exposure.

use std::collections::{BTreeMap, BTreeSet};

use lanyard_audit::{Event, Outcome};
use lanyard_core::{BatchState, PersonId};
use lanyard_register::Operator;
use lanyard_store::BatchRow;
use serde::{Deserialize, Serialize};

use crate::error::SupplyError;
use crate::service::Supply;

/// Fields that are never packed for a supplier. The drill reports them with
/// the count it finds, which is zero unless packing goes wrong.
pub const NEVER_PACKED: [&str; 6] = ["vetting", "salary", "pay_grade", "unit", "email", "date_of_birth"];

/// A batch the supplier could open.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExposedBatch {
    /// Batch id.
    pub batch: String,
    /// `pending`, or the state of a downloaded batch never confirmed.
    pub state: BatchState,
    /// Cards in it.
    pub cards: i64,
    /// Downloads so far.
    pub downloads: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A person whose data the supplier could read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExposedPerson {
    /// Person id.
    pub person: PersonId,
    /// Their cards in exposed batches.
    pub cards: Vec<String>,
    /// The fields of theirs the supplier holds.
    pub fields: Vec<String>,
}

/// A live service token of the supplier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExposedToken {
    /// Token id.
    pub id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The drill's report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exposure {
    /// Supplier.
    pub supplier: String,
    /// Whether it can still download.
    pub enabled: bool,
    /// Its recipient (the public half of its key).
    pub recipient: String,
    /// When (unix seconds).
    pub at: i64,
    /// Live tokens: each downloads every pending batch until revoked.
    pub tokens: Vec<ExposedToken>,
    /// Pending batches it can download now.
    pub downloadable: Vec<ExposedBatch>,
    /// Batches it downloaded and never confirmed, now closed: their files
    /// may still sit in its spool.
    pub spool: Vec<ExposedBatch>,
    /// People exposed.
    pub people: Vec<ExposedPerson>,
    /// For each field, how many people's value the supplier holds.
    pub fields: BTreeMap<String, usize>,
}

impl Exposure {
    /// The ids of every exposed batch.
    pub fn batch_ids(&self) -> impl Iterator<Item = &str> {
        self.downloadable.iter().chain(&self.spool).map(|b| b.batch.as_str())
    }
}

fn exposed(b: &BatchRow) -> ExposedBatch {
    ExposedBatch {
        batch: b.id.clone(),
        state: b.state,
        cards: b.card_count,
        downloads: b.downloads,
        expires_at: b.expires_at,
    }
}

impl Supply {
    /// What a full compromise of `supplier` would yield at `now_ms`.
    /// Recorded as `drill.supplier_compromise` (counts only).
    pub async fn drill(&self, op: &Operator, supplier: &str, now_ms: i64) -> Result<Exposure, SupplyError> {
        let now_s = now_ms / 1000;
        let store = self.ledger.store();
        let row = self.supplier_row(supplier, now_ms).await?;
        let enabled = row.disabled_at.is_none();
        let tokens: Vec<ExposedToken> = self
            .ledger
            .check_all(store.service_tokens().await?, now_ms)
            .await?
            .into_iter()
            .filter(|t| {
                t.role == lanyard_core::Role::PrintSupplier
                    && t.subject == row.name
                    && t.revoked_at.is_none()
                    && t.expires_at > now_s
            })
            .map(|t| ExposedToken { id: t.id.to_string(), expires_at: t.expires_at })
            .collect();
        let mut downloadable = Vec::new();
        let mut spool = Vec::new();
        let mut open = Vec::new();
        for b in self.ledger.check_all(store.batches(Some(&row.name), None).await?, now_ms).await? {
            let live = b.state == BatchState::Pending && b.expires_at > now_s && enabled;
            if live {
                downloadable.push(exposed(&b));
                open.push(b);
            } else if b.state != BatchState::Confirmed && b.downloads > 0 {
                spool.push(exposed(&b));
                open.push(b);
            }
        }
        let mut by_person: BTreeMap<PersonId, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for members in self.members_of(&open).await?.into_values() {
            for m in members {
                let entry = by_person.entry(m.person_id).or_default();
                entry.0.insert(m.card_id);
                entry.1.extend(m.fields);
            }
        }
        let mut fields: BTreeMap<String, usize> = NEVER_PACKED.iter().map(|f| ((*f).to_owned(), 0)).collect();
        for (_, person_fields) in by_person.values() {
            for f in person_fields {
                *fields.entry(f.clone()).or_default() += 1;
            }
        }
        let people: Vec<ExposedPerson> = by_person
            .into_iter()
            .map(|(id, (cards, f))| ExposedPerson {
                person: id,
                cards: cards.into_iter().collect(),
                fields: f.into_iter().collect(),
            })
            .collect();
        let mut ev = Event::new(now_ms, op.actor.clone(), "drill.supplier_compromise", Outcome::Ok);
        ev.request_id = Some(op.request_id.clone());
        ev.detail = Some(serde_json::json!({
            "supplier": row.name, "people": people.len(), "downloadable": downloadable.len(), "spool": spool.len(),
            "tokens": tokens.len(),
        }));
        self.register().record(&[ev]).await?;
        Ok(Exposure {
            supplier: row.name,
            enabled,
            recipient: row.recipient,
            at: now_s,
            tokens,
            downloadable,
            spool,
            people,
            fields,
        })
    }
}
