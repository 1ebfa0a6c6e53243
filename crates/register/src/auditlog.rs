//! The register's face of the audit log: its signing key, signed
//! checkpoints, and proofs that anyone holding the verifier key can check.
//!
//! The signing key is an Ed25519 key inside the HSM when the key provider is
//! one (it signs there and never leaves), and otherwise a seed wrapped under
//! the provider's root key. The store records which, with the public key, so
//! that a missing or substituted HSM key is refused, never silently
//! replaced: a new key would break the chain of checkpoints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::checkpoint::{Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint};
use lanyard_audit::{Event, Outcome, log};
use std::sync::Arc;

use lanyard_crypto::{Ed25519Key, Key32, SigningKey, WrapContext};
use lanyard_store::WrappedKeyRow;
use serde::Serialize;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register};

const PURPOSE_SIGNING: &str = "signing";
const LOG_KEY_NAME: &str = "audit-log";
const ORIGIN_META: &str = "audit_origin";
/// Stored in place of a wrapped seed when the key lives in the HSM, followed
/// by its public key.
const NATIVE_MARK: &[u8] = b"native-ed25519:";
/// The log's name when none is configured.
pub const DEFAULT_ORIGIN: &str = "lanyard.local/force-audit";

struct LogSigner<'a> {
    name: &'a str,
    key: &'a dyn SigningKey,
}

impl NoteSigner for LogSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        self.key.sign(message).map_err(|e| e.to_string())
    }
}

/// A signed tree head.
#[derive(Clone, Debug, Serialize)]
pub struct SignedCheckpoint {
    /// Log name.
    pub origin: String,
    /// Number of events covered.
    pub tree_size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The C2SP signed note.
    pub checkpoint: String,
}

/// `lanyard audit prove inclusion --json`.
#[derive(Clone, Debug, Serialize)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size the proof is for.
    pub tree_size: u64,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// Base64 audit path.
    pub hashes: Vec<String>,
    /// Signed checkpoint of `tree_size`.
    pub checkpoint: String,
}

/// `lanyard audit prove consistency --json`.
#[derive(Clone, Debug, Serialize)]
pub struct ConsistencyProof {
    /// Size of the old checkpoint.
    pub old_size: u64,
    /// Size of the new one.
    pub new_size: u64,
    /// Base64 proof hashes.
    pub hashes: Vec<String>,
    /// Signed checkpoint of `new_size`.
    pub checkpoint: String,
}

/// The key's label in the HSM: the log key keeps its first name; other keys
/// carry their version.
fn native_name(name: &str, version: u32) -> String {
    if name == LOG_KEY_NAME { name.to_owned() } else { format!("{name}-v{version}") }
}

fn refused(e: impl std::fmt::Display) -> RegisterError {
    RegisterError::new(ErrorKind::Proof(e.to_string()))
}

/// An old checkpoint this log cannot be shown to extend.
fn checkpoint_refused(e: impl std::fmt::Display) -> RegisterError {
    RegisterError::new(ErrorKind::CheckpointRefused(e.to_string()))
}

impl Register {
    /// The log's name (the checkpoint origin and key name).
    pub async fn audit_origin(&self) -> Result<String, RegisterError> {
        Ok(self.store().meta(ORIGIN_META).await?.unwrap_or_else(|| DEFAULT_ORIGIN.to_owned()))
    }

    /// Loads the log's signing key, making it on first use.
    async fn log_key(&self, op: &Operator, now_ms: i64) -> Result<Arc<dyn SigningKey>, RegisterError> {
        match self.signing_key(LOG_KEY_NAME, 1, now_ms).await? {
            Some(key) => Ok(key),
            None => self.create_signing_key(op, now_ms, LOG_KEY_NAME, 1).await,
        }
    }

    /// The Ed25519 key `name` at `version`, if it exists: in the HSM when
    /// the store marks it native (refusing a missing or different key), else
    /// unwrapped from its stored seed.
    /// The row must match its tag: an HSM key's recorded public key is what
    /// refuses a substituted key, so it is not taken on the store's word.
    pub async fn signing_key(
        &self,
        name: &str,
        version: u32,
        now_ms: i64,
    ) -> Result<Option<Arc<dyn SigningKey>>, RegisterError> {
        let ctx = WrapContext { purpose: PURPOSE_SIGNING, name, version };
        let rows = self.store().wrapped_keys().await?;
        let Some(row) = rows
            .into_iter()
            .find(|r| r.purpose == PURPOSE_SIGNING && r.name == name && r.version == i64::from(version))
        else {
            return Ok(None);
        };
        let row = self.ledger.check(row, now_ms).await?;
        if let Some(public) = row.wrapped.strip_prefix(NATIVE_MARK) {
            return self.native_key(&native_name(name, version), public).map(Some);
        }
        let seed = self.provider().unwrap(&row.wrapped, &ctx)?;
        Ok(Some(Arc::new(Ed25519Key::from_seed(&seed))))
    }

