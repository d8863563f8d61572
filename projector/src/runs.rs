//! The saved item index: sorted run files mapping item id to the slot of its
//! latest record in the row file, so that opening a projector reads a few
//! kilobytes instead of scanning the whole row file, and a command that needs
//! a few items (a producer's pre-check) reads a few blocks.
//!
//! A run covers the records of the row file in `[from, to)`: for every item
//! with a record there, the slot of its last one. Runs are written whole and
//! replaced atomically (write, fsync, rename, fsync the directory); they are
//! never changed in place.
//!
//! Layout:
//! - header (64 bytes): magic, `from`, `to`, entry count, block count, fence
//!   bytes (u64 LE each), CRC-32 of the bytes before it, zero padding;
//! - blocks of [`BLOCK`] bytes: `u16` entry count, entries (`u16` id length,
//!   id bytes, `u64` packed slot), ids strictly ascending, zero padding, and
//!   the block's CRC-32 in its last 4 bytes;
//! - fences: the first id of every block (`u16` length, bytes), then their
//!   CRC-32. Fences are read into memory on open (139 KB for the 1M demo
//!   ledger's 999,415 items); a lookup is one block read;
//! - a Bloom filter of the ids: its length in bits (`u64` LE), the bits
//!   (10 per entry expected, 7 probes by double hashing of a stable 64-bit
//!   hash, [`id_hash`]), then their CRC-32. Read into memory on open (1.25 MB
//!   per million items): a lookup of an id the run does not hold (every new
//!   item a fold creates) reads no block but for about 1 in 100.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::index::Slot;

/// One entry: an item id and the slot of its latest record.
pub type RunEntry = (Box<[u8]>, Slot);

/// Bytes per block.
pub const BLOCK: usize = 4096;
const HEADER: usize = 64;
const MAGIC: &[u8; 20] = b"tallinn item run v2\n";
/// Largest filter accepted (bits).
const MAX_FILTER_BITS: u64 = 1 << 36;
/// Filter bits per expected entry, and probes per id.
const BITS_PER_ENTRY: u64 = 10;
const PROBES: u64 = 7;
/// Largest fence section accepted (bytes).
const MAX_FENCES: u64 = 1 << 30;

/// Why a run file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file does not have the layout it should, or fails a checksum.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// An open run file.
#[derive(Debug)]
pub struct Run {
    file: File,
    path: String,
    /// First row-file offset covered.
    pub from: u64,
    /// Row-file offset the run covers up to (exclusive).
    pub to: u64,
    /// Entries.
    pub count: u64,
    /// The first id of every block.
    fences: Vec<Box<[u8]>>,
    /// The Bloom filter of the ids.
    filter: Filter,
}

/// A Bloom filter over item ids (see the module's documentation).
#[derive(Debug, Clone)]
struct Filter {
    bits: Vec<u8>,
}

