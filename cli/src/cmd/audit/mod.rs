//! `tallinn audit export|verify|prove|check-proof|equivocation|check-equivocation`:
//! the offline audit bundle and the auditor's commands.

pub mod evidence;
mod mirror;
mod restore;
pub(crate) mod stream;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use ledger::bundle::{check_size, RawBundle};
use ledger::checkpoint::{Checkpoint, Policy};
use ledger::ids::Digest;
use ledger::log::{Entry, Log};
use ledger::store::Store;
use ledger::tlog_proof::{TlogProof, MAX_PROOF_BYTES};
use ledger::witness::{verify_evidence, verify_fork, Evidence, MemberFork, FORK_KIND};
use projector::audit::{audit, AuditInput, Report, Trust};
use rayon::prelude::*;
use serde_json::json;

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::cmd::checkpoint::{
    checkpoint_store, full_tree, log_verifiers, view, witness_keys, PolicyArgs, Stored,
};
use crate::context::{log_dir, OPEN_WAIT};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the self-contained audit bundle (JSON) of the ledger.
    Export {
        /// Where to write it (written beside it as the log is read, then
        /// renamed into place).
        #[arg(long)]
        out: PathBuf,
        /// Where the export keeps its working state (the rules state the
        /// signer keys come from, on disk) [default: the system's temporary
        /// directory, $TMPDIR].
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Verify a bundle FILE, or the live ledger (--dir, or --nats: the events and
    /// checkpoint streams) without FILE: signatures, chains, rules, Merkle roots,
    /// checkpoints, consistency, every stated view; prints the digest.
    /// Exit codes: 0 the evidence holds (entries the ledger refused are listed);
    /// 3 the evidence is broken (AUDIT FAILED); 4 with --fail-on-refused, the
    /// evidence holds but entries were refused; 1 the input cannot be read
    /// (I/O, or a bundle field that does not parse, named); 2 usage.
    Verify {
        /// The bundle [default: the live ledger].
        file: Option<PathBuf>,
        /// Which keys checkpoints must be signed by, and by how many witnesses.
        #[command(flatten)]
        policy: PolicyArgs,
        /// Exit 4 when the log holds entries the ledger refused.
        #[arg(long)]
        fail_on_refused: bool,
        /// Where the audit keeps its working state (the rules state and read
        /// model it folds, on disk, about the size of the events)
        /// [default: the system's temporary directory, $TMPDIR].
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Print an inclusion proof (C2SP tlog-proof) of one event against the latest checkpoint.
    Prove {
        /// The event id (64 hex digits).
        event_id: String,
    },
    /// Check a tlog-proof offline: the checkpoint under the keys given, then the inclusion.
    CheckProof {
        /// The proof file.
        file: PathBuf,
        /// Which keys the checkpoint must be signed by (--log-key is required).
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print portable proofs of equivocation (JSON lines): member forks found in
    /// a bundle FILE or the live ledger, and inconsistent checkpoints kept by witnesses.
    Equivocation {
        /// The bundle [default: the live ledger].
        file: Option<PathBuf>,
    },
    /// Check one portable equivocation proof (a JSON object from `audit equivocation`).
    CheckEquivocation {
        /// The proof file.
        file: PathBuf,
    },
    /// Restore the embedded log of --dir from a bundle FILE whose evidence holds
    /// (the way back when the log is lost or damaged and another party keeps a
    /// bundle): verified, written, read back and audited again, then put in
    /// place; --dir must hold no log yet. Exit codes: 0 restored; 3 the
    /// bundle's evidence is broken (nothing written); 1 other errors.
    Restore {
        /// The bundle.
        file: PathBuf,
        /// Which keys checkpoints must be signed by, and by how many witnesses.
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Copy the JetStream stream (--nats URL) into the embedded log of --dir,
    /// incrementally, verifying every entry with the rules as it goes, then the
    /// checkpoints of its checkpoint stream that hold against the copied log.
    Mirror,
}

fn open_store(dir: &Path) -> Result<Store> {
    if !log_dir(dir).exists() {
        bail!("no ledger in {}: pass --dir", dir.display());
    }
    Ok(Store::open(&log_dir(dir), OPEN_WAIT)?)
}

/// Every entry of a log.
pub async fn read_all<L: Log>(log: &L) -> Result<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    let bar = crate::progress::bar(log.len().await?, "entries read", false);
    loop {
        let batch = log.read(out.len() as u64 + 1, 8192).await?;
        if batch.is_empty() {
            crate::progress::finish(bar);
            return Ok(out);
        }
        out.extend(batch);
        crate::progress::set(&bar, out.len() as u64);
    }
}

/// Reads and decodes a bundle file (size-checked before reading).
pub fn read_bundle(path: &Path) -> Result<AuditInput> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    check_size(meta.len()).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    // The document around the events is checked once; the events are parsed
    // and decoded in parallel (split at their lines when the bundle is laid
    // out one event per line, as `audit export` writes it).
    let (raw, events) = RawBundle::decode_all(&bytes, |raw| {
        (0..raw.events.len())
            .into_par_iter()
            .map(|i| raw.decode_event(i))
            .collect()
    })
    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(AuditInput {
        events,
        checkpoints: raw.checkpoints,
        stated_size: Some(raw.size),
        stated_root: Some(raw.root),
        stated_origin: Some(raw.origin),
    })
}

/// Prints a report: the summary table, then each problem and note.
pub fn print_report(r: &Report, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
        return Ok(());
    }
    let rows: [(&str, String); 12] = [
        ("origin", r.origin.clone().unwrap_or_else(|| "-".into())),
        ("events", r.events.to_string()),
        ("signatures verified", r.signatures_verified.to_string()),
        ("chain links", r.chain_links.to_string()),
        ("accepted", r.accepted.to_string()),
        ("rejected by rules (kept)", r.rejected_by_rules.to_string()),
        (
            "checkpoints verified",
            format!("{} of {}", r.checkpoints_verified, r.checkpoints),
        ),
        ("witness cosignatures", r.cosignatures.to_string()),
        ("covered by checkpoints", r.covered.to_string()),
        ("not yet covered", r.not_yet_covered.to_string()),
        ("merkle root", r.root.to_string()),
        ("digest", r.digest.clone()),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<26}{v}")?;
    }
    let line = |f: &projector::audit::Finding| {
        let at = match (f.position, f.checkpoint) {
            (Some(p), _) => format!("#{p}"),
            (None, Some(s)) => format!("cp@{s}"),
            (None, None) => "-".into(),
        };
        format!(
            "  {:<9} {:<12} {:<16} {:<26} {}",
            at,
            f.id.map(|d| d.short()).unwrap_or_else(|| "-".into()),
            f.member.clone().unwrap_or_else(|| "-".into()),
            f.code,
            f.reason
        )
    };
    if !r.problems.is_empty() {
        writeln!(out, "\nPROBLEMS ({})", r.problems.len())?;
        writeln!(
            out,
            "  {:<9} {:<12} {:<16} {:<26} REASON",
            "WHERE", "ID", "MEMBER", "CODE"
        )?;
        for f in &r.problems {
            writeln!(out, "{}", line(f))?;
        }
    }
    if !r.refused.is_empty() {
        writeln!(
            out,
            "\nREFUSED BY THE LEDGER ({}: kept in the log, counted nowhere)",
            r.refused.len()
        )?;
        for f in &r.refused {
            writeln!(out, "{}", line(f))?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(out, "\nNOTES ({})", r.notes.len())?;
        for f in &r.notes {
            writeln!(out, "{}", line(f))?;
        }
    }
    writeln!(
        out,
        "\n{}",
        if r.ok() { "AUDIT OK" } else { "AUDIT FAILED" }
    )?;
    Ok(())
}

/// The cosignatures `audit verify` asks of every checkpoint unless told
/// otherwise: one witness besides the log operator, and so (see
/// `projector::audit`) every event covered by a checkpoint.
pub const DEFAULT_AUDIT_THRESHOLD: usize = 1;

/// Exit code of `audit verify` when the evidence is broken (AUDIT FAILED).
pub const EXIT_EVIDENCE_BROKEN: u8 = 3;
/// Exit code of refusals: a producer command the ledger's rules refuse
/// (nothing appended), and `audit verify --fail-on-refused` when the evidence
/// holds but the log holds entries the ledger refused.
pub const EXIT_REFUSED: u8 = 4;

fn trust(p: &PolicyArgs) -> Result<Trust> {
    Ok(Trust {
        log_keys: log_verifiers(&p.log_keys)?,
        witnesses: witness_keys(&p.witnesses)?,
        threshold: p.threshold.unwrap_or(DEFAULT_AUDIT_THRESHOLD),
    })
}

/// The events and checkpoint texts of the live ledger (the checkpoints read
/// first, so an honest operator's are all covered by the events read next).
async fn live(log: &AnyLog) -> Result<(Vec<Entry>, Vec<String>)> {
    let checkpoints = Stored::read(log).await?.texts()?;
    let entries = read_all(log).await?;
    Ok((entries, checkpoints))
}

/// The audit input of a bundle file or the live ledger (`--dir`, or `--nats`).
async fn input(nats: &NatsArgs, dir: &Path, file: Option<&Path>) -> Result<AuditInput> {
    match file {
        Some(f) => read_bundle(f),
        None => {
            let log = open_log(nats, dir).await?;
            let (entries, checkpoints) = live(&log).await?;
            Ok(AuditInput::from_entries(entries, checkpoints))
        }
    }
}

/// Runs an audit command (on the embedded store of `dir`, or with `--nats` on
/// the ledger's JetStream streams).
pub async fn run(nats: &NatsArgs, dir: &Path, json: bool, cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Restore { file, policy } => restore(dir, json, file, policy).await,
        AuditCommand::Mirror => mirror::mirror(nats, dir, json).await,
        AuditCommand::Export { out, work_dir } => {
            export_bundle(nats, dir, json, out, work_dir).await
        }
        AuditCommand::Verify {
            file,
            policy,
            fail_on_refused,
            work_dir,
        } => {
            let how = Verify {
                policy,
                fail_on_refused,
                work_dir,
            };
            verify(nats, dir, json, file, how).await
        }
        AuditCommand::Prove { event_id } => prove(nats, dir, event_id).await,
        AuditCommand::CheckProof { file, policy } => check_proof(json, file, policy).await,
        AuditCommand::Equivocation { file } => equivocation(nats, dir, file).await,
        AuditCommand::CheckEquivocation { file } => check_equivocation(file).await,
    }
}

