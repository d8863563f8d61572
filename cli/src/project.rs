//! Projector, digest, status, report and demo commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use ledger::log::Log;
use ledger::store::Store;
use projector::run::{model_as_of, Progress, Projector};
use projector::views::{build, Params, View};
use serde_json::json;

use crate::args::{DemoArgs, ProjectorArgs, ProjectorCommand, ReportArgs};
use crate::context::{log_dir, OPEN_WAIT};
use crate::nats::{AnyLog, NatsArgs};
use crate::render::{render, Format};

/// Completes on Ctrl-C or SIGTERM (a service manager's stop).
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

/// The projector directory inside a ledger directory.
pub fn projector_dir(dir: &Path) -> PathBuf {
    dir.join("projector")
}

fn open_log(dir: &Path) -> Result<Store> {
    if !log_dir(dir).exists() {
        return Err(crate::context::missing_log(
            dir,
            "create one with `tallinn init` or `tallinn demo` (or pass --dir)",
        ));
    }
    Ok(Store::open(&log_dir(dir), OPEN_WAIT)?)
}

/// The log of a projector command: JetStream with `--nats` (the projector lives
/// in `dir`), else the embedded ledger in `dir`.
async fn any_log(nats: &NatsArgs, dir: &Path) -> Result<AnyLog> {
    if nats.enabled() {
        return Ok(AnyLog::Nats(nats.open().await?));
    }
    Ok(AnyLog::Embedded(open_log(dir)?))
}

fn progress_printer() -> impl FnMut(Progress) {
    let tty = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now();
    move |p: Progress| {
        if !tty || last.elapsed() < Duration::from_millis(250) {
            return;
        }
        last = std::time::Instant::now();
        let left = p.target.saturating_sub(p.position) as f64;
        let eta = if p.rate > 0.0 { left / p.rate } else { 0.0 };
        eprint!(
            "\r  position {}/{}  {:.0} events/s  ETA {:.0}s   ",
            p.position, p.target, p.rate, eta
        );
    }
}

/// How a command opens its projector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Open {
    /// Emptied (a rebuild does not read what the store held: it may be damaged).
    Rebuild,
    /// Holding its lock, waiting for it (catch-up, the follower): it saves.
    Write,
    /// Read-only if another process holds it (reports, status, digest).
    Shared,
}

/// Catches up the projector of `dir`; returns it.
pub async fn catch_up<L: Log>(
    dir: &Path,
    log: &L,
    save_every: u64,
    open: Open,
) -> Result<Projector> {
    let pdir = projector_dir(dir);
    let start = std::time::Instant::now();
    let (p, n) = match open {
        Open::Rebuild | Open::Write => {
            let mut p = match open {
                Open::Rebuild => Projector::open_empty(&pdir, OPEN_WAIT)?,
                _ => Projector::open(&pdir, OPEN_WAIT)?,
            };
            p.save_every = save_every;
            let n = p.catch_up(log, progress_printer()).await?;
            (p, n)
        }
        Open::Shared => {
            Projector::catch_up_shared(&pdir, log, save_every, progress_printer()).await?
        }
    };
    if std::io::stderr().is_terminal() && n > 0 {
        eprintln!(
            "\r  folded {n} events in {:.2}s{:30}",
            start.elapsed().as_secs_f64(),
            ""
        );
    }
    Ok(p)
}

/// `projector catch-up|run|rebuild`.
/// `clock` is the global `--now` (TALLINN_NOW), if given: the time the
/// checkpoints issued here carry instead of the wall clock.
pub async fn projector(
    nats: &NatsArgs,
    dir: &Path,
    cmd: ProjectorCommand,
    clock: Option<&str>,
) -> Result<()> {
    let clock = clock.map(|c| crate::context::now(Some(c))).transpose()?;
    let log = any_log(nats, dir).await?;
    match cmd {
        ProjectorCommand::CatchUp(ProjectorArgs {
            save_every,
            checkpoints,
        }) => {
            let mut issuer = checkpoints.issuer(&log, Instant::now(), clock).await?;
            let mut p = catch_up(dir, &log, save_every, Open::Write).await?;
            if let Some(i) = issuer.as_mut() {
                i.maybe_sign(p.rules_state(), p.position, Instant::now())
                    .await?;
            }
            let digest = p.digest_hex()?;
            println!("position {}  digest {}", p.position, digest);
        }
        ProjectorCommand::Rebuild(ProjectorArgs { save_every, .. }) => {
            let mut p = catch_up(dir, &log, save_every, Open::Rebuild).await?;
            let digest = p.digest_hex()?;
            println!("position {}  digest {}", p.position, digest);
        }
        ProjectorCommand::Run(ProjectorArgs {
            save_every,
            checkpoints,
        }) => {
            // The embedded log is held only while in use: producers and
            // readers in other processes take their turn while this follows.
            let log = match log {
                AnyLog::Embedded(store) => {
                    drop(store);
                    AnyLog::Shared(ledger::shared::SharedStore::new(&log_dir(dir), OPEN_WAIT))
                }
                log => log,
            };
            let mut issuer = checkpoints.issuer(&log, Instant::now(), clock).await?;
            // Waits for a producer holding the projector for a moment.
            let mut p = catch_up(dir, &log, save_every, Open::Write).await?;
            eprintln!(
                "following {} from position {} (Ctrl-C to stop)",
                dir.display(),
                p.position
            );
            let mut last = p.position;
            // The one follow loop; the issuer signs between steps (the clock
            // is read here, in the shell).
            p.follow(&log, shutdown_signal(), async |p: &mut Projector| {
                if p.position > last {
                    tracing::info!(position = p.position, "projected");
                    last = p.position;
                }
                if let Some(i) = issuer.as_mut() {
                    if let Err(e) = i
                        .maybe_sign(p.rules_state(), p.position, Instant::now())
                        .await
                    {
                        tracing::warn!("checkpoint not issued: {e:#}");
                    }
                }
                anyhow::Ok(())
            })
            .await?;
            // `follow` saved at shutdown.
            let digest = p.digest_hex()?;
            println!("position {}  digest {}", p.position, digest);
        }
    }
    Ok(())
}

