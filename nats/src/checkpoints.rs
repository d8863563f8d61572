//! The signed checkpoints of a ledger on JetStream: a stream of their own.
//!
//! The events stream's sequence numbers are the Merkle leaf indexes, so nothing
//! else may ever be stored in it. Checkpoints go to a companion stream named
//! `<EVENTS_STREAM>_CHECKPOINTS` ([`stream_name`]) with the subject
//! `<prefix>.checkpoints` ([`checkpoint_subject`]); each witness publishes the
//! notes it cosigned on its own subject `<prefix>.cosignatures.<member>`
//! ([`cosignature_subject`]), and readers merge those cosignature lines into the
//! checkpoint of the same text ([`merge_cosignatures`]). It is hardened like the
//! events stream: file storage, `deny_delete`, `deny_purge`, no limits, direct
//! gets, the events stream's replicas, and a maximum message size that fits
//! [`MAX_NOTE_BYTES`].
//!
//! A message is the signed note text, byte for byte (a C2SP tlog-checkpoint
//! signed by the log operator), with `Nats-Msg-Id` = `SHA-256(0x00 || bytes)` in hex.
//! Before publishing, [`CheckpointStream::publish_note`] checks the note with
//! [`check_note`] (size, syntax, origin, the log key's signature, the tree size
//! within the log, the root of the log's first `size` events, and never smaller
//! than or different from the last valid checkpoint already published), and the
//! publish is conditional on the subject's last sequence, so two issuers cannot
//! interleave. Readers never trust the stream: [`validate_all`] runs the same
//! checks on every message (the auditor gets the raw texts and judges them itself).

use std::future::IntoFuture;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use ledger::bundle::MAX_NOTE_BYTES;
use ledger::checkpoint::{verify_note, Checkpoint, CheckpointError, Note, Verifier};
use ledger::ids::Digest;
use ledger::merkle::FullTree;

use crate::spec::{check_config, map_get_stream};
use crate::{Connection, NatsError, NatsLog};

/// The suffix of a checkpoint stream's name after its events stream's name.
pub const CHECKPOINTS_SUFFIX: &str = "_CHECKPOINTS";

/// The largest message the checkpoint stream accepts (the note and headers).
pub const MAX_CHECKPOINT_MESSAGE: i32 = MAX_NOTE_BYTES as i32 + 4096;

/// The checkpoint stream of the events stream `events_stream`.
pub fn stream_name(events_stream: &str) -> String {
    format!("{events_stream}{CHECKPOINTS_SUFFIX}")
}

/// The subject checkpoints are published on, under the ledger's subject prefix.
pub fn checkpoint_subject(prefix: &str) -> String {
    format!("{prefix}.checkpoints")
}

/// The subject on which `member` publishes the checkpoints it cosigned (`.` in
/// member ids becomes `~`, as on the events stream).
pub fn cosignature_subject(prefix: &str, member: &str) -> String {
    format!("{prefix}.cosignatures.{}", member.replace('.', "~"))
}

/// Merges into `notes` the cosignature lines of `messages` (the cosignature
/// subjects' messages): from each parsable note of at most [`MAX_NOTE_BYTES`],
/// the signature lines named after the subject's member are added to every note
/// of `notes` with the same text (a line by the same name and key id replaces
/// the old one). Nothing is verified here: the policy or the auditor does that.
pub fn merge_cosignatures(notes: &mut [Note], prefix: &str, messages: &[Published]) {
    let head = format!("{prefix}.cosignatures.");
    for m in messages {
        let Some(member) = m.subject.strip_prefix(&head) else {
            continue;
        };
        let member = member.replace('~', ".");
        if m.bytes.len() > MAX_NOTE_BYTES {
            continue;
        }
        let Ok(cosigned) = Note::parse(&m.bytes) else {
            continue;
        };
        for note in notes.iter_mut().filter(|n| n.text == cosigned.text) {
            for sig in cosigned.signatures.iter().filter(|s| s.name == member) {
                note.signatures
                    .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
                note.signatures.push(sig.clone());
            }
        }
    }
}

