//! `tallinn report VIEW`, `digest` and `status`: what the projector holds,
//! caught up first (read-only when another process follows).

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use ledger::calendar::Timestamp;
use ledger::log::Log;
use projector::as_of::fold_as_of;
use projector::run::Projector;
use projector::views::{build_from, Params, Table, View};
use serde_json::json;

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::cmd::projector::{catch_up, projector_dir, Open};
use crate::render::{csv, json, text_tables, xlsx, Format, Meta};

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The view.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(projector::views::View::ALL.map(|v| v.name())))]
    pub view: String,
    /// Output format (xlsx needs --out FILE).
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::render::Format,
    /// The state as it was at the end of this date (YYYY-MM-DD), rebuilt from the log.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Days after delivery before a missing receipt is overdue.
    #[arg(long, default_value_t = 30)]
    pub receipt_days: i32,
    /// CSV: the table to write, for a view with several (their names are in
    /// schemas/REPORTS.md); other formats: only this table.
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// CSV: one file per table in DIR (DIR/VIEW-TABLE.csv).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "table"])]
    pub out_dir: Option<std::path::PathBuf>,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// CSV and XLSX: the totals row after the data rows (`TOTAL` in its first column).
    #[arg(long)]
    pub totals: bool,
    /// CSV: an HXL hashtag row under the header.
    #[arg(long)]
    pub hxl: bool,
    /// `--as-of`: where the state as of the date is built (a temporary
    /// directory in DIR, removed after) [default: $TMPDIR].
    #[arg(long, value_name = "DIR", requires = "as_of")]
    pub work_dir: Option<std::path::PathBuf>,
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
pub async fn report(nats: &NatsArgs, dir: &Path, a: ReportArgs, now: Timestamp) -> Result<()> {
    let view = View::from_name(&a.view).ok_or_else(|| {
        let names: Vec<&str> = View::ALL.iter().map(|v| v.name()).collect();
        anyhow!("unknown view {:?}; use one of {}", a.view, names.join(", "))
    })?;
    let as_of = a
        .as_of
        .as_deref()
        .map(|d| crate::flags::date("as-of", d))
        .transpose()?;
    check_output(&a)?;
    let today = crate::context::report_today(as_of);
    let log = open_log(nats, dir).await?;
    let mut p = catch_up(dir, &log, 50_000, Open::Shared).await?;
    let params = Params {
        today,
        receipt_days: a.receipt_days,
    };
    let (position, digest) = (p.position, p.digest_hex()?);
    let mut tables = match as_of {
        Some(day) => {
            // The replay needs only the log up to `position`: the
            // projector's own state is released first, so the two are
            // never in memory together.
            drop(p);
            let bar = crate::progress::bar(position, "events replayed", false);
            let mut ws = fold_as_of(&log, position, day.end(), a.work_dir.as_deref(), |n| {
                crate::progress::set(&bar, n)
            })
            .await
            .context("--as-of: replaying the log")?;
            crate::progress::finish(bar);
            tables_of(ws.projector(), view, &params)?
        }
        None => tables_of(&mut p, view, &params)?,
    };
    if view == View::Integrity {
        let found = time_findings(&log, position).await?;
        if let Some(t) = tables.iter_mut().find(|t| t.title == found.title) {
            *t = found;
        }
    }
    let meta = Meta {
        view,
        as_of,
        today,
        position,
        digest,
        generated_at: now.to_string(),
    };
    write_report(&a, &meta, tables)
}

/// The tables of `view` from projector `p`, read from its store (memory does
/// not grow with the ledger beyond the view's own rows).
fn tables_of(p: &mut Projector, view: View, params: &Params) -> Result<Vec<Table>> {
    Ok(build_from(&mut p.rows()?, view, params)?)
}

/// Refuses what cannot be written before any work: xlsx to a terminal's
/// standard output, an output directory for another format than CSV.
fn check_output(a: &ReportArgs) -> Result<()> {
    if a.format == Format::Xlsx && a.out.is_none() {
        bail!("--format xlsx: give --out FILE.xlsx (a workbook is not written to standard output)");
    }
    if a.out_dir.is_some() && a.format != Format::Csv {
        bail!("--out-dir: only with --format csv (one file per table)");
    }
    Ok(())
}

