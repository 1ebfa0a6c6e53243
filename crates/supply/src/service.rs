//! The [`Supply`] service: suppliers, print batches and their lifetimes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lanyard_audit::Ledger;
use lanyard_audit::{Event, Outcome};
use lanyard_cards::{Card, Cards, new_id};
use lanyard_core::{BatchState, CardAction, CardState, PersonId, PrintOutcome, Reason};
use lanyard_register::{Operator, Register};
use lanyard_render::Renderer;
use lanyard_store::{BatchCardRow, BatchRow, SupplierRow};
use serde::{Deserialize, Serialize};

use crate::artwork::{CardPrint, render_all};
use crate::error::SupplyError;
use crate::file::{BatchFile, ChunkOut};
use crate::package::{Manifest, SealedArchive, parse_recipient};
use crate::signing::BatchSigner;

/// Cards read per step of a batch: their printed data (photos included)
/// is read ahead of the rendering.
const RENDER_CHUNK: usize = 128;

/// Cards drawn at once, on every core, before they go into the archive:
/// enough to keep eight render threads busy, few enough that the artwork
/// in hand (about 300 KB a card) stays small.
const RENDER_AHEAD: usize = 16;

/// How batches are made and how long they live.
#[derive(Clone, Copy, Debug)]
pub struct SupplyConfig {
    /// An unconfirmed batch is destroyed this long after it was made.
    pub batch_ttl_s: i64,
    /// At most this many cards per batch.
    pub max_cards: usize,
}

impl Default for SupplyConfig {
    fn default() -> Self {
        SupplyConfig { batch_ttl_s: 72 * 3600, max_cards: 250 }
    }
}

/// When `lanyard serve` batches on its own: as soon as `min_cards` wait, or
/// when the oldest approved card has waited `max_wait_s`.
#[derive(Clone, Debug)]
pub struct AutoBatch {
    /// The supplier batches go to.
    pub supplier: String,
    /// Batch when this many cards wait.
    pub min_cards: usize,
    /// Or when the oldest has waited this long, in seconds.
    pub max_wait_s: i64,
}

impl AutoBatch {
    /// Whether a batch is due, with `waiting` cards approved and the oldest
    /// approved at `oldest_s`.
    pub fn due(&self, waiting: usize, oldest_s: Option<i64>, now_s: i64) -> bool {
        waiting > 0 && (waiting >= self.min_cards || oldest_s.is_some_and(|t| now_s - t >= self.max_wait_s))
    }
}

/// A batch as callers see it: ids, counts, times, states.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch {
    /// Batch id.
    pub id: String,
    /// Supplier.
    pub supplier: String,
    /// The age recipient it was sealed to.
    pub recipient: String,
    /// `pending`, `confirmed`, `expired` or `destroyed`.
    pub state: BatchState,
    /// Cards in it.
    pub cards: i64,
    /// Sealed size in bytes.
    pub size: i64,
    /// SHA-256 of the sealed file, hex.
    pub sha256: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Downloads and exports so far.
    pub downloads: i64,
    /// Unix seconds, when closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
}

impl From<BatchRow> for Batch {
    fn from(r: BatchRow) -> Self {
        Batch {
            sha256: r.sealed_sha256.iter().map(|b| format!("{b:02x}")).collect(),
            id: r.id,
            supplier: r.supplier,
            recipient: r.recipient,
            state: r.state,
            cards: r.card_count,
            size: r.sealed_size,
            created_at: r.created_at,
            expires_at: r.expires_at,
            downloads: r.downloads,
            closed_at: r.closed_at,
        }
    }
}

/// One card of a batch and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCard {
    /// Card id.
    pub card_id: String,
    /// Whose card.
    pub person_id: PersonId,
    /// The names (never the values) of the fields printed for it.
    pub fields: Vec<String>,
    /// Set when the batch closed.
    pub outcome: Option<PrintOutcome>,
}

impl From<BatchCardRow> for BatchCard {
    fn from(r: BatchCardRow) -> Self {
        BatchCard {
            card_id: r.card_id,
            person_id: PersonId::from_uuid(r.person_id),
            fields: r.fields.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
            outcome: r.outcome,
        }
    }
}

