//! The Merkle tree (RFC 6962) of the entries a projector folded, kept on disk
//! so that the root of any prefix it folded is a few reads away: what binds
//! the projector's state to the log's signed checkpoints.
//!
//! `tree.log` holds the hash of every complete subtree, 32 bytes each, in
//! post-order: leaf `i`, then the subtrees it completes, smallest first. For
//! `n` leaves that is `2n - popcount(n)` nodes (64 bytes per entry on
//! average); the node of the subtree of height `h` over leaves `k·2^h ..
//! (k+1)·2^h` is at [`node_index`]`(h, k)`. The root of the first `size`
//! leaves combines the complete subtrees of `size`'s binary decomposition
//! ([`peaks`]), right to left, as RFC 6962 defines it.
//!
//! The file has no checksums of its own: its committed length follows from
//! the snapshot's position, and the snapshot records the root at that
//! position, which is recomputed from the file on open (a damaged peak is a
//! clear error). A damaged inner node can only make a prefix root disagree
//! with a signed checkpoint, which is reported with the rebuild command,
//! never a wrong report: reports do not read this file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ledger::ids::Digest;
use ledger::merkle::{empty_root, hash_children};

use crate::store::StoreError;

/// Bytes of a node.
const NODE: u64 = 32;
/// Nodes kept in memory before they are handed to the OS.
const PENDING: usize = 1 << 16;

/// Nodes stored for the first `leaves` leaves.
pub fn nodes_for(leaves: u64) -> u64 {
    2 * leaves - u64::from(leaves.count_ones())
}

/// Index of the node of the complete subtree of height `height` whose
/// leaves are `k·2^height .. (k+1)·2^height`.
pub fn node_index(height: u32, k: u64) -> u64 {
    let last = ((k + 1) << height) - 1;
    nodes_for(last) + u64::from(height)
}

/// The complete subtrees `(height, k)` whose concatenation is the first `size`
/// leaves, largest (leftmost) first.
pub fn peaks(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for height in (0..64).rev() {
        if size & (1 << height) != 0 {
            out.push((height, start >> height));
            start += 1 << height;
        }
    }
    out
}

/// The root of a tree from its peaks' hashes (largest first).
fn root_of_peaks(hashes: &[Digest]) -> Digest {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |right, left| hash_children(left, &right))
}