/// `digest`: catches up first, so the digest reflects the whole log.
pub async fn digest(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    let log = any_log(nats, dir).await?;
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
    let log = any_log(nats, dir).await?;
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
    let log = any_log(nats, dir).await?;
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

/// The integrity view's `time_findings`: the first `until` events' recorded
/// times against the signed times of the ledger's checkpoints (one pass over
/// the log; the verdicts do not depend on them).
async fn time_findings(log: &AnyLog, until: u64) -> Result<projector::views::Table> {
    use projector::timebounds::{time_findings, Timed};
    use rayon::prelude::*;
    let texts = crate::checkpoint::Stored::read(log).await?.texts()?;
    let timed: Vec<Timed> = texts
        .iter()
        .filter_map(|t| {
            let note = ledger::checkpoint::Note::parse(t).ok()?;
            let cp = ledger::checkpoint::Checkpoint::parse_body(&note.text).ok()?;
            Some(Timed {
                size: cp.size,
                time: cp.time()?,
            })
        })
        .collect();
    let mut found = Vec::new();
    if !timed.is_empty() {
        let mut entries = crate::audit::read_all(log).await?;
        entries.retain(|e| e.position <= until);
        let decoded: Vec<Option<(ledger::calendar::Timestamp, String)>> = entries
            .par_iter()
            .map(|e| {
                let ev = ledger::event::Event::from_bytes(&e.bytes).ok()?;
                let env = ev.envelope();
                let member = e.member.as_ref().unwrap_or(&env.producer).to_string();
                Some((env.recorded_at, member))
            })
            .collect();
        let recorded: Vec<_> = decoded
            .iter()
            .map(|d| d.as_ref().map(|(t, _)| *t))
            .collect();
        for f in time_findings(&timed, &recorded) {
            let member = decoded[(f.position - 1) as usize]
                .as_ref()
                .map(|(_, m)| m.clone())
                .unwrap_or_default();
            found.push((f, member));
        }
    }
    Ok(projector::views::time_findings_table(&found))
}

/// `demo`.
pub async fn demo(dir: &Path, dir_given: bool, a: DemoArgs) -> Result<()> {
    let dir = if dir_given {
        dir.to_path_buf()
    } else {
        let base = std::env::temp_dir().join(format!("tallinn-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        base
    };
    // Without --seed: the nanoseconds of the wall clock, printed so the run can be repeated.
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    println!("Creating a demo ledger in {}", dir.display());
    println!("  seed {seed} (run again with --seed {seed} for the same events, ids and digest)");
    let start = std::time::Instant::now();
    let played = crate::demo::play(&dir, seed, a.events)?;
    println!(
        "  played {} events ({} deliberately invalid) in {:.2}s",
        played.events,
        played.rejected,
        start.elapsed().as_secs_f64()
    );
    let log = Store::open(&log_dir(&dir), OPEN_WAIT)?;
    let mut p = catch_up(&dir, &log, 50_000, Open::Shared).await?;
    drop(log);
    let today = p.overview().latest.date();
    let params = Params {
        today,
        receipt_days: 30,
    };
    let digest = p.digest_hex()?;
    println!(
        "  projected to position {}; digest {}\n",
        p.position, digest
    );
    println!("DONORS as of {today} (EUR)");
    print!(
        "{}",
        render(&build(&p.model()?, View::Donors, &params), Format::Table)
            .split_once('\n')
            .map(|x| x.1)
            .unwrap_or("")
    );
    let rejected = &p.overview().rejected;
    println!(
        "\nINTEGRITY: {} members with chains, {} events accepted, {} rejected:",
        p.overview().heads.len(),
        p.overview().accepted,
        rejected.len()
    );
    for r in rejected.iter().take(10) {
        println!(
            "  #{:<5} {:<14} {:<15} {}",
            r.position,
            r.member.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            r.code,
            r.reason
        );
    }
    let d = dir.display();
    println!("\nTry next:");
    println!("  tallinn --dir {d} report commitments");
    println!("  tallinn --dir {d} report overdue");
    println!("  tallinn --dir {d} report donors --as-of 2025-06-30");
    println!("  tallinn --dir {d} report integrity --format json");
    println!("  tallinn --dir {d} log --member EE-MFA");
    println!("  tallinn --dir {d} status");
    println!(
        "  tallinn --dir {d} need --key {d}/keys/UA-SSSCIP.key --id N-100 --category hardware \\"
    );
    println!("      --description \"Laptops for regional CERTs\" --quantity 50 --unit laptops --value 60000");
    Ok(())
}
