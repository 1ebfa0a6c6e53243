//! The log's side of its witnesses (C2SP `tlog-witness`): each signed
//! checkpoint goes to every configured witness with the consistency proof
//! from the size that witness last cosigned, and the cosignatures that come
//! back are kept beside the checkpoint.
//!
//! The same round is how a rolled-back store is found. A witness never
//! forgets the largest tree it cosigned, and a store put back from an older
//! copy, or a log with its tail cut off, cannot show it a consistent
//! history: the witness answers with a larger size than the log holds
//! (`ahead`), or refuses the proof (`inconsistent`).

use lanyard_audit::log;
use lanyard_note::cosignature::CosignatureVerifier;
use lanyard_witness::client::{self, Answer};
use serde::Serialize;

use crate::error::RegisterError;
use crate::register::Register;

const BACKUP_VERIFIED_META: &str = "backup_verified_at";

/// A witness the log sends its checkpoints to.
#[derive(Clone, Debug)]
pub struct WitnessTarget {
    /// Its submission prefix (`https://witness.example/w1`).
    pub url: String,
    /// Its cosignature key.
    pub key: CosignatureVerifier,
}

/// What one witness answered in a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WitnessOutcome {
    /// It cosigned the checkpoint of `size`.
    Cosigned {
        /// The witness's name.
        witness: String,
        /// The size it cosigned.
        size: u64,
    },
    /// It has cosigned a larger tree than this log holds: the log was cut
    /// short or put back from an older copy.
    Ahead {
        /// The witness's name.
        witness: String,
        /// The size it cosigned.
        witnessed: u64,
        /// The size of this log's latest checkpoint.
        local: u64,
    },
    /// This log's history does not extend what it cosigned at `size`: an
    /// event was changed, with its hashes recomputed.
    Inconsistent {
        /// The witness's name.
        witness: String,
        /// The size it cosigned.
        size: u64,
    },
    /// It could not be reached; the next round tries again.
    Unreachable {
        /// The witness's name.
        witness: String,
        /// Why.
        reason: String,
    },
    /// It refused for another reason (a key it does not know, say).
    Refused {
        /// The witness's name.
        witness: String,
        /// The HTTP status.
        status: u16,
        /// Its reason.
        reason: String,
    },
}

impl WitnessOutcome {
    /// Whether this answer shows the log was rolled back or rewritten.
    pub fn is_alarm(&self) -> bool {
        matches!(self, WitnessOutcome::Ahead { .. } | WitnessOutcome::Inconsistent { .. })
    }
}

impl std::fmt::Display for WitnessOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WitnessOutcome::Cosigned { witness, size } => write!(f, "witness {witness}: cosigned size {size}"),
            WitnessOutcome::Ahead { witness, witnessed, local } => write!(
                f,
                "witness {witness}: it cosigned size {witnessed}, but this log's latest checkpoint is {local} \
                 (the log was cut short or the store put back from an older copy)"
            ),
            WitnessOutcome::Inconsistent { witness, size } => write!(
                f,
                "witness {witness}: this log's history is not the one it cosigned at size {size} (events were changed)"
            ),
            WitnessOutcome::Unreachable { witness, reason } => write!(f, "witness {witness}: unreachable: {reason}"),
            WitnessOutcome::Refused { witness, status, reason } => {
                write!(f, "witness {witness}: refused ({status}): {}", reason.trim())
            }
        }
    }
}

impl Register {
    /// Sends the latest stored checkpoint to every witness and keeps the
    /// cosignatures returned. Nothing is sent when the log has none.
    pub async fn witness_round(
        &self,
        witnesses: &[WitnessTarget],
        now_ms: i64,
    ) -> Result<Vec<WitnessOutcome>, RegisterError> {
        self.round(witnesses, true, now_ms).await
    }

    /// The same, asking only the witnesses that have not cosigned the
    /// latest checkpoint yet (the server's periodic round).
    pub async fn witness_round_if_new(
        &self,
        witnesses: &[WitnessTarget],
        now_ms: i64,
    ) -> Result<Vec<WitnessOutcome>, RegisterError> {
        self.round(witnesses, false, now_ms).await
    }

    async fn round(
        &self,
        witnesses: &[WitnessTarget],
        always: bool,
        now_ms: i64,
    ) -> Result<Vec<WitnessOutcome>, RegisterError> {
        let Some((size, _)) = self.store().latest_checkpoint().await? else { return Ok(Vec::new()) };
        let note = self.store().checkpoint_at(size).await?.unwrap_or_default();
        let size = u64::try_from(size).unwrap_or(0);
        let http = client::http();
        let mut out = Vec::new();
        for w in witnesses {
            let known = self.store().latest_cosigned(w.key.name()).await?.and_then(|s| u64::try_from(s).ok());
            if !always && known == Some(size) {
                continue;
            }
            out.push(self.ask(&http, w, &note, size, known, now_ms).await?);
        }
        Ok(out)
    }

