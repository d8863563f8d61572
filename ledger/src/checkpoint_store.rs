//! Signed checkpoints, witness state and refusal evidence, kept in sled trees
//! beside the embedded log (in the same database, see [`Store::db`]).
//!
//! Trees: `checkpoints` (tree size, big-endian u64 -> signed note text),
//! `witnesses` (witness name -> the last note it cosigned), `evidence`
//! (sequence number -> [`Evidence`] as JSON) and `checkpoint_meta` (`tree`: the
//! Merkle frontier as of the last checkpoint, so the next one only hashes the
//! entries appended since).
//!
//! [`Store::db`]: crate::store::Store::db

use crate::checkpoint::{CheckpointError, Note};
use crate::merkle::MerkleTree;
use crate::subjects::Subjects;
use crate::witness::Evidence;

const TREE_KEY: &[u8] = b"tree";
const SUBJECTS_KEY: &[u8] = b"subjects";

/// Why the checkpoint store failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointStoreError {
    /// sled failed.
    #[error("checkpoint store: {0}")]
    Backend(#[from] sled::Error),
    /// A stored value does not parse.
    #[error("stored checkpoint data is corrupt: {0}")]
    Corrupt(String),
    /// A stored note does not parse.
    #[error("stored checkpoint: {0}")]
    Note(#[from] CheckpointError),
    /// A different checkpoint of this size is already stored: the log would
    /// contradict itself.
    #[error("a different checkpoint of size {0} is already stored")]
    Conflict(u64),
}

/// The sled tree of the checkpoint notes, keyed by big-endian tree size.
pub const CHECKPOINTS_TREE: &str = "checkpoints";

/// The checkpoint trees of one ledger.
#[derive(Clone)]
pub struct CheckpointStore {
    db: sled::Db,
    checkpoints: sled::Tree,
    witnesses: sled::Tree,
    evidence: sled::Tree,
    meta: sled::Tree,
}

impl std::fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointStore({} checkpoints)", self.checkpoints.len())
    }
}

fn note_of(bytes: &[u8]) -> Result<Note, CheckpointStoreError> {
    Ok(Note::parse(bytes)?)
}

impl CheckpointStore {
    /// Opens (creating if needed) the checkpoint trees in `db`.
    pub fn open(db: &sled::Db) -> Result<CheckpointStore, CheckpointStoreError> {
        Ok(CheckpointStore {
            db: db.clone(),
            checkpoints: db.open_tree(CHECKPOINTS_TREE)?,
            witnesses: db.open_tree("witnesses")?,
            evidence: db.open_tree("evidence")?,
            meta: db.open_tree("checkpoint_meta")?,
        })
    }

    fn flush(&self) -> Result<(), CheckpointStoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Stores a signed checkpoint note of tree size `size`. If one with the same
    /// text is stored, the new signature lines are merged in (a line by the same
    /// name and key id replaces the old one); a different text of the same size
    /// is refused.
    pub fn put(&self, size: u64, note: &Note) -> Result<Note, CheckpointStoreError> {
        let merged = match self.get(size)? {
            None => note.clone(),
            Some(old) if old.text != note.text => return Err(CheckpointStoreError::Conflict(size)),
            Some(mut old) => {
                for sig in &note.signatures {
                    old.signatures
                        .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
                    old.signatures.push(sig.clone());
                }
                old
            }
        };
        self.checkpoints
            .insert(size.to_be_bytes(), merged.to_text().into_bytes())?;
        self.flush()?;
        Ok(merged)
    }

    /// The stored checkpoint of tree size `size`.
    pub fn get(&self, size: u64) -> Result<Option<Note>, CheckpointStoreError> {
        self.checkpoints
            .get(size.to_be_bytes())?
            .map(|v| note_of(&v))
            .transpose()
    }

    /// The checkpoint of the largest tree size.
    pub fn latest(&self) -> Result<Option<Note>, CheckpointStoreError> {
        self.checkpoints
            .last()?
            .map(|(_, v)| note_of(&v))
            .transpose()
    }

    /// Every stored checkpoint, by increasing tree size.
    pub fn all(&self) -> Result<Vec<Note>, CheckpointStoreError> {
        self.checkpoints.iter().map(|kv| note_of(&kv?.1)).collect()
    }

    /// The last checkpoint `witness` cosigned.
    pub fn witness_last(&self, witness: &str) -> Result<Option<Note>, CheckpointStoreError> {
        self.witnesses
            .get(witness.as_bytes())?
            .map(|v| note_of(&v))
            .transpose()
    }

