//! The event files of the embedded log: an append-only file of checksummed
//! records, an index of where each position's record starts, and one file per
//! member of the positions on its chain. Nothing here grows in memory with the
//! log: every lookup is a read at an offset.
//!
//! Layout of `<log>/events/`:
//! - `events.dat`: records `body length u32 LE | crc32 of body u32 LE | body`,
//!   body `appended_at i64 LE | flags u8 | member length u8 | member | leaf
//!   bytes`. Flag 1: the entry's subject is recorded ([`Entry::member`] is
//!   `Some`), as for an event of another producer copied from a stream.
//! - `events.idx`: the offset of each position's record, u64 LE; position `p`
//!   at `(p - 1) * 8`.
//! - `members/<member>`: the positions on the member's chain, u64 LE, ascending.
//! - `commit`: `length u64 LE | data end u64 LE | crc32`: the length up to
//!   which `events.idx` and the member files are known to be complete and
//!   synced (written after they are).
//!
//! The data file is the truth and the indexes are derived from it. An append
//! writes the records, then the index entries, then the member positions, and
//! syncs the data file before it is acknowledged. Opening cuts the indexes
//! back to the committed length and indexes the records after it again; a
//! record cut short or failing its checksum past the committed length (a
//! write a crash interrupted) is cut off with everything after it. The
//! committed records are never cut: damage there is reported when read.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::calendar::Timestamp;
use crate::ids::MemberId;
use crate::log::{Entry, LogError};

const DATA: &str = "events.dat";
const INDEX: &str = "events.idx";
const MEMBERS: &str = "members";
const COMMIT: &str = "commit";

/// Bytes before a record's body: its length and checksum.
const HEADER: usize = 8;
/// The longest record body accepted (a leaf is far shorter; a longer length
/// field is damage, not an allocation to make).
const MAX_BODY: usize = 16 << 20;
/// Appends between two commits when every append is synced: what a crash
/// may make the next open index again.
const COMMIT_EVERY: u64 = 4096;
/// Bytes read at a time when indexing records again at open.
const SCAN_CHUNK: usize = 8 << 20;

/// One decoded record.
struct Record<'a> {
    appended_at: Timestamp,
    foreign: bool,
    member: MemberId,
    leaf: &'a [u8],
}

/// Appends the record of one entry to `out`.
fn encode_record(
    out: &mut Vec<u8>,
    appended_at: Timestamp,
    member: &MemberId,
    foreign: bool,
    leaf: &[u8],
) {
    let name = member.as_str().as_bytes();
    let body_len = 8 + 2 + name.len() + leaf.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&appended_at.0.to_le_bytes());
    out.push(u8::from(foreign));
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(leaf);
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// What the start of `buf` holds.
enum Parsed<'a> {
    /// A whole record, and its length with the header.
    Record(Record<'a>, usize),
    /// The start of a record that goes past `buf`.
    Short,
    /// Not a record: why.
    Bad(String),
}

/// Parses the record at the start of `buf`.
fn parse_record(buf: &[u8]) -> Parsed<'_> {
    if buf.len() < HEADER {
        return Parsed::Short;
    }
    let body_len = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    if !(10..=MAX_BODY).contains(&body_len) {
        return Parsed::Bad(format!("a record length of {body_len} bytes"));
    }
    let Some(body) = buf.get(HEADER..HEADER + body_len) else {
        return Parsed::Short;
    };
    let crc = u32::from_le_bytes(buf[4..HEADER].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != crc {
        return Parsed::Bad("a record failing its checksum".into());
    }
    let name_len = body[9] as usize;
    let Some(name) = body.get(10..10 + name_len) else {
        return Parsed::Bad("a record's member longer than the record".into());
    };
    let Some(member) = std::str::from_utf8(name).ok().and_then(|s| s.parse().ok()) else {
        return Parsed::Bad("a record's member is not a member id".into());
    };
    let record = Record {
        appended_at: Timestamp(i64::from_le_bytes(body[..8].try_into().expect("8 bytes"))),
        foreign: body[8] & 1 == 1,
        member,
        leaf: &body[10 + name_len..],
    };
    Parsed::Record(record, HEADER + body_len)
}

