//! `tallinn serve`: a live node. One process follows the log through the one
//! follow loop (`Projector::follow`), mirrors the read model as it folds
//! ([`node`]), renders the views once per position, and serves them over
//! HTTP: the JSON/CSV read API ([`api`]), Prometheus metrics and health
//! ([`metrics`]), and the dashboard ([`pages`], [`svg`]).
//!
//! The node holds an embedded log open and serves it to the other commands
//! on that ledger through its local socket ([`socket`]): producers append
//! through the node, readers read through it, and it sees each append the
//! moment it commits. Where the socket cannot be made, it holds the log
//! only while in use (as `projector run` does), so producers take turns.

pub mod api;
pub mod app;
pub mod metrics;
pub mod node;
pub mod pages;
pub mod socket;
pub mod svg;
pub mod tlog;
mod web;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use ledger::log::Log;
use projector::run::Projector;
use projector::views::View;
use tokio::sync::Notify;

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::cmd::projector::{catch_up, shutdown_signal, Open};
use crate::context::{log_dir, OPEN_WAIT};
use app::App;
use node::{Figures, Node};

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer <token>` on every route but /healthz,
    /// /readyz and /metrics; the token is the file's first line.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// /readyz answers 200 once the node is within this many entries of the log's end.
    #[arg(long, default_value_t = 0)]
    pub ready_lag: u64,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, default_value_t = 30)]
    pub request_timeout: u64,
    /// Days after delivery before a missing receipt is overdue.
    #[arg(long, default_value_t = 30)]
    pub receipt_days: i32,
    /// Save a snapshot after at least N events (and at least a quarter of the position).
    #[arg(long, default_value_t = 50_000)]
    pub save_every: u64,
    /// Signed checkpoints the node issues as it follows (a coordinator's node).
    #[command(flatten)]
    pub checkpoints: crate::cmd::checkpoint::IssueArgs,
}

/// The system clock (the shell reads it; the views get it as a parameter).
pub fn wall_clock() -> ledger::calendar::Timestamp {
    crate::context::now(None).unwrap_or(ledger::calendar::Timestamp(0))
}

fn read_token(path: &Path) -> Result<[u8; 32]> {
    use sha2::Digest as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--token-file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.len() < 16 {
        return Err(anyhow!(
            "--token-file {}: the token must be at least 16 characters on the first line",
            path.display()
        ));
    }
    Ok(sha2::Sha256::digest(token.as_bytes()).into())
}

/// `serve`. `clock` is the global `--now`, if given: the time the
/// checkpoints the node issues carry instead of the wall clock.
pub async fn serve(nats: &NatsArgs, dir: &Path, a: ServeArgs, clock: Option<&str>) -> Result<()> {
    let clock = clock.map(|c| crate::context::now(Some(c))).transpose()?;
    let token = a.token_file.as_deref().map(read_token).transpose()?;
    let metrics = metrics::install()?;
    let (log, _socket) = hold_log(nats, dir).await?;
    let backend = if nats.enabled() {
        "jetstream"
    } else {
        "embedded"
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("--listen {}", a.listen))?;
    let t = Instant::now();
    let mut issuer = a.checkpoints.issuer(&log, Instant::now(), clock).await?;
    let mut p = catch_up(dir, &log, a.save_every, Open::Write).await?;
    p.track_folded(true);
    if std::io::stderr().is_terminal() && p.position > 100_000 {
        eprintln!(
            "indexing the {} entries folded (one pass over the log) ...",
            p.position
        );
    }
    let node = Arc::new(Node::load(&mut p, &log).await?);
    tracing::info!(
        position = p.position,
        secs = t.elapsed().as_secs_f64(),
        "node loaded"
    );
    let first = first_figures(&node, &log, a.receipt_days).await?;
    // Loading built and dropped a copy of the model and a pass over the log;
    // glibc keeps freed memory unless asked to hand it back.
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
    tracing::info!(secs = t.elapsed().as_secs_f64(), "first figures rendered");
    let settings = app::Settings {
        ready_lag: a.ready_lag,
        receipt_days: a.receipt_days,
        token,
        metrics,
        backend,
    };
    let (app, tx) = App::new(log.clone(), node.clone(), first, settings);
    app.log_length.store(log.len().await?, Ordering::Relaxed);
    // The verdict counters start from what the projector had folded.
    metrics::folded(
        &metrics::Counts::default(),
        &node.model.read().unwrap_or_else(|e| e.into_inner()),
    );
    metrics::observe_status(&app, &p);
    let addr = listener.local_addr()?;
    // SIGTERM and Ctrl-C are caught from before the node says where it serves.
    let signal = shutdown_signal();
    eprintln!(
        "serving {} on http://{addr}/ (Ctrl-C to stop)",
        dir.display()
    );
    let stop = Arc::new(Notify::new());
    let router = web::router(app.clone(), Duration::from_secs(a.request_timeout.max(1)));
    let server = spawn_server(listener, router, stop.clone());
    let renderer = spawn_renderer(app.clone(), tx);
    let result = follow(&mut p, &app, &mut issuer, signal).await;
    app.stopping.send_replace(true);
    stop.notify_one();
    renderer.abort();
    // Requests in flight finish; a client that holds its connection open
    // does not hold the shutdown for more than a few seconds.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result?;
    let digest = p.digest_hex()?;
    eprintln!("stopped at position {}  digest {}", p.position, digest);
    Ok(())
}

/// The node's log: an embedded store held open and served on the ledger's
/// socket (or, where no socket can be made, held only while in use), or
/// JetStream.
async fn hold_log(nats: &NatsArgs, dir: &Path) -> Result<(AnyLog, Option<socket::LocalServer>)> {
    match open_log(nats, dir).await? {
        AnyLog::Embedded(store) => match socket::LocalServer::bind(dir, store.clone()) {
            Ok(server) => {
                tracing::info!(
                    "producers and readers reach the log through {}",
                    server.path().display()
                );
                Ok((AnyLog::Embedded(store), Some(server)))
            }
            Err(e) => {
                tracing::warn!("{e:#}: the log is held only while in use (producers take turns)");
                drop(store);
                let shared = ledger::shared::SharedStore::new(&log_dir(dir), OPEN_WAIT);
                Ok((AnyLog::Shared(shared), None))
            }
        },
        AnyLog::Local(l) => Err(anyhow!(
            "{}: another node serves this ledger (its socket answers)",
            l.path().display()
        )),
        log => Ok((log, None)),
    }
}

/// Serves `router` on `listener` until `stop` is notified.
fn spawn_server(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: Arc<Notify>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.notified().await })
            .await
    })
}

/// The renderer: a round each time the follow loop or a reader wakes it.
fn spawn_renderer(
    app: Arc<App>,
    tx: tokio::sync::watch::Sender<Arc<Figures>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            app.dirty.notified().await;
            if let Err(e) = app.render_round(&tx).await {
                tracing::warn!("figures not rendered: {e:#}");
            }
        }
    })
}

/// The one follow loop; after each step the node takes in what it folded,
/// and the issuer, if any, signs a checkpoint when one is due (the clock is
/// read here, in the shell). Saves at shutdown.
async fn follow(
    p: &mut Projector,
    app: &Arc<App>,
    issuer: &mut Option<crate::cmd::checkpoint::Issuer>,
    signal: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let log = app.log.clone();
    let mut last = Instant::now();
    // What the verdict counters count up to.
    let mut counted = metrics::Counts::of(p.overview());
    p.follow(&log, signal, async |p: &mut Projector| {
        let n = app.node.take_step(p)?;
        if n > 0 {
            metrics::folded(&counted, p.overview());
            counted = metrics::Counts::of(p.overview());
            let len = log.len().await.unwrap_or(p.position);
            app.log_length.fetch_max(len, Ordering::Relaxed);
            metrics::fold_rate(n, last.elapsed());
            app.dirty.notify_one();
        } else {
            app.log_length.fetch_max(p.position, Ordering::Relaxed);
        }
        last = Instant::now();
        if let Some(i) = issuer.as_mut() {
            if let Err(e) = i.maybe_sign(p.rules_state(), p.position, last).await {
                tracing::warn!("checkpoint not issued: {e:#}");
            }
        }
        metrics::observe_status(app, p);
        anyhow::Ok(())
    })
    .await
}

/// The figures at start: the digest and the donors view (what the
/// dashboard's first page and most readers ask for first).
async fn first_figures(node: &Arc<Node>, log: &AnyLog, receipt_days: i32) -> Result<Figures> {
    let timed = crate::cmd::report::checkpoint_times(log).await?;
    let node = node.clone();
    Ok(tokio::task::spawn_blocking(move || {
        node.render(&timed, receipt_days, None, vec![], vec![View::Donors])
    })
    .await?)
}
