//! The outsider's verifier, attacked: every bit flip in a checkpoint, an
//! event or a proof hash must be rejected.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey};
use lanyard_audit::checkpoint::{Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint};
use lanyard_audit::leaf_hash;
use lanyard_audit::merkle::{self, MemoryTree, NodeSource};
use lanyard_audit::proof::{ConsistencyJson, InclusionJson, check_consistency, check_inclusion};

struct Key(SigningKey);

impl NoteSigner for Key {
    fn name(&self) -> &str {
        "lanyard.example/force-audit"
    }
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        Ok(self.0.sign(message).to_bytes())
    }
}

fn flips(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() * 8).map(move |i| {
        let mut b = bytes.to_vec();
        b[i / 8] ^= 1 << (i % 8);
        b
    })
}

#[test]
fn every_bit_flip_is_rejected() {
    let key = Key(SigningKey::from_bytes(&[42; 32]));
    let verifier = NoteVerifier::new(key.name(), &key.public_key()).unwrap();
    let events: Vec<Vec<u8>> =
        (0..13).map(|i| format!("{{\"action\":\"person.read\",\"n\":{i}}}").into_bytes()).collect();
    let tree = MemoryTree::new(events.iter().map(|e| leaf_hash(e)).collect());
    let note = |size: u64| {
        let cp = Checkpoint { origin: key.name().into(), size, root: merkle::root(&tree, size).unwrap() };
        sign_checkpoint(&cp, &key).unwrap()
    };
    let (index, size) = (5u64, 13u64);
    let inclusion = InclusionJson {
        index,
        tree_size: size,
        leaf_hash: B64.encode(tree.node(0, index).unwrap()),
        hashes: merkle::inclusion_proof(&tree, index, size).unwrap().iter().map(|h| B64.encode(h)).collect(),
        checkpoint: note(size),
    };
    let event = &events[index as usize];
    check_inclusion(&inclusion, &verifier, Some(event)).unwrap();

    for bad_event in flips(event) {
        assert!(check_inclusion(&inclusion, &verifier, Some(&bad_event)).is_err());
    }
    for bad in flips(inclusion.checkpoint.as_bytes()) {
        let Ok(text) = String::from_utf8(bad) else { continue };
        let p = InclusionJson {
            checkpoint: text,
            hashes: inclusion.hashes.clone(),
            leaf_hash: inclusion.leaf_hash.clone(),
            ..inclusion
        };
        assert!(check_inclusion(&p, &verifier, None).is_err());
    }
    for (i, h) in inclusion.hashes.iter().enumerate() {
        for bad in flips(&B64.decode(h).unwrap()) {
            let mut hashes = inclusion.hashes.clone();
            hashes[i] = B64.encode(bad);
            let p = InclusionJson {
                hashes,
                checkpoint: inclusion.checkpoint.clone(),
                leaf_hash: inclusion.leaf_hash.clone(),
                ..inclusion
            };
            assert!(check_inclusion(&p, &verifier, None).is_err());
        }
    }
    for bad in flips(&B64.decode(&inclusion.leaf_hash).unwrap()) {
        let p = InclusionJson {
            leaf_hash: B64.encode(bad),
            hashes: inclusion.hashes.clone(),
            checkpoint: inclusion.checkpoint.clone(),
            ..inclusion
        };
        assert!(check_inclusion(&p, &verifier, None).is_err());
    }
    for wrong_index in [0, 4, 6, 12] {
        let p = InclusionJson {
            index: wrong_index,
            hashes: inclusion.hashes.clone(),
            leaf_hash: inclusion.leaf_hash.clone(),
            checkpoint: inclusion.checkpoint.clone(),
            ..inclusion
        };
        assert!(check_inclusion(&p, &verifier, None).is_err(), "index {wrong_index}");
    }

    let old = note(6);
    let consistency = ConsistencyJson {
        old_size: 6,
        new_size: 13,
        hashes: merkle::consistency_proof(&tree, 6, 13).unwrap().iter().map(|h| B64.encode(h)).collect(),
        checkpoint: note(13),
    };
    check_consistency(&consistency, &verifier, &old).unwrap();
    for bad in flips(old.as_bytes()) {
        let Ok(text) = String::from_utf8(bad) else { continue };
        assert!(check_consistency(&consistency, &verifier, &text).is_err());
    }
    for (i, h) in consistency.hashes.iter().enumerate() {
        for bad in flips(&B64.decode(h).unwrap()) {
            let mut hashes = consistency.hashes.clone();
            hashes[i] = B64.encode(bad);
            let p = ConsistencyJson { hashes, checkpoint: consistency.checkpoint.clone(), ..consistency };
            assert!(check_consistency(&p, &verifier, &old).is_err());
        }
    }
    // A checkpoint of another size does not stand in for the old one.
    assert!(check_consistency(&consistency, &verifier, &note(7)).is_err());
}