/// The tables of `tables` that `--table` keeps: all, or the one it names.
fn chosen(view: View, tables: Vec<Table>, name: Option<&str>) -> Result<Vec<Table>> {
    let Some(name) = name else { return Ok(tables) };
    let names: Vec<&str> = tables.iter().map(|t| t.title).collect();
    let list = names.join(", ");
    tables
        .into_iter()
        .find(|t| t.title == name)
        .map(|t| vec![t])
        .ok_or_else(|| {
            anyhow!(
                "--table: view {} has no table {name:?}; its tables are {list}",
                view.name()
            )
        })
}

/// Writes the report in the format asked for; a file is written whole or not at all.
fn write_report(a: &ReportArgs, meta: &Meta, tables: Vec<Table>) -> Result<()> {
    let view = meta.view;
    let opts = csv::Options {
        totals: a.totals,
        hxl: a.hxl,
    };
    if let Some(out_dir) = &a.out_dir {
        std::fs::create_dir_all(out_dir)
            .with_context(|| format!("--out-dir {}", out_dir.display()))?;
        for t in &tables {
            let path = out_dir.join(format!("{}-{}.csv", view.name(), t.title));
            let text = csv::table(t, opts);
            crate::outfile::write_atomically(&path, |f| f.write_all(text.as_bytes()))
                .with_context(|| format!("--out-dir {}", out_dir.display()))?;
        }
        return Ok(());
    }
    let tables = chosen(view, tables, a.table.as_deref())?;
    if a.format == Format::Csv && tables.len() != 1 {
        let names: Vec<&str> = tables.iter().map(|t| t.title).collect();
        bail!(
            "--format csv: view {} has {} tables ({}): choose one with --table NAME, or write each with --out-dir DIR",
            view.name(),
            tables.len(),
            names.join(", ")
        )
    }
    let xlsx = match a.format {
        Format::Xlsx => Some(xlsx::workbook(meta, &tables, a.totals)?),
        _ => None,
    };
    // JSON and CSV are written a row at a time, not built whole first.
    let render = |w: &mut dyn Write| -> std::io::Result<()> {
        match a.format {
            Format::Table => {
                let state = match meta.as_of {
                    Some(d) => format!("as of {d}"),
                    None => format!("at position {}", meta.position),
                };
                let head = format!(
                    "{} report, {state}; report date {}",
                    view.name(),
                    meta.today
                );
                write!(w, "{head}\n\n{}", text_tables(&tables))
            }
            Format::Json => json::write_document(w, meta, &Default::default(), |w| {
                json::write_body(w, &tables)
            }),
            Format::Csv => csv::write_table(w, &tables[0], opts),
            Format::Xlsx => w.write_all(xlsx.as_deref().unwrap_or_default()),
        }
    };
    match &a.out {
        Some(path) => crate::outfile::write_atomically(path, |f| {
            let mut w = std::io::BufWriter::new(f);
            render(&mut w)?;
            w.flush()
        }),
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            render(&mut w)
                .and_then(|()| w.flush())
                .context("writing to standard output")
        }
    }
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

/// Entries read at a time for the time findings.
const TIME_BATCH: usize = 8192;

/// The integrity view's `time_findings`: the first `until` events' recorded
/// times against the signed times of the ledger's checkpoints (one pass over
/// the log, a batch at a time; the verdicts do not depend on them).
async fn time_findings(log: &AnyLog, until: u64) -> Result<projector::views::Table> {
    use rayon::prelude::*;
    let timed = checkpoint_times(log).await?;
    let mut found = Vec::new();
    if !timed.is_empty() {
        let mut bounds = projector::timebounds::TimeBounds::new(&timed);
        let mut next = 1;
        while next <= until {
            let entries = log.read(next, TIME_BATCH).await?;
            let Some(last) = entries.last() else { break };
            next = last.position + 1;
            let decoded: Vec<_> = entries
                .par_iter()
                .filter(|e| e.position <= until)
                .map(|e| {
                    let ev = ledger::event::Event::from_bytes(&e.bytes).ok();
                    let at = ev.as_ref().map(|ev| ev.envelope().recorded_at);
                    let member = e
                        .member
                        .clone()
                        .or(ev.map(|ev| ev.envelope().producer.clone()));
                    (e.position, at, member)
                })
                .collect();
            for (position, at, member) in decoded {
                if let Some(f) = bounds.check(position, at) {
                    found.push((f, member.map(|m| m.to_string()).unwrap_or_default()));
                }
            }
        }
    }
    Ok(projector::views::time_findings_table(&found))
}
