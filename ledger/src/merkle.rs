//! RFC 6962 / RFC 9162 (section 2.1) Merkle trees: hashing, an incremental
//! tree, proof generation and proof verification.
//!
//! Leaves are hashed with [`leaf_hash`](crate::event::leaf_hash)
//! (`SHA-256(0x00 || leaf)`), interior nodes with [`hash_children`]
//! (`SHA-256(0x01 || left || right)`), and the empty tree's root is
//! `SHA-256("")` ([`empty_root`]). Every function here takes *leaf hashes*,
//! never leaf bytes.
//!
//! - [`MerkleTree`] keeps only the roots of the perfect subtrees (the
//!   "frontier", at most 64 hashes): `push` is O(log n) and it is serializable.
//! - [`root_of`], [`inclusion_proof`] and [`consistency_proof`] work over a
//!   slice of all leaf hashes; each call hashes O(n) nodes.
//! - [`verify_inclusion`] and [`verify_consistency`] follow RFC 9162 sections
//!   2.1.3.2 and 2.1.4.2. Their `_bytes` variants take untrusted byte strings
//!   and refuse any hash that is not 32 bytes long.
//!
//! # Conventions
//! - Proofs longer than [`MAX_PROOF_LEN`] hashes are refused before any hashing,
//!   and proofs of any other wrong length are refused as such (not as a root
//!   mismatch).
//! - **Consistency from size 0** follows C2SP tlog-witness, not
//!   transparency-dev/merkle (which refuses every proof from size 0): with
//!   `size1 == 0` an *empty* proof is accepted, provided `root1` is the empty
//!   tree's root (and, if `size2 == 0` too, so is `root2`). A non-empty proof
//!   from size 0 is refused.
//! - `size1 == size2` requires an empty proof and `root1 == root2`.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ids::Digest;

/// The longest proof accepted, in hashes. Inclusion proofs never need more;
/// consistency proofs need at most 64 for trees of up to 2^63 leaves.
pub const MAX_PROOF_LEN: usize = 64;

/// Why a proof, a proof request or a stored tree was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree size is larger than the second.
    #[error("tree size {size1} is larger than tree size {size2}")]
    SizeOrder {
        /// The first (older) tree size.
        size1: u64,
        /// The second (newer) tree size.
        size2: u64,
    },
    /// The proof has more than [`MAX_PROOF_LEN`] hashes.
    #[error("proof has {len} hashes, more than the limit of {max}")]
    ProofTooLong {
        /// The number of hashes in the proof.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The proof does not have the number of hashes its sizes require.
    #[error("proof has {len} hashes, expected {expected}")]
    WrongProofLength {
        /// The number of hashes in the proof.
        len: usize,
        /// The number the sizes require.
        expected: usize,
    },
    /// The root computed from the proof differs from the expected root.
    #[error("root mismatch: expected {expected}, computed {computed}")]
    RootMismatch {
        /// The root the caller trusts.
        expected: Digest,
        /// The root computed from the proof.
        computed: Digest,
    },
    /// A hash is not 32 bytes long.
    #[error("hash is {len} bytes long, expected 32")]
    BadHashLength {
        /// The length found.
        len: usize,
    },
    /// A proof was asked for a tree larger than the leaves supplied.
    #[error("tree size {size} exceeds the {available} leaf hashes supplied")]
    NotEnoughLeaves {
        /// The tree size asked for.
        size: u64,
        /// The number of leaf hashes supplied.
        available: u64,
    },
    /// A stored frontier does not have one hash per set bit of its size.
    #[error("frontier of {hashes} hashes does not fit tree size {size}")]
    BadFrontier {
        /// The stored tree size.
        size: u64,
        /// The number of stored hashes.
        hashes: usize,
    },
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Digest {
    Digest(Sha256::digest(b"").into())
}

/// An interior node hash: `SHA-256(0x01 || left || right)`.
pub fn hash_children(left: &Digest, right: &Digest) -> Digest {
    hash_children_bytes(&left.0, &right.0)
}

/// `SHA-256(0x01 || left || right)` over raw byte strings of any length (for
/// hasher test vectors; trees use [`hash_children`]).
pub fn hash_children_bytes(left: &[u8], right: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    Digest(h.finalize().into())
}

/// A 32-byte hash from an untrusted byte string.
pub fn parse_hash(bytes: &[u8]) -> Result<Digest, ProofError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ProofError::BadHashLength { len: bytes.len() })?;
    Ok(Digest(arr))
}

/// 32-byte hashes from untrusted byte strings; refuses any of another length.
pub fn parse_hashes<B: AsRef<[u8]>>(hashes: &[B]) -> Result<Vec<Digest>, ProofError> {
    hashes.iter().map(|h| parse_hash(h.as_ref())).collect()
}

