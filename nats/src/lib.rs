//! The NATS JetStream backend of the ledger's [`Log`].
//!
//! One stream per ledger (file storage, `deny_delete`, `deny_purge`, a duplicate
//! window, configurable replicas). Each producer publishes on its own subject
//! `<prefix>.events.<member>`; the payload is the event's leaf bytes and the headers
//! carry `Nats-Msg-Id` (the event id in hex), the informational `Tallinn-Member`,
//! `Tallinn-Kind`, `Tallinn-Seq` and the time the producer appended it
//! (`Tallinn-Appended-At`, Unix ms). Log positions are stream sequence numbers,
//! dense because nothing can be deleted or purged.
//!
//! Appends are conditional: the first event of an append carries
//! `Nats-Expected-Last-Subject-Sequence` (the producer's chain head). On a stream
//! with `allow_atomic` (created so on nats-server 2.12 and newer), when the
//! [`Batches`] policy asks for it (by default on replicated streams), an append of
//! several events is published as atomic batches (ADR-50) of at most
//! [`MAX_ATOMIC_BATCH`] events, each conditional on the subject sequence left by the
//! one before: all of a batch is stored, contiguously, or nothing of it, so producers
//! on different subjects append concurrently without disturbing each other.
//! Otherwise, on a single-replica stream each later one carries `Nats-Expected-Last-Msg-Id` = the id
//! of the event before it, so the acks can be pipelined (a bounded window) and an
//! append still stores only a prefix of its events, nothing a racing writer could
//! interleave; when a later event is refused only because another producer's event
//! came in between, the append goes on from the stored prefix. On a replicated
//! stream every event carries the subject sequence of the one before it and is
//! published after its predecessor's ack (see [`NatsLog::append_events`]).
//! An event already stored (a republish after a timeout, a crash or a restart) is
//! recognised through the chain head (the last message on the subject) and reported
//! as stored, never appended twice.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use ledger::calendar::Timestamp;
use ledger::ids::MemberId;
use ledger::log::{Entry, Log, LogError};

// `NatsLog` itself, its `Log` implementation and the reads of one producer's
// subject are here; `connection` reaches the server, `spec` configures (creates
// or opens) a ledger's stream, `append` and `read` publish and read its entries,
// `checkpoints` keeps the checkpoint stream and `error` holds `NatsError`.
mod append;
pub mod checkpoints;
mod connection;
mod error;
mod read;
mod spec;

pub use append::{Batches, ACK_WINDOW, MAX_ATOMIC_BATCH};
pub use checkpoints::{CheckpointStream, PublishOutcome};
pub use connection::{inbox_prefix_of, ConnectOptions, Connection, ATOMIC_SERVER, MIN_SERVER};
pub use error::NatsError;
pub use spec::{subject, subject_member, StreamSpec};

/// Header: the time the producer appended the event (Unix milliseconds).
pub const APPENDED_AT_HEADER: &str = "Tallinn-Appended-At";

/// The ledger's log in a JetStream stream.
#[derive(Clone)]
pub struct NatsLog {
    conn: Connection,
    stream: stream::Stream<stream::Info>,
    name: String,
    prefix: String,
    /// The server and the stream accept atomic batches (>= 2.12, `allow_atomic`).
    allowed: Arc<AtomicBool>,
    /// The [`Batches`] policy, as its `u8`.
    batches: Arc<AtomicU8>,
    /// The most events per atomic batch (lowered if the server refuses a size).
    batch_max: Arc<AtomicUsize>,
    /// Batch ids: `<nuid of this log>-<counter>`.
    batch_nonce: Arc<str>,
    batch_counter: Arc<AtomicU64>,
    /// The checkpoint stream, once looked up (`None`: there is none).
    checkpoints: Arc<tokio::sync::OnceCell<Option<stream::Stream<stream::Info>>>>,
}

impl std::fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NatsLog({} at {})", self.name, self.conn.url())
    }
}

