//! The scenario files of `schemas/conformance/` (their README, RULES.md §8):
//! reading, judging and writing them. Shared by `projector/tests/conformance.rs`
//! (every file, and the scenarios built from the library) and
//! `tests/tests/conformance.rs` (the demo year, made by the `tallinn` binary),
//! so both write the same layout. Uses only `ledger`, `projector` and `serde_json`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledger::bundle::Bundle;
use ledger::log::Entry;
use ledger::rules::Outcome;
use ledger::state::State;
use projector::digest::digest_hex;
use projector::fold::{fold_entries_observed, Filter};
use projector::model::Model;
use serde_json::value::RawValue;
use serde_json::Value;

/// Set to `1` to rewrite the scenario files instead of comparing with them.
pub const REGENERATE: &str = "TALLINN_REGENERATE_CONFORMANCE";

/// Whether the files are to be rewritten ([`REGENERATE`] is `1`).
pub fn regenerating() -> bool {
    std::env::var(REGENERATE).is_ok_and(|v| v == "1")
}

/// `schemas/conformance/` (both crates that use this module sit one level
/// below the workspace root).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/conformance")
}

/// The verdict on one bundle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The event's position.
    pub position: u64,
    /// `accepted`, `duplicate`, `malformed` or a rejection code.
    pub code: String,
}

/// What an implementation must compute from a scenario's bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// One per bundle event, in order.
    pub verdicts: Vec<Verdict>,
    /// The model digest after the last event (lower-case hex).
    pub digest: String,
}

/// One scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file's stem.
    pub name: String,
    /// What it exercises, and each position's step.
    pub description: String,
    /// The audit bundle (the evidence).
    pub bundle: Bundle,
    /// The verdicts and digest.
    pub expected: Expected,
}

/// The code of a verdict (`None`: the bytes are malformed).
pub fn code(outcome: Option<&Outcome>) -> String {
    match outcome {
        None => "malformed".into(),
        Some(Outcome::Accepted) => "accepted".into(),
        Some(Outcome::Duplicate) => "duplicate".into(),
        Some(Outcome::Rejected(r)) => r.code().into(),
    }
}

/// The log entries of a bundle (its evidence: positions, subjects, bytes).
pub fn entries(bundle: &Bundle) -> Result<Vec<Entry>, String> {
    let events = bundle.decode().map_err(|e| e.to_string())?;
    Ok(events.into_iter().map(|e| e.entry).collect())
}

/// Judges and folds a bundle the way the projector and the auditor do
/// (`fold_entries_observed`: batch verification, the rules, the model) and
/// computes the digest.
pub fn judge(bundle: &Bundle) -> Result<Expected, String> {
    let entries = entries(bundle)?;
    let (mut state, mut model) = (State::new(), Model::new());
    let mut verdicts = Vec::with_capacity(entries.len());
    let mut observe = |entry: &Entry,
                       _: Result<&ledger::event::Event, &str>,
                       outcome: Option<&Outcome>,
                       _: &State| {
        verdicts.push(Verdict {
            position: entry.position,
            code: code(outcome),
        });
    };
    fold_entries_observed(&mut state, &mut model, &entries, Filter::All, &mut observe);
    if verdicts.len() != entries.len() {
        return Err(format!(
            "{} entries but {} verdicts (positions must be 1, 2, 3...)",
            entries.len(),
            verdicts.len()
        ));
    }
    Ok(Expected {
        verdicts,
        digest: digest_hex(&model),
    })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings encode")
}

