//! The ledger on NATS JetStream: real nats-server processes (one server, or a
//! 3-node cluster) spawned on free loopback ports with temporary stores.

mod common;

use common::nats::{atomic_batches, Cluster, NatsServer};
use common::*;

/// `tallinn --nats URL --dir <data> ARGS` on the fixture.
fn on(fx: &Fixture, url: &str, args: &[&str]) -> std::process::Command {
    let mut c = fx.cmd(["--nats", url]);
    c.args(args);
    c
}

/// `tallinn --nats URL init` of the fixture's members by its coordinator.
fn init_on(fx: &Fixture, url: &str) -> std::process::Command {
    let key = fx.key_str(COORD);
    let members = fx.members_file();
    on(
        fx,
        url,
        &[
            "init",
            "--key",
            &key,
            "--members",
            members.to_str().unwrap(),
        ],
    )
}

/// A fixture ledger whose log is a stream on `url`.
fn nats_fixture(url: &str) -> Fixture {
    let fx = Fixture::keys_only();
    let out = ok(init_on(&fx, url));
    assert!(is_id(out.trim()), "init prints the genesis id: {out:?}");
    fx
}

fn log_json(fx: &Fixture, url: &str) -> Vec<serde_json::Value> {
    ok(on(fx, url, &["--json", "log"]))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn offer_args(fx: &Fixture, who: &str, id: &str) -> Vec<String> {
    [
        "offer",
        "--key",
        &fx.key_str(who),
        "--id",
        id,
        "--category",
        "hardware",
        "--modality",
        "goods",
        "--description",
        "laptops",
        "--quantity",
        "10",
        "--unit",
        "laptops",
        "--value",
        "12000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn offer_line(id: &str, member: &str) -> String {
    serde_json::json!({"offer_made": {"offer": format!("{member}/{id}"), "on_behalf_of": null,
        "category": "hardware", "dac_sector": null, "modality": "goods", "description": "laptops",
        "quantity": {"amount": 10, "unit": "laptops"}, "value": {"amount_minor": 1200000, "currency": "EUR", "eur_minor": 1200000},
        "valid_until": null, "answers": []}})
    .to_string()
}

#[test]
fn init_produce_log_and_project_through_jetstream() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let args = offer_args(&fx, EE, "O-1");
    let id = ok(on(
        &fx,
        &url,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(is_id(id.trim()));
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["member"], EE);
    assert_eq!(log[1]["outcome"], "accepted");
    assert_eq!(log[1]["position"], 2);
    // Two projectors in two directories reach the same digest.
    let a = ok(on(&fx, &url, &["projector", "catch-up"]));
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(fx.path("p2"))
        .args(["projector", "catch-up"]);
    let b = ok(c);
    assert!(a.starts_with("position 2  digest "), "{a}");
    assert_eq!(a, b);
    // init again: refused, nothing written.
    let err = fail(init_on(&fx, &url));
    assert_one_line(&err, &["already holds a ledger"]);
    assert_eq!(log_json(&fx, &url).len(), 2);
}

fn digest_line(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once("; digest ")
                .map(|(pos, d)| format!("{} {d}", pos.trim()))
        })
        .unwrap_or_else(|| panic!("no digest in {out}"))
}

#[test]
fn demo_through_jetstream_matches_the_embedded_demo() {
    let server = NatsServer::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("embedded"), tmp.path().join("nats"));
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&a)
        .args(["demo", "--seed", "7", "--events", "3000"]);
    let embedded = ok(c);
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(&b)
        .args(["demo", "--seed", "7", "--events", "3000"]);
    let nats = ok(c);
    assert_eq!(
        digest_line(&embedded),
        digest_line(&nats),
        "{embedded}\n{nats}"
    );
    // Every report view, from the embedded ledger and from the stream, is the same.
    for view in [
        "donors",
        "categories",
        "recipients",
        "months",
        "needs",
        "commitments",
        "overdue",
        "pipeline",
        "changes",
        "integrity",
    ] {
        let mut c = tallinn();
        c.arg("--dir")
            .arg(&a)
            .args(["report", view, "--format", "json"]);
        let x = ok(c);
        let mut c = tallinn();
        c.args(["--nats", &url, "--dir"])
            .arg(&b)
            .args(["report", view, "--format", "json"]);
        let y = ok(c);
        assert!(x.len() > 2, "{view} is empty");
        assert_eq!(x, y, "report {view} differs");
    }
    // A second projector elsewhere agrees; the keys were written for the members.
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(tmp.path().join("p2"))
        .arg("digest");
    let d2 = ok(c);
    assert!(digest_line(&nats).ends_with(d2.trim()), "{nats} vs {d2}");
    assert!(b.join("keys/EE-MFA.key").exists());
}

const DEMO_DONORS: [&str; 12] = [
    "CA-GAC", "DK-MFA", "EE-MFA", "FR-MEAE", "DE-AA", "XM-DAC-7", "PL-MSZ", "SE-UD", "GB-GOV-1",
    "US-DOS", "IT-MAECI", "UA-MFA",
];

/// `tallinn --nats URL --dir DIR ARGS`.
fn at(url: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = tallinn();
    c.args(["--nats", url, "--dir"]).arg(dir).args(args);
    c
}

fn status(url: &str, dir: &std::path::Path) -> serde_json::Value {
    ok(at(url, dir, &["projector", "catch-up"]));
    serde_json::from_str(&ok(at(url, dir, &["--json", "status"]))).expect("status json")
}