/// The on-disk tree of a projector.
pub struct TreeFile {
    path: PathBuf,
    file: File,
    /// Whether nodes may be written to the file (a read-only store keeps
    /// what it folds past its snapshot in memory).
    writable: bool,
    /// Nodes in the file (handed to the OS).
    written: u64,
    /// Nodes after `written`, not yet in the file.
    pending: Vec<Digest>,
    /// Leaves.
    size: u64,
    /// The peaks of the current tree: height and hash, largest first.
    stack: Vec<(u32, Digest)>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl TreeFile {
    /// Opens `path` holding the tree of `size` leaves whose root is `root`
    /// (from the snapshot): nodes past that are cut off (if `writable`); a
    /// file too short, or whose root differs, is a [`StoreError::Corrupt`]
    /// naming the file.
    pub fn open(
        path: &Path,
        size: u64,
        root: Option<Digest>,
        writable: bool,
    ) -> Result<TreeFile, StoreError> {
        let file = if writable {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
        } else if size == 0 {
            // Nothing committed: nothing is read (the file may not exist yet).
            File::open(path.parent().unwrap_or(Path::new(".")))
        } else {
            File::open(path)
        }
        .map_err(io(path))?;
        let nodes = nodes_for(size);
        if size > 0 {
            let len = file.metadata().map_err(io(path))?.len();
            if len < nodes * NODE {
                return Err(StoreError::Corrupt(format!(
                    "{} holds {} bytes, the snapshot needs {}",
                    path.display(),
                    len,
                    nodes * NODE
                )));
            }
            if writable && len > nodes * NODE {
                file.set_len(nodes * NODE).map_err(io(path))?;
            }
        } else if writable {
            file.set_len(0).map_err(io(path))?;
        }
        let mut tree = TreeFile {
            path: path.to_path_buf(),
            file,
            writable,
            written: nodes,
            pending: Vec::new(),
            size,
            stack: Vec::new(),
        };
        for (height, k) in peaks(size) {
            let hash = tree.node(node_index(height, k))?;
            tree.stack.push((height, hash));
        }
        if size > 0 && Some(tree.root()) != root {
            return Err(StoreError::Corrupt(format!(
                "{}: the root of its {size} leaves is not the snapshot's",
                path.display()
            )));
        }
        Ok(tree)
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Digest {
        let hashes: Vec<Digest> = self.stack.iter().map(|(_, h)| *h).collect();
        root_of_peaks(&hashes)
    }

    /// Appends a leaf hash (not committed until [`TreeFile::sync`]).
    pub fn push(&mut self, leaf: Digest) -> Result<(), StoreError> {
        self.pending.push(leaf);
        let (mut height, mut hash) = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != height {
                break;
            }
            self.stack.pop();
            hash = hash_children(&left, &hash);
            height += 1;
            self.pending.push(hash);
        }
        self.stack.push((height, hash));
        self.size += 1;
        if self.writable && self.pending.len() >= PENDING {
            self.write_pending()?;
        }
        Ok(())
    }

    /// The root of the first `size` leaves (`size` at most [`TreeFile::size`]).
    pub fn root_at(&self, size: u64) -> Result<Digest, StoreError> {
        if size > self.size {
            return Err(StoreError::Corrupt(format!(
                "{}: no root at {size}, the tree has {} leaves",
                self.path.display(),
                self.size
            )));
        }
        let hashes = peaks(size)
            .into_iter()
            .map(|(h, k)| self.node(node_index(h, k)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(root_of_peaks(&hashes))
    }

    /// Calls `f(position, leaf)` for every leaf in order (positions from 1),
    /// reading the file in large sequential blocks.
    pub fn for_each_leaf(&self, mut f: impl FnMut(u64, &Digest)) -> Result<(), StoreError> {
        const BLOCK: u64 = 32_768;
        let mut block: (u64, Vec<u8>) = (u64::MAX, Vec::new());
        for k in 0..self.size {
            let index = node_index(0, k);
            let leaf = if index >= self.written {
                self.pending[(index - self.written) as usize]
            } else {
                let start = index / BLOCK * BLOCK;
                if block.0 != start {
                    let end = (start + BLOCK).min(self.written);
                    block.1.resize(((end - start) * NODE) as usize, 0);
                    self.file
                        .read_exact_at(&mut block.1, start * NODE)
                        .map_err(io(&self.path))?;
                    block.0 = start;
                }
                let at = ((index - start) * NODE) as usize;
                Digest(
                    block.1[at..at + NODE as usize]
                        .try_into()
                        .expect("32 bytes"),
                )
            };
            f(k + 1, &leaf);
        }
        Ok(())
    }

    fn node(&self, index: u64) -> Result<Digest, StoreError> {
        if index >= self.written {
            return Ok(self.pending[(index - self.written) as usize]);
        }
        let mut buf = [0u8; NODE as usize];
        self.file
            .read_exact_at(&mut buf, index * NODE)
            .map_err(io(&self.path))?;
        Ok(Digest(buf))
    }

    fn write_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(self.pending.len() * NODE as usize);
        for node in &self.pending {
            bytes.extend_from_slice(&node.0);
        }
        self.file
            .write_all_at(&bytes, self.written * NODE)
            .map_err(io(&self.path))?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Writes every node and fsyncs the file (before the snapshot that names
    /// its size is committed).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.write_pending()?;
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Empties the tree (before a rebuild).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.file.set_len(0).map_err(io(&self.path))?;
        self.file.flush().map_err(io(&self.path))?;
        self.written = 0;
        self.pending.clear();
        self.size = 0;
        self.stack.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::event::leaf_hash;
    use ledger::merkle::root_of;

    fn leaves(n: u64) -> Vec<Digest> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn every_prefix_root_is_rfc6962s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tree.log");
        let all = leaves(300);
        let mut tree = TreeFile::open(&path, 0, None, true).unwrap();
        for (i, leaf) in all.iter().enumerate() {
            tree.push(*leaf).unwrap();
            // Some nodes in the file, some pending.
            if i % 37 == 0 {
                tree.sync().unwrap();
            }
            assert_eq!(tree.root(), root_of(&all[..=i]), "size {}", i + 1);
        }
        tree.sync().unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            nodes_for(300) * NODE
        );
        for size in 0..=300 {
            assert_eq!(tree.root_at(size).unwrap(), root_of(&all[..size as usize]));
        }
        assert!(tree.root_at(301).is_err());
    }

    #[test]
    fn reopens_at_a_committed_size_and_refuses_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tree.log");
        let all = leaves(100);
        let mut tree = TreeFile::open(&path, 0, None, true).unwrap();
        for leaf in &all[..77] {
            tree.push(*leaf).unwrap();
        }
        tree.sync().unwrap();
        let root77 = tree.root();
        for leaf in &all[77..] {
            tree.push(*leaf).unwrap();
        }
        tree.sync().unwrap();
        drop(tree);
        // Reopened at the committed 77: the rest is cut off, growth resumes.
        let mut tree = TreeFile::open(&path, 77, Some(root77), true).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            nodes_for(77) * NODE
        );
        for leaf in &all[77..] {
            tree.push(*leaf).unwrap();
        }
        assert_eq!(tree.root(), root_of(&all));
        tree.sync().unwrap();
        let root100 = tree.root();
        drop(tree);
        // Read-only: reads the file, keeps new leaves in memory.
        let mut ro = TreeFile::open(&path, 100, Some(root100), false).unwrap();
        ro.push(leaf_hash(b"x")).unwrap();
        assert_eq!(ro.root_at(100).unwrap(), root100);
        drop(ro);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            nodes_for(100) * NODE
        );
        // A flipped bit in a peak, or a short file: a clear error naming the file.
        let mut bytes = std::fs::read(&path).unwrap();
        let peak = node_index(6, 0) as usize * NODE as usize;
        bytes[peak] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = TreeFile::open(&path, 100, Some(root100), true)
            .err()
            .unwrap();
        assert!(err.to_string().contains("tree.log"), "{err}");
        std::fs::write(&path, &bytes[..64]).unwrap();
        let err = TreeFile::open(&path, 100, Some(root100), false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("tree.log"), "{err}");
    }

    #[test]
    fn node_positions() {
        // Post-order of 4 leaves: l0 l1 n01 l2 l3 n23 n0123.
        assert_eq!(node_index(0, 0), 0);
        assert_eq!(node_index(0, 1), 1);
        assert_eq!(node_index(1, 0), 2);
        assert_eq!(node_index(0, 2), 3);
        assert_eq!(node_index(0, 3), 4);
        assert_eq!(node_index(1, 1), 5);
        assert_eq!(node_index(2, 0), 6);
        assert_eq!(nodes_for(4), 7);
        assert_eq!(peaks(5), vec![(2, 0), (0, 4)]);
        assert!(peaks(0).is_empty());
    }
}
