//! The projector's own directory: the items (rules state and read-model row of
//! each) in an append-only row file, the members' chains in chain files,
//! everything else in a small snapshot, and the log position they reflect.
//!
//! Files:
//! - `rows.log` (`rows.N.log` after the Nth compaction: the snapshot names
//!   the generation): records `[u32 LE length][u8 row kind][bincode (ItemId,
//!   Item, Option<Row>)][u32 LE CRC-32 of the kind byte and the bincode]`,
//!   appended; the length counts the kind, the bincode and the CRC; the last
//!   record of an id is its value. A record whose CRC does not match is a
//!   clear error naming the file and offset, never a wrong report. Records
//!   past the snapshot's `rows` length were not committed and are cut off on
//!   open. When half its records are stale (and it passed 64 MiB,
//!   `TALLINN_COMPACT_MIN`), a commit rewrites the latest records into the
//!   next generation first (see `compact.rs`).
//! - `items.base`, `items.recent` (`items.N.base`, ...: one index per row
//!   file's generation): the index of the row file (item id -> its
//!   latest record), saved in sorted runs after commits (see [`crate::runs`]
//!   and [`Index`]); an open reads their fences and scans only the records
//!   past them. Derived: a run that does not fit is passed over for a scan.
//! - `chains/`: one file per member, the id of each of its events by seq
//!   (see [`crate::chains`]), fsynced before each snapshot.
//! - `changes.log`: the model's changes (amendments, corrections,
//!   cancellations), appended at each save (see [`crate::lists`]); the
//!   snapshot names its committed bytes and records.
//! - `tree.log`: the Merkle tree of the `position` entries folded (see
//!   [`crate::tree`]), appended, fsynced before each snapshot.
//! - `snapshot`: magic, bincode `(position, rows, generation, records,
//!   head, root, checkpoint, State, Model)` (`generation`: the row file's;
//!   `records`: how many records the row file holds; `head`: the id of the
//!   entry at `position`; `root`: the
//!   Merkle root of the entries folded; `checkpoint`: the size of the largest
//!   signed checkpoint verified against it; they bind the state to its log)
//!   with the item tables and the chains' ids left out (the rules state's
//!   members, keys and chain heads, the model's members, changes, heads,
//!   rejected events and counters: a few kilobytes), then the SHA-256 of
//!   everything before it. Replaced atomically (write, fsync, rename, fsync the
//!   directory) after the other files are fsynced, so a projector killed at any
//!   moment reopens at its last commit.
//! - `LOCK`: held (an OS file lock) while a process has the store open.
//!
//! Memory holds the runs' fences and the index entries past them, so it grows
//! neither with the items' contents nor with the chains. A directory of an
//! earlier format is emptied on open (the projector is derived data: the next
//! catch-up rebuilds it from the log).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ledger::ids::{Digest, ItemId};
use ledger::state::{Item, State};
use rayon::prelude::*;
use serde::ser::{Error as _, SerializeMap};
use serde::{Serialize, Serializer};

use crate::chains::ChainFiles;
use crate::index::{run_file, Index, Slot, BASE_FILE, RECENT_FILE};
use crate::lists::ChangesFile;
use crate::model::{Model, Row, RowRef};
use crate::rows::{
    checked_body, decode_exact, read_memory_record, record_len, rows_len, scan, HEADER,
};
use crate::runs::RunFileError;
use crate::snapshot;
use crate::tree::TreeFile;

#[path = "compact.rs"]
mod compact;
pub use compact::{compactions, set_default_compact_min};
#[path = "store_rows.rs"]
mod store_rows;
pub use store_rows::StoreRows;

impl From<RunFileError> for StoreError {
    fn from(e: RunFileError) -> StoreError {
        match e {
            RunFileError::Io { path, source } => StoreError::Io { path, source },
            e @ RunFileError::Corrupt { .. } => StoreError::Corrupt(e.to_string()),
        }
    }
}

/// Why the projector store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory is held by another process.
    #[error("the projector at {0} is in use by another process")]
    Locked(String),
    /// A file operation failed.
    #[error("projector storage {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The snapshot or the row file does not decode or fails its checksum.
    #[error("projector store is corrupt ({0}); rebuild it from the log with `tallinn projector rebuild`")]
    Corrupt(String),
    /// A read-only store (opened while another process holds the lock) was
    /// asked to commit or clear.
    #[error("the projector store is open read-only (another process holds it)")]
    ReadOnly,
}