    async fn ask(
        &self,
        http: &reqwest::Client,
        w: &WitnessTarget,
        note: &str,
        size: u64,
        known: Option<u64>,
        now_ms: i64,
    ) -> Result<WitnessOutcome, RegisterError> {
        let name = w.key.name().to_owned();
        // What this store remembers may be stale (or rolled back with it):
        // a 409 tells the witness's own size, and one retry uses it.
        let mut old = known.filter(|k| *k <= size).unwrap_or(0);
        for attempt in 0..2 {
            let proof =
                if old == 0 || old == size { Vec::new() } else { log::consistency(self.store(), old, size).await? };
            let answer = match client::submit(http, &w.url, old, &proof, note).await {
                Ok(a) => a,
                Err(e) => return Ok(WitnessOutcome::Unreachable { witness: name, reason: e.reason }),
            };
            match answer {
                Answer::Cosigned(lines) => return self.keep(w, note, size, &lines, now_ms).await,
                Answer::Conflict(theirs) if theirs > size => {
                    return Ok(WitnessOutcome::Ahead { witness: name, witnessed: theirs, local: size });
                }
                Answer::Conflict(theirs) if attempt == 0 && theirs != old => old = theirs,
                Answer::Conflict(theirs) => return Ok(WitnessOutcome::Inconsistent { witness: name, size: theirs }),
                Answer::Refused(422, _) => return Ok(WitnessOutcome::Inconsistent { witness: name, size: old }),
                Answer::Refused(status, reason) => {
                    return Ok(WitnessOutcome::Refused { witness: name, status, reason });
                }
            }
        }
        Ok(WitnessOutcome::Inconsistent { witness: name, size: old })
    }

    async fn keep(
        &self,
        w: &WitnessTarget,
        note: &str,
        size: u64,
        lines: &str,
        now_ms: i64,
    ) -> Result<WitnessOutcome, RegisterError> {
        let name = w.key.name().to_owned();
        let body = lanyard_note::split_note(note).map(|(body, _)| body).unwrap_or_default();
        if w.key.verify(body, lines).is_err() {
            return Ok(WitnessOutcome::Refused {
                witness: name,
                status: 200,
                reason: "its answer carries no valid cosignature by its key".into(),
            });
        }
        let line = lines
            .lines()
            .find(|l| l.strip_prefix("\u{2014} ").and_then(|r| r.split_once(' ')).is_some_and(|(n, _)| n == name))
            .unwrap_or_default();
        let mut tx = self.ledger.begin().await?;
        let stored = i64::try_from(size).unwrap_or(i64::MAX);
        tx.tx().insert_cosignature(&name, stored, line, now_ms / 1000).await?;
        tx.commit_housekeeping(lanyard_audit::Housekeeping::Checkpoint).await?;
        Ok(WitnessOutcome::Cosigned { witness: name, size })
    }

    /// Records that a backup was verified (`backup.verify`), and when, for
    /// the data-loss watch's backup age.
    pub async fn record_backup_verified(
        &self,
        op: &crate::register::Operator,
        detail: serde_json::Value,
        now_ms: i64,
    ) -> Result<(), RegisterError> {
        let mut event =
            lanyard_audit::Event::new(now_ms, op.actor.clone(), "backup.verify", lanyard_audit::Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(detail);
        let mut tx = self.ledger.begin().await?;
        tx.tx().set_meta(BACKUP_VERIFIED_META, &now_ms.to_string()).await?;
        tx.append(&[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rows per table and sealed rows per compartment: the volumes the
    /// data-loss watch compares from pass to pass.
    pub async fn volumes(&self) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>), RegisterError> {
        let tables = self.store().table_counts().await?;
        let mut compartments: Vec<(String, i64)> = Vec::new();
        for (c, _, n) in self.store().sealed_counts().await? {
            match compartments.iter_mut().find(|(name, _)| *name == c) {
                Some((_, total)) => *total += n,
                None => compartments.push((c, n)),
            }
        }
        Ok((tables, compartments))
    }

    /// When a backup was last verified (Unix milliseconds), if ever.
    pub async fn backup_verified_at(&self) -> Result<Option<i64>, RegisterError> {
        Ok(self.store().meta(BACKUP_VERIFIED_META).await?.and_then(|v| v.parse().ok()))
    }

    /// The size of the latest signed checkpoint (0 if none).
    pub async fn latest_checkpoint_size(&self) -> Result<u64, RegisterError> {
        let latest = self.store().latest_checkpoint().await?;
        Ok(latest.map_or(0, |(s, _)| u64::try_from(s).unwrap_or(0)))
    }

    /// The latest checkpoint with every cosignature kept for it: the note a
    /// verifier who requires witnesses checks.
    pub async fn cosigned_checkpoint(&self, size: u64) -> Result<Option<String>, RegisterError> {
        let stored = i64::try_from(size).unwrap_or(i64::MAX);
        let Some(note) = self.store().checkpoint_at(stored).await? else { return Ok(None) };
        let mut note = note;
        for (_, line) in self.store().cosignatures_at(stored).await? {
            note.push_str(&line);
            note.push('\n');
        }
        Ok(Some(note))
    }
}
