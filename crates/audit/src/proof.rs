//! Checking proofs as an outsider: nothing but the proof JSON that `lanyard
//! audit prove` prints, the signed checkpoints in it, the verifier key and,
//! optionally, the event bytes. No store, no keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use crate::checkpoint::NoteVerifier;
use crate::event::leaf_hash;
use crate::merkle::{Hash, verify_consistency, verify_inclusion};

/// The JSON of `lanyard audit prove inclusion`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionJson {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub tree_size: u64,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// Base64 path.
    pub hashes: Vec<String>,
    /// Signed checkpoint.
    pub checkpoint: String,
}

/// The JSON of `lanyard audit prove consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyJson {
    /// Old tree size.
    pub old_size: u64,
    /// New tree size.
    pub new_size: u64,
    /// Base64 proof.
    pub hashes: Vec<String>,
    /// Signed checkpoint of the new size.
    pub checkpoint: String,
}

fn hash(text: &str) -> Result<Hash, String> {
    let bytes = B64.decode(text).map_err(|_| "a hash is not base64".to_owned())?;
    bytes.try_into().map_err(|_| "a hash is not 32 bytes".to_owned())
}

/// Checks an inclusion proof; with `event`, also that those bytes are the leaf.
pub fn check_inclusion(proof: &InclusionJson, verifier: &NoteVerifier, event: Option<&[u8]>) -> Result<(), String> {
    let cp = verifier.verify(&proof.checkpoint).map_err(|e| e.to_string())?;
    if cp.size != proof.tree_size {
        return Err(format!("the proof is for size {} but its checkpoint is of size {}", proof.tree_size, cp.size));
    }
    let leaf = hash(&proof.leaf_hash)?;
    if let Some(bytes) = event
        && leaf_hash(bytes) != leaf
    {
        return Err("the event bytes do not hash to the proven leaf".into());
    }
    let path = proof.hashes.iter().map(|h| hash(h)).collect::<Result<Vec<_>, _>>()?;
    if !verify_inclusion(&leaf, proof.index, proof.tree_size, &path, &cp.root) {
        return Err("the inclusion proof does not lead to the checkpoint's root".into());
    }
    Ok(())
}

/// Checks a consistency proof against the old checkpoint the reviewer kept.
pub fn check_consistency(proof: &ConsistencyJson, verifier: &NoteVerifier, old_checkpoint: &str) -> Result<(), String> {
    let old = verifier.verify(old_checkpoint).map_err(|e| format!("old {e}"))?;
    let new = verifier.verify(&proof.checkpoint).map_err(|e| e.to_string())?;
    if old.origin != new.origin {
        return Err("the checkpoints are of different logs".into());
    }
    if old.size != proof.old_size || new.size != proof.new_size {
        return Err("the proof's sizes do not match the checkpoints".into());
    }
    let path = proof.hashes.iter().map(|h| hash(h)).collect::<Result<Vec<_>, _>>()?;
    if !verify_consistency(old.size, new.size, &old.root, &new.root, &path) {
        return Err("the log did not only grow: the consistency proof fails".into());
    }
    Ok(())
}
