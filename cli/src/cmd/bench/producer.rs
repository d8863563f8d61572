//! `tallinn bench producer`: what one producer command costs on a large
//! ledger (wall time and peak memory of the real binary, run as a child
//! process): `need`, `member list`, `status`, `log` and `log --member`,
//! beside `audit verify`, which reads and checks every entry (what every
//! producer command cost when it replayed the log), measured in the same run
//! on the same ledger.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::backend::NatsArgs;
use crate::cmd::bench::pipeline::PEAK_MEMORY_ENV;

/// A command's arguments for its run number.
type ArgsOf<'a> = Box<dyn Fn(usize) -> Vec<String> + 'a>;

/// One command's figures over its runs.
struct Figures {
    name: String,
    walls: Vec<f64>,
    peaks: Vec<f64>,
    /// Entries read from the log, in the last run.
    read: u64,
}

impl Figures {
    fn median_wall(&self) -> f64 {
        median(&self.walls)
    }
    fn median_peak(&self) -> f64 {
        median(&self.peaks)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs `tallinn --dir DIR [--nats URL] ARGS` as a child; its wall time (s),
/// peak memory (MiB) and the entries it read from the log.
fn run(exe: &Path, dir: &Path, nats: &[String], args: &[String]) -> Result<(f64, f64, u64)> {
    let t = Instant::now();
    let out = Command::new(exe)
        .arg("--dir")
        .arg(dir)
        .args(nats)
        .args(args)
        .env(PEAK_MEMORY_ENV, "1")
        .env("TALLINN_STATS", "1")
        .env_remove("TALLINN_NOW")
        .output()?;
    let wall = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("tallinn {}: {}", args.join(" "), stderr.trim());
    }
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-memory-mib "))
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let read = stderr
        .lines()
        .find_map(|l| l.strip_prefix("stats entries-read "))
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(0);
    Ok((wall, peak, read))
}

/// A fresh demo ledger of at least `events` events: embedded, or on a new
/// stream of the NATS server `url` (published by a `demo --nats` child).
pub fn ledger(exe: &Path, url: Option<&str>, events: u64) -> Result<std::path::PathBuf> {
    let Some(url) = url else {
        return Ok(crate::cmd::bench::pipeline::demo_ledger(events)?.0);
    };
    let dir = crate::cmd::bench::pipeline::tempfile_dir()?;
    println!("publishing a {events}-event demo ledger to {url} ...");
    let t = Instant::now();
    let out = Command::new(exe)
        .arg("--dir")
        .arg(&dir)
        .args(["--nats", url, "demo", "--seed", "42", "--events"])
        .arg(events.to_string())
        .output()?;
    if !out.status.success() {
        bail!(
            "demo --nats: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    println!("  published in {:.2}s", t.elapsed().as_secs_f64());
    Ok(dir)
}

/// Runs the benchmark on a fresh demo ledger of at least `events` events.
pub async fn producer(nats: &NatsArgs, events: u64, runs: usize) -> Result<()> {
    let exe = std::env::current_exe()?;
    let url = nats.enabled().then(|| nats.url.clone().unwrap_or_default());
    let dir = ledger(&exe, url.as_deref(), events)?;
    let nats: Vec<String> = match &url {
        Some(u) => vec!["--nats".into(), u.clone()],
        None => vec![],
    };
    let run = |exe: &Path, dir: &Path, args: &[String]| run(exe, dir, &nats, args);
    // The projector the producer commands read, caught up once.
    let (wall, _, _) = run(&exe, &dir, &["projector".into(), "catch-up".into()])?;
    println!("  projector caught up in {wall:.2}s");
    let key = dir.join("keys").join("UA-SSSCIP.key");
    let commands = commands(&key);
    let mut all = Vec::new();
    for (name, args) in &commands {
        let mut f = Figures {
            name: name.to_string(),
            walls: vec![],
            peaks: vec![],
            read: 0,
        };
        for i in 0..runs {
            let (wall, peak, read) = run(&exe, &dir, &args(i))?;
            f.walls.push(wall);
            f.peaks.push(peak);
            f.read = read;
        }
        all.push(f);
    }
    let replay = all.last().map_or(f64::NAN, Figures::median_wall);
    let backend = if url.is_some() {
        "JetStream"
    } else {
        "embedded"
    };
    println!(
        "\nproducer commands on a {events}-event {backend} ledger ({runs} runs each, medians):"
    );
    println!(
        "  {:<26} {:>9} {:>11} {:>13} {:>12}",
        "command", "wall", "peak RSS", "entries read", "vs all"
    );
    for f in &all {
        println!(
            "  {:<26} {:>8.3}s {:>7.1} MiB {:>13} {:>11.1}x",
            f.name,
            f.median_wall(),
            f.median_peak(),
            f.read,
            replay / f.median_wall()
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `need` signed with `key`: item `id`, one piece of hardware worth EUR 10
/// (what the benches append).
pub fn need_args(key: &Path, id: &str) -> Vec<String> {
    let key = key.display().to_string();
    [
        "need",
        "--key",
        &key,
        "--id",
        id,
        "--category",
        "hardware",
        "--description",
        "bench",
        "--quantity",
        "1",
        "--unit",
        "pcs",
        "--value",
        "10",
    ]
    .map(String::from)
    .to_vec()
}

/// The commands measured, with their arguments by run number (`need` takes
/// a new item id each run); `key` signs the needs.
fn commands(key: &Path) -> Vec<(&'static str, ArgsOf<'_>)> {
    let need = move |i: usize| need_args(key, &format!("BENCH-{i}"));
    vec![
        ("need", Box::new(need)),
        (
            "member list",
            Box::new(|_| vec!["member".into(), "list".into()]),
        ),
        ("status", Box::new(|_| vec!["status".into()])),
        (
            "log --limit 20",
            Box::new(|_| vec!["log".into(), "--limit".into(), "20".into()]),
        ),
        (
            "log --member --limit 20",
            Box::new(|_| {
                [
                    "log", "--member", "EE-MFA", "--from", "50000", "--limit", "20",
                ]
                .map(String::from)
                .to_vec()
            }),
        ),
        // Reads and checks every entry: what a replay costs.
        (
            "audit verify (all entries)",
            Box::new(|_| {
                ["audit", "verify", "--threshold", "0"]
                    .map(String::from)
                    .to_vec()
            }),
        ),
    ]
}
