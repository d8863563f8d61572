//! No panic on any input or environment: a reader that goes away, key files
//! that are not small regular files.

mod common;

use std::process::Stdio;

use common::*;

/// Every command that prints, on a demo ledger, with its stdout closed before
/// it writes: each ends quietly with exit 0 (it used to exit 101 with "failed
/// printing to stdout: Broken pipe").
#[test]
fn every_printing_command_ends_quietly_on_a_broken_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut demo = tallinn();
    demo.arg("--dir")
        .arg(&data)
        .args(["demo", "--seed", "7", "--events", "3000"]);
    assert!(demo.output().unwrap().status.success());
    let bundle = dir.path().join("bundle.json");
    let mut commands: Vec<Vec<String>> = [
        "status",
        "log",
        "digest",
        "checkpoint show",
        "audit verify",
        "member list",
        "--json status",
        "--json log",
        "--json report donors",
        "completions bash",
    ]
    .iter()
    .map(|c| c.split(' ').map(String::from).collect())
    .collect();
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
        "countries",
        "modalities",
        "sectors",
        "contributors",
        "flows",
        "coverage",
    ] {
        commands.push(vec!["report".into(), view.into()]);
        let mut csv: Vec<String> = vec![
            "report".into(),
            view.into(),
            "--format".into(),
            "csv".into(),
        ];
        // A view of several tables writes one at a time.
        if let Some(t) = match view {
            "categories" => Some("categories_by_donor"),
            "months" => Some("months_total"),
            "integrity" => Some("rejected"),
            _ => None,
        } {
            csv.extend(["--table".into(), t.into()]);
        }
        commands.push(csv);
    }
    commands.push(vec![
        "audit".into(),
        "export".into(),
        "--out".into(),
        bundle.to_str().unwrap().into(),
    ]);
    for args in &commands {
        let mut c = tallinn();
        c.arg("--dir").arg(&data).args(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        // The reader goes away before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
    }
}

/// A key file that is a FIFO is refused at once (it used to hang forever), a
/// directory or a huge file too, each with a one-line reason naming it.
#[test]
fn key_files_must_be_small_regular_files() {
    let fx = Fixture::new();
    let fifo = fx.path("fifo.key");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = fx.path("big.key");
    std::fs::write(&big, vec![b'A'; 200_000]).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let dir_key = fx.path("");
    for (key, why) in [
        (&fifo, "not a regular file"),
        (&dir_key, "not a regular file"),
        (&big, "more than the 4096"),
    ] {
        let err = fail_without_hanging(
            &fx,
            &[
                "offer",
                "--key",
                key.to_str().unwrap(),
                "--id",
                "O-1",
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
                "1",
            ],
        );
        assert_one_line(&err, &[why]);
        // A vkey argument given as such a file is refused the same way.
        let err = fail_without_hanging(
            &fx,
            &["checkpoint", "verify", "--log-key", key.to_str().unwrap()],
        );
        assert_one_line(&err, &[why]);
    }
}

/// Runs a command that must fail; a command still running after a minute is
/// hung (a FIFO being read), killed and reported, instead of hanging the suite.
fn fail_without_hanging(fx: &Fixture, args: &[&str]) -> String {
    let mut child = fx
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            assert!(!out.status.success(), "{args:?} succeeded");
            return String::from_utf8(out.stderr).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("{args:?} hung");
}

/// A demo ledger of `seed` in a fresh directory.
fn demo(dir: &std::path::Path, seed: &str) {
    let mut c = tallinn();
    c.arg("--dir").arg(dir).args(["demo", "--seed", seed]);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = tallinn();
    c.arg("--dir").arg(dir).args(args);
    c.output().unwrap()
}