/// What batch creation did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Created {
    /// The batch.
    pub batch: Batch,
    /// Its card ids.
    pub cards: Vec<String>,
    /// Approved cards of protected persons, held back: they are printed
    /// in-house, never by a contractor.
    pub held_back: Vec<String>,
}

/// What a confirmation did.
#[derive(Clone, Debug, Serialize)]
pub struct Receipt {
    /// Batch id.
    pub batch: String,
    /// Cards now printed.
    pub printed: Vec<String>,
    /// Cards returned to the queue.
    pub spoiled: Vec<String>,
    /// Cards named printed that had left the queue meanwhile (revoked, say)
    /// and stay as they are.
    pub skipped: Vec<String>,
}

/// A supplier as callers see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Supplier {
    /// Name.
    pub name: String,
    /// age recipient.
    pub recipient: String,
    /// Whether it may still receive and download batches.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<SupplierRow> for Supplier {
    fn from(r: SupplierRow) -> Self {
        Supplier { name: r.name, recipient: r.recipient, enabled: r.disabled_at.is_none(), created_at: r.created_at }
    }
}

/// The supplier exchange.
#[derive(Clone)]
pub struct Supply {
    register: Arc<Register>,
    // The suppliers' and batches' tables, and the log they write to.
    pub(crate) ledger: Ledger,
    cards: Cards,
    renderer: Arc<Renderer>,
    config: SupplyConfig,
}

fn rfc3339(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A batch or supplier name as echoed in errors: ours, but input may be
/// anything.
pub(crate) fn short(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || "._-@".contains(*c)).take(64).collect()
}

impl Supply {
    /// The service over a register and its cards.
    pub fn new(register: Arc<Register>, ledger: Ledger, cards: Cards, config: SupplyConfig) -> Self {
        Supply { register, ledger, cards, renderer: Arc::new(Renderer::new()), config }
    }

    /// The configuration.
    pub fn config(&self) -> &SupplyConfig {
        &self.config
    }

    pub(crate) fn register(&self) -> &Register {
        &self.register
    }

    fn event(op: &Operator, now_ms: i64, action: &str, people: Vec<PersonId>, detail: serde_json::Value) -> Event {
        let mut e = Event::new(now_ms, op.actor.clone(), action, Outcome::Ok);
        e.request_id = Some(op.request_id.clone());
        e.people = people;
        e.detail = Some(detail);
        e
    }

    // --- suppliers ---

