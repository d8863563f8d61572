//! What every handler shares ([`App`]), how a request gets a rendered view
//! (the current figures, or as of a date), and the renderer task that keeps
//! the figures of the views readers asked for current.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use ledger::calendar::Date;
use projector::model::Model;
use projector::views::{Params, View};
use tokio::sync::{watch, Mutex, Notify};

use super::metrics::CheckpointInfo;
use super::node::{figures, slot, Figures, Node, RenderInput, Rendered};
use crate::backend::AnyLog;

/// How long a view stays rendered ahead after a reader last asked for it.
const HOT: Duration = Duration::from_secs(600);

/// As-of models kept (each is a whole read model).
const AS_OF_KEPT: usize = 2;

/// What every handler shares.
pub struct App {
    /// The log (reads only: events, checkpoints).
    pub log: AnyLog,
    /// The entries and read model folded.
    pub node: Arc<Node>,
    /// The latest figures rendered.
    pub figures: watch::Receiver<Arc<Figures>>,
    /// Wakes the renderer: the model moved, or a reader wants a view.
    pub dirty: Notify,
    /// When each view was last asked for ([`View::ALL`] order).
    wanted: std::sync::Mutex<Vec<Option<Instant>>>,
    /// Models as of a date, with the views rendered from them.
    as_of: Mutex<Vec<AsOf>>,
    /// The log's length as last seen by the follow loop.
    pub log_length: AtomicU64,
    /// `/readyz` answers 200 within this many entries of the log's end.
    pub ready_lag: u64,
    /// Days after delivery before a missing receipt is overdue.
    pub receipt_days: i32,
    /// SHA-256 of the bearer token, if one is required.
    pub token: Option<[u8; 32]>,
    /// The Prometheus exporter's handle.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The backend's name (`embedded` or `jetstream`).
    pub backend: &'static str,
    /// Set at shutdown: ends the live streams, so connections close.
    pub stopping: watch::Sender<bool>,
    /// Live streams open.
    pub streams: std::sync::atomic::AtomicUsize,
    /// The log's latest checkpoint as last read, and when.
    checkpoint: Mutex<Option<(Instant, Option<Arc<CheckpointInfo>>)>>,
}

/// A model as of a date, at the position it was refolded to.
struct AsOf {
    model: Arc<Model>,
    figures: Figures,
}

/// The settings an [`App`] is made with.
pub struct Settings {
    /// See [`App::ready_lag`].
    pub ready_lag: u64,
    /// See [`App::receipt_days`].
    pub receipt_days: i32,
    /// See [`App::token`].
    pub token: Option<[u8; 32]>,
    /// See [`App::metrics`].
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// See [`App::backend`].
    pub backend: &'static str,
}

impl App {
    /// The app of a node whose first figures are `first`; the renderer is
    /// given the sender.
    pub fn new(
        log: AnyLog,
        node: Arc<Node>,
        first: Figures,
        s: Settings,
    ) -> (Arc<App>, watch::Sender<Arc<Figures>>) {
        let (tx, rx) = watch::channel(Arc::new(first));
        let mut wanted = vec![None; View::ALL.len()];
        wanted[slot(View::Donors)] = Some(Instant::now());
        let app = App {
            log,
            node,
            figures: rx,
            dirty: Notify::new(),
            wanted: std::sync::Mutex::new(wanted),
            as_of: Mutex::new(Vec::new()),
            log_length: AtomicU64::new(0),
            ready_lag: s.ready_lag,
            receipt_days: s.receipt_days,
            token: s.token,
            metrics: s.metrics,
            backend: s.backend,
            stopping: watch::channel(false).0,
            streams: std::sync::atomic::AtomicUsize::new(0),
            checkpoint: Mutex::new(None),
        };
        (Arc::new(app), tx)
    }

    /// The log's latest checkpoint, read at most once a second (status,
    /// metrics and pages ask often; on an embedded ledger a read opens the store).
    pub async fn checkpoint(&self) -> Result<Option<Arc<CheckpointInfo>>> {
        let mut cached = self.checkpoint.lock().await;
        if let Some((at, cp)) = cached.as_ref() {
            if at.elapsed() < Duration::from_secs(1) {
                return Ok(cp.clone());
            }
        }
        let cp = super::metrics::latest_checkpoint(&self.log)
            .await?
            .map(Arc::new);
        *cached = Some((Instant::now(), cp.clone()));
        Ok(cp)
    }

    /// The latest figures.
    pub fn current(&self) -> Arc<Figures> {
        self.figures.borrow().clone()
    }

    /// The views asked for within [`HOT`].
    pub fn hot(&self) -> Vec<View> {
        let wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        View::ALL
            .into_iter()
            .filter(|v| wanted[slot(*v)].is_some_and(|t| t.elapsed() < HOT))
            .collect()
    }