async fn restore(dir: &Path, json: bool, file: PathBuf, policy: PolicyArgs) -> Result<()> {
    restore::restore(dir, &file, &trust(&policy)?, json).await
}

async fn export_bundle(
    nats: &NatsArgs,
    dir: &Path,
    json: bool,
    out: PathBuf,
    work_dir: Option<PathBuf>,
) -> Result<()> {
    let log = open_log(nats, dir).await?;
    let done = stream::export_live(&log, &out, work_dir.as_deref()).await?;
    if json {
        println!(
            "{}",
            json!({"out": out, "events": done.size, "checkpoints": done.checkpoints, "root": done.root})
        );
    } else {
        println!(
            "wrote {}: {} events, {} checkpoints, root {}",
            out.display(),
            done.size,
            done.checkpoints,
            done.root
        );
    }
    Ok(())
}

/// How `audit verify` checks.
struct Verify {
    policy: PolicyArgs,
    fail_on_refused: bool,
    work_dir: Option<PathBuf>,
}

async fn verify(
    nats: &NatsArgs,
    dir: &Path,
    json: bool,
    file: Option<PathBuf>,
    how: Verify,
) -> Result<()> {
    if how.policy.note.is_some() {
        bail!("--note: not used by audit verify (the checkpoints come from the bundle or ledger)");
    }
    let trust = trust(&how.policy)?;
    let work = how.work_dir.as_deref();
    let report = match file {
        Some(f) => stream::verify_file(&f, &trust, work)?,
        None => stream::verify_live(&open_log(nats, dir).await?, &trust, work).await?,
    };
    print_report(&report, json)?;
    if !report.ok() {
        return Err(crate::Exit::new(
            EXIT_EVIDENCE_BROKEN,
            format!(
                "audit failed: {} problem(s) with the evidence",
                report.problems.len()
            ),
        )
        .into());
    }
    if how.fail_on_refused && !report.refused.is_empty() {
        return Err(crate::Exit::new(
            EXIT_REFUSED,
            format!(
                "the evidence holds; {} entries the ledger refused (--fail-on-refused)",
                report.refused.len()
            ),
        )
        .into());
    }
    Ok(())
}