/// What a store held at its last commit.
#[derive(Debug, Default)]
pub struct Saved {
    /// Last log position folded.
    pub position: u64,
    /// The id of the entry at `position` (checked against the log on open).
    pub head: Option<Digest>,
    /// The Merkle root of the `position` entries folded.
    pub root: Option<Digest>,
    /// The size of the largest signed checkpoint of the log the projector
    /// verified against its tree (0: none): the log must keep one at least
    /// as large.
    pub checkpoint: u64,
    /// The rules state without its items.
    pub state: State,
    /// The read model without its item tables.
    pub model: Model,
}

/// The row kind byte of a record.
fn kind_of(row: Option<RowRef<'_>>) -> u8 {
    match row {
        None => 0,
        Some(RowRef::Need(_)) => 1,
        Some(RowRef::Offer(_)) => 2,
        Some(RowRef::Commitment(_)) => 3,
        Some(RowRef::Delivery(_)) => 4,
        Some(RowRef::Receipt(_)) => 5,
    }
}

/// Row kind bytes, in the order of the model's tables.
pub const KINDS: [u8; 5] = [1, 2, 3, 4, 5];

/// A projector's saved state.
pub struct ProjectorStore {
    dir: PathBuf,
    rows_path: PathBuf,
    /// The OS lock; `None` for a read-only store.
    lock: Option<File>,
    reader: File,
    /// Where new records go: the row file, or (read-only) memory.
    writer: Sink,
    /// Bytes of the row file handed to the OS.
    flushed: u64,
    /// Bytes of the row file including what is buffered.
    end: u64,
    index: Index,
    scratch: Vec<u8>,
    /// The Merkle tree of the entries folded.
    tree: TreeFile,
    /// The members' chains.
    chains: ChainFiles,
    /// The row file's generation (its name; see [`snapshot::rows_file`]).
    generation: u64,
    /// The records the row file holds (live and stale).
    records: u64,
    /// The row-file length under which no compaction is tried.
    compact_min: u64,
    /// The model's changes kept on disk.
    changes: ChangesFile,
}

/// The row-file length under which a commit does not compact (64 MiB; a
/// projector of a small ledger never rewrites its rows).
pub const COMPACT_MIN: u64 = 64 << 20;