/// Whether `name` is the checkpoint stream of another stream in `names` (so not a
/// ledger's events stream).
pub fn is_checkpoint_stream(name: &str, names: &[String]) -> bool {
    name.strip_suffix(CHECKPOINTS_SUFFIX)
        .is_some_and(|events| names.iter().any(|n| n == events))
}

/// Why a checkpoint note was refused, before publishing or when read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointRefused {
    /// The message is larger than a note may be.
    #[error("note is {len} bytes, more than {MAX_NOTE_BYTES}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The bytes are not a signed checkpoint note.
    #[error("{0}")]
    Malformed(CheckpointError),
    /// The checkpoint names another log.
    #[error("origin {found:?} is not the ledger's {expected:?}")]
    Origin {
        /// The stated origin.
        found: String,
        /// The ledger's origin.
        expected: String,
    },
    /// No valid signature by a log key (a coordinator's active key).
    #[error("log signature: {0}")]
    Signature(CheckpointError),
    /// The tree size is beyond the log.
    #[error("checkpoint of size {size} is beyond the log's {len} events")]
    BeyondLog {
        /// The stated size.
        size: u64,
        /// The log's length.
        len: u64,
    },
    /// The root is not the root of the log's first `size` events.
    #[error("checkpoint of size {size} states root {stated}, the log's events give {actual}")]
    RootMismatch {
        /// The tree size.
        size: u64,
        /// The stated root.
        stated: Digest,
        /// The root of the events.
        actual: Digest,
    },
    /// Smaller than the last valid checkpoint published before it.
    #[error("checkpoint of size {size} is smaller than the checkpoint of size {previous} published before it")]
    Rollback {
        /// Its size.
        size: u64,
        /// The previous checkpoint's size.
        previous: u64,
    },
    /// Of the same size as the last valid checkpoint but another text.
    #[error("checkpoint of size {size} differs from the one of that size published before it")]
    SameSizeFork {
        /// The tree size.
        size: u64,
    },
}

/// Checks a checkpoint note against the log: at most [`MAX_NOTE_BYTES`], a
/// well-formed signed checkpoint of `origin`, signed by one of `logs`, a tree
/// size within `tree` and the root of `tree`'s first `size` leaves, and, after
/// `previous` (the last valid checkpoint before it), not smaller and, if of the
/// same size, the same text. Since both roots are roots of the same log, the two
/// are then consistent.
pub fn check_note(
    bytes: &[u8],
    origin: &str,
    logs: &[Verifier],
    tree: &FullTree,
    previous: Option<&Note>,
) -> Result<(Note, Checkpoint), CheckpointRefused> {
    if bytes.len() > MAX_NOTE_BYTES {
        return Err(CheckpointRefused::TooLarge { len: bytes.len() });
    }
    let note = Note::parse(bytes).map_err(CheckpointRefused::Malformed)?;
    let cp = Checkpoint::parse_body(&note.text).map_err(CheckpointRefused::Malformed)?;
    if cp.origin != origin {
        return Err(CheckpointRefused::Origin {
            found: cp.origin,
            expected: origin.to_string(),
        });
    }
    verify_note(&note, logs).map_err(CheckpointRefused::Signature)?;
    let len = tree.size();
    let actual = tree
        .root_at(cp.size)
        .map_err(|_| CheckpointRefused::BeyondLog { size: cp.size, len })?;
    if actual != cp.root {
        return Err(CheckpointRefused::RootMismatch {
            size: cp.size,
            stated: cp.root,
            actual,
        });
    }
    if let Some(prev) = previous {
        let p = Checkpoint::parse_body(&prev.text).map_err(CheckpointRefused::Malformed)?;
        if cp.size < p.size {
            return Err(CheckpointRefused::Rollback {
                size: cp.size,
                previous: p.size,
            });
        }
        if cp.size == p.size && note.text != prev.text {
            return Err(CheckpointRefused::SameSizeFork { size: cp.size });
        }
    }
    Ok((note, cp))
}

