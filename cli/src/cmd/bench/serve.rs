//! `tallinn bench serve`: the node under load. A `tallinn serve` child on a
//! demo ledger (or one given); `wrk` (a real HTTP load generator, a separate
//! process) on `GET /api/v1/reports/donors` while producers in other
//! processes append needs, so the node also follows; then the latency from an
//! append's acknowledgement to the first API answer that contains the event
//! (`/api/v1/events/{id}`) and to the first report that includes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use ledger::body::{Body, Need};
use ledger::money::Quantity;

use crate::backend::{open_log, AnyLog, NatsArgs};
use crate::context::{log_dir, OPEN_WAIT};
use crate::flags;

/// `bench serve`.
#[derive(Debug, Args)]
pub struct ServeBenchArgs {
    /// Events in the demo ledger made for the bench (ignored with --ledger).
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// An existing ledger directory to serve instead of a new demo ledger
    /// (with --nats: the directory of that stream's keys and projector).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Seconds of load.
    #[arg(long, default_value_t = 15)]
    pub duration: u64,
    /// Open connections of the load generator.
    #[arg(long, default_value_t = 16)]
    pub connections: u32,
    /// Appends timed from acknowledgement to visibility.
    #[arg(long, default_value_t = 200)]
    pub visible: usize,
}

