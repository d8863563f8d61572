//! The log of a command, chosen once below the commands: the embedded store
//! of `--dir`, held for the command or shared with a follower, reached
//! through the node that holds it (`tallinn serve`, [`local`]), or a
//! JetStream stream with `--nats`. Commands see the `Log` trait.

pub mod checkpoints;
pub mod local;
pub mod nats;

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use ledger::calendar::Timestamp;
use ledger::ids::MemberId;
use ledger::log::{Entry, Log, LogError};
use ledger::store::Store;
use tallinn_nats::NatsLog;

pub use self::nats::NatsArgs;
use crate::context::{log_dir, Ledger, OPEN_WAIT};

/// The log of a command: the embedded store of `--dir`, or JetStream with `--nats`.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per command; boxing buys nothing
pub enum AnyLog {
    /// The embedded store, held for the whole command.
    Embedded(Store),
    /// The embedded store, held only while in use (a follower: see
    /// `ledger::shared`).
    Shared(ledger::shared::SharedStore),
    /// The embedded store held by a node, reached through its socket.
    Local(local::LocalLog),
    /// A JetStream stream.
    Nats(NatsLog),
}

/// Entries this process read from its log (through [`AnyLog`]).
static ENTRIES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_read(n: usize) {
    ENTRIES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
}

/// How many entries this process read from its log: what a command costs
/// that does not grow with the ledger (printed with `TALLINN_STATS=1`).
pub fn entries_read() -> u64 {
    ENTRIES_READ.load(std::sync::atomic::Ordering::Relaxed)
}

impl Log for AnyLog {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        match self {
            AnyLog::Embedded(s) => s.append(producer, expected_last, events, appended_at).await,
            AnyLog::Shared(s) => s.append(producer, expected_last, events, appended_at).await,
            AnyLog::Local(l) => l.append(producer, expected_last, events, appended_at).await,
            AnyLog::Nats(n) => n.append(producer, expected_last, events, appended_at).await,
        }
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.read(from, max).await,
            AnyLog::Shared(s) => s.read(from, max).await,
            AnyLog::Local(l) => l.read(from, max).await,
            AnyLog::Nats(n) => n.read(from, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        let entry = match self {
            AnyLog::Embedded(s) => s.last_of(producer).await,
            AnyLog::Shared(s) => s.last_of(producer).await,
            AnyLog::Local(l) => l.last_of(producer).await,
            AnyLog::Nats(n) => n.last_of(producer).await,
        }?;
        count_read(usize::from(entry.is_some()));
        Ok(entry)
    }

    async fn len(&self) -> Result<u64, LogError> {
        match self {
            AnyLog::Embedded(s) => s.len().await,
            AnyLog::Shared(s) => s.len().await,
            AnyLog::Local(l) => l.len().await,
            AnyLog::Nats(n) => n.len().await,
        }
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        match self {
            AnyLog::Embedded(s) => s.wait_for(after, timeout).await,
            AnyLog::Shared(s) => s.wait_for(after, timeout).await,
            AnyLog::Local(l) => l.wait_for(after, timeout).await,
            AnyLog::Nats(n) => n.wait_for(after, timeout).await,
        }
    }

    async fn lost_entries(&self) -> Result<Option<String>, LogError> {
        match self {
            AnyLog::Embedded(_) | AnyLog::Shared(_) | AnyLog::Local(_) => Ok(None),
            AnyLog::Nats(n) => Ok(n.lost_entries().await?),
        }
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.member_entries(member, from, max).await,
            AnyLog::Shared(s) => s.member_entries(member, from, max).await,
            AnyLog::Local(l) => l.member_entries(member, from, max).await,
            AnyLog::Nats(n) => n.member_entries(member, from, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.member_last_entries(member, max).await,
            AnyLog::Shared(s) => s.member_last_entries(member, max).await,
            AnyLog::Local(l) => l.member_last_entries(member, max).await,
            AnyLog::Nats(n) => n.member_last_entries(member, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        match self {
            AnyLog::Embedded(s) => s.latest_checkpoint().await,
            AnyLog::Shared(s) => s.latest_checkpoint().await,
            AnyLog::Local(l) => l.latest_checkpoint().await,
            AnyLog::Nats(n) => n.latest_checkpoint().await,
        }
    }
}

/// Opens the log of a command: JetStream with `--nats`, else the ledger in
/// `dir`, through the node serving it if one answers on its socket.
pub async fn open_log(nats: &NatsArgs, dir: &Path) -> Result<AnyLog> {
    if nats.enabled() {
        return Ok(AnyLog::Nats(nats.open().await?));
    }
    if let Some(local) = local::LocalLog::connect(dir).await? {
        tracing::debug!("reaching the log through {}", local.path().display());
        return Ok(AnyLog::Local(local));
    }
    if !log_dir(dir).exists() {
        return Err(crate::context::missing_log(
            dir,
            "create one with `tallinn init` (or pass --dir, or --nats URL)",
        ));
    }
    Ok(AnyLog::Embedded(Store::open(&log_dir(dir), OPEN_WAIT)?))
}

/// Opens and replays the ledger of a command.
pub async fn open_ledger(nats: &NatsArgs, dir: &Path) -> Result<Ledger<AnyLog>> {
    Ledger::replay(open_log(nats, dir).await?).await
}
