//! `tallinn checkpoint sign|cosign|verify|show`: signed tree heads of the log
//! (C2SP tlog-checkpoint) and member witnesses (cosignature/v1).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use ledger::checkpoint::{cosign, Checkpoint, Note, Policy, Verifier, Witness};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::leaf_hash;
use ledger::keys::Signer;
use ledger::log::Log;
use ledger::member::Role;
use ledger::merkle::FullTree;
use ledger::state::State;
use ledger::store::Store;
use ledger::witness::{check_advance, Evidence, EVIDENCE_KIND};
use serde_json::json;

use crate::context::{signer, Ledger};

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
    /// How many distinct witnesses must have cosigned.
    #[arg(long, default_value_t = 0)]
    pub threshold: usize,
}

/// Checkpoints the projector issues as it folds (`projector run|catch-up`).
#[derive(Debug, Args, Clone, Default)]
pub struct IssueArgs {
    /// Sign a checkpoint with this log operator key (a coordinator's) whenever
    /// at least --checkpoint-every events arrived since the last one.
    #[arg(long)]
    pub checkpoint_key: Option<PathBuf>,
    /// Events between issued checkpoints.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
}

impl IssueArgs {
    /// The issuer, if a key was given.
    pub fn issuer(&self, store: &Store) -> Result<Option<Issuer>> {
        let Some(key) = &self.checkpoint_key else {
            return Ok(None);
        };
        let signer = signer(key)?;
        let cs = checkpoint_store(store)?;
        let last = cs.tree()?.size();
        Ok(Some(Issuer {
            signer,
            every: self.checkpoint_every,
            last,
            cs,
            store: store.clone(),
        }))
    }
}

/// Signs checkpoints every N events as a projector advances.
pub struct Issuer {
    signer: Signer,
    every: u64,
    last: u64,
    cs: CheckpointStore,
    store: Store,
}

impl Issuer {
    /// Signs a checkpoint of the first `position` entries if at least `every`
    /// arrived since the last one; `state` is the rules state after them.
    /// Returns the size signed, if any.
    pub fn maybe_sign(&mut self, state: &State, position: u64) -> Result<Option<u64>> {
        if position < self.last + self.every {
            return Ok(None);
        }
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
        let mut tree = self.cs.tree()?;
        while tree.size() < position {
            let batch = self.store.read_sync(tree.size() + 1, 8192)?;
            if batch.is_empty() {
                break;
            }
            for e in batch.iter().take_while(|e| e.position <= position) {
                tree.push(leaf_hash(&e.bytes));
            }
        }
        let cp = Checkpoint::new(origin, tree.size(), tree.root())?;
        self.cs.put(cp.size, &cp.sign(&self.signer)?)?;
        self.cs.set_tree(&tree)?;
        self.last = cp.size;
        tracing::info!(size = cp.size, "checkpoint issued");
        Ok(Some(cp.size))
    }
}

/// A vkey given inline or as a file holding it.
pub fn vkey_arg(flag: &str, value: &str) -> Result<String> {
    if Path::new(value).is_file() {
        let text = std::fs::read_to_string(value).with_context(|| format!("--{flag} {value}"))?;
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
        .members
        .iter()
        .filter(|(_, m)| m.member.roles.contains(&Role::Coordinator))
        .filter_map(|(id, m)| Verifier::new(id.as_str(), m.active_key?).ok())
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

/// Runs a checkpoint command.
pub async fn run(dir: &Path, json: bool, now_ms: i64, cmd: CheckpointCommand) -> Result<()> {
    match cmd {
        CheckpointCommand::Sign { key } => {
            let signer = signer(&key)?;
            let l = Ledger::open(dir).await?;
            l.origin()?;
            let me = l.producer(&signer)?;
            if !l.state.has_role(&me, Role::Coordinator) {
                bail!("{me} does not hold the coordinator role: only a log operator signs checkpoints");
            }
            // Only the entries since the last checkpoint are hashed.
            let mut issuer = Issuer {
                signer,
                every: 0,
                last: 0,
                cs: checkpoint_store(&l.store)?,
                store: l.store.clone(),
            };
            let len = l.store.len().await?;
            issuer.maybe_sign(&l.state, len)?;
            let stored = issuer
                .cs
                .get(len)?
                .ok_or_else(|| anyhow!("checkpoint of size {len} not stored"))?;
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
            let l = Ledger::open(dir).await?;
            let me = l.producer(&signer)?;
            let cs = checkpoint_store(&l.store)?;
            let note = match note {
                Some(p) => read_note("note", &p)?,
                None => cs.latest()?.ok_or_else(|| {
                    anyhow!("no checkpoint yet: the coordinator runs `tallinn checkpoint sign`")
                })?,
            };
            let logs = coordinator_verifiers(&l.state);
            let log = log_signer(&note, &logs)?.clone();
            let cp = Checkpoint::parse_body(&note.text)?;
            let tree = full_tree(&l.store).await?;
            if cp.size > tree.size() {
                bail!(
                    "checkpoint of size {} is beyond the log's {} events",
                    cp.size,
                    tree.size()
                );
            }
            let old = match &state {
                Some(path) if path.exists() => Some(read_note("state", path)?),
                Some(_) => None,
                None => cs.witness_last(me.as_str())?,
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
                    let n = cs.keep_evidence(&Evidence {
                        kind: EVIDENCE_KIND.into(),
                        log_key: log.vkey(),
                        old_note: old.to_text(),
                        new_note: note.to_text(),
                        proof: proof.clone(),
                        reason: e.to_string(),
                    })?;
                    bail!("refused to cosign: {e}; evidence #{n} kept (see `tallinn audit equivocation`)");
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
            let stored = cs.put(cp.size, &cosigned)?;
            match &state {
                Some(path) => write_state(path, &stored)?,
                None => cs.set_witness_last(me.as_str(), &stored)?,
            }
            if json {
                println!(
                    "{}",
                    json!({"size": cp.size, "root": cp.root, "witness": me, "note": stored.to_text()})
                );
            } else {
                print!("{}", stored.to_text());
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
                Some(Ledger::open(dir).await?)
            };
            let note = match (&p.note, &l) {
                (Some(path), _) => read_note("note", path)?,
                (None, Some(l)) => checkpoint_store(&l.store)?
                    .latest()?
                    .ok_or_else(|| anyhow!("no checkpoint yet"))?,
                (None, None) => unreachable!("offline needs --note"),
            };
            let state = l.as_ref().map(|l| &l.state);
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
                    threshold: p.threshold,
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
                                p.threshold
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
            let store = Store::open(&crate::context::log_dir(dir), crate::context::OPEN_WAIT)?;
            let cs = checkpoint_store(&store)?;
            for note in cs.all()? {
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
            Ok(())
        }
    }
}