/// One flipped bit in the projector's row file is a one-line error naming the
/// file, the offset and the rebuild command, never a wrong report; the rebuild
/// gives the original digest back.
#[test]
fn a_flipped_bit_in_the_row_file_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    demo(&dir, "7");
    let digest = String::from_utf8(run_in(&dir, &["digest"]).stdout).unwrap();
    let rows = dir.join("projector").join("rows.log");
    let mut bytes = std::fs::read(&rows).unwrap();
    assert!(bytes.len() > 1225);
    bytes[1225] ^= 0x10; // "IT-MAECI" read as "IT-MAUCI" before checksums
    std::fs::write(&rows, &bytes).unwrap();
    for args in [&["report", "donors"][..], &["digest"], &["status"]] {
        let out = run_in(&dir, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_one_line(&err, &["rows.log", "checksum", "tallinn projector rebuild"]);
        assert!(out.stdout.is_empty(), "no report printed: {args:?}");
    }
    let out = run_in(&dir, &["projector", "rebuild"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(run_in(&dir, &["digest"]).stdout).unwrap(),
        digest
    );
}

/// A projector that folded another log (the log restored from another
/// ledger, or wiped) refuses to report it as `lag 0`: one line that says it
/// belongs to another history and how to rebuild.
#[test]
fn a_projector_of_another_history_refuses_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    demo(&a, "7");
    demo(&b, "8");
    // B's log under A's projector: same length, other events.
    std::fs::remove_dir_all(a.join("log")).unwrap();
    copy_dir(&b.join("log"), &a.join("log"));
    for args in [&["status"][..], &["report", "donors"], &["digest"]] {
        let out = run_in(&a, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_one_line(
            &err,
            &[
                "another history",
                "entry at position 52",
                "projector rebuild",
            ],
        );
    }
    // The log removed: not "create one with tallinn init".
    std::fs::remove_dir_all(a.join("log")).unwrap();
    for args in [&["status"][..], &["audit", "verify"], &["report", "donors"]] {
        let out = run_in(&a, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_one_line(
            &String::from_utf8(out.stderr).unwrap(),
            &["log", "is missing", "audit mirror"],
        );
    }
    // The log wiped (an empty store): the projector is ahead of it.
    std::fs::create_dir_all(a.join("log")).unwrap();
    let out = run_in(&a, &["status"]);
    assert_one_line(
        &String::from_utf8(out.stderr).unwrap(),
        &["another history", "the log holds only 0 entries"],
    );
    let out = run_in(&a, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3), "an empty log fails the audit");
    assert!(String::from_utf8(out.stdout).unwrap().contains("empty_log"));
    std::fs::remove_dir_all(a.join("log")).unwrap();
    // Rebuilt from B's log: B's digest.
    copy_dir(&b.join("log"), &a.join("log"));
    assert!(run_in(&a, &["projector", "rebuild"]).status.success());
    assert_eq!(
        run_in(&a, &["digest"]).stdout,
        run_in(&b, &["digest"]).stdout
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A small filesystem of its own for one test: a tmpfs mounted by the test
/// (the tests run as root on these machines), unmounted on drop.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> SmallFs {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mounting a tmpfs (the suite runs as root)"
        );
        SmallFs { dir }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the filesystem holding `dir` to the last byte (a new file in `dir`).
fn fill(dir: &std::path::Path, name: &str) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(dir.join(name)).unwrap();
    let chunk = vec![1u8; 4096];
    while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
    let _ = f.write_all(&chunk[..1]);
}

/// A full disk is a clean one-line error for writers (the demo used to
/// panic); a reader works on the full disk (the embedded log frees its
/// reserve to open, the projector folds in memory when it cannot write);
/// once space is freed the ledger reads back whole and verifies, and the
/// reserve is written back.
#[test]
fn a_full_disk_is_a_clean_error_and_the_ledger_reads_afterwards() {
    let fs = SmallFs::mount("12m");
    let filler = fs.dir.path().join("filler");
    std::fs::write(&filler, vec![0u8; 4 << 20]).unwrap();
    let data = fs.dir.path().join("d");
    let out = run_in(&data, &["demo", "--seed", "7", "--events", "60000"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_one_line(&err, &["No space left on device"]);
    // The first reader on the full disk works: the log frees its reserve to
    // open, the projector, which cannot write, folds in memory.
    fill(fs.dir.path(), "full-0");
    let out = run_in(&data, &["report", "donors"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a report on a full disk: {err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("TOTAL"));
    // Later readers work unless sled 0.34 must write a snapshot to open the
    // log, which the freed reserve no longer covers: then one clean line.
    let readers: [&[&str]; 4] = [&["--json", "log"], &["status"], &["digest"], &["log"]];
    for (i, args) in readers.iter().enumerate() {
        fill(fs.dir.path(), &format!("full-{}", i + 1));
        let out = run_in(&data, args);
        if !out.status.success() {
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            if args.contains(&"--json") {
                assert_json_error(&err, &["No space left on device"]);
            } else {
                assert_one_line(&err, &["No space left on device"]);
            }
        }
    }
    // A writer on the full disk: one line.
    let key = data.join("keys").join("UA-NCCC.key");
    let need = [
        "need",
        "--key",
        key.to_str().unwrap(),
        "--id",
        "N-FULL",
        "--category",
        "hardware",
        "--priority",
        "high",
        "--description",
        "x",
        "--needed-by",
        "2026-12-31",
        "--value",
        "1000",
        "--currency",
        "EUR",
        "--quantity",
        "1",
        "--unit",
        "lot",
    ];
    let out = run_in(&data, &need);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_one_line(&err, &["No space left on device"]);
    for e in std::fs::read_dir(fs.dir.path()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let out = run_in(&data, &["--json", "log"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "reading after ENOSPC: {err}");
    let lines = String::from_utf8(out.stdout).unwrap().lines().count();
    assert!(lines > 500, "what was stored reads back ({lines} events)");
    let out = run_in(&data, &["audit", "verify", "--threshold", "0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        data.join("log").join("reserve").is_file(),
        "the reserve is written back once there is space"
    );
}

/// `status` in `dir` is refused: the projector verified the checkpoint of
/// size 52 and the log keeps none.
fn status_refused_for_lost_checkpoint(dir: &std::path::Path) {
    let out = run_in(dir, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line(
        &String::from_utf8(out.stderr).unwrap(),
        &[
            "another history",
            "no checkpoint",
            "verified one of size 52",
        ],
    );
}

/// The log at `from` rewritten into a new embedded log at `to`: the same
/// entries, with the entries at positions `i` and `i + 1` (of two members)
/// swapped, so that every member's chain and the entry at the end are
/// unchanged and only the log order (which decides verdicts) differs.
fn swapped_copy(from: &std::path::Path, to: &std::path::Path, i: usize) {
    let wait = std::time::Duration::from_secs(5);
    let source = ledger::store::Store::open(from, wait).unwrap();
    let mut entries = source.read_sync(1, usize::MAX).unwrap();
    drop(source);
    let producer = |e: &ledger::log::Entry| {
        projector::fold::decode(e)
            .unwrap()
            .envelope()
            .producer
            .clone()
    };
    assert_ne!(producer(&entries[i - 1]), producer(&entries[i]));
    entries.swap(i - 1, i);
    let target = ledger::store::Store::open(to, wait).unwrap();
    let mut last = std::collections::HashMap::new();
    for e in &entries {
        let p = producer(e);
        let at = target
            .append_sync(
                &p,
                last.get(&p).copied(),
                std::slice::from_ref(&e.bytes),
                e.appended_at,
            )
            .unwrap();
        last.insert(p, at[0]);
    }
}

/// A projector records the Merkle root of the prefix it folded and checks it
/// against the log's signed checkpoints, and remembers the largest one it
/// verified: a log whose order was rewritten before the projector's position
/// (the entry at the position kept, so the position check alone passes) is
/// refused while it keeps no checkpoint, and once it is signed again; an
/// honest checkpoint of the same size is accepted; a log whose checkpoints
/// were removed is refused until one is signed again.
#[test]
fn a_projector_refuses_a_log_whose_signed_prefix_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    demo(&a, "7");
    let key = a.join("keys").join("TM-SECRETARIAT.key");
    let key = key.to_str().unwrap();
    // Positions 20 and 21: two members' events, each chain's order kept.
    let out = run_in(&a, &["log", "--json"]);
    let members: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["member"].clone())
        .collect();
    assert_eq!(members.len(), 52);
    let i = (20..51).find(|&i| members[i - 1] != members[i]).unwrap();
    swapped_copy(&a.join("log"), &b.join("log"), i);
    copy_dir(&a.join("projector"), &b.join("projector"));
    // Same entry at the projector's position, so the position check passes;
    // but the projector verified the demo's checkpoint of size 52, and this
    // log keeps none.
    status_refused_for_lost_checkpoint(&b);
    // The rewritten log signed by the coordinator: refused by the prefix root.
    let out = run_in(&b, &["checkpoint", "sign", "--key", key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [&["status"][..], &["report", "donors"], &["digest"]] {
        let out = run_in(&b, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_one_line(
            &String::from_utf8(out.stderr).unwrap(),
            &[
                "another history",
                "checkpoint of size 52 signed by TM-SECRETARIAT",
                "projector rebuild",
            ],
        );
        assert!(out.stdout.is_empty());
    }
    // The honest log signed at the same size: accepted, and remembered.
    let ok = |args: &[&str]| {
        let out = run_in(&a, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["checkpoint", "sign", "--key", key]);
    ok(&["status"]);
    ok(&["projector", "catch-up"]);
    // The log's checkpoints removed (an operator erasing what was signed):
    // the projector, which verified one of size 52, refuses the log.
    {
        let store =
            ledger::store::Store::open(&a.join("log"), std::time::Duration::from_secs(5)).unwrap();
        store.db().drop_tree("checkpoints").unwrap();
        store.flush().unwrap();
    }
    status_refused_for_lost_checkpoint(&a);
    ok(&["checkpoint", "sign", "--key", key]);
    ok(&["status"]);
    // Rebuilt from the rewritten log, the projector agrees with its checkpoint.
    let out = run_in(&b, &["projector", "rebuild"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run_in(&b, &["status"]).status.success());
}

/// A lost embedded log comes back from an audit bundle another party keeps:
/// `audit restore` verifies the bundle, writes the log, reads it back and
/// audits it again before it puts it in place; the ledger then reads to the
/// same digest and takes new events. A bundle whose evidence is broken
/// restores nothing (exit 3); an existing log is never overwritten.
#[test]
fn a_lost_log_is_restored_from_a_verified_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    demo(&dir, "7");
    let key = dir.join("keys").join("TM-SECRETARIAT.key");
    assert!(run_in(
        &dir,
        &["checkpoint", "sign", "--key", key.to_str().unwrap()]
    )
    .status
    .success());
    let bundle = tmp.path().join("bundle.json");
    assert!(run_in(
        &dir,
        &["audit", "export", "--out", bundle.to_str().unwrap()]
    )
    .status
    .success());
    let digest = run_in(&dir, &["digest"]).stdout;
    // An existing log is not overwritten.
    let out = run_in(&dir, &["audit", "restore", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line(&String::from_utf8(out.stderr).unwrap(), &["exists"]);
    // A broken bundle (one event's stated seq changed): nothing written.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let seq = doc["events"][5]["seq"].as_u64().unwrap();
    doc["events"][5]["seq"] = (seq + 1).into();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::remove_dir_all(dir.join("log")).unwrap();
    std::fs::remove_dir_all(dir.join("projector")).unwrap();
    let out = run_in(&dir, &["audit", "restore", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_one_line(
        &String::from_utf8(out.stderr).unwrap(),
        &["evidence is broken", "nothing restored"],
    );
    assert!(!dir.join("log").exists() && !dir.join("log.restoring").exists());
    // The honest bundle: the same log, digest and checkpoint.
    let out = run_in(
        &dir,
        &["--json", "audit", "restore", bundle.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"], 52);
    assert_eq!(v["checkpoints"], 1);
    assert_eq!(run_in(&dir, &["digest"]).stdout, digest);
    let out = run_in(&dir, &["audit", "verify", "--threshold", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // And takes new events.
    let ua = dir.join("keys").join("UA-NCCC.key");
    let out = run_in(
        &dir,
        &[
            "need",
            "--key",
            ua.to_str().unwrap(),
            "--id",
            "N-AFTER",
            "--category",
            "hardware",
            "--description",
            "x",
            "--quantity",
            "1",
            "--unit",
            "lot",
            "--value",
            "1000",
            "--needed-by",
            "2027-12-31",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value =
        serde_json::from_slice(&run_in(&dir, &["--json", "status"]).stdout).unwrap();
    assert_eq!(status["log_length"], 53);
}

/// A member's free text that a spreadsheet would run as a formula (a reason
/// starting with `=`, `+`, `-` or `@`) is written to CSV prefixed with `'`,
/// quoted where it holds commas or quotes, and reads back as one cell; the
/// views' "none" placeholder is an empty cell. Numbers stay numbers.
#[test]
fn report_csv_does_not_carry_formulas() {
    let fx = Fixture::new();
    let ua = fx.key_str(UA);
    fx.ok([
        "need",
        "--key",
        &ua,
        "--id",
        "N-1",
        "--category",
        "hardware",
        "--description",
        "Laptops",
        "--quantity",
        "10",
        "--unit",
        "pcs",
        "--value",
        "1000",
        "--priority",
        "high",
    ]);
    let reasons = [
        "=HYPERLINK(\"http://attacker.example\",\"click\")",
        "+1+cmd|' /C calc'!A0",
        "-2, then \"more\"",
        "@SUM(A1:A9)",
    ];
    for (i, reason) in reasons.iter().enumerate() {
        let quantity = (11 + i).to_string();
        // `--reason=...`: a value starting with `-` is not an option.
        let reason = format!("--reason={reason}");
        fx.ok([
            "amend",
            "--key",
            &ua,
            "--target",
            "N-1",
            "--quantity",
            &quantity,
            &reason,
        ]);
    }
    let csv_text = fx.ok(["report", "changes", "--format", "csv"]);
    let mut rows = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = headers
        .iter()
        .position(|h| h == "reason")
        .expect("reason column");
    let got: Vec<String> = rows
        .records()
        .map(|r| r.unwrap()[col].to_string())
        .collect();
    for reason in reasons {
        assert!(
            got.contains(&format!("'{reason}")),
            "{reason} not neutralised in {got:?}\n{csv_text}"
        );
    }
    // Ids and amounts are not prefixed; no cell is the "-" placeholder.
    let needs = fx.ok(["report", "needs", "--format", "csv"]);
    let mut rows = csv::Reader::from_reader(needs.as_bytes());
    let record = rows.records().next().unwrap().unwrap();
    assert!(
        !record.iter().any(|c| c == "-" || c.starts_with('\'')),
        "{needs}"
    );
    assert!(record.iter().any(|c| c.parse::<f64>().is_ok()), "{needs}");
}