/// The largest power of two strictly below `n`; requires `n > 1`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// The RFC 6962 Merkle tree hash (MTH) of `leaves` (leaf hashes).
pub fn root_of(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            hash_children(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

fn check_size(leaves: &[Digest], size: u64) -> Result<(), ProofError> {
    let available = leaves.len() as u64;
    if size > available {
        return Err(ProofError::NotEnoughLeaves { size, available });
    }
    Ok(())
}

/// The hashes of the siblings of node `[begin, end)` in the tree of `size`
/// leaves, bottom up, with `range(lo, hi)` giving the hash of node `[lo, hi)`.
/// The node must be a node of that tree.
fn node_path(range: impl Fn(u64, u64) -> Digest, begin: u64, end: u64, size: u64) -> Vec<Digest> {
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while (lo, hi) != (begin, end) {
        debug_assert!(hi - lo > 1 && lo <= begin && end <= hi);
        let split = lo + split_point(hi - lo);
        if end <= split {
            path.push(range(split, hi));
            hi = split;
        } else {
            debug_assert!(begin >= split);
            path.push(range(lo, split));
            lo = split;
        }
    }
    path.reverse();
    path
}

/// The consistency proof from size `size1` to size `size2` (`0 < size1 < size2`),
/// with `range(lo, hi)` giving the hash of node `[lo, hi)`.
fn consistency_path(range: impl Fn(u64, u64) -> Digest, size1: u64, size2: u64) -> Vec<Digest> {
    // The last perfect subtree of the old tree, [begin, size1), is a node of
    // the new tree: the proof is its hash (unless it is the whole old tree,
    // whose root the verifier has) followed by its path.
    let begin = size1 - (1 << size1.trailing_zeros());
    let mut proof = Vec::new();
    if begin != 0 {
        proof.push(range(begin, size1));
    }
    proof.extend(node_path(&range, begin, size1, size2));
    proof
}

fn slice_range(leaves: &[Digest]) -> impl Fn(u64, u64) -> Digest + '_ {
    move |lo, hi| root_of(&leaves[lo as usize..hi as usize])
}

/// The inclusion proof (audit path) of leaf `index` in the tree of
/// `leaves[..size]`, bottom up.
pub fn inclusion_proof(
    leaves: &[Digest],
    index: u64,
    size: u64,
) -> Result<Vec<Digest>, ProofError> {
    check_size(leaves, size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(node_path(slice_range(leaves), index, index + 1, size))
}

/// The consistency proof from the tree of `leaves[..size1]` to the tree of
/// `leaves[..size2]`; empty when `size1` is 0 or equal to `size2`.
pub fn consistency_proof(
    leaves: &[Digest],
    size1: u64,
    size2: u64,
) -> Result<Vec<Digest>, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    check_size(leaves, size2)?;
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    Ok(consistency_path(slice_range(leaves), size1, size2))
}

/// The (inner, border) decomposition of an inclusion proof: the levels below
/// and above the point where the paths to `index` and to `size - 1` meet.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

fn check_proof_len(len: usize, expected: usize) -> Result<(), ProofError> {
    if len > MAX_PROOF_LEN {
        return Err(ProofError::ProofTooLong {
            len,
            max: MAX_PROOF_LEN,
        });
    }
    if len != expected {
        return Err(ProofError::WrongProofLength { len, expected });
    }
    Ok(())
}

fn check_root(computed: &Digest, expected: &Digest) -> Result<(), ProofError> {
    if computed != expected {
        return Err(ProofError::RootMismatch {
            expected: *expected,
            computed: *computed,
        });
    }
    Ok(())
}

/// The root that an inclusion proof of `leaf_hash` at `index` in a tree of
/// `size` leaves leads to (RFC 9162 section 2.1.3.2, without the final compare).
pub fn root_from_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
) -> Result<Digest, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    check_proof_len(proof.len(), inner + border)?;
    let wrong_len = ProofError::WrongProofLength {
        len: proof.len(),
        expected: inner + border,
    };
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(wrong_len);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = hash_children(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_len);
    }
    Ok(r)
}

/// Checks that `proof` shows leaf `leaf_hash` at `index` in the tree of `size`
/// leaves with root `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    check_root(&root_from_inclusion(leaf_hash, index, size, proof)?, root)
}

/// Checks that `proof` shows the tree of `size1` leaves with root `root1` is a
/// prefix of the tree of `size2` leaves with root `root2` (RFC 9162 section
/// 2.1.4.2; see the module doc for sizes 0 and equal sizes).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        check_proof_len(proof.len(), 0)?;
        if size1 == 0 {
            check_root(root1, &empty_root())?;
        }
        if size1 == size2 {
            check_root(root2, root1)?;
        }
        return Ok(());
    }
    // The proof starts at the last perfect subtree of the old tree, at level
    // `shift`; when that subtree is the whole old tree its hash is root1.
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let seeded = size1.is_power_of_two();
    let expected = usize::from(!seeded) + inner - shift + border;
    check_proof_len(proof.len(), expected)?;
    let wrong_len = ProofError::WrongProofLength {
        len: proof.len(),
        expected,
    };
    let (seed, rest) = if seeded {
        (*root1, proof)
    } else {
        (proof[0], &proof[1..])
    };

    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if sn == 0 {
            return Err(wrong_len);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = hash_children(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_len);
    }
    check_root(&fr, root1)?;
    check_root(&sr, root2)
}

