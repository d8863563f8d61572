//! `tallinn bench projection`: projection catch-up vs raw batch verification.

use std::time::Instant;

use anyhow::Result;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::context::{log_dir, OPEN_WAIT};

/// Raw ed25519 batch verification rate (signatures/s) on the current thread pool.
pub(crate) fn raw_batch_rate(n: usize) -> f64 {
    let keys: Vec<SigningKey> = (0..16u8)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("tallinn-ledger/event/v1\nbench message {i:0>200}").into_bytes())
        .collect();
    let sigs: Vec<Signature> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| keys[i % 16].sign(m))
        .collect();
    let vks: Vec<VerifyingKey> = (0..n).map(|i| keys[i % 16].verifying_key()).collect();
    let start = Instant::now();
    for c in (0..n).step_by(64) {
        let end = (c + 64).min(n);
        let refs: Vec<&[u8]> = msgs[c..end].iter().map(Vec::as_slice).collect();
        ed25519_dalek::verify_batch(&refs, &sigs[c..end], &vks[c..end]).expect("valid batch");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The signed messages, signatures and keys of the first `n` well-signed events
/// of a projected ledger: the raw material of the bound on this workload.
fn ledger_signatures(
    entries: &[ledger::log::Entry],
    state: &ledger::state::State,
) -> Vec<(Vec<u8>, Signature, VerifyingKey)> {
    entries
        .iter()
        .filter_map(|e| {
            let ev = ledger::event::Event::from_bytes(&e.bytes).ok()?;
            let key = state
                .active_key(&ev.envelope().producer)?
                .verifying_key()
                .ok()?;
            ev.verify(&ledger::keys::PublicKey(key.to_bytes())).ok()?;
            Some((
                ledger::event::signed_message(ev.envelope_bytes()),
                Signature::from_bytes(&ev.signature()),
                key,
            ))
        })
        .collect()
}

/// Raw batch verification rate (signatures/s) over `sigs`, 64 per batch, on the current thread pool's thread.
fn raw_rate_on(sigs: &[(Vec<u8>, Signature, VerifyingKey)]) -> f64 {
    let start = Instant::now();
    for chunk in sigs.chunks(64) {
        let msgs: Vec<&[u8]> = chunk.iter().map(|(m, _, _)| m.as_slice()).collect();
        let s: Vec<Signature> = chunk.iter().map(|(_, s, _)| *s).collect();
        let k: Vec<VerifyingKey> = chunk.iter().map(|(_, _, k)| *k).collect();
        ed25519_dalek::verify_batch(&msgs, &s, &k).expect("valid batch");
    }
    sigs.len() as f64 / start.elapsed().as_secs_f64()
}

/// Runs the projection benchmark.
pub async fn projection(events: u64) -> Result<()> {
    let dir = tempfile_dir()?;
    println!(
        "generating a {events}-event demo ledger in {} ...",
        dir.display()
    );
    let t = Instant::now();
    let played = crate::demo::play(&dir, 42, events)?;
    println!(
        "  {} events generated in {:.2}s",
        played.events,
        t.elapsed().as_secs_f64()
    );
    let log = ledger::store::Store::open(&log_dir(&dir), OPEN_WAIT)?;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let raw_before = one.install(|| raw_batch_rate(64 * 800));
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut results = Vec::new();
    for threads in [1, cores] {
        let pdir = dir.join(format!("projector-{threads}"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let mut p = projector::run::Projector::open(&pdir, OPEN_WAIT)?;
        p.save_every = u64::MAX;
        let t = Instant::now();
        let n = pool.install(|| futures_block(p.catch_up(&log, |_| {})))?;
        let secs = t.elapsed().as_secs_f64();
        results.push((
            threads,
            n as f64 / secs,
            projector::digest::digest_hex(&p.model),
        ));
        if cores == 1 {
            break;
        }
    }
    // Measured before and after the projections: other load on the machine shows as a spread.
    let raw_after = one.install(|| raw_batch_rate(64 * 800));
    let raw1 = (raw_before + raw_after) / 2.0;
    println!(
        "raw ed25519 batch verify (64/batch, 1 core): {raw1:>10.0} signatures/s  (230-byte messages; before {raw_before:.0}, after {raw_after:.0})"
    );
    // The same bound on this ledger's own events (their envelopes are longer).
    let sample = ledger::log::Log::read(&log, 2, 64 * 800).await?;
    let state = {
        let mut p =
            projector::run::Projector::open(&dir.join(format!("projector-{cores}")), OPEN_WAIT)?;
        p.catch_up(&log, |_| {}).await?;
        p.state
    };
    let sigs = ledger_signatures(&sample, &state);
    let raw_events = one.install(|| raw_rate_on(&sigs));
    println!(
        "raw batch verify of this ledger's events:    {raw_events:>10.0} signatures/s  ({} events)",
        sigs.len()
    );
    for (threads, rate, digest) in &results {
        println!(
            "projection catch-up, {threads} thread(s):       {rate:>10.0} events/s  ratio {:.2}x raw, {:.2}x raw on these events  (digest {})",
            rate / raw1,
            rate / raw_events,
            &digest[..16]
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak resident memory of this process:       {:>10.1} MiB",
            kib as f64 / 1024.0
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average during the run:                {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Peak resident set size (`VmHWM`) in KiB, where `/proc` provides it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("tallinn-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// Runs a future to completion on the current thread (inside a rayon pool).
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
