//! Making, loading and rotating the keys of a register.
//!
//! Compartment keys and the blind-index key are stored wrapped by the key
//! provider. Rotation adds a compartment key version and then re-wraps person
//! keys batch by batch; each batch commits on its own, and every row stays
//! readable under whichever version wraps it, so an interrupted rotation
//! loses nothing and a later one finishes the job.

use std::sync::Arc;

use lanyard_audit::Ledger;
use lanyard_audit::{Event, Outcome};
use lanyard_core::{Compartment, PersonId};
use lanyard_crypto::{BlindIndexer, CryptoErrorKind, Key32, KeyProvider, RowAuth, Vault, WrapContext};
use lanyard_store::{Store, WrappedKeyRow};
use serde::Serialize;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};
use crate::rowlog::{ROW_WRITES_FLAG, ROW_WRITES_META, record_baseline};
use crate::write::from_row;

const PURPOSE_COMPARTMENT: &str = "compartment";
const PURPOSE_INDEX: &str = "blind-index";
const INDEX_NAME: &str = "register";
const PURPOSE_NOTES: &str = "audit-notes";
const NOTES_NAME: &str = "notes";
const PURPOSE_ROWS: &str = "row-integrity";
const ROWS_NAME: &str = "rows";
const FORMAT_KEY: &str = "register_format";
const FORMAT: &str = "1";

/// One compartment's key versions.
#[derive(Clone, Debug, Serialize)]
pub struct CompartmentKeyStatus {
    /// Compartment.
    pub compartment: Compartment,
    /// The version new writes use.
    pub current: u32,
    /// `(version, created_at unix seconds, sealed rows it wraps)`, oldest first.
    pub versions: Vec<(u32, i64, i64)>,
}

/// What `lanyard keys status` shows.
#[derive(Clone, Debug, Serialize)]
pub struct KeysStatus {
    /// `keyring` or `pkcs11`.
    pub provider: String,
    /// Where the root key is.
    pub provider_detail: String,
    /// Per compartment.
    pub compartments: Vec<CompartmentKeyStatus>,
    /// Blind-index key version.
    pub blind_index_version: u32,
    /// People by status.
    pub people: Vec<(String, i64)>,
}

/// What a rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct RotateReport {
    /// Compartment.
    pub compartment: Compartment,
    /// The new version.
    pub new_version: u32,
    /// Person keys re-wrapped.
    pub rewrapped: u64,
}

fn ctx(purpose: &'static str, name: &'static str, version: u32) -> WrapContext<'static> {
    WrapContext { purpose, name, version }
}

fn unwrap_or_mismatch(
    provider: &dyn KeyProvider,
    row: &WrappedKeyRow,
    c: WrapContext<'_>,
) -> Result<Key32, RegisterError> {
    provider.unwrap(&row.wrapped, &c).map_err(|e| match e.kind() {
        CryptoErrorKind::Authentication => RegisterError::new(ErrorKind::KeyMismatch),
        _ => RegisterError::from(e),
    })
}

fn version_of(row: &WrappedKeyRow) -> Result<u32, RegisterError> {
    u32::try_from(row.version).map_err(|_| RegisterError::new(ErrorKind::Internal("key version out of range")))
}