    /// Registers a supplier by its public age recipient.
    pub async fn add_supplier(
        &self,
        op: &Operator,
        name: &str,
        recipient: &str,
        now_ms: i64,
    ) -> Result<Supplier, SupplyError> {
        if !lanyard_core::valid_name(name) {
            return Err(SupplyError::Invalid(
                "a supplier name is 1 to 64 letters, digits or . _ - @, as its tokens carry it".into(),
            ));
        }
        let recipient = parse_recipient(recipient)?.to_string();
        let now_s = now_ms / 1000;
        let mut row = SupplierRow {
            name: name.to_owned(),
            recipient: recipient.clone(),
            disabled_at: None,
            created_at: now_s,
            updated_at: now_s,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let ev = Self::event(
            op,
            now_ms,
            "supplier.add",
            vec![],
            serde_json::json!({
                "supplier": name, "recipient": recipient,
            }),
        );
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_supplier(&row).await?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Every supplier; refused whole if any row fails its integrity check.
    pub async fn suppliers(&self, now_ms: i64) -> Result<Vec<Supplier>, SupplyError> {
        let rows = self.ledger.check_all(self.ledger.store().suppliers().await?, now_ms).await?;
        Ok(rows.into_iter().map(Supplier::from).collect())
    }

    /// A supplier whose row (its recipient above all: batches are sealed to
    /// it) verifies, or a refusal.
    pub(crate) async fn supplier_row(&self, name: &str, now_ms: i64) -> Result<SupplierRow, SupplyError> {
        let row = self.ledger.store().supplier(name).await?;
        self.ledger.check_opt(row, now_ms).await?.ok_or_else(|| SupplyError::NoSupplier(short(name)))
    }

    /// Disables a supplier: it gets no more batches, its downloads stop, and
    /// its pending batches are destroyed with their cards back in the queue.
    pub async fn disable_supplier(
        &self,
        op: &Operator,
        name: &str,
        now_ms: i64,
    ) -> Result<(Supplier, Vec<String>), SupplyError> {
        let mut row = self.supplier_row(name, now_ms).await?;
        if row.disabled_at.is_some() {
            return Err(SupplyError::SupplierDisabled(row.name));
        }
        row.disabled_at = Some(now_ms / 1000);
        row.updated_at = now_ms / 1000;
        let ev = Self::event(op, now_ms, "supplier.disable", vec![], serde_json::json!({ "supplier": row.name }));
        self.change_supplier(op, row, ev, now_ms).await
    }

    /// Gives a supplier a new recipient. Pending batches sealed to the old
    /// one are destroyed and their cards return to the queue, to be sealed
    /// to the new one.
    pub async fn rotate_recipient(
        &self,
        op: &Operator,
        name: &str,
        recipient: &str,
        now_ms: i64,
    ) -> Result<(Supplier, Vec<String>), SupplyError> {
        let mut row = self.supplier_row(name, now_ms).await?;
        let new = parse_recipient(recipient)?.to_string();
        if new == row.recipient {
            return Err(SupplyError::Invalid("the new recipient is the current one".into()));
        }
        let ev = Self::event(
            op,
            now_ms,
            "supplier.rotate_recipient",
            vec![],
            serde_json::json!({
                "supplier": row.name, "old": row.recipient, "new": new,
            }),
        );
        row.recipient = new;
        row.updated_at = now_ms / 1000;
        self.change_supplier(op, row, ev, now_ms).await
    }

    async fn change_supplier(
        &self,
        op: &Operator,
        mut row: SupplierRow,
        event: Event,
        now_ms: i64,
    ) -> Result<(Supplier, Vec<String>), SupplyError> {
        self.ledger.tag(&mut row)?;
        let pending = self.ledger.store().batches(Some(&row.name), Some(BatchState::Pending)).await?;
        let pending = self.ledger.check_all(pending, now_ms).await?;
        let mut tx = self.ledger.begin().await?;
        tx.tx().update_supplier(&row).await?;
        tx.append(&[event]).await?;
        let mut withdrawn = Vec::new();
        for batch in pending {
            withdrawn.push(batch.id.clone());
            self.close_in(&mut tx, op, batch, BatchState::Destroyed, Reason::BatchWithdrawn, now_ms).await?;
        }
        tx.commit().await?;
        Ok((row.into(), withdrawn))
    }

    // --- batches ---

    /// One card's artwork, for the ID office to check before printing: its
    /// credential is signed and its holder's identity and photo read (with
    /// `purpose`, audited, as any credential).
    pub async fn artwork(
        &self,
        op: &Operator,
        card: &str,
        sides: &[lanyard_render::Side],
        pdf: bool,
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<u8>, SupplyError> {
        if sides.is_empty() || (!pdf && sides.len() != 1) {
            return Err(SupplyError::Invalid(
                "a PNG holds one side: ask for the front or the back, or for a PDF".into(),
            ));
        }
        let row = self.cards.card(card, now_ms).await?;
        let printable = self.cards.printable(op, card, purpose, now_ms).await?;
        let print = crate::artwork::CardPrint::new(&row, printable, self.cards.config());
        crate::artwork::preview(&print, sides, pdf).map_err(SupplyError::Render)
    }

    /// One batch.
    pub async fn batch(&self, id: &str, now_ms: i64) -> Result<Batch, SupplyError> {
        self.batch_row(id, now_ms).await.map(Batch::from)
    }

    async fn batch_row(&self, id: &str, now_ms: i64) -> Result<BatchRow, SupplyError> {
        let row = self.ledger.store().batch(id).await?;
        self.ledger.check_opt(row, now_ms).await?.ok_or_else(|| SupplyError::NoBatch(short(id)))
    }

    /// Batches of a supplier and/or in a state.
    pub async fn batches(
        &self,
        supplier: Option<&str>,
        state: Option<BatchState>,
        now_ms: i64,
    ) -> Result<Vec<Batch>, SupplyError> {
        let rows = self.ledger.check_all(self.ledger.store().batches(supplier, state).await?, now_ms).await?;
        Ok(rows.into_iter().map(Batch::from).collect())
    }

    /// The cards of a batch.
    pub async fn batch_cards(&self, id: &str) -> Result<Vec<BatchCard>, SupplyError> {
        Ok(self.ledger.store().batch_cards(id).await?.into_iter().map(BatchCard::from).collect())
    }

    /// Batches approved cards for `supplier`: reads each card's printed
    /// fields (audited, with the batch as purpose), renders the artwork,
    /// packs and seals it, and in one transaction stores the sealed file,
    /// queues the cards and records `batch.create` naming every person.
    pub async fn create_batch(
        &self,
        op: &Operator,
        supplier: &str,
        max_cards: Option<usize>,
        now_ms: i64,
    ) -> Result<Created, SupplyError> {
        let supplier = self.supplier_row(supplier, now_ms).await?;
        if supplier.disabled_at.is_some() {
            return Err(SupplyError::SupplierDisabled(supplier.name));
        }
        let recipient = parse_recipient(&supplier.recipient)?;
        self.expire_due(op, now_ms).await?;
        let limit = max_cards.unwrap_or(self.config.max_cards).clamp(1, self.config.max_cards.max(1));
        let mut chosen: Vec<Card> = Vec::new();
        let mut held_back = Vec::new();
        for row in self.cards.list(None, Some(CardState::Approved), now_ms).await? {
            if chosen.len() == limit {
                break;
            }
            if self.register.summary(row.person_id()).await?.protected {
                held_back.push(row.id);
            } else {
                chosen.push(row);
            }
        }
        if chosen.is_empty() {
            return Err(SupplyError::NothingToBatch);
        }
        let batch_id = format!("B{}", new_id());
        let now_s = now_ms / 1000;
        let expires_at = now_s + self.config.batch_ttl_s;
        let header = Manifest {
            format: String::new(),
            batch: batch_id.clone(),
            supplier: supplier.name.clone(),
            created_at: rfc3339(now_s),
            expires_at: rfc3339(expires_at),
            cards: vec![],
        };
        let signer = self.batch_signer(op, now_ms).await?;
        // Chunks of a batch whose making was cut off a day ago or more.
        self.ledger.store().sweep_batch_chunks(now_s - 86_400).await?;
        let sealed = self.seal_into_store(op, &chosen, header, recipient, signer, &batch_id, now_ms).await;
        let (size, sealed_sha256, fields) = match sealed {
            Ok(done) => done,
            Err(e) => {
                // Best effort: what is left is swept a day later.
                let _ = self.ledger.store().drop_batch_chunks(&batch_id).await;
                return Err(e);
            }
        };
        let sha: String = sealed_sha256.iter().map(|b| format!("{b:02x}")).collect();
        let mut row = BatchRow {
            id: batch_id.clone(),
            supplier: supplier.name.clone(),
            state: BatchState::Pending,
            recipient: supplier.recipient.clone(),
            card_count: chosen.len() as i64,
            sealed_size: i64::try_from(size).unwrap_or(i64::MAX),
            sealed_sha256,
            created_by: op.actor.id.clone(),
            created_at: now_s,
            expires_at,
            downloads: 0,
            closed_at: None,
            row_version: 1,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let card_rows: Vec<BatchCardRow> = chosen
            .iter()
            .zip(&fields)
            .map(|(c, f)| BatchCardRow {
                batch_id: batch_id.clone(),
                card_id: c.id.clone(),
                person_id: *c.person_id().as_uuid(),
                fields: f.clone(),
                outcome: None,
            })
            .collect();
        let card_ids: Vec<String> = chosen.iter().map(|c| c.id.clone()).collect();
        let people = people_of(chosen.iter().map(Card::person_id));
        let mut tx = self.ledger.begin().await?;
        if let Err(e) = tx.tx().insert_batch(&row, &card_rows).await {
            drop(tx);
            let _ = self.ledger.store().drop_batch_chunks(&batch_id).await;
            return Err(e.into());
        }
        for card in chosen {
            let staged = Cards::stage(op, card, CardAction::Queue, None, now_ms)?;
            self.cards.apply_in(&mut tx, staged).await?;
        }
        let ev = Self::event(
            op,
            now_ms,
            "batch.create",
            people,
            serde_json::json!({
                "batch": batch_id, "supplier": supplier.name, "cards": card_ids, "bytes": size,
                "sha256": sha, "expires_at": expires_at,
            }),
        );
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(Created { batch: row.into(), cards: card_ids, held_back })
    }

    /// Reads, renders, packs and seals a batch, storing the sealed file
    /// chunk by chunk as it is made: `(size, sha256, each card's printed
    /// fields)`. Three stages run at once, each holding a bounded amount:
    /// here, the cards' printed data read (audited, with the batch as
    /// purpose) [`RENDER_CHUNK`] at a time; on a blocking thread, each
    /// chunk rendered on every core, added to the sealed archive and
    /// dropped; and a task storing each 1 MiB of sealed output. So memory
    /// does not grow with the batch: not its photos, artwork or file.
    #[allow(clippy::too_many_arguments)]
    async fn seal_into_store(
        &self,
        op: &Operator,
        chosen: &[Card],
        header: Manifest,
        recipient: age::x25519::Recipient,
        signer: BatchSigner,
        batch_id: &str,
        now_ms: i64,
    ) -> Result<(u64, Vec<u8>, Vec<String>), SupplyError> {
        // A code alone: the batch.create event names the batch and supplier.
        let purpose = "print_batch";
        let (prints_tx, mut prints_rx) = tokio::sync::mpsc::channel::<Vec<CardPrint>>(1);
        // Two sealed chunks in flight: one being stored, one being filled.
        let (sealed_tx, mut sealed_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let renderer = Arc::clone(&self.renderer);
        let id = batch_id.to_owned();
        let sealing = tokio::task::spawn_blocking(move || -> Result<(u64, Vec<u8>), SupplyError> {
            let mut archive = SealedArchive::new(&header, &recipient, ChunkOut::new(sealed_tx))?;
            while let Some(chunk) = prints_rx.blocking_recv() {
                // A few cards at a time, each into the archive as soon as
                // it is drawn: a whole chunk's artwork (128 cards, 40 MB)
                // held at once was most of a batch's memory.
                for few in chunk.chunks(RENDER_AHEAD) {
                    for art in render_all(&renderer, few, &id).map_err(SupplyError::Render)? {
                        archive.add(&art)?;
                    }
                }
            }
            let (_, out) = archive.finish(&signer)?;
            out.close().map_err(|e| SupplyError::Package(crate::package::PackageError::Seal(e.to_string())))
        });
        let store = self.ledger.store().clone();
        let (id, now_s) = (batch_id.to_owned(), now_ms / 1000);
        let storing = tokio::spawn(async move {
            let mut seq = 0i64;
            while let Some(chunk) = sealed_rx.recv().await {
                store.put_batch_chunk(&id, seq, &chunk, now_s).await?;
                seq += 1;
            }
            Ok::<(), lanyard_store::StoreError>(())
        });
        let mut fields = Vec::with_capacity(chosen.len());
        let mut read = Ok(());
        'reading: for rows in chosen.chunks(RENDER_CHUNK) {
            let mut prints = Vec::with_capacity(rows.len());
            for row in rows {
                match self.cards.printable(op, &row.id, Some(purpose), now_ms).await {
                    Ok(printable) => prints.push(CardPrint::new(row, printable, self.cards.config())),
                    Err(e) => {
                        read = Err(SupplyError::from(e));
                        break 'reading;
                    }
                }
            }
            fields.extend(prints.iter().map(|p| p.fields().join(",")));
            // Refused only once the sealing has stopped: its error says why.
            if prints_tx.send(prints).await.is_err() {
                break;
            }
        }
        // No more cards: the sealing finishes (or, after a failed read,
        // finishes a batch that is then thrown away).
        drop(prints_tx);
        let sealed = sealing.await.map_err(|_| SupplyError::Render("the render task failed".into()))?;
        // If storing failed, the sealing failed first (its chunks had
        // nowhere to go); the store's error is the one that says why.
        let stored = storing.await.map_err(|_| SupplyError::Render("the storing task failed".into()))?;
        read?;
        stored?;
        let (size, sha) = sealed?;
        Ok((size, sha, fields))
    }

    /// Batches on the automatic policy, if one is due; `None` if not.
    pub async fn auto_batch(
        &self,
        op: &Operator,
        policy: &AutoBatch,
        now_ms: i64,
    ) -> Result<Option<Created>, SupplyError> {
        self.expire_due(op, now_ms).await?;
        let waiting = self.cards.list(None, Some(CardState::Approved), now_ms).await?;
        let oldest = waiting.iter().map(Card::updated_at).min();
        if !policy.due(waiting.len(), oldest, now_ms / 1000) {
            return Ok(None);
        }
        match self.create_batch(op, &policy.supplier, None, now_ms).await {
            Ok(created) => Ok(Some(created)),
            // Only protected persons' cards wait: nothing for a contractor.
            Err(SupplyError::NothingToBatch) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The batches `supplier` may still download.
    pub async fn pending_for(&self, op: &Operator, supplier: &str, now_ms: i64) -> Result<Vec<Batch>, SupplyError> {
        self.expire_due(op, now_ms).await?;
        let row = self.supplier_row(supplier, now_ms).await?;
        if row.disabled_at.is_some() {
            return Err(SupplyError::SupplierDisabled(row.name));
        }
        self.batches(Some(supplier), Some(BatchState::Pending), now_ms).await
    }

    /// Checks that `supplier` may touch batch `id`; records a refusal.
    async fn owned(
        &self,
        op: &Operator,
        supplier: &str,
        id: &str,
        action: &str,
        now_ms: i64,
    ) -> Result<BatchRow, SupplyError> {
        let batch = self.batch_row(id, now_ms).await?;
        let refusal = if batch.supplier != supplier {
            Some(("not_your_batch", SupplyError::NotYours(batch.id.clone())))
        } else if self.supplier_row(supplier, now_ms).await?.disabled_at.is_some() {
            Some(("supplier_disabled", SupplyError::SupplierDisabled(short(supplier))))
        } else {
            None
        };
        if let Some((code, err)) = refusal {
            let mut ev = Self::event(
                op,
                now_ms,
                action,
                vec![],
                serde_json::json!({
                    "batch": batch.id, "refused": code,
                }),
            );
            ev.outcome = Outcome::Denied;
            self.register.record(&[ev]).await?;
            return Err(err);
        }
        Ok(batch)
    }

    /// A pending batch, or why it is gone; a pending batch past its expiry
    /// is expired first.
    async fn live(&self, op: &Operator, batch: BatchRow, now_ms: i64) -> Result<BatchRow, SupplyError> {
        if batch.state == BatchState::Pending && batch.expires_at <= now_ms / 1000 {
            let id = batch.id.clone();
            let mut tx = self.ledger.begin().await?;
            self.close_in(&mut tx, op, batch, BatchState::Expired, Reason::BatchExpired, now_ms).await?;
            tx.commit().await?;
            return Err(SupplyError::Gone { batch: id, state: BatchState::Expired });
        }
        if batch.state != BatchState::Pending {
            return Err(SupplyError::Gone { batch: batch.id, state: batch.state });
        }
        Ok(batch)
    }

    /// The sealed file of one of `supplier`'s pending batches. The download
    /// is recorded, naming every person in it, before a byte is returned.
    pub async fn download(
        &self,
        op: &Operator,
        supplier: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<BatchFile, SupplyError> {
        let batch = self.owned(op, supplier, id, "batch.download", now_ms).await?;
        self.hand_out(op, batch, "batch.download", now_ms).await
    }

    /// The sealed file of a pending batch, for delivery out of band;
    /// audited as a download.
    pub async fn export(&self, op: &Operator, id: &str, now_ms: i64) -> Result<BatchFile, SupplyError> {
        let batch = self.batch_row(id, now_ms).await?;
        self.hand_out(op, batch, "batch.export", now_ms).await
    }

    async fn hand_out(
        &self,
        op: &Operator,
        batch: BatchRow,
        action: &str,
        now_ms: i64,
    ) -> Result<BatchFile, SupplyError> {
        let mut batch = self.live(op, batch, now_ms).await?;
        if self.ledger.store().batch_chunk(&batch.id, 0).await?.is_none() {
            return Err(SupplyError::Gone { batch: batch.id.clone(), state: batch.state });
        }
        let people = people_of(self.batch_cards(&batch.id).await?.iter().map(|c| c.person_id));
        let ev = Self::event(
            op,
            now_ms,
            action,
            people,
            serde_json::json!({
                "batch": batch.id, "supplier": batch.supplier, "cards": batch.card_count,
            }),
        );
        let expected = batch.row_version;
        batch.downloads += 1;
        batch.row_version += 1;
        let mut tx = self.ledger.begin().await?;
        self.ledger.tag(&mut batch)?;
        tx.tx().update_batch(&batch, expected).await?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        let size = u64::try_from(batch.sealed_size).unwrap_or(0);
        Ok(BatchFile::new(self.ledger.store().clone(), batch.id, size, batch.sealed_sha256))
    }

    /// The supplier's receipt: `printed` cards become printed, `spoiled`
    /// ones go back to the queue, and the batch and its file are destroyed.
    /// Every card of the batch must be named exactly once.
    pub async fn confirm(
        &self,
        op: &Operator,
        supplier: &str,
        id: &str,
        printed: &[String],
        spoiled: &[String],
        now_ms: i64,
    ) -> Result<Receipt, SupplyError> {
        let batch = self.owned(op, supplier, id, "batch.confirm", now_ms).await?;
        if batch.state == BatchState::Confirmed {
            return Err(SupplyError::AlreadyConfirmed(batch.id));
        }
        let batch = self.live(op, batch, now_ms).await?;
        let members = self.batch_cards(&batch.id).await?;
        let in_batch: BTreeSet<&str> = members.iter().map(|m| m.card_id.as_str()).collect();
        let mut named = BTreeSet::new();
        for card in printed.iter().chain(spoiled) {
            if !in_batch.contains(card.as_str()) {
                return Err(SupplyError::Invalid(format!("card {} is not in batch {}", short(card), batch.id)));
            }
            if !named.insert(card.as_str()) {
                return Err(SupplyError::Invalid(format!("card {} is named twice", short(card))));
            }
        }
        let missing: Vec<&str> = in_batch.difference(&named).copied().collect();
        if !missing.is_empty() {
            return Err(SupplyError::Invalid(format!(
                "the receipt must name every card of batch {} as printed or spoiled; missing: {}",
                batch.id,
                missing.join(", ")
            )));
        }
        let mut receipt = Receipt { batch: batch.id.clone(), printed: vec![], spoiled: vec![], skipped: vec![] };
        let mut tx = self.ledger.begin().await?;
        for (cards, action, outcome) in
            [(printed, CardAction::Print, PrintOutcome::Printed), (spoiled, CardAction::Requeue, PrintOutcome::Spoiled)]
        {
            for card_id in cards {
                let card = self.cards.card(card_id, now_ms).await?;
                let reason = (action == CardAction::Requeue).then_some(Reason::Spoiled);
                if card.state == CardState::Queued {
                    self.cards.apply_in(&mut tx, Cards::stage(op, card, action, reason, now_ms)?).await?;
                    tx.tx().set_batch_card_outcome(&batch.id, card_id, outcome).await?;
                    let list = if action == CardAction::Print { &mut receipt.printed } else { &mut receipt.spoiled };
                    list.push(card_id.clone());
                } else {
                    tx.tx().set_batch_card_outcome(&batch.id, card_id, PrintOutcome::Skipped).await?;
                    receipt.skipped.push(card_id.clone());
                }
            }
        }
        let people = people_of(members.iter().map(|m| m.person_id));
        let ev = Self::event(
            op,
            now_ms,
            "batch.confirm",
            people,
            serde_json::json!({
                "batch": batch.id, "printed": receipt.printed, "spoiled": receipt.spoiled, "skipped": receipt.skipped,
            }),
        );
        let expected = batch.row_version;
        let mut closed = batch;
        closed.state = BatchState::Confirmed;
        closed.closed_at = Some(now_ms / 1000);
        closed.row_version += 1;
        self.ledger.tag(&mut closed)?;
        tx.tx().update_batch(&closed, expected).await.map_err(|e| match e.kind() {
            lanyard_store::StoreErrorKind::Conflict(_) => SupplyError::AlreadyConfirmed(closed.id.clone()),
            _ => SupplyError::Store(e),
        })?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// Expires every pending batch past its time: file destroyed, cards
    /// back in the queue. Returns the batch ids.
    pub async fn expire_due(&self, op: &Operator, now_ms: i64) -> Result<Vec<String>, SupplyError> {
        let now_s = now_ms / 1000;
        let mut expired = Vec::new();
        let pending = self.ledger.store().batches(None, Some(BatchState::Pending)).await?;
        for batch in self.ledger.check_all(pending, now_ms).await? {
            if batch.expires_at <= now_s {
                expired.push(batch.id.clone());
                let mut tx = self.ledger.begin().await?;
                self.close_in(&mut tx, op, batch, BatchState::Expired, Reason::BatchExpired, now_ms).await?;
                tx.commit().await?;
            }
        }
        Ok(expired)
    }

    /// Closes a pending batch as expired or destroyed in `tx`: its file is
    /// dropped and its still-queued cards go back to approved.
    async fn close_in(
        &self,
        tx: &mut lanyard_audit::Write,
        op: &Operator,
        mut batch: BatchRow,
        to: BatchState,
        reason: Reason,
        now_ms: i64,
    ) -> Result<(), SupplyError> {
        let members = self.batch_cards(&batch.id).await?;
        let mut returned = Vec::new();
        for m in &members {
            let card = self.cards.card(&m.card_id, now_ms).await?;
            if card.state == CardState::Queued {
                self.cards.apply_in(tx, Cards::stage(op, card, CardAction::Requeue, Some(reason), now_ms)?).await?;
                tx.tx().set_batch_card_outcome(&batch.id, &m.card_id, PrintOutcome::Returned).await?;
                returned.push(m.card_id.clone());
            }
        }
        let action = if to == BatchState::Expired { "batch.expire" } else { "batch.destroy" };
        let ev = Self::event(
            op,
            now_ms,
            action,
            people_of(members.iter().map(|m| m.person_id)),
            serde_json::json!({
                "batch": batch.id, "supplier": batch.supplier, "returned": returned, "reason": reason.as_str(),
                "downloads": batch.downloads,
            }),
        );
        let expected = batch.row_version;
        batch.state = to;
        batch.closed_at = Some(now_ms / 1000);
        batch.row_version += 1;
        self.ledger.tag(&mut batch)?;
        tx.tx().update_batch(&batch, expected).await?;
        tx.append(&[ev]).await?;
        Ok(())
    }

    /// People ids by card, for a set of batches.
    pub(crate) async fn members_of(
        &self,
        batches: &[BatchRow],
    ) -> Result<BTreeMap<String, Vec<BatchCard>>, SupplyError> {
        let mut out = BTreeMap::new();
        for b in batches {
            out.insert(b.id.clone(), self.batch_cards(&b.id).await?);
        }
        Ok(out)
    }
}

/// Distinct people, in a stable order.
fn people_of(ids: impl Iterator<Item = PersonId>) -> Vec<PersonId> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_policy_batches_by_count_or_age() {
        let p = AutoBatch { supplier: "acme".into(), min_cards: 10, max_wait_s: 3600 };
        assert!(!p.due(0, None, 0));
        assert!(!p.due(3, Some(1000), 1000 + 3599));
        assert!(p.due(3, Some(1000), 1000 + 3600));
        assert!(p.due(10, Some(1000), 1000));
    }

    #[test]
    fn names_are_plain() {
        assert!(lanyard_core::valid_name("acme-print"));
        assert!(!lanyard_core::valid_name("acme print"));
        assert!(!lanyard_core::valid_name("-x"));
        assert_eq!(short("B1/../x"), "B1..x");
    }
}