/// A stable 64-bit hash of an id (FNV-1a, then the SplitMix64 finalizer):
/// filters are files, so the hash may not change between builds.
pub fn id_hash(id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Filter {
    /// An empty filter for about `expected` ids.
    fn with_capacity(expected: u64) -> Filter {
        let bits = expected
            .max(1)
            .saturating_mul(BITS_PER_ENTRY)
            .min(MAX_FILTER_BITS);
        Filter {
            bits: vec![0; bits.div_ceil(8) as usize],
        }
    }

    /// The bit positions of `id`.
    fn probes(&self, id: &[u8]) -> impl Iterator<Item = usize> {
        let n = (self.bits.len() as u64 * 8).max(1);
        let h = id_hash(id);
        let (h1, h2) = (h, h.rotate_left(32) | 1);
        (0..PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % n) as usize)
    }

    fn insert(&mut self, id: &[u8]) {
        let probes: Vec<usize> = self.probes(id).collect();
        for p in probes {
            self.bits[p / 8] |= 1 << (p % 8);
        }
    }

    /// `false` only if `id` was never inserted.
    fn may_hold(&self, id: &[u8]) -> bool {
        self.probes(id)
            .all(|p| self.bits[p / 8] & (1 << (p % 8)) != 0)
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl Run {
    /// Opens the run at `path`, checking its header and fences (blocks are
    /// checked when read).
    pub fn open(path: &Path) -> Result<Run, RunFileError> {
        let name = path.display().to_string();
        let io = |source| RunFileError::Io {
            path: name.clone(),
            source,
        };
        let corrupt = |reason: String| RunFileError::Corrupt {
            path: name.clone(),
            reason,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut h = [0u8; HEADER];
        file.read_exact(&mut h)
            .map_err(|_| corrupt("short header".into()))?;
        if &h[..20] != MAGIC {
            return Err(corrupt("not a run file".into()));
        }
        let crc = u32::from_le_bytes(h[60..64].try_into().expect("4 bytes"));
        if crc32fast::hash(&h[..60]) != crc {
            return Err(corrupt("header checksum".into()));
        }
        let (from, to, count, blocks, fence_bytes) = (
            u64_at(&h, 20),
            u64_at(&h, 28),
            u64_at(&h, 36),
            u64_at(&h, 44),
            u64_at(&h, 52),
        );
        let before_filter = blocks
            .checked_mul(BLOCK as u64)
            .and_then(|b| b.checked_add(HEADER as u64 + fence_bytes + 4));
        let filter_len = match before_filter {
            Some(at) if at + 8 <= len => {
                let mut n = [0u8; 8];
                file.read_exact_at(&mut n, at).map_err(io)?;
                Some(u64::from_le_bytes(n))
            }
            _ => None,
        }
        .filter(|&bits| bits <= MAX_FILTER_BITS)
        .map(|bits| bits.div_ceil(8));
        let expected = before_filter
            .zip(filter_len)
            .and_then(|(b, f)| b.checked_add(8 + f + 4));
        if from > to || fence_bytes > MAX_FENCES || expected != Some(len) {
            return Err(corrupt(format!(
                "header (from {from}, to {to}, {blocks} blocks, {fence_bytes} fence bytes) does not match a file of {len} bytes"
            )));
        }
        let mut fence = vec![0u8; fence_bytes as usize + 4];
        file.seek(SeekFrom::Start(HEADER as u64 + blocks * BLOCK as u64))
            .map_err(io)?;
        file.read_exact(&mut fence).map_err(io)?;
        let (body, crc) = fence.split_at(fence_bytes as usize);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(corrupt("fences checksum".into()));
        }
        let mut fences = Vec::with_capacity(blocks as usize);
        let mut at = 0;
        while at < body.len() {
            let id = entry_id(body, &mut at).ok_or_else(|| corrupt("fences".into()))?;
            fences.push(id.into());
        }
        if fences.len() as u64 != blocks {
            return Err(corrupt(format!(
                "{} fences for {blocks} blocks",
                fences.len()
            )));
        }
        let mut bits = vec![0u8; filter_len.unwrap_or(0) as usize + 4];
        file.read_exact_at(&mut bits, before_filter.unwrap_or(0) + 8)
            .map_err(io)?;
        let crc = bits.split_off(bits.len() - 4);
        if crc32fast::hash(&bits).to_le_bytes()[..] != crc[..] {
            return Err(corrupt("filter checksum".into()));
        }
        Ok(Run {
            file,
            path: name,
            from,
            to,
            count,
            fences,
            filter: Filter { bits },
        })
    }

    fn corrupt(&self, reason: String) -> RunFileError {
        RunFileError::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    /// Block `i`, checked against its CRC.
    fn block(&self, i: usize) -> Result<Vec<u8>, RunFileError> {
        let mut b = vec![0u8; BLOCK];
        self.file
            .read_exact_at(&mut b, (HEADER + i * BLOCK) as u64)
            .map_err(|source| RunFileError::Io {
                path: self.path.clone(),
                source,
            })?;
        let crc = u32::from_le_bytes(b[BLOCK - 4..].try_into().expect("4 bytes"));
        if crc32fast::hash(&b[..BLOCK - 4]) != crc {
            return Err(self.corrupt(format!("block {i} checksum")));
        }
        Ok(b)
    }

    /// Calls `f` with each entry of block `i` in order, borrowed from the
    /// block, until it returns `false`.
    fn scan_block(
        &self,
        i: usize,
        mut f: impl FnMut(&[u8], Slot) -> bool,
    ) -> Result<(), RunFileError> {
        let b = self.block(i)?;
        let n = u16::from_le_bytes([b[0], b[1]]) as usize;
        let mut at = 2;
        for _ in 0..n {
            let bad = || self.corrupt(format!("block {i} entries"));
            let id = entry_id(&b[..BLOCK - 4], &mut at).ok_or_else(bad)?;
            let slot = b.get(at..at + 8).ok_or_else(bad)?;
            at += 8;
            if !f(id, Slot::unpack(u64_at(slot, 0))) {
                break;
            }
        }
        Ok(())
    }

    /// The entries of block `i`, in order.
    fn entries(&self, i: usize) -> Result<Vec<RunEntry>, RunFileError> {
        let mut out = Vec::new();
        self.scan_block(i, |id, slot| {
            out.push((id.into(), slot));
            true
        })?;
        Ok(out)
    }

    /// The slot of `id`, if the run has it (one block read, scanned in place;
    /// none when the filter rules it out).
    pub fn get(&self, id: &[u8]) -> Result<Option<Slot>, RunFileError> {
        if !self.filter.may_hold(id) {
            return Ok(None);
        }
        let i = self.fences.partition_point(|f| &**f <= id);
        if i == 0 {
            return Ok(None);
        }
        let mut found = None;
        self.scan_block(i - 1, |k, slot| match k.cmp(id) {
            Ordering::Less => true,
            Ordering::Equal => {
                found = Some(slot);
                false
            }
            Ordering::Greater => false,
        })?;
        Ok(found)
    }

    /// Every entry, in id order, a block at a time.
    pub fn iter(&self) -> RunIter<'_> {
        RunIter {
            run: self,
            block: 0,
            buffered: Vec::new().into_iter(),
        }
    }
}

/// The id of the entry at `*at` in `b` (advancing `at` past it), if whole.
fn entry_id<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let n = u16::from_le_bytes(b.get(*at..*at + 2)?.try_into().ok()?) as usize;
    let id = b.get(*at + 2..*at + 2 + n)?;
    *at += 2 + n;
    Some(id)
}

/// The entries of a run in id order.
pub struct RunIter<'a> {
    run: &'a Run,
    block: usize,
    buffered: std::vec::IntoIter<RunEntry>,
}

