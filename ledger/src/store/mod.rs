//! The embedded log backend: event files in a local directory, beside a sled
//! 0.34.7 database for what is small (checkpoints, witness state, evidence)
//! and for the directory's lock (one process at a time).
//!
//! The events themselves are not in sled: sled keeps a page table of every
//! record in memory (about 50 bytes per event: 510 MB to open a log of ten
//! million). They are in `events/` (see [`events`]): an append-only file of
//! checksummed records, an index of positions and one of each member's chain,
//! read at offsets. An append checks the producer's last position under a
//! lock, writes, and syncs the records before it is acknowledged.
//!
//! Logs written before kept the events in sled trees (`log`, `last`, `meta`,
//! `subject`, `by_member`); opening one moves them out once ([`migrate`]).

mod events;
mod migrate;

pub use migrate::remove_sled_files;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::calendar::Timestamp;
use crate::event::Event;
use crate::ids::MemberId;
use crate::log::{Entry, Log, LogError};

use events::Events;

/// The directory of the event files, in the log's directory.
pub const EVENTS_DIR: &str = "events";
/// The directory of the sled database, in the log's directory.
pub const SLED_DIR: &str = "state";

/// A log stored in local files (see the module docs).
#[derive(Clone)]
pub struct Store {
    /// Dropped before `db`, so the last commit happens under the lock.
    events: Arc<Events>,
    db: sled::Db,
    path: PathBuf,
    flush: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

fn backend(e: sled::Error) -> LogError {
    LogError::Backend(e.to_string())
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
        // A database of the older layout: moved once, or (when `state/`
        // exists: moved by another process, or a move killed after its
        // commit point) only its files removed.
        if dir.join("db").exists() {
            let old = match dir.join(SLED_DIR).exists() {
                true => None,
                false => Some(open_sled(dir, dir, wait)?),
            };
            match old {
                Some(db) if !dir.join(SLED_DIR).exists() => migrate::from_sled(db, dir)?,
                old => {
                    drop(old); // closed before its files go
                    migrate::remove_sled_files(dir);
                }
            }
        }
        let db = open_sled(&dir.join(SLED_DIR), dir, wait)?;
        let store = Store {
            events: Arc::new(Events::open(&dir.join(EVENTS_DIR))?),
            db,
            path: dir.to_path_buf(),
            flush: true,
        };
        keep_reserve(dir);
        Ok(store)
    }

    /// This store without a flush per append: for bulk imports (the demo), which
    /// call [`Store::flush`] once at the end. Appends are not durable until then.
    pub fn without_flush(mut self) -> Store {
        self.flush = false;
        self
    }

    /// Flushes everything appended so far to disk.
    pub fn flush(&self) -> Result<(), LogError> {
        self.events.commit()?;
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

    /// An append; `foreign[i]` marks entries whose subject is recorded (an
    /// empty `foreign`: none).
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
        self.events.append(
            producer,
            expected_last,
            events,
            appended_at,
            foreign,
            self.flush,
        )
    }

    /// Synchronous [`Log::read`].
    pub fn read_sync(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        self.events.read(from, max)
    }

    /// Synchronous [`Log::last_of`].
    pub fn last_of_sync(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        Ok(self.events.member_last_entries(producer, 1)?.pop())
    }

    /// Up to `max` of `member`'s entries at positions from `from` on, in order.
    pub fn member_entries_sync(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.events.member_entries(member, from, max)
    }

    /// `member`'s last `max` entries, in order.
    pub fn member_last_entries_sync(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.events.member_last_entries(member, max)
    }

    /// Synchronous [`Log::len`].
    pub fn len_sync(&self) -> Result<u64, LogError> {
        Ok(self.events.len())
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
        let appended = self.events.appended.notified();
        let len = self.len_sync()?;
        if len > after {
            return Ok(len);
        }
        let _ = tokio::time::timeout(timeout, appended).await;
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

/// Opens the sled database in `sled_dir` (the log in `dir` keeps the reserve),
/// waiting up to `wait` for another process to close it.
fn open_sled(sled_dir: &Path, dir: &Path, wait: Duration) -> Result<sled::Db, LogError> {
    let start = Instant::now();
    let mut cleaned = false;
    let mut freed = false;
    loop {
        let locked = match sled::Config::new()
            .path(sled_dir)
            // What it holds is small and read by key.
            .cache_capacity(16 << 20)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if is_storage_full(&e) && !freed && release_reserve(dir) => {
                freed = true;
                false
            }
            Err(sled::Error::Corruption { .. })
                if !cleaned && remove_partial_snapshots(sled_dir) =>
            {
                cleaned = true;
                false
            }
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(11) =>
            {
                true
            }
            Err(e) if e.to_string().contains("could not acquire lock") => true,
            Err(e @ sled::Error::Corruption { .. }) => {
                return Err(LogError::Corrupt(format!(
                    "the embedded log in {} is damaged ({e}); recover it from a copy another party keeps (a member's `tallinn audit mirror`, the JetStream stream, an audit bundle): see the README, 'When something is damaged'",
                    dir.display()
                )))
            }
            Err(e) => return Err(backend(e)),
        };
        if locked {
            if start.elapsed() >= wait {
                return Err(LogError::Locked(dir.display().to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
