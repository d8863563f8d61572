//! `tallinn bench`: figures, not tests, each against the raw rates measured
//! in the same run.

pub mod audit;
pub mod end_to_end;
pub mod pipeline;
pub mod producer;
pub mod serve;

use anyhow::Result;
use clap::Subcommand;

use crate::backend::NatsArgs;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Projection catch-up throughput vs the raw ed25519 batch-verify rate.
    Projection {
        /// Events in the demo ledger to project.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// Audit verify throughput (export + verify of a demo ledger) vs raw batch verification.
    Audit {
        /// Events in the demo ledger to audit.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// End-to-end: sign, append (JetStream with --nats), project; vs raw sign+verify.
    Pipeline {
        /// Events to sign, publish and project.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// One producer command (`need`), `member list`, `status` and `log` on a
    /// large ledger (embedded, or a new JetStream stream with --nats), as
    /// child processes: wall time and peak memory, beside `audit verify`,
    /// which reads every entry.
    Producer {
        /// Events in the demo ledger.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Runs of each command (medians are printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// `tallinn serve` under load: wrk on the donors report while producers
    /// append (embedded, or a new JetStream stream with --nats), and the
    /// latency from an append's acknowledgement to the API.
    Serve(serve::ServeBenchArgs),
}

/// Runs a benchmark.
pub async fn run(nats: &NatsArgs, cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Pipeline { events } => end_to_end::pipeline(nats, events).await,
        BenchCommand::Projection { events } => pipeline::projection(events).await,
        BenchCommand::Audit { events } => audit::audit(events).await,
        BenchCommand::Producer { events, runs } => producer::producer(nats, events, runs).await,
        BenchCommand::Serve(a) => serve::serve(nats, a).await,
    }
}
