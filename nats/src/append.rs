//! Appending: the conditional publishes behind [`NatsLog::append_events`]
//! (pipelined on a single-replica stream, one at a time on a replicated one,
//! atomic batches where the server, the stream and the [`Batches`] policy allow
//! them), how a refused publish is told apart, and [`NatsLog::append_verbatim`].

use std::collections::VecDeque;
use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::HeaderMap;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::LogError;

use crate::{subject, NatsError, NatsLog, APPENDED_AT_HEADER};

/// When an append of several events is published as one atomic batch (if the
/// server and the stream accept them; an append of one event is always a single
/// conditional publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Batches {
    /// On replicated streams only. There the alternative waits for each event's
    /// acknowledgement before publishing the next. On a single-replica file stream
    /// nats-server 2.15.1 stages every atomic batch in a temporary file store and
    /// syncs the commit (about 16 ms per batch on a disk whose fsync takes 4 ms), so
    /// with the default `sync_interval` the pipelined publishes are faster there.
    #[default]
    Auto = 0,
    /// Wherever the stream accepts them (the faster choice on a single-replica
    /// stream of a server with `sync_interval: always`, which syncs every message
    /// of the pipelined publishes).
    Atomic = 1,
    /// Never.
    Never = 2,
}

impl std::str::FromStr for Batches {
    type Err = String;
    fn from_str(s: &str) -> Result<Batches, String> {
        match s {
            "auto" => Ok(Batches::Auto),
            "atomic" => Ok(Batches::Atomic),
            "never" => Ok(Batches::Never),
            _ => Err(format!("{s:?}: expected auto, atomic or never")),
        }
    }
}

/// How many publish acks may be outstanding during one append.
pub const ACK_WINDOW: usize = 256;

/// The most events in one atomic batch: nats-server's default limit
/// (`jetstream.limits.batch.max_msgs`); a server configured lower says so in its
/// refusal and appends then use its limit.
pub const MAX_ATOMIC_BATCH: usize = 1000;

/// How many times an atomic batch the server refused for a transient reason (too
/// many batches in flight on the stream, an abandoned batch) is published again.
const BUSY_RETRIES: u32 = 20;

/// How many times an atomic batch refused although the chain head had not moved is
/// published again.
const STALE_RETRIES: u32 = 5;

/// What went wrong with one publish.
enum PublishFailure {
    /// The expected-last check failed (or an atomic batch held an id already stored).
    Conflict,
    /// The stream does not accept atomic batches (nothing was stored).
    AtomicDisabled,
    /// An atomic batch was refused for a transient reason (nothing was stored).
    Busy(String),
    /// An atomic batch was larger than the server accepts (its limit, if it said).
    TooLarge(Option<usize>),
    /// Anything else.
    Other(NatsError),
}

enum Expect<'a> {
    SubjectSeq(u64),
    LastId(&'a str),
}

/// The serialized length of a header block ("NATS/1.0", the lines, the blank line).
fn wire_len(h: &HeaderMap) -> usize {
    let mut len = 12;
    for (k, vs) in h.iter() {
        for v in vs {
            len += k.to_string().len() + v.as_str().len() + 4;
        }
    }
    len
}

impl NatsLog {
    /// Whether appends of several events are published as atomic batches: the
    /// server (2.12 or newer) and the stream (`allow_atomic`) accept them and the
    /// [`Batches`] policy asks for them. Otherwise they use the pipelined (single
    /// replica) or sequential (replicated) conditional publishes.
    pub fn atomic(&self) -> bool {
        self.allowed.load(Ordering::Relaxed)
            && match self.batches() {
                Batches::Atomic => true,
                Batches::Never => false,
                Batches::Auto => self.stream.cached_info().config.num_replicas > 1,
            }
    }

    /// Whether the server and the stream accept atomic batches.
    pub fn atomic_allowed(&self) -> bool {
        self.allowed.load(Ordering::Relaxed)
    }

    /// The policy for atomic batches.
    pub fn batches(&self) -> Batches {
        match self.batches.load(Ordering::Relaxed) {
            1 => Batches::Atomic,
            2 => Batches::Never,
            _ => Batches::Auto,
        }
    }

