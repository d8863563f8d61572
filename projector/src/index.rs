//! An exact, compact map from item id to where its latest record lies in the
//! projector's row file. The ids are kept once, length-prefixed, in a byte arena
//! of 1 MiB chunks; an entry is two integers (where its id is in the arena, and
//! the record's offset with its row kind, and its hash); the hash table holds only 32-bit entry
//! numbers (about 47 MB for the 1M demo ledger's items, heaptrack). Growing
//! never copies the arena or the entries (no doubling peak). Hashes are keyed per process (`RandomState`), so ids
//! chosen to collide cost nothing but time, and every lookup compares the id.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Where the latest record of one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Byte offset of the record in the row file (below 2^61).
    pub offset: u64,
    /// The record's row kind (`0` when it has no read-model row; below 8).
    pub kind: u8,
}

impl Slot {
    fn pack(self) -> u64 {
        debug_assert!(self.offset < 1 << 61 && self.kind < 8);
        self.offset << 3 | u64::from(self.kind)
    }
    fn unpack(packed: u64) -> Slot {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