/// Where a store appends records.
enum Sink {
    /// The row file (a store holding the lock).
    File(BufWriter<File>),
    /// Memory, at offsets from `base` on (a read-only store: what it folds
    /// past the snapshot stays in this process).
    Memory { base: u64, bytes: Vec<u8> },
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl ProjectorStore {
    /// Opens (creating) the store in `dir`, waiting up to `wait` for the lock,
    /// and returns it with what it held at its last commit.
    pub fn open(dir: &Path, wait: Duration) -> Result<(ProjectorStore, Saved), StoreError> {
        ProjectorStore::open_inner(dir, wait, false)
    }

    /// Opens the store in `dir` emptied, without reading what it held (so a
    /// damaged store can be rebuilt): the files are removed once the lock is held.
    pub fn open_empty(dir: &Path, wait: Duration) -> Result<ProjectorStore, StoreError> {
        Ok(ProjectorStore::open_inner(dir, wait, true)?.0)
    }

    /// Opens the store in `dir` read-only, without its lock, while another
    /// process may hold it and write: what its last commit holds (the snapshot
    /// is replaced atomically; the row file only grows past the committed
    /// length the snapshot names, so those bytes never change). Records put
    /// afterwards stay in memory; commit and clear are refused.
    pub fn open_read_only(dir: &Path) -> Result<(ProjectorStore, Saved), StoreError> {
        // The holder writes the index's runs after each snapshot: runs past
        // the snapshot read mean a newer snapshot is in place. A compaction
        // removes the row file a snapshot read a moment ago named: read again.
        let mut tries = 0;
        let (meta, saved, mut index, reader, rows_path) = loop {
            tries += 1;
            let (meta, saved) = snapshot::read(&dir.join("snapshot"))?;
            let (index, stale) = Index::open_runs_of(dir, meta.generation, meta.len);
            if stale && tries < 5 {
                continue;
            }
            let rows_path = dir.join(snapshot::rows_file(meta.generation));
            let reader = match File::open(&rows_path) {
                Ok(f) => f,
                // No rows yet (nothing committed): nothing is read from the file.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && meta.len == 0 => {
                    File::open(dir).map_err(io(dir))?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => continue,
                Err(e) => return Err(io(&rows_path)(e)),
            };
            break (meta, saved, index, reader, rows_path);
        };
        let committed = meta.len;
        if committed > 0 {
            rows_len(&reader, committed, &rows_path)?;
        }
        scan(&reader, committed, &rows_path, &mut index)?;
        let tree = TreeFile::open(&dir.join("tree.log"), saved.position, saved.root, false)?;
        let chains = ChainFiles::open(dir, &saved.state, false)?;
        let changes = ChangesFile::open(dir, meta.changes, false)?;
        Ok((
            ProjectorStore {
                dir: dir.to_path_buf(),
                rows_path,
                lock: None,
                reader,
                writer: Sink::Memory {
                    base: committed,
                    bytes: Vec::new(),
                },
                flushed: committed,
                end: committed,
                index,
                scratch: Vec::new(),
                tree,
                chains,
                generation: meta.generation,
                records: meta.records,
                compact_min: compact::default_compact_min(),
                changes,
            },
            saved,
        ))
    }

    /// The Merkle tree of the entries folded.
    pub fn tree(&self) -> &TreeFile {
        &self.tree
    }

    /// The tree, to append the leaves of entries folded.
    pub fn tree_mut(&mut self) -> &mut TreeFile {
        &mut self.tree
    }

    /// Whether this store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.lock.is_none()
    }

