//! `tallinn projector catch-up|run|rebuild`: the read models, folded from the
//! log by the one follow loop (`Projector::follow`), and how other commands
//! open and catch up a projector.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use ledger::log::Log;
use projector::run::{Progress, Projector};

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::context::{log_dir, OPEN_WAIT};

/// Projector commands.
#[derive(Debug, Subcommand)]
pub enum ProjectorCommand {
    /// Fold the log from the last saved position to its end, then exit.
    CatchUp(ProjectorArgs),
    /// Catch up, then follow new events until interrupted (Ctrl-C).
    Run(ProjectorArgs),
    /// Forget the read models and rebuild them from position 1.
    Rebuild(ProjectorArgs),
}

/// Projector options.
#[derive(Debug, Args)]
pub struct ProjectorArgs {
    /// Save a snapshot after at least N events (and at least a quarter of the position).
    #[arg(long, default_value_t = 50_000)]
    pub save_every: u64,
    /// Signed checkpoints issued while projecting.
    #[command(flatten)]
    pub checkpoints: crate::cmd::checkpoint::IssueArgs,
}

/// Completes on Ctrl-C or SIGTERM (a service manager's stop).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    // Registered now, not at the first poll: a signal that arrives between
    // this call and the loop that waits on it is kept, not fatal.
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = recv(int.as_mut()) => {}
            _ = recv(term.as_mut()) => {}
        }
    }
}

/// One signal's next delivery; never, where the handler could not be set.
async fn recv(s: Option<&mut tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// The projector directory inside a ledger directory.
pub fn projector_dir(dir: &Path) -> PathBuf {
    dir.join("projector")
}

/// The catch-up's progress: a bar on a terminal (see [`crate::progress`]).
fn progress_printer() -> impl FnMut(Progress) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut started = false;
    move |p: Progress| {
        if !started {
            started = true;
            bar = crate::progress::bar(p.target, "events folded", false);
        }
        if let Some(b) = &bar {
            b.set_length(p.target.max(p.position));
            b.set_position(p.position);
            if p.position >= p.target {
                b.finish_and_clear();
            }
        }
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
    let log = open_log(nats, dir).await?;
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
            // Caught from before the message that invites Ctrl-C.
            let signal = shutdown_signal();
            eprintln!(
                "following {} from position {} (Ctrl-C to stop)",
                dir.display(),
                p.position
            );
            let mut last = p.position;
            // The one follow loop; the issuer signs between steps (the clock
            // is read here, in the shell).
            p.follow(&log, signal, async |p: &mut Projector| {
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
