//! Reading the stream: batched direct gets (ADR-31, nats-server 2.11+).
//!
//! Reads need no consumer: a reader asks any server holding the stream for
//! the next messages from a position, and the answers come to its own inbox.
//! So a deployment grants no `$JS.API.CONSUMER.*` subject to members (nobody
//! can create consumers by the hundred, or delete another's), and reading
//! leaves nothing behind on the server.

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use async_nats::StatusCode;
use futures_util::StreamExt;
use ledger::log::Entry;

use crate::connection::parse_version;
use crate::{appended_at, ms_of, subject_member, NatsError, NatsLog};

/// The first server version that answers a direct get with a batch.
const BATCH_SERVER: (u64, u64) = (2, 11);

/// Messages asked for in one direct-get request.
const BATCH: usize = 1024;

/// Bytes the server may send for one request (it stops at a message boundary).
const MAX_BYTES: usize = 8 << 20;

/// How long to wait for the next message of a batch.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests that return nothing new before a read gives up (a replica behind).
const EMPTY_ATTEMPTS: u32 = 5;

impl NatsLog {
    /// The entries at positions `from..=min(from + max - 1, len)`, in order,
    /// with no gap: a missing position is an error (the stream was edited).
    pub(crate) async fn read_entries(
        &self,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, NatsError> {
        let from = from.max(1);
        let len = self.info().await?.state.last_sequence;
        if from > len || max == 0 {
            return Ok(vec![]);
        }
        let until = len.min(from + max as u64 - 1);
        let mut out = Vec::with_capacity((until - from + 1) as usize);
        let mut next = from;
        let mut empty = 0;
        let batched = self.batched_reads();
        while next <= until {
            let want = ((until - next + 1) as usize).min(BATCH);
            let got = if batched {
                self.direct_batch(next, want).await?
            } else {
                self.direct_one(next).await?
            };
            if got.is_empty() {
                // A replica that has not yet stored what the leader reported.
                empty += 1;
                if empty >= EMPTY_ATTEMPTS {
                    return Err(NatsError::NotAnswering(format!(
                        "reading {}: no server answered with position {next} (of {len})",
                        self.name
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50 * u64::from(empty))).await;
                continue;
            }
            empty = 0;
            for m in got {
                if next > until {
                    break;
                }
                if m.sequence != next {
                    return Err(NatsError::JetStream(format!(
                        "stream {} skipped from position {next} to {}: was it edited?",
                        self.name, m.sequence
                    )));
                }
                out.push(Entry {
                    position: m.sequence,
                    appended_at: appended_at(Some(&m.headers), ms_of(&m)),
                    member: Some(subject_member(&self.prefix, &m.subject)),
                    bytes: m.payload.to_vec(),
                });
                next += 1;
            }
        }
        Ok(out)
    }

    fn batched_reads(&self) -> bool {
        parse_version(&self.conn.client.server_info().version).is_some_and(|v| v >= BATCH_SERVER)
    }

    /// The message at `seq` on a server without batched direct gets (2.10):
    /// one request per message.
    async fn direct_one(&self, seq: u64) -> Result<Vec<StreamMessage>, NatsError> {
        use async_nats::jetstream::stream::DirectGetErrorKind;
        match self.stream.direct_get(seq).await {
            Ok(m) => Ok(vec![m]),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(self.conn.explain(e)),
        }
    }

    /// One batched direct get: up to `n` messages from sequence `from`, as
    /// the server sends them before its end-of-batch marker. Empty when the
    /// server holds nothing at or after `from`.
    async fn direct_batch(&self, from: u64, n: usize) -> Result<Vec<StreamMessage>, NatsError> {
        let client = &self.conn.client;
        let inbox = client.new_inbox();
        let mut sub = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| self.conn.explain(e))?;
        let request = serde_json::json!({"seq": from, "batch": n, "max_bytes": MAX_BYTES});
        client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{}", self.name),
                inbox,
                request.to_string().into(),
            )
            .await
            .map_err(|e| self.conn.explain(e))?;
        let mut out = Vec::new();
        loop {
            let m = match tokio::time::timeout(MESSAGE_TIMEOUT, sub.next()).await {
                Ok(Some(m)) => m,
                Ok(None) | Err(_) => {
                    if let Some(e) = self.conn.server_error() {
                        return Err(self.conn.explain(e));
                    }
                    return Err(NatsError::NotAnswering(format!(
                        "reading {}: no answer for position {from} within {}s",
                        self.name,
                        MESSAGE_TIMEOUT.as_secs()
                    )));
                }
            };
            match m.status {
                None | Some(StatusCode::OK) => {}
                // The end of the batch (204), or nothing at or after `from` (404).
                Some(s) if s.as_u16() == 204 || s == StatusCode::NOT_FOUND => return Ok(out),
                Some(StatusCode::NO_RESPONDERS) => {
                    return Err(NatsError::NotAnswering(format!(
                        "reading {}: no server answered (a leader election?)",
                        self.name
                    )))
                }
                Some(s) => {
                    let why = m.description.unwrap_or_default();
                    return Err(NatsError::JetStream(format!(
                        "reading {} from position {from}: the server answered {s} {why}",
                        self.name
                    )));
                }
            }
            let m = StreamMessage::try_from(m).map_err(|e| {
                NatsError::JetStream(format!("reading {}: a malformed answer: {e}", self.name))
            })?;
            out.push(m);
        }
    }
}
