//! `tallinn demo`: deterministic under `--seed`, prints the donors report and the
//! integrity summary, and its invalid events are rejected for the right reasons.

mod common;

use std::path::Path;

use common::tallinn;
use serde_json::Value;

fn demo(dir: &Path, seed: &str) -> String {
    let out = tallinn()
        .args(["demo", "--seed", seed, "--dir"])
        .arg(dir)
        .output()
        .expect("running tallinn demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = tallinn().arg("--dir").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tallinn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ids(dir: &Path) -> Vec<String> {
    run(dir, &["--json", "log"])
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn same_seed_same_ids_and_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let out = demo(&a, "5");
    demo(&b, "5");
    demo(&c, "6");

    // What a new user sees first.
    for needle in ["DONORS", "TOTAL", "INTEGRITY", "4 rejected", "Try next"] {
        assert!(out.contains(needle), "demo output lacks {needle:?}:\n{out}");
    }
    assert!(
        out.contains(&a.display().to_string()),
        "prints the ledger path"
    );

    let (ia, ib, ic) = (ids(&a), ids(&b), ids(&c));
    assert!(ia.len() > 40, "a year of coordination: {} events", ia.len());
    assert_eq!(ia, ib, "same seed, same event ids");
    assert_ne!(ia, ic, "another seed, other keys and ids");
    let (da, db, dc) = (
        run(&a, &["digest"]),
        run(&b, &["digest"]),
        run(&c, &["digest"]),
    );
    assert_eq!(da, db, "same seed, same digest");
    assert_ne!(da, dc);
    assert!(
        out.contains(da.trim()),
        "the demo prints the digest it reached"
    );
}

#[test]
fn the_demo_invalid_events_are_rejected_for_the_right_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    demo(&dir, "9");
    let integrity: Value =
        serde_json::from_str(&run(&dir, &["report", "integrity", "--format", "json"])).unwrap();
    let rejected = integrity["tables"]["rejected"].as_array().unwrap();
    let got: Vec<(String, bool)> = rejected
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().is_empty(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("rule_violation".to_string(), false),
            ("rule_violation".to_string(), false),
            ("rule_violation".to_string(), false),
            ("bad_signature".to_string(), false),
        ]
    );
    let reasons: Vec<&str> = rejected
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    for (reason, needle) in reasons.iter().zip([
        "belongs to another donor",
        "over-delivery",
        "acknowledges delivery",
        "forgery",
    ]) {
        assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
    }
    // The forged event is not in any chain; the rule violations keep their seq.
    let in_chain: Vec<bool> = rejected.iter().map(|r| r["in_chain"] == true).collect();
    assert_eq!(in_chain, [true, true, true, false]);

    // A second demo into the same directory is refused, and changes nothing.
    let before = ids(&dir);
    let out = tallinn()
        .args(["demo", "--seed", "9", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "demo over an existing ledger");
    common::assert_one_line(&String::from_utf8_lossy(&out.stderr), &[]);
    assert_eq!(ids(&dir), before);
}

/// The digest the README shows for `demo --seed 7` is what the demo gives: the
/// digest's encoding (and the demo scenario) cannot change unnoticed.
#[test]
fn readme_demo_digest_is_reproduced() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("projected to position") && l.contains("digest "))
        .expect("the README shows the demo's digest line");
    let expected = line.rsplit("digest ").next().unwrap().trim();
    assert_eq!(expected.len(), 64, "a SHA-256 in hex: {line}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = demo(&dir, "7");
    assert!(
        out.contains(&format!("digest {expected}")),
        "demo --seed 7 no longer gives the README's digest {expected}:\n{out}"
    );
    let json = run(&dir, &["--json", "digest"]);
    assert!(json.contains(expected), "tallinn digest: {json}");
}

/// At volume the demo's clock stays in the past (before April 2026): every
/// event but the four planted ones is accepted, and every "Try next" line
/// works as printed, a producer command with the real clock included.
#[test]
fn a_volume_demo_never_records_the_future_and_its_try_next_lines_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let out = tallinn()
        .args(["demo", "--seed", "5", "--events", "6000", "--dir"])
        .arg(&dir)
        .env_remove("TALLINN_NOW")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let log = run(&dir, &["--json", "log"]);
    let mut latest = String::new();
    let mut refused = 0;
    for line in log.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let at = e["recorded_at"].as_str().unwrap_or_default().to_string();
        latest = latest.max(at);
        if e["outcome"] != "accepted" {
            refused += 1;
        }
    }
    assert!(log.lines().count() >= 6000);
    assert_eq!(refused, 4, "only the planted events");
    assert!(
        latest.as_str() < "2026-05-01",
        "latest recorded_at {latest}"
    );
    // Every "Try next" line, run as printed (with the real clock).
    let tries: Vec<&str> = stdout
        .split("Try next:")
        .nth(1)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tallinn "))
        .collect();
    assert!(tries.len() >= 6, "{stdout}");
    let text = stdout
        .split("Try next:")
        .nth(1)
        .unwrap()
        .replace("\\\n", " ");
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tallinn "))
    {
        let line = line.split(" #").next().unwrap().trim();
        let args = shell_words(line.strip_prefix("tallinn ").unwrap());
        if args.last().map(String::as_str) == Some("serve") {
            // The node runs until stopped: it serves the dashboard, then stops cleanly.
            assert_eq!(args[0], "--dir", "{line}");
            let node = common::node::Node::start(&[], std::path::Path::new(&args[1]), &[]);
            let page = node.get("/");
            assert_eq!(page.status, 200, "{line}");
            assert!(page.text().contains("Overview"), "{line}");
            let (status, stderr) = node.stop();
            assert!(status.success(), "{line}: {stderr}");
            continue;
        }
        let out = tallinn()
            .env_remove("TALLINN_NOW")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Splits a command line printed by the demo (words, and "double quoted" ones).
fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}
