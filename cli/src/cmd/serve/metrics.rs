//! Prometheus metrics of the node (`/metrics`, text format 0.0.4), recorded
//! through the `metrics` facade and rendered by its Prometheus exporter.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `tallinn_log_entries` | gauge | entries in the log, as last seen |
//! | `tallinn_projector_position` | gauge | entries folded |
//! | `tallinn_projector_lag` | gauge | entries in the log not folded yet |
//! | `tallinn_events_folded_total{verdict}` | counter | entries the projector has folded (from its saved state at start), by verdict code (`accepted`, `duplicate`, or the rejection code, `malformed` included) |
//! | `tallinn_fold_rate` | gauge | entries the last step that folded took in, per second since the follow loop's step before it (it wakes at least every half second) |
//! | `tallinn_render_seconds` | histogram | time to render every view after a step |
//! | `tallinn_checkpoint_size`, `tallinn_checkpoint_age_seconds`, `tallinn_checkpoint_cosignatures` | gauge | the log's latest signed checkpoint (read at scrape) |
//! | `tallinn_nats_connected` | gauge | 1 when the JetStream connection is up (JetStream only) |
//! | `tallinn_http_requests_total{route,status}` | counter | requests answered |
//! | `tallinn_http_request_duration_seconds{route,status}` | histogram | their latency |

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use ledger::log::Log;
use metrics::{counter, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use projector::model::Model;
use projector::run::Projector;

use super::app::App;
use crate::backend::AnyLog;

/// Latency buckets, seconds: from 100 µs to 10 s.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// Installs the exporter as the process's metrics recorder.
pub fn install() -> Result<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    Ok(handle)
}

/// The verdict counts of a model, to tell what a step folded.
#[derive(Default)]
pub struct Counts {
    accepted: u64,
    duplicates: u64,
    rejected: usize,
}

impl Counts {
    /// The counts of `m`.
    pub fn of(m: &Model) -> Counts {
        Counts {
            accepted: m.accepted,
            duplicates: m.duplicates,
            rejected: m.rejected.len(),
        }
    }
}

/// Counts what was folded between `before` and `m`, by verdict code.
pub fn folded(before: &Counts, m: &Model) {
    counter!("tallinn_events_folded_total", "verdict" => "accepted")
        .increment(m.accepted.saturating_sub(before.accepted));
    counter!("tallinn_events_folded_total", "verdict" => "duplicate")
        .increment(m.duplicates.saturating_sub(before.duplicates));
    for r in m.rejected.iter().skip(before.rejected) {
        counter!("tallinn_events_folded_total", "verdict" => r.code.clone()).increment(1);
    }
}

/// The rate of the last step.
pub fn fold_rate(n: usize, took: Duration) {
    gauge!("tallinn_fold_rate").set(n as f64 / took.as_secs_f64().max(1e-6));
}

/// Log length, position and lag.
pub fn observe_status(app: &App, p: &Projector) {
    let len = app.log_length.load(Ordering::Relaxed).max(p.position);
    gauge!("tallinn_log_entries").set(len as f64);
    gauge!("tallinn_projector_position").set(p.position as f64);
    gauge!("tallinn_projector_lag").set((len - p.position) as f64);
}

/// What the latest checkpoint says, for `/metrics` and `/api/v1/status`.
pub struct CheckpointInfo {
    /// The note's text.
    pub text: String,
    /// Tree size.
    pub size: u64,
    /// Root, hex.
    pub root: String,
    /// Signed issue time, Unix seconds, if the checkpoint has one.
    pub time: Option<u64>,
    /// Signature lines beyond the coordinator's (witness cosignatures).
    pub cosignatures: usize,
}

/// The log's latest checkpoint, parsed (not verified: the projector verifies
/// it against its tree and refuses another history).
pub async fn latest_checkpoint(log: &AnyLog) -> Result<Option<CheckpointInfo>> {
    let Some(bytes) = log.latest_checkpoint().await? else {
        return Ok(None);
    };
    let note = ledger::checkpoint::Note::parse(&bytes)?;
    let cp = ledger::checkpoint::Checkpoint::parse_body(&note.text)?;
    Ok(Some(CheckpointInfo {
        text: note.to_text(),
        size: cp.size,
        root: cp.root.to_hex(),
        time: cp.time(),
        cosignatures: note.signatures.len().saturating_sub(1),
    }))
}

/// The metrics read at scrape time, then the text.
pub async fn render(app: &App) -> String {
    if let Ok(Some(cp)) = app.checkpoint().await {
        gauge!("tallinn_checkpoint_size").set(cp.size as f64);
        gauge!("tallinn_checkpoint_cosignatures").set(cp.cosignatures as f64);
        if let Some(t) = cp.time {
            let now = (super::wall_clock().0 / 1000).max(0) as u64;
            gauge!("tallinn_checkpoint_age_seconds").set(now.saturating_sub(t) as f64);
        }
    }
    if let AnyLog::Nats(n) = &app.log {
        let up =
            n.connection().client.connection_state() == async_nats::connection::State::Connected;
        gauge!("tallinn_nats_connected").set(if up { 1.0 } else { 0.0 });
    }
    app.metrics.render()
}