    /// Records that `witness` cosigned `note`.
    pub fn set_witness_last(&self, witness: &str, note: &Note) -> Result<(), CheckpointStoreError> {
        self.witnesses
            .insert(witness.as_bytes(), note.to_text().into_bytes())?;
        self.flush()
    }

    /// Keeps refusal evidence; returns its sequence number (from 1).
    pub fn keep_evidence(&self, ev: &Evidence) -> Result<u64, CheckpointStoreError> {
        let n = self.evidence.len() as u64 + 1;
        let json =
            serde_json::to_vec(ev).map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))?;
        self.evidence.insert(n.to_be_bytes(), json)?;
        self.flush()?;
        Ok(n)
    }

    /// All kept evidence, oldest first.
    pub fn evidence(&self) -> Result<Vec<Evidence>, CheckpointStoreError> {
        self.evidence
            .iter()
            .map(|kv| {
                let (_, v) = kv?;
                serde_json::from_slice(&v).map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The Merkle frontier saved with the last checkpoint (empty if none).
    pub fn tree(&self) -> Result<MerkleTree, CheckpointStoreError> {
        match self.meta.get(TREE_KEY)? {
            None => Ok(MerkleTree::new()),
            Some(v) => {
                serde_json::from_slice(&v).map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))
            }
        }
    }

    /// Saves the Merkle frontier.
    pub fn set_tree(&self, tree: &MerkleTree) -> Result<(), CheckpointStoreError> {
        let json =
            serde_json::to_vec(tree).map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))?;
        self.meta.insert(TREE_KEY, json)?;
        self.flush()
    }

    /// The frontier and the subjects chain saved with the last checkpoint, of
    /// one size; both empty when they are not (a store of an earlier version
    /// kept no subjects): the issuer then hashes the log again from the start.
    pub fn frontier(&self) -> Result<(MerkleTree, Subjects), CheckpointStoreError> {
        let tree = self.tree()?;
        let subjects = match self.meta.get(SUBJECTS_KEY)? {
            None => Subjects::new(),
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))?,
        };
        if subjects.size != tree.size() {
            return Ok((MerkleTree::new(), Subjects::new()));
        }
        Ok((tree, subjects))
    }

    /// Saves the frontier and the subjects chain (of the same size).
    pub fn set_frontier(
        &self,
        tree: &MerkleTree,
        subjects: &Subjects,
    ) -> Result<(), CheckpointStoreError> {
        let json = serde_json::to_vec(subjects)
            .map_err(|e| CheckpointStoreError::Corrupt(e.to_string()))?;
        self.meta.insert(SUBJECTS_KEY, json)?;
        self.set_tree(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{cosign, Checkpoint};
    use crate::keys::Signer;

    #[test]
    fn notes_merge_conflicts_are_refused_and_state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let s = CheckpointStore::open(&db).unwrap();
        assert_eq!(s.latest().unwrap(), None);
        let log = Signer::from_seed("example.com/log", [1; 32]).unwrap();
        let w = Signer::from_seed("w1", [2; 32]).unwrap();
        let cp = Checkpoint::new("example.com/log", 3, crate::merkle::empty_root()).unwrap();
        let note = cp.sign(&log).unwrap();
        s.put(3, &note).unwrap();
        let mut cosigned = note.clone();
        cosigned
            .signatures
            .push(cosign(&note.text, &w, 1_700_000_000).unwrap());
        let merged = s.put(3, &cosigned).unwrap();
        assert_eq!(merged.signatures.len(), 2);
        // Merging the same cosignature again does not duplicate it.
        assert_eq!(s.put(3, &cosigned).unwrap().signatures.len(), 2);
        let other = Checkpoint::new("example.com/log", 3, crate::event::leaf_hash(b"x"))
            .unwrap()
            .sign(&log)
            .unwrap();
        assert!(matches!(
            s.put(3, &other),
            Err(CheckpointStoreError::Conflict(3))
        ));
        let big = Checkpoint::new("example.com/log", 300, crate::merkle::empty_root())
            .unwrap()
            .sign(&log)
            .unwrap();
        s.put(300, &big).unwrap();
        assert_eq!(s.latest().unwrap(), Some(big.clone()));
        assert_eq!(s.all().unwrap().len(), 2);
        s.set_witness_last("w1", &big).unwrap();
        assert_eq!(s.witness_last("w1").unwrap(), Some(big));
        assert_eq!(s.witness_last("w2").unwrap(), None);
        let mut tree = MerkleTree::new();
        tree.push(crate::event::leaf_hash(b"a"));
        s.set_tree(&tree).unwrap();
        assert_eq!(s.tree().unwrap(), tree);
    }
}