fn io(what: &str, e: std::io::Error) -> LogError {
    LogError::Backend(format!("{what}: {e}"))
}

/// Reads exactly `len` bytes at `offset`; a file too short is damage.
fn read_at(file: &File, offset: u64, len: usize, what: &str) -> Result<Vec<u8>, LogError> {
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            LogError::Corrupt(format!("{what} is shorter than its index says"))
        } else {
            io(what, e)
        }
    })?;
    Ok(buf)
}

fn u64s(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn bytes_of(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn open_rw(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io(&path.display().to_string(), e))
}

/// The positions on one member's chain.
struct MemberFile {
    file: File,
    /// How many positions the file holds for readers.
    count: AtomicU64,
}

impl MemberFile {
    /// `n` positions from index `at` (0-based).
    fn positions(&self, at: u64, n: u64) -> Result<Vec<u64>, LogError> {
        let bytes = read_at(&self.file, at * 8, n as usize * 8, "a member's index")?;
        Ok(u64s(&bytes).collect())
    }

    /// The index of the first position at or after `from` among the first `count`.
    fn search(&self, from: u64, count: u64) -> Result<u64, LogError> {
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.positions(mid, 1)?[0] < from {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The last position, if any.
    fn last(&self) -> Result<Option<u64>, LogError> {
        match self.count.load(Ordering::Acquire) {
            0 => Ok(None),
            n => Ok(Some(self.positions(n - 1, 1)?[0])),
        }
    }
}

/// The event files of one log (see the module docs).
pub(crate) struct Events {
    dir: PathBuf,
    data: File,
    index: File,
    /// The number of entries readers may read.
    len: AtomicU64,
    /// The end of the data file's records (at least those of `len`).
    end: AtomicU64,
    members: RwLock<HashMap<MemberId, Arc<MemberFile>>>,
    /// Held by an append; the appends since the last commit.
    writer: Mutex<u64>,
    /// Woken by every append.
    pub(crate) appended: tokio::sync::Notify,
}

impl Events {
    /// Opens (creating) the event files in `dir`, indexing again what the
    /// last commit does not cover.
    pub(crate) fn open(dir: &Path) -> Result<Events, LogError> {
        let members_dir = dir.join(MEMBERS);
        std::fs::create_dir_all(&members_dir)
            .map_err(|e| io(&members_dir.display().to_string(), e))?;
        let data = open_rw(&dir.join(DATA))?;
        let index = open_rw(&dir.join(INDEX))?;
        let data_len = data.metadata().map_err(|e| io(DATA, e))?.len();
        let index_len = index.metadata().map_err(|e| io(INDEX, e))?.len();
        let (mut len, mut end) = read_commit(dir);
        if data_len < end {
            return Err(LogError::Corrupt(format!(
                "{} is {data_len} bytes, shorter than the {end} bytes committed",
                dir.join(DATA).display()
            )));
        }
        if index_len < len * 8 {
            (len, end) = (0, 0);
        }
        index.set_len(len * 8).map_err(|e| io(INDEX, e))?;
        let events = Events {
            dir: dir.to_path_buf(),
            data,
            index,
            len: AtomicU64::new(len),
            end: AtomicU64::new(end),
            members: RwLock::new(open_members(&members_dir, len)?),
            writer: Mutex::new(0),
            appended: tokio::sync::Notify::new(),
        };
        if events.index_from(end, data_len)? {
            events.commit()?;
        }
        Ok(events)
    }

    /// Indexes the records from `offset` to `data_len`, cutting off a
    /// damaged tail; whether there was anything to do.
    fn index_from(&self, mut offset: u64, data_len: u64) -> Result<bool, LogError> {
        let start = offset;
        let mut chunk = SCAN_CHUNK;
        while offset < data_len {
            let buf = read_at(
                &self.data,
                offset,
                (data_len - offset).min(chunk as u64) as usize,
                DATA,
            )?;
            let more = offset + (buf.len() as u64) < data_len;
            let (mut at, mut bad) = (0, None);
            let mut index = Vec::new();
            let mut chains: HashMap<MemberId, Vec<u64>> = HashMap::new();
            let mut len = self.len.load(Ordering::Acquire);
            loop {
                match parse_record(&buf[at..]) {
                    Parsed::Record(r, n) => {
                        len += 1;
                        index.push(offset + at as u64);
                        chains.entry(r.member).or_default().push(len);
                        at += n;
                    }
                    Parsed::Short if more => {
                        if at == 0 {
                            chunk *= 2; // a record longer than the chunk
                        }
                        break;
                    }
                    Parsed::Short if at == buf.len() => break,
                    Parsed::Short => {
                        bad = Some("a record cut short".to_string());
                        break;
                    }
                    Parsed::Bad(why) => {
                        bad = Some(why);
                        break;
                    }
                }
            }
            self.write_indexes(&index, &chains)?;
            self.len.fetch_add(index.len() as u64, Ordering::AcqRel);
            offset += at as u64;
            self.end.store(offset, Ordering::Release);
            if let Some(why) = bad {
                tracing::warn!(
                    "{}: cut off {} bytes after the last whole record ({why}): an append a crash interrupted",
                    self.dir.join(DATA).display(),
                    data_len - offset
                );
                self.data.set_len(offset).map_err(|e| io(DATA, e))?;
                self.data.sync_all().map_err(|e| io(DATA, e))?;
                return Ok(true);
            }
        }
        Ok(offset != start)
    }

    /// Writes index entries (record offsets after the current length) and
    /// chain positions; the caller publishes them.
    fn write_indexes(
        &self,
        offsets: &[u64],
        chains: &HashMap<MemberId, Vec<u64>>,
    ) -> Result<(), LogError> {
        let len = self.len.load(Ordering::Acquire);
        self.index
            .write_all_at(&bytes_of(offsets), len * 8)
            .map_err(|e| io(INDEX, e))?;
        for (member, positions) in chains {
            let file = self.member_file(member)?;
            let count = file.count.load(Ordering::Acquire);
            file.file
                .write_all_at(&bytes_of(positions), count * 8)
                .map_err(|e| io("a member's index", e))?;
            file.count
                .store(count + positions.len() as u64, Ordering::Release);
        }
        Ok(())
    }

    /// The file of `member`'s positions, created if it has none.
    fn member_file(&self, member: &MemberId) -> Result<Arc<MemberFile>, LogError> {
        if let Some(f) = self
            .members
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(member)
        {
            return Ok(f.clone());
        }
        let mut members = self.members.write().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = members.get(member) {
            return Ok(f.clone());
        }
        let file = open_rw(&self.dir.join(MEMBERS).join(member.as_str()))?;
        let f = Arc::new(MemberFile {
            file,
            count: AtomicU64::new(0),
        });
        members.insert(member.clone(), f.clone());
        Ok(f)
    }

    /// The file of `member`'s positions, if it has any.
    fn existing(&self, member: &MemberId) -> Option<Arc<MemberFile>> {
        let members = self.members.read().unwrap_or_else(|p| p.into_inner());
        members.get(member).cloned()
    }

    /// Syncs the indexes and records the length they cover.
    pub(crate) fn commit(&self) -> Result<(), LogError> {
        self.index.sync_data().map_err(|e| io(INDEX, e))?;
        let members: Vec<_> = {
            let m = self.members.read().unwrap_or_else(|p| p.into_inner());
            m.values().cloned().collect()
        };
        for m in members {
            m.file.sync_data().map_err(|e| io("a member's index", e))?;
        }
        self.data.sync_data().map_err(|e| io(DATA, e))?;
        let (len, end) = (
            self.len.load(Ordering::Acquire),
            self.end.load(Ordering::Acquire),
        );
        let mut note = Vec::with_capacity(20);
        note.extend_from_slice(&len.to_le_bytes());
        note.extend_from_slice(&end.to_le_bytes());
        note.extend_from_slice(&crc32fast::hash(&note).to_le_bytes());
        let file = open_rw(&self.dir.join(COMMIT))?;
        file.write_all_at(&note, 0).map_err(|e| io(COMMIT, e))?;
        file.sync_data().map_err(|e| io(COMMIT, e))
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// The position of `member`'s last entry.
    pub(crate) fn last_position(&self, member: &MemberId) -> Result<Option<u64>, LogError> {
        match self.existing(member) {
            Some(f) => f.last(),
            None => Ok(None),
        }
    }

    /// Appends `leaves` to `member`'s chain if its last entry is at
    /// `expected_last`; `foreign[i]` marks entries whose subject is recorded.
    /// With `sync`, the records are on disk when this returns.
    pub(crate) fn append(
        &self,
        member: &MemberId,
        expected_last: Option<u64>,
        leaves: &[Vec<u8>],
        appended_at: Timestamp,
        foreign: &[bool],
        sync: bool,
    ) -> Result<Vec<u64>, LogError> {
        let mut since_commit = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let actual = self.last_position(member)?;
        if actual != expected_last {
            return Err(LogError::Conflict {
                producer: member.clone(),
                expected: expected_last,
                actual,
            });
        }
        let (len, end) = (
            self.len.load(Ordering::Acquire),
            self.end.load(Ordering::Acquire),
        );
        let mut buf = Vec::new();
        let mut offsets = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            offsets.push(end + buf.len() as u64);
            let foreign = foreign.get(i).copied().unwrap_or(false);
            encode_record(&mut buf, appended_at, member, foreign, leaf);
        }
        let positions: Vec<u64> = (len + 1..=len + leaves.len() as u64).collect();
        let file = self.member_file(member)?;
        let count = file.count.load(Ordering::Acquire);
        let written = self
            .data
            .write_all_at(&buf, end)
            .map_err(|e| io(DATA, e))
            .and_then(|()| {
                self.index
                    .write_all_at(&bytes_of(&offsets), len * 8)
                    .map_err(|e| io(INDEX, e))
            })
            .and_then(|()| {
                file.file
                    .write_all_at(&bytes_of(&positions), count * 8)
                    .map_err(|e| io("a member's index", e))
            })
            .and_then(|()| match sync {
                true => self.data.sync_data().map_err(|e| io(DATA, e)),
                false => Ok(()),
            });
        if let Err(e) = written {
            // Nothing of the append is kept (a full disk, say).
            let _ = self.data.set_len(end);
            let _ = self.index.set_len(len * 8);
            let _ = file.file.set_len(count * 8);
            return Err(e);
        }
        file.count
            .store(count + positions.len() as u64, Ordering::Release);
        self.end.store(end + buf.len() as u64, Ordering::Release);
        self.len
            .store(len + positions.len() as u64, Ordering::Release);
        *since_commit += positions.len() as u64;
        if sync && *since_commit >= COMMIT_EVERY {
            self.commit()?;
            *since_commit = 0;
        }
        drop(since_commit);
        self.appended.notify_waiters();
        Ok(positions)
    }

    /// The record offsets of positions `from..from + n` and the end of the
    /// last one's record (at most the data end).
    fn span(&self, from: u64, n: u64) -> Result<(Vec<u64>, u64), LogError> {
        let len = self.len.load(Ordering::Acquire);
        let end = self.end.load(Ordering::Acquire);
        let with_next = from - 1 + n < len;
        let count = n + u64::from(with_next);
        let bytes = read_at(&self.index, (from - 1) * 8, count as usize * 8, INDEX)?;
        let mut offsets: Vec<u64> = u64s(&bytes).collect();
        let stop = if with_next {
            offsets.pop().expect("n + 1 offsets")
        } else {
            end
        };
        Ok((offsets, stop))
    }

    /// Up to `max` entries from position `from` on.
    pub(crate) fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        let from = from.max(1);
        let len = self.len.load(Ordering::Acquire);
        if from > len || max == 0 {
            return Ok(vec![]);
        }
        let n = (len - from + 1).min(max as u64);
        let (offsets, stop) = self.span(from, n)?;
        let start = offsets[0];
        let most = n * (HEADER + MAX_BODY) as u64;
        if offsets.windows(2).any(|w| w[1] <= w[0])
            || stop <= offsets[offsets.len() - 1]
            || stop - start > most
        {
            return Err(LogError::Corrupt(format!(
                "{INDEX}: the record offsets from position {from} are not in order"
            )));
        }
        let buf = read_at(&self.data, start, (stop - start) as usize, DATA)?;
        let mut entries = Vec::with_capacity(offsets.len());
        for (i, &offset) in offsets.iter().enumerate() {
            let position = from + i as u64;
            let at = (offset - start) as usize;
            match parse_record(&buf[at..]) {
                Parsed::Record(r, _) => entries.push(Entry {
                    position,
                    appended_at: r.appended_at,
                    member: r.foreign.then_some(r.member),
                    bytes: r.leaf.to_vec(),
                }),
                Parsed::Short => return Err(damaged(position, "cut short")),
                Parsed::Bad(why) => return Err(damaged(position, &why)),
            }
        }
        Ok(entries)
    }

    /// The entry at `position`, which `member`'s index names.
    fn entry_at(&self, position: u64, member: &MemberId) -> Result<Entry, LogError> {
        if position == 0 {
            return Err(LogError::Corrupt(format!(
                "{member}'s index names position 0"
            )));
        }
        let mut e = self.read(position, 1)?;
        e.pop()
            .ok_or_else(|| LogError::Corrupt(format!("{member}'s entry {position} is missing")))
    }

    /// Up to `max` of `member`'s entries at positions from `from` on.
    pub(crate) fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let Some(file) = self.existing(member) else {
            return Ok(vec![]);
        };
        let count = file.count.load(Ordering::Acquire);
        let at = file.search(from, count)?;
        let n = (count - at).min(max as u64);
        let positions = file.positions(at, n)?;
        positions
            .iter()
            .map(|&p| self.entry_at(p, member))
            .collect()
    }

    /// `member`'s last `max` entries, in order.
    pub(crate) fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let Some(file) = self.existing(member) else {
            return Ok(vec![]);
        };
        let count = file.count.load(Ordering::Acquire);
        let n = count.min(max as u64);
        let positions = file.positions(count - n, n)?;
        positions
            .iter()
            .map(|&p| self.entry_at(p, member))
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let since = *self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if since > 0 {
            // Without it the next open indexes these appends again (a full
            // disk, say): nothing is lost, so no warning.
            if let Err(e) = self.commit() {
                tracing::debug!("{}: {e}", self.dir.display());
            }
        }
    }
}

