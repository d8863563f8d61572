//! The issuer: checkpoints signed as a projector folds (`projector run
//! --checkpoint-key`) or once (`checkpoint sign`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use ledger::calendar::Timestamp;
use ledger::checkpoint::{Checkpoint, Note};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::leaf_hash;
use ledger::keys::Signer;
use ledger::log::Log;
use ledger::merkle::FullTree;
use ledger::state::State;
use ledger::store::Store;
use ledger::subjects::Subjects;

use super::keys::{checkpoint_store, coordinator_verifiers, view};
use crate::backend::checkpoints::NatsCheckpoints;
use crate::backend::AnyLog;
use crate::context::signer;

/// Checkpoints the projector issues as it folds (`projector run|catch-up`).
#[derive(Debug, Args, Clone, Default)]
pub struct IssueArgs {
    /// Sign a checkpoint with this log operator key (a coordinator's) every
    /// --checkpoint-every events and/or every --checkpoint-interval seconds
    /// (kept in the embedded store, or published on the checkpoint stream with --nats).
    #[arg(long)]
    pub checkpoint_key: Option<PathBuf>,
    /// Issue a checkpoint once at least N events arrived since the last one
    /// [default: 1000, unless only --checkpoint-interval is given].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Issue a checkpoint once SECS seconds passed since the last one, if the
    /// log grew meanwhile.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_interval: Option<u64>,
}

/// The default of `--checkpoint-every`.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

impl IssueArgs {
    /// The issuer, if a key was given; `now` is the time the projector starts,
    /// `clock` a fixed time for the checkpoints' `time` line (the global
    /// `--now`; the wall clock otherwise).
    pub async fn issuer(
        &self,
        log: &AnyLog,
        now: Instant,
        clock: Option<Timestamp>,
    ) -> Result<Option<Issuer>> {
        let Some(key) = &self.checkpoint_key else {
            if self.checkpoint_every.is_some() {
                bail!("--checkpoint-every: needs --checkpoint-key");
            }
            if self.checkpoint_interval.is_some() {
                bail!("--checkpoint-interval: needs --checkpoint-key");
            }
            return Ok(None);
        };
        let every = match (self.checkpoint_every, self.checkpoint_interval) {
            (None, None) => Some(DEFAULT_CHECKPOINT_EVERY),
            (n, _) => n,
        };
        let mut issuer = Issuer::new(signer(key)?, log).await?;
        issuer.every = every;
        issuer.interval = self.checkpoint_interval.map(Duration::from_secs);
        issuer.last_at = now;
        issuer.clock = clock;
        Ok(Some(issuer))
    }
}

/// Whether a checkpoint is due: only if the log grew past `last` (the last
/// checkpoint's size), once `every` events arrived since it or `interval`
/// passed since `last_at`. Pure: the time is passed in.
pub fn checkpoint_due(
    position: u64,
    last: u64,
    every: Option<u64>,
    elapsed: Duration,
    interval: Option<Duration>,
) -> bool {
    if position <= last {
        return false;
    }
    every.is_some_and(|n| position >= last.saturating_add(n))
        || interval.is_some_and(|t| elapsed >= t)
}

/// Where an issuer keeps the checkpoints it signs.
#[allow(clippy::large_enum_variant)] // one per issuer; boxing buys nothing
enum Sink {
    /// The embedded store's checkpoint trees (with the Merkle frontier as of the
    /// last checkpoint, so only new entries are hashed).
    Embedded { cs: CheckpointStore, store: Store },
    /// The embedded store, opened only to sign (a follower's).
    Shared(ledger::shared::SharedStore),
    /// The JetStream checkpoint stream; `tree` holds the log's leaves read so far.
    Nats {
        cps: NatsCheckpoints,
        log: AnyLog,
        tree: FullTree,
        /// The subjects chain after each entry hashed so far (`[i]`: of `i + 1`).
        subjects: Vec<ledger::ids::Digest>,
    },
}