/// Writes a JSON Lines file of `n` offers by `member`, ids `<tag>-<i>`.
fn offers_file(dir: &std::path::Path, member: &str, tag: &str, n: usize) -> std::path::PathBuf {
    let path = dir.join(format!("{member}-{tag}.jsonl"));
    let text: Vec<String> = (1..=n)
        .map(|i| offer_line(&format!("{tag}-{i}"), member))
        .collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

/// Twelve ministries publish files concurrently while a projector follows; the
/// projector is killed mid-stream and restarted; it ends where a fresh one does.
#[test]
fn twelve_producers_concurrently_with_a_projector_killed_and_restarted() {
    let server = NatsServer::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    ok(at(&url, &demo, &["demo", "--seed", "3"]));
    let base = status(&url, &demo);
    let base_len = base["log_length"].as_u64().unwrap();
    let base_rejected = base["rejected"].as_u64().unwrap();

    let proj = tmp.path().join("follower");
    let follower = |dir: &std::path::Path| {
        at(&url, dir, &["projector", "run", "--save-every", "50"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("projector run")
    };
    let mut run = follower(&proj);
    const N: usize = 60;
    let publishers: Vec<_> = DEMO_DONORS
        .iter()
        .map(|m| {
            let file = offers_file(tmp.path(), m, "Z", N);
            let key = demo.join(format!("keys/{m}.key"));
            at(
                &url,
                tmp.path(),
                &[
                    "publish",
                    "--key",
                    key.to_str().unwrap(),
                    file.to_str().unwrap(),
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("publish")
        })
        .collect();
    let mut outputs = Vec::new();
    for (i, p) in publishers.into_iter().enumerate() {
        outputs.push(p.wait_with_output().unwrap());
        if i == 5 {
            // Mid-stream: kill the follower (no clean shutdown) and start it again.
            run.kill().unwrap();
            run.wait().unwrap();
            run = follower(&proj);
        }
    }
    for (m, out) in DEMO_DONORS.iter().zip(&outputs) {
        assert!(
            out.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ids: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        assert_eq!(ids.len(), N, "{m} printed one id per line");
        assert!(ids.iter().all(|i| is_id(i)));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    // The restarted follower resumes from its checkpoint; a fresh projector agrees.
    let restarted = status(&url, &proj);
    let fresh = status(&url, &tmp.path().join("fresh"));
    let total = base_len + (12 * N) as u64;
    assert_eq!(restarted["log_length"], total);
    assert_eq!(restarted["projector"]["position"], total);
    assert_eq!(restarted["accepted"], fresh["accepted"]);
    assert_eq!(
        restarted["accepted"].as_u64().unwrap(),
        total - base_rejected
    );
    assert_eq!(
        restarted["rejected"].as_u64().unwrap(),
        base_rejected,
        "nothing new rejected"
    );
    let d1 = ok(at(&url, &proj, &["digest"]));
    let d2 = ok(at(&url, &tmp.path().join("fresh"), &["digest"]));
    assert_eq!(d1, d2);
    // Every donor's chain grew by exactly N, with no gap or duplicate.
    let log: Vec<serde_json::Value> = ok(at(&url, tmp.path(), &["--json", "log"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for m in DEMO_DONORS {
        let z: Vec<&serde_json::Value> = log
            .iter()
            .filter(|e| e["member"] == m && e["kind"] == "offer_made")
            .filter(|e| {
                e["body"]["offer_made"]["offer"]
                    .as_str()
                    .unwrap()
                    .contains("/Z-")
            })
            .collect();
        assert_eq!(z.len(), N, "{m}'s offers");
        assert!(z.iter().all(|e| e["outcome"] == "accepted"));
        let first = z[0]["seq"].as_u64().unwrap();
        let seqs: Vec<u64> = z.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (first..first + N as u64).collect::<Vec<_>>(),
            "{m}'s chain"
        );
    }
}

/// Two processes holding one key race: every event lands once, the chain has no
/// fork (the loser recovers the chain head and re-signs), nothing is rejected.
#[test]
fn two_processes_racing_on_one_key() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    const N: usize = 8;
    let racer = |tag: &'static str| {
        let fx_key = fx.key_str(EE);
        let url = url.clone();
        let data = fx.data.clone();
        std::thread::spawn(move || {
            let mut outs = Vec::new();
            for i in 1..=N {
                let mut c = tallinn();
                c.args(["--nats", &url, "--dir"]).arg(&data).args([
                    "offer",
                    "--key",
                    &fx_key,
                    "--id",
                    &format!("{tag}-{i}"),
                    "--category",
                    "hardware",
                    "--modality",
                    "goods",
                    "--description",
                    "x",
                    "--quantity",
                    "1",
                    "--unit",
                    "u",
                    "--value",
                    "10",
                ]);
                outs.push(c.output().unwrap());
            }
            outs
        })
    };
    let (a, b) = (racer("A"), racer("B"));
    // Meanwhile a third process publishes a file with the same key.
    let file = offers_file(fx.tmp.path(), EE, "F", 30);
    let out = on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), file.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for out in a.join().unwrap().into_iter().chain(b.join().unwrap()) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = log_json(&fx, &url);
    let ee: Vec<&serde_json::Value> = log.iter().filter(|e| e["member"] == EE).collect();
    assert_eq!(ee.len(), 2 * N + 30, "every event once");
    for e in &ee {
        assert_eq!(e["outcome"], "accepted", "no fork, nothing rejected: {e}");
    }
    let seqs: Vec<u64> = ee.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=(2 * N + 30) as u64).collect::<Vec<_>>());
}

// --- Library-level producers: the real JetStream backend driven from the test ---

use ledger::log::Log;
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Connects and opens the ledger stream, retrying for a while (a cluster that just
/// lost a node may take seconds to elect new leaders).
async fn connect(url: &str) -> tallinn_nats::NatsLog {
    let mut tries = 0;
    loop {
        let r = async {
            let conn = tallinn_nats::Connection::connect(&tallinn_nats::ConnectOptions {
                url: url.to_string(),
                timeout: Duration::from_secs(3),
                ..Default::default()
            })
            .await?;
            tallinn_nats::NatsLog::open(&conn, None).await
        }
        .await;
        match r {
            Ok(log) => return log,
            Err(e) => {
                tries += 1;
                assert!(tries < 20, "connecting to {url}: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

fn offer_body(member: &str, id: &str) -> ledger::body::Body {
    serde_json::from_str(&offer_line(id, member)).unwrap()
}

/// Signs `n` offers of `member` (ids `<tag>-1`...) on its chain in `state`,
/// applying each, without appending them.
fn next_offers(
    state: &mut ledger::state::State,
    member: &str,
    signer: &ledger::keys::Signer,
    tag: &str,
    n: usize,
) -> Vec<ledger::event::Event> {
    let me: ledger::ids::MemberId = member.parse().unwrap();
    let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
    (1..=n)
        .map(|i| {
            let ev = ledger::producer::next_event(
                state,
                ORIGIN,
                &me,
                offer_body(member, &format!("{tag}-{i}")),
                now,
                signer,
            )
            .unwrap();
            state.apply(&ev, &ledger::rules::Outcome::Accepted);
            ev
        })
        .collect()
}

/// Signs `n` offers of `member` on the chain replayed from `log`, then appends them
/// in batches of `batch`, retrying every failure (server down, leader lost, ack
/// lost) with the same signed events until each is stored. Returns their ids.
async fn produce_through_failures(
    log: tallinn_nats::NatsLog,
    key: std::path::PathBuf,
    member: &'static str,
    n: usize,
    batch: usize,
) -> Vec<String> {
    let signer = ledger::keyfile::read(&key).unwrap();
    let me: ledger::ids::MemberId = member.parse().unwrap();
    let mut state = ledger::state::State::new();
    let mut from = 1;
    let mut tries = 0;
    loop {
        let entries = match log.read(from, 1000).await {
            Ok(e) => e,
            Err(e) => {
                // A cluster that just created the stream may not answer yet.
                tries += 1;
                assert!(tries < 40, "{member}: reading the stream: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        let Some(last) = entries.last() else { break };
        from = last.position + 1;
        for e in &entries {
            ledger::replay::replay_entry(&mut state, e);
        }
    }
    let events = next_offers(&mut state, member, &signer, "K", n);
    let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
    let mut head = chain_head(&log, &me).await;
    let mut failures = 0;
    for chunk in events.chunks(batch) {
        let bytes: Vec<Vec<u8>> = chunk.iter().map(|e| e.bytes().to_vec()).collect();
        loop {
            match log.append(&me, head, &bytes, now).await {
                Ok(p) => {
                    assert_eq!(p.len(), chunk.len());
                    head = p.last().copied();
                    break;
                }
                Err(e) => {
                    failures += 1;
                    eprintln!(
                        "{member}: append failed ({failures}) at {:?}: {e}",
                        std::time::SystemTime::now()
                    );
                    assert!(
                        failures < 400,
                        "{member}: giving up after {failures} failures: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    events.iter().map(|e| e.id().to_string()).collect()
}

/// The position of `me`'s last entry, retrying while a young cluster settles.
async fn chain_head(log: &tallinn_nats::NatsLog, me: &ledger::ids::MemberId) -> Option<u64> {
    let mut tries = 0;
    loop {
        match log.last_of(me).await {
            Ok(e) => return e.map(|e| e.position),
            Err(e) => {
                tries += 1;
                assert!(tries < 40, "{me}: chain head: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Waits until the stream holds `n` entries (or a producer stopped).
fn wait_len(
    rt: &tokio::runtime::Runtime,
    log: &tallinn_nats::NatsLog,
    n: u64,
    producers: &[tokio::task::JoinHandle<Vec<String>>],
) {
    rt.block_on(async {
        while log.len().await.unwrap_or(0) < n {
            assert!(
                !producers.iter().any(|p| p.is_finished()),
                "a producer stopped before the stream held {n} entries"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

/// Reads the whole stream: (position, id) of every entry.
async fn all_ids(log: &tallinn_nats::NatsLog) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let entries = log.read(from, 1000).await.unwrap();
        let Some(last) = entries.last() else { break };
        from = last.position + 1;
        for e in entries {
            assert_eq!(e.position as usize, out.len() + 1, "positions are dense");
            out.push(
                ledger::event::Event::from_bytes(&e.bytes)
                    .unwrap()
                    .id()
                    .to_string(),
            );
        }
    }
    out
}

/// Checks that every produced id is in the stream exactly once and the projector
/// accepts everything (no gap, no duplicate, no fork).
fn assert_exactly_once(fx: &Fixture, url: &str, stored: &[String], produced: &[Vec<String>]) {
    let mut seen = std::collections::HashMap::new();
    for id in stored {
        *seen.entry(id.clone()).or_insert(0) += 1;
    }
    assert!(seen.values().all(|&c| c == 1), "a duplicate in the stream");
    for ids in produced {
        for id in ids {
            assert_eq!(seen.get(id), Some(&1), "event {id} missing");
        }
    }
    let total: usize = produced.iter().map(Vec::len).sum();
    assert_eq!(
        stored.len(),
        total + 1,
        "genesis + every event, nothing else"
    );
    let mut tries = 0;
    while !on(fx, url, &["projector", "catch-up"])
        .output()
        .unwrap()
        .status
        .success()
    {
        tries += 1;
        assert!(tries < 20, "projector catch-up keeps failing");
        std::thread::sleep(Duration::from_millis(500));
    }
    let st: serde_json::Value =
        serde_json::from_str(&ok(on(fx, url, &["--json", "status"]))).unwrap();
    assert_eq!(st["accepted"].as_u64().unwrap() as usize, total + 1);
    assert_eq!(st["rejected"], 0);
}

#[test]
fn nats_server_killed_and_restarted_mid_publish() {
    let mut server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let rt = runtime();
    const N: usize = 300;
    // EE appends with the pipelined publishes, DE with atomic batches.
    let producers: Vec<_> = [EE, DE]
        .into_iter()
        .map(|m| {
            let key = fx.key(m);
            let url = url.clone();
            rt.spawn(async move {
                let log = connect(&url).await;
                if m == DE {
                    assert_eq!(
                        log.set_batches(tallinn_nats::Batches::Atomic),
                        atomic_batches()
                    );
                }
                produce_through_failures(log, key, m, N, 10).await
            })
        })
        .collect();
    // Kill the server (SIGKILL) once publishing is under way, restart it on the
    // same port and store.
    let watcher = rt.block_on(connect(&url));
    wait_len(&rt, &watcher, 100, &producers);
    server.kill();
    std::thread::sleep(Duration::from_millis(700));
    server.restart();
    server.wait_ready(Duration::from_secs(20));
    let produced: Vec<Vec<String>> = producers
        .into_iter()
        .map(|h| rt.block_on(h).expect("producer task"))
        .collect();
    let stored = rt.block_on(async { all_ids(&connect(&url).await).await });
    assert_exactly_once(&fx, &url, &stored, &produced);
}

#[test]
fn cluster_of_three_with_a_node_killed_during_publishing() {
    let t0 = std::time::Instant::now();
    let mut cluster = Cluster::start();
    let urls = cluster.urls();
    eprintln!("cluster up after {:?}", t0.elapsed());
    let fx = Fixture::keys_only();
    // init: creates the R3 stream (retrying while the cluster elects its meta leader).
    let mut tries = 0;
    loop {
        let out = on(
            &fx,
            &urls,
            &[
                "init",
                "--replicas",
                "3",
                "--key",
                &fx.key_str(COORD),
                "--members",
                fx.members_file().to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        if out.status.success() {
            break;
        }
        tries += 1;
        assert!(
            tries < 40,
            "init on the cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("init done after {:?} ({tries} retries)", t0.elapsed());
    let rt = runtime();
    const N: usize = 200;
    // Each producer talks to a different node first.
    let producers: Vec<_> = [EE, DE, UA]
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let key = fx.key(m);
            let mut list: Vec<String> = cluster.nodes.iter().map(|n| n.url()).collect();
            list.rotate_left(i);
            let url = list.join(",");
            rt.spawn(async move {
                if m == UA {
                    // A recipient states needs instead of offers.
                    produce_needs(connect(&url).await, key, m, N).await
                } else {
                    produce_through_failures(connect(&url).await, key, m, N, 10).await
                }
            })
        })
        .collect();
    let watcher = rt.block_on(connect(&cluster.nodes[2].url()));
    wait_len(&rt, &watcher, 150, &producers);
    // Kill the stream's leader: the hardest node to lose.
    // (Once it has a leader and both followers are current: a stream that lost its
    // leader before its replicas ever caught up cannot elect another.)
    let leader = rt.block_on(async {
        let client = async_nats::connect(cluster.nodes[2].url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(watcher.name()).await.unwrap();
        for _ in 0..400 {
            if let Ok(info) = stream.info().await {
                if let Some(c) = &info.cluster {
                    if c.leader.is_some()
                        && c.replicas.len() == 2
                        && c.replicas.iter().all(|r| r.current && !r.offline)
                    {
                        return c.leader.clone().unwrap();
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the R3 stream never had a leader with two current replicas");
    });
    let victim: usize = leader.trim_start_matches('n').parse().unwrap();
    eprintln!("killing the leader {leader} after {:?}", t0.elapsed());
    cluster.nodes[victim].kill();
    // Readers during the election wait for a leader or say to retry (exit 5);
    // none is told the ledger is missing.
    let alive: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| n.running())
        .map(|n| n.url())
        .collect();
    for _ in 0..3 {
        let out = on(&fx, &alive.join(","), &["--json", "log"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || (out.status.code() == Some(5) && !stderr.contains("init")),
            "a reader during the election: {:?} {stderr}",
            out.status.code()
        );
    }
    let produced: Vec<Vec<String>> = producers
        .into_iter()
        .map(|h| {
            let r = rt.block_on(h).expect("producer task");
            eprintln!("a producer done after {:?}", t0.elapsed());
            r
        })
        .collect();
    eprintln!("producers done after {:?}", t0.elapsed());
    if std::env::var_os("TALLINN_TEST_SHOW_LOGS").is_some() {
        eprintln!("NODE LOG:\n{}", cluster.nodes[(victim + 1) % 3].log());
    }
    let survivors: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| n.running())
        .map(|n| n.url())
        .collect();
    let survivors = survivors.join(",");
    let stored = rt.block_on(async { all_ids(&connect(&survivors).await).await });
    assert_exactly_once(&fx, &survivors, &stored, &produced);
}

/// Like [`produce_through_failures`] for a recipient: `n` needs, one per append.
async fn produce_needs(
    log: tallinn_nats::NatsLog,
    key: std::path::PathBuf,
    member: &'static str,
    n: usize,
) -> Vec<String> {
    let signer = ledger::keyfile::read(&key).unwrap();
    let me: ledger::ids::MemberId = member.parse().unwrap();
    let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
    let mut state = ledger::state::State::new();
    let mut ids = Vec::new();
    let mut head = chain_head(&log, &me).await;
    for i in 1..=n {
        let body: ledger::body::Body = serde_json::from_value(serde_json::json!({"need_stated": {
            "need": format!("{member}/N-{i}"), "recipient": member, "category": "hardware",
            "dac_sector": null, "description": "servers", "quantity": {"amount": 2, "unit": "servers"},
            "estimated_value": {"amount_minor": 500000, "currency": "EUR", "eur_minor": 500000},
            "priority": "high", "needed_by": null}}))
        .unwrap();
        let ev = ledger::producer::next_event(&state, ORIGIN, &me, body, now, &signer).unwrap();
        state.apply(&ev, &ledger::rules::Outcome::Accepted);
        let mut failures = 0;
        loop {
            match log.append(&me, head, &[ev.bytes().to_vec()], now).await {
                Ok(p) => {
                    head = Some(p[0]);
                    break;
                }
                Err(e) => {
                    failures += 1;
                    eprintln!(
                        "{member}: append failed ({failures}) at {:?}: {e}",
                        std::time::SystemTime::now()
                    );
                    assert!(failures < 200, "{member}: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        ids.push(ev.id().to_string());
    }
    ids
}

// --- Access control (deploy/nats-access-control.conf) and bad input ---

fn acl_server() -> NatsServer {
    let acl = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats-access-control.conf"),
    )
    .expect("deploy/nats-access-control.conf");
    NatsServer::with_files("include ./acl.conf", &[("acl.conf", &acl)])
}

fn as_user(
    fx: &Fixture,
    url: &str,
    user: &str,
    password: &str,
    args: &[&str],
) -> std::process::Command {
    let mut c = on(fx, url, &["--user", user, "--password", password]);
    c.args(args);
    c
}

#[test]
fn access_control_keeps_each_ministry_to_its_own_subject() {
    let server = acl_server();
    let url = server.url();
    let fx = Fixture::keys_only();
    let coord = [
        "--user",
        "TM-SECRETARIAT",
        "--password",
        "example-tm-secretariat",
    ];
    let mut init = vec!["init", "--key"];
    let ck = fx.key_str(COORD);
    let mf = fx.members_file().to_str().unwrap().to_string();
    init.extend([ck.as_str(), "--members", mf.as_str()]);
    // The coordinator cannot create the streams; the administrator does.
    let mut c = on(&fx, &url, &coord);
    c.args(&init);
    let err = fail(c);
    assert_one_line(&err, &["permission"]);
    let mut c = on(
        &fx,
        &url,
        &[
            "--user",
            "ledger-admin",
            "--password",
            "example-ledger-admin",
        ],
    );
    c.args(["deploy", "create-streams", "--origin", ORIGIN]);
    ok(c);
    let mut c = on(&fx, &url, &coord);
    c.args(&init);
    ok(c);
    let offer = |who: &str, id: &str| offer_args(&fx, who, id);
    let strs = |v: &Vec<String>| v.iter().map(String::clone).collect::<Vec<_>>();
    // EE publishes on its own subject.
    let ee_offer = strs(&offer(EE, "O-1"));
    let ee_refs: Vec<&str> = ee_offer.iter().map(String::as_str).collect();
    ok(as_user(&fx, &url, "EE-MFA", "example-ee-mfa", &ee_refs));
    let reader = |args: &[&str]| as_user(&fx, &url, "projector", "example-projector", args);
    let len = |fx: &Fixture| {
        let mut c = tallinn();
        c.args([
            "--nats",
            &url,
            "--user",
            "auditor",
            "--password",
            "example-auditor",
            "--json",
            "log",
        ])
        .arg("--dir")
        .arg(fx.path("unused"));
        ok(c).lines().count()
    };
    assert_eq!(len(&fx), 2);
    // EE's user cannot publish on DE's subject: the server refuses.
    let de_offer = strs(&offer(DE, "O-1"));
    let de_refs: Vec<&str> = de_offer.iter().map(String::as_str).collect();
    let err = fail(as_user(&fx, &url, "EE-MFA", "example-ee-mfa", &de_refs));
    assert_one_line(&err, &["permission denied", "events.DE-AA"]);
    // A read-only user cannot publish at all, but can project.
    let ee_offer2 = strs(&offer(EE, "O-2"));
    let ee_refs2: Vec<&str> = ee_offer2.iter().map(String::as_str).collect();
    let err = fail(reader(&ee_refs2));
    assert_one_line(&err, &["permission denied"]);
    ok(reader(&["projector", "catch-up"]));
    assert_eq!(len(&fx), 2, "nothing was appended");

    let rt = runtime();
    rt.block_on(async {
        let client = async_nats::ConnectOptions::with_user_and_password(
            "EE-MFA".into(),
            "example-ee-mfa".into(),
        )
        .custom_inbox_prefix(tallinn_nats::inbox_prefix_of("EE-MFA"))
        .connect(&url)
        .await
        .unwrap();
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(1));
        let name = "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER";
        // A member can neither delete nor purge the stream.
        assert!(
            js.delete_stream(name).await.is_err(),
            "a member deleted the stream"
        );
        let stream = js.get_stream(name).await.unwrap();
        assert!(stream.purge().await.is_err(), "a member purged the stream");
        // Reading needs no consumer, so a member may create none (no flood of
        // durable or ephemeral consumers) and delete none.
        use async_nats::jetstream::consumer::pull;
        for durable in [Some("flood-0".to_string()), None] {
            let made = stream
                .create_consumer(pull::Config {
                    durable_name: durable.clone(),
                    ..Default::default()
                })
                .await;
            assert!(made.is_err(), "a member created consumer {durable:?}");
        }
        assert!(
            stream.delete_consumer("projector").await.is_err(),
            "a member may not delete consumers"
        );
        let info = stream.clone().info().await.unwrap().clone();
        assert_eq!(info.state.consumer_count, 0);
        // Nor may a member publish a checkpoint, or delete or purge their stream.
        let cp_stream = format!("{name}_CHECKPOINTS");
        let published = match js.publish(CP_SUBJECT, "forged checkpoint\n".into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        assert!(!published, "a member published on the checkpoint subject");
        assert!(
            js.delete_stream(&cp_stream).await.is_err(),
            "a member deleted the checkpoint stream"
        );
        let cps = js.get_stream(&cp_stream).await.unwrap();
        assert!(
            cps.purge().await.is_err(),
            "a member purged the checkpoint stream"
        );
        // An event signed with DE's key, published by EE on EE's own subject, is
        // stored (the subject is EE's) but the rules reject it: the signature is
        // not EE's key.
        let de = ledger::keyfile::read(&fx.key(DE)).unwrap();
        let ee: ledger::ids::MemberId = EE.parse().unwrap();
        let log = connect_as(&url, "EE-MFA", "example-ee-mfa").await;
        let mut state = ledger::state::State::new();
        for e in log.read(1, 100).await.unwrap() {
            ledger::replay::replay_entry(&mut state, &e);
        }
        let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
        let env =
            ledger::producer::next_envelope(&state, ORIGIN, &ee, offer_body(EE, "O-forged"), now);
        let forged = ledger::event::Event::sign(env, &de).unwrap();
        let head = log.last_of(&ee).await.unwrap().map(|e| e.position);
        log.append(&ee, head, &[forged.bytes().to_vec()], now)
            .await
            .unwrap();
    });
    let log = log_json_as(&fx, &url);
    assert_eq!(log.len(), 3);
    let outcome = log[2]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("rejected") && outcome.contains("signature"),
        "{outcome}"
    );
    // Only the coordinator publishes checkpoints; every reader checks them.
    let mut sign = on(&fx, &url, &coord);
    sign.args(["checkpoint", "sign", "--key", &ck]);
    let note = ok(sign);
    assert!(note.starts_with(&format!("{ORIGIN}\n3\n")), "{note}");
    // A member holding the coordinator's key still may not publish one.
    let ee_offer3 = strs(&offer(EE, "O-3"));
    let ee_refs3: Vec<&str> = ee_offer3.iter().map(String::as_str).collect();
    ok(as_user(&fx, &url, "EE-MFA", "example-ee-mfa", &ee_refs3));
    let err = fail(as_user(
        &fx,
        &url,
        "EE-MFA",
        "example-ee-mfa",
        &["checkpoint", "sign", "--key", &ck],
    ));
    assert_one_line(&err, &["permission denied"]);
    let shown = ok(reader(&["checkpoint", "show"]));
    assert_eq!(shown.lines().count(), 1, "{shown}");
    // A member cosigns on its own cosignature subject, and only there.
    let ee_key = fx.key_str(EE);
    ok(as_user(
        &fx,
        &url,
        "EE-MFA",
        "example-ee-mfa",
        &["checkpoint", "cosign", "--key", &ee_key],
    ));
    let err = fail(as_user(
        &fx,
        &url,
        "DE-AA",
        "example-de-aa",
        &["checkpoint", "cosign", "--key", &ee_key],
    ));
    assert_one_line(&err, &["permission denied"]);
    let v = ok(reader(&["checkpoint", "verify", "--threshold", "1"]));
    assert!(v.contains("cosigned by 1 of"), "{v}");
    let mut c = on(
        &fx,
        &url,
        &["--user", "auditor", "--password", "example-auditor"],
    );
    c.args(["audit", "verify"]);
    // The checkpoint verifies; the forged event is listed as refused by the
    // ledger; the one problem is EE-MFA's third offer, which came after the
    // checkpoint: the default policy wants every event covered.
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("checkpoints verified      1 of 1")
            && stdout.contains("PROBLEMS (1)")
            && stdout.contains("not_covered")
            && stdout.contains("REFUSED BY THE LEDGER (1")
            && stdout.contains("bad_signature"),
        "{stdout}"
    );
}

async fn connect_as(url: &str, user: &str, password: &str) -> tallinn_nats::NatsLog {
    let conn = tallinn_nats::Connection::connect(&tallinn_nats::ConnectOptions {
        url: url.to_string(),
        user: Some(user.into()),
        password: Some(password.into()),
        timeout: Duration::from_secs(3),
        inbox_prefix: Some(tallinn_nats::inbox_prefix_of(user)),
        ..Default::default()
    })
    .await
    .unwrap();
    tallinn_nats::NatsLog::open(&conn, None).await.unwrap()
}

fn log_json_as(fx: &Fixture, url: &str) -> Vec<serde_json::Value> {
    ok(on(
        fx,
        url,
        &[
            "--user",
            "auditor",
            "--password",
            "example-auditor",
            "--json",
            "log",
        ],
    ))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

#[test]
fn bad_connections_and_streams_get_one_line_errors() {
    let fx = Fixture::keys_only();
    // Unreachable server.
    let dead = format!("nats://127.0.0.1:{}", common::nats::free_port());
    let err = fail(on(&fx, &dead, &["log"]));
    assert_one_line(&err, &["cannot connect to NATS", &dead]);
    // Wrong credentials.
    let server = acl_server();
    let url = server.url();
    let err = fail(on(
        &fx,
        &url,
        &["--user", "EE-MFA", "--password", "wrong", "log"],
    ));
    assert_one_line(&err, &["cannot connect", "authentication"]);
    // No stream yet, and a missing named one.
    let plain = NatsServer::start();
    let err = fail(on(&fx, &plain.url(), &["log"]));
    assert_one_line(&err, &["no ledger stream", "tallinn init --nats"]);
    let err = fail(on(&fx, &plain.url(), &["--stream", "TALLINN_NOPE", "log"]));
    assert_one_line(&err, &["no stream TALLINN_NOPE"]);
    // Under access control a stream one may not see is a permission error.
    let err = fail(on(
        &fx,
        &url,
        &[
            "--user",
            "auditor",
            "--password",
            "example-auditor",
            "--stream",
            "TALLINN_NOPE",
            "log",
        ],
    ));
    assert_one_line(&err, &["permission denied"]);
    // A member may not create the stream: permission denied, nothing created.
    let err = fail(on(
        &fx,
        &url,
        &[
            "--user",
            "EE-MFA",
            "--password",
            "example-ee-mfa",
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
    assert_one_line(&err, &["permission denied"]);
    // A bad option value names the option.
    let err = fail(on(&fx, &url, &["--creds", "/nonexistent.creds", "log"]));
    assert_one_line(&err, &["--creds"]);
    let err = fail(on(&fx, "not a url at all", &["log"]));
    assert_one_line(&err, &["--nats"]);
}

#[test]
fn an_existing_stream_with_another_configuration_is_never_changed() {
    let server = NatsServer::start();
    let url = server.url();
    let rt = runtime();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER".into(),
            subjects: vec!["tallinn.tallinn-mechanism_example_ledger.events.>".into()],
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let fx = Fixture::keys_only();
    let err = fail(init_on(&fx, &url));
    assert_one_line(&err, &["deny_purge", "never changed"]);
}

#[test]
fn audit_mirror_copies_the_stream_incrementally() {
    let server = NatsServer::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    ok(at(&url, &demo, &["demo", "--seed", "5"]));
    let mirror = tmp.path().join("mirror");
    let first: serde_json::Value =
        serde_json::from_str(&ok(at(&url, &mirror, &["--json", "audit", "mirror"]))).unwrap();
    assert!(first["copied"].as_u64().unwrap() > 40);
    // More events, then a second mirror copies only those.
    let file = offers_file(tmp.path(), "EE-MFA", "M", 25);
    let key = demo.join("keys/EE-MFA.key");
    ok(at(
        &url,
        tmp.path(),
        &[
            "publish",
            "--key",
            key.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    ));
    let second: serde_json::Value =
        serde_json::from_str(&ok(at(&url, &mirror, &["--json", "audit", "mirror"]))).unwrap();
    assert_eq!(second["copied"], 25);
    assert_eq!(second["length"], first["length"].as_u64().unwrap() + 25);
    // The offline copy (embedded store, no --nats) has the stream's digest.
    let mut c = tallinn();
    c.arg("--dir").arg(&mirror).arg("digest");
    let offline = ok(c);
    let online = ok(at(&url, &tmp.path().join("p"), &["digest"]));
    assert_eq!(offline, online);
}

#[test]
fn publish_resumes_a_file_after_a_failure() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    // A first run published the first 10 lines of the file, then stopped.
    let file = offers_file(fx.tmp.path(), EE, "R", 30);
    let text = std::fs::read_to_string(&file).unwrap();
    let first10: Vec<&str> = text.lines().take(10).collect();
    let part = fx.path("part.jsonl");
    std::fs::write(&part, first10.join("\n")).unwrap();
    let ids1 = ok(on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), part.to_str().unwrap()],
    ));
    // Re-running the whole file stores the other 20 and reports the same 10 ids.
    let ids2 = ok(on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), file.to_str().unwrap()],
    ));
    let ids2: Vec<&str> = ids2.lines().collect();
    assert_eq!(ids2.len(), 30);
    assert_eq!(ids1.lines().collect::<Vec<_>>(), ids2[..10].to_vec());
    // A third run stores nothing new.
    let ids3 = ok(on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), file.to_str().unwrap()],
    ));
    assert_eq!(ids3.lines().collect::<Vec<_>>(), ids2);
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 31);
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
    // `log --member` reads the member's subject: the same entries as a filter
    // of the whole log.
    let mine: Vec<&serde_json::Value> = log.iter().filter(|e| e["member"] == EE).collect();
    let page: Vec<serde_json::Value> = ok(on(
        &fx,
        &url,
        &[
            "--json", "log", "--member", EE, "--from", "12", "--limit", "4",
        ],
    ))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let want: Vec<&serde_json::Value> = mine
        .iter()
        .filter(|e| e["position"].as_u64().unwrap() >= 12)
        .take(4)
        .copied()
        .collect();
    assert_eq!(page.iter().collect::<Vec<_>>(), want);
}

/// A file whose 6th event is too large for the server: the error says exactly which
/// lines were stored; after fixing the line, re-running the file stores the rest.
#[test]
fn publish_reports_exactly_what_a_failure_mid_file_stored() {
    let server = NatsServer::with_config("max_payload: 1500");
    let url = server.url();
    let fx = nats_fixture(&url);
    let mut lines: Vec<String> = (1..=10)
        .map(|i| offer_line(&format!("P-{i}"), EE))
        .collect();
    let big = serde_json::json!({"offer_made": {"offer": format!("{EE}/P-6"), "on_behalf_of": null,
        "category": "hardware", "dac_sector": null, "modality": "goods", "description": "x".repeat(1900),
        "quantity": {"amount": 10, "unit": "laptops"}, "value": {"amount_minor": 1200000, "currency": "EUR", "eur_minor": 1200000},
        "valid_until": null, "answers": []}})
    .to_string();
    let good6 = std::mem::replace(&mut lines[5], big);
    let file = fx.path("mid.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let err = fail(on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), file.to_str().unwrap()],
    ));
    assert_one_line(
        &err,
        &[
            "5 of 10 lines stored (lines 1..=5, the last as event",
            "from line 6 not stored",
            "re-run the same file",
        ],
    );
    assert_eq!(log_json(&fx, &url).len(), 6);
    lines[5] = good6;
    std::fs::write(&file, lines.join("\n")).unwrap();
    let ids = ok(on(
        &fx,
        &url,
        &["publish", "--key", &fx.key_str(EE), file.to_str().unwrap()],
    ));
    assert_eq!(ids.lines().count(), 10);
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 11);
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
}

/// `--nkey FILE` authenticates with an nkey seed (the `nats` CLI's convention).
#[test]
fn nkey_authentication() {
    let user = nkeys::KeyPair::new_user();
    let server = NatsServer::with_config(&format!(
        "authorization {{ users = [ {{ nkey: \"{}\" }} ] }}",
        user.public_key()
    ));
    let url = server.url();
    let fx = Fixture::keys_only();
    let seed = fx.path("user.nk");
    std::fs::write(&seed, user.seed().unwrap() + "\n").unwrap();
    let mut init = on(&fx, &url, &["--nkey", seed.to_str().unwrap()]);
    init.args([
        "init",
        "--key",
        &fx.key_str(COORD),
        "--members",
        fx.members_file().to_str().unwrap(),
    ]);
    ok(init);
    let out = ok(on(
        &fx,
        &url,
        &["--nkey", seed.to_str().unwrap(), "--json", "log"],
    ));
    assert_eq!(out.lines().count(), 1);
    // Without it, or with another key, the server refuses.
    let err = fail(on(&fx, &url, &["log"]));
    assert_one_line(&err, &["cannot connect", "authentication"]);
    let other = fx.path("other.nk");
    std::fs::write(&other, nkeys::KeyPair::new_user().seed().unwrap()).unwrap();
    let err = fail(on(&fx, &url, &["--nkey", other.to_str().unwrap(), "log"]));
    assert_one_line(&err, &["cannot connect"]);
    let err = fail(on(&fx, &url, &["--nkey", "/nonexistent.nk", "log"]));
    assert_one_line(&err, &["--nkey", "/nonexistent.nk"]);
}

// --- Checkpoints on JetStream (stream <EVENTS>_CHECKPOINTS) ---

const CP_STREAM: &str = "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER_CHECKPOINTS";
const CP_SUBJECT: &str = "tallinn.tallinn-mechanism_example_ledger.checkpoints";

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `checkpoint show --json` on the stream: (size, root) of each checkpoint shown.
fn shown(fx: &Fixture, url: &str) -> Vec<(u64, String)> {
    ok(on(fx, url, &["--json", "checkpoint", "show"]))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["size"].as_u64().unwrap(),
                v["root"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Publishes raw bytes on the checkpoint subject (as someone holding publish rights).
fn publish_raw(url: &str, bytes: Vec<u8>) -> u64 {
    runtime().block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
        js.publish(CP_SUBJECT, bytes.into())
            .await
            .unwrap()
            .await
            .unwrap()
            .sequence
    })
}

/// `audit verify --threshold 0` of the stream: these tests are about the log
/// key and the stream, not witnesses (the default asks for one cosignature).
fn audit_json(fx: &Fixture, url: &str) -> (bool, serde_json::Value) {
    let out = on(fx, url, &["--json", "audit", "verify", "--threshold", "0"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = serde_json::from_str(stdout.lines().next().expect("a report line")).unwrap();
    (out.status.success(), report)
}

/// Checkpoints the coordinator signed before rotating its key stay valid on the
/// stream (their roots are checked against the log); new ones need the new key.
#[test]
fn checkpoints_signed_before_a_coordinator_key_rotation_stay_valid() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    ok(on(&fx, &url, &strs(&offer_args(&fx, EE, "O-1"))));
    let old = fx.key_str(COORD);
    ok(on(&fx, &url, &["checkpoint", "sign", "--key", &old]));
    let new = fx.path("coord-new.key");
    let mut c = tallinn();
    c.args(["key", "new", "--name", COORD, "--out"]).arg(&new);
    ok(c);
    let new_pub = ledger::keyfile::pub_path(&new);
    ok(on(
        &fx,
        &url,
        &[
            "member",
            "rotate-key",
            "--key",
            &old,
            "--new-vkey",
            new_pub.to_str().unwrap(),
        ],
    ));
    // The checkpoint of size 2 (signed with the old key) is still shown, not refused.
    let before = shown(&fx, &url);
    assert_eq!(before.iter().map(|c| c.0).collect::<Vec<_>>(), vec![2]);
    // The old key cannot sign a new one; the new key can.
    let err = fail(on(&fx, &url, &["checkpoint", "sign", "--key", &old]));
    assert_one_line(&err, &["not TM-SECRETARIAT's active key"]);
    let new = new.to_str().unwrap();
    ok(on(&fx, &url, &["checkpoint", "sign", "--key", new]));
    assert_eq!(
        shown(&fx, &url).iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let v = ok(on(&fx, &url, &["checkpoint", "verify"]));
    assert!(v.starts_with("ok: checkpoint of size 3 "), "{v}");
    let (passed, report) = audit_json(&fx, &url);
    assert!(passed, "{report}");
    assert_eq!(report["checkpoints_verified"], 2);
}

#[test]
fn checkpoints_on_jetstream_are_issued_verified_proved_and_mirrored() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    for (who, id) in [(EE, "O-1"), (DE, "O-1")] {
        ok(on(&fx, &url, &strs(&offer_args(&fx, who, id))));
    }
    // The projector on JetStream issues a checkpoint of the 3 events.
    let coord = fx.key_str(COORD);
    ok(on(
        &fx,
        &url,
        &[
            "projector",
            "catch-up",
            "--checkpoint-key",
            &coord,
            "--checkpoint-every",
            "2",
        ],
    ));
    let first = shown(&fx, &url);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, 3);
    // `checkpoint sign` after one more event; signing again changes nothing.
    ok(on(&fx, &url, &strs(&offer_args(&fx, EE, "O-2"))));
    let note = ok(on(&fx, &url, &["checkpoint", "sign", "--key", &coord]));
    assert!(note.starts_with(&format!("{ORIGIN}\n4\n")), "{note}");
    assert_eq!(
        ok(on(&fx, &url, &["checkpoint", "sign", "--key", &coord])),
        note
    );
    assert_eq!(shown(&fx, &url).len(), 2);
    // A member's key is refused, nothing published.
    let err = fail(on(
        &fx,
        &url,
        &["checkpoint", "sign", "--key", &fx.key_str(EE)],
    ));
    assert_one_line(&err, &["EE-MFA does not hold the coordinator role"]);
    let v = ok(on(&fx, &url, &["checkpoint", "verify"]));
    assert!(v.starts_with("ok: checkpoint of size 4 "), "{v}");
    // A witness cosigns it on its own subject; readers merge the cosignature in.
    let cosigned = ok(on(
        &fx,
        &url,
        &["checkpoint", "cosign", "--key", &fx.key_str(EE)],
    ));
    assert!(cosigned.contains("\u{2014} EE-MFA "), "{cosigned}");
    let v = ok(on(&fx, &url, &["checkpoint", "verify", "--threshold", "1"]));
    assert!(v.contains("cosigned by 1 of 5 witnesses"), "{v}");
    // The audit of the stream checks both. Under the default policy (one
    // cosignature on every checkpoint) the first, uncosigned one fails it.
    let out = on(&fx, &url, &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("too_few_cosignatures"));
    let (passed, report) = audit_json(&fx, &url);
    assert!(passed, "{report}");
    assert_eq!(report["cosignatures"], 1);
    assert_eq!(report["checkpoints"], 2);
    assert_eq!(report["checkpoints_verified"], 2);
    assert_eq!(report["covered"], 4);
    // An inclusion proof against the stream's latest checkpoint, checked offline.
    let log = log_json(&fx, &url);
    let id = log[1]["id"].as_str().unwrap();
    let proof = ok(on(&fx, &url, &["audit", "prove", id]));
    let proof_file = fx.path("event.proof");
    std::fs::write(&proof_file, proof).unwrap();
    let pubkey = ledger::keyfile::pub_path(&fx.key(COORD));
    let mut c = tallinn();
    c.args(["audit", "check-proof"])
        .arg(&proof_file)
        .arg("--log-key")
        .arg(&pubkey);
    let checked = ok(c);
    assert!(
        checked.contains("at position 2 is included in the checkpoint of size 4"),
        "{checked}"
    );
    // The exported bundle carries them and verifies offline.
    let bundle = fx.path("bundle.json");
    ok(on(
        &fx,
        &url,
        &["audit", "export", "--out", bundle.to_str().unwrap()],
    ));
    let mut c = tallinn();
    c.args(["audit", "verify", "--threshold", "0"]).arg(&bundle);
    let out = ok(c);
    assert!(out.contains("checkpoints verified      2 of 2"), "{out}");
    // The mirror copies them into its embedded checkpoint store.
    let mirror = fx.path("mirror");
    let m: serde_json::Value =
        serde_json::from_str(&ok(at(&url, &mirror, &["--json", "audit", "mirror"]))).unwrap();
    assert_eq!(m["checkpoints"], 2, "{m}");
    let mut c = tallinn();
    c.arg("--dir").arg(&mirror).args(["checkpoint", "show"]);
    let offline = ok(c);
    assert_eq!(offline.lines().count(), 2, "{offline}");
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&mirror)
        .args(["audit", "verify", "--threshold", "0"]);
    let out = ok(c);
    assert!(out.contains("checkpoints verified      2 of 2"), "{out}");
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&mirror)
        .args(["checkpoint", "verify", "--threshold", "1"]);
    let v = ok(c);
    assert!(v.contains("cosigned by 1 of 5 witnesses"), "{v}");

    // Someone with publish rights on the checkpoint subject publishes a note whose
    // signature does not verify (the size-4 note with its signature altered) ...
    let good = ledger::checkpoint::Note::parse(note.as_bytes()).unwrap();
    let mut forged = good.clone();
    forged.signatures[0].sig[10] ^= 1;
    let bad_sig_seq = publish_raw(&url, forged.to_text().into_bytes());
    // ... and one signed by the log key whose root is not the log's.
    let coord_key = ledger::keyfile::read(&fx.key(COORD)).unwrap();
    let wrong = ledger::event::leaf_hash(b"another history");
    let lying = ledger::checkpoint::Checkpoint::new(ORIGIN, 4, wrong)
        .unwrap()
        .sign(&coord_key)
        .unwrap();
    publish_raw(&url, lying.to_text().into_bytes());
    let (passed, report) = audit_json(&fx, &url);
    assert!(!passed, "{report}");
    let problems: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["checkpoint"], 4, "{f}");
            (
                f["code"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let key_id = hex::encode(good.signatures[0].key_id);
    let good_cp = ledger::checkpoint::Checkpoint::parse_body(&good.text).unwrap();
    assert_eq!(
        problems,
        [
            (
                "checkpoint_bad_signature".to_string(),
                format!("signature by {COORD}+{key_id} does not verify")
            ),
            (
                "checkpoint_root_mismatch".to_string(),
                format!("states root {wrong}, the events give {}", good_cp.root)
            ),
            (
                "inconsistent_checkpoints".to_string(),
                format!(
                    "checkpoint of size 4 (root {wrong}) is not consistent with the checkpoint of size 4 (root {})",
                    good_cp.root
                )
            ),
        ]
    );
    assert_eq!(report["checkpoints"], 4);
    assert_eq!(report["checkpoints_verified"], 2);
    // Readers never take them: show, prove and mirror name the refused messages.
    let err = fail(on(&fx, &url, &["checkpoint", "show"]));
    assert_one_line(
        &err,
        &[
            "2 checkpoint message(s) refused",
            &format!("{CP_STREAM} message #{bad_sig_seq}: log signature: signature by {COORD}+{key_id} does not verify"),
        ],
    );
    let err = fail(at(&url, &mirror, &["audit", "mirror"]));
    assert_one_line(&err, &["2 checkpoint message(s) refused, not mirrored"]);
    let v = ok(on(&fx, &url, &["checkpoint", "verify"]));
    assert!(v.starts_with("ok: checkpoint of size 4 "), "{v}");
    // The witness refuses to cosign the other history of size 4.
    let lying_file = fx.path("lying.note");
    std::fs::write(&lying_file, lying.to_text()).unwrap();
    let err = fail(on(
        &fx,
        &url,
        &[
            "checkpoint",
            "cosign",
            "--key",
            &fx.key_str(EE),
            "--note",
            lying_file.to_str().unwrap(),
        ],
    ));
    assert_one_line(
        &err,
        &[
            "refused to cosign",
            "inconsistent",
            "evidence printed on stdout",
        ],
    );
    // A checkpoint the library is asked to publish is checked first: a root that
    // is not the log's is refused and nothing is published.
    runtime().block_on(async {
        let log = connect(&url).await;
        let stream = tallinn_nats::CheckpointStream::open(&log)
            .await
            .unwrap()
            .unwrap();
        let before = stream.read().await.unwrap().len();
        let mut tree = ledger::merkle::FullTree::new();
        for e in log.read(1, 100).await.unwrap() {
            tree.push(ledger::event::leaf_hash(&e.bytes));
        }
        let logs = [ledger::checkpoint::Verifier::new(COORD, coord_key.public_key()).unwrap()];
        let err = stream
            .publish_note(&lying, ORIGIN, &logs, &tree)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "checkpoint refused, nothing published: checkpoint of size 4 states root {wrong}, the log's events give {}",
                good_cp.root
            )
        );
        assert_eq!(stream.read().await.unwrap().len(), before);
    });
}

#[test]
fn the_projector_issues_a_checkpoint_every_interval_while_following() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let coord = fx.key_str(COORD);
    let mut run = on(
        &fx,
        &url,
        &[
            "projector",
            "run",
            "--checkpoint-key",
            &coord,
            "--checkpoint-interval",
            "1",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("projector run");
    ok(on(&fx, &url, &strs(&offer_args(&fx, EE, "O-1"))));
    ok(on(&fx, &url, &strs(&offer_args(&fx, DE, "O-1"))));
    // Bounded poll: the follower issues one once the interval passed.
    let mut got = Vec::new();
    for _ in 0..600 {
        got = shown(&fx, &url);
        if got.last().is_some_and(|(size, _)| *size == 3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(got.last().map(|(s, _)| *s), Some(3), "{got:?}");
    // Sizes only grow, and the audit verifies every one.
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "{got:?}");
    let (passed, report) = audit_json(&fx, &url);
    assert!(passed, "{report}");
    assert_eq!(report["covered"], 3);
    // The interval needs a key.
    let err = fail(on(
        &fx,
        &url,
        &["projector", "catch-up", "--checkpoint-interval", "5"],
    ));
    assert_one_line(&err, &["--checkpoint-interval: needs --checkpoint-key"]);
}

#[test]
fn an_existing_checkpoint_stream_with_another_configuration_is_refused() {
    let server = NatsServer::start();
    let url = server.url();
    runtime().block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: CP_STREAM.into(),
            subjects: vec![
                CP_SUBJECT.into(),
                "tallinn.tallinn-mechanism_example_ledger.cosignatures.>".into(),
            ],
            storage: async_nats::jetstream::stream::StorageType::File,
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let fx = Fixture::keys_only();
    let err = fail(init_on(&fx, &url));
    assert_one_line(&err, &[CP_STREAM, "deny_purge", "never changed"]);
    // Nothing was appended: the genesis comes after both streams are in order.
    assert_eq!(log_json(&fx, &url).len(), 0);
}

// --- Atomic batches (nats-server 2.12+, stream `allow_atomic`) ---

/// `n` offers of `member` signed on its chain as replayed from `log` (ids `<tag>-i`),
/// not appended; with the chain head they were signed on.
async fn sign_offers(
    log: &tallinn_nats::NatsLog,
    key: &std::path::Path,
    member: &str,
    tag: &str,
    n: usize,
) -> (Vec<ledger::event::Event>, Option<u64>) {
    let signer = ledger::keyfile::read(key).unwrap();
    let me: ledger::ids::MemberId = member.parse().unwrap();
    let mut state = ledger::state::State::new();
    let mut from = 1;
    loop {
        let entries = log.read(from, 1000).await.unwrap();
        let Some(last) = entries.last() else { break };
        from = last.position + 1;
        for e in &entries {
            ledger::replay::replay_entry(&mut state, e);
        }
    }
    let events = next_offers(&mut state, member, &signer, tag, n);
    (events, log.last_of(&me).await.unwrap().map(|e| e.position))
}

fn bytes_of(events: &[ledger::event::Event]) -> Vec<Vec<u8>> {
    events.iter().map(|e| e.bytes().to_vec()).collect()
}

#[test]
fn an_atomic_append_that_loses_the_race_leaves_nothing_of_its_batch() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let rt = runtime();
    rt.block_on(async {
        let log = connect(&url).await;
        assert_eq!(
            log.atomic_allowed(),
            atomic_batches(),
            "a stream created on 2.12+ allows atomic batches"
        );
        assert_eq!(
            log.set_batches(tallinn_nats::Batches::Atomic),
            atomic_batches()
        );
        let me: ledger::ids::MemberId = EE.parse().unwrap();
        let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
        // Two processes with one key sign different events on the same chain head.
        let (a, head) = sign_offers(&log, &fx.key(EE), EE, "A", 3).await;
        let (b, head_b) = sign_offers(&log, &fx.key(EE), EE, "B", 40).await;
        assert_eq!(head, head_b);
        let before = log.len().await.unwrap();
        let pa = log.append(&me, head, &bytes_of(&a), now).await.unwrap();
        assert_eq!(pa, (before + 1..=before + 3).collect::<Vec<_>>());
        match log.append(&me, head, &bytes_of(&b), now).await {
            Err(ledger::log::LogError::Conflict {
                expected, actual, ..
            }) => {
                assert_eq!(expected, head);
                assert_eq!(actual, Some(before + 3));
            }
            other => panic!("the loser must get a conflict, got {other:?}"),
        }
        // Nothing of the losing batch is in the stream.
        assert_eq!(log.len().await.unwrap(), before + 3);
        let stored = all_ids(&log).await;
        for ev in &b {
            assert!(
                !stored.contains(&ev.id().to_string()),
                "a loser's event was stored"
            );
        }
        // The loser re-signs on the new head and wins.
        let (b2, head2) = sign_offers(&log, &fx.key(EE), EE, "B", 40).await;
        assert_eq!(head2, Some(before + 3));
        let pb = log.append(&me, head2, &bytes_of(&b2), now).await.unwrap();
        assert_eq!(pb, (before + 4..=before + 43).collect::<Vec<_>>());
    });
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 44);
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
}

#[test]
fn a_republished_atomic_append_is_reported_as_already_stored() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let rt = runtime();
    rt.block_on(async {
        let log = connect(&url).await;
        assert_eq!(
            log.set_batches(tallinn_nats::Batches::Atomic),
            atomic_batches()
        );
        let me: ledger::ids::MemberId = EE.parse().unwrap();
        let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
        let (events, head) = sign_offers(&log, &fx.key(EE), EE, "R", 12).await;
        let all = bytes_of(&events);
        // A first attempt stored the first 5 (its acknowledgement was lost, say).
        let first = log.append(&me, head, &all[..5], now).await.unwrap();
        // Republishing them alone: reported as stored at the same positions.
        let again = log.append(&me, head, &all[..5], now).await.unwrap();
        assert_eq!(again, first);
        // Republishing the whole append: the 5 are found, the other 7 appended.
        let whole = log.append(&me, head, &all, now).await.unwrap();
        assert_eq!(whole.len(), 12);
        assert_eq!(whole[..5], first[..]);
        assert_eq!(
            whole[5..],
            (first[4] + 1..=first[4] + 7).collect::<Vec<_>>()[..]
        );
        // And once more: nothing new.
        let len = log.len().await.unwrap();
        assert_eq!(log.append(&me, head, &all, now).await.unwrap(), whole);
        assert_eq!(log.len().await.unwrap(), len);
        let stored = all_ids(&log).await;
        assert_eq!(stored.len(), 13, "genesis + 12, each once");
    });
    let log = log_json(&fx, &url);
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
}

#[test]
fn a_stream_without_allow_atomic_still_works_through_the_fallback() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let rt = runtime();
    rt.block_on(async {
        let me: ledger::ids::MemberId = EE.parse().unwrap();
        let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
        // A log opened while the stream allows atomic batches...
        let early = connect(&url).await;
        assert_eq!(
            early.set_batches(tallinn_nats::Batches::Atomic),
            atomic_batches()
        );
        // ...then the stream is updated without allow_atomic (as a stream created
        // before 2.12 has it; on 2.10 and 2.11 it never had it).
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        let mut stream = js.get_stream(early.name()).await.unwrap();
        if atomic_batches() {
            let mut config = stream.info().await.unwrap().config.clone();
            assert!(config.allow_atomic_publish);
            config.allow_atomic_publish = false;
            js.update_stream(config).await.unwrap();
        }
        // The early log learns it from the refusal and falls back: all stored.
        let (a, head) = sign_offers(&early, &fx.key(EE), EE, "F", 20).await;
        let pa = early.append(&me, head, &bytes_of(&a), now).await.unwrap();
        assert_eq!(pa.len(), 20);
        assert!(!early.atomic());
        // A log opened now does not even try.
        let log = connect(&url).await;
        assert!(!log.atomic_allowed());
        assert!(!log.set_batches(tallinn_nats::Batches::Atomic));
        let (b, head) = sign_offers(&log, &fx.key(EE), EE, "G", 20).await;
        assert_eq!(head, pa.last().copied());
        let pb = log.append(&me, head, &bytes_of(&b), now).await.unwrap();
        assert_eq!(pb, (pa[19] + 1..=pa[19] + 20).collect::<Vec<_>>());
        // The configuration check accepts the stream as it is and changes nothing.
        let conn = log.connection().clone();
        tallinn_nats::NatsLog::create_or_check(
            &conn,
            &tallinn_nats::StreamSpec::for_origin(ORIGIN),
        )
        .await
        .unwrap();
        let info = stream.info().await.unwrap();
        assert!(!info.config.allow_atomic_publish);
    });
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 41);
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
}

/// A raw client of `user` whose server errors (permission violations) are
/// collected, replies on the user's own inbox prefix.
async fn client_of(
    url: &str,
    user: &str,
    password: &str,
) -> (
    async_nats::Client,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = errors.clone();
    let client = async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
        .custom_inbox_prefix(tallinn_nats::inbox_prefix_of(user))
        .event_callback(move |event| {
            let sink = sink.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    sink.lock().unwrap().push(e.to_string());
                }
            }
        })
        .connect(url)
        .await
        .unwrap();
    (client, errors)
}

/// The generated access control (deploy/nats-access-control.conf, from
/// `tallinn deploy nats-config`): no one but the administrator may change the
/// streams, not even the coordinator; no one reads another's replies; members
/// may not delete consumers (the projector's among them).
#[test]
fn the_three_powers_are_separated() {
    let server = acl_server();
    let url = server.url();
    let fx = Fixture::keys_only();
    let generated = {
        let mut c = tallinn();
        c.args(["deploy", "nats-config", "--example-passwords", "--members"])
            .arg(fx.members_file());
        ok(c)
    };
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats-access-control.conf");
    // `TALLINN_REGENERATE_DEPLOY=1` rewrites the shipped file (then review the diff).
    if std::env::var_os("TALLINN_REGENERATE_DEPLOY").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        generated, shipped,
        "deploy/ holds the generated configuration"
    );
    let admin = [
        "--user",
        "ledger-admin",
        "--password",
        "example-ledger-admin",
    ];
    let mut c = on(&fx, &url, &admin);
    c.args(["deploy", "create-streams", "--origin", ORIGIN]);
    ok(c);
    let coord = [
        "--user",
        "TM-SECRETARIAT",
        "--password",
        "example-tm-secretariat",
    ];
    let (ck, mf) = (fx.key_str(COORD), fx.members_file());
    let mut c = on(&fx, &url, &coord);
    c.args(["init", "--key", &ck, "--members", mf.to_str().unwrap()]);
    ok(c);
    // A projector keeps a durable consumer; members use the ledger meanwhile.
    ok(as_user(
        &fx,
        &url,
        "projector",
        "example-projector",
        &["projector", "catch-up"],
    ));
    let name = "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER";
    runtime().block_on(async {
        let (admin_client, _) = client_of(&url, "ledger-admin", "example-ledger-admin").await;
        let admin_js = async_nats::jetstream::new(admin_client);
        let stream = admin_js.get_stream(name).await.unwrap();
        let config = stream.cached_info().config.clone();
        // The coordinator's everyday credential cannot shrink or delete history.
        let (coord_client, _) = client_of(&url, "TM-SECRETARIAT", "example-tm-secretariat").await;
        let mut coord_js = async_nats::jetstream::new(coord_client);
        coord_js.set_timeout(Duration::from_secs(1));
        let mut shrunk = config.clone();
        shrunk.max_messages_per_subject = 1;
        assert!(
            coord_js.update_stream(&shrunk).await.is_err(),
            "the coordinator shrank the stream"
        );
        assert!(
            coord_js.delete_stream(name).await.is_err(),
            "the coordinator deleted the stream"
        );
        // The administrator can (a no-op update shows it; the credential is
        // kept offline for that reason).
        admin_js.update_stream(&config).await.unwrap();
        // A member may not read another's replies.
        let (ee, errors) = client_of(&url, "EE-MFA", "example-ee-mfa").await;
        let _snoop = ee.subscribe("_INBOX.>").await.unwrap();
        ee.flush().await.unwrap();
        let mut refused = false;
        for _ in 0..50 {
            if errors
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.contains("Permissions Violation"))
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            refused,
            "EE-MFA subscribed to _INBOX.>: {:?}",
            errors.lock().unwrap()
        );
        // A member may not delete a consumer (the projector's, or any).
        let consumer = admin_js
            .create_consumer_on_stream(
                async_nats::jetstream::consumer::pull::Config {
                    durable_name: Some("projector-durable".into()),
                    ..Default::default()
                },
                name,
            )
            .await;
        let (ee2, _) = client_of(&url, "EE-MFA", "example-ee-mfa").await;
        let mut ee_js = async_nats::jetstream::new(ee2);
        ee_js.set_timeout(Duration::from_secs(1));
        consumer.expect("the administrator creates a durable consumer");
        assert!(
            ee_js
                .delete_consumer_from_stream("projector-durable", name)
                .await
                .is_err(),
            "a member deleted a consumer"
        );
        let stream = admin_js.get_stream(name).await.unwrap();
        assert!(
            stream.consumer_info("projector-durable").await.is_ok(),
            "the consumer is still there"
        );
    });
    // Members still append and read with their own inbox prefixes.
    let offer = offer_args(&fx, EE, "O-1");
    let refs: Vec<&str> = offer.iter().map(String::as_str).collect();
    ok(as_user(&fx, &url, "EE-MFA", "example-ee-mfa", &refs));
    assert_eq!(log_json_as(&fx, &url).len(), 2);
}

/// History a full administrator erases does not go unseen: after the admin
/// shrinks the stream, a member's mirror refuses it and keeps (and verifies)
/// the whole history; after the stream is deleted, a new one is re-seeded
/// from that mirror and audits to the same digest.
#[test]
fn an_administrator_erasing_history_is_caught_and_a_mirror_reseeds_it() {
    let server = acl_server();
    let url = server.url();
    let fx = Fixture::keys_only();
    let admin = [
        "--user",
        "ledger-admin",
        "--password",
        "example-ledger-admin",
    ];
    let coord = [
        "--user",
        "TM-SECRETARIAT",
        "--password",
        "example-tm-secretariat",
    ];
    let ee = ["--user", "EE-MFA", "--password", "example-ee-mfa"];
    let run_as = |who: &[&str], args: &[&str]| {
        let mut c = on(&fx, &url, who);
        c.args(args);
        c
    };
    ok(run_as(
        &admin,
        &["deploy", "create-streams", "--origin", ORIGIN],
    ));
    let (ck, mf) = (fx.key_str(COORD), fx.members_file());
    ok(run_as(
        &coord,
        &["init", "--key", &ck, "--members", mf.to_str().unwrap()],
    ));
    for id in ["O-1", "O-2", "O-3"] {
        let args = offer_args(&fx, EE, id);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(run_as(&ee, &refs));
    }
    ok(run_as(&coord, &["checkpoint", "sign", "--key", &ck]));
    ok(run_as(
        &ee,
        &["checkpoint", "cosign", "--key", &fx.key_str(EE)],
    ));
    // EE-MFA keeps its own mirror.
    let mirror = fx.path("mirror");
    let mirror_cmd = || {
        let mut c = tallinn();
        c.args(["--nats", &url])
            .args(ee)
            .arg("--dir")
            .arg(&mirror)
            .args(["audit", "mirror"]);
        c
    };
    ok(mirror_cmd());
    ok(run_as(&ee, &["projector", "catch-up"]));
    let digest_of = |args: &mut std::process::Command| {
        let out = ok(std::mem::replace(args, tallinn()));
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut c = tallinn();
    c.arg("--json")
        .arg("--dir")
        .arg(&mirror)
        .args(["audit", "verify"]);
    let digest = digest_of(&mut c);
    // The administrator shrinks the stream to one message per subject.
    let name = "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER";
    runtime().block_on(async {
        let (client, _) = client_of(&url, "ledger-admin", "example-ledger-admin").await;
        let js = async_nats::jetstream::new(client);
        let mut config = js
            .get_stream(name)
            .await
            .unwrap()
            .cached_info()
            .config
            .clone();
        config.max_messages_per_subject = 1;
        js.update_stream(&config).await.unwrap();
    });
    let err = fail(mirror_cmd());
    assert_one_line(
        &err,
        &[
            "2 entries were removed",
            "history was deleted",
            "keeps it",
            "evidence in",
        ],
    );
    // The evidence checks with the coordinator's key alone: the mirror's
    // signed checkpoint, and the inclusion proof of the first removed entry
    // (position 2: O-1, gone with max_msgs_per_subject 1) under its root.
    let path = err.rsplit("evidence in ").next().unwrap().trim();
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(ev["kind"], "history_removed", "{ev}");
    assert_eq!(ev["position"], 2, "{ev}");
    let coord_key = ledger::keyfile::read(&fx.key(COORD)).unwrap();
    let policy = ledger::checkpoint::Policy {
        log: ledger::checkpoint::Verifier::new(COORD, coord_key.public_key()).unwrap(),
        witnesses: vec![],
        threshold: 0,
    };
    let cp = policy
        .verify(ev["mirror_checkpoint"].as_str().unwrap())
        .expect("the mirror's checkpoint verifies under the coordinator's key")
        .checkpoint;
    assert_eq!(cp.size, 4);
    let hex = |v: &serde_json::Value| v.as_str().unwrap().parse::<ledger::ids::Digest>().unwrap();
    let proof: Vec<ledger::ids::Digest> = ev["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hex)
        .collect();
    ledger::merkle::verify_inclusion(&hex(&ev["leaf_hash"]), 1, cp.size, &proof, &cp.root)
        .expect("the removed entry is in the signed tree");
    let mut c = tallinn();
    c.arg("--json")
        .arg("--dir")
        .arg(&mirror)
        .args(["audit", "verify"]);
    assert_eq!(
        digest_of(&mut c),
        digest,
        "the mirror still holds and verifies it all"
    );
    // A projector of the live stream refuses it too: one that had folded it
    // all (its last entry is still there), and a fresh one.
    let err = fail(run_as(&ee, &["projector", "catch-up"]));
    assert_one_line(&err, &["another history", "2 entries were removed"]);
    let mut c = tallinn();
    c.args(["--nats", &url])
        .args(ee)
        .arg("--dir")
        .arg(fx.path("fresh"));
    c.args(["projector", "catch-up"]);
    assert_one_line(&fail(c), &["skipped from position 2 to 4", "edited"]);
    // ... and the administrator deletes it; a new stream is re-seeded.
    runtime().block_on(async {
        let (client, _) = client_of(&url, "ledger-admin", "example-ledger-admin").await;
        let js = async_nats::jetstream::new(client);
        js.delete_stream(name).await.unwrap();
        js.delete_stream(format!("{name}_CHECKPOINTS"))
            .await
            .unwrap();
    });
    ok(run_as(
        &admin,
        &["deploy", "create-streams", "--origin", ORIGIN],
    ));
    let mut c = tallinn();
    c.args(["--nats", &url])
        .args(admin)
        .arg("--dir")
        .arg(&mirror)
        .args(["deploy", "reseed"]);
    let out = ok(c);
    assert!(out.contains("re-seeded"), "{out}");
    let mut c = on(
        &fx,
        &url,
        &["--user", "auditor", "--password", "example-auditor"],
    );
    c.args(["--json", "audit", "verify"]);
    assert_eq!(
        digest_of(&mut c),
        digest,
        "the re-seeded stream audits to the same digest"
    );
    // Members append to it again.
    let args = offer_args(&fx, EE, "O-4");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(run_as(&ee, &refs));
}

/// The `nats` CLI's environment: `NATS_URL` alone switches to JetStream, and
/// the current context (its url, user and password) is honoured.
#[test]
fn the_nats_cli_environment_and_context_are_honoured() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let env_log = tallinn()
        .env("NATS_URL", &url)
        .arg("--dir")
        .arg(fx.path("unused-1"))
        .args(["--json", "log"])
        .output()
        .unwrap();
    assert!(
        env_log.status.success(),
        "{}",
        String::from_utf8_lossy(&env_log.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&env_log.stdout).lines().count(),
        1,
        "the genesis"
    );
    // A context selected in the nats CLI's configuration directory.
    let config = fx.path("config");
    std::fs::create_dir_all(config.join("nats/context")).unwrap();
    std::fs::write(config.join("nats/context.txt"), "ledger\n").unwrap();
    std::fs::write(
        config.join("nats/context/ledger.json"),
        serde_json::json!({"url": url, "description": "the ledger"}).to_string(),
    )
    .unwrap();
    let ctx_log = tallinn()
        .env("XDG_CONFIG_HOME", &config)
        .arg("--dir")
        .arg(fx.path("unused-2"))
        .args(["--json", "log"])
        .output()
        .unwrap();
    assert!(
        ctx_log.status.success(),
        "{}",
        String::from_utf8_lossy(&ctx_log.stderr)
    );
    assert_eq!(ctx_log.stdout, env_log.stdout);
    // A context that does not exist is a clear usage error.
    let out = tallinn()
        .env("XDG_CONFIG_HOME", &config)
        .env("NATS_CONTEXT", "nope")
        .args(["log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_one_line(
        &String::from_utf8_lossy(&out.stderr),
        &["nats context \"nope\""],
    );
}
