//! `tallinn log`: the entries of the log with their outcomes, read from the
//! log (only the entries shown: `--from`/`--limit`, or a member's through its
//! index with `--member`) and the outcomes from the projector, caught up
//! first: nothing is replayed.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use ledger::event::Event;
use ledger::log::{Entry, Log};
use projector::model::{EntryOutcome, Model};
use projector::run::Projector;
use serde_json::json;

use crate::backend::{open_log, NatsArgs};
use crate::cmd::projector::projector_dir;
use crate::flags;

/// `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this member's events.
    #[arg(long)]
    pub member: Option<String>,
    /// First position.
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Entries read from the log at a time.
const PAGE: usize = 4096;

/// `log`.
pub async fn log(nats: &NatsArgs, dir: &Path, json: bool, a: LogArgs) -> Result<()> {
    let log = open_log(nats, dir).await?;
    let (p, _) = Projector::catch_up_shared(&projector_dir(dir), &log, 50_000, |_| {}).await?;
    let member = a
        .member
        .as_deref()
        .map(|m| flags::member("member", m))
        .transpose()?;
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(
            out,
            "{:>6}  {:<12}  {:<16} {:>5}  {:<20} OUTCOME",
            "POS", "ID", "MEMBER", "SEQ", "KIND"
        )?;
    }
    let mut left = a.limit.unwrap_or(usize::MAX);
    let mut from = a.from.max(1);
    while left > 0 && from <= p.position {
        let want = left.min(PAGE);
        let entries = match &member {
            Some(m) => log.member_entries(m, from, want).await?,
            None => log.read(from, want).await?,
        };
        let Some(last) = entries.last() else { break };
        from = last.position + 1;
        for e in entries.iter().filter(|e| e.position <= p.position) {
            print_entry(&mut out, json, e, p.overview())?;
            left -= 1;
        }
    }
    Ok(())
}

/// An entry's outcome in words, as the projector decided it.
pub fn outcome_text(e: &Entry, model: &Model) -> String {
    match model.outcome_at(e.position) {
        EntryOutcome::Accepted => "accepted".to_string(),
        EntryOutcome::Duplicate => "duplicate".to_string(),
        EntryOutcome::Rejected(r) if r.code == "malformed" => format!("malformed: {}", r.reason),
        EntryOutcome::Rejected(r) => format!("rejected: {}", r.reason),
    }
}

/// The JSON object of an entry (`log --json`, the node's `/api/v1/events`).
pub fn entry_json(e: &Entry, model: &Model) -> serde_json::Value {
    let outcome = outcome_text(e, model);
    match Event::from_bytes(&e.bytes) {
        Ok(ev) => {
            let env = ev.envelope();
            json!({"position": e.position, "id": ev.id(), "member": env.producer, "seq": env.seq,
                "kind": env.body.kind().name(), "recorded_at": env.recorded_at, "outcome": outcome, "body": env.body})
        }
        Err(_) => json!({"position": e.position, "outcome": outcome}),
    }
}

/// One line (or JSON object) of `log`.
fn print_entry(out: &mut impl Write, json: bool, e: &Entry, model: &Model) -> Result<()> {
    if json {
        writeln!(out, "{}", entry_json(e, model))?;
        return Ok(());
    }
    let outcome = outcome_text(e, model);
    match Event::from_bytes(&e.bytes) {
        Ok(ev) => {
            let env = ev.envelope();
            writeln!(
                out,
                "{:>6}  {:<12}  {:<16} {:>5}  {:<20} {}",
                e.position,
                ev.id().short(),
                env.producer,
                env.seq,
                env.body.kind().name(),
                outcome
            )?;
        }
        Err(_) => writeln!(
            out,
            "{:>6}  {:<12}  {:<16} {:>5}  {:<20} {}",
            e.position, "-", "-", "-", "-", outcome
        )?,
    }
    Ok(())
}
