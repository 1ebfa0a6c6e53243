//! `add-checkpoint`: the checks of C2SP `tlog-witness`, in its order, and
//! the new state persisted before the cosignature is returned.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::checkpoint::Checkpoint;
use lanyard_audit::merkle::{Hash, verify_consistency};
use lanyard_note::Verifier;
use lanyard_note::cosignature::{CosignatureVerifier, Cosigner};

use crate::state::{DataDir, LogState, StateError};

/// The most proof lines a request may carry (the spec's bound).
const MAX_PROOF: usize = 63;

/// Why a checkpoint was not cosigned, with the status the spec gives it.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// 400: the request is malformed, or its old size is above its size.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 404: no log of that origin is configured.
    #[error("unknown log origin")]
    UnknownOrigin,
    /// 403: no signature by the log's key verifies.
    #[error("the checkpoint is not signed by the log's key")]
    Forbidden,
    /// 409: the old size is not the size last cosigned (which is given),
    /// or the same size with another root.
    #[error("the latest cosigned checkpoint has size {0}")]
    Conflict(u64),
    /// 422: the consistency proof does not hold.
    #[error("the consistency proof does not verify")]
    BadProof,
    /// 500: the witness's own state could not be read or written.
    #[error("witness state: {0}")]
    State(#[from] StateError),
}

impl AddError {
    /// The HTTP status the spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            AddError::BadRequest(_) => 400,
            AddError::Forbidden => 403,
            AddError::UnknownOrigin => 404,
            AddError::Conflict(_) => 409,
            AddError::BadProof => 422,
            AddError::State(_) => 500,
        }
    }
}

/// A witness over its data folder.
pub struct Witness {
    dir: DataDir,
    cosigner: Cosigner,
    logs: BTreeMap<String, Verifier>,
    // Checking the old size and persisting the new state are one step, or
    // two requests could roll the state back (the spec's race).
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Witness {{ name: {}, logs: {} }}", self.cosigner.verifier().name(), self.logs.len())
    }
}

/// `old N`, the proof, and the signed checkpoint, from a request body.
pub fn parse_request(body: &str) -> Result<(u64, Vec<Hash>, &str), AddError> {
    let (head, note) = body.split_once("\n\n").ok_or(AddError::BadRequest("no empty line before the checkpoint"))?;
    let mut lines = head.split('\n');
    let old = lines.next().and_then(|l| l.strip_prefix("old ")).ok_or(AddError::BadRequest("no old size line"))?;
    if old.is_empty() || !old.bytes().all(|b| b.is_ascii_digit()) || (old.len() > 1 && old.starts_with('0')) {
        return Err(AddError::BadRequest("the old size is not a decimal without leading zeroes"));
    }
    let old: u64 = old.parse().map_err(|_| AddError::BadRequest("the old size is out of range"))?;
    let mut proof = Vec::new();
    for line in lines {
        let raw = B64.decode(line).map_err(|_| AddError::BadRequest("a proof line is not base64"))?;
        proof.push(<Hash>::try_from(raw.as_slice()).map_err(|_| AddError::BadRequest("a proof hash is not 32 bytes"))?);
        if proof.len() > MAX_PROOF {
            return Err(AddError::BadRequest("more than 63 proof lines"));
        }
    }
    Ok((old, proof, note))
}

impl Witness {
    /// The witness of a data folder made by [`DataDir::init`].
    pub fn open(dir: DataDir) -> Result<Self, StateError> {
        let cosigner = dir.cosigner()?;
        let logs = dir.logs()?;
        Ok(Witness { dir, cosigner, logs, lock: tokio::sync::Mutex::new(()) })
    }

    /// The witness's public key, as logs pin it.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.cosigner.verifier()
    }

    /// Checks a request and, if it holds, records the checkpoint as the
    /// latest and returns the cosignature line(s).
    pub async fn add_checkpoint(&self, body: &str, now_s: u64) -> Result<String, AddError> {
        let (old, proof, note) = parse_request(body)?;
        let origin = note.split('\n').next().unwrap_or_default();
        let log = self.logs.get(origin).ok_or(AddError::UnknownOrigin)?;
        let checkpoint_body = log.verify(note).map_err(|_| AddError::Forbidden)?;
        let cp = Checkpoint::parse_body(checkpoint_body).map_err(|_| AddError::BadRequest("not a checkpoint"))?;
        if old > cp.size {
            return Err(AddError::BadRequest("the old size is above the checkpoint's size"));
        }
        let _held = self.lock.lock().await;
        let latest = self.dir.state(origin)?;
        let latest_size = latest.map_or(0, |s| s.size);
        if old != latest_size {
            return Err(AddError::Conflict(latest_size));
        }
        match latest {
            None if !proof.is_empty() => return Err(AddError::BadRequest("a proof from size zero must be empty")),
            None => {}
            // The same size: the same root, or the log showed two views.
            Some(s) if s.size == cp.size && (s.root != cp.root || !proof.is_empty()) => {
                return Err(AddError::Conflict(s.size));
            }
            Some(s) if s.size == cp.size => {}
            Some(s) if !verify_consistency(s.size, cp.size, &s.root, &cp.root, &proof) => {
                return Err(AddError::BadProof);
            }
            Some(_) => {}
        }
        self.dir.set_state(origin, LogState { size: cp.size, root: cp.root })?;
        Ok(self.cosigner.cosign(checkpoint_body, now_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_the_spec_writes_them() {
        let (old, proof, note) = parse_request("old 0\n\norigin\n1\nAA==\n\n— sig\n").unwrap();
        assert_eq!((old, proof.len(), note), (0, 0, "origin\n1\nAA==\n\n— sig\n"));
        let h = B64.encode([7u8; 32]);
        let (old, proof, _) = parse_request(&format!("old 12\n{h}\n{h}\n\nx\n")).unwrap();
        assert_eq!((old, proof), (12, vec![[7u8; 32], [7u8; 32]]));
        for bad in ["old 01\n\nx", "old -1\n\nx", "new 1\n\nx", "old 1\nnot base64!\n\nx", "old 1\nx"] {
            assert!(matches!(parse_request(bad), Err(AddError::BadRequest(_))), "{bad}");
        }
        let long = format!("old 1\n{}\nx", format!("{h}\n").repeat(64));
        assert!(matches!(parse_request(&long), Err(AddError::BadRequest(_))));
    }

    proptest::proptest! {
        #[test]
        fn no_request_panics(body in "\\PC{0,300}") {
            let _ = parse_request(&body);
        }
    }
}