    /// Sets the policy for atomic batches (for this log and its clones); returns
    /// whether appends now use them ([`NatsLog::atomic`]).
    pub fn set_batches(&self, policy: Batches) -> bool {
        self.batches.store(policy as u8, Ordering::Relaxed);
        self.atomic()
    }

    /// Publishes `bytes` exactly as another log holds them, on `member`'s
    /// subject, whatever they are (re-seeding a stream from a verified copy):
    /// conditional on the stream's name and on the subject's last sequence
    /// being `expected` (`None`: no message yet). No `Nats-Msg-Id`: a copy may
    /// rightly hold the same event twice. Returns the position stored.
    pub async fn append_verbatim(
        &self,
        member: &MemberId,
        expected: Option<u64>,
        bytes: &[u8],
        at: Timestamp,
    ) -> Result<u64, NatsError> {
        let mut h = HeaderMap::new();
        h.insert("Nats-Expected-Stream", self.name.as_str());
        h.insert(
            "Nats-Expected-Last-Subject-Sequence",
            expected.unwrap_or(0).to_string().as_str(),
        );
        h.insert(APPENDED_AT_HEADER, at.0.to_string().as_str());
        let ack = self
            .conn
            .js
            .publish_with_headers(subject(&self.prefix, member), h, bytes.to_vec().into())
            .await
            .map_err(|e| self.conn.explain(e))?
            .await
            .map_err(|e| self.conn.explain(e))?;
        Ok(ack.sequence)
    }