/// One message of the checkpoint stream, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Its stream sequence.
    pub sequence: u64,
    /// Its subject.
    pub subject: String,
    /// The payload (a signed note, if the publisher was honest).
    pub bytes: Vec<u8>,
}

/// The checkpoint messages of a stream sorted into valid and refused ones.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// Valid checkpoints (stream sequence, note, checkpoint), by sequence; a
    /// republished identical note appears once.
    pub valid: Vec<(u64, Note, Checkpoint)>,
    /// Refused messages (stream sequence, why).
    pub refused: Vec<(u64, CheckpointRefused)>,
}

impl Validated {
    /// The latest valid checkpoint.
    pub fn latest(&self) -> Option<&Note> {
        self.valid.last().map(|(_, n, _)| n)
    }
}

/// Checks every message on the checkpoint subject (others are skipped) in stream order with
/// [`check_note`], each against the last valid one before it.
pub fn validate_all(
    messages: &[Published],
    origin: &str,
    logs: &[Verifier],
    tree: &FullTree,
) -> Validated {
    let mut out = Validated::default();
    for m in messages
        .iter()
        .filter(|m| m.subject.ends_with(".checkpoints"))
    {
        let previous = out.latest();
        match check_note(&m.bytes, origin, logs, tree, previous) {
            Ok((note, cp)) => {
                if previous.is_some_and(|p| p.text == note.text) {
                    continue;
                }
                out.valid.push((m.sequence, note, cp));
            }
            Err(e) => out.refused.push((m.sequence, e)),
        }
    }
    out
}

/// Why publishing a checkpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishCheckpointError {
    /// The note itself was refused; nothing was published.
    #[error("checkpoint refused, nothing published: {0}")]
    Refused(#[from] CheckpointRefused),
    /// Another issuer published a checkpoint meanwhile; nothing was published.
    #[error("another issuer published a checkpoint on stream {0} meanwhile; nothing published (try again)")]
    Conflict(String),
    /// NATS failed.
    #[error(transparent)]
    Nats(#[from] NatsError),
}

/// The outcome of [`CheckpointStream::publish_note`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Published at this stream sequence.
    Published(u64),
    /// The same note is already the latest valid checkpoint (at this sequence).
    AlreadyPublished(u64),
}