/// The file text: pretty JSON (two-space indent, as `serde_json` and `jq`
/// print it) with the fields in the order `name`, `description`, `bundle`
/// (fields as `ledger::bundle::Bundle` declares them), `expected`
/// (`verdicts`, then `digest`), and a trailing newline.
pub fn render(s: &Scenario) -> String {
    let bundle = serde_json::to_string_pretty(&s.bundle).expect("bundles encode");
    let verdicts: Vec<String> = s
        .expected
        .verdicts
        .iter()
        .map(|v| {
            format!(
                "      {{\n        \"position\": {},\n        \"code\": {}\n      }}",
                v.position,
                quoted(&v.code)
            )
        })
        .collect();
    let verdicts = if verdicts.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n{}\n    ]", verdicts.join(",\n"))
    };
    format!(
        "{{\n  \"name\": {},\n  \"description\": {},\n  \"bundle\": {},\n  \"expected\": {{\n    \"verdicts\": {verdicts},\n    \"digest\": {}\n  }}\n}}\n",
        quoted(&s.name),
        quoted(&s.description),
        // Nested one level: JSON text has line breaks only between tokens.
        bundle.replace('\n', "\n  "),
        quoted(&s.expected.digest),
    )
}

/// Reads a scenario file: exactly the four fields; the bundle through
/// `Bundle::from_json`, with its limits and checks.
pub fn parse(text: &str) -> Result<Scenario, String> {
    let top: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let keys: Vec<&str> = top.keys().map(String::as_str).collect();
    if keys != ["bundle", "description", "expected", "name"] {
        return Err(format!(
            "fields {keys:?}, expected name, description, bundle, expected"
        ));
    }
    let string = |field: &str| -> Result<String, String> {
        serde_json::from_str(top[field].get()).map_err(|e| format!("{field}: {e}"))
    };
    let bundle =
        Bundle::from_json(top["bundle"].get().as_bytes()).map_err(|e| format!("bundle: {e}"))?;
    let expected: Value =
        serde_json::from_str(top["expected"].get()).map_err(|e| format!("expected: {e}"))?;
    Ok(Scenario {
        name: string("name")?,
        description: string("description")?,
        bundle,
        expected: parse_expected(&expected)?,
    })
}

fn parse_expected(v: &Value) -> Result<Expected, String> {
    let object = v.as_object().ok_or("expected: not an object")?;
    if object.len() != 2 {
        return Err("expected: fields other than verdicts and digest".into());
    }
    let digest = object
        .get("digest")
        .and_then(Value::as_str)
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("expected.digest: not 64 hex digits")?;
    let list = object
        .get("verdicts")
        .and_then(Value::as_array)
        .ok_or("expected.verdicts: not an array")?;
    let verdicts = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let bad = || format!("expected.verdicts[{i}]: not {{\"position\": n, \"code\": s}}");
            let o = v.as_object().filter(|o| o.len() == 2).ok_or_else(bad)?;
            Ok(Verdict {
                position: o.get("position").and_then(Value::as_u64).ok_or_else(bad)?,
                code: o
                    .get("code")
                    .and_then(Value::as_str)
                    .ok_or_else(bad)?
                    .into(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Expected {
        verdicts,
        digest: digest.to_string(),
    })
}

/// The path of scenario `name`.
pub fn path(name: &str) -> PathBuf {
    dir().join(format!("{name}.json"))
}

/// Writes `s` to its file.
pub fn write(s: &Scenario) {
    let p = path(&s.name);
    std::fs::write(&p, render(s)).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
}

/// Where a file's text and the text made for it first differ, for a failure
/// message: the line, the character, and both from a little before it.
pub fn first_difference(file: &str, made: &str) -> String {
    let (mut w, mut g) = (file.lines(), made.lines());
    for n in 1.. {
        match (w.next(), g.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                // From a little before the first character that differs.
                let (a, b) = (a.unwrap_or(""), b.unwrap_or(""));
                let same = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
                let from = same.saturating_sub(30);
                let show = |l: &str| l.chars().skip(from).take(100).collect::<String>();
                return format!(
                    "line {n}, character {}: the file has {:?} where {:?} is made",
                    same + 1,
                    show(a),
                    show(b)
                );
            }
        }
    }
    "only in line endings".into()
}