    /// The append of [`Log::append`](ledger::log::Log::append), with the positions
    /// stored before a failure.
    pub async fn append_events(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, (Vec<u64>, LogError)> {
        let mut decoded = Vec::with_capacity(events.len());
        for (index, bytes) in events.iter().enumerate() {
            let ev = Event::from_bytes(bytes)
                .map_err(|source| (vec![], LogError::Malformed { index, source }))?;
            if &ev.envelope().producer != producer {
                return Err((
                    vec![],
                    LogError::WrongProducer {
                        index,
                        producer: producer.clone(),
                        found: ev.envelope().producer.clone(),
                    },
                ));
            }
            decoded.push((ev, bytes.as_slice()));
        }
        let mut positions: Vec<u64> = Vec::with_capacity(events.len());
        let mut expected = expected_last.unwrap_or(0);
        let mut stale = 0;
        while positions.len() < decoded.len() {
            let done = positions.len();
            let atomic = decoded.len() - done > 1 && self.atomic();
            let (stored, failure) = self
                .publish_run(producer, &decoded[done..], expected, appended_at)
                .await;
            let progressed = !stored.is_empty();
            positions.extend(stored);
            if let Some(&last) = positions.last() {
                expected = last;
            }
            match failure {
                None => {}
                Some(PublishFailure::Other(e)) => return Err((positions, e.into())),
                Some(PublishFailure::Busy(why)) => {
                    return Err((positions, NatsError::JetStream(why).into()))
                }
                Some(PublishFailure::AtomicDisabled) | Some(PublishFailure::TooLarge(_)) => {
                    return Err((
                        positions,
                        NatsError::JetStream(format!(
                            "{}: the server refused an atomic batch",
                            self.name
                        ))
                        .into(),
                    ))
                }
                Some(PublishFailure::Conflict) => {
                    // Who holds the chain head? If it is one of ours, those events
                    // are stored already (a republish); else another writer won.
                    let head = self
                        .last_message(producer)
                        .await
                        .map_err(|e| (positions.clone(), LogError::from(e)))?;
                    let done = positions.len();
                    let head_index = head.as_ref().and_then(|h| {
                        decoded[done..]
                            .iter()
                            .position(|(_, b)| h.payload.as_ref() == *b)
                            .map(|i| (done + i, h.sequence))
                    });
                    match head_index {
                        Some((j, seq)) => {
                            // Events done..=j are stored: find their positions.
                            let mut after = if done == 0 {
                                expected_last.unwrap_or(0)
                            } else {
                                expected
                            };
                            for _ in done..j {
                                let p = self
                                    .next_on_subject(producer, after)
                                    .await
                                    .map_err(|e| (positions.clone(), LogError::from(e)))?;
                                positions.push(p);
                                after = p;
                            }
                            positions.push(seq);
                            expected = seq;
                        }
                        None => {
                            let actual = head.as_ref().map(|h| h.sequence);
                            let ours = done > 0 && actual == Some(expected);
                            let unmoved = actual.unwrap_or(0) == expected;
                            if ours && progressed {
                                // Only another producer's event came in between:
                                // go on from our stored prefix.
                            } else if unmoved && atomic && stale < STALE_RETRIES {
                                // An atomic batch refused although the chain head
                                // is where it expected: the server still had an
                                // earlier batch of this subject in process (a
                                // replicated stream). Nothing of it was stored.
                                stale += 1;
                                tokio::time::sleep(Duration::from_millis(20 * u64::from(stale)))
                                    .await;
                            } else {
                                return Err((
                                    positions,
                                    LogError::Conflict {
                                        producer: producer.clone(),
                                        expected: if done == 0 {
                                            expected_last
                                        } else {
                                            Some(expected)
                                        },
                                        actual,
                                    },
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(positions)
    }

    /// The headers every stored event carries: `Nats-Msg-Id` and the informational
    /// `Tallinn-*` ones.
    fn headers(&self, producer: &MemberId, ev: &Event, at: Timestamp) -> HeaderMap {
        let env = ev.envelope();
        let mut h = HeaderMap::new();
        h.insert("Nats-Msg-Id", ev.id().to_string().as_str());
        h.insert("Tallinn-Member", producer.as_str());
        h.insert("Tallinn-Kind", env.body.kind().name());
        h.insert("Tallinn-Seq", env.seq.to_string().as_str());
        h.insert(APPENDED_AT_HEADER, at.0.to_string().as_str());
        h
    }

    fn message(
        &self,
        producer: &MemberId,
        ev: &Event,
        bytes: &[u8],
        at: Timestamp,
        expect: Expect<'_>,
    ) -> (String, jetstream::message::PublishMessage) {
        let mut m = jetstream::message::PublishMessage::build()
            .payload(bytes.to_vec().into())
            .headers(self.headers(producer, ev, at))
            .expected_stream(&self.name);
        m = match expect {
            Expect::SubjectSeq(n) => m.expected_last_subject_sequence(n),
            Expect::LastId(id) => m.expected_last_message_id(id),
        };
        (subject(&self.prefix, producer), m)
    }

    /// Publishes `events[from..]` pipelined, the first conditional on the subject's
    /// last sequence `expected`, the others on the previous event's id. Returns the
    /// positions stored (a prefix) and the failure that stopped it, if any.
    async fn publish_run(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        if events.len() > 1 && self.atomic() {
            match self.publish_atomic(producer, events, expected, at).await {
                (_, Some(PublishFailure::AtomicDisabled)) => {
                    // The stream's allow_atomic was turned off: nothing of the batch
                    // was stored; go on without batches.
                    tracing::debug!("{}: atomic publish disabled; falling back", self.name);
                    self.allowed.store(false, Ordering::Relaxed);
                }
                r => return r,
            }
        }
        if self.stream.cached_info().config.num_replicas > 1 {
            return self
                .publish_sequential(producer, events, expected, at)
                .await;
        }
        let mut inflight = VecDeque::new();
        let mut stored = Vec::with_capacity(events.len());
        let mut failure = None;
        let mut ack_failed = false;
        let mut prev_id = String::new();
        for (i, (ev, bytes)) in events.iter().enumerate() {
            let expect = if i == 0 {
                Expect::SubjectSeq(expected)
            } else {
                Expect::LastId(&prev_id)
            };
            let (subj, msg) = self.message(producer, ev, bytes, at, expect);
            prev_id = ev.id().to_string();
            match self.conn.js.send_publish(subj, msg).await {
                Ok(ack) => inflight.push_back(ack),
                Err(e) => {
                    failure = Some(PublishFailure::Other(self.conn.explain(e)));
                    break;
                }
            }
            if inflight.len() >= ACK_WINDOW {
                let ack = inflight.pop_front().expect("non-empty");
                match self.await_ack(ack).await {
                    Ok(seq) => stored.push(seq),
                    Err(f) => {
                        failure = Some(f);
                        ack_failed = true;
                        break;
                    }
                }
            }
        }
        // Collect the remaining acks up to the first failure. The later ones are not
        // awaited: after a refused precondition they fail too (each expects its
        // predecessor to be the stream's last message), and after a timeout or a
        // lost connection whether they were stored is learnt from the chain head
        // by the next attempt.
        // A publish that could not even be sent leaves the ones before it in flight:
        // their acks still count.
        let send_failure = if ack_failed { None } else { failure.take() };
        while failure.is_none() {
            let Some(ack) = inflight.pop_front() else {
                break;
            };
            match self.await_ack(ack).await {
                Ok(seq) => stored.push(seq),
                Err(f) => failure = Some(f),
            }
        }
        (stored, failure.or(send_failure))
    }

    /// Publishes the first events of `events` (at most the batch limit) as one atomic
    /// batch whose first message is conditional on the subject's last sequence
    /// `expected`. Returns the positions of the whole batch, or nothing stored and the
    /// failure. Refusals that store nothing and say nothing about the chain (too many
    /// batches in flight, a batch too large) are retried here.
    async fn publish_atomic(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        let subj = subject(&self.prefix, producer);
        let mut busy = 0;
        loop {
            let n = events
                .len()
                .min(self.batch_max.load(Ordering::Relaxed))
                .max(1);
            let batch_id = format!(
                "{}-{}",
                self.batch_nonce,
                self.batch_counter.fetch_add(1, Ordering::Relaxed)
            );
            let max_payload = self.conn.client.server_info().max_payload;
            let mut batch = Vec::with_capacity(n);
            for (i, (ev, bytes)) in events[..n].iter().enumerate() {
                let mut h = self.headers(producer, ev, at);
                h.insert("Nats-Batch-Id", batch_id.as_str());
                h.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
                if i == 0 {
                    h.insert("Nats-Expected-Stream", self.name.as_str());
                    h.insert(
                        "Nats-Expected-Last-Subject-Sequence",
                        expected.to_string().as_str(),
                    );
                }
                // An event too large for the server ends the batch before it (the
                // commit header adds 22 bytes), so that the events before it are
                // stored and the append fails on it alone, as on the other paths.
                if i > 0 && max_payload > 0 && bytes.len() + wire_len(&h) + 22 > max_payload {
                    break;
                }
                batch.push((h, bytes));
            }
            let n = batch.len();
            let mut commit = None;
            for (i, (mut h, bytes)) in batch.into_iter().enumerate() {
                let payload = bytes::Bytes::copy_from_slice(bytes);
                let sent = if i + 1 < n {
                    self.conn
                        .client
                        .publish_with_headers(subj.clone(), h, payload)
                        .await
                        .map_err(|e| self.conn.explain(e))
                } else {
                    h.insert("Nats-Batch-Commit", "1");
                    let m = jetstream::message::PublishMessage::build()
                        .payload(payload)
                        .headers(h);
                    match self.conn.js.send_publish(subj.clone(), m).await {
                        Ok(ack) => {
                            commit = Some(ack);
                            Ok(())
                        }
                        Err(e) => Err(self.conn.explain(e)),
                    }
                };
                if let Err(e) = sent {
                    return (vec![], Some(PublishFailure::Other(e)));
                }
            }
            let ack = commit.expect("the last message is the commit");
            match self.await_ack_full(ack).await {
                Ok(a) => {
                    let count = a.batch_size.unwrap_or(n as u64);
                    if count != n as u64 || a.sequence < count {
                        return (
                            vec![],
                            Some(PublishFailure::Other(NatsError::JetStream(format!(
                                "atomic batch of {n} events acknowledged as {count} at {}",
                                a.sequence
                            )))),
                        );
                    }
                    return ((a.sequence + 1 - count..=a.sequence).collect(), None);
                }
                Err(PublishFailure::TooLarge(limit)) if n > 1 => {
                    let smaller = limit.filter(|&l| l > 0 && l < n).unwrap_or(n / 2);
                    tracing::debug!("{}: atomic batches of at most {smaller}", self.name);
                    self.batch_max.store(smaller, Ordering::Relaxed);
                }
                Err(PublishFailure::Busy(why)) if busy < BUSY_RETRIES => {
                    busy += 1;
                    tracing::debug!("{}: atomic batch refused ({why}); again", self.name);
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(busy))).await;
                }
                Err(PublishFailure::Busy(why)) => {
                    return (
                        vec![],
                        Some(PublishFailure::Other(NatsError::JetStream(why))),
                    )
                }
                Err(f) => return (vec![], Some(f)),
            }
        }
    }

    /// Publishes `events` one at a time, each conditional on the subject's last
    /// sequence being the previous one's. Used on replicated streams: there a
    /// pipelined `Nats-Expected-Last-Msg-Id` is re-checked when followers apply the
    /// entry, and nats-server 2.15.1 was seen to halt the stream ("last msgid
    /// mismatch ... critical write error") after a leader change.
    async fn publish_sequential(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        mut expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        let mut stored = Vec::with_capacity(events.len());
        for (ev, bytes) in events {
            let (subj, msg) = self.message(producer, ev, bytes, at, Expect::SubjectSeq(expected));
            let ack = match self.conn.js.send_publish(subj, msg).await {
                Ok(ack) => ack,
                Err(e) => return (stored, Some(PublishFailure::Other(self.conn.explain(e)))),
            };
            match self.await_ack(ack).await {
                Ok(seq) => {
                    stored.push(seq);
                    expected = seq;
                }
                Err(f) => return (stored, Some(f)),
            }
        }
        (stored, None)
    }

    async fn await_ack(
        &self,
        ack: jetstream::context::PublishAckFuture,
    ) -> Result<u64, PublishFailure> {
        self.await_ack_full(ack).await.map(|a| a.sequence)
    }

    async fn await_ack_full(
        &self,
        ack: jetstream::context::PublishAckFuture,
    ) -> Result<jetstream::publish::PublishAck, PublishFailure> {
        let notified = self.conn.errors.notify.notified();
        tokio::pin!(notified);
        let r = tokio::select! {
            r = ack.into_future() => r,
            _ = &mut notified => {
                if let Some(e) = self.conn.server_error().filter(|e| e.to_lowercase().contains("permission")) {
                    self.conn.take_server_error();
                    return Err(PublishFailure::Other(NatsError::Permission(e)));
                }
                return Err(PublishFailure::Other(NatsError::JetStream("the server reported an error".into())));
            }
        };
        match r {
            Ok(a) => Ok(a),
            Err(e) => match e.kind() {
                PublishErrorKind::WrongLastSequence | PublishErrorKind::WrongLastMessageId => {
                    Err(PublishFailure::Conflict)
                }
                PublishErrorKind::Other => {
                    use jetstream::ErrorCode as C;
                    let api = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<jetstream::Error>());
                    match api.map(|a| a.error_code()) {
                        Some(C::ATOMIC_PUBLISH_DISABLED) => Err(PublishFailure::AtomicDisabled),
                        Some(C::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE) => {
                            Err(PublishFailure::Conflict)
                        }
                        Some(C::ATOMIC_PUBLISH_INCOMPLETE_BATCH)
                        | Some(C::BATCH_PUBLISH_TOO_MANY_INFLIGHT) => {
                            Err(PublishFailure::Busy(e.to_string()))
                        }
                        Some(C::ATOMIC_PUBLISH_TOO_LARGE_BATCH) => {
                            // "atomic publish batch is too large: 1000"
                            let text = e.to_string();
                            let limit = text
                                .rsplit(':')
                                .find_map(|t| t.split_whitespace().next()?.parse().ok());
                            Err(PublishFailure::TooLarge(limit))
                        }
                        _ => Err(PublishFailure::Other(self.conn.explain(e))),
                    }
                }
                // "No responders": no stream, or none with a leader now.
                PublishErrorKind::StreamNotFound => Err(PublishFailure::Other(
                    NatsError::Unavailable(self.name.clone()),
                )),
                _ => Err(PublishFailure::Other(self.conn.explain(e))),
            },
        }
    }
}
