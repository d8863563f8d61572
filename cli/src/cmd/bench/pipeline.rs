//! `tallinn bench projection`: projection catch-up vs raw batch verification,
//! and the raw rates and helpers the other benches share.

use std::time::Instant;

use anyhow::Result;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rayon::prelude::*;

use ledger::batch::BatchKey;

use crate::context::{log_dir, OPEN_WAIT};

/// How the raw rates verify a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawVerifier {
    /// `ed25519_dalek::verify_batch`, this many signatures per batch: the reference.
    Dalek(usize),
    /// This ledger's verifier (`ledger::batch`, one term per key), this many per batch.
    Summed(usize),
}

impl std::fmt::Display for RawVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawVerifier::Dalek(n) => write!(f, "dalek verify_batch, {n}/batch"),
            RawVerifier::Summed(n) => write!(f, "ledger::batch (keys summed), {n}/batch"),
        }
    }
}

/// The reference raw rate: what the issues' ratios are measured against.
pub(crate) const REFERENCE: RawVerifier = RawVerifier::Dalek(64);
/// The verifier the projector and the auditor use, for context.
pub(crate) const LEDGER_VERIFIER: RawVerifier = RawVerifier::Summed(projector::fold::VERIFY_CHUNK);

/// Raw ed25519 batch verification rate (signatures/s) on the current rayon
/// pool (run it inside a one-thread pool for the one-core rate): pre-built
/// messages of `len` bytes, 16 keys, batches as `how` says. Nothing is
/// decoded, hashed or judged.
pub(crate) fn raw_batch_rate(n: usize, len: usize, how: RawVerifier) -> f64 {
    let keys: Vec<SigningKey> = (0..16u8)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut m = format!("tallinn-ledger/event/v1\nbench message {i}").into_bytes();
            m.resize(len.max(m.len()), b'.');
            m
        })
        .collect();
    let sigs: Vec<Signature> = msgs
        .par_iter()
        .enumerate()
        .map(|(i, m)| keys[i % 16].sign(m))
        .collect();
    let vks: Vec<VerifyingKey> = (0..n).map(|i| keys[i % 16].verifying_key()).collect();
    let prepared: Vec<BatchKey> = keys
        .iter()
        .map(|k| {
            BatchKey::new(ledger::keys::PublicKey(k.verifying_key().to_bytes()))
                .expect("a valid key")
        })
        .collect();
    let bks: Vec<BatchKey> = (0..n).map(|i| prepared[i % 16]).collect();
    let raw_sigs: Vec<[u8; 64]> = sigs.iter().map(Signature::to_bytes).collect();
    let per = match how {
        RawVerifier::Dalek(b) | RawVerifier::Summed(b) => b,
    };
    let start = Instant::now();
    (0..n.div_ceil(per)).into_par_iter().for_each(|c| {
        let (lo, hi) = (c * per, ((c + 1) * per).min(n));
        let refs: Vec<&[u8]> = msgs[lo..hi].iter().map(Vec::as_slice).collect();
        let ok = match how {
            RawVerifier::Dalek(_) => {
                ed25519_dalek::verify_batch(&refs, &sigs[lo..hi], &vks[lo..hi]).is_ok()
            }
            RawVerifier::Summed(_) => {
                ledger::batch::verify_messages(&refs, &raw_sigs[lo..hi], &bks[lo..hi])
            }
        };
        assert!(ok, "valid batch");
    });
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

/// Raw batch verification rate (signatures/s) over `sigs`, 64 per batch (the reference verifier), on the calling thread.
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

/// [`raw_rate_on`] with the ledger's own verifier (`ledger::batch`, 256 per
/// batch): the bound on this workload that the projection compares with.
fn summed_rate_on(sigs: &[(Vec<u8>, Signature, VerifyingKey)]) -> f64 {
    let keys: Vec<BatchKey> = sigs
        .iter()
        .map(|(_, _, k)| {
            BatchKey::new(ledger::keys::PublicKey(k.to_bytes())).expect("a verified key")
        })
        .collect();
    let raw: Vec<[u8; 64]> = sigs.iter().map(|(_, s, _)| s.to_bytes()).collect();
    let start = Instant::now();
    for lo in (0..sigs.len()).step_by(256) {
        let hi = (lo + 256).min(sigs.len());
        let msgs: Vec<&[u8]> = sigs[lo..hi].iter().map(|(m, _, _)| m.as_slice()).collect();
        let ok = ledger::batch::verify_messages(&msgs, &raw[lo..hi], &keys[lo..hi]);
        assert!(ok, "valid batch");
    }
    sigs.len() as f64 / start.elapsed().as_secs_f64()
}

