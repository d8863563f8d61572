//! The projector's row file compacted (issue 17): on an update-heavy ledger
//! (thousands of amendments of a few hundred needs) the row file stays a small
//! multiple of the live records and the projector directory under twice the
//! log's encoded events, the snapshot a few kilobytes (the changes have a
//! file of their own); the digest is a clean rebuild's; `kill -9` at random
//! points while it compacts every few commits, with readers opening it
//! meanwhile, ends with a clean rebuild's digest.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::{tallinn, Fixture, SplitMix, UA};
use ledger::body::{Body, Change, ChangeFields, Need, Priority};
use ledger::category::Category;
use ledger::ids::ItemId;
use ledger::money::{Money, Quantity};

/// Amendments in the ledger of the first test.
const AMENDMENTS: usize = 3_000;

fn item(s: &str) -> ItemId {
    s.parse().unwrap()
}

fn laptops(n: u64) -> Quantity {
    Quantity {
        amount: n,
        unit: "laptops".into(),
    }
}

/// Needs in the ledger.
const NEEDS: usize = 200;

/// `needs` needs, then `amendments` amendments of their descriptions,
/// round robin: the projector writes each need back at every save, so its row
/// file grows with the saves while the live records stay `needs`.
fn update_heavy(needs: usize, amendments: usize) -> Fixture {
    let fx = Fixture::new();
    let need = |i: usize| {
        Body::NeedStated(Need {
            need: item(&format!("UA-SSSCIP/N-{i}")),
            recipient: UA.parse().unwrap(),
            category: Category::Hardware,
            dac_sector: None,
            description: "Laptops".into(),
            quantity: laptops(1_000),
            estimated_value: Money::eur(100_000_000),
            priority: Priority::High,
            needed_by: None,
        })
    };
    let amend = |i: usize| {
        Body::Amended(Change {
            target: item(&format!("UA-SSSCIP/N-{}", i % needs)),
            fields: ChangeFields {
                description: Some(format!("Laptops, revision {i} of the specification")),
                ..ChangeFields::default()
            },
            reason: format!("revision {i}"),
        })
    };
    let lines: Vec<String> = (0..needs)
        .map(need)
        .chain((0..amendments).map(amend))
        .map(|b| serde_json::to_string(&b).unwrap())
        .collect();
    let path = fx.path("ua.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    fx.ok(["publish", "--key", &fx.key_str(UA), path.to_str().unwrap()]);
    fx
}

/// `tallinn projector WHAT --save-every N` on `dir` with this compaction floor.
fn projector(dir: &Path, what: &str, save_every: u32, compact_min: u64) -> Command {
    let mut c = tallinn();
    c.arg("--dir")
        .arg(dir)
        .args(["projector", what, "--save-every", &save_every.to_string()])
        .env("TALLINN_COMPACT_MIN", compact_min.to_string())
        .env("TALLINN_STATS", "1");
    c
}

/// `(position, digest)` from a projector command that succeeded, and its stderr.
fn digest_of(out: std::process::Output) -> (u64, String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "projector failed: {stderr}");
    let s = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(words.len(), 4, "unexpected output {s:?}");
    (words[1].parse().unwrap(), words[3].to_string(), stderr)
}

/// The file names in the projector directory, and their total size.
fn files(dir: &Path) -> (Vec<String>, u64) {
    let mut names = Vec::new();
    let mut total = 0;
    for e in walk(&dir.join("projector")) {
        total += e.1;
        names.push(e.0);
    }
    names.sort();
    (names, total)
}

fn walk(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push((e.file_name().to_string_lossy().to_string(), m.len()));
        }
    }
    out
}

/// The encoded size of the log's events: signed envelope and signature, from
/// the audit bundle.
fn encoded_events(fx: &Fixture) -> u64 {
    let bundle = fx.path("bundle.json");
    fx.ok(["audit", "export", "--out", bundle.to_str().unwrap()]);
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let len = |k: &str| b64.decode(e[k].as_str().unwrap()).unwrap().len() as u64;
            len("envelope") + len("signature")
        })
        .sum()
}

