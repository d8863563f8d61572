//! `tallinn publish FILE`: the events of a JSON Lines file, one body per line,
//! through the one producer step on either backend. A rerun resumes: the
//! file's first lines that are, in order, the producer's last stored events
//! (read from its chain, not a replay) are skipped. A failure says exactly
//! which lines were stored, read back from the log.

use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::Log;
use std::path::PathBuf;

use clap::Args;

use crate::backend::{open_log, NatsArgs};
use crate::cmd::produce::KeyArg;
use crate::context::signer;
use crate::producer::{AppendFailed, Emitted, Producer, Refused};

/// `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Signer.
    #[command(flatten)]
    pub key: KeyArg,
    /// JSON Lines file: one body per line, e.g. {"need_stated": {...}}.
    pub file: PathBuf,
}

/// `publish`.
pub async fn publish(
    nats: &NatsArgs,
    dir: &Path,
    json: bool,
    dry_run: bool,
    now: Timestamp,
    a: PublishArgs,
) -> Result<()> {
    let signer = signer(&a.key.key)?;
    let file = a.file.display().to_string();
    let (lines, bodies) = read_bodies(&a.file)?;
    let log = open_log(nats, dir).await?;
    let mut p = Producer::open(log, dir).await?;
    let producer = p.producer(&signer)?;
    let earlier = stored_prefix(&p.log, &producer, &bodies).await?;
    let done = earlier.len();
    let mut events: Vec<(Event, Option<u64>)> =
        earlier.into_iter().map(|(e, pos)| (e, Some(pos))).collect();
    if done < bodies.len() {
        match p.emit(&signer, bodies[done..].to_vec(), now, dry_run).await {
            Ok(mut emitted) => events.append(&mut emitted.events),
            Err(e) => return Err(failure(&p, &producer, &bodies, &lines, done, &file, e).await),
        }
    }
    if done > 0 && !json {
        eprintln!(
            "{file}: lines {}..={} were stored by an earlier run (nothing appended for them); {}",
            lines[0],
            lines[done - 1],
            lines
                .get(done)
                .map_or("nothing else to publish".into(), |n| format!(
                    "went on from line {n}"
                ))
        );
    }
    crate::cmd::produce::print_emitted(
        json,
        &Emitted {
            events,
            already_stored: false,
        },
    );
    Ok(())
}

/// The bodies of a JSON Lines file, with their line numbers (blank lines
/// skipped); a line that does not parse or validate is named.
fn read_bodies(path: &Path) -> Result<(Vec<usize>, Vec<Body>)> {
    let name = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
    let (mut lines, mut bodies) = (Vec::new(), Vec::new());
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{name}: line {}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let body: Body = crate::cmd::produce::parse_json(&line)
            .with_context(|| format!("{name}: line {}", i + 1))?;
        body.validate()
            .map_err(|e| anyhow!("{name}: line {}: {e}", i + 1))?;
        lines.push(i + 1);
        bodies.push(body);
    }
    if bodies.is_empty() {
        bail!("{name}: no events");
    }
    Ok((lines, bodies))
}

/// The longest prefix of `bodies` that is, in order, the bodies of the
/// producer's last stored events (what an earlier run of the file stored),
/// with those events and their positions.
async fn stored_prefix<L: Log>(
    log: &L,
    producer: &MemberId,
    bodies: &[Body],
) -> Result<Vec<(Event, u64)>> {
    let mine: Vec<(Event, u64)> = log
        .member_last_entries(producer, bodies.len())
        .await?
        .into_iter()
        .filter_map(|e| Event::from_bytes(&e.bytes).ok().map(|ev| (ev, e.position)))
        .filter(|(ev, _)| &ev.envelope().producer == producer)
        .collect();
    let k = (1..=bodies.len().min(mine.len()))
        .rev()
        .find(|&k| {
            mine[mine.len() - k..]
                .iter()
                .zip(&bodies[..k])
                .all(|((ev, _), b)| &ev.envelope().body == b)
        })
        .unwrap_or(0);
    Ok(mine[mine.len() - k..].to_vec())
}

/// The error of a publish: a refused event named by its line; an append that
/// failed with what the log holds now (read again: acknowledgements lost in
/// a failure do not tell), by line and last event id, and that a rerun
/// resumes; anything else named by the file.
async fn failure<L: Log>(
    p: &Producer<L>,
    producer: &MemberId,
    bodies: &[Body],
    lines: &[usize],
    done: usize,
    file: &str,
    e: anyhow::Error,
) -> anyhow::Error {
    let e = match e.downcast::<Refused>() {
        Ok(r) => {
            let line = lines[done + r.index.unwrap_or(0)];
            return Refused {
                index: None,
                what: format!("{file}: line {line}: {}", r.what),
            }
            .into();
        }
        Err(e) => e,
    };
    let Some(failed) = e.downcast_ref::<AppendFailed>() else {
        return e.context(file.to_string());
    };
    let cause = failed.error.cause().to_string();
    let stored = match stored_prefix(&p.log, producer, bodies).await {
        Ok(s) => s,
        Err(read) => {
            return e.context(format!(
                "{file}: how many lines were stored is unknown, as the log could not be read again ({read:#}); \
                 re-run the same file: it resumes after the last stored line"
            ))
        }
    };
    let n = stored.len();
    let message = match stored.last() {
        None => format!("{file}: line {}: nothing stored: {cause}", lines[0]),
        Some((last, _)) => format!(
            "{file}: {n} of {} lines stored (lines {}..={}, the last as event {}); \
             from line {} not stored: {cause}; re-run the same file to publish the rest",
            bodies.len(),
            lines[0],
            lines[n - 1],
            last.id(),
            lines.get(n).map_or("none".to_string(), |l| l.to_string()),
        ),
    };
    e.context(message)
}
