//! Which keys sign and witness checkpoints, the checkpoints a ledger keeps,
//! and the tree of its leaves.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use ledger::checkpoint::{Note, Verifier, Witness};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::leaf_hash;
use ledger::log::Log;
use ledger::merkle::FullTree;
use ledger::state::State;
use ledger::store::Store;

use crate::backend::checkpoints::NatsCheckpoints;
use crate::backend::AnyLog;

/// The rules state after every entry of `log` and the Merkle tree of its leaves,
/// in one pass.
pub async fn view<L: Log>(log: &L) -> Result<(State, FullTree)> {
    let mut state = State::new();
    let mut tree = FullTree::new();
    loop {
        let batch = log.read(tree.size() + 1, 8192).await?;
        if batch.is_empty() {
            return Ok((state, tree));
        }
        crate::context::replay_entries(&mut state, &batch);
        for e in &batch {
            tree.push(leaf_hash(&e.bytes));
        }
    }
}

/// The checkpoints of a ledger, read before its events (so that, from an honest
/// operator, none is of a size beyond the events read next).
#[allow(clippy::large_enum_variant)] // one per command; boxing buys nothing
pub enum Stored {
    /// The embedded store's checkpoint trees (written only after checks).
    Embedded(CheckpointStore),
    /// The messages of the JetStream checkpoint stream, checked when used.
    Nats(NatsCheckpoints, Vec<tallinn_nats::checkpoints::Published>),
    /// The checkpoints of an embedded store a node holds, read through its
    /// socket (its checkpoint trees, written only after checks); read-only.
    Node(Vec<Note>),
}

impl Stored {
    /// Reads the checkpoints of `log`'s ledger.
    pub async fn read(log: &AnyLog) -> Result<Stored> {
        match log {
            AnyLog::Embedded(store) => Ok(Stored::Embedded(checkpoint_store(store)?)),
            AnyLog::Shared(_) => {
                bail!("the checkpoints of a shared store are read through its store")
            }
            AnyLog::Local(l) => {
                let notes = l
                    .checkpoint_texts()
                    .await?
                    .iter()
                    .map(|t| Note::parse(t.as_bytes()))
                    .collect::<Result<Vec<Note>, _>>()
                    .map_err(|e| anyhow!("{}: a stored checkpoint: {e}", l.path().display()))?;
                Ok(Stored::Node(notes))
            }
            AnyLog::Nats(n) => {
                let cps = NatsCheckpoints::open(n).await?;
                let messages = cps.messages().await?;
                Ok(Stored::Nats(cps, messages))
            }
        }
    }

    /// Every checkpoint of `log`'s ledger as text, unchecked, on any backend
    /// (a shared embedded store is read while it is open, then left to close).
    pub async fn texts_of(log: &AnyLog) -> Result<Vec<String>> {
        match log {
            AnyLog::Shared(s) => s.with(|store| -> Result<Vec<String>> {
                Ok(checkpoint_store(store)?
                    .all()?
                    .iter()
                    .map(Note::to_text)
                    .collect())
            }),
            log => Stored::read(log).await?.texts(),
        }
    }

    /// Every checkpoint as text, unchecked: what the auditor judges.
    pub fn texts(&self) -> Result<Vec<String>> {
        match self {
            Stored::Embedded(cs) => Ok(cs.all()?.iter().map(Note::to_text).collect()),
            Stored::Nats(cps, messages) => Ok(cps.texts(messages)),
            Stored::Node(notes) => Ok(notes.iter().map(Note::to_text).collect()),
        }
    }

    /// The checkpoints that hold against the log (`state` after its events,
    /// `tree` of them), by increasing size, and one line per refused message.
    pub fn checked(&self, state: &State, tree: &FullTree) -> Result<(Vec<Note>, Vec<String>)> {
        match self {
            Stored::Embedded(cs) => Ok((cs.all()?, Vec::new())),
            Stored::Node(notes) => Ok((notes.clone(), Vec::new())),
            Stored::Nats(cps, messages) => {
                if state.origin.is_none() {
                    return Ok((Vec::new(), Vec::new()));
                }
                let v = NatsCheckpoints::validate(messages, state, tree)?;
                let refused = crate::backend::checkpoints::refusals(cps.name(), &v);
                let mut notes: Vec<Note> = v.valid.into_iter().map(|(_, n, _)| n).collect();
                cps.merge(&mut notes, messages);
                Ok((notes, refused))
            }
        }
    }

    /// The latest checkpoint that holds against the log; refusals are logged.
    pub fn latest(&self, state: &State, tree: &FullTree) -> Result<Option<Note>> {
        let (mut valid, refused) = self.checked(state, tree)?;
        for line in refused {
            tracing::warn!("ignored: {line}");
        }
        Ok(valid.pop())
    }
}

/// A vkey given inline or as a file holding it.
pub fn vkey_arg(flag: &str, value: &str) -> Result<String> {
    if Path::new(value).exists() {
        let text =
            ledger::keyfile::read_small(Path::new(value), ledger::keyfile::MAX_KEY_FILE_BYTES)
                .map_err(|e| anyhow!("--{flag}: {e}"))?;
        return Ok(text.trim().to_string());
    }
    Ok(value.trim().to_string())
}

/// Parses `--log-key` values.
pub fn log_verifiers(values: &[String]) -> Result<Option<Vec<Verifier>>> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .map(|v| {
            Verifier::from_vkey(&vkey_arg("log-key", v)?).map_err(|e| anyhow!("--log-key {v}: {e}"))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Parses `--witness` values.
pub fn witness_keys(values: &[String]) -> Result<Option<Vec<Witness>>> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .map(|v| {
            Witness::from_vkey(&vkey_arg("witness", v)?).map_err(|e| anyhow!("--witness {v}: {e}"))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The log keys the ledger designates: its coordinators' active keys.
pub fn coordinator_verifiers(state: &State) -> Vec<Verifier> {
    state
        .coordinators()
        .filter_map(|(id, m)| Verifier::new(id.as_str(), m.active_key?).ok())
        .collect()
}

/// The log keys a stored checkpoint may carry: every key a coordinator has held
/// (active or rotated away). Only for checkpoints whose root is also checked
/// against the log (a key rotated away can then vouch only for the truth); new
/// checkpoints need an active key ([`coordinator_verifiers`]).
pub fn coordinator_verifiers_ever(state: &State) -> Vec<Verifier> {
    state
        .coordinator_keys_ever()
        .filter_map(|(id, key)| Verifier::new(id.as_str(), key).ok())
        .collect()
}

/// Every member's active key, as a witness.
pub fn member_witnesses(state: &State) -> Vec<Witness> {
    state
        .members
        .iter()
        .filter_map(|(id, m)| Witness::new(id.as_str(), m.active_key?).ok())
        .collect()
}

/// The checkpoint trees of an open store.
pub fn checkpoint_store(store: &Store) -> Result<CheckpointStore> {
    Ok(CheckpointStore::open(store.db())?)
}

/// Leaf hashes of the whole log, as a tree.
pub async fn full_tree<L: Log>(log: &L) -> Result<FullTree> {
    let mut tree = FullTree::new();
    loop {
        let batch = log.read(tree.size() + 1, 8192).await?;
        if batch.is_empty() {
            return Ok(tree);
        }
        for e in &batch {
            tree.push(leaf_hash(&e.bytes));
        }
    }
}