    /// `view` rendered, as of `day` or at the latest position rendered.
    pub async fn view(
        &self,
        view: View,
        day: Option<Date>,
    ) -> Result<(Arc<Figures>, Arc<Rendered>)> {
        match day {
            Some(day) => self.view_as_of(view, day).await,
            None => self.view_now(view).await,
        }
    }

    async fn view_now(&self, view: View) -> Result<(Arc<Figures>, Arc<Rendered>)> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())[slot(view)] = Some(Instant::now());
        let mut rx = self.figures.clone();
        loop {
            let f = rx.borrow_and_update().clone();
            if let Some(r) = f.view(view) {
                return Ok((f.clone(), r.clone()));
            }
            // Not rendered at this position yet: the renderer adds it.
            self.dirty.notify_one();
            rx.changed()
                .await
                .map_err(|_| anyhow!("the node is stopping"))?;
        }
    }

    /// The view as of `day` at the current position: the model refolded
    /// once per (date, position) with the date's filter (the CLI's
    /// `report --as-of`), the last [`AS_OF_KEPT`] kept, views rendered as asked.
    async fn view_as_of(&self, view: View, day: Date) -> Result<(Arc<Figures>, Arc<Rendered>)> {
        let current = self.current();
        let mut cache = self.as_of.lock().await;
        cache.retain(|a| a.figures.position == current.position);
        let i = match cache.iter().position(|a| a.figures.as_of == Some(day)) {
            Some(i) => i,
            None => {
                let model =
                    projector::run::model_as_of(&self.log, current.position, day.end()).await?;
                if cache.len() >= AS_OF_KEPT {
                    cache.remove(0);
                }
                cache.push(AsOf {
                    model: Arc::new(model),
                    figures: Figures {
                        position: current.position,
                        as_of: Some(day),
                        today: crate::context::report_today(Some(day)),
                        digest: current.digest.clone(),
                        generated_at: super::wall_clock().to_string(),
                        views: vec![None; View::ALL.len()],
                    },
                });
                cache.len() - 1
            }
        };
        let entry = &mut cache[i];
        if entry.figures.view(view).is_none() {
            let model = entry.model.clone();
            let keep = entry.figures.clone();
            let input = self
                .input(
                    Some(day),
                    crate::context::report_today(Some(day)),
                    current.position,
                    Some(current.digest.clone()),
                )
                .await?;
            let f = tokio::task::spawn_blocking(move || {
                super::node::background_priority();
                let mut f = figures(&model, &[view], Some(&keep), input);
                f.position = keep.position;
                f
            })
            .await?;
            entry.figures = f;
        }
        let f = Arc::new(entry.figures.clone());
        let r = f
            .view(view)
            .cloned()
            .ok_or_else(|| anyhow!("view not rendered"))?;
        Ok((f, r))
    }

    /// The render input for the model at `position`: the integrity view's
    /// time findings from the index and the checkpoints' times.
    async fn input(
        &self,
        as_of: Option<Date>,
        today: Date,
        position: u64,
        digest: Option<String>,
    ) -> Result<RenderInput> {
        let timed = crate::cmd::report::checkpoint_times(&self.log).await?;
        let findings = self
            .node
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .time_findings(&timed, position);
        Ok(RenderInput {
            as_of,
            params: Params {
                today,
                receipt_days: self.receipt_days,
            },
            findings,
            digest,
            now: super::wall_clock(),
        })
    }

    /// One round of the renderer: until the figures are of the model's
    /// position with every view asked for, apply what the follow loop
    /// queued and render what is missing (all the views asked for at a new
    /// position, with its digest; the missing ones at the same position).
    pub async fn render_round(&self, tx: &watch::Sender<Arc<Figures>>) -> Result<()> {
        loop {
            self.node.apply_pending();
            let current = self.current();
            let position = self
                .node
                .model
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .position;
            let same = position == current.position;
            let hot = self.hot();
            let missing: Vec<View> = hot
                .iter()
                .copied()
                .filter(|v| !same || current.view(*v).is_none())
                .collect();
            if same && missing.is_empty() {
                return Ok(());
            }
            let timed = crate::cmd::report::checkpoint_times(&self.log).await?;
            let (node, receipt_days) = (self.node.clone(), self.receipt_days);
            let keep = same.then_some(current);
            let started = Instant::now();
            let f = tokio::task::spawn_blocking(move || {
                super::node::background_priority();
                node.render(&timed, receipt_days, keep, missing, hot)
            })
            .await?;
            ::metrics::histogram!("tallinn_render_seconds").record(started.elapsed().as_secs_f64());
            tx.send_replace(Arc::new(f));
        }
    }
}
