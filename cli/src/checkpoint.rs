//! `tallinn checkpoint sign|cosign|verify|show`: signed tree heads of the log
//! (C2SP tlog-checkpoint) and member witnesses (cosignature/v1).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use ledger::calendar::Timestamp;
use ledger::checkpoint::{cosign, Checkpoint, Note, Policy, Verifier, Witness};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::leaf_hash;
use ledger::ids::MemberId;
use ledger::keys::Signer;
use ledger::log::Log;
use ledger::member::Role;
use ledger::merkle::FullTree;
use ledger::state::{MemberState, State};
use ledger::store::Store;
use ledger::subjects::Subjects;
use ledger::witness::{check_advance, Evidence, EVIDENCE_KIND};
use serde_json::json;

use crate::context::signer;
use crate::nats::checkpoints::NatsCheckpoints;
use crate::nats::{AnyLog, NatsArgs};

/// Checkpoint commands.
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Sign a checkpoint of the whole log now (the coordinator, as log operator).
    Sign {
        /// The log operator's key file (a member with the coordinator role).
        #[arg(long, env = "TALLINN_KEY")]
        key: PathBuf,
    },
    /// Cosign a checkpoint as a witness (any member), after checking it is
    /// consistent with the last one this witness cosigned.
    Cosign {
        /// The witness's key file (its name is the member id).
        #[arg(long, env = "TALLINN_KEY")]
        key: PathBuf,
        /// The signed checkpoint note to cosign [default: the latest stored].
        #[arg(long)]
        note: Option<PathBuf>,
        /// The witness's own state file: the last note it cosigned, read before
        /// and replaced after [default: kept in the ledger's database, which the
        /// log operator controls].
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Verify a checkpoint: the log key and at least K of the witness keys.
    Verify(PolicyArgs),
    /// List the stored checkpoints.
    Show,
}

/// Which keys a checkpoint must be signed by.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// The signed checkpoint note to verify [default: the latest stored].
    #[arg(long)]
    pub note: Option<PathBuf>,
    /// The log key (vkey, or a file holding it) [default: the ledger's coordinators].
    #[arg(long = "log-key")]
    pub log_keys: Vec<String>,
    /// A witness key (vkey or file; repeat) [default: every member's active key].
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// How many distinct witnesses must have cosigned [default: 1 for `audit
    /// verify`, which then also needs every event covered by a checkpoint; 0
    /// elsewhere].
    #[arg(long)]
    pub threshold: Option<usize>,
}

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
                    for line in crate::nats::checkpoints::refusals(cps.name(), &v) {
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
}

impl Stored {
    /// Reads the checkpoints of `log`'s ledger.
    pub async fn read(log: &AnyLog) -> Result<Stored> {
        match log {
            AnyLog::Embedded(store) => Ok(Stored::Embedded(checkpoint_store(store)?)),
            AnyLog::Shared(_) => {
                bail!("the checkpoints of a shared store are read through its store")
            }
            AnyLog::Nats(n) => {
                let cps = NatsCheckpoints::open(n).await?;
                let messages = cps.messages().await?;
                Ok(Stored::Nats(cps, messages))
            }
        }
    }

    /// Every checkpoint as text, unchecked: what the auditor judges.
    pub fn texts(&self) -> Result<Vec<String>> {
        match self {
            Stored::Embedded(cs) => Ok(cs.all()?.iter().map(Note::to_text).collect()),
            Stored::Nats(cps, messages) => Ok(cps.texts(messages)),
        }
    }

    /// The checkpoints that hold against the log (`state` after its events,
    /// `tree` of them), by increasing size, and one line per refused message.
    pub fn checked(&self, state: &State, tree: &FullTree) -> Result<(Vec<Note>, Vec<String>)> {
        match self {
            Stored::Embedded(cs) => Ok((cs.all()?, Vec::new())),
            Stored::Nats(cps, messages) => {
                if state.origin.is_none() {
                    return Ok((Vec::new(), Vec::new()));
                }
                let v = NatsCheckpoints::validate(messages, state, tree)?;
                let refused = crate::nats::checkpoints::refusals(cps.name(), &v);
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
    coordinators(state)
        .filter_map(|(id, m)| Verifier::new(id.as_str(), m.active_key?).ok())
        .collect()
}

/// The members with the coordinator role.
fn coordinators(state: &State) -> impl Iterator<Item = (&MemberId, &MemberState)> {
    state
        .members
        .iter()
        .filter(|(_, m)| m.member.roles.contains(&Role::Coordinator))
}

/// The log keys a stored checkpoint may carry: every key a coordinator has held
/// (active or rotated away). Only for checkpoints whose root is also checked
/// against the log (a key rotated away can then vouch only for the truth); new
/// checkpoints need an active key ([`coordinator_verifiers`]).
pub fn coordinator_verifiers_ever(state: &State) -> Vec<Verifier> {
    // `past_keys` holds every key a member has held, the active one included.
    coordinators(state)
        .flat_map(|(id, m)| {
            m.past_keys
                .iter()
                .filter_map(move |k| Verifier::new(id.as_str(), *k).ok())
        })
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

fn read_note(flag: &str, path: &Path) -> Result<Note> {
    let meta = std::fs::metadata(path).with_context(|| format!("--{flag} {}", path.display()))?;
    if meta.len() > ledger::bundle::MAX_NOTE_BYTES as u64 {
        bail!("--{flag} {}: larger than 64 KiB", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("--{flag} {}", path.display()))?;
    Note::parse(&bytes).map_err(|e| anyhow!("--{flag} {}: {e}", path.display()))
}

/// Replaces a witness state file: a temporary file beside it, then a rename.
fn write_state(path: &Path, note: &Note) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, note.to_text()).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("--state {}", path.display()));
    }
    Ok(())
}

/// Verifies `note` is signed by one of `logs`; returns that verifier.
fn log_signer<'a>(note: &Note, logs: &'a [Verifier]) -> Result<&'a Verifier> {
    let ok = ledger::checkpoint::verify_note(note, logs)
        .map_err(|e| anyhow!("checkpoint log signature: {e}"))?;
    Ok(ok[0])
}

