//! `tallinn demo`: plays the demo (`super::play`) into a fresh ledger, on the
//! embedded store or through JetStream, projects it and reports.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::Log;
use ledger::store::Store;
use projector::views::{build, Params, View};
use tallinn_nats::NatsLog;

use crate::backend::{nats::create_streams, AnyLog, NatsArgs};
use crate::cmd::projector::{catch_up, Open};
use crate::cmd::Global;
use crate::context::{log_dir, OPEN_WAIT};
use crate::render::text_tables;

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed: the same seed gives the same keys, events, ids and digest.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Play at least this many events (the scripted year, then volume cycles).
    #[arg(long, default_value_t = 0)]
    pub events: u64,
}

/// Runs `demo`.
pub async fn run(g: &Global, a: DemoArgs) -> Result<()> {
    if g.nats.enabled() {
        if !g.dir_given() {
            bail!("--dir: demo --nats needs a directory for its projector and keys");
        }
        return demo_nats(&g.nats, &g.dir, a.seed.unwrap_or(1), a.events).await;
    }
    demo(&g.dir, g.dir_given(), a).await
}

/// `demo`.
async fn demo(dir: &Path, dir_given: bool, a: DemoArgs) -> Result<()> {
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
    let played = super::play(&dir, seed, a.events)?;
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
        text_tables(&build(&p.model()?, View::Donors, &params))
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
    println!("  tallinn --dir {d} serve        # dashboard and API on http://127.0.0.1:8080/");
    println!("  tallinn --dir {d} report commitments");
    println!("  tallinn --dir {d} report overdue");
    println!("  tallinn --dir {d} report donors --as-of 2025-06-30");
    println!("  tallinn --dir {d} report integrity --format json");
    println!("  tallinn --dir {d} export iati --out {d}/iati-activities.xml   # IATI 2.03");
    println!("  tallinn --dir {d} log --member EE-MFA");
    println!("  tallinn --dir {d} status");
    println!(
        "  tallinn --dir {d} need --key {d}/keys/UA-SSSCIP.key --id N-100 --category hardware \\"
    );
    println!("      --description \"Laptops for regional CERTs\" --quantity 50 --unit laptops --value 60000");
    Ok(())
}

/// `demo --nats`: the demo scenario signed exactly as on the embedded store, each
/// member's events published through the JetStream producer path in log order,
/// then projected into `dir`.
async fn demo_nats(nats: &NatsArgs, dir: &Path, seed: u64, events: u64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let scratch = dir.join(".demo-source");
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "Playing the demo (seed {seed}) through JetStream, projector in {}",
        dir.display()
    );
    let start = std::time::Instant::now();
    let played = super::play(&scratch, seed, events)?;
    let source = Store::open(&log_dir(&scratch), OPEN_WAIT)?;
    let genesis = source
        .read_sync(1, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the demo wrote no events"))?;
    let origin = Event::from_bytes(&genesis.bytes)?.envelope().origin.clone();
    let log = create_streams(nats, &origin).await?;
    if log.len().await? > 0 {
        bail!(
            "stream {} already holds events; the demo needs an empty one",
            log.name()
        );
    }
    let published = copy_log(&source, &log).await?;
    drop(source);
    let keys = dir.join("keys");
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::rename(scratch.join("keys"), &keys)?;
    std::fs::remove_dir_all(&scratch)?;
    println!(
        "  published {published} events ({} deliberately invalid) to stream {} in {:.2}s",
        played.rejected,
        log.name(),
        start.elapsed().as_secs_f64()
    );
    let mut p = catch_up(dir, &AnyLog::Nats(log), 50_000, Open::Shared).await?;
    let digest = p.digest_hex()?;
    println!("  projected to position {}; digest {}", p.position, digest);
    println!(
        "  {} events accepted, {} rejected; member keys in {}",
        p.overview().accepted,
        p.overview().rejected.len(),
        keys.display()
    );
    Ok(())
}

/// Appends every entry of `source` to `log` in order, grouping consecutive entries
/// of one producer with one receipt time into one pipelined append.
async fn copy_log(source: &Store, log: &NatsLog) -> Result<u64> {
    let mut heads: std::collections::HashMap<MemberId, u64> = Default::default();
    let mut from = 1;
    let mut copied = 0;
    loop {
        let batch = source.read_sync(from, 4096)?;
        if batch.is_empty() {
            break;
        }
        let mut i = 0;
        while i < batch.len() {
            let who = Event::from_bytes(&batch[i].bytes)?
                .envelope()
                .producer
                .clone();
            let at = batch[i].appended_at;
            let mut j = i + 1;
            while j < batch.len()
                && batch[j].appended_at == at
                && Event::from_bytes(&batch[j].bytes)?.envelope().producer == who
            {
                j += 1;
            }
            let bytes: Vec<Vec<u8>> = batch[i..j].iter().map(|e| e.bytes.clone()).collect();
            let positions = log
                .append(&who, heads.get(&who).copied(), &bytes, at)
                .await?;
            for (e, p) in batch[i..j].iter().zip(&positions) {
                if *p != e.position {
                    bail!(
                        "stream {}: event {} landed at position {p}; another writer is publishing",
                        log.name(),
                        e.position
                    );
                }
            }
            heads.insert(who, *positions.last().expect("non-empty"));
            copied += positions.len() as u64;
            i = j;
        }
        from = batch.last().map_or(from, |e| e.position + 1);
    }
    Ok(copied)
}
