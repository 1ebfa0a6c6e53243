//! The RFC 9162 Merkle tree: hashing, tree heads, and inclusion and
//! consistency proofs, with their verification.
//!
//! Proofs are built from *perfect subtree* hashes (`2^level` leaves starting
//! at a multiple of `2^level`) supplied by a [`NodeSource`], so a store that
//! keeps those hashes answers any proof in O(log n) reads. Verification needs
//! nothing but the proof, the sizes and the roots.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// RFC 9162 node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where perfect-subtree hashes come from.
pub trait NodeSource {
    /// The error of a failed read.
    type Error;

    /// The hash of the perfect subtree of `2^level` leaves starting at leaf
    /// `index * 2^level`; level 0 is the leaf hashes themselves.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The index or sizes are out of range for the tree.
    OutOfRange,
    /// The node source failed.
    Source(E),
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    let mut k = 1u64;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH of the `n` leaves from `start`, where `start` is a multiple of the
/// largest power of two not above `n` (as the RFC's recursion guarantees).
pub fn range_root<S: NodeSource>(source: &S, start: u64, n: u64) -> Result<Hash, S::Error> {
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return source.node(level, start >> level);
    }
    let k = split(n);
    let left = source.node(k.trailing_zeros(), start >> k.trailing_zeros())?;
    let right = range_root(source, start + k, n - k)?;
    Ok(hash_children(&left, &right))
}

/// The root of a tree of `size` leaves.
pub fn root<S: NodeSource>(source: &S, size: u64) -> Result<Hash, S::Error> {
    range_root(source, 0, size)
}

/// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in a tree of `size`.
pub fn inclusion_proof<S: NodeSource>(source: &S, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange);
    }
    let mut path = Vec::new();
    path_into(source, index, 0, size, &mut path).map_err(ProofError::Source)?;
    Ok(path)
}

fn path_into<S: NodeSource>(source: &S, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path_into(source, m, start, k, out)?;
        out.push(range_root(source, start + k, n - k)?);
    } else {
        path_into(source, m - k, start + k, n - k, out)?;
        out.push(range_root(source, start, k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1: the consistency proof from `old_size` to `new_size`.
pub fn consistency_proof<S: NodeSource>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::OutOfRange);
    }
    let mut out = Vec::new();
    if old_size < new_size {
        subproof(source, old_size, 0, new_size, true, &mut out).map_err(ProofError::Source)?;
    }
    Ok(out)
}