/// Signs a timed checkpoint of the first `position` entries of the embedded
/// `store` into `cs` (hashing only the entries after its last checkpoint's
/// Merkle frontier); returns the note as stored. With nothing new since the
/// last checkpoint, that one stands (signing again would give another text,
/// with another time, of one size).
fn sign_embedded(
    cs: &CheckpointStore,
    store: &Store,
    signer: &Signer,
    origin: &str,
    position: u64,
    time: u64,
) -> Result<Note> {
    let (mut tree, mut subjects) = cs.frontier()?;
    if tree.size() >= position {
        if let Some(note) = cs.get(tree.size())? {
            return Ok(note);
        }
    }
    while tree.size() < position {
        let batch = store.read_sync(tree.size() + 1, 8192)?;
        if batch.is_empty() {
            break;
        }
        for e in batch.iter().take_while(|e| e.position <= position) {
            tree.push(leaf_hash(&e.bytes));
            subjects.push_entry(e);
        }
    }
    let cp = Checkpoint::with_time(origin, tree.size(), tree.root(), time)?
        .with_subjects(subjects.digest);
    let stored = cs.put(cp.size, &cp.sign(signer)?)?;
    cs.set_frontier(&tree, &subjects)?;
    Ok(stored)
}

/// Signs checkpoints as a projector advances (or once, for `checkpoint sign`).
pub struct Issuer {
    signer: Signer,
    every: Option<u64>,
    interval: Option<Duration>,
    last: u64,
    last_at: Instant,
    /// A fixed time for the `time` line (`--now`); the wall clock otherwise.
    clock: Option<Timestamp>,
    sink: Sink,
}

impl Issuer {
    /// An issuer signing with `signer` into the checkpoints of `log`: the
    /// embedded store, or the JetStream checkpoint stream (created if missing,
    /// and its checkpoints checked: the last valid one is where it goes on from).
    pub async fn new(signer: Signer, log: &AnyLog) -> Result<Issuer> {
        let (sink, last) = match log {
            AnyLog::Embedded(store) => {
                let cs = checkpoint_store(store)?;
                let last = cs.tree()?.size();
                let sink = Sink::Embedded {
                    cs,
                    store: store.clone(),
                };
                (sink, last)
            }
            AnyLog::Local(l) => bail!(
                "{}: a node serves this ledger and holds its store; its checkpoints are signed with the store (stop the node to sign)",
                l.path().display()
            ),
            AnyLog::Shared(shared) => {
                let last =
                    shared.with(|store| anyhow::Ok(checkpoint_store(store)?.tree()?.size()))?;
                (Sink::Shared(shared.clone()), last)
            }
            AnyLog::Nats(n) => {
                let cps = NatsCheckpoints::open_for_issuing(n).await?;
                let messages = cps.messages().await?;
                let (state, tree) = view(log).await?;
                let last = if state.origin.is_some() {
                    let v = NatsCheckpoints::validate(&messages, &state, &tree)?;
                    for line in crate::backend::checkpoints::refusals(cps.name(), &v) {
                        tracing::warn!("ignored: {line}");
                    }
                    v.valid.last().map_or(0, |(_, _, cp)| cp.size)
                } else {
                    0
                };
                let sink = Sink::Nats {
                    cps,
                    log: log.clone(),
                    tree,
                    subjects: Vec::new(),
                };
                (sink, last)
            }
        };
        Ok(Issuer {
            signer,
            every: None,
            interval: None,
            last,
            last_at: Instant::now(),
            clock: None,
            sink,
        })
    }

    /// Signs a checkpoint of the first `position` entries if one is due (see
    /// [`checkpoint_due`]); `state` is the rules state after them and `now` the
    /// current time. Returns the size signed, if any.
    pub async fn maybe_sign(
        &mut self,
        state: &State,
        position: u64,
        now: Instant,
    ) -> Result<Option<u64>> {
        let elapsed = now.saturating_duration_since(self.last_at);
        if !checkpoint_due(position, self.last, self.every, elapsed, self.interval) {
            return Ok(None);
        }
        let time = match self.clock {
            Some(t) => t,
            None => crate::context::now(None)?,
        };
        let note = self.sign(state, position, time).await?;
        let size = Checkpoint::parse_body(&note.text)?.size;
        self.last_at = now;
        Ok(Some(size))
    }

