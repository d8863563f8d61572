//! Checkpoints on JetStream for the CLI: the ledger's checkpoint stream
//! (`tallinn_nats::checkpoints`), opened, read, checked against the log and
//! published to.

use anyhow::{anyhow, Result};
use ledger::checkpoint::Note;
use ledger::merkle::FullTree;
use ledger::state::State;
use tallinn_nats::checkpoints::{validate_all, CheckpointStream, Published, Validated};
use tallinn_nats::{NatsLog, PublishOutcome};

use crate::checkpoint::coordinator_verifiers;

/// The checkpoint stream of a ledger on JetStream (absent on a ledger whose
/// operator never created it: then it holds no checkpoints).
#[derive(Debug, Clone)]
pub struct NatsCheckpoints {
    stream: Option<CheckpointStream>,
    name: String,
}

impl NatsCheckpoints {
    /// Opens the checkpoint stream of `log`'s ledger, for reading.
    pub async fn open(log: &NatsLog) -> Result<NatsCheckpoints> {
        Ok(NatsCheckpoints {
            stream: CheckpointStream::open(log).await?,
            name: tallinn_nats::checkpoints::stream_name(log.name()),
        })
    }

    /// Opens the checkpoint stream, creating it if needed (the log operator).
    pub async fn open_for_issuing(log: &NatsLog) -> Result<NatsCheckpoints> {
        let stream = CheckpointStream::create_or_check(log).await?;
        Ok(NatsCheckpoints {
            name: stream.name().to_string(),
            stream: Some(stream),
        })
    }

    /// The stream name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every message on the checkpoint subject, unchecked.
    pub async fn messages(&self) -> Result<Vec<Published>> {
        match &self.stream {
            Some(s) => Ok(s.read().await?),
            None => Ok(Vec::new()),
        }
    }

    /// Checks `messages` against the log (`state` after its events, `tree` of them).
    pub fn validate(messages: &[Published], state: &State, tree: &FullTree) -> Result<Validated> {
        let origin = state
            .origin
            .as_deref()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet"))?;
        Ok(validate_all(
            messages,
            origin,
            &coordinator_verifiers(state),
            tree,
        ))
    }

    /// Checks and publishes `note` (see `CheckpointStream::publish_note`).
    pub async fn publish(&self, note: &Note, state: &State, tree: &FullTree) -> Result<u64> {
        let stream = self
            .stream
            .as_ref()
            .ok_or_else(|| anyhow!("no checkpoint stream {}", self.name))?;
        let origin = state
            .origin
            .as_deref()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet"))?;
        let logs = coordinator_verifiers(state);
        match stream.publish_note(note, origin, &logs, tree).await? {
            PublishOutcome::Published(seq) | PublishOutcome::AlreadyPublished(seq) => Ok(seq),
        }
    }
}

/// The raw texts of `messages`, for the auditor (which judges each); a payload
/// that is not UTF-8 becomes text that does not parse.
pub fn texts(messages: &[Published]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
        .collect()
}

/// One line per refused message: `stream S message #N: reason`.
pub fn refusals(name: &str, v: &Validated) -> Vec<String> {
    v.refused
        .iter()
        .map(|(seq, e)| format!("stream {name} message #{seq}: {e}"))
        .collect()
}
