//! An exact, compact map from item id to where its latest record lies in the
//! projector's row file. The ids are kept once, length-prefixed, in a byte arena
//! of 1 MiB chunks; an entry is two integers (where its id is in the arena, and
//! the record's offset with its row kind, and its hash); the hash table holds only 32-bit entry
//! numbers (about 47 MB for the 1M demo ledger's items, heaptrack). Growing
//! never copies the arena or the entries (no doubling peak). Hashes are keyed per process (`RandomState`), so ids
//! chosen to collide cost nothing but time, and every lookup compares the id.

use std::fs::File;
use std::hash::BuildHasher;
use std::path::Path;

use hashbrown::HashTable;

use crate::runs::{self, merge, Run, RunEntry, RunFileError};

/// Where the latest record of one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Byte offset of the record in the row file (below 2^61).
    pub offset: u64,
    /// The record's row kind (`0` when it has no read-model row; below 8).
    pub kind: u8,
}

impl Slot {
    pub(crate) fn pack(self) -> u64 {
        debug_assert!(self.offset < 1 << 61 && self.kind < 8);
        self.offset << 3 | u64::from(self.kind)
    }
    pub(crate) fn unpack(packed: u64) -> Slot {
        Slot {
            offset: packed >> 3,
            kind: (packed & 7) as u8,
        }
    }
}

/// Bytes per arena chunk.
const KEY_CHUNK: usize = 1 << 20;
/// Entries per entry chunk.
const ENTRY_CHUNK: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `chunk * KEY_CHUNK + offset` of the id's length prefix in the arena.
    key_at: u64,
    /// `Slot::pack`.
    slot: u64,
    /// The id's hash: growing the table rehashes from it, without reading
    /// the id back from the arena and hashing it again.
    hash: u64,
}

/// Item id -> [`Slot`].
#[derive(Debug, Default)]
pub struct ItemIndex {
    keys: Vec<Vec<u8>>,
    entries: Vec<Vec<Entry>>,
    len: usize,
    table: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
}

/// The id stored at `at` in the arena `keys`.
fn key_at(keys: &[Vec<u8>], at: u64) -> &[u8] {
    let chunk = &keys[(at / KEY_CHUNK as u64) as usize];
    let i = (at % KEY_CHUNK as u64) as usize;
    let n = u16::from_le_bytes([chunk[i], chunk[i + 1]]) as usize;
    &chunk[i + 2..i + 2 + n]
}

fn entry(entries: &[Vec<Entry>], i: u32) -> &Entry {
    let i = i as usize;
    &entries[i / ENTRY_CHUNK][i % ENTRY_CHUNK]
}

impl ItemIndex {
    /// An empty index.
    pub fn new() -> ItemIndex {
        ItemIndex::default()
    }

    /// The entry number of `id`, if indexed.
    fn find(&self, hash: u64, id: &str) -> Option<u32> {
        let (keys, entries) = (&self.keys, &self.entries);
        self.table
            .find(hash, |&i| {
                let e = entry(entries, i);
                e.hash == hash && key_at(keys, e.key_at) == id.as_bytes()
            })
            .copied()
    }

    /// The slot of `id`, if indexed.
    pub fn get(&self, id: &str) -> Option<Slot> {
        let i = self.find(self.hasher.hash_one(id.as_bytes()), id)?;
        Some(Slot::unpack(entry(&self.entries, i).slot))
    }

