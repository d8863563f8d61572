//! Checkpoints on JetStream for the CLI: the ledger's checkpoint stream
//! (`tallinn_nats::checkpoints`), opened, read, checked against the log and
//! published to.

use anyhow::{anyhow, Result};
use ledger::checkpoint::{Note, Witness};
use ledger::merkle::FullTree;
use ledger::state::State;
use tallinn_nats::checkpoints::{
    cosignature_subject, merge_cosignatures, validate_all, CheckpointStream, Published, Validated,
};
use tallinn_nats::{NatsLog, PublishOutcome};

use crate::cmd::checkpoint::{coordinator_verifiers, coordinator_verifiers_ever};

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

    /// Every message of the checkpoint stream (checkpoints and cosignatures), unchecked.
    pub async fn messages(&self) -> Result<Vec<Published>> {
        match &self.stream {
            Some(s) => Ok(s.read_all().await?),
            None => Ok(Vec::new()),
        }
    }

    /// The last checkpoint `witness` cosigned, as published on its own
    /// cosignature subject (only a message whose cosignature by it verifies).
    pub fn last_cosigned(&self, witness: &Witness, messages: &[Published]) -> Option<Note> {
        let stream = self.stream.as_ref()?;
        let subject = cosignature_subject(stream.prefix(), &witness.name);
        messages
            .iter()
            .rev()
            .filter(|m| m.subject == subject)
            .filter_map(|m| Note::parse(&m.bytes).ok())
            .find(|n| {
                n.signatures
                    .iter()
                    .any(|s| witness.verify_cosignature(&n.text, s).is_ok())
            })
    }

    /// Publishes `note`, cosigned by `member`, on the member's cosignature
    /// subject, conditional on its last message being the last one in `messages`.
    pub async fn publish_cosigned(
        &self,
        member: &str,
        note: &Note,
        messages: &[Published],
    ) -> Result<u64> {
        let stream = self
            .stream
            .as_ref()
            .ok_or_else(|| anyhow!("no checkpoint stream {}", self.name))?;
        let subject = cosignature_subject(stream.prefix(), member);
        let last = messages
            .iter()
            .filter(|m| m.subject == subject)
            .map(|m| m.sequence)
            .next_back()
            .unwrap_or(0);
        Ok(stream.publish_cosigned(member, note, last).await?)
    }

    /// Merges the witnesses' cosignatures among `messages` into `notes`.
    pub fn merge(&self, notes: &mut [Note], messages: &[Published]) {
        if let Some(s) = &self.stream {
            merge_cosignatures(notes, s.prefix(), messages);
        }
    }

    /// The raw texts of the checkpoint messages, for the auditor (which judges
    /// each), with the witnesses' cosignature lines merged into those that parse;
    /// a payload that is not UTF-8 becomes text that does not parse.
    pub fn texts(&self, messages: &[Published]) -> Vec<String> {
        let Some(stream) = &self.stream else {
            return Vec::new();
        };
        messages
            .iter()
            .filter(|m| m.subject == stream.subject())
            .map(|m| match Note::parse(&m.bytes) {
                Ok(note) if m.bytes.len() <= ledger::bundle::MAX_NOTE_BYTES => {
                    let mut one = [note];
                    self.merge(&mut one, messages);
                    let [note] = one;
                    note.to_text()
                }
                _ => String::from_utf8_lossy(&m.bytes).into_owned(),
            })
            .collect()
    }

    /// Checks `messages` against the log (`state` after its events, `tree` of them):
    /// signed by a key a coordinator has held (checkpoints signed before a key
    /// rotation stay valid), with roots the log's.
    pub fn validate(messages: &[Published], state: &State, tree: &FullTree) -> Result<Validated> {
        let origin = state
            .origin
            .as_deref()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet"))?;
        Ok(validate_all(
            messages,
            origin,
            &coordinator_verifiers_ever(state),
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

/// One line per refused message: `stream S message #N: reason`.
pub fn refusals(name: &str, v: &Validated) -> Vec<String> {
    v.refused
        .iter()
        .map(|(seq, e)| format!("stream {name} message #{seq}: {e}"))
        .collect()
}
