//! The streamed audit (issue 17): `audit verify` reads a bundle laid out one
//! event per line (as `audit export` writes it) a batch of lines at a time,
//! and any other layout of the same JSON whole; the live audit reads the log
//! a batch at a time. On the demo ledger and on tampered copies of its bundle
//! the three must give the same report, byte for byte, and leave nothing in
//! their working directory.

mod common;

use std::path::Path;

use common::node::{cli, demo};
use common::tallinn;
use serde_json::Value;

/// `audit verify [FILE] --json -v`: the exit code, the report and stderr.
fn verify(dir: &Path, file: Option<&Path>, work: &Path) -> (i32, Value, String) {
    let mut c = tallinn();
    c.arg("--dir")
        .arg(dir)
        .args(["--json", "-v", "audit", "verify"]);
    if let Some(f) = file {
        c.arg(f);
    }
    c.args(["--threshold", "0", "--work-dir"]).arg(work);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let left: Vec<_> = std::fs::read_dir(work).unwrap().collect();
    assert!(left.is_empty(), "the workspace was left behind: {left:?}");
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// The bundle's lines with event line `i` (from 0) changed by `f`.
fn edit(lines: &[String], i: usize, f: impl Fn(&str) -> String) -> Vec<String> {
    let mut out = lines.to_vec();
    out[i + 1] = f(&out[i + 1]);
    assert_ne!(out[i + 1], lines[i + 1], "the edit changed nothing");
    out
}

/// Joins event lines again with the separating commas (after an edit that
/// moved, removed or added lines).
fn rejoin(first: &str, events: &[String], last: &str) -> Vec<String> {
    let mut out = vec![first.to_string()];
    let n = events.len();
    for (i, e) in events.iter().enumerate() {
        let e = e.strip_suffix(',').unwrap_or(e);
        out.push(if i + 1 < n {
            format!("{e},")
        } else {
            e.to_string()
        });
    }
    out.push(last.to_string());
    out
}

/// The line of the first event whose JSON contains `needle`, from 0.
fn event_with(lines: &[String], needle: &str) -> usize {
    lines[1..lines.len() - 1]
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no event with {needle}"))
}

fn codes(report: &Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn streamed_whole_and_live_audits_agree_on_the_demo_and_on_tampered_bundles() {
    let (tmp, dir) = demo();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let bundle = tmp.path().join("bundle.json");
    let w = work.to_str().unwrap();
    cli(
        &dir,
        &[
            "audit",
            "export",
            "--out",
            bundle.to_str().unwrap(),
            "--work-dir",
            w,
        ],
    );
    assert!(std::fs::read_dir(&work).unwrap().next().is_none());
    let text = std::fs::read_to_string(&bundle).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();

    // The honest bundle: the stream, the whole read and the live log agree.
    let (code, live, _) = verify(&dir, None, &work);
    let (code_s, streamed, err) = verify(&dir, Some(&bundle), &work);
    assert_eq!((code, code_s), (0, 0), "{err}");
    assert!(!err.contains("read whole"), "{err}");
    assert_eq!(live, streamed);
    assert_eq!(streamed["events"], 52);
    // The demo plants 4 invalid events: refused, or kept as notes.
    let flagged = codes(&streamed, "refused").len() + codes(&streamed, "notes").len();
    assert!(flagged >= 4, "{streamed}");

    let (first, last) = (&lines[0], &lines[lines.len() - 1]);
    let events: Vec<String> = lines[1..lines.len() - 1].to_vec();
    let sig = |l: &str| {
        let at = l.find("\"signature\":\"").unwrap() + 13;
        let c = if &l[at..at + 1] == "A" { "B" } else { "A" };
        format!("{}{c}{}", &l[..at], &l[at + 1..])
    };
    let body = |l: &str| l.replacen("\"description\":\"", "\"description\":\"X", 1);
    let member = |l: &str| l.replacen("\"member\":\"EE-MFA\"", "\"member\":\"PL-MFA\"", 1);
    let mut swapped = events.clone();
    swapped.swap(10, 11);
    let mut dropped = events.clone();
    dropped.remove(20);
    let mut replayed = events.clone();
    replayed.push(events[8].clone());
    let tampered: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "signature",
            edit(&lines, 30, sig),
            "checkpoint_root_mismatch",
        ),
        (
            "body",
            edit(&lines, event_with(&lines, "\"description\":\""), body),
            "body_mismatch",
        ),
        (
            "member",
            edit(&lines, event_with(&lines, "\"member\":\"EE-MFA\""), member),
            "checkpoint_subjects_mismatch",
        ),
        ("swap", rejoin(first, &swapped, last), "position"),
        ("drop", rejoin(first, &dropped, last), "bundle_size"),
        ("replay", rejoin(first, &replayed, last), "bundle_size"),
    ];
    for (name, lines, expected) in tampered {
        let path = tmp.path().join(format!("{name}.json"));
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let (code, streamed, err) = verify(&dir, Some(&path), &work);
        assert!(!err.contains("read whole"), "{name}: {err}");
        assert_eq!(code, 3, "{name}: the evidence is broken\n{err}");
        assert!(
            codes(&streamed, "problems").iter().any(|c| c == expected),
            "{name}: no {expected} in {}",
            streamed["problems"]
        );
        // The same document in another layout is read whole: same report.
        let value: Value = serde_json::from_str(&lines.join("\n")).unwrap();
        let pretty = tmp.path().join(format!("{name}.pretty.json"));
        std::fs::write(&pretty, serde_json::to_string_pretty(&value).unwrap()).unwrap();
        let (code_w, whole, err) = verify(&dir, Some(&pretty), &work);
        assert!(err.contains("read whole"), "{name}: {err}");
        assert_eq!(code_w, code, "{name}");
        assert_eq!(
            whole, streamed,
            "{name}: the stream and the whole read differ"
        );
    }
    // An event line longer than any event's (4 MiB of spaces inside its
    // object, still the same JSON) is not read as a line: the bundle is read
    // whole, and gives the honest report.
    let padded = edit(&lines, 5, |l| {
        l.replacen('{', &format!("{{{}", " ".repeat(5 << 20)), 1)
    });
    let path = tmp.path().join("padded.json");
    std::fs::write(&path, padded.join("\n") + "\n").unwrap();
    let (code_p, whole, err) = verify(&dir, Some(&path), &work);
    assert!(err.contains("read whole"), "{err}");
    assert_eq!(code_p, 0, "{err}");
    assert_eq!(whole, streamed, "the padded bundle is the same evidence");
    // The replayed event is refused as a duplicate of its first position.
    let (_, replay, _) = verify(&dir, Some(&tmp.path().join("replay.json")), &work);
    let dup = replay["refused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "duplicate")
        .expect("a duplicate");
    assert_eq!(dup["position"], 53);
    assert!(
        dup["reason"]
            .as_str()
            .unwrap()
            .ends_with("already at position 9"),
        "{dup}"
    );
}

/// `audit export` writes the bundle beside its destination and renames it:
/// a failed export leaves neither a partial file nor a workspace.
#[test]
fn a_failed_export_leaves_nothing_behind() {
    let (tmp, dir) = demo();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out = tmp.path().join("missing-dir/bundle.json");
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&dir)
        .args(["audit", "export", "--out"])
        .arg(&out)
        .arg("--work-dir")
        .arg(&work);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--out"), "{err}");
    assert!(std::fs::read_dir(&work).unwrap().next().is_none());
    assert!(!out.exists());
}
