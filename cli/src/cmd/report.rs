//! `tallinn report VIEW`, `digest` and `status`: what the projector holds,
//! caught up first (read-only when another process follows).

use std::path::Path;

use anyhow::{anyhow, Result};
use clap::Args;
use ledger::log::Log;
use projector::run::{model_as_of, Projector};
use projector::views::{build, Params, View};
use serde_json::json;

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::cmd::projector::{catch_up, projector_dir, Open};
use crate::render::{render, Format};

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The view.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(projector::views::View::ALL.map(|v| v.name())))]
    pub view: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::render::Format,
    /// The state as it was at the end of this date (YYYY-MM-DD), rebuilt from the log.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Days after delivery before a missing receipt is overdue.
    #[arg(long, default_value_t = 30)]
    pub receipt_days: i32,
}

/// `digest`: catches up first, so the digest reflects the whole log.
pub async fn digest(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    let log = open_log(nats, dir).await?;
    let mut p = catch_up(dir, &log, 50_000, Open::Shared).await?;
    let d = p.digest_hex()?;
    if json {
        println!("{}", json!({"position": p.position, "digest": d}));
    } else {
        println!("{d}");
    }
    Ok(())
}

/// `status`.
pub async fn status(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    let log = open_log(nats, dir).await?;
    let len = log.len().await?;
    let mut p = Projector::open_shared(&projector_dir(dir))?;
    // A projector of another history (a log restored or wiped) is reported
    // as such, not as `lag 0`.
    p.check_log(&log).await?;
    if json {
        let heads: serde_json::Map<String, serde_json::Value> = p
            .overview()
            .heads
            .iter()
            .map(|(m, (seq, id))| (m.to_string(), json!({"seq": seq, "id": id})))
            .collect();
        println!(
            "{}",
            json!({"log_length": len, "projector": {"position": p.position, "lag": len - p.position.min(len)},
                "accepted": p.overview().accepted, "rejected": p.overview().rejected.len(), "heads": heads})
        );
        return Ok(());
    }
    println!("ledger     {}", dir.display());
    println!(
        "origin     {}",
        p.overview()
            .origin
            .as_deref()
            .unwrap_or("(not projected yet)")
    );
    println!("log        {len} events");
    println!(
        "projector  position {}  lag {}",
        p.position,
        len - p.position.min(len)
    );
    println!(
        "folded     {} accepted, {} rejected",
        p.overview().accepted,
        p.overview().rejected.len()
    );
    println!("chain heads (as projected):");
    for (m, (seq, id)) in &p.overview().heads {
        println!("  {m:<16} seq {seq:>6}  {}", id.short());
    }
    Ok(())
}

/// `report VIEW`.
pub async fn report(nats: &NatsArgs, dir: &Path, a: ReportArgs) -> Result<()> {
    let view = View::from_name(&a.view).ok_or_else(|| {
        let names: Vec<&str> = View::ALL.iter().map(|v| v.name()).collect();
        anyhow!("unknown view {:?}; use one of {}", a.view, names.join(", "))
    })?;
    let log = open_log(nats, dir).await?;
    let mut p = catch_up(dir, &log, 50_000, Open::Shared).await?;
    let (model, today) = match &a.as_of {
        Some(d) => {
            let day = crate::flags::date("as-of", d)?;
            (model_as_of(&log, p.position, day.end()).await?, day)
        }
        None => {
            let today = p.overview().latest.date();
            (p.model()?, today)
        }
    };
    let mut tables = build(
        &model,
        view,
        &Params {
            today,
            receipt_days: a.receipt_days,
        },
    );
    if view == View::Integrity {
        let found = time_findings(&log, p.position).await?;
        if let Some(t) = tables.iter_mut().find(|t| t.title == found.title) {
            *t = found;
        }
    }
    if a.format == Format::Table {
        println!("{} report, as of {today}\n", view.name());
    }
    print!("{}", render(&tables, a.format));
    Ok(())
}

/// The signed issue times of the log's checkpoints (what `recorded_at` is
/// checked against).
pub async fn checkpoint_times(log: &AnyLog) -> Result<Vec<projector::timebounds::Timed>> {
    let texts = crate::cmd::checkpoint::Stored::texts_of(log).await?;
    Ok(texts
        .iter()
        .filter_map(|t| {
            let note = ledger::checkpoint::Note::parse(t).ok()?;
            let cp = ledger::checkpoint::Checkpoint::parse_body(&note.text).ok()?;
            Some(projector::timebounds::Timed {
                size: cp.size,
                time: cp.time()?,
            })
        })
        .collect())
}

/// The integrity view's `time_findings` table: `times[i]` is the signed time
/// of the entry at position `i + 1` (`None` for bytes that do not decode),
/// `member_at(position)` the member carrying it.
pub fn findings_table(
    timed: &[projector::timebounds::Timed],
    times: &[Option<ledger::calendar::Timestamp>],
    member_at: impl Fn(u64) -> String,
) -> projector::views::Table {
    let found: Vec<_> = if timed.is_empty() {
        Vec::new()
    } else {
        projector::timebounds::time_findings(timed, times)
            .into_iter()
            .map(|f| {
                let member = member_at(f.position);
                (f, member)
            })
            .collect()
    };
    projector::views::time_findings_table(&found)
}

/// The integrity view's `time_findings`: the first `until` events' recorded
/// times against the signed times of the ledger's checkpoints (one pass over
/// the log; the verdicts do not depend on them).
async fn time_findings(log: &AnyLog, until: u64) -> Result<projector::views::Table> {
    use rayon::prelude::*;
    let timed = checkpoint_times(log).await?;
    let mut decoded = Vec::new();
    if !timed.is_empty() {
        let mut entries = crate::cmd::audit::read_all(log).await?;
        entries.retain(|e| e.position <= until);
        decoded = entries
            .par_iter()
            .map(|e| {
                let ev = ledger::event::Event::from_bytes(&e.bytes).ok()?;
                let env = ev.envelope();
                let member = e.member.as_ref().unwrap_or(&env.producer).to_string();
                Some((env.recorded_at, member))
            })
            .collect();
    }
    let times: Vec<_> = decoded
        .iter()
        .map(|d| d.as_ref().map(|(t, _)| *t))
        .collect();
    Ok(findings_table(&timed, &times, |pos| {
        decoded[(pos - 1) as usize]
            .as_ref()
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }))
}
