//! The embedded log backend: sled 0.34.7 in a local directory.
//!
//! Trees: `log` (position, big-endian u64 -> appended_at i64 BE || leaf bytes),
//! `last` (member id -> position of its last entry), `meta` (`len`) and
//! `subject` (position -> member id, only for entries stored on another chain
//! than their producer's, or not decodable: a mirror of a JetStream stream
//! keeps them exactly as the stream does; empty otherwise).
//! An append is one multi-tree transaction (the expected-last check, the entries,
//! the new last position and length) followed by a flush before it is acknowledged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::calendar::Timestamp;
use crate::event::Event;
use crate::ids::MemberId;
use crate::log::{Entry, Log, LogError};

const LEN_KEY: &[u8] = b"len";

/// A log stored in a sled database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    log: sled::Tree,
    last: sled::Tree,
    meta: sled::Tree,
    subjects: sled::Tree,
    /// The index of each member's entries (`member 0xff position`), opened
    /// when first needed (so that opening a log writes nothing new).
    by_member: Arc<OnceLock<sled::Tree>>,
    path: PathBuf,
    flush: bool,
}

/// The tree of the member index.
const BY_MEMBER: &str = "by_member";
/// In `meta`: the member index covers every entry (set once it was built for
/// a log written before it existed).
const BY_MEMBER_BUILT: &[u8] = b"by_member_built";

/// Positions per member index record: a record holds a member's positions in
/// one run of `CHUNK` positions, so the index has a record per member and run,
/// not per entry (sled keeps a page table of every record's page in memory).
const CHUNK: u64 = 64;

/// The member index key of the run holding `position` of `member`'s entries:
/// `member 0xff (position / CHUNK)`. Its value: the positions, 8 bytes each
/// (big-endian), ascending.
fn member_key(member: &MemberId, position: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(member.as_str().len() + 9);
    k.extend_from_slice(member.as_str().as_bytes());
    k.push(0xff);
    k.extend_from_slice(&(position / CHUNK).to_be_bytes());
    k
}

/// The positions of a member index record.
fn positions_of(value: &[u8]) -> Result<Vec<u64>, LogError> {
    if !value.len().is_multiple_of(8) {
        return Err(LogError::Corrupt("a member index record".into()));
    }
    value.chunks_exact(8).map(u64_of).collect()
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

fn backend(e: sled::Error) -> LogError {
    LogError::Backend(e.to_string())
}

fn u64_of(bytes: &[u8]) -> Result<u64, LogError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| LogError::Corrupt(format!("{} bytes where 8 were expected", bytes.len())))
}

fn entry(position: u64, value: &[u8]) -> Result<Entry, LogError> {
    if value.len() < 8 {
        return Err(LogError::Corrupt(format!(
            "entry {position} is {} bytes",
            value.len()
        )));
    }
    let appended_at = Timestamp(i64::from_be_bytes(value[..8].try_into().expect("8 bytes")));
    Ok(Entry {
        position,
        appended_at,
        member: None,
        bytes: value[8..].to_vec(),
    })
}

/// Bytes the embedded log keeps in reserve in the file `reserve` beside the
/// database: sled 0.34 writes when it opens (it zeroes the rest of its last
/// segment, up to 512 KiB), so on a full disk even a reader could not open the
/// log. An open that fails for lack of space frees the reserve and tries
/// again; the next open that has the space writes it back.
const RESERVE: usize = 1 << 20;
const RESERVE_FILE: &str = "reserve";

/// Frees the reserve of the log in `dir`; whether there was one.
fn release_reserve(dir: &Path) -> bool {
    let freed = std::fs::remove_file(dir.join(RESERVE_FILE)).is_ok();
    if freed {
        tracing::info!(
            "the disk holding {} is full: freed the log's {} KiB reserve to open it",
            dir.display(),
            RESERVE >> 10
        );
    }
    freed
}