    fn open_inner(
        dir: &Path,
        wait: Duration,
        empty: bool,
    ) -> Result<(ProjectorStore, Saved), StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        let start = std::time::Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked(dir.display().to_string()))
                }
                Err(TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
            }
        }
        snapshot::remove_sled_store(dir);
        snapshot::remove_older_format(dir);
        if empty {
            snapshot::remove_derived(dir)?;
        }
        let (meta, saved) = snapshot::read(&dir.join("snapshot"))?;
        // Left by a compaction, finished (the old file) or not (the new one).
        snapshot::remove_other_generations(dir, meta.generation);
        let committed = meta.len;
        let rows_path = dir.join(snapshot::rows_file(meta.generation));
        let reader = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&rows_path)
            .map_err(io(&rows_path))?;
        let len = rows_len(&reader, committed, &rows_path)?;
        if len > committed {
            // Records written after the last commit: never part of a snapshot.
            reader.set_len(committed).map_err(io(&rows_path))?;
        }
        let (mut index, _) = Index::open_runs_of(dir, meta.generation, committed);
        index.remove_unused(dir);
        scan(&reader, committed, &rows_path, &mut index)?;
        // A store of an earlier version, or one whose last runs were lost:
        // its index is saved now, so that the next open does not scan again.
        if let Err(e) = index.save(dir, committed) {
            tracing::warn!("saving the item index: {e}");
        }
        let tree = TreeFile::open(&dir.join("tree.log"), saved.position, saved.root, true)?;
        let chains = ChainFiles::open(dir, &saved.state, true)?;
        let changes = ChangesFile::open(dir, meta.changes, true)?;
        let writer = OpenOptions::new()
            .append(true)
            .open(&rows_path)
            .map_err(io(&rows_path))?;
        Ok((
            ProjectorStore {
                dir: dir.to_path_buf(),
                rows_path,
                lock: Some(lock),
                reader,
                writer: Sink::File(BufWriter::with_capacity(1 << 20, writer)),
                flushed: committed,
                end: committed,
                index,
                scratch: Vec::new(),
                tree,
                chains,
                generation: meta.generation,
                records: meta.records,
                compact_min: compact::default_compact_min(),
                changes,
            },
            saved,
        ))
    }

    /// The stored item `id` and its row, if any.
    pub fn get(&mut self, id: &ItemId) -> Result<Option<(Item, Option<Row>)>, StoreError> {
        let Some(slot) = self.index.get(id.as_str())? else {
            return Ok(None);
        };
        self.flush()?;
        let (stored, item, row) = self.read_record(slot.offset)?;
        if &stored != id {
            return Err(StoreError::Corrupt(format!(
                "record at {} is {stored}, the index says {id}",
                slot.offset
            )));
        }
        Ok(Some((item, row)))
    }

    /// Appends the new value of item `id` (not committed until [`ProjectorStore::commit`]).
    pub fn put(
        &mut self,
        id: &ItemId,
        item: &Item,
        row: Option<RowRef<'_>>,
    ) -> Result<(), StoreError> {
        let kind = kind_of(row);
        self.scratch.clear();
        self.scratch.extend_from_slice(&[0; HEADER]);
        bincode::serde::encode_into_std_write(
            (id, item, row),
            &mut self.scratch,
            bincode::config::standard(),
        )
        .map_err(|e| StoreError::Corrupt(format!("encoding {id}: {e}")))?;
        self.scratch[4] = kind;
        let crc = crc32fast::hash(&self.scratch[4..]);
        self.scratch.extend_from_slice(&crc.to_le_bytes());
        let body = (self.scratch.len() - 4) as u32;
        self.scratch[..4].copy_from_slice(&body.to_le_bytes());
        match &mut self.writer {
            Sink::File(w) => w.write_all(&self.scratch).map_err(io(&self.rows_path))?,
            Sink::Memory { bytes, .. } => bytes.extend_from_slice(&self.scratch),
        }
        self.index.put(
            id.as_str(),
            Slot {
                offset: self.end,
                kind,
            },
        );
        self.end += self.scratch.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// Hands buffered records to the OS (so that they can be read back).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.flushed != self.end {
            if let Sink::File(w) = &mut self.writer {
                w.flush().map_err(io(&self.rows_path))?;
            }
            self.flushed = self.end;
        }
        Ok(())
    }

    /// Commits: fsyncs the row file, then atomically replaces the snapshot with
    /// `position`, `state` and `model` (whose item tables must have been [`put`]
    /// and emptied: they are not written).
    ///
    /// [`put`]: ProjectorStore::put
    pub fn commit(
        &mut self,
        position: u64,
        head: Option<Digest>,
        checkpoint: u64,
        state: &State,
        model: &Model,
    ) -> Result<(), StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        if self.tree.size() != position {
            return Err(StoreError::Corrupt(format!(
                "committing position {position} with a tree of {} entries",
                self.tree.size()
            )));
        }
        self.flush()?;
        let compacted = self.due_for_compaction();
        if compacted {
            self.compact()?;
        } else {
            self.reader.sync_data().map_err(io(&self.rows_path))?;
        }
        self.tree.sync()?;
        self.chains.sync()?;
        self.changes.sync()?;
        let root = (position > 0).then(|| self.tree.root());
        debug_assert!(state.items.is_empty() && model.tables_empty());
        snapshot::write(
            &self.dir,
            &snapshot::Parts {
                position,
                rows: self.end,
                generation: self.generation,
                records: self.records,
                changes: self.changes.extent(),
                head,
                root,
                checkpoint,
                state,
                model,
            },
        )?;
        if compacted {
            // Committed: the old generation's files are no one's any more (a
            // reader that has them open keeps reading them).
            snapshot::remove_other_generations(&self.dir, self.generation);
        }
        // The index's runs are derived from the committed row file: failing
        // to write them loses nothing (the records stay in memory, and the
        // next open scans them).
        if let Err(e) = self.index.save(&self.dir, self.end) {
            tracing::warn!("saving the item index: {e}");
        }
        Ok(())
    }

    /// The members' chains on disk.
    pub fn chains(&mut self) -> &mut ChainFiles {
        &mut self.chains
    }

    /// The model's changes on disk.
    pub fn changes(&mut self) -> &mut ChangesFile {
        &mut self.changes
    }

    /// The model's changes on disk, to read.
    pub fn changes_ref(&self) -> &ChangesFile {
        &self.changes
    }

    /// Item index entries held in memory (the records past the saved runs).
    pub fn index_in_memory(&self) -> usize {
        self.index.in_memory()
    }

    /// Sets how many item index entries a commit lets accumulate in memory
    /// before it saves them to the index's runs (tests use small values).
    pub fn set_index_delta_max(&mut self, n: usize) {
        self.index.delta_max = n;
    }

    /// Removes everything (before a rebuild).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        // A read-only store must not remove the files of the process holding it.
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        for name in [
            "snapshot".to_string(),
            run_file(BASE_FILE, self.generation),
            run_file(RECENT_FILE, self.generation),
        ] {
            snapshot::remove_if_present(&self.dir.join(name))?;
        }
        self.records = 0;
        let rows = &self.rows_path;
        let Sink::File(writer) = &mut self.writer else {
            return Err(StoreError::ReadOnly);
        };
        writer.flush().map_err(io(rows))?;
        self.reader.set_len(0).map_err(io(rows))?;
        self.reader.sync_all().map_err(io(rows))?;
        self.index.clear();
        self.chains.clear()?;
        self.changes.clear()?;
        (self.flushed, self.end) = (0, 0);
        self.tree.clear()
    }

    /// Every stored item with its row, in no particular order.
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(ItemId, Item, Option<Row>),
    ) -> Result<(), StoreError> {
        self.flush()?;
        let mut offsets: Vec<u64> = self
            .index
            .entries()
            .map(|e| e.map(|(_, slot)| slot.offset))
            .collect::<Result<_, _>>()?;
        offsets.sort_unstable();
        for offset in offsets {
            let (id, item, row) = self.read_record(offset)?;
            f(id, item, row);
        }
        Ok(())
    }

    /// The rows of one kind (see [`KINDS`]) as a serde map sorted by id, read
    /// from disk while it is serialized: it encodes as the model's table of
    /// that kind does (for the digest). Call [`ProjectorStore::flush`] first.
    pub fn table(&self, kind: u8) -> StoredTable<'_> {
        StoredTable { store: self, kind }
    }

    fn read_record(&self, offset: u64) -> Result<(ItemId, Item, Option<Row>), StoreError> {
        let path = &self.rows_path;
        let mut header = [0u8; HEADER];
        if offset + HEADER as u64 > self.flushed {
            return Err(StoreError::Corrupt(format!(
                "record at {offset} past the end"
            )));
        }
        if let Sink::Memory { base, bytes } = &self.writer {
            if offset >= *base {
                return read_memory_record(bytes, offset, *base);
            }
        }
        self.reader
            .read_exact_at(&mut header, offset)
            .map_err(io(path))?;
        let len = record_len(&header, offset, self.flushed)?;
        let mut body = vec![0u8; len - 1];
        self.reader
            .read_exact_at(&mut body, offset + HEADER as u64)
            .map_err(io(path))?;
        let body = checked_body(header[4], &body, offset)?;
        decode_exact(body, &format!("rows.log: record at {offset}"))
    }
}