    /// Sets the slot of `id` (adding it if new).
    ///
    /// # Panics
    /// If `id` is longer than 65,535 bytes (item ids have at most 129) or the
    /// index already holds 2^32 items.
    pub fn put(&mut self, id: &str, slot: Slot) {
        let hash = self.hasher.hash_one(id.as_bytes());
        if let Some(i) = self.find(hash, id) {
            let i = i as usize;
            self.entries[i / ENTRY_CHUNK][i % ENTRY_CHUNK].slot = slot.pack();
            return;
        }
        let n = u16::try_from(id.len()).expect("item ids are short");
        let need = 2 + id.len();
        if self.keys.last().is_none_or(|c| c.len() + need > KEY_CHUNK) {
            self.keys.push(Vec::with_capacity(KEY_CHUNK));
        }
        let chunk_no = self.keys.len() - 1;
        let chunk = self.keys.last_mut().expect("just ensured");
        let at = (chunk_no * KEY_CHUNK + chunk.len()) as u64;
        chunk.extend_from_slice(&n.to_le_bytes());
        chunk.extend_from_slice(id.as_bytes());
        if self.len.is_multiple_of(ENTRY_CHUNK) {
            self.entries.push(Vec::with_capacity(ENTRY_CHUNK));
        }
        self.entries.last_mut().expect("just ensured").push(Entry {
            key_at: at,
            slot: slot.pack(),
            hash,
        });
        let i = u32::try_from(self.len).expect("fewer than 2^32 items");
        self.len += 1;
        let entries = &self.entries;
        self.table
            .insert_unique(hash, i, |&j| entry(entries, j).hash);
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no item is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every (id bytes, slot), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Slot)> + '_ {
        self.entries
            .iter()
            .flatten()
            .map(|e| (key_at(&self.keys, e.key_at), Slot::unpack(e.slot)))
    }

    /// The record offsets of every item whose row kind is `kind`, in the order
    /// of their ids (the order of the read model's tables: byte order is `str`
    /// order).
    pub fn sorted_of_kind(&self, kind: u8) -> Vec<u64> {
        let mut v: Vec<(&[u8], u64)> = self
            .iter()
            .filter(|(_, s)| s.kind == kind)
            .map(|(k, s)| (k, s.offset))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v.into_iter().map(|(_, offset)| offset).collect()
    }
}

/// Entries in memory past the saved runs before a commit writes them to a run.
pub const DELTA_MAX: usize = 16_384;
/// Entries the recent run may reach, as a fraction of the base's, before a
/// commit merges it into the base (1/`BASE_RATIO`).
const BASE_RATIO: u64 = 4;

/// Names of the run files in a projector's directory (of the first row
/// file; see [`run_file`]).
pub const BASE_FILE: &str = "items.base";
/// See [`BASE_FILE`].
pub const RECENT_FILE: &str = "items.recent";

/// The name of a run file (`BASE_FILE` or `RECENT_FILE`) of the index of the
/// row file of `generation`: `items.base`, `items.N.base` after the Nth
/// compaction.
pub fn run_file(name: &str, generation: u64) -> String {
    match generation {
        0 => name.to_string(),
        g => name.replacen("items.", &format!("items.{g}."), 1),
    }
}

/// An entry stream in id order.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<RunEntry, RunFileError>> + 'a>;

/// The whole item index: a base run covering the row file from its start, a
/// recent run covering what follows, and the records since in memory (see
/// [`crate::runs`]). A lookup tries memory, then the recent run, then the base;
/// opening reads the runs' fences and scans only the records past them.
#[derive(Debug, Default)]
pub struct Index {
    base: Option<Run>,
    recent: Option<Run>,
    /// The records from `covered` on.
    delta: ItemIndex,
    /// The row-file offset the runs cover up to.
    covered: u64,
    /// Entries in memory from which a commit saves them (default [`DELTA_MAX`]).
    pub delta_max: usize,
    /// The generation of the row file it indexes (its runs' names).
    generation: u64,
}

impl Index {
    /// The runs saved in `dir` that fit a row file committed up to
    /// `committed`, and the offset they cover up to. A run that does not fit
    /// (left by a crash between two renames, damaged, or written past
    /// `committed`) is left out; `stale` says whether one was written past
    /// `committed` (a reader then reads the snapshot again).
    pub fn open_runs(dir: &Path, committed: u64) -> (Index, bool) {
        Index::open_runs_of(dir, 0, committed)
    }

    /// [`Index::open_runs`] of the row file of `generation`.
    pub fn open_runs_of(dir: &Path, generation: u64, committed: u64) -> (Index, bool) {
        let mut stale = false;
        let mut open = |name: &str, from: u64| -> Option<Run> {
            let path = dir.join(run_file(name, generation));
            if !path.exists() {
                return None;
            }
            match Run::open(&path) {
                Ok(r) if r.from == from && r.to <= committed => Some(r),
                Ok(r) => {
                    stale |= r.to > committed;
                    None
                }
                Err(e) => {
                    tracing::warn!("{e}: the item index is read from the row file instead");
                    None
                }
            }
        };
        let base = open(BASE_FILE, 0);
        let recent = base.as_ref().and_then(|b| open(RECENT_FILE, b.to));
        let covered = recent.as_ref().or(base.as_ref()).map_or(0, |r| r.to);
        let index = Index {
            base,
            recent,
            delta: ItemIndex::new(),
            covered,
            delta_max: DELTA_MAX,
            generation,
        };
        (index, stale)
    }