/// [`verify_inclusion`] over untrusted byte strings; every hash must be 32 bytes.
pub fn verify_inclusion_bytes<B: AsRef<[u8]>>(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    proof: &[B],
    root: &[u8],
) -> Result<(), ProofError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::ProofTooLong {
            len: proof.len(),
            max: MAX_PROOF_LEN,
        });
    }
    let (leaf_hash, root) = (parse_hash(leaf_hash)?, parse_hash(root)?);
    verify_inclusion(&leaf_hash, index, size, &parse_hashes(proof)?, &root)
}

/// [`verify_consistency`] over untrusted byte strings; every hash must be 32 bytes.
pub fn verify_consistency_bytes<B: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[B],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::ProofTooLong {
            len: proof.len(),
            max: MAX_PROOF_LEN,
        });
    }
    let (root1, root2) = (parse_hash(root1)?, parse_hash(root2)?);
    verify_consistency(size1, size2, &parse_hashes(proof)?, &root1, &root2)
}

/// An append-only Merkle tree that keeps only its frontier: the roots of its
/// perfect subtrees, largest (leftmost) first, one per set bit of its size.
///
/// Serializes as `{ size, frontier }`; deserializing checks that the frontier
/// fits the size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FrontierParts")]
pub struct MerkleTree {
    size: u64,
    frontier: Vec<Digest>,
}

/// The unchecked serialized form of a [`MerkleTree`].
#[derive(Deserialize)]
struct FrontierParts {
    size: u64,
    frontier: Vec<Digest>,
}

impl TryFrom<FrontierParts> for MerkleTree {
    type Error = ProofError;
    fn try_from(parts: FrontierParts) -> Result<MerkleTree, ProofError> {
        MerkleTree::from_frontier(parts.size, parts.frontier)
    }
}

impl MerkleTree {
    /// The empty tree.
    pub fn new() -> MerkleTree {
        MerkleTree::default()
    }

    /// The tree of `leaves` (leaf hashes), in order.
    pub fn from_leaves(leaves: &[Digest]) -> MerkleTree {
        let mut tree = MerkleTree::new();
        for leaf in leaves {
            tree.push(*leaf);
        }
        tree
    }

    /// A tree from a stored size and frontier (largest subtree first); refuses
    /// a frontier without exactly one hash per set bit of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Digest>) -> Result<MerkleTree, ProofError> {
        if frontier.len() != size.count_ones() as usize {
            return Err(ProofError::BadFrontier {
                size,
                hashes: frontier.len(),
            });
        }
        Ok(MerkleTree { size, frontier })
    }

    /// Appends a leaf hash; O(log n) hashing.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf_hash: Digest) {
        let mut node = leaf_hash;
        let mut bits = self.size;
        while bits & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .expect("frontier has one hash per set bit");
            node = hash_children(&left, &node);
            bits >>= 1;
        }
        self.frontier.push(node);
        self.size = self.size.checked_add(1).expect("Merkle tree size overflow");
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The roots of the perfect subtrees, largest (leftmost) first.
    pub fn frontier(&self) -> &[Digest] {
        &self.frontier
    }

    /// The tree's root; at most 63 hashes.
    pub fn root(&self) -> Digest {
        let mut nodes = self.frontier.iter().rev();
        match nodes.next() {
            None => empty_root(),
            Some(last) => nodes.fold(*last, |right, left| hash_children(left, &right)),
        }
    }
}

/// An append-only tree that keeps every complete node: level 0 holds the leaf
/// hashes, level `k` the roots of the aligned perfect subtrees of `2^k` leaves
/// (about `2n` hashes in all). Appending hashes O(1) amortized; the root of any
/// earlier size and any inclusion or consistency proof take O(log² n) hashes,
/// so a log of a million events is hashed once, not once per proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullTree {
    levels: Vec<Vec<Digest>>,
}

impl FullTree {
    /// The empty tree.
    pub fn new() -> FullTree {
        FullTree::default()
    }

