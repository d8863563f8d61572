//! `tallinn serve`: a live node. One process follows the log through the one
//! follow loop (`Projector::follow`), mirrors the read model as it folds
//! ([`node`]), renders the views once per position, and serves them over
//! HTTP: the JSON/CSV read API ([`api`]), Prometheus metrics and health
//! ([`metrics`]), and the dashboard ([`pages`], [`svg`]).
//!
//! The embedded log is held only while in use (as `projector run` holds it),
//! so producers on the same ledger append from their own processes while
//! the node runs.

pub mod api;
pub mod metrics;
pub mod node;
pub mod pages;
pub mod svg;
pub mod tlog;
mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use ledger::calendar::Date;
use ledger::log::Log;
use projector::run::Projector;
use projector::views::Params;
use tokio::sync::{watch, Mutex, Notify};

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::cmd::projector::{catch_up, shutdown_signal, Open};
use crate::context::{log_dir, OPEN_WAIT};
use node::{Figures, Mirror, SharedMirror};

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
}

/// What every handler shares.
pub struct App {
    /// The log (reads only: events, checkpoints).
    pub log: AnyLog,
    /// The read model, tree and event index mirrored as the node folds.
    pub mirror: SharedMirror,
    /// The figures of the latest position rendered.
    pub figures: watch::Receiver<Arc<Figures>>,
    /// Figures as of a date, by date, at the position they were built.
    pub as_of: Mutex<Vec<Arc<Figures>>>,
    /// The log's length as last seen by the follow loop.
    pub log_length: AtomicU64,
    /// Whether the node has caught up once and rendered.
    pub started: AtomicBool,
    /// See [`ServeArgs::ready_lag`].
    pub ready_lag: u64,
    /// See [`ServeArgs::receipt_days`].
    pub receipt_days: i32,
    /// SHA-256 of the bearer token, if one is required.
    pub token: Option<[u8; 32]>,
    /// The Prometheus exporter's handle.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The backend's name (`embedded` or `jetstream`).
    pub backend: &'static str,
    /// Set at shutdown: ends the live streams, so connections close.
    pub stopping: watch::Sender<bool>,
}

impl App {
    /// The latest figures.
    pub fn current(&self) -> Arc<Figures> {
        self.figures.borrow().clone()
    }

    /// The figures as of `day` at the current position: built once per
    /// (date, position) by refolding the log with the date's filter (the
    /// CLI's `report --as-of`), the last few kept.
    pub async fn figures_as_of(&self, day: Date) -> Result<Arc<Figures>> {
        let current = self.current();
        let mut cache = self.as_of.lock().await;
        if let Some(f) = cache
            .iter()
            .find(|f| f.as_of == Some(day) && f.position == current.position)
        {
            return Ok(f.clone());
        }
        let model = projector::run::model_as_of(&self.log, current.position, day.end()).await?;
        let findings = current
            .view(projector::views::View::Integrity)
            .tables
            .iter()
            .find(|t| t.title == "time_findings")
            .cloned();
        let params = Params {
            today: day,
            receipt_days: self.receipt_days,
        };
        let digest = current.digest.clone();
        let figures = tokio::task::spawn_blocking(move || {
            let findings = findings
                .unwrap_or_else(|| crate::cmd::report::findings_table(&[], &[], |_| String::new()));
            node::figures(&model, Some(day), params, findings, digest, wall_clock())
        })
        .await?;
        let figures = Arc::new(Figures {
            position: current.position,
            ..figures
        });
        cache.retain(|f| f.position == current.position);
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push(figures.clone());
        Ok(figures)
    }
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

/// `serve`.
pub async fn serve(nats: &NatsArgs, dir: &Path, a: ServeArgs) -> Result<()> {
    let token = a.token_file.as_deref().map(read_token).transpose()?;
    let metrics = metrics::install()?;
    let log = match open_log(nats, dir).await? {
        // The embedded log is held only while in use: producers and readers
        // in other processes take their turn while the node follows.
        AnyLog::Embedded(store) => {
            drop(store);
            AnyLog::Shared(ledger::shared::SharedStore::new(&log_dir(dir), OPEN_WAIT))
        }
        log => log,
    };
    let backend = if nats.enabled() {
        "jetstream"
    } else {
        "embedded"
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("--listen {}", a.listen))?;
    let mut p = catch_up(dir, &log, a.save_every, Open::Write).await?;
    p.track_folded(true);
    let mirror = Mirror::load(&mut p, &log).await?;
    let mirror: SharedMirror = Arc::new(RwLock::new(mirror));
    let first = render(&mirror, &log, a.receipt_days).await?;
    let (tx, rx) = watch::channel(Arc::new(first));
    let app = Arc::new(App {
        log: log.clone(),
        mirror: mirror.clone(),
        figures: rx,
        as_of: Mutex::new(Vec::new()),
        log_length: AtomicU64::new(log.len().await?),
        started: AtomicBool::new(true),
        ready_lag: a.ready_lag,
        receipt_days: a.receipt_days,
        token,
        metrics,
        backend,
        stopping: watch::channel(false).0,
    });
    // The verdict counters start from what the projector had folded.
    metrics::folded(
        &metrics::Counts::default(),
        &mirror.read().unwrap_or_else(|e| e.into_inner()).model,
    );
    metrics::observe_status(&app, &p);
    let addr = listener.local_addr()?;
    eprintln!(
        "serving {} on http://{addr}/ (Ctrl-C to stop)",
        dir.display()
    );
    let stop = Arc::new(Notify::new());
    let router = web::router(app.clone(), Duration::from_secs(a.request_timeout.max(1)));
    let server = {
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
        })
    };
    let dirty = Arc::new(Notify::new());
    let renderer = tokio::spawn(renderer(app.clone(), tx, dirty.clone()));
    let result = follow(&mut p, &app, &dirty).await;
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

