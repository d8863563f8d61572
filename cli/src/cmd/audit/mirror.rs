//! `tallinn audit mirror`: a member's own embedded copy of a JetStream
//! ledger, verified as it is copied: its guarantee against an operator who
//! erases or rewrites history.

use std::path::Path;

use anyhow::{bail, Context, Result};
use ledger::ids::MemberId;
use ledger::log::Log;
use ledger::store::Store;

use crate::backend::checkpoints::NatsCheckpoints;
use crate::backend::NatsArgs;
use crate::context::{log_dir, Ledger, OPEN_WAIT};
use tallinn_nats::checkpoints::Published;
use tallinn_nats::NatsLog;

/// `audit mirror --nats URL --dir DIR`: copies the stream into the embedded log of
/// DIR, incrementally (from its length on), verifying as it goes: every entry is
/// judged by the rules, positions must follow on, and an entry already mirrored
/// must be byte-identical to the stream's. Then the checkpoints of the checkpoint
/// stream that hold against the mirrored log (log signature, size, root, order)
/// go into DIR's checkpoint store; the others are named and make it fail.
pub async fn mirror(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    if !nats.enabled() {
        bail!("--nats: audit mirror copies a JetStream stream; give its server URL");
    }
    let log = nats.open().await?;
    // Read before the events: every honest checkpoint is then covered by them.
    let cps = NatsCheckpoints::open(&log).await?;
    let cp_messages = cps.messages().await?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let local = Store::open(&log_dir(dir), OPEN_WAIT)?.without_flush();
    let mut replay = Ledger::replay(local.clone()).await?;
    let have = local.len_sync()?;
    refuse_lost_history(dir, &local, &log, have).await?;
    let (copied, rejected) = copy_new(&log, &local, &mut replay, have).await?;
    local.flush()?;
    let len = local.len_sync()?;
    let (kept, refused) = keep_checkpoints(&local, &cps, &cp_messages, &replay).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"stream": log.name(), "copied": copied, "length": len, "rejected_in_copy": rejected,
                "checkpoints": kept, "checkpoints_refused": refused.len()})
        );
    } else {
        println!(
            "mirrored {copied} new events from stream {} into {} (now {len} events; {rejected} of the new ones rejected by the rules); {kept} checkpoints from {}",
            log.name(),
            dir.display(),
            cps.name()
        );
    }
    if let Some(first) = refused.first() {
        bail!(
            "{} checkpoint message(s) refused, not mirrored (see `tallinn audit verify --nats`); first: {first}",
            refused.len()
        );
    }
    Ok(())
}