fn damaged(position: u64, why: &str) -> LogError {
    LogError::Corrupt(format!("the record of entry {position} in {DATA}: {why}"))
}

/// The committed length and data end, `(0, 0)` if there is no valid note.
fn read_commit(dir: &Path) -> (u64, u64) {
    let Ok(note) = std::fs::read(dir.join(COMMIT)) else {
        return (0, 0);
    };
    if note.len() != 20 || crc32fast::hash(&note[..16]).to_le_bytes() != note[16..20] {
        return (0, 0);
    }
    let mut v = u64s(&note[..16]);
    (v.next().expect("two"), v.next().expect("two"))
}

/// Opens the member files in `dir`, each cut back to the positions up to `len`.
fn open_members(dir: &Path, len: u64) -> Result<HashMap<MemberId, Arc<MemberFile>>, LogError> {
    let mut members = HashMap::new();
    let listing = std::fs::read_dir(dir).map_err(|e| io(&dir.display().to_string(), e))?;
    for e in listing {
        let e = e.map_err(|e| io(&dir.display().to_string(), e))?;
        let Some(member) = e
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<MemberId>().ok())
        else {
            tracing::warn!("{}: not a member's index, ignored", e.path().display());
            continue;
        };
        let file = open_rw(&e.path())?;
        let mut count = file
            .metadata()
            .map_err(|e| io("a member's index", e))?
            .len()
            / 8;
        let f = MemberFile {
            file,
            count: AtomicU64::new(count),
        };
        while count > 0 && f.positions(count - 1, 1)?[0] > len {
            count -= 1;
        }
        f.file
            .set_len(count * 8)
            .map_err(|e| io("a member's index", e))?;
        f.count.store(count, Ordering::Release);
        members.insert(member, Arc::new(f));
    }
    Ok(members)
}

#[cfg(test)]
mod tests;
