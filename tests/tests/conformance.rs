//! The `demo-year` conformance vector (`schemas/conformance/demo-year.json`) is
//! the CLI's deterministic demo: `tallinn demo --seed 7`, then
//! `tallinn audit export`. The demo lives in the binary, so this test runs the
//! binary and checks the file holds exactly the bundle it exports (with the
//! verdicts and digest this implementation computes: the file layout is the one
//! `projector/tests/conformance.rs` checks for every file).
//! `TALLINN_REGENERATE_CONFORMANCE=1` rewrites the file instead.

mod common;
#[path = "../../projector/tests/conformance/file.rs"]
mod file;

use std::path::Path;

use common::tallinn;
use ledger::bundle::Bundle;

const NAME: &str = "demo-year";
const SEED: &str = "7";
const DESCRIPTION: &str = "The CLI's deterministic demo year, as `tallinn demo --seed 7` then \
`tallinn audit export` write it (made by tests/tests/conformance.rs): the genesis of a \
coordinator, 12 donor ministries and 3 recipient institutions, an admission, then a \
year of needs, offers, commitments, deliveries, receipts, amendments and \
cancellations, with events that break the rules on purpose; on the embedded store \
(every `member` is the producer), with the coordinator's checkpoint cosigned by two \
witnesses.";

/// `tallinn --dir <dir> <args>`; its standard output.
fn run(args: &[&str], dir: &Path) -> String {
    let out = tallinn()
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("running tallinn");
    assert!(
        out.status.success(),
        "tallinn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The demo's bundle, as the binary exports it, and the digest the binary's
/// projector reaches.
fn demo() -> (Bundle, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = tmp.path().join("ledger");
    run(&["demo", "--seed", SEED], &ledger);
    let digest = run(&["digest"], &ledger).trim().to_string();
    let out = tmp.path().join("bundle.json");
    run(
        &["audit", "export", "--out", out.to_str().expect("utf-8")],
        &ledger,
    );
    let bundle =
        Bundle::from_json(&std::fs::read(&out).expect("the exported bundle")).expect("a bundle");
    (bundle, digest)
}

#[test]
fn the_demo_year_vector_is_the_demo() {
    let (bundle, digest) = demo();
    let expected = file::judge(&bundle).expect("the demo's bundle judges");
    assert_eq!(
        expected.digest, digest,
        "the digest of the exported bundle is the one `tallinn digest` prints"
    );
    let path = file::path(NAME);
    let mut made = file::Scenario {
        name: NAME.into(),
        description: DESCRIPTION.into(),
        bundle,
        expected,
    };
    if file::regenerating() {
        file::write(&made);
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate it)", path.display()));
    // The expected verdicts and digest are checked for every file by
    // projector/tests/conformance.rs; here, the evidence and the description.
    made.expected = file::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .expected;
    let rendered = file::render(&made);
    assert!(
        rendered == text,
        "{} is not the demo the binary makes ({}); rerun with {}=1 if the change is intended",
        path.display(),
        file::first_difference(&text, &rendered),
        file::REGENERATE
    );
}
