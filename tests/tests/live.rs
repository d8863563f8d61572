//! Producers and readers while a projector follows the embedded ledger: the
//! follower holds the log only while it folds and its projector is read
//! read-only by everyone else, so nobody is locked out.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

fn need_args(fx: &Fixture, who: &str, id: &str) -> Vec<String> {
    [
        "need",
        "--key",
        &fx.key_str(who),
        "--id",
        id,
        "--category",
        "hardware",
        "--description",
        "live",
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

fn stop(mut follower: Child) -> std::process::Output {
    // SIGTERM, as a service manager stops it: it saves and exits 0.
    let pid = follower.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let start = Instant::now();
    while follower.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the follower did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    follower.wait_with_output().unwrap()
}

#[test]
fn twelve_producers_and_a_report_loop_while_a_projector_follows() {
    let fx = Fixture::new();
    let follower = fx
        .cmd(["projector", "run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Readers loop while the producers append: every one must succeed.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, data) = (done.clone(), fx.data.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) || reads < 3 {
                for args in [&["report", "needs"][..], &["status"], &["digest"]] {
                    let out = tallinn()
                        .arg("--dir")
                        .arg(&data)
                        .args(args)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{args:?} failed beside the follower: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                reads += 1;
            }
            reads
        })
    };
    let per_producer = 4;
    let producers: Vec<_> = (0..12)
        .map(|k| {
            let who = if k % 2 == 0 { UA } else { UA2 };
            let args: Vec<Vec<String>> = (0..per_producer)
                .map(|i| need_args(&fx, who, &format!("L-{k}-{i}")))
                .collect();
            let data = fx.data.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for a in args {
                    let out = tallinn().arg("--dir").arg(&data).args(&a).output().unwrap();
                    assert!(
                        out.status.success(),
                        "a producer was refused beside the follower: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    ids.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
                }
                ids
            })
        })
        .collect();
    let printed: Vec<String> = producers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() >= 3);
    // Every event stored exactly once, all accepted.
    let log = fx.log_json();
    assert_eq!(
        log.len(),
        1 + 12 * per_producer,
        "genesis and every need once"
    );
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for e in &log[1..] {
        assert_eq!(e["outcome"], "accepted", "{e}");
        *stored
            .entry(e["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for id in &printed {
        assert_eq!(stored.get(id), Some(&1), "{id} stored once");
    }
    // The follower folded them all.
    let start = Instant::now();
    loop {
        let s: serde_json::Value = serde_json::from_str(&fx.ok(["--json", "status"])).unwrap();
        if s["projector"]["lag"] == 0 && s["projector"]["position"] == log.len() as u64 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the follower lags: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = stop(follower);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout);
    assert!(
        last.contains(&format!("position {}", log.len())),
        "the follower's last word: {last}"
    );
    // Its digest is the one a rebuild from the log gives.
    let digest = fx.ok(["digest"]);
    let rebuilt = fx.ok(["projector", "rebuild"]);
    assert!(rebuilt.contains(digest.trim()), "{rebuilt} vs {digest}");
}

#[test]
fn a_retry_and_a_dry_run_append_nothing_twice() {
    let fx = Fixture::new();
    let args = need_args(&fx, UA, "R-1");
    let mut dry = vec!["--dry-run".to_string()];
    dry.extend(args.clone());
    let out = fx.ok(&dry);
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(fx.log_json().len(), 1, "a dry run appends nothing");
    let first = fx.ok(&args);
    // The same command again (an unknown outcome retried) returns the stored id.
    let again = fx.ok(&args);
    assert_eq!(first, again);
    assert_eq!(fx.log_json().len(), 2, "stored once");
    // The same id with other content is still refused.
    let mut other = need_args(&fx, UA, "R-1");
    let d = other.iter().position(|a| a == "live").unwrap();
    other[d] = "other".into();
    let err = fx.fail(&other);
    assert_one_line(&err, &["already used"]);
    // A dry run of a bad event says why, and appends nothing.
    let mut dry_bad = vec!["--dry-run".to_string()];
    dry_bad.extend(other);
    let err = fx.fail(&dry_bad);
    assert_one_line(&err, &["already used"]);
    assert_eq!(fx.log_json().len(), 2);
}

/// The documented exit codes, and errors as one JSON object under `--json`.
#[test]
fn exit_codes_and_json_errors() {
    let fx = Fixture::new();
    let args = need_args(&fx, UA, "X-1");
    fx.ok(&args);
    let mut other = need_args(&fx, UA, "X-1");
    let d = other.iter().position(|a| a == "live").unwrap();
    other[d] = "other".into();
    // 4: refused by the rules, nothing appended.
    let out = fx.run(&other);
    assert_eq!(out.status.code(), Some(4));
    assert_one_line(&String::from_utf8_lossy(&out.stderr), &["already used"]);
    let mut json = vec!["--json".to_string()];
    json.extend(other);
    let out = fx.run(&json);
    assert_eq!(out.status.code(), Some(4));
    let v = assert_json_error(&String::from_utf8_lossy(&out.stderr), &["already used"]);
    assert_eq!(v["kind"], "refused");
    assert_eq!(v["exit"], 4);
    // 2: usage, also as JSON.
    let out = fx.run(["--json", "need", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let v = assert_json_error(&String::from_utf8_lossy(&out.stderr), &["--no-such-flag"]);
    assert_eq!(v["kind"], "usage");
    // 1: any other error (here: no ledger in the directory).
    let out = tallinn()
        .arg("--dir")
        .arg(fx.path("nowhere"))
        .args(["--json", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = assert_json_error(&String::from_utf8_lossy(&out.stderr), &["no ledger"]);
    assert_eq!(v["kind"], "error");
    assert_eq!(fx.log_json().len(), 2, "nothing appended by any of them");
}

/// `--json` is honoured by every command that prints: each line of output
/// parses as JSON.
#[test]
fn json_output_parses_for_every_printing_command() {
    let fx = Fixture::new();
    let mut need = vec!["--json".to_string()];
    need.extend(need_args(&fx, UA, "J-1"));
    let key = fx.key_str(UA);
    let commands: Vec<Vec<String>> = vec![
        need,
        ["--json", "status"].map(String::from).to_vec(),
        ["--json", "log"].map(String::from).to_vec(),
        ["--json", "member", "list"].map(String::from).to_vec(),
        ["--json", "digest"].map(String::from).to_vec(),
        ["--json", "report", "needs"].map(String::from).to_vec(),
        ["--json", "report", "integrity"].map(String::from).to_vec(),
        vec![
            "--json".into(),
            "key".into(),
            "show".into(),
            "--key".into(),
            key,
        ],
    ];
    for args in commands {
        let out = fx.ok(&args);
        // A pretty JSON document, or JSON Lines.
        if serde_json::from_str::<serde_json::Value>(&out).is_err() {
            for line in out.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{args:?}: {e}: {line}"));
            }
        }
        assert!(!out.trim().is_empty(), "{args:?} printed nothing");
    }
}

/// What a command reads does not grow with the ledger: on a 20,000-event
/// ledger whose projector is caught up, `need`, `member list`, `status` and
/// `log` (with `--member`: through the member index) read a handful of
/// entries (the projector's head, the new ones, the producer's last, those
/// shown), where an audit reads them all.
#[test]
fn producer_commands_read_only_what_they_need() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let run = |args: &[&str]| {
        let out = tallinn()
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .env("TALLINN_STATS", "1")
            .env_remove("TALLINN_NOW")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stderr}");
        let stat = |name: &str| {
            stderr
                .lines()
                .find_map(|l| l.strip_prefix(&format!("stats {name} ")))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{args:?}: no {name} line: {stderr}"))
        };
        // The projector's item index is read from its saved runs: opening
        // it scans only the rows written since (here a few), not its rows.
        let scanned = stat("rows-scanned");
        assert!(scanned <= 100, "{args:?} scanned {scanned} rows");
        stat("entries-read")
    };
    run(&["demo", "--seed", "3", "--events", "20000"]);
    run(&["projector", "catch-up"]);
    // What the projector keeps: rows and chains on disk, a small snapshot.
    let projector = dir.join("projector");
    let size = |name: &str| std::fs::metadata(projector.join(name)).unwrap().len();
    assert!(size("rows.log") > 2_000_000, "{}", size("rows.log"));
    assert!(size("items.base") > 500_000, "{}", size("items.base"));
    assert!(size("snapshot") < 64 << 10, "{}", size("snapshot"));
    let key = dir.join("keys").join("UA-SSSCIP.key");
    let key = key.to_str().unwrap();
    for i in 0..3 {
        let id = format!("S-{i}");
        let read = run(&[
            "need",
            "--key",
            key,
            "--id",
            &id,
            "--category",
            "hardware",
            "--description",
            "stats",
            "--quantity",
            "1",
            "--unit",
            "pcs",
            "--value",
            "10",
        ]);
        assert!(read <= 10, "need {i} read {read} entries");
    }
    assert!(run(&["member", "list"]) <= 10);
    assert!(run(&["status"]) <= 10);
    // `log` reads the entries it shows (a member's through its index).
    assert!(run(&["log", "--limit", "3"]) <= 10);
    assert!(run(&["log", "--member", "UA-SSSCIP", "--limit", "3"]) <= 10);
    assert!(
        run(&[
            "log",
            "--member",
            "UA-SSSCIP",
            "--from",
            "15000",
            "--limit",
            "3"
        ]) <= 10
    );
    let audit = run(&["audit", "verify", "--threshold", "0"]);
    assert!(audit >= 20_000, "an audit reads every entry ({audit})");
}

/// Currencies are ISO 4217 codes, with the standard's decimals.
#[test]
fn currencies_are_iso_4217_with_their_decimals() {
    let fx = Fixture::new();
    let offer = |id: &str, value: &str, currency: &str| -> Vec<String> {
        [
            "offer",
            "--key",
            &fx.key_str(EE),
            "--id",
            id,
            "--category",
            "hardware",
            "--modality",
            "goods",
            "--description",
            "x",
            "--quantity",
            "1",
            "--unit",
            "pcs",
            "--value",
            value,
            "--currency",
            currency,
            "--eur",
            "10",
        ]
        .map(String::from)
        .to_vec()
    };
    let err = fx.fail(offer("O-1", "10", "XYZ"));
    assert_one_line(&err, &["--currency", "XYZ", "ISO 4217"]);
    // The Paraguayan guarani has no minor unit; the Kuwaiti dinar three.
    let err = fx.fail(offer("O-1", "1000.5", "PYG"));
    assert_one_line(&err, &["--value", "at most 0 decimals"]);
    fx.ok(offer("O-1", "1000", "PYG"));
    fx.ok(offer("O-2", "10.125", "kwd"));
    assert_eq!(fx.log_json().len(), 3);
}

/// Every command's help ends with examples.
#[test]
fn every_command_has_examples_in_its_help() {
    for c in [
        "key",
        "init",
        "member",
        "need",
        "offer",
        "commit",
        "deliver",
        "receipt",
        "publish",
        "log",
        "projector",
        "digest",
        "status",
        "report",
        "demo",
        "bench",
        "checkpoint",
        "audit",
        "deploy",
        "completions",
    ] {
        let out = tallinn().args([c, "--help"]).output().unwrap();
        assert!(out.status.success(), "{c} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Example") && help.contains(&format!("tallinn {c}")),
            "{c} --help has no example:\n{help}"
        );
    }
}

/// The NATS options show, under their own heading, only in the help of
/// commands that talk to NATS; a command that never does (`key new`,
/// `completions`, `audit restore`) does not list them.
#[test]
fn nats_options_show_only_where_nats_is_used() {
    let help = |args: &[&str]| {
        let out = tallinn().args(args).arg("--help").output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for args in [&["key", "new"][..], &["completions"], &["audit", "restore"]] {
        let h = help(args);
        assert!(
            !h.contains("--nats") && !h.contains("--creds"),
            "{args:?}:\n{h}"
        );
    }
    for args in [
        &["status"][..],
        &["need"],
        &["projector", "run"],
        &["audit", "mirror"],
    ] {
        let h = help(args);
        assert!(
            h.contains("NATS JetStream") && h.contains("--nats <URL>"),
            "{args:?}:\n{h}"
        );
    }
    // Set in the environment, they do no harm offline ...
    let out = tallinn()
        .args(["key", "show", "--key", "/nonexistent"])
        .env("TALLINN_NATS_URL", "nats://127.0.0.1:1")
        .env("NATS_URL", "nats://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // ... but given on the command line of an offline command, before or
    // after it, they are a usage error naming the option and the command.
    for args in [
        &["--nats", "nats://127.0.0.1:1", "completions", "bash"][..],
        &["completions", "bash", "--creds", "/x.creds"],
        &[
            "--json",
            "key",
            "show",
            "--key",
            "/k",
            "--nats",
            "nats://h:1",
        ],
    ] {
        let out = tallinn().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("works offline and takes no NATS options")
                && (err.contains("--nats:") || err.contains("--creds:")),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