async fn prove(nats: &NatsArgs, dir: &Path, event_id: String) -> Result<()> {
    let id: Digest = event_id
        .parse()
        .map_err(|e| anyhow!("EVENT_ID {event_id:?}: {e}"))?;
    let store = open_log(nats, dir).await?;
    let stored = Stored::read(&store).await?;
    let (note, tree) = match &stored {
        Stored::Embedded(cs) => (cs.latest()?, full_tree(&store).await?),
        Stored::Node(notes) => (notes.last().cloned(), full_tree(&store).await?),
        Stored::Nats(..) => {
            let (state, tree) = view(&store).await?;
            (stored.latest(&state, &tree)?, tree)
        }
    };
    let note = note.ok_or_else(|| {
        anyhow!("no checkpoint yet: the coordinator runs `tallinn checkpoint sign`")
    })?;
    let cp = Checkpoint::parse_body(&note.text)?;
    let index = tree
        .leaves()
        .iter()
        .position(|l| *l == id)
        .ok_or_else(|| anyhow!("no event {id} in the log"))? as u64;
    if index >= cp.size {
        bail!(
            "event {id} at position {} is not yet covered by the latest checkpoint (size {}): sign a new one",
            index + 1,
            cp.size
        );
    }
    let entry = store
        .read(index + 1, 1)
        .await?
        .pop()
        .ok_or_else(|| anyhow!("position {} vanished", index + 1))?;
    let path = tree.inclusion_proof(index, cp.size)?;
    // Never hand out a proof that does not check: the checkpoint must be
    // of this log's events.
    ledger::merkle::verify_inclusion(&id, index, cp.size, &path, &cp.root).map_err(|e| {
        anyhow!(
            "the latest checkpoint (size {}) does not match the log's events: {e}",
            cp.size
        )
    })?;
    let proof = TlogProof {
        extra: entry.bytes,
        index,
        proof: path,
        note: note.to_text(),
    };
    print!("{}", proof.to_text());
    Ok(())
}