/// Runs a checkpoint command: on the embedded store of `dir`, or with `--nats`
/// on the ledger's JetStream streams.
pub async fn run(
    nats: &NatsArgs,
    dir: &Path,
    json: bool,
    now_ms: i64,
    cmd: CheckpointCommand,
) -> Result<()> {
    match cmd {
        CheckpointCommand::Sign { key } => {
            let signer = signer(&key)?;
            let l = crate::nats::open_ledger(nats, dir).await?;
            l.origin()?;
            let me = l.producer(&signer)?;
            if !l.state.has_role(&me, Role::Coordinator) {
                bail!("{me} does not hold the coordinator role: only a log operator signs checkpoints");
            }
            // Only the entries since the last checkpoint are hashed (embedded).
            let mut issuer = Issuer::new(signer, &l.store).await?;
            let len = l.judged.last().map_or(0, |j| j.position);
            let stored = issuer.sign(&l.state, len, Timestamp(now_ms)).await?;
            let cp = Checkpoint::parse_body(&stored.text)?;
            if json {
                println!(
                    "{}",
                    json!({"size": cp.size, "root": cp.root, "note": stored.to_text()})
                );
            } else {
                print!("{}", stored.to_text());
            }
            Ok(())
        }
        CheckpointCommand::Cosign { key, note, state } => {
            let signer = signer(&key)?;
            let l = crate::nats::open_ledger(nats, dir).await?;
            let me = l.producer(&signer)?;
            // Where the checkpoints are, and where this witness's history is
            // kept: the ledger's database, or its own cosignature subject.
            let stored = Stored::read(&l.store).await?;
            let tree = full_tree(&l.store).await?;
            let note = match note {
                Some(p) => read_note("note", &p)?,
                None => stored.latest(&l.state, &tree)?.ok_or_else(|| {
                    anyhow!("no checkpoint yet: the coordinator runs `tallinn checkpoint sign`")
                })?,
            };
            let logs = coordinator_verifiers(&l.state);
            let log = log_signer(&note, &logs)?.clone();
            let cp = Checkpoint::parse_body(&note.text)?;
            if cp.size > tree.size() {
                bail!(
                    "checkpoint of size {} is beyond the log's {} events",
                    cp.size,
                    tree.size()
                );
            }
            let witness = Witness::new(me.as_str(), signer.public_key())?;
            let old = match (&state, &stored) {
                (Some(path), _) if path.exists() => Some(read_note("state", path)?),
                (Some(_), _) => None,
                (None, Stored::Embedded(cs)) => cs.witness_last(me.as_str())?,
                (None, Stored::Nats(cps, messages)) => cps.last_cosigned(&witness, messages),
            };
            let old_cp = old
                .as_ref()
                .map(|n| Checkpoint::parse_body(&n.text))
                .transpose()?;
            let proof = match &old_cp {
                Some(o) if o.size <= cp.size => tree.consistency_proof(o.size, cp.size)?,
                _ => Vec::new(),
            };
            if let Err(e) = check_advance(old_cp.as_ref(), &cp, &proof) {
                if let (true, Some(old)) = (e.is_inconsistency(), &old) {
                    let ev = Evidence {
                        kind: EVIDENCE_KIND.into(),
                        log_key: log.vkey(),
                        old_note: old.to_text(),
                        new_note: note.to_text(),
                        proof: proof.clone(),
                        reason: e.to_string(),
                    };
                    if let Stored::Embedded(cs) = &stored {
                        let n = cs.keep_evidence(&ev)?;
                        bail!("refused to cosign: {e}; evidence #{n} kept (see `tallinn audit equivocation`)");
                    }
                    // On JetStream the witness keeps it: printed on stdout.
                    println!("{}", serde_json::to_string(&ev)?);
                    bail!("refused to cosign: {e}; evidence printed on stdout (check it with `tallinn audit check-equivocation`)");
                }
                bail!("refused to cosign: {e}");
            }
            let root = tree.root_at(cp.size)?;
            if root != cp.root {
                bail!(
                    "refused to cosign: checkpoint of size {} states root {}, the log gives {root}",
                    cp.size,
                    cp.root
                );
            }
            let secs = (now_ms.max(0) / 1000) as u64;
            let mut cosigned = note.clone();
            cosigned.signatures.push(cosign(&note.text, &signer, secs)?);
            let stored_note = match &stored {
                Stored::Embedded(cs) => {
                    let merged = cs.put(cp.size, &cosigned)?;
                    if state.is_none() {
                        cs.set_witness_last(me.as_str(), &merged)?;
                    }
                    merged
                }
                Stored::Nats(cps, messages) => {
                    cps.publish_cosigned(me.as_str(), &cosigned, messages)
                        .await?;
                    cosigned
                }
            };
            if let Some(path) = &state {
                write_state(path, &stored_note)?;
            }
            if json {
                println!(
                    "{}",
                    json!({"size": cp.size, "root": cp.root, "witness": me, "note": stored_note.to_text()})
                );
            } else {
                print!("{}", stored_note.to_text());
            }
            Ok(())
        }
        CheckpointCommand::Verify(p) => {
            // Fully offline when the note and every key are given.
            let pinned = (log_verifiers(&p.log_keys)?, witness_keys(&p.witnesses)?);
            let offline = p.note.is_some() && pinned.0.is_some() && pinned.1.is_some();
            let l = if offline {
                None
            } else {
                let log = crate::nats::open_log(nats, dir).await?;
                let stored = if p.note.is_none() {
                    Some(Stored::read(&log).await?)
                } else {
                    None
                };
                let (state, tree) = view(&log).await?;
                Some((state, tree, stored))
            };
            let note = match (&p.note, &l) {
                (Some(path), _) => read_note("note", path)?,
                (None, Some((state, tree, Some(stored)))) => stored
                    .latest(state, tree)?
                    .ok_or_else(|| anyhow!("no checkpoint yet"))?,
                (None, _) => unreachable!("offline needs --note"),
            };
            let state = l.as_ref().map(|l| &l.0);
            let logs = match (pinned.0, state) {
                (Some(v), _) => v,
                (None, Some(st)) => coordinator_verifiers(st),
                (None, None) => unreachable!("offline needs --log-key"),
            };
            let witnesses = match (pinned.1, state) {
                (Some(v), _) => v,
                (None, Some(st)) => member_witnesses(st),
                (None, None) => unreachable!("offline needs --witness"),
            };
            let text = note.to_text();
            let mut last_err = None;
            for log in logs {
                let policy = Policy {
                    log,
                    witnesses: witnesses.clone(),
                    threshold: p.threshold.unwrap_or(0),
                };
                match policy.verify(text.as_bytes()) {
                    Ok(v) => {
                        let cp = &v.checkpoint;
                        if json {
                            println!(
                                "{}",
                                json!({"ok": true, "size": cp.size, "root": cp.root, "log": policy.log.name, "cosigners": v.cosigners})
                            );
                        } else {
                            println!(
                                "ok: checkpoint of size {} root {} signed by {}, cosigned by {} of {} witnesses (threshold {})",
                                cp.size,
                                cp.root,
                                policy.log.name,
                                v.cosigners.len(),
                                policy.witnesses.len(),
                                p.threshold.unwrap_or(0)
                            );
                        }
                        return Ok(());
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            match last_err {
                Some(e) => bail!("checkpoint does not verify: {e}"),
                None => bail!(
                    "checkpoint does not verify: no log key (the ledger has no coordinator key)"
                ),
            }
        }
        CheckpointCommand::Show => {
            let log = crate::nats::open_log(nats, dir).await?;
            let stored = Stored::read(&log).await?;
            let (notes, refused) = match &stored {
                Stored::Embedded(cs) => (cs.all()?, Vec::new()),
                Stored::Nats(..) => {
                    let (state, tree) = view(&log).await?;
                    stored.checked(&state, &tree)?
                }
            };
            for note in notes {
                let cp = Checkpoint::parse_body(&note.text)?;
                let names: Vec<&str> = note.signatures.iter().map(|s| s.name.as_str()).collect();
                if json {
                    println!(
                        "{}",
                        json!({"size": cp.size, "root": cp.root, "signers": names, "note": note.to_text()})
                    );
                } else {
                    println!("{:>8}  {}  {}", cp.size, cp.root, names.join(", "));
                }
            }
            if let Some(first) = refused.first() {
                bail!(
                    "{} checkpoint message(s) refused (not shown); first: {first}",
                    refused.len()
                );
            }
            Ok(())
        }
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
