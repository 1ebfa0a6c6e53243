//! The Merkle tree against RFC 6962/9162 vectors computed by an independent
//! implementation (`tests/vectors/merkle-rfc6962.json`, from shared/vectors).
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use lanyard_audit::leaf_hash;
use lanyard_audit::merkle::{
    Hash, MemoryTree, NodeSource, consistency_proof, empty_root, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};

fn hex(s: &str) -> Hash {
    let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}

fn raw(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn rfc6962_vectors() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/merkle-rfc6962.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let leaves: Vec<Hash> =
        v["leaves"].as_array().unwrap().iter().map(|l| leaf_hash(&raw(l.as_str().unwrap()))).collect();
    let tree = MemoryTree::new(leaves.clone());
    assert_eq!(empty_root(), hex(v["empty_root"].as_str().unwrap()));
    for (i, r) in v["roots"].as_array().unwrap().iter().enumerate() {
        assert_eq!(root(&tree, i as u64 + 1).unwrap(), hex(r.as_str().unwrap()), "root of {}", i + 1);
    }
    assert!(v["roots"][7].as_str().unwrap().starts_with("5dc9da79"));
    let mut checked = 0;
    for case in v["inclusion"].as_array().unwrap() {
        let (index, size) = (case["index"].as_u64().unwrap(), case["size"].as_u64().unwrap());
        let expected: Vec<Hash> = case["path"].as_array().unwrap().iter().map(|h| hex(h.as_str().unwrap())).collect();
        assert_eq!(inclusion_proof(&tree, index, size).unwrap(), expected, "inclusion {index} in {size}");
        let r = root(&tree, size).unwrap();
        assert!(verify_inclusion(&tree.node(0, index).unwrap(), index, size, &expected, &r));
        checked += 1;
    }
    for case in v["consistency"].as_array().unwrap() {
        let (old, new) = (case["old_size"].as_u64().unwrap(), case["new_size"].as_u64().unwrap());
        let expected: Vec<Hash> = case["path"].as_array().unwrap().iter().map(|h| hex(h.as_str().unwrap())).collect();
        assert_eq!(consistency_proof(&tree, old, new).unwrap(), expected, "consistency {old} to {new}");
        assert!(verify_consistency(old, new, &root(&tree, old).unwrap(), &root(&tree, new).unwrap(), &expected));
        checked += 1;
    }
    assert_eq!(checked, 36 + 28);
}