async fn check_proof(json: bool, file: PathBuf, policy: PolicyArgs) -> Result<()> {
    if policy.note.is_some() {
        bail!("--note: not used by check-proof (the checkpoint is in the proof)");
    }
    let meta = std::fs::metadata(&file).with_context(|| format!("{}", file.display()))?;
    if meta.len() > MAX_PROOF_BYTES as u64 {
        bail!("{}: larger than 256 KiB", file.display());
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
    let proof = TlogProof::parse(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let logs = log_verifiers(&policy.log_keys)?
        .ok_or_else(|| anyhow!("--log-key: required to check a proof offline"))?;
    let witnesses = witness_keys(&policy.witnesses)?.unwrap_or_default();
    let mut last = None;
    for log in logs {
        let p = Policy {
            log,
            witnesses: witnesses.clone(),
            threshold: policy.threshold.unwrap_or(0),
        };
        match proof.verify(&p) {
            Ok(inc) => {
                let cp = &inc.checkpoint.checkpoint;
                if json {
                    println!(
                        "{}",
                        json!({"ok": true, "id": inc.id, "position": inc.index + 1, "size": cp.size, "root": cp.root, "cosigners": inc.checkpoint.cosigners})
                    );
                } else {
                    println!(
                        "ok: event {} at position {} is included in the checkpoint of size {} root {} (cosigned by {})",
                        inc.id,
                        inc.index + 1,
                        cp.size,
                        cp.root,
                        if inc.checkpoint.cosigners.is_empty() {
                            "none".to_string()
                        } else {
                            inc.checkpoint.cosigners.join(", ")
                        }
                    );
                }
                return Ok(());
            }
            Err(e) => last = Some(e),
        }
    }
    bail!(
        "proof does not verify: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    )
}

async fn equivocation(nats: &NatsArgs, dir: &Path, file: Option<PathBuf>) -> Result<()> {
    let live = file.is_none() && !nats.enabled();
    let input = input(nats, dir, file.as_deref()).await?;
    let leaves: Vec<Vec<u8>> = input.events.iter().map(|e| e.entry.bytes.clone()).collect();
    let report = audit(input, &Trust::default())?;
    let mut out = std::io::stdout().lock();
    let mut found = 0;
    for f in &report.forks {
        let fork = MemberFork {
            kind: FORK_KIND.into(),
            vkey: f.vkey.clone(),
            events: [
                hex::encode(&leaves[f.first as usize - 1]),
                hex::encode(&leaves[f.second as usize - 1]),
            ],
        };
        writeln!(out, "{}", serde_json::to_string(&fork)?)?;
        found += 1;
    }
    if live {
        for ev in checkpoint_store(&open_store(dir)?)?.evidence()? {
            writeln!(out, "{}", serde_json::to_string(&ev)?)?;
            found += 1;
        }
    }
    if found == 0 {
        eprintln!("no equivocation found");
    }
    Ok(())
}

async fn check_equivocation(file: PathBuf) -> Result<()> {
    let meta = std::fs::metadata(&file).with_context(|| format!("{}", file.display()))?;
    if meta.len() > 1 << 20 {
        bail!("{}: larger than 1 MiB", file.display());
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    if value["kind"] == FORK_KIND {
        let fork: MemberFork =
            serde_json::from_value(value).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let f = verify_fork(&fork).map_err(|e| anyhow!("not a proof of a fork: {e}"))?;
        println!(
            "proven: {} signed two different events with seq {}: {} and {}",
            f.member, f.seq, f.ids[0], f.ids[1]
        );
    } else {
        let ev: Evidence =
            serde_json::from_value(value).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        match verify_evidence(&ev).map_err(|e| anyhow!("not evidence of a fork: {e}"))? {
            ledger::witness::EvidenceVerdict::SameSizeFork { size } => println!(
                "proven: the log signed two different trees of size {size}"
            ),
            ledger::witness::EvidenceVerdict::ProofFails { reason } => println!(
                "evidence: both checkpoints are signed by the log and its consistency proof fails ({reason}); conclusive together with the log's events"
            ),
        }
    }
    Ok(())
}