    /// The tree of `leaves` (leaf hashes), in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Digest>) -> FullTree {
        let mut tree = FullTree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash; completes the perfect subtrees it closes.
    pub fn push(&mut self, leaf_hash: Digest) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf_hash);
        let mut k = 0;
        while self.levels[k].len().is_multiple_of(2) {
            let n = self.levels[k].len();
            let node = hash_children(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(node);
            k += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Digest] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The hash of tree node `[lo, hi)`: `lo` is aligned to a power of two at
    /// least `hi - lo`, and `hi <= size`. Folds its aligned perfect subtrees,
    /// largest first, from the right.
    fn node(&self, lo: u64, hi: u64) -> Digest {
        debug_assert!(lo < hi && hi <= self.size());
        let mut parts = Vec::new();
        let mut pos = lo;
        while pos < hi {
            let mut k = pos.trailing_zeros().min(63);
            while (1u64 << k) > hi - pos {
                k -= 1;
            }
            parts.push(self.levels[k as usize][(pos >> k) as usize]);
            pos += 1 << k;
        }
        let last = parts.pop().expect("non-empty range");
        parts
            .iter()
            .rev()
            .fold(last, |right, left| hash_children(left, &right))
    }

    fn check(&self, size: u64) -> Result<(), ProofError> {
        let available = self.size();
        if size > available {
            return Err(ProofError::NotEnoughLeaves { size, available });
        }
        Ok(())
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Digest, ProofError> {
        self.check(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        Ok(self.node(0, size))
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Digest {
        self.root_at(self.size()).expect("size is in range")
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, ProofError> {
        self.check(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        Ok(node_path(
            |lo, hi| self.node(lo, hi),
            index,
            index + 1,
            size,
        ))
    }

    /// The consistency proof from the first `size1` to the first `size2` leaves;
    /// empty when `size1` is 0 or equal to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Digest>, ProofError> {
        if size1 > size2 {
            return Err(ProofError::SizeOrder { size1, size2 });
        }
        self.check(size2)?;
        if size1 == 0 || size1 == size2 {
            return Ok(Vec::new());
        }
        Ok(consistency_path(|lo, hi| self.node(lo, hi), size1, size2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::leaf_hash;

    /// The leaf inputs of transparency-dev/merkle `testonly/constants.go`.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots of the trees of the first 0..=8 of [`LEAVES`].
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn vector_leaves() -> Vec<Digest> {
        LEAVES
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect()
    }

    fn digest(hex: &str) -> Digest {
        hex.parse().unwrap()
    }

    /// Deterministic, distinct leaf hashes.
    fn make_leaves(n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    fn prefixes(proof: &[Digest]) -> Vec<String> {
        proof.iter().map(|d| d.to_hex()[..8].to_string()).collect()
    }

    // --- The naive RFC 6962 definitions (section 2.1), for differential tests.

    fn naive_mth(d: &[Digest]) -> Digest {
        match d.len() {
            0 => digest(ROOTS[0]),
            1 => d[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                hash_children(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
            }
        }
    }

    fn largest_pow2_below(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// RFC 6962 section 2.1.1: PATH(m, D[n]).
    fn naive_path(m: usize, d: &[Digest]) -> Vec<Digest> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = largest_pow2_below(n);
        let mut out;
        if m < k {
            out = naive_path(m, &d[..k]);
            out.push(naive_mth(&d[k..]));
        } else {
            out = naive_path(m - k, &d[k..]);
            out.push(naive_mth(&d[..k]));
        }
        out
    }

    /// RFC 6962 section 2.1.2: SUBPROOF(m, D[n], b).
    fn naive_subproof(m: usize, d: &[Digest], b: bool) -> Vec<Digest> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![naive_mth(d)] };
        }
        let k = largest_pow2_below(n);
        let mut out;
        if m <= k {
            out = naive_subproof(m, &d[..k], b);
            out.push(naive_mth(&d[k..]));
        } else {
            out = naive_subproof(m - k, &d[k..], false);
            out.push(naive_mth(&d[..k]));
        }
        out
    }

    fn naive_consistency(m: usize, d: &[Digest]) -> Vec<Digest> {
        if m == 0 || m == d.len() {
            Vec::new()
        } else {
            naive_subproof(m, d, true)
        }
    }

    #[test]
    fn hasher_vectors() {
        assert_eq!(empty_root().to_hex(), ROOTS[0]);
        assert!(leaf_hash(b"L123456")
            .to_hex()
            .starts_with("395aa064aa4c29f7"));
        assert!(hash_children_bytes(b"N123", b"N456")
            .to_hex()
            .starts_with("aa217fe888e47007"));
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_eq!(hash_children(&a, &b), hash_children_bytes(&a.0, &b.0));
        assert_ne!(hash_children(&a, &b), hash_children(&b, &a));
    }

    #[test]
    fn roots_of_the_vector_tree() {
        let leaves = vector_leaves();
        for (size, root) in ROOTS.iter().enumerate() {
            assert_eq!(root_of(&leaves[..size]).to_hex(), *root, "size {size}");
            assert_eq!(
                MerkleTree::from_leaves(&leaves[..size]).root().to_hex(),
                *root
            );
        }
    }

    #[test]
    fn sample_proofs() {
        let leaves = vector_leaves();
        let cases: [(Vec<Digest>, [&str; 3]); 2] = [
            (
                inclusion_proof(&leaves, 0, 8).unwrap(),
                ["96a296d2", "5f083f0a", "6b47aaf2"],
            ),
            (
                inclusion_proof(&leaves, 5, 8).unwrap(),
                ["bc1a0643", "ca854ea1", "d37ee418"],
            ),
        ];
        for (proof, want) in cases {
            assert_eq!(prefixes(&proof), want);
        }
        let p = consistency_proof(&leaves, 6, 8).unwrap();
        assert_eq!(prefixes(&p), ["0ebc5d34", "ca854ea1", "d37ee418"]);
        let p = consistency_proof(&leaves, 2, 5).unwrap();
        assert_eq!(prefixes(&p), ["5f083f0a", "bc1a0643"]);
        // The full first hash of the 0-of-8 path is the leaf hash of "00".
        assert_eq!(inclusion_proof(&leaves, 0, 8).unwrap()[0], leaf_hash(&[0]));
    }

    /// Every proof over the first 1..=n leaves matches the RFC definitions and verifies.
    fn check_all_proofs(leaves: &[Digest]) {
        let roots: Vec<Digest> = (0..=leaves.len())
            .map(|n| naive_mth(&leaves[..n]))
            .collect();
        for size in 1..=leaves.len() {
            assert_eq!(root_of(&leaves[..size]), roots[size]);
            for index in 0..size {
                let proof = inclusion_proof(leaves, index as u64, size as u64).unwrap();
                assert_eq!(
                    proof,
                    naive_path(index, &leaves[..size]),
                    "path {index} of {size}"
                );
                verify_inclusion(
                    &leaves[index],
                    index as u64,
                    size as u64,
                    &proof,
                    &roots[size],
                )
                .unwrap();
            }
        }
        for size2 in 0..=leaves.len() {
            for size1 in 0..=size2 {
                let (s1, s2) = (size1 as u64, size2 as u64);
                let proof = consistency_proof(leaves, s1, s2).unwrap();
                assert_eq!(
                    proof,
                    naive_consistency(size1, &leaves[..size2]),
                    "{size1} -> {size2}"
                );
                verify_consistency(s1, s2, &proof, &roots[size1], &roots[size2]).unwrap();
            }
        }
    }

    #[test]
    fn proofs_match_the_rfc_definitions_for_the_vector_tree() {
        check_all_proofs(&vector_leaves());
    }

    #[test]
    fn proofs_match_the_rfc_definitions_up_to_40_leaves() {
        check_all_proofs(&make_leaves(40));
    }

    #[test]
    fn incremental_tree_matches_root_of() {
        let leaves = make_leaves(64);
        let mut tree = MerkleTree::new();
        assert!(tree.is_empty());
        for size in 0..=64 {
            assert_eq!(tree.size(), size as u64);
            assert_eq!(tree.root(), root_of(&leaves[..size]), "size {size}");
            assert_eq!(tree.frontier().len(), (size as u64).count_ones() as usize);
            assert_eq!(tree, MerkleTree::from_leaves(&leaves[..size]));
            if size < 64 {
                tree.push(leaves[size]);
            }
        }
    }

    #[test]
    fn tree_serialization_round_trips_and_is_checked() {
        let tree = MerkleTree::from_leaves(&make_leaves(13));
        let json = serde_json::to_string(&tree).unwrap();
        let back: MerkleTree = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tree);
        assert_eq!(back.root(), tree.root());

        let mut bad = serde_json::to_value(&tree).unwrap();
        bad["size"] = 12.into();
        assert!(serde_json::from_value::<MerkleTree>(bad).is_err());
        assert_eq!(
            MerkleTree::from_frontier(3, vec![Digest::ZERO]),
            Err(ProofError::BadFrontier { size: 3, hashes: 1 })
        );
        let parts = tree.frontier().to_vec();
        assert_eq!(MerkleTree::from_frontier(13, parts).unwrap(), tree);
    }

    #[test]
    fn large_tree_proofs() {
        // Sizes around powers of two, where off-by-one errors hide.
        let leaves = make_leaves(70_000);
        let mut tree = MerkleTree::new();
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            if [1, 65_535, 65_536, 65_537].contains(&(i + 1)) {
                assert_eq!(tree.root(), root_of(&leaves[..=i]));
            }
        }
        let size = leaves.len() as u64;
        let root = tree.root();
        for index in [0, 1, 65_535, 65_536, size - 1] {
            let proof = inclusion_proof(&leaves, index, size).unwrap();
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
        }
        for size1 in [1, 3, 65_535, 65_536, 65_537, size - 1] {
            let proof = consistency_proof(&leaves, size1, size).unwrap();
            let root1 = root_of(&leaves[..size1 as usize]);
            verify_consistency(size1, size, &proof, &root1, &root).unwrap();
        }
    }

    #[test]
    fn generation_refuses_bad_requests() {
        let leaves = make_leaves(5);
        assert_eq!(
            inclusion_proof(&leaves, 5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_proof(&leaves, 0, 6),
            Err(ProofError::NotEnoughLeaves {
                size: 6,
                available: 5
            })
        );
        assert_eq!(
            consistency_proof(&leaves, 4, 3),
            Err(ProofError::SizeOrder { size1: 4, size2: 3 })
        );
        assert_eq!(
            consistency_proof(&leaves, 2, 6),
            Err(ProofError::NotEnoughLeaves {
                size: 6,
                available: 5
            })
        );
        assert_eq!(consistency_proof(&leaves, 0, 5), Ok(vec![]));
    }

    fn flip(d: &Digest, bit: usize) -> Digest {
        let mut out = *d;
        out.0[bit / 8] ^= 1 << (bit % 8);
        out
    }

    /// The 16 leaves used by the mutation tests: the vector leaves, then 8 more.
    fn sixteen_leaves() -> Vec<Digest> {
        let mut leaves = vector_leaves();
        leaves.extend(make_leaves(8));
        leaves
    }

    /// Size mutations from transparency-dev/merkle's proofgen, plus a few more.
    fn mutate(n: u64) -> [u64; 6] {
        [
            n.wrapping_add(1),
            n.wrapping_sub(1),
            n ^ 2,
            n * 2,
            n / 2,
            n ^ 1,
        ]
    }

    #[test]
    fn mutated_inclusion_proofs_are_rejected() {
        let leaves = sixteen_leaves();
        let roots: Vec<Digest> = (0..=16).map(|n| root_of(&leaves[..n])).collect();
        let mismatch = |res: Result<(), ProofError>| {
            assert!(
                matches!(res, Err(ProofError::RootMismatch { .. })),
                "{res:?}"
            );
        };
        for size in 1..=8u64 {
            let root = roots[size as usize];
            for index in 0..size {
                let leaf = leaves[index as usize];
                let proof = inclusion_proof(&leaves, index, size).unwrap();
                let n = proof.len();
                let verify = |i, s, p: &[Digest], r: &Digest| verify_inclusion(&leaf, i, s, p, r);
                assert_eq!(verify(index, size, &proof, &root), Ok(()));
                // Flipped bits in every hash, in the root, in the leaf.
                for (k, bit) in (0..n).flat_map(|k| [(k, 0), (k, 255)]) {
                    let mut bad = proof.clone();
                    bad[k] = flip(&bad[k], bit);
                    mismatch(verify(index, size, &bad, &root));
                }
                mismatch(verify(index, size, &proof, &flip(&root, 7)));
                mismatch(verify_inclusion(
                    &flip(&leaf, 3),
                    index,
                    size,
                    &proof,
                    &root,
                ));
                mismatch(verify_inclusion(&leaves[9], index, size, &proof, &root));
                // Truncated, extended at either end, emptied.
                let want = |len| Err(ProofError::WrongProofLength { len, expected: n });
                if n > 0 {
                    assert_eq!(verify(index, size, &proof[..n - 1], &root), want(n - 1));
                    assert_eq!(verify(index, size, &proof[1..], &root), want(n - 1));
                    assert_eq!(verify(index, size, &[], &root), want(0));
                }
                let mut long = proof.clone();
                long.push(root);
                assert_eq!(verify(index, size, &long, &root), want(n + 1));
                long.pop();
                long.insert(0, leaf);
                assert_eq!(verify(index, size, &long, &root), want(n + 1));
                // Wrong index or size, against the true root of the claimed size.
                let claims = mutate(index)
                    .map(|i| (i, size))
                    .into_iter()
                    .chain(mutate(size).map(|s| (index, s)));
                for (i, s) in claims.filter(|&(i, s)| (i, s) != (index, size) && s <= 16) {
                    let res = verify(i, s, &proof, &roots[s as usize]);
                    if i >= s {
                        assert_eq!(res, Err(ProofError::IndexOutOfRange { index: i, size: s }));
                    } else if naive_path(i as usize, &leaves[..s as usize]).len() != n {
                        let expected = naive_path(i as usize, &leaves[..s as usize]).len();
                        assert_eq!(res, Err(ProofError::WrongProofLength { len: n, expected }));
                    } else {
                        mismatch(res);
                    }
                }
            }
        }
    }

    #[test]
    fn proofs_do_not_bind_the_tree_size() {
        // RFC 6962 proofs check a (size, root) pair the caller already trusts,
        // e.g. from a signed checkpoint: the path of leaf 5 in a tree of 6 has
        // the same shape as that of leaf 6 in a tree of 7, so it "verifies"
        // against the 6-leaf root, and fails against the real 7-leaf root.
        let leaves = make_leaves(7);
        let proof = inclusion_proof(&leaves, 5, 6).unwrap();
        let root6 = root_of(&leaves[..6]);
        assert_eq!(verify_inclusion(&leaves[5], 6, 7, &proof, &root6), Ok(()));
        let root7 = root_of(&leaves);
        let err = verify_inclusion(&leaves[5], 6, 7, &proof, &root7);
        assert!(matches!(err, Err(ProofError::RootMismatch { .. })));
    }

    #[test]
    fn inclusion_edge_cases() {
        let leaves = vector_leaves();
        let root = root_of(&leaves);
        assert_eq!(
            verify_inclusion(&leaves[0], 0, 0, &[], &empty_root()),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&leaves[0], 8, 8, &[], &root),
            Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
        );
        // A one-leaf tree's root is its leaf hash, with an empty proof.
        assert_eq!(verify_inclusion(&leaves[2], 0, 1, &[], &leaves[2]), Ok(()));
        let too_long = vec![Digest::ZERO; MAX_PROOF_LEN + 1];
        assert_eq!(
            verify_inclusion(&leaves[0], 0, u64::MAX, &too_long, &root),
            Err(ProofError::ProofTooLong { len: 65, max: 64 })
        );
        // The largest trees need 64 hashes, and are accepted up to the root compare.
        let full = vec![Digest::ZERO; 64];
        let err = verify_inclusion(&leaves[0], 0, u64::MAX, &full, &root).unwrap_err();
        assert!(matches!(err, ProofError::RootMismatch { .. }), "{err}");
        let err = verify_inclusion(&leaves[0], u64::MAX - 1, u64::MAX, &full[..63], &root);
        let err = err.unwrap_err();
        assert!(matches!(err, ProofError::RootMismatch { .. }), "{err}");
    }

    #[test]
    fn byte_level_verifiers_check_hash_lengths() {
        let leaves = vector_leaves();
        let root = root_of(&leaves);
        let proof = inclusion_proof(&leaves, 5, 8).unwrap();
        let raw: Vec<Vec<u8>> = proof.iter().map(|d| d.0.to_vec()).collect();
        assert_eq!(
            verify_inclusion_bytes(&leaves[5].0, 5, 8, &raw, &root.0),
            Ok(())
        );
        let slices: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
        assert_eq!(parse_hashes(&slices), Ok(proof.clone()));

        let mut short = raw.clone();
        short[1].pop();
        assert_eq!(
            verify_inclusion_bytes(&leaves[5].0, 5, 8, &short, &root.0),
            Err(ProofError::BadHashLength { len: 31 })
        );
        let mut long = raw.clone();
        long[0].push(0);
        assert_eq!(
            parse_hashes(&long),
            Err(ProofError::BadHashLength { len: 33 })
        );
        assert_eq!(
            verify_inclusion_bytes(&leaves[5].0, 5, 8, &raw, &root.0[..31]),
            Err(ProofError::BadHashLength { len: 31 })
        );
        // transparency-dev's trap: an empty leaf hash "verifies" against an
        // empty root in a one-leaf tree unless lengths are checked.
        let none: [&[u8]; 0] = [];
        assert_eq!(
            verify_inclusion_bytes(b"", 0, 1, &none, b""),
            Err(ProofError::BadHashLength { len: 0 })
        );
        let too_long = vec![vec![0u8; 3]; 65];
        assert_eq!(
            verify_inclusion_bytes(&leaves[5].0, 5, 8, &too_long, &root.0),
            Err(ProofError::ProofTooLong { len: 65, max: 64 })
        );

        let cproof: Vec<Vec<u8>> = consistency_proof(&leaves, 6, 8)
            .unwrap()
            .iter()
            .map(|d| d.0.to_vec())
            .collect();
        let root6 = root_of(&leaves[..6]);
        assert_eq!(
            verify_consistency_bytes(6, 8, &cproof, &root6.0, &root.0),
            Ok(())
        );
        assert_eq!(
            verify_consistency_bytes(6, 8, &cproof, &root6.0, &[]),
            Err(ProofError::BadHashLength { len: 0 })
        );
        let mut bad = cproof.clone();
        bad[2].truncate(16);
        assert_eq!(
            verify_consistency_bytes(6, 8, &bad, &root6.0, &root.0),
            Err(ProofError::BadHashLength { len: 16 })
        );
    }

    #[test]
    fn mutated_consistency_proofs_are_rejected() {
        let leaves = sixteen_leaves();
        let roots: Vec<Digest> = (0..=16).map(|n| root_of(&leaves[..n])).collect();
        let mismatch = |res: Result<(), ProofError>| {
            assert!(
                matches!(res, Err(ProofError::RootMismatch { .. })),
                "{res:?}"
            );
        };
        let verify = verify_consistency;
        for size2 in 2..=8u64 {
            for size1 in 1..size2 {
                let (r1, r2) = (roots[size1 as usize], roots[size2 as usize]);
                let proof = consistency_proof(&leaves, size1, size2).unwrap();
                let n = proof.len();
                assert_eq!(verify(size1, size2, &proof, &r1, &r2), Ok(()));
                for (k, bit) in (0..n).flat_map(|k| [(k, 0), (k, 100)]) {
                    let mut bad = proof.clone();
                    bad[k] = flip(&bad[k], bit);
                    mismatch(verify(size1, size2, &bad, &r1, &r2));
                }
                mismatch(verify(size1, size2, &proof, &r2, &r1));
                mismatch(verify(size1, size2, &proof, &flip(&r1, 1), &r2));
                mismatch(verify(size1, size2, &proof, &r1, &flip(&r2, 1)));
                mismatch(verify(size1, size2, &proof, &r1, &r1));
                let want = |len| Err(ProofError::WrongProofLength { len, expected: n });
                assert_eq!(verify(size1, size2, &proof[..n - 1], &r1, &r2), want(n - 1));
                assert_eq!(verify(size1, size2, &proof[1..], &r1, &r2), want(n - 1));
                assert_eq!(verify(size1, size2, &[], &r1, &r2), want(0));
                for extra in [r1, r2, Digest::ZERO] {
                    let mut long = proof.clone();
                    long.push(extra);
                    assert_eq!(verify(size1, size2, &long, &r1, &r2), want(n + 1));
                    long.pop();
                    long.insert(0, extra);
                    assert_eq!(verify(size1, size2, &long, &r1, &r2), want(n + 1));
                }
                // Wrong sizes, against the true roots of the claimed sizes.
                let claims = mutate(size1)
                    .map(|s1| (s1, size2))
                    .into_iter()
                    .chain(mutate(size2).map(|s2| (size1, s2)));
                for (s1, s2) in
                    claims.filter(|&(a, b)| (a, b) != (size1, size2) && a <= 16 && b <= 16)
                {
                    let res = verify(s1, s2, &proof, &roots[s1 as usize], &roots[s2 as usize]);
                    if s1 > s2 {
                        let want = ProofError::SizeOrder {
                            size1: s1,
                            size2: s2,
                        };
                        assert_eq!(res, Err(want));
                        continue;
                    }
                    let expected = naive_consistency(s1 as usize, &leaves[..s2 as usize]).len();
                    if expected != n {
                        assert_eq!(res, Err(ProofError::WrongProofLength { len: n, expected }));
                    } else {
                        mismatch(res);
                    }
                }
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let leaves = vector_leaves();
        let roots: Vec<Digest> = (0..=8).map(|n| root_of(&leaves[..n])).collect();
        let empty = empty_root();
        // From size 0: an empty proof is accepted (C2SP tlog-witness).
        assert_eq!(verify_consistency(0, 5, &[], &empty, &roots[5]), Ok(()));
        assert_eq!(verify_consistency(0, 0, &[], &empty, &empty), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &[roots[5]], &empty, &roots[5]),
            Err(ProofError::WrongProofLength {
                len: 1,
                expected: 0
            })
        );
        assert_eq!(
            verify_consistency(0, 5, &[], &Digest::ZERO, &roots[5]),
            Err(ProofError::RootMismatch {
                expected: empty,
                computed: Digest::ZERO
            })
        );
        assert!(verify_consistency(0, 0, &[], &empty, &roots[1]).is_err());
        // Order, equal sizes and length bounds.
        assert_eq!(
            verify_consistency(5, 4, &[], &roots[5], &roots[4]),
            Err(ProofError::SizeOrder { size1: 5, size2: 4 })
        );
        assert_eq!(verify_consistency(4, 4, &[], &roots[4], &roots[4]), Ok(()));
        assert_eq!(
            verify_consistency(4, 4, &[roots[4]], &roots[4], &roots[4]),
            Err(ProofError::WrongProofLength {
                len: 1,
                expected: 0
            })
        );
        assert_eq!(
            verify_consistency(4, 4, &[], &roots[4], &roots[5]),
            Err(ProofError::RootMismatch {
                expected: roots[4],
                computed: roots[5]
            })
        );
        let too_long = vec![Digest::ZERO; 65];
        assert_eq!(
            verify_consistency(1, u64::MAX, &too_long, &roots[1], &roots[8]),
            Err(ProofError::ProofTooLong { len: 65, max: 64 })
        );
        let err = verify_consistency(6, u64::MAX, &[Digest::ZERO; 64], &roots[6], &roots[8]);
        assert!(
            matches!(err, Err(ProofError::RootMismatch { .. })),
            "{err:?}"
        );
        // Beyond 2^63 leaves a consistency proof can need 65 hashes: refused.
        let err = verify_consistency(3, u64::MAX, &[Digest::ZERO; 64], &roots[3], &roots[8]);
        assert_eq!(
            err,
            Err(ProofError::WrongProofLength {
                len: 64,
                expected: 65
            })
        );
    }

    #[test]
    fn full_tree_matches_the_slice_functions() {
        let leaves = make_leaves(70);
        let mut tree = FullTree::new();
        assert_eq!(tree.root(), empty_root());
        for (n, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            assert_eq!(tree.root(), root_of(&leaves[..=n]), "size {}", n + 1);
        }
        assert_eq!(tree.leaves(), &leaves[..]);
        for size in 0..=70u64 {
            assert_eq!(tree.root_at(size), Ok(root_of(&leaves[..size as usize])));
            for index in 0..size {
                assert_eq!(
                    tree.inclusion_proof(index, size),
                    inclusion_proof(&leaves, index, size),
                    "inclusion {index} of {size}"
                );
            }
            for size1 in 0..=size {
                assert_eq!(
                    tree.consistency_proof(size1, size),
                    consistency_proof(&leaves, size1, size),
                    "consistency {size1} to {size}"
                );
            }
        }
        assert_eq!(
            tree.root_at(71),
            Err(ProofError::NotEnoughLeaves {
                size: 71,
                available: 70
            })
        );
        assert_eq!(
            tree.inclusion_proof(70, 70),
            Err(ProofError::IndexOutOfRange {
                index: 70,
                size: 70
            })
        );
        assert_eq!(
            tree.consistency_proof(9, 8),
            Err(ProofError::SizeOrder { size1: 9, size2: 8 })
        );
    }
}