/// Writes the reserve of the log in `dir` if it is missing (real bytes, not a
/// sparse file, so that the space is held); on failure (a full disk) leaves none.
fn keep_reserve(dir: &Path) {
    let path = dir.join(RESERVE_FILE);
    if path.exists() {
        return;
    }
    let tmp = dir.join("reserve.tmp");
    let written = std::fs::write(&tmp, vec![0u8; RESERVE])
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn is_storage_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

impl Store {
    /// Opens (creating if needed) the log in `dir`. If another process holds it,
    /// retries for up to `wait`, then fails with [`LogError::Locked`]. On a
    /// full disk it frees the log's reserve (see [`RESERVE`]) to open.
    pub fn open(dir: &Path, wait: Duration) -> Result<Store, LogError> {
        let start = Instant::now();
        let mut cleaned = false;
        let mut freed = false;
        loop {
            match sled::Config::new()
                .path(dir)
                // Reads are sequential or of recent entries: a small cache does (a
                // projector of 1M events read 64 MiB of cache for nothing).
                .cache_capacity(16 << 20)
                .open()
            {
                Ok(db) => {
                    let store = Store::from_db(db, dir)?;
                    keep_reserve(dir);
                    return Ok(store);
                }
                Err(sled::Error::Io(e)) if is_storage_full(&e) && !freed && release_reserve(dir) => {
                    freed = true;
                }
                Err(sled::Error::Corruption { .. })
                    if !cleaned && remove_partial_snapshots(dir) =>
                {
                    cleaned = true;
                }
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(11) =>
                {
                    if start.elapsed() >= wait {
                        return Err(LogError::Locked(dir.display().to_string()));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if e.to_string().contains("could not acquire lock") => {
                    if start.elapsed() >= wait {
                        return Err(LogError::Locked(dir.display().to_string()));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e @ sled::Error::Corruption { .. }) => {
                    return Err(LogError::Corrupt(format!(
                        "the embedded log in {} is damaged ({e}); recover it from a copy another party keeps (a member's `tallinn audit mirror`, the JetStream stream, an audit bundle): see the README, 'When something is damaged'",
                        dir.display()
                    )))
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    fn from_db(db: sled::Db, dir: &Path) -> Result<Store, LogError> {
        Ok(Store {
            log: db.open_tree("log").map_err(backend)?,
            last: db.open_tree("last").map_err(backend)?,
            meta: db.open_tree("meta").map_err(backend)?,
            subjects: db.open_tree("subject").map_err(backend)?,
            by_member: Arc::default(),
            db,
            path: dir.to_path_buf(),
            flush: true,
        })
    }

    /// This store without a flush per append: for bulk imports (the demo), which
    /// call [`Store::flush`] once at the end. Appends are not durable until then.
    pub fn without_flush(mut self) -> Store {
        self.flush = false;
        self
    }

    /// Flushes everything appended so far to disk.
    pub fn flush(&self) -> Result<(), LogError> {
        self.db.flush().map_err(backend)?;
        Ok(())
    }

    /// The directory of this store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Synchronous [`Log::append`].
    pub fn append_sync(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        for (index, bytes) in events.iter().enumerate() {
            let ev =
                Event::from_bytes(bytes).map_err(|source| LogError::Malformed { index, source })?;
            if &ev.envelope().producer != producer {
                return Err(LogError::WrongProducer {
                    index,
                    producer: producer.clone(),
                    found: ev.envelope().producer.clone(),
                });
            }
        }
        self.append_entries(producer, expected_last, events, appended_at, &[])
    }

    /// Appends entries exactly as another log holds them on `subject`'s chain
    /// (`audit mirror`): bytes that do not decode, or an event of another
    /// producer, are stored too, with their subject recorded, so the copy is
    /// judged as the original (`wrong_subject`, `malformed`). Same conditions
    /// as [`Store::append_sync`] otherwise.
    pub fn append_verbatim_sync(
        &self,
        subject: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        let foreign: Vec<bool> = events
            .iter()
            .map(|b| Event::from_bytes(b).map_or(true, |e| &e.envelope().producer != subject))
            .collect();
        self.append_entries(subject, expected_last, events, appended_at, &foreign)
    }

    /// The transaction of an append; `foreign[i]` marks entries whose subject is
    /// recorded (an empty `foreign`: none).
    fn append_entries(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
        foreign: &[bool],
    ) -> Result<Vec<u64>, LogError> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let by_member = self.by_member()?;
        let trees = (&self.log, &self.last, &self.meta, &self.subjects, by_member);
        let result = trees.transaction(|(log, last, meta, subjects, by_member)| {
            let actual = last
                .get(producer.as_str().as_bytes())?
                .map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])));
            if actual != expected_last {
                return Err(ConflictableTransactionError::Abort(actual));
            }
            let len = match meta.get(LEN_KEY)? {
                Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
                None => 0,
            };
            let mut positions = Vec::with_capacity(events.len());
            for (i, bytes) in events.iter().enumerate() {
                let pos = len + 1 + i as u64;
                let mut value = Vec::with_capacity(8 + bytes.len());
                value.extend_from_slice(&appended_at.0.to_be_bytes());
                value.extend_from_slice(bytes);
                log.insert(&pos.to_be_bytes(), value)?;
                if foreign.get(i).copied().unwrap_or(false) {
                    subjects.insert(&pos.to_be_bytes(), producer.as_str().as_bytes())?;
                }
                let key = member_key(producer, pos);
                let mut run = by_member.get(&key)?.map(|v| v.to_vec()).unwrap_or_default();
                run.extend_from_slice(&pos.to_be_bytes());
                by_member.insert(key, run)?;
                positions.push(pos);
            }
            let new_len = len + events.len() as u64;
            last.insert(producer.as_str().as_bytes(), &new_len.to_be_bytes())?;
            meta.insert(LEN_KEY, &new_len.to_be_bytes())?;
            if len == 0 {
                // A new log: every entry is indexed by its append.
                meta.insert(BY_MEMBER_BUILT, &[1])?;
            }
            Ok(positions)
        });
        let positions = match result {
            Ok(p) => p,
            Err(TransactionError::Abort(actual)) => {
                return Err(LogError::Conflict {
                    producer: producer.clone(),
                    expected: expected_last,
                    actual,
                })
            }
            Err(TransactionError::Storage(e)) => return Err(backend(e)),
        };
        if self.flush {
            self.db.flush().map_err(backend)?;
        }
        Ok(positions)
    }

    /// Synchronous [`Log::read`].
    pub fn read_sync(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        let from = from.max(1);
        let marked = !self.subjects.is_empty();
        self.log
            .range(from.to_be_bytes()..)
            .take(max)
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                let mut e = entry(u64_of(&k)?, &v)?;
                if marked {
                    e.member = self.subject_at(e.position)?;
                }
                Ok(e)
            })
            .collect()
    }

    /// The subject recorded for the entry at `position`, if any.
    fn subject_at(&self, position: u64) -> Result<Option<MemberId>, LogError> {
        let Some(v) = self.subjects.get(position.to_be_bytes()).map_err(backend)? else {
            return Ok(None);
        };
        let name = std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| LogError::Corrupt(format!("the subject of entry {position}")))?;
        Ok(Some(name))
    }

    /// Synchronous [`Log::last_of`].
    pub fn last_of_sync(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        let Some(pos) = self
            .last
            .get(producer.as_str().as_bytes())
            .map_err(backend)?
        else {
            return Ok(None);
        };
        self.member_entry(u64_of(&pos)?, producer).map(Some)
    }

    /// The member index, opened (created) on first use.
    fn by_member(&self) -> Result<&sled::Tree, LogError> {
        if let Some(t) = self.by_member.get() {
            return Ok(t);
        }
        let tree = self.db.open_tree(BY_MEMBER).map_err(backend)?;
        let _ = self.by_member.set(tree);
        Ok(self.by_member.get().expect("just set"))
    }

    /// The member index, built first for a log written before it existed (one
    /// scan; entries appended meanwhile are indexed by their append).
    fn member_index(&self) -> Result<&sled::Tree, LogError> {
        let tree = self.by_member()?;
        if self.meta.get(BY_MEMBER_BUILT).map_err(backend)?.is_some() {
            return Ok(tree);
        }
        let len = self.len_sync()?;
        let mut from = 1;
        while from <= len {
            let entries = self.read_sync(from, 8192)?;
            let Some(last) = entries.last() else { break };
            from = last.position + 1;
            let mut runs: std::collections::BTreeMap<Vec<u8>, Vec<u64>> = Default::default();
            for e in &entries {
                let member = match &e.member {
                    Some(m) => Some(m.clone()),
                    None => Event::from_bytes(&e.bytes)
                        .ok()
                        .map(|ev| ev.envelope().producer.clone()),
                };
                if let Some(m) = member {
                    runs.entry(member_key(&m, e.position))
                        .or_default()
                        .push(e.position);
                }
            }
            // Merged with what appends since the upgrade indexed.
            let mut batch = sled::Batch::default();
            for (key, mut positions) in runs {
                if let Some(v) = tree.get(&key).map_err(backend)? {
                    positions.extend(positions_of(&v)?);
                    positions.sort_unstable();
                    positions.dedup();
                }
                let bytes: Vec<u8> = positions.iter().flat_map(|p| p.to_be_bytes()).collect();
                batch.insert(key, bytes);
            }
            tree.apply_batch(batch).map_err(backend)?;
        }
        self.meta.insert(BY_MEMBER_BUILT, &[1]).map_err(backend)?;
        Ok(tree)
    }

    /// Up to `max` of `member`'s entries at positions from `from` on, in order.
    pub fn member_entries_sync(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let index = self.member_index()?;
        let mut positions = Vec::new();
        for run in index.range(member_key(member, from)..member_key(member, u64::MAX)) {
            let (_, v) = run.map_err(backend)?;
            positions.extend(positions_of(&v)?.into_iter().filter(|&p| p >= from));
            if positions.len() >= max {
                break;
            }
        }
        positions.truncate(max);
        self.entries_at(&positions, member)
    }

    /// `member`'s last `max` entries, in order.
    pub fn member_last_entries_sync(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let index = self.member_index()?;
        let mut positions = Vec::new();
        for run in index
            .range(member_key(member, 0)..member_key(member, u64::MAX))
            .rev()
        {
            let (_, v) = run.map_err(backend)?;
            let mut run = positions_of(&v)?;
            run.append(&mut positions);
            positions = run;
            if positions.len() >= max {
                break;
            }
        }
        let skip = positions.len().saturating_sub(max);
        self.entries_at(&positions[skip..], member)
    }

    /// `member`'s entries at `positions`.
    fn entries_at(&self, positions: &[u64], member: &MemberId) -> Result<Vec<Entry>, LogError> {
        positions
            .iter()
            .map(|&pos| self.member_entry(pos, member))
            .collect()
    }

    /// The entry at `pos`, which the index says is `member`'s.
    fn member_entry(&self, pos: u64, member: &MemberId) -> Result<Entry, LogError> {
        let value = self
            .log
            .get(pos.to_be_bytes())
            .map_err(backend)?
            .ok_or_else(|| LogError::Corrupt(format!("{member}'s entry {pos} is missing")))?;
        let mut e = entry(pos, &value)?;
        e.member = self.subject_at(pos)?;
        Ok(e)
    }

    /// Synchronous [`Log::len`].
    pub fn len_sync(&self) -> Result<u64, LogError> {
        match self.meta.get(LEN_KEY).map_err(backend)? {
            Some(v) => u64_of(&v),
            None => Ok(0),
        }
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> Result<bool, LogError> {
        Ok(self.len_sync()? == 0)
    }

    /// The note of the largest checkpoint kept beside the log (in the tree
    /// `checkpoint_store` writes), as stored; opens no tree that does not exist.
    pub fn latest_checkpoint_sync(&self) -> Result<Option<Vec<u8>>, LogError> {
        let name = crate::checkpoint_store::CHECKPOINTS_TREE.as_bytes();
        if !self.db.tree_names().iter().any(|n| n.as_ref() == name) {
            return Ok(None);
        }
        let tree = self.db.open_tree(name).map_err(backend)?;
        Ok(tree.last().map_err(backend)?.map(|(_, v)| v.to_vec()))
    }

    /// The underlying database, for adapters that keep their own trees beside the log.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

impl Log for Store {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        self.append_sync(producer, expected_last, events, appended_at)
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        self.read_sync(from, max)
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        self.last_of_sync(producer)
    }

    async fn len(&self) -> Result<u64, LogError> {
        self.len_sync()
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        let subscriber = self.meta.watch_prefix(LEN_KEY);
        let len = self.len_sync()?;
        if len > after {
            return Ok(len);
        }
        let _ = tokio::time::timeout(timeout, subscriber).await;
        self.len_sync()
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        self.latest_checkpoint_sync()
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.member_entries_sync(member, from, max)
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.member_last_entries_sync(member, max)
    }
}

/// Removes the snapshot files sled had not finished writing when its process
/// was killed (`snap.<lsn>.generating`): sled 0.34 then takes such a file for
/// its newest snapshot and reports the database corrupt, although the complete
/// snapshots and the log are intact. Returns whether it removed any.
pub fn remove_partial_snapshots(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut removed = false;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::info!("removing the partial sled snapshot {name}");
            removed |= std::fs::remove_file(e.path()).is_ok();
        }
    }
    removed
}