/// The payload of the last message on `log`'s checkpoint subject (unchecked),
/// if the ledger has a checkpoint stream holding one: two requests the first
/// time (the stream is looked up once per [`NatsLog`]), one direct get after.
pub async fn latest_note(log: &NatsLog) -> Result<Option<Vec<u8>>, NatsError> {
    let conn = log.connection();
    let stream = log
        .checkpoints
        .get_or_try_init(|| async {
            // A leader election is retried, then a retryable unavailability.
            match crate::spec::get_existing_stream(conn, &stream_name(log.name())).await {
                Ok(s) => Ok(Some(s)),
                Err(NatsError::MissingStream(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?;
    let Some(stream) = stream else {
        return Ok(None);
    };
    use jetstream::stream::DirectGetErrorKind;
    match stream
        .direct_get_last_for_subject(checkpoint_subject(log.prefix()))
        .await
    {
        Ok(m) => Ok(Some(m.payload.to_vec())),
        Err(e) if matches!(e.kind(), DirectGetErrorKind::NotFound) => Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                DirectGetErrorKind::TimedOut | DirectGetErrorKind::Request
            ) =>
        {
            Err(NatsError::NotAnswering(format!(
                "the checkpoint stream of {} does not answer (a leader election?): {e}",
                log.name()
            )))
        }
        Err(e) => Err(conn.explain(e)),
    }
}

/// The checkpoint stream of one ledger.
#[derive(Clone)]
pub struct CheckpointStream {
    conn: Connection,
    stream: stream::Stream<stream::Info>,
    name: String,
    subject: String,
}

impl std::fmt::Debug for CheckpointStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointStream({})", self.name)
    }
}

fn config(log: &NatsLog) -> stream::Config {
    let prefix = log.prefix();
    stream::Config {
        name: stream_name(log.name()),
        subjects: vec![
            checkpoint_subject(prefix),
            format!("{prefix}.cosignatures.>"),
        ],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        duplicate_window: log.stream.cached_info().config.duplicate_window,
        num_replicas: log.stream.cached_info().config.num_replicas.max(1),
        allow_direct: true,
        deny_delete: true,
        deny_purge: true,
        discard: stream::DiscardPolicy::New,
        max_message_size: MAX_CHECKPOINT_MESSAGE,
        ..Default::default()
    }
}

fn check_full(name: &str, found: &stream::Config, want: &stream::Config) -> Result<(), NatsError> {
    check_config(name, found, want, true)?;
    if found.max_message_size != want.max_message_size {
        return Err(NatsError::ConfigMismatch {
            stream: name.to_string(),
            field: "max_msg_size",
            found: found.max_message_size.to_string(),
            expected: want.max_message_size.to_string(),
        });
    }
    Ok(())
}

impl CheckpointStream {
    /// Creates the checkpoint stream of `log`'s ledger, or checks the existing
    /// one has its configuration (refusing, naming the field, if not).
    pub async fn create_or_check(log: &NatsLog) -> Result<CheckpointStream, NatsError> {
        let conn = log.connection();
        let want = config(log);
        let name = want.name.clone();
        let stream = match conn.js.get_stream(&name).await {
            Ok(mut s) => {
                let info = s.info().await.map_err(|e| conn.explain(e))?;
                check_full(&name, &info.config, &want)?;
                s
            }
            Err(e) => match map_get_stream(conn, &name, e) {
                NatsError::MissingStream(_) => conn
                    .js
                    .create_stream(want.clone())
                    .await
                    .map_err(|e| conn.explain(e))?,
                other => return Err(other),
            },
        };
        Ok(CheckpointStream {
            conn: conn.clone(),
            stream,
            name,
            subject: checkpoint_subject(log.prefix()),
        })
    }

    /// Opens the checkpoint stream of `log`'s ledger, checking its configuration;
    /// `None` if there is none (a ledger created before checkpoints were kept on
    /// JetStream, or whose operator never created it).
    pub async fn open(log: &NatsLog) -> Result<Option<CheckpointStream>, NatsError> {
        let conn = log.connection();
        let want = config(log);
        let name = want.name.clone();
        let mut s = match conn.js.get_stream(&name).await {
            Ok(s) => s,
            Err(e) => match map_get_stream(conn, &name, e) {
                NatsError::MissingStream(_) => return Ok(None),
                other => return Err(other),
            },
        };
        let info = s.info().await.map_err(|e| conn.explain(e))?;
        // Replicas and the duplicate window are the operator's choice here.
        check_config(&name, &info.config, &want, false)?;
        Ok(Some(CheckpointStream {
            conn: conn.clone(),
            stream: s,
            name,
            subject: checkpoint_subject(log.prefix()),
        }))
    }

    /// The stream name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subject checkpoints are published on.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Every message on the checkpoint subject, in stream order, unchecked.
    pub async fn read(&self) -> Result<Vec<Published>, NatsError> {
        let mut all = self.read_all().await?;
        all.retain(|m| m.subject == self.subject);
        Ok(all)
    }

    /// Every message of the stream (checkpoints and cosignatures), in stream
    /// order, unchecked.
    pub async fn read_all(&self) -> Result<Vec<Published>, NatsError> {
        let mut s = self.stream.clone();
        let state = s
            .info()
            .await
            .map_err(|e| self.conn.explain(e))?
            .state
            .clone();
        let mut out = Vec::new();
        if state.messages == 0 {
            return Ok(out);
        }
        for seq in state.first_sequence..=state.last_sequence {
            let m = match self.stream.get_raw_message(seq).await {
                Ok(m) => m,
                Err(e) if e.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                    continue
                }
                Err(e) => return Err(self.conn.explain(e)),
            };
            out.push(Published {
                sequence: m.sequence,
                subject: m.subject.to_string(),
                bytes: m.payload.to_vec(),
            });
        }
        Ok(out)
    }

    /// The subject prefix of the ledger.
    pub fn prefix(&self) -> &str {
        self.subject
            .strip_suffix(".checkpoints")
            .unwrap_or(&self.subject)
    }

    /// Publishes `note`, cosigned by `member` (checked by the caller against the
    /// log and the witness's last cosigned checkpoint), on the member's
    /// cosignature subject, conditional on that subject's last sequence being
    /// `expected_last` (0: none).
    pub async fn publish_cosigned(
        &self,
        member: &str,
        note: &Note,
        expected_last: u64,
    ) -> Result<u64, PublishCheckpointError> {
        let bytes = note.to_text().into_bytes();
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(CheckpointRefused::TooLarge { len: bytes.len() }.into());
        }
        let msg = jetstream::message::PublishMessage::build()
            .payload(bytes.into())
            .expected_stream(&self.name)
            .expected_last_subject_sequence(expected_last);
        let subject = cosignature_subject(self.prefix(), member);
        let ack = self
            .conn
            .js
            .send_publish(subject, msg)
            .await
            .map_err(|e| self.conn.explain(e))?;
        match ack.into_future().await {
            Ok(a) => Ok(a.sequence),
            Err(e) => match e.kind() {
                PublishErrorKind::WrongLastSequence => {
                    Err(PublishCheckpointError::Conflict(self.name.clone()))
                }
                _ => Err(self.conn.explain(e).into()),
            },
        }
    }

    /// Checks `note` against the log (`origin`, the log keys `logs`, the tree of
    /// its events) and the checkpoints already published, then publishes it,
    /// conditional on no other checkpoint being published meanwhile. A note equal
    /// to the latest valid checkpoint is not published again.
    pub async fn publish_note(
        &self,
        note: &Note,
        origin: &str,
        logs: &[Verifier],
        tree: &FullTree,
    ) -> Result<PublishOutcome, PublishCheckpointError> {
        let messages = self.read().await?;
        let known = validate_all(&messages, origin, logs, tree);
        let bytes = note.to_text().into_bytes();
        if let Some((seq, latest, _)) = known.valid.last() {
            if latest.to_text().as_bytes() == bytes.as_slice() {
                return Ok(PublishOutcome::AlreadyPublished(*seq));
            }
        }
        check_note(&bytes, origin, logs, tree, known.latest())?;
        let last = messages.last().map_or(0, |m| m.sequence);
        let id = ledger::event::leaf_hash(&bytes).to_string();
        let msg = jetstream::message::PublishMessage::build()
            .payload(bytes.into())
            .message_id(id)
            .expected_stream(&self.name)
            .expected_last_subject_sequence(last);
        let ack = self
            .conn
            .js
            .send_publish(self.subject.clone(), msg)
            .await
            .map_err(|e| self.conn.explain(e))?;
        match ack.into_future().await {
            Ok(a) => Ok(PublishOutcome::Published(a.sequence)),
            Err(e) => match e.kind() {
                PublishErrorKind::WrongLastSequence => {
                    Err(PublishCheckpointError::Conflict(self.name.clone()))
                }
                _ => Err(self.conn.explain(e).into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::event::leaf_hash;
    use ledger::keys::Signer;

    fn tree(n: usize) -> FullTree {
        FullTree::from_leaves((0..n).map(|i| leaf_hash(&[i as u8])))
    }

    #[test]
    fn notes_are_checked_against_the_log_and_the_previous_one() {
        let log = Signer::from_seed("LOG", [1; 32]).unwrap();
        let other = Signer::from_seed("LOG", [2; 32]).unwrap();
        let logs = [Verifier::new("LOG", log.public_key()).unwrap()];
        let t = tree(5);
        let sign = |s: &Signer, size: u64, root| {
            Checkpoint::new("o", size, root)
                .unwrap()
                .sign(s)
                .unwrap()
                .to_text()
        };
        let three = sign(&log, 3, t.root_at(3).unwrap());
        let (note, cp) = check_note(three.as_bytes(), "o", &logs, &t, None).unwrap();
        assert_eq!(cp.size, 3);
        let err = |bytes: &[u8], prev| check_note(bytes, "o", &logs, &t, prev).unwrap_err();
        assert!(matches!(
            err(sign(&other, 3, t.root_at(3).unwrap()).as_bytes(), None),
            CheckpointRefused::Signature(_)
        ));
        assert!(matches!(
            err(sign(&log, 4, t.root_at(3).unwrap()).as_bytes(), None),
            CheckpointRefused::RootMismatch { size: 4, .. }
        ));
        assert!(matches!(
            err(sign(&log, 6, t.root_at(3).unwrap()).as_bytes(), None),
            CheckpointRefused::BeyondLog { size: 6, len: 5 }
        ));
        let two = sign(&log, 2, t.root_at(2).unwrap());
        assert!(matches!(
            err(two.as_bytes(), Some(&note)),
            CheckpointRefused::Rollback {
                size: 2,
                previous: 3
            }
        ));
        assert!(matches!(
            err(&vec![b'a'; MAX_NOTE_BYTES + 1], None),
            CheckpointRefused::TooLarge { .. }
        ));
        assert!(matches!(
            check_note(three.as_bytes(), "p", &logs, &t, None),
            Err(CheckpointRefused::Origin { .. })
        ));
        // Stream order: a bad one is refused and the next is judged against the
        // last valid one.
        let msgs: Vec<Published> = [three.clone(), two, three, sign(&log, 5, t.root())]
            .into_iter()
            .enumerate()
            .map(|(i, b)| Published {
                sequence: i as u64 + 1,
                subject: "x.checkpoints".into(),
                bytes: b.into_bytes(),
            })
            .collect();
        let v = validate_all(&msgs, "o", &logs, &t);
        assert_eq!(
            v.valid
                .iter()
                .map(|(s, _, c)| (*s, c.size))
                .collect::<Vec<_>>(),
            [(1, 3), (4, 5)]
        );
        assert_eq!(v.refused.len(), 1);
        assert_eq!(v.refused[0].0, 2);
    }

    #[test]
    fn cosignatures_merge_only_under_their_witness_subject() {
        let log = Signer::from_seed("LOG", [1; 32]).unwrap();
        let w = Signer::from_seed("EE-MFA", [3; 32]).unwrap();
        let t = tree(2);
        let note = Checkpoint::new("o", 2, t.root())
            .unwrap()
            .sign(&log)
            .unwrap();
        let mut cosigned = note.clone();
        cosigned
            .signatures
            .push(ledger::checkpoint::cosign(&note.text, &w, 5).unwrap());
        let msg = |subject: &str| Published {
            sequence: 1,
            subject: subject.into(),
            bytes: cosigned.to_text().into_bytes(),
        };
        let mut notes = [note.clone()];
        // Under another member's subject the line is not taken.
        merge_cosignatures(&mut notes, "p", &[msg("p.cosignatures.DE-AA")]);
        assert_eq!(notes[0].signatures.len(), 1);
        merge_cosignatures(&mut notes, "p", &[msg(&cosignature_subject("p", "EE-MFA"))]);
        merge_cosignatures(&mut notes, "p", &[msg("p.cosignatures.EE-MFA")]);
        assert_eq!(notes[0], cosigned, "merged once");
        assert_eq!(cosignature_subject("p", "A.B"), "p.cosignatures.A~B");
    }

    #[test]
    fn checkpoint_streams_are_not_ledger_streams() {
        let names = vec!["TALLINN_A".to_string(), "TALLINN_A_CHECKPOINTS".to_string()];
        assert!(is_checkpoint_stream("TALLINN_A_CHECKPOINTS", &names));
        assert!(!is_checkpoint_stream("TALLINN_A", &names));
        assert!(!is_checkpoint_stream("TALLINN_B_CHECKPOINTS", &names));
        assert_eq!(stream_name("TALLINN_A"), "TALLINN_A_CHECKPOINTS");
        assert_eq!(checkpoint_subject("tallinn.a"), "tallinn.a.checkpoints");
    }
}