/// One table of the read model, read from the row file as it is serialized
/// (its ids are sorted then, so only one table's list is in memory at a time).
pub struct StoredTable<'a> {
    store: &'a ProjectorStore,
    kind: u8,
}

impl Serialize for StoredTable<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rows = self
            .store
            .index
            .sorted_of_kind(self.kind)
            .map_err(|e| S::Error::custom(e.to_string()))?;
        let mut map = serializer.serialize_map(Some(rows.len()))?;
        // Records are read and decoded on all cores, a chunk at a time, and
        // serialized in order.
        for chunk in rows.chunks(4096) {
            let records: Result<Vec<_>, StoreError> = chunk
                .par_iter()
                .map(|&offset| self.store.read_record(offset))
                .collect();
            for (id, _, row) in records.map_err(|e| S::Error::custom(e.to_string()))? {
                match row {
                    Some(Row::Need(r)) => map.serialize_entry(&id, &r)?,
                    Some(Row::Offer(r)) => map.serialize_entry(&id, &r)?,
                    Some(Row::Commitment(r)) => map.serialize_entry(&id, &r)?,
                    Some(Row::Delivery(r)) => map.serialize_entry(&id, &r)?,
                    Some(Row::Receipt(r)) => map.serialize_entry(&id, &r)?,
                    None => return Err(S::Error::custom(format!("{id} has no row"))),
                }
            }
        }
        map.end()
    }
}