/// The wrapped keys whose rows match their tags. A row that does not is
/// recorded (`integrity.failure`) and left out, never used: what it sealed
/// stays sealed, the rest of the register works, and `audit verify` (which
/// opens the register like any command) can still name it.
async fn usable_key_rows(ledger: &Ledger, now_ms: i64) -> Result<Vec<WrappedKeyRow>, RegisterError> {
    let mut usable = Vec::new();
    for row in ledger.store().wrapped_keys().await? {
        match ledger.check(row, now_ms).await {
            Ok(row) => usable.push(row),
            Err(lanyard_audit::IntegrityError::Altered { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(usable)
}

/// Every key version in `rows` (checked against their tags), unwrapped.
fn load_vault(rows: &[WrappedKeyRow], provider: &dyn KeyProvider) -> Result<Vault, RegisterError> {
    let index_row = rows
        .iter()
        .filter(|r| r.purpose == PURPOSE_INDEX && r.name == INDEX_NAME)
        .max_by_key(|r| r.version)
        .ok_or_else(|| RegisterError::new(ErrorKind::Internal("no blind-index key in the store")))?;
    let index_key = unwrap_or_mismatch(provider, index_row, ctx(PURPOSE_INDEX, INDEX_NAME, version_of(index_row)?))?;
    let mut vault = Vault::new(BlindIndexer::new(&index_key)?);
    for c in Compartment::ALL {
        for r in rows.iter().filter(|r| r.purpose == PURPOSE_COMPARTMENT && r.name == c.as_str()) {
            let v = version_of(r)?;
            let key = unwrap_or_mismatch(provider, r, ctx(PURPOSE_COMPARTMENT, c.as_str(), v))?;
            vault.add_compartment_key(c, v, key);
        }
    }
    if let Some(r) =
        rows.iter().filter(|r| r.purpose == PURPOSE_NOTES && r.name == NOTES_NAME).max_by_key(|r| r.version)
    {
        vault.set_notes_key(unwrap_or_mismatch(provider, r, ctx(PURPOSE_NOTES, NOTES_NAME, version_of(r)?))?);
    }
    Ok(vault)
}

fn notes_key_row(provider: &dyn KeyProvider, key: &Key32, now_s: i64) -> Result<WrappedKeyRow, RegisterError> {
    Ok(WrappedKeyRow {
        purpose: PURPOSE_NOTES.into(),
        name: NOTES_NAME.into(),
        version: 1,
        wrapped: provider.wrap(key, &ctx(PURPOSE_NOTES, NOTES_NAME, 1))?,
        created_at: now_s,
        mac: None,
    })
}

/// Gives a store from before sealed notes its audit-notes key, recorded as
/// `key.create`.
async fn add_notes_key(
    ledger: &Ledger,
    provider: &dyn KeyProvider,
    vault: &mut Vault,
    now_ms: i64,
) -> Result<(), RegisterError> {
    let key = Key32::random();
    let mut row = notes_key_row(provider, &key, now_ms / 1000)?;
    ledger.tag(&mut row)?;
    let mut event = Event::new(now_ms, lanyard_audit::Actor::system(), "key.create", Outcome::Ok);
    event.detail = Some(serde_json::json!({ "key": PURPOSE_NOTES, "version": 1, "held": "wrapped" }));
    let mut tx = ledger.begin().await?;
    tx.tx().insert_wrapped_key(&row).await?;
    tx.append(&[event]).await?;
    tx.commit().await?;
    vault.set_notes_key(key);
    Ok(())
}

/// The row-integrity key, if the store has one yet.
async fn load_row_key(store: &Store, provider: &dyn KeyProvider) -> Result<Option<Key32>, RegisterError> {
    let rows = store.wrapped_keys().await?;
    match rows.iter().filter(|r| r.purpose == PURPOSE_ROWS && r.name == ROWS_NAME).max_by_key(|r| r.version) {
        Some(r) => Ok(Some(unwrap_or_mismatch(provider, r, ctx(PURPOSE_ROWS, ROWS_NAME, version_of(r)?))?)),
        None => Ok(None),
    }
}

fn row_key_row(provider: &dyn KeyProvider, key: &Key32, now_s: i64) -> Result<WrappedKeyRow, RegisterError> {
    Ok(WrappedKeyRow {
        purpose: PURPOSE_ROWS.into(),
        name: ROWS_NAME.into(),
        version: 1,
        wrapped: provider.wrap(key, &ctx(PURPOSE_ROWS, ROWS_NAME, 1))?,
        created_at: now_s,
        mac: None,
    })
}

/// Gives a store made before row tags its row-integrity key, and tags every
/// row it holds as it stands, in one write recorded as `integrity.enrol`.
/// It happens once: `audit verify` names a second enrolment, since deleting
/// the key to have tampered rows tagged anew would show as one.
async fn enrol_rows(ledger: &Ledger, provider: &dyn KeyProvider, now_ms: i64) -> Result<(), RegisterError> {
    let key = Key32::random();
    let mut wrapped = row_key_row(provider, &key, now_ms / 1000)?;
    ledger.install_row_auth(RowAuth::new(key));
    ledger.tag(&mut wrapped)?;
    let store = ledger.store();
    let mut tx = ledger.begin().await?;
    tx.tx().insert_wrapped_key(&wrapped).await?;
    let mut counts = serde_json::Map::new();
    tag_keys_and_canaries(ledger, &mut tx, &mut counts).await?;
    let mut users = store.users().await?;
    for u in &mut users {
        ledger.tag(u)?;
        tx.tx().update_user(u).await?;
    }
    counts.insert("users".into(), users.len().into());
    let mut sessions = store.sessions().await?;
    for s in &mut sessions {
        ledger.tag(s)?;
        tx.tx().touch_session(s).await?;
    }
    counts.insert("sessions".into(), sessions.len().into());
    let mut tokens = store.service_tokens().await?;
    for t in &mut tokens {
        ledger.tag(t)?;
        tx.tx().set_token_tag(t).await?;
    }
    counts.insert("service_tokens".into(), tokens.len().into());
    let mut suppliers = store.suppliers().await?;
    for s in &mut suppliers {
        ledger.tag(s)?;
        tx.tx().update_supplier(s).await?;
    }
    counts.insert("suppliers".into(), suppliers.len().into());
    let mut cards = store.cards_by_status_idx().await?;
    for c in &mut cards {
        ledger.tag(c)?;
        tx.tx().update_card(c, c.row_version).await?;
    }
    counts.insert("cards".into(), cards.len().into());
    let mut zones = store.zones().await?;
    for z in &mut zones {
        ledger.tag(z)?;
        tx.tx().set_zone_tag(z).await?;
    }
    counts.insert("zones".into(), zones.len().into());
    let mut permits = store.permits(None, None).await?;
    for p in &mut permits {
        ledger.tag(p)?;
        tx.tx().set_permit_tag(p).await?;
    }
    counts.insert("permits".into(), permits.len().into());
    let mut batches = store.batches(None, None).await?;
    for b in &mut batches {
        ledger.tag(b)?;
        tx.tx().update_batch(b, b.row_version).await?;
    }
    counts.insert("batches".into(), batches.len().into());
    // Every row just tagged is recorded in this event: no baseline is due.
    tx.tx().set_meta(ROW_WRITES_META, "1").await?;
    let mut event = Event::new(now_ms, lanyard_audit::Actor::system(), "integrity.enrol", Outcome::Ok);
    event.detail = Some(serde_json::json!({ "tagged": counts, ROW_WRITES_FLAG: true }));
    tx.append(&[event]).await?;
    tx.commit().await?;
    Ok(())
}

/// The tables tagged since the first enrolment, and the meta value that
/// says a store's rows of them are tagged.
pub(crate) const LATER_TABLES: [&str; 2] = ["wrapped_keys", "canaries"];
const ROW_TAGS_META: &str = "row_tags";
const ROW_TAGS_ALL: &str = "2";

/// Tags every wrapped key and canary as it stands, in `tx`.
async fn tag_keys_and_canaries(
    ledger: &Ledger,
    tx: &mut lanyard_audit::Write,
    counts: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), RegisterError> {
    let store = ledger.store();
    let mut keys = store.wrapped_keys().await?;
    for k in &mut keys {
        ledger.tag(k)?;
        tx.tx().set_wrapped_key_tag(k).await?;
    }
    counts.insert("wrapped_keys".into(), keys.len().into());
    let mut canaries = store.canaries().await?;
    for c in &mut canaries {
        ledger.tag(c)?;
        tx.tx().set_canary_tag(c).await?;
    }
    counts.insert("canaries".into(), canaries.len().into());
    tx.tx().set_meta(ROW_TAGS_META, ROW_TAGS_ALL).await?;
    Ok(())
}

/// Gives a store tagged before key metadata and canaries were its tags for
/// them, once, as an `integrity.enrol` naming just those tables (a second
/// enrolment of a table is a finding of `audit verify`).
async fn enrol_later_tables(ledger: &Ledger, now_ms: i64) -> Result<(), RegisterError> {
    if ledger.store().meta(ROW_TAGS_META).await?.as_deref() == Some(ROW_TAGS_ALL) {
        return Ok(());
    }
    let mut tx = ledger.begin().await?;
    let mut counts = serde_json::Map::new();
    tag_keys_and_canaries(ledger, &mut tx, &mut counts).await?;
    let mut event = Event::new(now_ms, lanyard_audit::Actor::system(), "integrity.enrol", Outcome::Ok);
    event.detail = Some(serde_json::json!({ "tagged": counts }));
    tx.append(&[event]).await?;
    tx.commit().await?;
    Ok(())
}

impl Register {
    /// Creates the schema and the keys of a new register.
    pub async fn init(
        ledger: Ledger,
        provider: Arc<dyn KeyProvider>,
        op: &Operator,
        now_ms: i64,
    ) -> Result<Register, RegisterError> {
        let store = ledger.store();
        if store.is_initialised().await? && store.meta(FORMAT_KEY).await?.is_some() {
            return Err(RegisterError::new(ErrorKind::AlreadyInitialised));
        }
        store.migrate().await?;
        let now_s = now_ms / 1000;
        let index_key = Key32::random();
        let mut vault = Vault::new(BlindIndexer::new(&index_key)?);
        let row_key = Key32::random();
        let mut rows = vec![
            WrappedKeyRow {
                purpose: PURPOSE_INDEX.into(),
                name: INDEX_NAME.into(),
                version: 1,
                wrapped: provider.wrap(&index_key, &ctx(PURPOSE_INDEX, INDEX_NAME, 1))?,
                created_at: now_s,
                mac: None,
            },
            row_key_row(provider.as_ref(), &row_key, now_s)?,
        ];
        let notes_key = Key32::random();
        rows.push(notes_key_row(provider.as_ref(), &notes_key, now_s)?);
        vault.set_notes_key(notes_key);
        for c in Compartment::ALL {
            let key = Key32::random();
            rows.push(WrappedKeyRow {
                purpose: PURPOSE_COMPARTMENT.into(),
                name: c.as_str().into(),
                version: 1,
                wrapped: provider.wrap(&key, &ctx(PURPOSE_COMPARTMENT, c.as_str(), 1))?,
                created_at: now_s,
                mac: None,
            });
            vault.add_compartment_key(c, 1, key);
        }
        let mut event = Event::new(now_ms, op.actor.clone(), "register.init", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        // `row_key`, `row_tables`: every table tagged from the start, so
        // any later enrolment is a finding of `audit verify`.
        // `row_writes`: every tagged row's writes are in the log from here.
        event.detail = Some(serde_json::json!({
            "provider": provider.kind(), "row_key": true, "row_tables": "all", ROW_WRITES_FLAG: true,
        }));
        ledger.install_row_auth(RowAuth::new(row_key));
        let mut tx = ledger.begin().await?;
        for r in &mut rows {
            ledger.tag(r)?;
            tx.tx().insert_wrapped_key(r).await?;
        }
        tx.tx().set_meta(FORMAT_KEY, FORMAT).await?;
        tx.tx().set_meta("key_provider", provider.kind()).await?;
        tx.tx().set_meta(ROW_TAGS_META, ROW_TAGS_ALL).await?;
        tx.tx().set_meta(ROW_WRITES_META, "1").await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(Register::from_parts(ledger, vault, provider))
    }

    /// Whether the store answers and the key provider wraps and unwraps
    /// (for readiness probes). Touches no personal data.
    pub async fn check_ready(&self) -> Result<(), RegisterError> {
        if self.store().file_replaced() {
            return Err(RegisterError::new(ErrorKind::StoreReplaced));
        }
        self.store().audit_len().await?;
        // Asked now, and counted as the liveness check: a probe that finds
        // the provider gone stops the keys being used at once.
        self.key_provider_checked_now()
    }

    /// Opens an existing register, unwrapping its keys with `provider` and
    /// loading the row-integrity key into `ledger` (a store from before row
    /// tags is enrolled now, at `now_ms`: see `enrol_rows`).
    pub async fn open(ledger: Ledger, provider: Arc<dyn KeyProvider>, now_ms: i64) -> Result<Register, RegisterError> {
        let store = ledger.store();
        if !store.is_initialised().await? || store.meta(FORMAT_KEY).await?.is_none() {
            return Err(RegisterError::new(ErrorKind::NotInitialised));
        }
        store.migrate().await?;
        // The row-integrity key first (its own row is bound by its AEAD
        // context), so every other key row is checked against its tag.
        match load_row_key(store, provider.as_ref()).await? {
            Some(key) => ledger.install_row_auth(RowAuth::new(key)),
            None => enrol_rows(&ledger, provider.as_ref(), now_ms).await?,
        }
        enrol_later_tables(&ledger, now_ms).await?;
        record_baseline(&ledger, now_ms).await?;
        let rows = usable_key_rows(&ledger, now_ms).await?;
        let mut vault = load_vault(&rows, provider.as_ref())?;
        if vault.notes().is_none() {
            add_notes_key(&ledger, provider.as_ref(), &mut vault, now_ms).await?;
        }
        let register = Register::from_parts(ledger, vault, provider);
        crate::oldpurposes::seal_old_purposes(&register, now_ms).await?;
        Ok(register)
    }

    /// Loads the keys from the store again: after a rotation here, or to
    /// pick up one made by another process sharing the store.
    /// Every key row is checked against its tag first.
    pub async fn reload_keys(&self, now_ms: i64) -> Result<(), RegisterError> {
        let rows = usable_key_rows(&self.ledger, now_ms).await?;
        let vault = load_vault(&rows, self.provider().as_ref())?;
        self.set_vault(vault);
        Ok(())
    }

    /// Providers, compartments, key versions and counts.
    pub async fn keys_status(&self) -> Result<KeysStatus, RegisterError> {
        let rows = self.store().wrapped_keys().await?;
        let counts = self.store().sealed_counts().await?;
        let mut compartments = Vec::new();
        for c in Compartment::ALL {
            let versions: Vec<(u32, i64, i64)> = rows
                .iter()
                .filter(|r| r.purpose == PURPOSE_COMPARTMENT && r.name == c.as_str())
                .map(|r| {
                    let n = counts
                        .iter()
                        .find(|(name, v, _)| name == c.as_str() && *v == r.version)
                        .map(|(_, _, n)| *n)
                        .unwrap_or(0);
                    Ok((version_of(r)?, r.created_at, n))
                })
                .collect::<Result<_, RegisterError>>()?;
            let current = self.held_vault().keyring(c).and_then(|k| k.current()).unwrap_or(0);
            compartments.push(CompartmentKeyStatus { compartment: c, current, versions });
        }
        let blind_index_version = rows
            .iter()
            .filter(|r| r.purpose == PURPOSE_INDEX)
            .map(version_of)
            .collect::<Result<Vec<u32>, _>>()?
            .into_iter()
            .max()
            .unwrap_or(0);
        Ok(KeysStatus {
            provider: self.provider().kind().to_owned(),
            provider_detail: self.provider().describe(),
            compartments,
            blind_index_version,
            people: self.store().count_by_status().await?,
        })
    }

    /// Adds a key version to `compartment` and re-wraps every person key
    /// under it, `batch` rows per transaction. `progress` gets each batch's count.
    pub async fn rotate(
        &self,
        op: &Operator,
        compartment: Compartment,
        now_ms: i64,
        batch: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<RotateReport, RegisterError> {
        let new_version = self.add_compartment_key(op, compartment, now_ms).await?;
        let rewrapped = self.rewrap(op, compartment, new_version, now_ms, batch, progress).await?;
        Ok(RotateReport { compartment, new_version, rewrapped })
    }

    /// Adds a key version to `compartment` (event `key.rotate`); new seals
    /// use it at once. Returns the version. Old rows stay readable under
    /// their own version until [`Register::rewrap`] moves them.
    pub async fn add_compartment_key(
        &self,
        op: &Operator,
        compartment: Compartment,
        now_ms: i64,
    ) -> Result<u32, RegisterError> {
        self.reload_keys(now_ms).await?;
        let current = self.vault()?.keyring(compartment).and_then(|k| k.current()).unwrap_or(0);
        let new_version =
            current.checked_add(1).ok_or_else(|| RegisterError::new(ErrorKind::Internal("key version overflow")))?;
        let key = Key32::random();
        let mut row = WrappedKeyRow {
            purpose: PURPOSE_COMPARTMENT.into(),
            name: compartment.as_str().into(),
            version: i64::from(new_version),
            wrapped: self.provider().wrap(&key, &ctx(PURPOSE_COMPARTMENT, compartment.as_str(), new_version))?,
            created_at: now_ms / 1000,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let mut event = Event::new(now_ms, op.actor.clone(), "key.rotate", Outcome::Ok);
        event.compartments = vec![compartment];
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({ "new_version": new_version }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_wrapped_key(&row).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        drop(key);
        self.reload_keys(now_ms).await?;
        Ok(new_version)
    }

    /// Re-wraps every person key of `compartment` sealed under a version
    /// older than `new_version`, `batch` rows per transaction, each batch
    /// with a `key.rewrap` event. Returns how many rows moved.
    pub async fn rewrap(
        &self,
        op: &Operator,
        compartment: Compartment,
        new_version: u32,
        now_ms: i64,
        batch: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, RegisterError> {
        let mut rewrapped = 0u64;
        loop {
            let rows = self.store().sealed_older_than(compartment.as_str(), i64::from(new_version), batch).await?;
            if rows.is_empty() {
                break;
            }
            let mut updates = Vec::with_capacity(rows.len());
            for r in &rows {
                let id = PersonId::from_uuid(r.person_id);
                let sealed = from_row(id, r, compartment)?;
                let (v, wrapped) = self
                    .vault()?
                    .rewrap(id, &sealed)
                    .map_err(|_| RegisterError::new(ErrorKind::Tampered { person: id, compartment, field: None }))?;
                updates.push((r.person_id, r.ck_version, i64::from(v), wrapped));
            }
            let mut event = Event::new(now_ms, op.actor.clone(), "key.rewrap", Outcome::Ok);
            event.compartments = vec![compartment];
            event.request_id = Some(op.request_id.clone());
            event.detail = Some(serde_json::json!({ "new_version": new_version, "rows": updates.len() }));
            let mut tx = self.ledger.begin().await?;
            for (person, old, new, wrapped) in &updates {
                tx.tx().rewrap_sealed(*person, compartment.as_str(), *old, *new, wrapped).await?;
            }
            tx.append(&[event]).await?;
            tx.commit().await?;
            rewrapped += updates.len() as u64;
            progress(updates.len() as u64);
        }
        Ok(rewrapped)
    }
}
