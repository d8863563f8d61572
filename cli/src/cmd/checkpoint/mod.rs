//! `tallinn checkpoint sign|cosign|verify|show`: signed tree heads of the log
//! (C2SP tlog-checkpoint) and member witnesses (cosignature/v1).

mod issuer;
pub(crate) mod keys;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use ledger::calendar::Timestamp;
use ledger::checkpoint::{cosign, Checkpoint, Note, Policy, Verifier, Witness};
use ledger::member::Role;
use ledger::witness::{check_advance, Evidence, EVIDENCE_KIND};
use serde_json::json;

use crate::backend::NatsArgs;
use crate::context::signer;

pub use issuer::*;
pub use keys::*;

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
        CheckpointCommand::Sign { key } => sign(nats, dir, json, now_ms, key).await,
        CheckpointCommand::Cosign { key, note, state } => {
            cosign_note(nats, dir, json, now_ms, key, note, state).await
        }
        CheckpointCommand::Verify(p) => verify(nats, dir, json, p).await,
        CheckpointCommand::Show => show(nats, dir, json).await,
    }
}

async fn sign(nats: &NatsArgs, dir: &Path, json: bool, now_ms: i64, key: PathBuf) -> Result<()> {
    let signer = signer(&key)?;
    let l = crate::backend::open_ledger(nats, dir).await?;
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

async fn cosign_note(
    nats: &NatsArgs,
    dir: &Path,
    json: bool,
    now_ms: i64,
    key: PathBuf,
    note: Option<PathBuf>,
    state: Option<PathBuf>,
) -> Result<()> {
    let signer = signer(&key)?;
    let l = crate::backend::open_ledger(nats, dir).await?;
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
        (None, Stored::Node(_)) => bail!(
            "a node serves this ledger and holds its store: cosign with --state FILE, or stop the node"
        ),
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
        return Err(refusal(e, old.as_ref(), &note, proof, &log, &stored));
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
        Stored::Node(_) => bail!(
            "a node serves this ledger and holds its store: stop the node to store a cosignature"
        ),
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

/// Why a witness refuses to cosign `note`; a log that presented two
/// inconsistent views (`note` against the witness's `old` one) leaves its
/// evidence: kept in the embedded store, or printed on stdout on JetStream.
fn refusal(
    e: ledger::witness::WitnessError,
    old: Option<&Note>,
    note: &Note,
    proof: Vec<ledger::ids::Digest>,
    log: &Verifier,
    stored: &Stored,
) -> anyhow::Error {
    let Some(old) = old.filter(|_| e.is_inconsistency()) else {
        return anyhow!("refused to cosign: {e}");
    };
    let ev = Evidence {
        kind: EVIDENCE_KIND.into(),
        log_key: log.vkey(),
        old_note: old.to_text(),
        new_note: note.to_text(),
        proof,
        reason: e.to_string(),
    };
    if let Stored::Embedded(cs) = stored {
        return match cs.keep_evidence(&ev) {
            Ok(n) => anyhow!(
                "refused to cosign: {e}; evidence #{n} kept (see `tallinn audit equivocation`)"
            ),
            Err(k) => anyhow!("refused to cosign: {e}; keeping the evidence failed: {k}"),
        };
    }
    // On JetStream the witness keeps it: printed on stdout.
    match serde_json::to_string(&ev) {
        Ok(text) => println!("{text}"),
        Err(k) => return anyhow!("refused to cosign: {e}; printing the evidence failed: {k}"),
    }
    anyhow!("refused to cosign: {e}; evidence printed on stdout (check it with `tallinn audit check-equivocation`)")
}

async fn verify(nats: &NatsArgs, dir: &Path, json: bool, p: PolicyArgs) -> Result<()> {
    // Fully offline when the note and every key are given.
    let pinned = (log_verifiers(&p.log_keys)?, witness_keys(&p.witnesses)?);
    let offline = p.note.is_some() && pinned.0.is_some() && pinned.1.is_some();
    let l = if offline {
        None
    } else {
        let log = crate::backend::open_log(nats, dir).await?;
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
        None => bail!("checkpoint does not verify: no log key (the ledger has no coordinator key)"),
    }
}

async fn show(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    let log = crate::backend::open_log(nats, dir).await?;
    let stored = Stored::read(&log).await?;
    let (notes, refused) = match &stored {
        Stored::Embedded(cs) => (cs.all()?, Vec::new()),
        Stored::Node(notes) => (notes.clone(), Vec::new()),
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