/// The one follow loop, mirroring what each step folded; saves at shutdown.
async fn follow(p: &mut Projector, app: &Arc<App>, dirty: &Arc<Notify>) -> Result<()> {
    let log = app.log.clone();
    let mut last = Instant::now();
    p.follow(&log, shutdown_signal(), async |p: &mut Projector| {
        let n = {
            let mut m = app.mirror.write().unwrap_or_else(|e| e.into_inner());
            let before = metrics::Counts::of(&m.model);
            let n = m.apply(p)?;
            metrics::folded(&before, &m.model);
            n
        };
        if n > 0 {
            let len = log.len().await.unwrap_or(p.position);
            app.log_length.fetch_max(len, Ordering::Relaxed);
            metrics::fold_rate(n, last.elapsed());
            dirty.notify_one();
        } else {
            app.log_length.fetch_max(p.position, Ordering::Relaxed);
        }
        last = Instant::now();
        metrics::observe_status(app, p);
        anyhow::Ok(())
    })
    .await
}

/// Renders the figures whenever the mirror moved, one render at a time (a
/// render that finds the mirror moved again renders again).
async fn renderer(app: Arc<App>, tx: watch::Sender<Arc<Figures>>, dirty: Arc<Notify>) {
    loop {
        dirty.notified().await;
        match render(&app.mirror, &app.log, app.receipt_days).await {
            Ok(f) => {
                tx.send_replace(Arc::new(f));
            }
            Err(e) => tracing::warn!("figures not rendered: {e:#}"),
        }
    }
}

/// The figures of the mirror's current state.
async fn render(mirror: &SharedMirror, log: &AnyLog, receipt_days: i32) -> Result<Figures> {
    let timed = crate::cmd::report::checkpoint_times(log).await?;
    let mirror = mirror.clone();
    let started = Instant::now();
    let f = tokio::task::spawn_blocking(move || {
        let m = mirror.read().unwrap_or_else(|e| e.into_inner());
        let params = Params {
            today: m.model.latest.date(),
            receipt_days,
        };
        let digest = projector::digest::digest_hex(&m.model);
        node::figures(
            &m.model,
            None,
            params,
            m.time_findings(&timed),
            digest,
            wall_clock(),
        )
    })
    .await?;
    ::metrics::histogram!("tallinn_render_seconds").record(started.elapsed().as_secs_f64());
    Ok(f)
}
