//! The conformance vectors of `schemas/conformance/` (RULES.md §8, and the
//! README there): for every scenario file, this implementation must give each
//! event the verdict the file states and reach its digest, byte for byte; a
//! file made by a builder here (`conformance/`) must hold exactly the bundle
//! the builder makes; and the files together must exercise every verdict code
//! in [`CODES`].
//!
//! `TALLINN_REGENERATE_CONFORMANCE=1` rewrites the files from the builders (and
//! the `expected` of every other file from its bundle) instead of comparing.

#[path = "conformance/file.rs"]
mod file;
#[path = "conformance/mod.rs"]
mod scenarios;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use file::{Expected, Scenario};
use scenarios::kit::Built;

/// Every verdict code the implementation can give (`Rejection::code` and the
/// three other verdicts). Add a code here with a vector that produces it: the
/// test fails until some file does.
const CODES: &[&str] = &[
    "accepted",
    "duplicate",
    "malformed",
    "unsupported_version",
    "wrong_subject",
    "no_genesis",
    "wrong_origin",
    "unknown_producer",
    "no_active_key",
    "bad_signature",
    "equivocation",
    "gap",
    "broken_link",
    "time_went_back",
    "suspended",
    "missing_role",
    "invalid_field",
    "rule_violation",
];

/// Codes `Rejection::code` still knows but that are never produced
/// (RULES.md §7.3): no file may expect them.
const RETIRED: &[&str] = &["future_timestamp"];

#[test]
fn every_scenario_gets_its_verdicts_and_digest() {
    let built = scenarios::all();
    if file::regenerating() {
        regenerate(&built);
    }
    let built: BTreeMap<&str, &Built> = built.iter().map(|b| (b.name.as_str(), b)).collect();
    let files = scenario_files();
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    for path in &files {
        let name = stem(path);
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| check_file(&name, &text, built.get(name.as_str()).copied()))
        {
            Ok((found, mut problems)) => {
                codes.extend(found);
                failures.append(&mut problems);
            }
            Err(e) => failures.push(format!("{name}.json: {e}")),
        }
    }
    let on_disk: BTreeSet<String> = files.iter().map(|p| stem(p)).collect();
    for name in built.keys().filter(|n| !on_disk.contains(**n)) {
        failures.push(format!(
            "{name}.json: missing (its builder exists; regenerate)"
        ));
    }
    failures.extend(coverage(&codes));
    assert!(
        failures.is_empty(),
        "{} conformance failure(s) over {} files (if a change is intended, rerun with \
         {}=1 and review the diff of schemas/conformance/):\n{}",
        failures.len(),
        files.len(),
        file::REGENERATE,
        failures.join("\n")
    );
}

