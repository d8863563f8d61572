//! `tallinn bench pipeline`: sign, append and project end to end, against the
//! one-core sign+verify bound measured in the same run.

use std::time::Instant;

use anyhow::Result;
use ledger::log::Log;

use super::pipeline::{
    raw_batch_rate, raw_sign_rate, tempfile_dir, LEDGER_VERIFIER, PEAK_MEMORY_ENV, REFERENCE,
    SYNTHETIC_LEN,
};
use crate::backend::AnyLog;
use crate::context::{log_dir, OPEN_WAIT};

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
        AnyLog::Embedded(_) | AnyLog::Shared(_) | AnyLog::Local(_) => "embedded",
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
        AnyLog::Embedded(_) | AnyLog::Shared(_) | AnyLog::Local(_) => {
            std::fs::create_dir_all(&cdir)?
        }
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
