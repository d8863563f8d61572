//! `tallinn bench projection`: projection catch-up vs raw batch verification.

use std::time::Instant;

use anyhow::Result;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rayon::prelude::*;

use ledger::batch::BatchKey;

use crate::backend::AnyLog;
use crate::context::{log_dir, OPEN_WAIT};
use ledger::log::Log;

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
const SYNTHETIC_LEN: usize = 230;

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
fn raw_sign_rate(n: usize) -> f64 {
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

/// Producers in the pipeline bench.
const PRODUCERS: usize = 8;
/// Events per append in the pipeline bench.
const APPEND_BATCH: usize = 64;
/// Appends each producer may have signed ahead of the one being appended.
const SIGN_AHEAD: usize = 4;

/// `bench pipeline`: `events` offers signed by 8 concurrent producers (each on its
/// own thread, appending 64 at a time from its own task: atomic batches on
/// JetStream), projected with verification by a concurrent projector;
/// then a fresh projector's catch-up in a child process (its peak memory).
pub async fn pipeline(nats: &crate::backend::NatsArgs, events: u64) -> Result<()> {
    let dir = tempfile_dir()?;
    let origin = format!("bench.example/{}", std::process::id());
    let ledger = BenchLedger::new(&origin)?;
    let log = open_bench_log(nats, &origin, &dir).await?;
    let backend = match &log {
        AnyLog::Nats(n) if n.atomic() => "JetStream, atomic batches",
        AnyLog::Nats(_) => "JetStream, pipelined conditional publishes",
        AnyLog::Embedded(_) | AnyLog::Shared(_) => "embedded sled",
    };
    let coordinator = &ledger.genesis.envelope().producer;
    log.append(
        coordinator,
        None,
        &[ledger.genesis.bytes().to_vec()],
        ledger.t0,
    )
    .await?;
    println!("bench pipeline: {events} events, {PRODUCERS} producers, {backend}");
    // The projector follows (the one follow loop) while the producers publish.
    let total = events + 1;
    let start = Instant::now();
    let pdir = dir.join("projector-live");
    let (followed, published) = tokio::join!(follow_until(&log, &pdir, total), async {
        let r = publish_all(&log, &ledger, events).await;
        (r, start.elapsed().as_secs_f64())
    });
    let (publish, publish_secs) = published;
    publish?;
    let (position, digest) = followed?;
    let e2e_secs = start.elapsed().as_secs_f64();
    let embedded = !matches!(log, AnyLog::Nats(_));
    let child = catch_up_child(nats, log, &dir)?;
    let same = child.stdout.contains(&digest);
    print_figures(&Figures {
        events,
        embedded,
        publish_secs,
        e2e_secs,
        catchup_secs: child.secs,
        peak: child.peak,
        position,
        digest: &digest,
        same,
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    if !same {
        anyhow::bail!("the two projectors disagree");
    }
    Ok(())
}

/// The bench ledger: a coordinator and [`PRODUCERS`] donors with demo keys,
/// the signed genesis and the state after it.
struct BenchLedger {
    origin: String,
    signers: Vec<ledger::keys::Signer>,
    genesis: ledger::event::Event,
    state: ledger::state::State,
    t0: ledger::calendar::Timestamp,
}

impl BenchLedger {
    fn new(origin: &str) -> Result<BenchLedger> {
        use ledger::body::{Body, Genesis};
        use ledger::member::{Member, MemberKind, Role};
        let signers: Vec<ledger::keys::Signer> = std::iter::once("BENCH-COORD".to_string())
            .chain((0..PRODUCERS).map(|i| format!("BENCH-D{i}")))
            .map(|id| crate::cmd::demo::demo_signer(9, &id))
            .collect();
        let member = |s: &ledger::keys::Signer, kind, role| Member {
            id: s.name().parse().expect("valid"),
            name: s.name().into(),
            kind,
            country: "EE".into(),
            roles: vec![role],
            key: s.public_key(),
        };
        let members = signers[1..]
            .iter()
            .map(|s| member(s, MemberKind::Ministry, Role::Donor))
            .collect();
        let coordinator = member(&signers[0], MemberKind::Secretariat, Role::Coordinator);
        let t0 = crate::context::now(None)?;
        let mut state = ledger::state::State::new();
        let body = Body::Genesis(Genesis {
            origin: origin.to_string(),
            coordinator: coordinator.clone(),
            members,
        });
        let genesis =
            ledger::producer::next_event(&state, origin, &coordinator.id, body, t0, &signers[0])?;
        state.apply(&genesis, &ledger::rules::Outcome::Accepted);
        Ok(BenchLedger {
            origin: origin.to_string(),
            signers,
            genesis,
            state,
            t0,
        })
    }
}

/// A new stream for the bench with `--nats`, else a new embedded log in `dir`.
async fn open_bench_log(
    nats: &crate::backend::NatsArgs,
    origin: &str,
    dir: &std::path::Path,
) -> Result<AnyLog> {
    Ok(if nats.enabled() {
        let conn = nats.connect().await?;
        let spec = tallinn_nats::StreamSpec::for_origin(origin);
        AnyLog::Nats(nats.configure(tallinn_nats::NatsLog::create_or_check(&conn, &spec).await?))
    } else {
        AnyLog::Embedded(ledger::store::Store::open(&log_dir(dir), OPEN_WAIT)?)
    })
}

/// A projector in `pdir` following `log` (`Projector::follow`) until it has
/// folded `total` entries; its position and digest.
async fn follow_until(log: &AnyLog, pdir: &std::path::Path, total: u64) -> Result<(u64, String)> {
    let mut p = projector::run::Projector::open(pdir, OPEN_WAIT)?;
    p.save_every = 50_000;
    let reached = tokio::sync::Notify::new();
    p.follow(
        log,
        reached.notified(),
        async |p: &mut projector::run::Projector| {
            if p.position >= total {
                reached.notify_one();
            }
            Ok::<_, anyhow::Error>(())
        },
    )
    .await?;
    Ok((p.position, p.digest_hex()?))
}

/// Each producer signs on its own thread (a few appends ahead) and appends
/// from its own task, one append at a time on its chain: the producers run
/// concurrently. Returns when every event is appended.
async fn publish_all(log: &AnyLog, ledger: &BenchLedger, events: u64) -> Result<()> {
    let mut appenders = Vec::with_capacity(PRODUCERS);
    let mut signing = Vec::with_capacity(PRODUCERS);
    for (k, signer) in ledger.signers[1..].iter().enumerate() {
        let share = events / PRODUCERS as u64 + u64::from((k as u64) < events % PRODUCERS as u64);
        let id: ledger::ids::MemberId = signer.name().parse().expect("valid");
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<u8>>>(SIGN_AHEAD);
        let (own, signer, origin, t0) = (
            ledger.state.clone(),
            signer.clone(),
            ledger.origin.clone(),
            ledger.t0,
        );
        let sid = id.clone();
        signing.push(std::thread::spawn(move || {
            sign_offers(own, &origin, &sid, &signer, t0, share, tx)
        }));
        let log = log.clone();
        appenders.push(tokio::spawn(async move {
            let mut head = None;
            while let Some(batch) = rx.recv().await {
                let pos = log.append(&id, head, &batch, t0).await?;
                head = pos.last().copied();
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for a in appenders {
        a.await??;
    }
    for s in signing {
        s.join()
            .map_err(|_| anyhow::anyhow!("a signing thread panicked"))??;
    }
    Ok(())
}

/// Signs `share` offers of `sid` in batches of [`APPEND_BATCH`] into `tx`.
fn sign_offers(
    mut own: ledger::state::State,
    origin: &str,
    sid: &ledger::ids::MemberId,
    signer: &ledger::keys::Signer,
    t0: ledger::calendar::Timestamp,
    share: u64,
    tx: tokio::sync::mpsc::Sender<Vec<Vec<u8>>>,
) -> Result<()> {
    use ledger::body::{Body, Modality, Offer};
    use ledger::money::{Money, Quantity};
    let mut n = 0u64;
    while n < share {
        let take = (APPEND_BATCH as u64).min(share - n) as usize;
        let mut batch = Vec::with_capacity(take);
        for _ in 0..take {
            n += 1;
            let body = Body::OfferMade(Offer {
                offer: format!("{sid}/O-{n}").parse().expect("valid item id"),
                on_behalf_of: None,
                category: ledger::category::Category::Hardware,
                dac_sector: None,
                modality: Modality::Goods,
                description: "bench offer".into(),
                quantity: Quantity {
                    amount: 1 + n % 50,
                    unit: "units".into(),
                },
                value: Money::eur(100 * (1 + n % 1000)),
                valid_until: None,
                answers: vec![],
            });
            let ev = ledger::producer::next_event(&own, origin, sid, body, t0, signer)?;
            own.apply(&ev, &ledger::rules::Outcome::Accepted);
            batch.push(ev.bytes().to_vec());
        }
        if tx.blocking_send(batch).is_err() {
            break; // the appender failed; it reports why
        }
    }
    Ok(())
}

/// What the catch-up child reported.
struct Child {
    secs: f64,
    peak: String,
    stdout: String,
}

/// Catch-up of a fresh projector, in a child process so its peak memory is
/// its own (an embedded log is released and moved to it first).
fn catch_up_child(
    nats: &crate::backend::NatsArgs,
    log: AnyLog,
    dir: &std::path::Path,
) -> Result<Child> {
    let cdir = dir.join("catchup");
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--dir").arg(&cdir).env(PEAK_MEMORY_ENV, "1");
    match &log {
        AnyLog::Nats(n) => {
            cmd.arg("--stream").arg(n.name());
            // The child inherits the connection options through the environment.
            cmd.env("TALLINN_NATS_URL", nats.url.clone().unwrap_or_default());
        }
        AnyLog::Embedded(_) | AnyLog::Shared(_) => std::fs::create_dir_all(&cdir)?,
    }
    let embedded = !matches!(log, AnyLog::Nats(_));
    drop(log);
    if embedded {
        std::fs::rename(log_dir(dir), log_dir(&cdir))?;
    }
    cmd.args(["projector", "catch-up"]);
    let t = Instant::now();
    let out = cmd.output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "catch-up child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let peak = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak-memory-mib "))
        .unwrap_or("?")
        .to_string();
    Ok(Child {
        secs,
        peak,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// The pipeline bench's measurements.
struct Figures<'a> {
    events: u64,
    embedded: bool,
    publish_secs: f64,
    e2e_secs: f64,
    catchup_secs: f64,
    peak: String,
    position: u64,
    digest: &'a str,
    same: bool,
}

/// Prints the figures beside the raw rates measured now.
fn print_figures(f: &Figures<'_>) -> Result<()> {
    let total = f.events + 1;
    let sign1 = raw_sign_rate(20_000);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let verify1 = one.install(|| raw_batch_rate(64 * 300, SYNTHETIC_LEN, REFERENCE));
    let summed1 = one.install(|| raw_batch_rate(64 * 300, SYNTHETIC_LEN, LEDGER_VERIFIER));
    let bound = 1.0 / (1.0 / sign1 + 1.0 / verify1);
    let summed_bound = 1.0 / (1.0 / sign1 + 1.0 / summed1);
    let e2e = total as f64 / f.e2e_secs;
    println!("raw ed25519 sign (1 core):                 {sign1:>10.0} /s");
    println!("raw ed25519 batch verify ({REFERENCE}, 1 core): {verify1:>10.0} /s");
    println!("raw batch verify ({LEDGER_VERIFIER}, 1 core): {summed1:>10.0} /s");
    println!("raw sign+verify bound (1 core):            {bound:>10.0} events/s  (with the summed verifier: {summed_bound:.0})");
    println!(
        "publish only (sign + append{}):        {:>10.0} events/s",
        if f.embedded { "" } else { " + acks" },
        f.events as f64 / f.publish_secs
    );
    println!(
        "end to end (sign, append, project):        {e2e:>10.0} events/s  ratio {:.2}x the bound ({:.2}x the summed bound)",
        e2e / bound,
        e2e / summed_bound
    );
    println!(
        "projection catch-up (child process):       {:>10.0} events/s (incl. process start)",
        total as f64 / f.catchup_secs
    );
    println!(
        "projector peak memory (catch-up child):    {:>10} MiB",
        f.peak
    );
    println!(
        "projected position {}, digest {}; fresh catch-up digest {}",
        f.position,
        &f.digest[..16],
        if f.same { "identical" } else { "DIFFERENT" }
    );
    Ok(())
}