    /// Versions of signing key `name` in the store, oldest first.
    pub async fn signing_key_versions(&self, name: &str) -> Result<Vec<(u32, i64)>, RegisterError> {
        let rows = self.store().wrapped_keys().await?;
        let mut out: Vec<(u32, i64)> = rows
            .iter()
            .filter(|r| r.purpose == PURPOSE_SIGNING && r.name == name)
            .filter_map(|r| u32::try_from(r.version).ok().map(|v| (v, r.created_at)))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Makes signing key `name` at `version`: in the HSM if the provider is
    /// one, else a fresh seed wrapped under the root key. Recorded with a
    /// `key.create` event in the same transaction.
    pub async fn create_signing_key(
        &self,
        op: &Operator,
        now_ms: i64,
        name: &str,
        version: u32,
    ) -> Result<Arc<dyn SigningKey>, RegisterError> {
        let ctx = WrapContext { purpose: PURPOSE_SIGNING, name, version };
        let (key, stored, held): (Arc<dyn SigningKey>, Vec<u8>, &str) = match self.provider().native_signing() {
            Some(native) => {
                let key = native.create_signing_key(&native_name(name, version))?;
                let mut stored = NATIVE_MARK.to_vec();
                stored.extend_from_slice(&key.public_key());
                (key, stored, "hsm")
            }
            None => {
                let seed = Key32::random();
                let wrapped = self.provider().wrap(&seed, &ctx)?;
                (Arc::new(Ed25519Key::from_seed(&seed)), wrapped, "wrapped")
            }
        };
        let mut row = WrappedKeyRow {
            purpose: PURPOSE_SIGNING.into(),
            name: name.into(),
            version: i64::from(version),
            wrapped: stored,
            created_at: now_ms / 1000,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let mut event = Event::new(now_ms, op.actor.clone(), "key.create", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({
            "key": name,
            "version": version,
            "held": held,
            "public_key": B64.encode(key.public_key()),
        }));
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_wrapped_key(&row).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(key)
    }

    fn native_key(&self, label: &str, public: &[u8]) -> Result<Arc<dyn SigningKey>, RegisterError> {
        let native = self.provider().native_signing().ok_or_else(|| {
            refused(format!("the {label} key is held in an HSM, but the configured key provider is not one"))
        })?;
        let key = native
            .find_signing_key(label)?
            .ok_or_else(|| refused(format!("the {label} key is missing from the HSM")))?;
        if key.public_key().as_slice() != public {
            return Err(refused(format!("the HSM holds a different {label} key from the one recorded")));
        }
        Ok(key)
    }

    /// Signs a note `body` with the log's key (a backup's manifest, say):
    /// what only this log can have said.
    pub async fn sign_with_log_key(&self, op: &Operator, body: &str, now_ms: i64) -> Result<String, RegisterError> {
        let key = self.log_key(op, now_ms).await?;
        let origin = self.audit_origin().await?;
        lanyard_note::sign(body, &LogSigner { name: &origin, key: key.as_ref() }).map_err(refused)
    }

    /// The verifier key string: `<name>+<hex key hash>+<base64 key>`.
    pub async fn verifier_key(&self, op: &Operator, now_ms: i64) -> Result<String, RegisterError> {
        let key = self.log_key(op, now_ms).await?;
        let origin = self.audit_origin().await?;
        Ok(NoteVerifier::new(&origin, &key.public_key()).map_err(refused)?.to_key_string())
    }

    /// The signed checkpoint of `size` (default: the whole log), signing and
    /// storing it if it is new.
    pub async fn checkpoint(
        &self,
        op: &Operator,
        size: Option<u64>,
        now_ms: i64,
    ) -> Result<SignedCheckpoint, RegisterError> {
        let key = self.log_key(op, now_ms).await?;
        let current = log::size(self.store()).await?;
        let size = size.unwrap_or(current);
        if size == 0 || size > current {
            return Err(RegisterError::new(ErrorKind::NoSuchProof(format!(
                "no checkpoint of size {size}: the log holds {current} events"
            ))));
        }
        let origin = self.audit_origin().await?;
        let stored_size = i64::try_from(size).map_err(refused)?;
        let note = match self.store().checkpoint_at(stored_size).await? {
            Some(note) => note,
            None => {
                let root = log::root(self.store(), size).await?;
                let cp = Checkpoint { origin: origin.clone(), size, root };
                let note = sign_checkpoint(&cp, &LogSigner { name: &origin, key: key.as_ref() }).map_err(refused)?;
                let mut tx = self.ledger.begin().await?;
                tx.tx().insert_checkpoint(stored_size, &note, now_ms / 1000).await?;
                tx.commit_housekeeping(lanyard_audit::Housekeeping::Checkpoint).await?;
                note
            }
        };
        let verified =
            NoteVerifier::new(&origin, &key.public_key()).map_err(refused)?.verify(&note).map_err(refused)?;
        // With the witnesses' cosignatures kept for it, so that a proof
        // against it can be checked by someone who requires witnesses.
        let checkpoint = self.cosigned_checkpoint(size).await?.unwrap_or(note);
        Ok(SignedCheckpoint { origin, tree_size: verified.size, root: B64.encode(verified.root), checkpoint })
    }

    /// Signs a checkpoint of the whole log if it has grown since the last
    /// one. Run on a timer, this gives a checkpoint at least every interval
    /// while the log changes, and none while it does not.
    pub async fn checkpoint_if_grown(
        &self,
        op: &Operator,
        now_ms: i64,
    ) -> Result<Option<SignedCheckpoint>, RegisterError> {
        let size = log::size(self.store()).await?;
        let last = self.store().latest_checkpoint().await?.map(|(s, _)| u64::try_from(s).unwrap_or(0));
        if size == 0 || last.is_some_and(|l| l >= size) {
            return Ok(None);
        }
        self.checkpoint(op, None, now_ms).await.map(Some)
    }

    /// Every `interval` until `stop` completes, signs a checkpoint if the log
    /// grew. A failure is reported through `on_error` and retried at the next
    /// tick, so a passing fault does not end the checkpoints. Returns how
    /// many were signed.
    pub async fn run_checkpointer(
        &self,
        op: &Operator,
        interval: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
        now_ms: &(dyn Fn() -> i64 + Sync),
        on_signed: &(dyn Fn(&SignedCheckpoint) + Sync),
        on_error: &(dyn Fn(&RegisterError) + Sync),
    ) -> u64 {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        let mut signed = 0;
        loop {
            tokio::select! {
                _ = &mut stop => return signed,
                _ = ticks.tick() => match self.checkpoint_if_grown(op, now_ms()).await {
                    Ok(Some(cp)) => {
                        signed += 1;
                        on_signed(&cp);
                    }
                    Ok(None) => {}
                    Err(e) => on_error(&e),
                },
            }
        }
    }

    /// The inclusion proof of event `index` in the tree of `size` (default:
    /// the whole log), with the signed checkpoint it verifies against.
    pub async fn prove_inclusion(
        &self,
        op: &Operator,
        index: u64,
        size: Option<u64>,
        now_ms: i64,
    ) -> Result<InclusionProof, RegisterError> {
        let cp = self.checkpoint(op, size, now_ms).await?;
        if index >= cp.tree_size {
            return Err(RegisterError::new(ErrorKind::NoSuchProof(format!(
                "event {index} is not in a tree of {} events",
                cp.tree_size
            ))));
        }
        let (leaf, hashes) = log::inclusion(self.store(), index, cp.tree_size).await?;
        Ok(InclusionProof {
            index,
            tree_size: cp.tree_size,
            leaf_hash: B64.encode(leaf),
            hashes: hashes.iter().map(|h| B64.encode(h)).collect(),
            checkpoint: cp.checkpoint,
        })
    }

    /// The consistency proof from an old checkpoint of this log (whose
    /// signature is checked first) to the current one.
    pub async fn prove_consistency(
        &self,
        op: &Operator,
        old_note: &str,
        now_ms: i64,
    ) -> Result<ConsistencyProof, RegisterError> {
        let key = self.log_key(op, now_ms).await?;
        let origin = self.audit_origin().await?;
        let old = NoteVerifier::new(&origin, &key.public_key()).map_err(refused)?.verify(old_note).map_err(|e| {
            checkpoint_refused(format!("the old checkpoint is not a signed checkpoint of this log: {e}"))
        })?;
        let cp = self.checkpoint(op, None, now_ms).await?;
        if old.size > cp.tree_size {
            return Err(checkpoint_refused(format!(
                "the old checkpoint is of {} events, more than the log's {}",
                old.size, cp.tree_size
            )));
        }
        let hashes = log::consistency(self.store(), old.size, cp.tree_size).await?;
        Ok(ConsistencyProof {
            old_size: old.size,
            new_size: cp.tree_size,
            hashes: hashes.iter().map(|h| B64.encode(h)).collect(),
            checkpoint: cp.checkpoint,
        })
    }

    /// A C2SP tlog-tiles file of the log at its latest signed checkpoint
    /// (`path` is what follows `tile/`), and whether it is full (a full
    /// tile never changes). Entry bundles hold the events themselves: the
    /// caller's gate lets only the auditor ask for them (`entries`).
    pub async fn log_tile(&self, path: &str, entries: bool) -> Result<(Vec<u8>, bool), RegisterError> {
        use lanyard_audit::tiles::{self, TileError};
        let tile = tiles::parse_path(path).map_err(|e| match e {
            TileError::BadPath(why) => RegisterError::new(ErrorKind::BadTilePath(why)),
            _ => RegisterError::new(ErrorKind::NoSuchTile),
        })?;
        if tile.entries != entries {
            return Err(RegisterError::new(ErrorKind::NoSuchTile));
        }
        let size = self.latest_checkpoint_size().await?;
        let bytes = if entries {
            tiles::entry_bundle(self.store(), &tile, size).await
        } else {
            tiles::hash_tile(self.store(), &tile, size).await
        };
        let bytes = bytes.map_err(|e| match e {
            TileError::BadPath(why) => RegisterError::new(ErrorKind::BadTilePath(why)),
            TileError::NotFound => RegisterError::new(ErrorKind::NoSuchTile),
            TileError::EntryTooLong(_) => RegisterError::new(ErrorKind::Internal("an event too long for a bundle")),
            TileError::Log(l) => l.into(),
        })?;
        Ok((bytes, tile.width == tiles::TILE_WIDTH))
    }

    /// The stored bytes and leaf hash of event `index`.
    pub async fn audit_event(&self, index: u64) -> Result<(Vec<u8>, [u8; 32]), RegisterError> {
        // Past any index the store can hold: no such event.
        let at = i64::try_from(index).map_err(|_| RegisterError::new(ErrorKind::NoSuchEvent(index)))?;
        let row = self.store().audit_rows(at, 1).await?.into_iter().find(|r| r.idx == at);
        let row = row.ok_or_else(|| RegisterError::new(ErrorKind::NoSuchEvent(index)))?;
        let hash: [u8; 32] = row.leaf_hash.try_into().map_err(|_| refused("stored leaf hash is not 32 bytes"))?;
        Ok((row.event, hash))
    }

    /// The events that match `filter`, newest first, at most `limit`, with
    /// their indexes: what the console's log explorer lists. It reads back
    /// from the end of the log and stops after `scan_at_most` events, so a
    /// search of a long log answers quickly with what is recent (the
    /// answer says whether it stopped early). Events hold ids, never
    /// values, so this reveals no personal data and is not itself audited,
    /// as `audit_event` is not.
    pub async fn find_events(
        &self,
        filter: &EventFilter,
        limit: usize,
        scan_at_most: u64,
    ) -> Result<FoundEvents, RegisterError> {
        const PAGE: i64 = 2000;
        let mut end = self.store().audit_len().await?;
        let (mut events, mut scanned) = (Vec::new(), 0u64);
        while end > 0 && events.len() < limit && scanned < scan_at_most {
            let from = (end - PAGE).max(0);
            let rows = self.store().audit_rows(from, end - from).await?;
            for row in rows.iter().rev() {
                scanned += 1;
                let Ok(e) = Event::from_bytes(&row.event) else {
                    return Err(refused(format!("audit event {} is unreadable; run 'lanyard audit verify'", row.idx)));
                };
                if filter.keeps(&e) {
                    events.push((u64::try_from(row.idx).map_err(refused)?, e));
                    if events.len() >= limit {
                        break;
                    }
                }
            }
            end = from;
        }
        Ok(FoundEvents { events, scanned, complete: end == 0 })
    }
}

/// What the log explorer asks for; every part optional.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// The actor id (`user:ida`), or its name alone (`ida`).
    pub actor: Option<String>,
    /// The action (`person.read`), or its family (`card`).
    pub action: Option<String>,
    /// A person the event names.
    pub person: Option<lanyard_core::PersonId>,
    /// Unix ms, inclusive.
    pub from_ms: Option<i64>,
    /// Unix ms, exclusive.
    pub to_ms: Option<i64>,
}

impl EventFilter {
    /// Whether `e` passes.
    pub fn keeps(&self, e: &Event) -> bool {
        let actor = self
            .actor
            .as_deref()
            .is_none_or(|a| e.actor.id == a || e.actor.id.split_once(':').is_some_and(|(_, name)| name == a));
        let action = self
            .action
            .as_deref()
            .is_none_or(|a| e.action == a || e.action.split_once('.').is_some_and(|(family, _)| family == a));
        let person = self.person.is_none_or(|p| e.people.contains(&p));
        let time = self.from_ms.is_none_or(|t| e.time_ms >= t) && self.to_ms.is_none_or(|t| e.time_ms < t);
        actor && action && person && time
    }
}

/// The events found, newest first, and how much of the log was read.
#[derive(Debug)]
pub struct FoundEvents {
    /// Index and event.
    pub events: Vec<(u64, Event)>,
    /// Events read.
    pub scanned: u64,
    /// Whether the whole log was read (else the answer holds the most
    /// recent matches only).
    pub complete: bool,
}