/// Runs the benchmark.
pub async fn serve(nats: &NatsArgs, a: ServeBenchArgs) -> Result<()> {
    let exe = std::env::current_exe()?;
    which("wrk").ok_or_else(|| anyhow!("wrk not found: install it (apt-get install wrk)"))?;
    let url = nats.enabled().then(|| nats.url.clone().unwrap_or_default());
    let (dir, made) = match &a.ledger {
        Some(d) => (d.clone(), false),
        None => (
            crate::cmd::bench::producer::ledger(&exe, url.as_deref(), a.events)?,
            true,
        ),
    };
    let pre: Vec<String> = match &url {
        Some(u) => vec!["--nats".into(), u.clone()],
        None => vec![],
    };
    let t = Instant::now();
    let mut node = Node::start(&exe, &dir, &pre)?;
    let addr = node.addr.clone();
    let ready = t.elapsed().as_secs_f64();
    let position = status_position(&addr)?;
    println!("node on {addr}: {position} entries folded, serving after {ready:.2}s (catch-up, mirror, first render)");
    let ((rps, lat), appended) = load(&exe, &dir, &pre, &addr, &a)?;
    let render = render_seconds(&addr)?;
    let peak = node.peak_mib();
    let log = match open_log(nats, &dir).await? {
        AnyLog::Embedded(s) => {
            drop(s);
            AnyLog::Shared(ledger::shared::SharedStore::new(&log_dir(&dir), OPEN_WAIT))
        }
        log => log,
    };
    let (folded, reported) = visibility(log, &dir, &addr, a.visible).await?;
    let backend = if url.is_some() {
        "JetStream"
    } else {
        "embedded"
    };
    println!("\nGET /api/v1/reports/donors on a {position}-event {backend} ledger, {} connections, {}s, while {appended} needs were appended by producer processes:", a.connections, a.duration);
    println!("  requests/s {rps:>10.0}");
    for (p, v) in &lat {
        println!("  p{p:<2}       {:>8.3} ms", v * 1e3);
    }
    println!(
        "  renders (the digest and the views asked for) after steps: mean {:.1} ms over {}",
        render.0 * 1e3,
        render.1
    );
    println!("  the node's peak RSS so far: {peak:.0} MiB");
    println!(
        "\nfrom an append's acknowledgement to the first answer containing it ({} appends):",
        a.visible
    );
    print_latencies("GET /api/v1/events/{id}", &folded);
    print_latencies("GET /api/v1/reports/donors (its position)", &reported);
    node.stop()?;
    if made {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A `tallinn serve` child.
struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn start(exe: &Path, dir: &Path, pre: &[String]) -> Result<Node> {
        let mut child = Command::new(exe)
            .args(pre)
            .arg("--dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("TALLINN_NOW")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                bail!("tallinn serve exited before listening");
            };
            let line = line?;
            if let Some(rest) = line.split(" on http://").nth(1) {
                break rest.split('/').next().unwrap_or_default().to_string();
            }
        };
        // What it says next (warnings, its last line) goes to our stderr.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("  node: {line}");
            }
        });
        Ok(Node { child, addr })
    }

    /// The child's peak resident memory (VmHWM), MiB.
    fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    fn stop(&mut self) -> Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Node {
    /// A bench that fails midway leaves no node running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path`: status and body (one request per connection).
fn get(addr: &str, path: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad answer to {path}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn status_position(addr: &str) -> Result<u64> {
    let (_, body) = get(addr, "/api/v1/status")?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    v["position"]
        .as_u64()
        .ok_or_else(|| anyhow!("no position in status"))
}

/// Mean render time (s) and renders, from the node's own metrics.
fn render_seconds(addr: &str) -> Result<(f64, u64)> {
    let (_, text) = get(addr, "/metrics")?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (sum, count) = (
        value("tallinn_render_seconds_sum"),
        value("tallinn_render_seconds_count"),
    );
    Ok((sum / count.max(1.0), count as u64))
}

/// Requests/s and latency percentiles (percentile, seconds) of a load run.
type Throughput = (f64, Vec<(u32, f64)>);

/// wrk against the donors report while producer processes append needs:
/// requests/s, latency percentiles (s), needs appended.
fn load(
    exe: &Path,
    dir: &Path,
    pre: &[String],
    addr: &str,
    a: &ServeBenchArgs,
) -> Result<(Throughput, u64)> {
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let appender = {
        let (stop, appended) = (stop.clone(), appended.clone());
        let (exe, dir, pre) = (exe.to_path_buf(), dir.to_path_buf(), pre.to_vec());
        std::thread::spawn(move || {
            let key = dir.join("keys").join("UA-SSSCIP.key");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = format!("BENCH-LOAD-{}-{i}", std::process::id());
                let ok = Command::new(&exe)
                    .args(&pre)
                    .arg("--dir")
                    .arg(&dir)
                    .args(crate::cmd::bench::producer::need_args(&key, &id))
                    .env_remove("TALLINN_NOW")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ok {
                    appended.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{}", a.connections),
            &format!("-d{}s", a.duration),
            "--latency",
        ])
        .arg(format!("http://{addr}/api/v1/reports/donors"))
        .output()?;
    stop.store(true, Ordering::Relaxed);
    let _ = appender.join();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() || text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((parse_wrk(&text)?, appended.load(Ordering::Relaxed)))
}

/// Requests/s and the latency distribution (s) of `wrk --latency`.
fn parse_wrk(text: &str) -> Result<Throughput> {
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:")?.trim().parse().ok())
        .ok_or_else(|| anyhow!("no Requests/sec in wrk's output: {text}"))?;
    let mut lat = Vec::new();
    for p in [50, 75, 90, 99] {
        let v = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{p}%"))?
                    .trim()
                    .parse::<Secs>()
                    .ok()
            })
            .ok_or_else(|| anyhow!("no {p}% latency in wrk's output: {text}"))?;
        lat.push((p, v.0));
    }
    Ok((rps, lat))
}

/// A wrk duration: `635.91us`, `1.01ms`, `2.00s`.
struct Secs(f64);

impl std::str::FromStr for Secs {
    type Err = std::num::ParseFloatError;
    fn from_str(s: &str) -> Result<Secs, Self::Err> {
        let (num, scale) = if let Some(n) = s.strip_suffix("us") {
            (n, 1e-6)
        } else if let Some(n) = s.strip_suffix("ms") {
            (n, 1e-3)
        } else if let Some(n) = s.strip_suffix('m') {
            (n, 60.0)
        } else {
            (s.strip_suffix('s').unwrap_or(s), 1.0)
        };
        Ok(Secs(num.parse::<f64>()? * scale))
    }
}

/// Appends `n` needs one at a time through the producer step (in this
/// process, so the clock starts at the acknowledgement), polling the node
/// after each: latencies (s) to the event's answer and to the donors report
/// at its position (whose digest the renderer computes first).
async fn visibility(log: AnyLog, dir: &Path, addr: &str, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let signer = ledger::keyfile::read(&dir.join("keys").join("UA-SSSCIP.key"))?;
    let mut producer = crate::producer::Producer::open(log, dir).await?;
    let me = producer.producer(&signer)?;
    let (mut folded, mut reported) = (Vec::new(), Vec::new());
    for i in 0..n {
        let id = format!("BENCH-VISIBLE-{}-{i}", std::process::id());
        let body = Body::NeedStated(Need {
            need: flags::item("id", &id, &me)?,
            recipient: me.clone(),
            category: flags::category("hardware")?,
            dac_sector: None,
            description: "bench".into(),
            quantity: Quantity {
                amount: 1,
                unit: "pcs".into(),
            },
            estimated_value: flags::money_of("10", "EUR", None)?,
            priority: flags::priority("medium")?,
            needed_by: None,
        });
        let emitted = producer
            .emit(&signer, vec![body], crate::cmd::serve::wall_clock(), false)
            .await?;
        let acked = Instant::now();
        // An embedded log is held only while in use, as every producer does.
        if let AnyLog::Shared(s) = &producer.log {
            s.release();
        }
        let (event, position) = emitted.events.first().cloned().context("nothing emitted")?;
        let position = position.context("no position")?;
        let path = format!("/api/v1/events/{}", event.id().to_hex());
        let addr = addr.to_string();
        let (a, b) = tokio::task::spawn_blocking(move || -> Result<(f64, f64)> {
            while get(&addr, &path)?.0 != 200 {}
            let a = acked.elapsed().as_secs_f64();
            loop {
                let (_, body) = get(&addr, "/api/v1/reports/donors")?;
                let v: serde_json::Value = serde_json::from_str(&body)?;
                if v["position"].as_u64().unwrap_or(0) >= position {
                    return Ok((a, acked.elapsed().as_secs_f64()));
                }
            }
        })
        .await??;
        folded.push(a);
        reported.push(b);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((folded, reported))
}

fn print_latencies(what: &str, v: &[f64]) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
            * 1e3
    };
    println!(
        "  {what:<40} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