    /// Signs a checkpoint of the first `position` entries now and stores or
    /// publishes it; returns the note as stored (with any cosignatures already
    /// kept for the same checkpoint on the embedded store).
    /// The checkpoint carries `now` as its signed issue time (`time` line).
    pub async fn sign(&mut self, state: &State, position: u64, now: Timestamp) -> Result<Note> {
        let time = u64::try_from(now.0.div_euclid(1000))
            .map_err(|_| anyhow!("the clock is before 1970: cannot time a checkpoint"))?;
        let origin = state
            .origin
            .as_deref()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet"))?;
        let me = self.signer.name();
        let is_log = coordinator_verifiers(state)
            .iter()
            .any(|v| v.name == me && v.key == self.signer.public_key());
        if !is_log {
            bail!("--checkpoint-key: {me} is not a coordinator with this active key");
        }
        let note = match &mut self.sink {
            Sink::Embedded { cs, store } => {
                sign_embedded(cs, store, &self.signer, origin, position, time)?
            }
            // The store is opened for the signing only (a follower keeps it
            // closed while idle, so producers can append).
            Sink::Shared(shared) => shared.with(|store| {
                let cs = checkpoint_store(store)?;
                sign_embedded(&cs, store, &self.signer, origin, position, time)
            })?,
            Sink::Nats {
                cps,
                log,
                tree,
                subjects,
            } => {
                while tree.size() < position {
                    let batch = log.read(tree.size() + 1, 8192).await?;
                    if batch.is_empty() {
                        break;
                    }
                    for e in &batch {
                        tree.push(leaf_hash(&e.bytes));
                    }
                }
                let size = position.min(tree.size());
                let mut chain = Subjects {
                    size: subjects.len() as u64,
                    digest: subjects.last().copied().unwrap_or_default(),
                };
                while chain.size < size {
                    let batch = log.read(chain.size + 1, 8192).await?;
                    if batch.is_empty() {
                        break;
                    }
                    for e in &batch {
                        chain.push_entry(e);
                        subjects.push(chain.digest);
                    }
                }
                let at = usize::try_from(size).ok().and_then(|s| s.checked_sub(1));
                let digest = at
                    .and_then(|i| subjects.get(i))
                    .copied()
                    .unwrap_or_default();
                let cp = Checkpoint::with_time(origin, size, tree.root_at(size)?, time)?
                    .with_subjects(digest);
                let note = cp.sign(&self.signer)?;
                let seq = cps.publish(&note, state, tree).await?;
                tracing::info!(stream = cps.name(), seq, "checkpoint published");
                note
            }
        };
        let size = Checkpoint::parse_body(&note.text)?.size;
        self.last = size;
        tracing::info!(size, "checkpoint issued");
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_due_by_count_or_time_and_only_if_the_log_grew() {
        let s = Duration::from_secs;
        // By count.
        assert!(!checkpoint_due(12, 10, Some(3), s(0), None));
        assert!(checkpoint_due(13, 10, Some(3), s(0), None));
        // By time, only once the log grew past the last checkpoint.
        assert!(!checkpoint_due(10, 10, None, s(99), Some(s(5))));
        assert!(!checkpoint_due(11, 10, None, s(4), Some(s(5))));
        assert!(checkpoint_due(11, 10, None, s(5), Some(s(5))));
        // Either.
        assert!(checkpoint_due(11, 10, Some(1000), s(5), Some(s(5))));
        assert!(checkpoint_due(1010, 10, Some(1000), s(0), Some(s(5))));
        assert!(!checkpoint_due(9, 10, Some(1), s(9), Some(s(1))));
    }
}