fn subproof<S: NodeSource>(
    source: &S,
    m: u64,
    start: u64,
    n: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == n {
        if !complete {
            out.push(range_root(source, start, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(source, m, start, k, complete, out)?;
        out.push(range_root(source, start + k, n - k)?);
    } else {
        subproof(source, m - k, start + k, n - k, false, out)?;
        out.push(range_root(source, start, k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is at `index` in the tree of `size`
/// whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = hash_children(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: checks that the tree of `new_size` with `new_root`
/// extends the tree of `old_size` with `old_root`.
pub fn verify_consistency(old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else { return false };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = hash_children(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

/// The perfect subtrees on the right edge of a tree: what an append needs to
/// compute the nodes its new leaves complete.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)`, highest level first.
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// Positions `(level, index)` of the frontier of a tree of `size`.
    pub fn positions(size: u64) -> Vec<(u32, u64)> {
        (0..64u32).rev().filter(|l| size >> l & 1 == 1).map(|l| (l, (size >> l) - 1)).collect()
    }

    /// The frontier of a tree of `size`, from the hashes at [`Frontier::positions`].
    pub fn new(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let positions = Frontier::positions(size);
        if positions.len() != hashes.len() {
            return None;
        }
        Some(Frontier { size, stack: positions.into_iter().map(|(l, _)| l).zip(hashes).collect() })
    }

    /// Adds a leaf; returns the nodes above level 0 that it completes, as
    /// `(level, index, hash)`.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let index = self.size;
        self.size += 1;
        let mut made = Vec::new();
        let (mut level, mut hash) = (0u32, leaf);
        while let Some(&(top_level, left)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = hash_children(&left, &hash);
            level += 1;
            made.push((level, index >> level, hash));
        }
        self.stack.push((level, hash));
        made
    }

    /// The hashes at [`Frontier::positions`] of its size, highest first:
    /// what [`Frontier::new`] takes back.
    pub fn hashes(&self) -> Vec<Hash> {
        self.stack.iter().map(|(_, h)| *h).collect()
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree so far: the right-edge subtrees folded from the
    /// smallest up, which is the RFC's split at the largest power of two.
    pub fn root(&self) -> Hash {
        let mut stack = self.stack.iter().rev();
        let Some(&(_, mut acc)) = stack.next() else { return empty_root() };
        for (_, left) in stack {
            acc = hash_children(left, &acc);
        }
        acc
    }
}

/// A node source that answers with zeros and remembers what was asked: run a
/// proof against it to learn which nodes the real proof needs.
#[derive(Default)]
pub struct Recorder {
    asked: std::cell::RefCell<Vec<(u32, u64)>>,
}

impl Recorder {
    /// The positions asked for, in order, without repeats.
    pub fn positions(self) -> Vec<(u32, u64)> {
        let mut v = self.asked.into_inner();
        let mut seen = std::collections::HashSet::new();
        v.retain(|p| seen.insert(*p));
        v
    }
}

impl NodeSource for Recorder {
    type Error = std::convert::Infallible;

    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.asked.borrow_mut().push((level, index));
        Ok([0; 32])
    }
}

/// A node source over a map of fetched nodes.
pub struct Fetched(pub std::collections::HashMap<(u32, u64), Hash>);

impl NodeSource for Fetched {
    type Error = MissingNode;

    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.0.get(&(level, index)).copied().ok_or(MissingNode)
    }
}

/// Every perfect-subtree hash of a list of leaves, kept in memory: for tests,
/// and for verifying a whole exported log.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// A tree of the given leaf hashes.
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut t = MemoryTree { levels: vec![Vec::new()] };
        for leaf in leaves {
            t.push(leaf);
        }
        t
    }

    /// Appends one leaf hash, completing every perfect subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else { return };
            row.push(hash);
            if row.len() % 2 == 1 {
                return;
            }
            let (Some(right), Some(left)) = (row.last().copied(), row.get(row.len().wrapping_sub(2)).copied()) else {
                return;
            };
            hash = hash_children(&left, &right);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }
}

/// A node that is not in the tree (asked beyond its size).
#[derive(Debug, PartialEq, Eq)]
pub struct MissingNode;

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.levels
            .get(level as usize)
            .and_then(|row| row.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(MissingNode)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::event::leaf_hash;

    fn tree(n: u64) -> MemoryTree {
        MemoryTree::new((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect())
    }

    /// MTH straight from the RFC's definition, as an independent check.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                hash_children(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_definition() {
        for n in 0..70u64 {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            assert_eq!(root(&MemoryTree::new(leaves.clone()), n).unwrap(), reference_root(&leaves), "n={n}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_inclusion_proof_verifies_and_no_other(size in 1u64..=10_000, pick in any::<prop::sample::Index>()) {
            let t = tree(size);
            let r = root(&t, size).unwrap();
            let index = pick.index(size as usize) as u64;
            let leaf = t.node(0, index).unwrap();
            let proof = inclusion_proof(&t, index, size).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &r));
            if size > 1 {
                prop_assert!(!verify_inclusion(&leaf, (index + 1) % size, size, &proof, &r));
            }
            // (A wrong size with the same path shape can still verify: the
            // size is bound by the signed checkpoint, not by the proof.)
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][0] ^= 1;
                prop_assert!(!verify_inclusion(&leaf, index, size, &bad, &r));
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_no_other(new in 1u64..=10_000, pick in any::<prop::sample::Index>()) {
            let t = tree(new);
            let old = pick.index(new as usize) as u64 + 1;
            let (old_root, new_root) = (root(&t, old).unwrap(), root(&t, new).unwrap());
            let proof = consistency_proof(&t, old, new).unwrap();
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof));
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][31] ^= 0x80;
                prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &bad));
            }
            if old < new {
                let forged = leaf_hash(b"forged");
                prop_assert!(!verify_consistency(old, new, &forged, &new_root, &proof));
                prop_assert!(!verify_consistency(old, new, &old_root, &forged, &proof));
            }
        }
    }

    #[test]
    fn exhaustive_small_trees() {
        let t = tree(257);
        for size in 1..=257u64 {
            let r = root(&t, size).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(&t, index, size).unwrap();
                assert!(verify_inclusion(&t.node(0, index).unwrap(), index, size, &proof, &r), "{index}/{size}");
            }
            for old in 1..=size {
                let proof = consistency_proof(&t, old, size).unwrap();
                assert!(verify_consistency(old, size, &root(&t, old).unwrap(), &r, &proof), "{old}->{size}");
            }
        }
    }

    #[test]
    fn frontier_makes_exactly_the_perfect_nodes() {
        for start in 0..40u64 {
            let full = tree(start + 37);
            let hashes: Vec<Hash> =
                Frontier::positions(start).iter().map(|(l, i)| full.node(*l, *i).unwrap()).collect();
            let mut f = Frontier::new(start, hashes).unwrap();
            let mut made = std::collections::HashMap::new();
            for i in start..start + 37 {
                for (l, idx, h) in f.push(full.node(0, i).unwrap()) {
                    made.insert((l, idx), h);
                }
            }
            for ((l, idx), h) in &made {
                assert_eq!(full.node(*l, *idx).unwrap(), *h, "start {start}: node {l}/{idx}");
            }
            assert_eq!(f.root(), root(&full, start + 37).unwrap(), "start {start}: frontier root");
            // Every perfect node that ends in the appended range was made.
            for l in 1..8u32 {
                for idx in 0..((start + 37) >> l) {
                    let end = (idx + 1) << l;
                    if end > start {
                        assert!(made.contains_key(&(l, idx)), "start {start}: missing {l}/{idx}");
                    }
                }
            }
        }
    }

    #[test]
    fn out_of_range_is_refused() {
        let t = tree(5);
        assert_eq!(inclusion_proof(&t, 5, 5), Err(ProofError::OutOfRange));
        assert_eq!(consistency_proof(&t, 0, 5), Err(ProofError::OutOfRange));
        assert_eq!(consistency_proof(&t, 6, 5), Err(ProofError::OutOfRange));
        assert!(!verify_inclusion(&[0; 32], 3, 3, &[], &[0; 32]));
    }
}