/// Refuses (keeping the evidence) a stream that no longer holds every entry
/// of the copy (nothing removed) or whose entry at the copy's length differs
/// (nothing rewritten).
async fn refuse_lost_history(dir: &Path, local: &Store, log: &NatsLog, have: u64) -> Result<()> {
    // The stream must still hold every entry (nothing removed), and the last
    // mirrored entry must still be the stream's (nothing rewritten).
    // Each refusal keeps its evidence (see `crate::evidence`).
    let evidence = |loss| super::evidence::keep(dir, local, log, log.name(), loss);
    if let Some(hole) = log.lost_entries().await? {
        let kept = match super::evidence::first_missing(log, have).await? {
            Some(p) => {
                let path = evidence(super::evidence::Loss::Hole(p)).await?;
                format!("; evidence in {}", path.display())
            }
            None => String::new(),
        };
        bail!(
            "{hole}: history was deleted; the copy in {} keeps it (verify it with `tallinn --dir {} audit verify`; re-seed a new stream from it with `tallinn deploy reseed`){kept}",
            dir.display(),
            dir.display()
        );
    }
    let theirs_len = log.len().await?;
    if theirs_len < have {
        let path = evidence(super::evidence::Loss::Shorter(theirs_len)).await?;
        bail!(
            "stream {} holds {theirs_len} entries, this copy in {} holds {have}: history was deleted or the stream replaced; \
             the copy keeps it (verify it with `tallinn --dir {} audit verify`; re-seed a new stream from it with `tallinn deploy reseed`); evidence in {}",
            log.name(),
            dir.display(),
            dir.display(),
            path.display()
        );
    }
    if have > 0 {
        let theirs = log.read(have, 1).await?;
        let ours = local.read_sync(have, 1)?;
        if theirs.first().map(|e| &e.bytes) != ours.first().map(|e| &e.bytes) {
            let path = evidence(super::evidence::Loss::Rewritten(have)).await?;
            bail!(
                "position {have} differs between {} and stream {}: the stream was rewritten or this is another ledger; evidence in {}",
                dir.display(),
                log.name(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Copies the stream's entries after `have` into `local` exactly (each on
/// the subject that carried it), judging them as it goes; returns the
/// entries copied and how many the rules did not accept.
async fn copy_new(
    log: &NatsLog,
    local: &Store,
    replay: &mut Ledger<Store>,
    have: u64,
) -> Result<(u64, u64)> {
    let target = log.len().await?;
    let mut copied = 0u64;
    let mut rejected = 0u64;
    let mut from = have + 1;
    let bar = crate::progress::bar(target.saturating_sub(have), "entries mirrored", false);
    while from <= target {
        crate::progress::set(&bar, from - have - 1);
        let batch = log.read(from, 4096).await?;
        if batch.is_empty() {
            break;
        }
        // Judged as a batch (batch verification on all cores), appended one by one.
        let judged = crate::context::replay_entries(&mut replay.state, &batch);
        for (e, j) in batch.iter().zip(judged) {
            if e.position != local.len_sync()? + 1 {
                bail!("stream {} skipped to position {}", log.name(), e.position);
            }
            if !matches!(j.outcome, Some(ledger::rules::Outcome::Accepted)) {
                rejected += 1;
            }
            // Copied exactly, on the subject that carried it: malformed bytes
            // and events on another member's subject too (the log is
            // immutable, and the copy must be judged as the stream is).
            let subject = match (&e.member, &j.event) {
                (Some(m), _) => m.clone(),
                (None, Ok(ev)) => ev.envelope().producer.clone(),
                (None, Err(_)) => MemberId::unnamed_subject(),
            };
            let expected = local.last_of_sync(&subject)?.map(|x| x.position);
            local.append_verbatim_sync(
                &subject,
                expected,
                std::slice::from_ref(&e.bytes),
                e.appended_at,
            )?;
            replay.judged.push(j);
            copied += 1;
        }
        from = batch.last().map_or(from, |e| e.position + 1);
    }
    crate::progress::finish(bar);
    Ok((copied, rejected))
}

/// Puts the checkpoint stream's messages that hold against the mirrored log
/// into its checkpoint store; returns how many were kept and why the others
/// were refused.
async fn keep_checkpoints(
    local: &Store,
    cps: &NatsCheckpoints,
    cp_messages: &[Published],
    replay: &Ledger<Store>,
) -> Result<(usize, Vec<String>)> {
    Ok(if replay.state.origin.is_some() {
        let tree = crate::cmd::checkpoint::full_tree(local).await?;
        let v = NatsCheckpoints::validate(cp_messages, &replay.state, &tree)?;
        let cs = crate::cmd::checkpoint::checkpoint_store(local)?;
        let mut notes: Vec<ledger::checkpoint::Note> =
            v.valid.iter().map(|(_, n, _)| n.clone()).collect();
        cps.merge(&mut notes, cp_messages);
        for ((_, _, cp), note) in v.valid.iter().zip(&notes) {
            cs.put(cp.size, note)?;
        }
        (
            v.valid.len(),
            crate::backend::checkpoints::refusals(cps.name(), &v),
        )
    } else {
        (0, Vec::new())
    })
}