/// The `stats compactions N ...` figure of a command's stderr.
fn compactions(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("stats compactions "))
        .unwrap_or_else(|| panic!("no compaction stats in {stderr}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn compaction_keeps_the_digest_and_bounds_the_disk() {
    let fx = update_heavy(NEEDS, AMENDMENTS);
    let dir = fx.data.clone();
    // Never compacted: the row file holds every write-back.
    let (len, clean, stderr) =
        digest_of(projector(&dir, "rebuild", 100, u64::MAX).output().unwrap());
    assert_eq!(compactions(&stderr), 0);
    assert_eq!(
        len,
        (1 + NEEDS + AMENDMENTS) as u64,
        "genesis, needs, amendments"
    );
    let (names, _) = files(&dir);
    let grown = std::fs::metadata(dir.join("projector/rows.log"))
        .unwrap()
        .len();
    assert!(names.contains(&"rows.log".to_string()), "{names:?}");

    // Compacted whenever the row file passes 16 KiB and half its records are stale.
    let (_, digest, stderr) = digest_of(projector(&dir, "rebuild", 100, 16_384).output().unwrap());
    assert_eq!(
        digest, clean,
        "a compacted projector has a clean rebuild's digest"
    );
    let n = compactions(&stderr);
    assert!(n >= 2, "{n} compactions: {stderr}");
    let (names, total) = files(&dir);
    let rows: Vec<&String> = names.iter().filter(|n| n.starts_with("rows.")).collect();
    assert_eq!(
        rows,
        [&format!("rows.{n}.log")],
        "one generation left: {names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|f| f.starts_with("items.") && !f.starts_with(&format!("items.{n}."))),
        "no run of another generation: {names:?}"
    );
    let compacted = std::fs::metadata(dir.join(format!("projector/rows.{n}.log")))
        .unwrap()
        .len();
    assert!(
        compacted * 5 < grown,
        "row file {compacted} bytes, {grown} without compaction"
    );
    let encoded = encoded_events(&fx);
    assert!(
        total < 2 * encoded,
        "projector directory {total} bytes, log's events {encoded}: {names:?}"
    );
    // The changes are in their own file, not in the snapshot: it stays a
    // few kilobytes with 3,000 amendments.
    let snapshot = std::fs::metadata(dir.join("projector/snapshot"))
        .unwrap()
        .len();
    assert!(snapshot < 32_768, "snapshot of {snapshot} bytes");
    let changes: serde_json::Value =
        serde_json::from_str(&fx.ok(["report", "changes", "--format", "json"])).unwrap();
    let rows = changes["tables"]["changes"].as_array().unwrap();
    assert_eq!(rows.len(), AMENDMENTS);
    assert_eq!(
        rows[AMENDMENTS - 1]["reason"],
        format!("revision {}", AMENDMENTS - 1)
    );
    // Readers and the next writer open the new generation.
    assert_eq!(fx.ok(["digest"]).trim(), clean);
    let status: serde_json::Value = serde_json::from_str(&fx.ok(["--json", "status"])).unwrap();
    assert_eq!(status["projector"]["lag"], 0);
    let (_, again, _) = digest_of(projector(&dir, "catch-up", 100, 16_384).output().unwrap());
    assert_eq!(again, clean);
}

#[test]
fn killed_while_compacting_at_random_points_ends_like_a_clean_rebuild() {
    // Few needs: stale records pass half the row file every few commits.
    let fx = update_heavy(20, 12_000);
    let dir = fx.data.clone();
    let started = std::time::Instant::now();
    let (len, clean, stderr) = digest_of(projector(&dir, "rebuild", 20, 8_192).output().unwrap());
    // Compactions come often enough for random kills to land in them.
    let n = compactions(&stderr);
    assert!(n >= 5, "{n} compactions in a catch-up: {stderr}");
    // Kills spread over the time a catch-up takes here (not asserted on).
    let span = started.elapsed().as_millis().max(100) as u64;
    std::fs::remove_dir_all(dir.join("projector")).unwrap();
    let mut rng = SplitMix(0xc0_4ac7);
    let (mut interrupted, mut last) = (0, 0);
    for round in 0..20 {
        // Commits at a growing gap from every 20 entries (about 25 in a
        // catch-up), a compaction every four or so.
        let mut child = projector(&dir, "catch-up", 20, 8_192)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Within what is left of the catch-up, so that most kills land in it.
        let left = span * (len - last) / len;
        std::thread::sleep(Duration::from_millis(rng.next() % left.max(10)));
        // A reader opens the store while it is written (read-only, it reads
        // the last commit's generation, or the next one's if it switched;
        // `status` does not catch up, unlike `report`).
        let reader = fx
            .cmd(["--json", "status"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next() % 50));
        // SIGKILL: no destructor, no flush, no chance to finish a write.
        let _ = child.kill();
        let exit = child.wait().unwrap();
        let reader = reader.wait_with_output().unwrap();
        assert!(
            reader.status.success(),
            "round {round}: a reader during compaction: {}",
            String::from_utf8_lossy(&reader.stderr)
        );
        let status: serde_json::Value = serde_json::from_str(&fx.ok(["--json", "status"])).unwrap();
        let position = status["projector"]["position"].as_u64().unwrap();
        assert!(
            position >= last,
            "round {round}: went back from {last} to {position}"
        );
        if !exit.success() && position < len {
            interrupted += 1;
        }
        last = position;
        let (names, _) = files(&dir);
        let rows = names.iter().filter(|n| n.starts_with("rows.")).count();
        assert!(rows <= 2, "round {round}: {names:?}");
        if position == len {
            let (_, d, _) = digest_of(projector(&dir, "catch-up", 20, 8_192).output().unwrap());
            assert_eq!(
                d, clean,
                "round {round}: killed and resumed != clean rebuild"
            );
            std::fs::remove_dir_all(dir.join("projector")).unwrap();
            last = 0;
        }
    }
    assert!(
        interrupted >= 10,
        "only {interrupted} of 20 kills landed mid-catch-up"
    );
    let (p, resumed, stderr) = digest_of(projector(&dir, "catch-up", 20, 8_192).output().unwrap());
    assert_eq!((p, resumed.as_str()), (len, clean.as_str()), "{stderr}");
    // What a kill left (a half-written generation) was removed on open.
    let (names, _) = files(&dir);
    assert_eq!(
        names.iter().filter(|n| n.starts_with("rows.")).count(),
        1,
        "{names:?}"
    );
}