impl Iterator for RunIter<'_> {
    type Item = Result<RunEntry, RunFileError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.buffered.next() {
                return Some(Ok(e));
            }
            if self.block >= self.run.fences.len() {
                return None;
            }
            match self.run.entries(self.block) {
                Ok(v) => self.buffered = v.into_iter(),
                Err(e) => {
                    self.block = self.run.fences.len();
                    return Some(Err(e));
                }
            }
            self.block += 1;
        }
    }
}

/// Writes a run covering `[from, to)` to `path` from `entries`, which must be
/// in strictly ascending id order (ids of at most [`BLOCK`]` - 16` bytes), and
/// fsyncs it; its filter is sized for `expected` entries (an upper bound).
/// Returns the entry count.
pub fn write(
    path: &Path,
    from: u64,
    to: u64,
    expected: u64,
    entries: impl Iterator<Item = Result<RunEntry, RunFileError>>,
) -> Result<u64, RunFileError> {
    write_to(path, from, || to, expected, entries)
}

/// [`write`], with the end offset `to` known only once `entries` is
/// exhausted (a compaction learns it as it copies the records).
pub fn write_to(
    path: &Path,
    from: u64,
    to: impl FnOnce() -> u64,
    expected: u64,
    entries: impl Iterator<Item = Result<RunEntry, RunFileError>>,
) -> Result<u64, RunFileError> {
    let mut filter = Filter::with_capacity(expected);
    let name = path.display().to_string();
    let io = |source| RunFileError::Io {
        path: name.clone(),
        source,
    };
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    out.write_all(&[0u8; HEADER]).map_err(io)?;
    let mut block = Vec::with_capacity(BLOCK);
    let (mut fences, mut count, mut blocks) = (Vec::new(), 0u64, 0u64);
    let mut in_block = 0u16;
    let mut last: Option<Box<[u8]>> = None;
    for e in entries {
        let (id, slot) = e?;
        if last
            .as_ref()
            .is_some_and(|l| l.as_ref().cmp(&id) != Ordering::Less)
        {
            return Err(RunFileError::Corrupt {
                path: name,
                reason: "entries out of order".into(),
            });
        }
        let need = 2 + id.len() + 8;
        if need > BLOCK - 6 {
            return Err(RunFileError::Corrupt {
                path: name,
                reason: format!("an item id of {} bytes", id.len()),
            });
        }
        if in_block > 0 && block.len() + need > BLOCK - 4 {
            finish_block(&mut block, in_block);
            out.write_all(&block).map_err(io)?;
            (in_block, blocks) = (0, blocks + 1);
        }
        if in_block == 0 {
            block.clear();
            block.extend_from_slice(&[0, 0]);
            fences.extend_from_slice(&(id.len() as u16).to_le_bytes());
            fences.extend_from_slice(&id);
        }
        block.extend_from_slice(&(id.len() as u16).to_le_bytes());
        block.extend_from_slice(&id);
        block.extend_from_slice(&slot.pack().to_le_bytes());
        filter.insert(&id);
        in_block += 1;
        count += 1;
        last = Some(id);
    }
    if in_block > 0 {
        finish_block(&mut block, in_block);
        out.write_all(&block).map_err(io)?;
        blocks += 1;
    }
    out.write_all(&fences).map_err(io)?;
    out.write_all(&crc32fast::hash(&fences).to_le_bytes())
        .map_err(io)?;
    out.write_all(&(filter.bits.len() as u64 * 8).to_le_bytes())
        .map_err(io)?;
    out.write_all(&filter.bits).map_err(io)?;
    out.write_all(&crc32fast::hash(&filter.bits).to_le_bytes())
        .map_err(io)?;
    let mut h = [0u8; HEADER];
    h[..20].copy_from_slice(MAGIC);
    for (i, v) in [from, to(), count, blocks, fences.len() as u64]
        .into_iter()
        .enumerate()
    {
        h[20 + 8 * i..28 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc32fast::hash(&h[..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(&h).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(count)
}

/// Pads a block to [`BLOCK`] bytes with its entry count and CRC.
fn finish_block(block: &mut Vec<u8>, n: u16) {
    block[..2].copy_from_slice(&n.to_le_bytes());
    block.resize(BLOCK - 4, 0);
    let crc = crc32fast::hash(block);
    block.extend_from_slice(&crc.to_le_bytes());
}

/// Merges two id-ordered entry streams; on equal ids `newer`'s entry wins.
pub fn merge<'a, E: 'a>(
    older: impl Iterator<Item = Result<RunEntry, E>> + 'a,
    newer: impl Iterator<Item = Result<RunEntry, E>> + 'a,
) -> impl Iterator<Item = Result<RunEntry, E>> + 'a {
    let mut a = older.peekable();
    let mut b = newer.peekable();
    std::iter::from_fn(move || {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => Ordering::Less,
            (_, Some(Err(_))) | (None, Some(_)) => Ordering::Greater,
            (Some(Ok((x, _))), Some(Ok((y, _)))) => x.cmp(y),
        };
        match order {
            Ordering::Less => a.next(),
            Ordering::Greater => b.next(),
            Ordering::Equal => {
                a.next();
                b.next()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u64, offset: u64) -> Vec<(Box<[u8]>, Slot)> {
        let mut v: Vec<(Box<[u8]>, Slot)> = (0..n)
            .map(|i| {
                let id = format!("EE-MFA/O-{i}-{}", "x".repeat((i % 100) as usize));
                (
                    id.into_bytes().into(),
                    Slot {
                        offset: offset + i,
                        kind: (i % 6) as u8,
                    },
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn writes_finds_iterates_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run");
        let all = entries(20_000, 0);
        let n = write(&path, 0, 99, 20_000, all.clone().into_iter().map(Ok)).unwrap();
        assert_eq!(n, 20_000);
        let run = Run::open(&path).unwrap();
        assert_eq!((run.from, run.to, run.count), (0, 99, 20_000));
        for (id, slot) in all.iter().step_by(7) {
            assert_eq!(run.get(id).unwrap(), Some(*slot));
        }
        assert_eq!(run.get(b"").unwrap(), None);
        assert_eq!(run.get(b"EE-MFA/O-1-y").unwrap(), None);
        assert_eq!(run.get(b"ZZ").unwrap(), None);
        let read: Vec<_> = run.iter().map(Result::unwrap).collect();
        assert_eq!(read, all);
        // Newer entries replace older ones of the same id.
        let newer = entries(10_000, 1_000_000);
        let merged: Vec<_> = merge(
            all.clone().into_iter().map(Ok::<_, ()>),
            newer.clone().into_iter().map(Ok),
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(merged.len(), 20_000);
        for (id, slot) in &merged {
            let fresh = newer.iter().find(|(k, _)| k == id).map(|(_, s)| *s);
            let old = all.iter().find(|(k, _)| k == id).map(|(_, s)| *s);
            assert_eq!(Some(*slot), fresh.or(old));
        }
    }

    #[test]
    fn the_filter_never_hides_an_id_and_rules_out_most_others() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(20_000, 0);
        let absent: Vec<Vec<u8>> = (0..20_000)
            .map(|i| format!("ZZ-ABSENT/N-{i}").into_bytes())
            .collect();
        // Sized right: about 1% of absent ids pass (10 bits, 7 probes).
        let path = dir.path().join("run");
        write(&path, 0, 9, 20_000, all.clone().into_iter().map(Ok)).unwrap();
        let run = Run::open(&path).unwrap();
        assert!(all.iter().all(|(id, _)| run.filter.may_hold(id)));
        let passed = absent.iter().filter(|id| run.filter.may_hold(id)).count();
        assert!(passed < 400, "{passed} of 20000 absent ids pass the filter");
        // Sized far too small (a wrong hint): still no id hidden.
        let small = dir.path().join("small");
        write(&small, 0, 9, 10, all.clone().into_iter().map(Ok)).unwrap();
        let run = Run::open(&small).unwrap();
        for (id, slot) in all.iter().step_by(13) {
            assert_eq!(run.get(id).unwrap(), Some(*slot));
        }
        // The hash is stable, filters being files: FNV-1a 64 then the
        // SplitMix64 finalizer, as computed independently (Python).
        assert_eq!(id_hash(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(id_hash(b"UA-SSSCIP/N-1"), 0xdd38_8925_faab_310d);
    }

    #[test]
    fn damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run");
        let all = entries(3_000, 0);
        write(&path, 0, 5, 3_000, all.clone().into_iter().map(Ok)).unwrap();
        let good = std::fs::read(&path).unwrap();
        // A flipped byte in a block: found when the block is read.
        let mut bytes = good.clone();
        bytes[HEADER + BLOCK + 100] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let run = Run::open(&path).unwrap();
        let err = run.iter().find_map(Result::err).expect("a damaged block");
        assert!(err.to_string().contains("block 1 checksum"), "{err}");
        // In the header, the fences or the filter, or a short file: refused on open.
        let fences = HEADER + BLOCK * run.fences.len() + 3;
        for at in [30, fences, good.len() - 10] {
            let mut bytes = good.clone();
            bytes[at] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            assert!(Run::open(&path).is_err(), "byte {at}");
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(Run::open(&path).is_err());
        // Out of order input is refused.
        let mut wrong = all;
        wrong.swap(0, 1);
        assert!(write(&path, 0, 5, 3_000, wrong.into_iter().map(Ok)).is_err());
    }
}
