//! `tallinn export iati`: the read model as an IATI 2.03 activity file. The
//! document is built by `projector::iati` (pure); this shell catches the
//! projector up, reads the history of commitment values from the log (one
//! pass over the entries the projector accepted), takes "today" from the
//! clock or `--as-of`, and writes the file atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::collections::BTreeSet;

use ledger::body::{Body, BodyKind};
use ledger::event::Event;
use ledger::ids::{ItemId, MemberId};
use ledger::log::Log;
use projector::as_of::fold_as_of;
use projector::iati::{write_activities, Options, ValueHistory};
use projector::model::{EntryOutcome, Model};
use projector::run::Projector;
use projector::store::StoreRows;
use projector::views::rows::Rows;

use crate::backend::{open_log, NatsArgs};
use crate::cmd::projector::{catch_up, Open};

/// `export iati`.
#[derive(Debug, Args)]
pub struct IatiArgs {
    /// Only this donor's activities (it is the reporting organisation).
    #[arg(long)]
    pub member: Option<String>,
    /// The state at the end of this date (YYYY-MM-DD); "today" is then this
    /// date (the clock's date otherwise).
    #[arg(long)]
    pub as_of: Option<String>,
    /// A member's registered IATI organisation identifier, MEMBER=REF
    /// (repeatable); others use the member id where it is one, else
    /// `XI-TALLINN-<member>`.
    #[arg(long = "org-ref", value_name = "MEMBER=REF")]
    pub org_refs: Vec<String>,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `export iati`.
pub async fn export(nats: &NatsArgs, dir: &Path, now: Option<&str>, a: IatiArgs) -> Result<()> {
    let org_refs = a
        .org_refs
        .iter()
        .map(|s| org_ref_arg(s))
        .collect::<Result<_>>()?;
    let member = a
        .member
        .as_deref()
        .map(|m| {
            m.parse::<MemberId>()
                .map_err(|e| anyhow!("--member {m:?}: {e}"))
        })
        .transpose()?;
    let clock = crate::context::now(now)?;
    let log = open_log(nats, dir).await?;
    let mut p = catch_up(dir, &log, 50_000, Open::Shared).await?;
    let position = p.position;
    let today = match &a.as_of {
        Some(d) => crate::flags::date("as-of", d)?,
        None => clock.date(),
    };
    let opts = Options {
        today,
        generated: clock,
        member,
        org_refs,
    };
    // `--as-of`: the state at the end of the day, folded into a workspace
    // on disk (the projector released first, as `report --as-of` does).
    if a.as_of.is_none() {
        return write_export(&mut p, &log, position, &opts, a.out.as_deref()).await;
    }
    drop(p);
    let bar = crate::progress::bar(position, "events replayed", false);
    let mut ws = fold_as_of(&log, position, today.end(), None, |n| {
        crate::progress::set(&bar, n)
    })
    .await
    .context("--as-of: replaying the log")?;
    crate::progress::finish(bar);
    write_export(ws.projector(), &log, position, &opts, a.out.as_deref()).await
}

/// Writes the document of projector `p` (folded up to `position` of `log`)
/// to `out` (atomically) or standard output, its items read from the store.
async fn write_export<L: Log>(
    p: &mut Projector,
    log: &L,
    position: u64,
    opts: &Options,
    out: Option<&Path>,
) -> Result<()> {
    if let Some(m) = &opts.member {
        if !p.overview().members.contains_key(m) {
            bail!("--member {m}: not a member of this ledger");
        }
    }
    // Only commitments amended or corrected can have changed value: the
    // history is kept for those alone (one vector each, not one per commitment).
    let mut amended = BTreeSet::new();
    p.rows()?.for_each_change(&mut |c| {
        if matches!(c.kind, BodyKind::Amended | BodyKind::Corrected) {
            amended.insert(c.target.clone());
        }
    })?;
    let history = value_history(log, p.overview(), position, &amended).await?;
    let mut rows = p.rows()?;
    match out {
        Some(path) => {
            crate::outfile::write_atomically(path, |w| write_xml(w, &mut rows, &history, opts))
        }
        None => Ok(write_xml(
            &mut std::io::stdout().lock(),
            &mut rows,
            &history,
            opts,
        )?),
    }
}

/// Writes the document to `w` as it is built (buffered).
fn write_xml(
    w: &mut impl Write,
    rows: &mut StoreRows<'_>,
    history: &ValueHistory,
    opts: &Options,
) -> std::io::Result<()> {
    let mut out = IoFmt {
        w: std::io::BufWriter::with_capacity(1 << 20, w),
        error: None,
    };
    write_activities(&mut out, rows, history, opts).map_err(std::io::Error::other)?;
    if let Some(e) = out.error.take() {
        return Err(e);
    }
    out.w.flush()
}

/// A `fmt::Write` into an `io::Write` that keeps the first I/O error.
struct IoFmt<W: Write> {
    w: W,
    error: Option<std::io::Error>,
}

impl<W: Write> std::fmt::Write for IoFmt<W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.error.is_some() {
            return Err(std::fmt::Error);
        }
        self.w.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

fn org_ref_arg(s: &str) -> Result<(MemberId, String)> {
    let (m, r) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--org-ref {s:?}: expected MEMBER=REF"))?;
    let m: MemberId = m
        .parse()
        .map_err(|e| anyhow!("--org-ref {s:?}: member: {e}"))?;
    let ok = !r.is_empty()
        && r.len() <= 64
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("--org-ref {s:?}: REF must be 1 to 64 of A-Z a-z 0-9 - _ . (IATI forbids spaces and / & | ?)");
    }
    Ok((m, r.to_string()))
}

/// The values each commitment had, from the accepted entries up to `position`.
async fn value_history<L: Log>(
    log: &L,
    model: &Model,
    position: u64,
    amended: &BTreeSet<ItemId>,
) -> Result<ValueHistory> {
    let bar = crate::progress::bar(position, "entries read", false);
    let mut history = ValueHistory::new();
    let mut next = 1;
    while next <= position {
        let batch = log.read(next, 8192).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch.iter().take_while(|e| e.position <= position) {
            next = e.position + 1;
            if !matches!(model.outcome_at(e.position), EntryOutcome::Accepted) {
                continue;
            }
            let Ok(ev) = Event::from_bytes(&e.bytes) else {
                continue;
            };
            let env = ev.envelope();
            let on = env.recorded_at.date();
            match &env.body {
                Body::CommitmentMade(c) if amended.contains(&c.commitment) => history
                    .entry(c.commitment.clone())
                    .or_default()
                    .push((on, c.value.amount_minor)),
                Body::Amended(ch) | Body::Corrected(ch) => {
                    if let (Some(v), Some(h)) = (&ch.fields.value, history.get_mut(&ch.target)) {
                        h.push((on, v.amount_minor));
                    }
                }
                _ => {}
            }
        }
        crate::progress::set(&bar, next - 1);
    }
    crate::progress::finish(bar);
    Ok(history)
}