/// The `*.json` files of `schemas/conformance/`, sorted.
fn scenario_files() -> Vec<PathBuf> {
    let dir = file::dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// Checks one file; returns the codes it expects and what is wrong with it.
fn check_file(
    name: &str,
    text: &str,
    built: Option<&Built>,
) -> Result<(BTreeSet<String>, Vec<String>), String> {
    let scenario = file::parse(text)?;
    let mut problems = Vec::new();
    if scenario.name != name {
        problems.push(format!("{name}.json: its name is {:?}", scenario.name));
    }
    let got = file::judge(&scenario.bundle)?;
    compare(name, &scenario.expected, &got, &mut problems);
    compare_replay(name, &scenario, &got, &mut problems)?;
    if let Some(b) = built {
        let made = file::render(&Scenario {
            name: b.name.clone(),
            description: b.description.clone(),
            bundle: b.bundle.clone(),
            expected: scenario.expected.clone(),
        });
        if made != text {
            problems.push(format!(
                "{name}.json: is not what its builder makes ({})",
                file::first_difference(text, &made)
            ));
        }
    }
    let codes = scenario
        .expected
        .verdicts
        .iter()
        .map(|v| v.code.clone())
        .collect();
    Ok((codes, problems))
}

/// The file's verdicts and digest against what this implementation computes.
fn compare(name: &str, want: &Expected, got: &Expected, problems: &mut Vec<String>) {
    if want.verdicts.len() != got.verdicts.len() {
        problems.push(format!(
            "{name}.json: {} expected verdicts for {} events",
            want.verdicts.len(),
            got.verdicts.len()
        ));
    }
    for (w, g) in want.verdicts.iter().zip(&got.verdicts) {
        if w.position != g.position {
            problems.push(format!(
                "{name}.json: verdict for position {} stated where the bundle has position {}",
                w.position, g.position
            ));
        } else if w.code != g.code {
            problems.push(format!(
                "{name}.json: position {}: expected {}, got {}",
                w.position, w.code, g.code
            ));
        }
    }
    if want.digest != got.digest {
        problems.push(format!(
            "{name}.json: digest: expected {}, got {}",
            want.digest, got.digest
        ));
    }
}

/// The same verdicts judged one event at a time, each signature verified
/// alone (`ledger::replay`), as the batched fold gave: the verdicts do not
/// depend on how signatures were grouped.
fn compare_replay(
    name: &str,
    scenario: &Scenario,
    folded: &Expected,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let entries = file::entries(&scenario.bundle)?;
    let (_, judged) = ledger::replay::replay(&entries);
    for (j, f) in judged.iter().zip(&folded.verdicts) {
        let code = file::code(j.outcome.as_ref());
        if code != f.code {
            problems.push(format!(
                "{name}.json: position {}: the batched fold gives {}, replay one by one gives {code}",
                j.position, f.code
            ));
        }
    }
    Ok(())
}

/// Every code of [`CODES`] in some file, and none outside it.
fn coverage(found: &BTreeSet<String>) -> Vec<String> {
    let mut problems: Vec<String> = CODES
        .iter()
        .filter(|c| !found.contains(**c))
        .map(|c| format!("no scenario file expects the code {c}"))
        .collect();
    for c in found.iter().filter(|c| !CODES.contains(&c.as_str())) {
        let retired = if RETIRED.contains(&c.as_str()) {
            " (retired: it must never be produced)"
        } else {
            " (add it to CODES in projector/tests/conformance.rs)"
        };
        problems.push(format!("a scenario file expects the code {c}{retired}"));
    }
    problems
}

/// Rewrites every built scenario, and the `expected` of every other file from
/// its own bundle (its name, description and bundle are kept).
fn regenerate(built: &[Built]) {
    for b in built {
        let expected = file::judge(&b.bundle)
            .unwrap_or_else(|e| panic!("{}: the built bundle does not judge: {e}", b.name));
        file::write(&Scenario {
            name: b.name.clone(),
            description: b.description.clone(),
            bundle: b.bundle.clone(),
            expected,
        });
    }
    for path in scenario_files() {
        if built.iter().any(|b| b.name == stem(&path)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut scenario = file::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        scenario.expected =
            file::judge(&scenario.bundle).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        file::write(&scenario);
    }
    eprintln!("regenerated the files of {}", file::dir().display());
}

/// The streamed auditor on every scenario: the same verdict for each event
/// (its refusals and notes by position and code, the accepted count) and the
/// same digest as the file states, whether the events come in one batch or
/// one at a time (a batch cut at every event, items written back each time).
#[test]
fn the_streamed_audit_gives_every_scenario_its_verdicts_and_digest() {
    use projector::audit::{audit_on, AuditInput, Trust, Workspace, AUDIT_BATCH};
    let not_verdicts = [
        "not_yet_covered",
        "recorded_after_checkpoint",
        "recorded_before_checkpoint",
    ];
    let mut failures = Vec::new();
    let files = scenario_files();
    for path in &files {
        let name = stem(path);
        let text = std::fs::read_to_string(path).expect("a scenario file");
        let scenario = file::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let b = &scenario.bundle;
        let input = AuditInput {
            events: b.decode().expect("the bundle decodes"),
            checkpoints: b.checkpoints.clone(),
            stated_size: Some(b.size),
            stated_root: Some(b.root),
            stated_origin: Some(b.origin.clone()),
        };
        let mut want: Vec<(u64, String)> = scenario
            .expected
            .verdicts
            .iter()
            .filter(|v| v.code != "accepted")
            .map(|v| (v.position, v.code.clone()))
            .collect();
        want.sort();
        let accepted = scenario.expected.verdicts.len() - want.len();
        for batch in [AUDIT_BATCH, 1] {
            let mut ws = Workspace::new(None).expect("a workspace");
            if batch == 1 {
                ws.projector().working_set = 1;
            }
            let trust = Trust::default();
            let r = audit_on(&mut ws, input.clone(), &trust, batch).expect("the workspace");
            let mut got: Vec<(u64, String)> = r
                .refused
                .iter()
                .chain(&r.notes)
                .filter(|f| !not_verdicts.contains(&f.code.as_str()))
                .filter_map(|f| Some((f.position?, f.code.clone())))
                .collect();
            got.sort();
            if got != want || r.accepted != accepted as u64 || r.digest != scenario.expected.digest
            {
                failures.push(format!(
                    "{name} (batch {batch}): verdicts {got:?} accepted {} digest {}, the file: {want:?} accepted {accepted} digest {}",
                    r.accepted, r.digest, scenario.expected.digest
                ));
            }
        }
    }
    assert!(files.len() >= 10, "{} scenario files", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
