//! The log: the one interface between the ledger and a storage backend.
//!
//! A log is a sequence of entries, positions 1, 2, 3..., each holding one event's
//! leaf bytes (`envelope || signature`) and the time the log received it. Each
//! producer has a "subject" (its member id); an append names the position of the
//! producer's last entry it expects, so two writers holding one key can never both
//! extend the chain (the embedded store checks it in a transaction, JetStream with
//! `Nats-Expected-Last-Subject-Sequence`). The log does not judge events: rules do.

use std::future::Future;
use std::time::Duration;

use crate::calendar::Timestamp;
use crate::codec::CodecError;
use crate::ids::MemberId;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 1.
    pub position: u64,
    /// When the log received it: information only, never part of a verdict.
    pub appended_at: Timestamp,
    /// The member whose subject carries the entry (JetStream: the subject
    /// `<prefix>.events.<member>`; an audit bundle: its `member` field). An event
    /// whose envelope names another producer is rejected (`wrong_subject`) and
    /// attributed to this member. `None` where the backend only ever stores a
    /// member's own events on its chain (the embedded store refuses others at
    /// append), so the chain is the envelope's producer.
    pub member: Option<MemberId>,
    /// The event's leaf bytes: `envelope || signature`.
    pub bytes: Vec<u8>,
}

impl Entry {
    /// Whether the entry is on `member`'s subject (for an entry without one:
    /// whether it decodes to an event `member` produced).
    pub fn is_on(&self, member: &MemberId, decoded_producer: Option<&MemberId>) -> bool {
        match &self.member {
            Some(m) => m == member,
            None => decoded_producer == Some(member),
        }
    }
}

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Another writer extended the producer's subject first.
    #[error("{producer}'s last entry is at position {actual:?}, not {expected:?}: another writer appended first")]
    Conflict {
        /// The producer.
        producer: MemberId,
        /// The position the caller expected.
        expected: Option<u64>,
        /// The actual position of the producer's last entry.
        actual: Option<u64>,
    },
    /// An event in the append is malformed.
    #[error("event {index} of the append: {source}")]
    Malformed {
        /// Index in the appended batch.
        index: usize,
        /// The decoding error.
        source: CodecError,
    },
    /// An event in the append is produced by another member than the subject's.
    #[error("event {index} of the append is produced by {found}, not {producer}")]
    WrongProducer {
        /// Index in the appended batch.
        index: usize,
        /// The subject's producer.
        producer: MemberId,
        /// The event's producer.
        found: MemberId,
    },
    /// The ledger directory is held by another process.
    #[error("the ledger at {0} is in use by another process")]
    Locked(String),
    /// The backend cannot take the request now (a cluster electing a
    /// leader); nothing was stored, and it can be retried.
    #[error("{0}")]
    Unavailable(String),
    /// The stored data is damaged.
    #[error("stored log is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed.
    #[error("storage error: {0}")]
    Backend(String),
    /// An append failed after its first events were stored: `stored` are
    /// their positions (a prefix of the batch, in order; at least these, as
    /// acknowledgements lost in a failure do not tell), `source` why the rest
    /// were not.
    #[error("the first {} events of the append were stored, the rest not: {source}", stored.len())]
    Partial {
        /// Positions of the events stored.
        stored: Vec<u64>,
        /// Why the rest were not.
        source: Box<LogError>,
    },
}

impl LogError {
    /// Whether the same request may succeed later unchanged: the embedded
    /// log held by another process, or a backend that cannot take it now.
    pub fn is_transient(&self) -> bool {
        matches!(self, LogError::Locked(_) | LogError::Unavailable(_))
    }
}

impl LogError {
    /// The positions of the events an append stored before it failed.
    pub fn stored(&self) -> &[u64] {
        match self {
            LogError::Partial { stored, .. } => stored,
            _ => &[],
        }
    }

    /// Why the append failed, past what it stored.
    pub fn cause(&self) -> &LogError {
        match self {
            LogError::Partial { source, .. } => source.cause(),
            e => e,
        }
    }
}

/// A log backend. Methods return `Send` futures so backends can be used from any runtime task.
#[allow(clippy::len_without_is_empty)]
pub trait Log {
    /// Appends `events` (leaf bytes, all produced by `producer`) atomically, if the
    /// producer's last entry is at `expected_last` (`None`: it has no entry yet).
    /// Returns their positions. Once this returns, the append survives a crash.
    fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> impl Future<Output = Result<Vec<u64>, LogError>> + Send;

    /// Reads up to `max` entries from position `from` (inclusive) on.
    fn read(
        &self,
        from: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, LogError>> + Send;

    /// The producer's last entry, if any.
    fn last_of(
        &self,
        producer: &MemberId,
    ) -> impl Future<Output = Result<Option<Entry>, LogError>> + Send;

    /// The number of entries (the last position).
    fn len(&self) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// Waits until the log holds more than `after` entries or `timeout` passes;
    /// returns the length then. This is how followers learn of new events.
    fn wait_for(
        &self,
        after: u64,
        timeout: Duration,
    ) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// Whether entries were removed from the log (a log only grows): `Some`
    /// describes the hole. Backends that cannot lose entries keep the default.
    fn lost_entries(&self) -> impl Future<Output = Result<Option<String>, LogError>> + Send {
        async { Ok(None) }
    }

    /// The signed checkpoint note of the largest tree size the log keeps, as
    /// stored (unverified: the caller checks its signature), if any: what a
    /// projector checks the Merkle root of the prefix it folded against.
    /// Backends that keep no checkpoints keep the default.
    fn latest_checkpoint(&self) -> impl Future<Output = Result<Option<Vec<u8>>, LogError>> + Send {
        async { Ok(None) }
    }

    /// Up to `max` of the entries on `member`'s chain (subject) at positions
    /// from `from` on, in order: what `log --member` shows, read through an
    /// index (embedded) or the subject (JetStream), not a scan of the log.
    fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, LogError>> + Send;

    /// The last `max` entries on `member`'s chain, in order: what an earlier
    /// run of a producer stored (a rerun of `publish` resumes after them).
    fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, LogError>> + Send;
}
