//! The embedded log shared by several processes.
//!
//! The embedded store admits one process at a time (sled's lock), so a process that follows the log (a
//! `projector run`, a node) must not keep it open while it waits: a
//! [`SharedStore`] opens the store when an operation needs it and closes it
//! when the follower goes idle in [`Log::wait_for`]. While idle it watches
//! the event file, so producers and readers in other processes open the
//! store in turn (each waiting at most for one short hold) and the follower
//! wakes when they have appended.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::calendar::Timestamp;
use crate::ids::MemberId;
use crate::log::{Entry, Log, LogError};
use crate::store::Store;

/// How often an idle follower looks at the database file.
const POLL: Duration = Duration::from_millis(25);

/// An embedded log opened only while in use (see the module docs).
#[derive(Clone)]
pub struct SharedStore {
    dir: PathBuf,
    wait: Duration,
    open: Arc<Mutex<Option<Store>>>,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedStore({})", self.dir.display())
    }
}

impl SharedStore {
    /// The store in `dir` (opened on first use, waiting up to `wait` for
    /// another process to close it).
    pub fn new(dir: &Path, wait: Duration) -> SharedStore {
        SharedStore {
            dir: dir.to_path_buf(),
            wait,
            open: Arc::new(Mutex::new(None)),
        }
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` on the store, opening it if it is closed.
    pub fn with<T, E: From<LogError>>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.is_none() {
            *open = Some(Store::open(&self.dir, self.wait)?);
        }
        f(open.as_ref().expect("opened above"))
    }

    /// Closes the store, so that other processes can open it.
    pub fn release(&self) {
        let store = self.open.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(store);
    }

    /// What changes when another process appends: the event file's size and
    /// modification time.
    fn stamp(&self) -> Option<(u64, SystemTime)> {
        let m =
            std::fs::metadata(self.dir.join(crate::store::EVENTS_DIR).join("events.dat")).ok()?;
        Some((m.len(), m.modified().ok()?))
    }
}

impl Log for SharedStore {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        self.with(|s| s.append_sync(producer, expected_last, events, appended_at))
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        self.with(|s| s.read_sync(from, max))
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        self.with(|s| s.last_of_sync(producer))
    }

    async fn len(&self) -> Result<u64, LogError> {
        self.with(|s| s.len_sync())
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        self.with(|s| s.latest_checkpoint_sync())
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.with(|s| s.member_entries_sync(member, from, max))
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        self.with(|s| s.member_last_entries_sync(member, max))
    }

    /// Closes the store while it waits, and opens it again when the
    /// database file changes (another process wrote) or at the timeout.
    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        let start = Instant::now();
        let mut len = self.with(|s| s.len_sync())?;
        while len <= after && start.elapsed() < timeout {
            self.release();
            let seen = self.stamp();
            while self.stamp() == seen && start.elapsed() < timeout {
                tokio::time::sleep(POLL).await;
            }
            len = self.with(|s| s.len_sync())?;
        }
        Ok(len)
    }
}