/// A fresh demo ledger (seed 42) of at least `events` events in a temporary
/// directory, with what it took printed; returns the directory and what was played.
pub(crate) fn demo_ledger(events: u64) -> Result<(std::path::PathBuf, crate::cmd::demo::Played)> {
    let dir = tempfile_dir()?;
    println!(
        "generating a {events}-event demo ledger in {} ...",
        dir.display()
    );
    let t = Instant::now();
    let played = crate::cmd::demo::play(&dir, 42, events)?;
    println!(
        "  {} events generated in {:.2}s",
        played.events,
        t.elapsed().as_secs_f64()
    );
    Ok((dir, played))
}

/// Runs the projection benchmark.
pub async fn projection(events: u64) -> Result<()> {
    let (dir, _) = demo_ledger(events)?;
    let log = ledger::store::Store::open(&log_dir(&dir), OPEN_WAIT)?;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let raw_before = one.install(|| raw_batch_rate(64 * 800, SYNTHETIC_LEN, REFERENCE));
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
        results.push((threads, n as f64 / secs, p.digest_hex()?));
        if cores == 1 {
            break;
        }
    }
    // Measured before and after the projections: other load on the machine shows as a spread.
    let raw_after = one.install(|| raw_batch_rate(64 * 800, SYNTHETIC_LEN, REFERENCE));
    let raw1 = (raw_before + raw_after) / 2.0;
    let summed1 = one.install(|| raw_batch_rate(64 * 800, SYNTHETIC_LEN, LEDGER_VERIFIER));
    println!(
        "raw ed25519 batch verify ({REFERENCE}, 1 core): {raw1:>10.0} signatures/s  (230-byte messages; before {raw_before:.0}, after {raw_after:.0})"
    );
    println!(
        "raw batch verify ({LEDGER_VERIFIER}, 1 core): {summed1:>10.0} signatures/s  ({:.2}x the reference)",
        summed1 / raw1
    );
    // The same bound on this ledger's own events (their envelopes are longer).
    let sample = ledger::log::Log::read(&log, 2, 64 * 800).await?;
    let state = {
        let mut p =
            projector::run::Projector::open(&dir.join(format!("projector-{cores}")), OPEN_WAIT)?;
        p.catch_up(&log, |_| {}).await?;
        p.rules_state().clone()
    };
    let sigs = ledger_signatures(&sample, &state);
    let raw_events = one.install(|| raw_rate_on(&sigs));
    println!(
        "raw batch verify of this ledger's events:    {raw_events:>10.0} signatures/s  ({} events)",
        sigs.len()
    );
    let summed_events = one.install(|| summed_rate_on(&sigs));
    println!(
        "the same with {LEDGER_VERIFIER}:    {summed_events:>10.0} signatures/s  (the projection, 1 thread: {:.2}x of it)",
        results[0].1 / summed_events
    );
    for (threads, rate, digest) in &results {
        println!(
            "projection catch-up, {threads} thread(s):       {rate:>10.0} events/s  ratio {:.2}x raw, {:.2}x raw on these events, {:.2}x the summed raw  (digest {})",
            rate / raw1,
            rate / raw_events,
            rate / summed1,
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

/// Length of the synthetic signed messages of the one-core raw rates (bytes).
pub(crate) const SYNTHETIC_LEN: usize = 230;

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

/// Raw ed25519 signing rate (signatures/s) on the current thread.
pub(crate) fn raw_sign_rate(n: usize) -> f64 {
    let key = SigningKey::from_bytes(&[7; 32]);
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("tallinn-ledger/event/v1\nbench message {i:0>200}").into_bytes())
        .collect();
    let start = Instant::now();
    let mut last = None;
    for m in &msgs {
        last = Some(key.sign(m));
    }
    std::hint::black_box(last);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Peak resident memory of this process (VmHWM), in MiB, if /proc tells it.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Environment variable that makes `projector catch-up` print its peak memory.
pub const PEAK_MEMORY_ENV: &str = "TALLINN_BENCH_PEAK_MEMORY";

/// Prints the peak memory on stderr when the bench asked for it (child processes).
pub fn report_peak_memory() {
    if std::env::var_os(PEAK_MEMORY_ENV).is_some() {
        if let Some(m) = peak_memory_mib() {
            eprintln!("peak-memory-mib {m:.1}");
        }
    }
}
