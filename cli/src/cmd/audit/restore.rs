//! `tallinn audit restore FILE`: a new embedded log from a verified audit
//! bundle (the way back when the log is lost or damaged and another party
//! keeps a bundle): verified first, written beside the ledger's `log/`, read
//! back and audited again, then renamed into place, so a failure at any
//! point leaves no log behind.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ledger::checkpoint::{Checkpoint, Note};
use ledger::checkpoint_store::CheckpointStore;
use ledger::ids::MemberId;
use ledger::store::Store;
use projector::audit::{audit, AuditInput, Report, Trust};
use serde_json::json;

use super::{read_all, read_bundle, EXIT_EVIDENCE_BROKEN};
use crate::context::{log_dir, OPEN_WAIT};

/// Restores the log of `dir` from the bundle `file`, if its evidence holds
/// under `trust`; `dir` must hold no log yet.
pub async fn restore(dir: &Path, file: &Path, trust: &Trust, json: bool) -> Result<()> {
    let target = log_dir(dir);
    if target.exists() {
        bail!(
            "{} exists: restore only into a ledger directory without a log (move the damaged one away first)",
            target.display()
        );
    }
    let input = read_bundle(file)?;
    let report = audit(input.clone(), trust)?;
    if !report.ok() {
        return Err(crate::Exit::new(
            EXIT_EVIDENCE_BROKEN,
            format!(
                "{}: the evidence is broken ({} problem(s): see `tallinn audit verify {}`); nothing restored",
                file.display(),
                report.problems.len(),
                file.display()
            ),
        )
        .into());
    }
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let partial = dir.join("log.restoring");
    if partial.exists() {
        // A restore that was interrupted: never part of a ledger.
        std::fs::remove_dir_all(&partial).with_context(|| partial.display().to_string())?;
    }
    let written = write_log(&partial, &input).await.and_then(|copy| {
        if copy.digest != report.digest || copy.root != report.root {
            bail!(
                "the restored log audits to digest {} and root {}, the bundle to {} and {}",
                copy.digest,
                copy.root,
                report.digest,
                report.root
            );
        }
        Ok(copy)
    });
    let copy = match written {
        Ok(copy) => copy,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e.context("nothing restored"));
        }
    };
    std::fs::rename(&partial, &target).with_context(|| target.display().to_string())?;
    if json {
        println!(
            "{}",
            json!({"log": target, "events": copy.events, "checkpoints": report.checkpoints,
                   "root": copy.root.to_string(), "digest": copy.digest})
        );
    } else {
        println!(
            "restored {} events and {} checkpoints into {}\nmerkle root  {}\ndigest       {} (the bundle's)",
            copy.events,
            report.checkpoints,
            target.display(),
            copy.root,
            copy.digest
        );
    }
    Ok(())
}

/// Writes the bundle's entries (each on the chain of the member the bundle
/// names, verbatim, so the copy is judged as the original) and checkpoints
/// into a new embedded log at `path`, then audits what reads back.
async fn write_log(path: &Path, input: &AuditInput) -> Result<Report> {
    let store = Store::open(path, OPEN_WAIT)?.without_flush();
    let mut last: HashMap<MemberId, u64> = HashMap::new();
    for (i, ev) in input.events.iter().enumerate() {
        let entry = &ev.entry;
        let subject = match &entry.member {
            Some(m) => m.clone(),
            None => ledger::event::Event::from_bytes(&entry.bytes)
                .map(|e| e.envelope().producer.clone())
                .map_err(|e| anyhow!("event {}: no member and it does not decode: {e}", i + 1))?,
        };
        let at = store.append_verbatim_sync(
            &subject,
            last.get(&subject).copied(),
            std::slice::from_ref(&entry.bytes),
            entry.appended_at,
        )?;
        if at != [entry.position] {
            bail!(
                "event {}: stored at position {:?}, the bundle says {}",
                i + 1,
                at,
                entry.position
            );
        }
        last.insert(subject, entry.position);
    }
    let checkpoints = CheckpointStore::open(store.db())?;
    for text in &input.checkpoints {
        let note = Note::parse(text.as_bytes())?;
        let size = Checkpoint::parse_body(&note.text)?.size;
        checkpoints.put(size, &note)?;
    }
    store.flush()?;
    let entries = read_all(&store).await?;
    Ok(audit(
        AuditInput::from_entries(entries, input.checkpoints.clone()),
        &Trust {
            log_keys: None,
            witnesses: None,
            threshold: 0,
        },
    )?)
}