    /// An upper bound of the items indexed: the entries of both runs and of
    /// memory, an item counted once in each that holds it.
    pub fn live_bound(&self) -> u64 {
        let run = |r: &Option<Run>| r.as_ref().map_or(0, |r| r.count);
        run(&self.base) + run(&self.recent) + self.delta.len() as u64
    }

    /// The row-file offset from which records must be scanned into memory.
    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// Removes run files in `dir` that this index does not use (left by a
    /// crash, or of another row file).
    pub fn remove_unused(&self, dir: &Path) {
        if self.base.is_none() {
            let _ = std::fs::remove_file(dir.join(run_file(BASE_FILE, self.generation)));
        }
        if self.recent.is_none() {
            let _ = std::fs::remove_file(dir.join(run_file(RECENT_FILE, self.generation)));
        }
    }

    /// The slot of `id`, if indexed.
    pub fn get(&self, id: &str) -> Result<Option<Slot>, RunFileError> {
        if let Some(s) = self.delta.get(id) {
            return Ok(Some(s));
        }
        for run in [&self.recent, &self.base].into_iter().flatten() {
            if let Some(s) = run.get(id.as_bytes())? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// Sets the slot of `id` (a record at or past [`Index::covered`]).
    pub fn put(&mut self, id: &str, slot: Slot) {
        self.delta.put(id, slot);
    }

    /// Entries held in memory.
    pub fn in_memory(&self) -> usize {
        self.delta.len()
    }

    /// The entries in memory in id order (sorted by reference: an entry is
    /// copied only as it is read).
    fn sorted_delta(&self) -> impl Iterator<Item = Result<RunEntry, RunFileError>> + '_ {
        let mut delta: Vec<(&[u8], Slot)> = self.delta.iter().collect();
        delta.sort_unstable_by(|a, b| a.0.cmp(b.0));
        delta.into_iter().map(|(k, s)| Ok((k.into(), s)))
    }

    /// Every entry, latest slot per id, in id order.
    pub fn entries(&self) -> Entries<'_> {
        let runs: Entries<'_> = match (&self.base, &self.recent) {
            (Some(b), Some(r)) => Box::new(merge(b.iter(), r.iter())),
            (Some(b), None) => Box::new(b.iter()),
            _ => Box::new(std::iter::empty()),
        };
        Box::new(merge(runs, self.sorted_delta()))
    }

    /// The record offsets of every item whose row kind is `kind`, in the order
    /// of their ids (the order of the read model's tables).
    pub fn sorted_of_kind(&self, kind: u8) -> Result<Vec<u64>, RunFileError> {
        self.entries()
            .filter(|e| e.as_ref().map_or(true, |(_, s)| s.kind == kind))
            .map(|e| e.map(|(_, s)| s.offset))
            .collect()
    }

    /// Empties the index (the row file was emptied); the caller removes the files.
    pub fn clear(&mut self) {
        *self = Index {
            delta_max: self.delta_max,
            ..Index::default()
        };
    }

    /// After a commit of the row file up to `committed`: once enough records
    /// are in memory, writes them to the recent run, or merges everything
    /// into a new base when the recent run would grow past a quarter of it.
    /// Each file is written aside, fsynced and renamed over the old one.
    pub fn save(&mut self, dir: &Path, committed: u64) -> Result<(), RunFileError> {
        if self.delta.len() < self.delta_max.max(1) {
            return Ok(());
        }
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| RunFileError::Io { path, source }
        };
        let base_count = self.base.as_ref().map_or(0, |r| r.count);
        let recent_count = self.recent.as_ref().map_or(0, |r| r.count);
        let to_base = recent_count + self.delta.len() as u64 > base_count / BASE_RATIO;
        let (name, from) = if to_base {
            (run_file(BASE_FILE, self.generation), 0)
        } else {
            (
                run_file(RECENT_FILE, self.generation),
                self.base.as_ref().map_or(0, |b| b.to),
            )
        };
        let tmp = dir.join(format!("{name}.tmp"));
        let entries: Entries<'_> = if to_base {
            self.entries()
        } else {
            let recent: Entries<'_> = match &self.recent {
                Some(r) => Box::new(r.iter()),
                None => Box::new(std::iter::empty()),
            };
            Box::new(merge(recent, self.sorted_delta()))
        };
        let expected =
            recent_count + self.delta.len() as u64 + if to_base { base_count } else { 0 };
        runs::write(&tmp, from, committed, expected, entries)?;
        let path = dir.join(name);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        if to_base {
            // The recent run no longer starts where the base ends: unused.
            let recent = dir.join(run_file(RECENT_FILE, self.generation));
            match std::fs::remove_file(&recent) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&recent)(e)),
                _ => {}
            }
        }
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
        let run = Run::open(&path)?;
        if to_base {
            (self.base, self.recent) = (Some(run), None);
        } else {
            self.recent = Some(run);
        }
        self.delta = ItemIndex::new();
        self.covered = committed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn runs_past_the_commit_or_out_of_place_are_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open_runs(dir.path(), 0).0;
        index.delta_max = 1;
        for (n, id) in ["a", "b", "c", "e", "f", "g", "h", "i"]
            .into_iter()
            .enumerate()
        {
            let kind = if n < 3 { 1 } else { 3 };
            index.put(
                id,
                Slot {
                    offset: n as u64,
                    kind,
                },
            );
        }
        index.save(dir.path(), 30).unwrap();
        index.put(
            "d",
            Slot {
                offset: 30,
                kind: 2,
            },
        );
        index.save(dir.path(), 40).unwrap();
        assert!(dir.path().join(RECENT_FILE).exists());
        // Reopened at the commit: both runs, nothing to scan.
        let (index, stale) = Index::open_runs(dir.path(), 40);
        assert!(!stale && index.covered() == 40);
        assert_eq!(
            index.get("d").unwrap(),
            Some(Slot {
                offset: 30,
                kind: 2
            })
        );
        assert_eq!(index.get("b").unwrap(), Some(Slot { offset: 1, kind: 1 }));
        assert_eq!(index.get("z").unwrap(), None);
        assert_eq!(index.sorted_of_kind(1).unwrap(), vec![0, 1, 2]);
        // A snapshot older than the recent run (a reader that read it before
        // the holder's next commit): the run is stale, the base still fits.
        let (index, stale) = Index::open_runs(dir.path(), 35);
        assert!(stale && index.covered() == 30);
        assert_eq!(index.get("d").unwrap(), None);
        let (index, stale) = Index::open_runs(dir.path(), 20);
        assert!(stale && index.covered() == 0);
    }

    #[test]
    fn agrees_with_a_hash_map() {
        let mut index = ItemIndex::new();
        let mut reference = HashMap::new();
        // Enough ids to fill several arena and entry chunks, each set several times.
        for n in 0..400_000u64 {
            let r = (n * 7919) % 100_000;
            let id = format!("EE-MFA/O-{r}-{}", "x".repeat((r % 60) as usize));
            let slot = Slot {
                offset: n,
                kind: (n % 6) as u8,
            };
            index.put(&id, slot);
            reference.insert(id, slot);
        }
        assert_eq!(index.len(), reference.len());
        for (id, slot) in &reference {
            assert_eq!(index.get(id), Some(*slot), "{id}");
        }
        assert_eq!(index.get("EE-MFA/O-100000-"), None);
        assert_eq!(index.get(""), None);
        let all: HashMap<String, Slot> = index
            .iter()
            .map(|(k, s)| (String::from_utf8(k.to_vec()).unwrap(), s))
            .collect();
        assert_eq!(all, reference);
        let mut of_kind: Vec<(&String, u64)> = reference
            .iter()
            .filter(|(_, s)| s.kind == 3)
            .map(|(k, s)| (k, s.offset))
            .collect();
        of_kind.sort();
        let expected: Vec<u64> = of_kind.into_iter().map(|(_, offset)| offset).collect();
        assert_eq!(index.sorted_of_kind(3), expected);
    }
}