fn ms_of(t: &async_nats::jetstream::message::StreamMessage) -> i64 {
    (t.time.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The receipt time of an entry: the producer's `Tallinn-Appended-At`, but never
/// later than the server's own timestamp (a producer can only make its own events
/// look older, which the rules treat no more kindly).
fn appended_at(headers: Option<&HeaderMap>, server_ms: i64) -> Timestamp {
    receipt_time(
        headers
            .and_then(|h| h.get(APPENDED_AT_HEADER))
            .map(|v| v.as_str()),
        server_ms,
    )
}

/// The receipt time of an entry from the text of its `Tallinn-Appended-At`
/// header (`None` without one) and the server's timestamp (Unix milliseconds):
/// the claimed time if it is a decimal `i64`, but never later than the server's
/// and never before 1970 (a claim before year 0 made `audit export` write an
/// `appended_at` the bundle reader refuses, so one member could make the whole
/// bundle unreadable). Pure: the part of reading a message that the
/// `nats_entry` fuzz target drives.
pub fn receipt_time(claimed: Option<&str>, server_ms: i64) -> Timestamp {
    let claimed = claimed.and_then(|v| v.parse::<i64>().ok());
    Timestamp(claimed.map_or(server_ms, |c| c.max(0).min(server_ms)))
}

impl NatsLog {
    /// The stream name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The last message on `producer`'s subject.
    async fn last_message(
        &self,
        producer: &MemberId,
    ) -> Result<Option<jetstream::message::StreamMessage>, NatsError> {
        match self
            .stream
            .direct_get_last_for_subject(subject(&self.prefix, producer))
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => {
                // Direct get is served by any replica; right after a stream is
                // created or a node is lost it may have no responder yet: ask the
                // leader instead.
                tracing::debug!("direct get failed ({e}); asking the stream leader");
                match self
                    .stream
                    .get_last_raw_message_by_subject(&subject(&self.prefix, producer))
                    .await
                {
                    Ok(m) => Ok(Some(m)),
                    Err(e)
                        if e.kind()
                            == jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(self.conn.explain(e)),
                }
            }
        }
    }

    /// The position of the message on `producer`'s subject after `after` (inclusive
    /// of nothing before `after + 1`).
    async fn next_on_subject(&self, producer: &MemberId, after: u64) -> Result<u64, NatsError> {
        let subj = subject(&self.prefix, producer);
        match self
            .stream
            .direct_get_next_for_subject(subj.clone(), Some(after + 1))
            .await
        {
            Ok(m) => Ok(m.sequence),
            Err(_) => self
                .stream
                .get_first_raw_message_by_subject(&subj, after + 1)
                .await
                .map(|m| m.sequence)
                .map_err(|e| self.conn.explain(e)),
        }
    }

    /// Up to `max` messages on `member`'s subject at sequences in `from..end`,
    /// in order: one direct get each.
    async fn subject_messages(
        &self,
        member: &MemberId,
        from: u64,
        end: u64,
        max: usize,
    ) -> Result<Vec<jetstream::message::StreamMessage>, NatsError> {
        let subj = subject(&self.prefix, member);
        let mut out = Vec::new();
        let mut next = from;
        while out.len() < max && next < end {
            match self
                .stream
                .direct_get_next_for_subject(subj.clone(), Some(next))
                .await
            {
                Ok(m) if m.sequence < end => {
                    next = m.sequence + 1;
                    out.push(m);
                }
                Ok(_) => break,
                Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => break,
                Err(e) => return Err(self.conn.explain(e)),
            }
        }
        Ok(out)
    }

    /// Whether entries were removed from the stream (purged, deleted, or
    /// dropped by a changed limit): a log only grows, so the stream must hold
    /// every sequence from 1 to its last. `Some(what)` describes the hole.
    pub async fn lost_entries(&self) -> Result<Option<String>, NatsError> {
        let state = self.info().await?.state;
        if state.messages == state.last_sequence
            && (state.messages == 0 || state.first_sequence == 1)
        {
            return Ok(None);
        }
        Ok(Some(format!(
            "stream {} holds {} messages for positions {}..={}: {} entries were removed",
            self.name,
            state.messages,
            state.first_sequence,
            state.last_sequence,
            state.last_sequence.saturating_sub(state.messages)
        )))
    }

    /// The stream's info. A request that times out with no error reported by the
    /// server (a cluster electing a new stream leader) is retried, up to
    /// [`INFO_ATTEMPTS`] times in all; a permission refusal is not.
    async fn info(&self) -> Result<stream::Info, NatsError> {
        let mut s = self.stream.clone();
        let mut attempt = 1;
        loop {
            match s.info().await {
                Ok(info) => return Ok(info.clone()),
                Err(e)
                    if e.kind() == async_nats::jetstream::context::RequestErrorKind::TimedOut
                        && attempt < INFO_ATTEMPTS
                        && self.conn.server_error().is_none() =>
                {
                    attempt += 1;
                    tracing::debug!(stream = %self.name, attempt, "stream info timed out; retrying");
                }
                Err(e)
                    if e.kind() == async_nats::jetstream::context::RequestErrorKind::TimedOut =>
                {
                    return Err(match self.conn.explain(e) {
                        NatsError::JetStream(text) => NatsError::NotAnswering(format!(
                            "stream {}: {text} (no leader answered)",
                            self.name
                        )),
                        other => other,
                    })
                }
                Err(e) => return Err(self.conn.explain(e)),
            }
        }
    }
}

impl Log for NatsLog {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        self.append_events(producer, expected_last, events, appended_at)
            .await
            .map_err(|(stored, e)| match stored.is_empty() {
                true => e,
                false => LogError::Partial {
                    stored,
                    source: Box::new(e),
                },
            })
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        Ok(self.read_entries(from, max).await?)
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        Ok(self
            .last_message(producer)
            .await?
            .map(|m| entry_of(&m, producer)))
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        Ok(self
            .subject_messages(member, from.max(1), u64::MAX, max)
            .await?
            .iter()
            .map(|m| entry_of(m, member))
            .collect())
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let Some(last) = self.last_message(member).await? else {
            return Ok(vec![]);
        };
        // Windows before the last message, four times larger each time, read
        // forward on the subject until `max` entries are found.
        let mut found = vec![last];
        let (mut end, mut window) = (found[0].sequence, (max as u64).max(16) * 4);
        while found.len() < max && end > 1 {
            let start = end.saturating_sub(window).max(1);
            let mut before = self
                .subject_messages(member, start, end, usize::MAX)
                .await?;
            before.append(&mut found);
            found = before;
            (end, window) = (start, window.saturating_mul(4));
        }
        let skip = found.len().saturating_sub(max);
        Ok(found[skip..].iter().map(|m| entry_of(m, member)).collect())
    }

    async fn lost_entries(&self) -> Result<Option<String>, LogError> {
        Ok(NatsLog::lost_entries(self).await?)
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        Ok(checkpoints::latest_note(self).await?)
    }

    async fn len(&self) -> Result<u64, LogError> {
        Ok(self.info().await?.state.last_sequence)
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let len = self.info().await?.state.last_sequence;
            if len > after || tokio::time::Instant::now() >= deadline {
                return Ok(len);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The entry of a message on `member`'s subject.
fn entry_of(m: &jetstream::message::StreamMessage, member: &MemberId) -> Entry {
    Entry {
        position: m.sequence,
        appended_at: appended_at(Some(&m.headers), ms_of(m)),
        member: Some(member.clone()),
        bytes: m.payload.to_vec(),
    }
}

/// Attempts of a stream info request that times out (see `NatsLog::info`).
const INFO_ATTEMPTS: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_times_read_back_from_a_bundle() {
        // Finding (nats_entry property): a claim of -99999999999999 was kept
        // and exported as "-1199-02-15T14:13:20.001Z", which no bundle reader
        // reads. Claims before 1970 now count as 1970.
        let server = 1_710_028_800_000;
        assert_eq!(receipt_time(Some("-5"), server), Timestamp(0));
        assert_eq!(receipt_time(Some("-5"), -10), Timestamp(-10));
        for claim in [
            "-99999999999999",
            "-9223372036854775808",
            "-1",
            "0",
            "5000",
            "x",
        ] {
            let at = receipt_time(Some(claim), server);
            let json = serde_json::to_string(&at).unwrap();
            let back: Timestamp = serde_json::from_str(&json).unwrap_or_else(|e| {
                panic!("claim {claim}: {json}: {e}");
            });
            assert_eq!(back, at);
        }
    }

    #[test]
    fn appended_at_is_never_later_than_the_server_time() {
        let mut h = HeaderMap::new();
        h.insert(APPENDED_AT_HEADER, "5000");
        assert_eq!(appended_at(Some(&h), 9000), Timestamp(5000));
        assert_eq!(appended_at(Some(&h), 1000), Timestamp(1000));
        assert_eq!(appended_at(None, 1000), Timestamp(1000));
    }
}
