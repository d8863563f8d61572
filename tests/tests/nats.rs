//! The ledger on NATS JetStream: real nats-server processes (one server, or a
//! 3-node cluster) spawned on free loopback ports with temporary stores.

mod common;

use common::nats::{Cluster, NatsServer};
use common::*;

/// `tallinn --nats URL --dir <data> ARGS` on the fixture.
fn on(fx: &Fixture, url: &str, args: &[&str]) -> std::process::Command {
    let mut c = fx.cmd(["--nats", url]);
    c.args(args);
    c
}

fn ok(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fail(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        !out.status.success(),
        "{c:?} unexpectedly succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

/// A fixture ledger whose log is a stream on `url`.
fn nats_fixture(url: &str) -> Fixture {
    let fx = Fixture::keys_only();
    let out = ok(on(
        &fx,
        url,
        &[
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
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
    let err = fail(on(
        &fx,
        &url,
        &[
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
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
