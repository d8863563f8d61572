//! `tallinn bench audit`: audit verify throughput vs the raw ed25519
//! batch-verify rate on all cores, in the same run.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use ledger::checkpoint::{Checkpoint, Note};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::leaf_hash;
use ledger::merkle::MerkleTree;
use ledger::store::Store;
use projector::audit::{Report, Trust};

use crate::context::{log_dir, OPEN_WAIT};

/// Runs the audit benchmark on a fresh demo ledger of at least `events` events.
pub async fn audit(events: u64) -> Result<()> {
    let (dir, played) = crate::cmd::bench::pipeline::demo_ledger(events)?;
    let store = Store::open(&log_dir(&dir), OPEN_WAIT)?;
    let entries = crate::cmd::audit::read_all(&store).await?;
    let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(&e.bytes)).collect();
    let tree = MerkleTree::from_leaves(&leaves);
    // The demo signs (and two members cosign) a checkpoint of its whole log.
    let note = checkpoint_note(&store, &tree)?;
    let bundle_path = dir.join("bundle.json");
    let log = crate::backend::AnyLog::Embedded(store.clone());
    write_bundle(&bundle_path, &log).await?;
    let cores = rayon::current_num_threads();
    // Each figure is the best of two runs, so a neighbour's burst on a shared
    // machine does not decide it; the raw rate is measured before and after.
    let signed = entries.iter().map(|e| e.bytes.len() - 64).sum::<usize>() / entries.len().max(1);
    let msg_len = signed + ledger::event::SIGNING_CONTEXT.len();
    use crate::cmd::bench::pipeline::{raw_batch_rate, LEDGER_VERIFIER, REFERENCE};
    let raw = raw_batch_rate(64 * 4000, msg_len, REFERENCE);
    let summed = raw_batch_rate(64 * 4000, msg_len, LEDGER_VERIFIER);
    drop(note);
    let (file_secs, report) = audit_file_best_of_two(&bundle_path)?;
    let (live_secs, live) = audit_live_best_of_two(&log).await?;
    let raw = raw.max(raw_batch_rate(64 * 4000, msg_len, REFERENCE));
    let summed = summed.max(raw_batch_rate(64 * 4000, msg_len, LEDGER_VERIFIER));
    let n = report.events as f64;
    let total = file_secs;

    println!("raw ed25519 batch verify ({REFERENCE}, {cores} cores, {msg_len}-byte messages): {raw:>10.0} signatures/s");
    println!(
        "raw batch verify ({LEDGER_VERIFIER}, {cores} cores): {summed:>10.0} signatures/s  ({:.2}x the reference)",
        summed / raw
    );
    println!(
        "audit verify of the bundle file (streamed): {:>10.0} events/s  ratio {:.2}x raw ({:.2}x the summed raw)  ({:.2}s)",
        n / total,
        n / total / raw,
        n / total / summed,
        total
    );
    println!(
        "audit verify of the live log (streamed):    {:>10.0} events/s  ratio {:.2}x raw ({:.2}x the summed raw)  ({live_secs:.2}s)",
        n / live_secs,
        n / live_secs / raw,
        n / live_secs / summed
    );
    println!(
        "  {} events, {} signatures verified, {} problems (the demo plants {} invalid events), digest {}",
        report.events,
        report.signatures_verified,
        report.problems.len(),
        played.rejected,
        &report.digest[..16]
    );
    assert_eq!(live.digest, report.digest, "bundle and live audits agree");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The demo's checkpoint of the whole log (signed here if it has none).
fn checkpoint_note(store: &Store, tree: &MerkleTree) -> Result<Note> {
    // The demo signs (and two members cosign) a checkpoint of its whole log.
    let cs = CheckpointStore::open(store.db())?;
    Ok(match cs.get(tree.size())? {
        Some(note) => note,
        None => {
            let coordinator = crate::cmd::demo::demo_signer(42, crate::cmd::demo::COORDINATOR);
            let note = Checkpoint::new(crate::cmd::demo::ORIGIN, tree.size(), tree.root())?
                .sign(&coordinator)?;
            cs.put(tree.size(), &note)?
        }
    })
}

/// Exports the log of `store` as a bundle file at `path` (as `audit export`).
async fn write_bundle(path: &Path, log: &crate::backend::AnyLog) -> Result<()> {
    let t = Instant::now();
    crate::cmd::audit::stream::export_live(log, path, None).await?;
    println!(
        "  bundle exported in {:.2}s ({} MB)",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(path)?.len() >> 20
    );
    Ok(())
}

/// The audit of the bundle file at `path` (as `audit verify FILE`), timed
/// twice: the best time and the report. The best of two, so a neighbour's
/// burst on a shared machine does not decide it.
fn audit_file_best_of_two(path: &Path) -> Result<(f64, Report)> {
    let mut best = f64::MAX;
    let mut report = None;
    for _ in 0..2 {
        let t = Instant::now();
        let r = crate::cmd::audit::stream::verify_file(path, &Trust::default(), None)?;
        best = best.min(t.elapsed().as_secs_f64());
        report = Some(r);
    }
    Ok((best, report.expect("ran")))
}

/// The audit of the live log (as `audit verify`), best of two runs.
async fn audit_live_best_of_two(log: &crate::backend::AnyLog) -> Result<(f64, Report)> {
    let mut best = f64::MAX;
    let mut report = None;
    for _ in 0..2 {
        let t = Instant::now();
        let r = crate::cmd::audit::stream::verify_live(log, &Trust::default(), None).await?;
        best = best.min(t.elapsed().as_secs_f64());
        report = Some(r);
    }
    Ok((best, report.expect("ran")))
}
