//! `tallinn export iati` through the real binary, validated by
//! `scripts/iati_validate.py` against the official IATI 2.03 schema,
//! codelists and ruleset (pyIATI 0.4.1's copies, installed by
//! `scripts/install-iati.sh`; `scripts/test.sh` exports IATI_STANDARD_DIR).
//! The demo's and a 100k-event ledger's exports validate with no error; each
//! check is shown to fail on a document broken for it; the figures are the
//! projector's; hostile free text stays text.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::node::{cli, demo};
use common::{ok, tallinn};

/// The IATI 2.03 standard directory (schemas, codelists, ruleset).
fn standard() -> PathBuf {
    let dir = std::env::var_os("IATI_STANDARD_DIR").map(PathBuf::from).expect(
        "IATI_STANDARD_DIR is not set: run the tests with scripts/test.sh, or set it to what scripts/install-iati.sh prints",
    );
    assert!(
        dir.join("schemas/iati-activities-schema.xsd").exists(),
        "{}: no IATI 2.03 schema; run scripts/install-iati.sh",
        dir.display()
    );
    dir
}

/// Runs the validator on `file`: whether it passed, and what it printed.
fn validate(file: &Path) -> (bool, String) {
    let std_dir = standard();
    // .tools/iati/iati/resources/standard/2-03 -> .tools/iati (lxml beside it).
    let site = std_dir.ancestors().nth(4).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/iati_validate.py");
    let out = Command::new("python3")
        .env("PYTHONPATH", site)
        .arg(script)
        .arg("--standard")
        .arg(&std_dir)
        .arg(file)
        .output()
        .expect("python3");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => (true, text),
        Some(1) => (false, text),
        other => panic!("the validator failed to run ({other:?}): {text}"),
    }
}

fn export(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["export", "iati"];
    all.extend_from_slice(args);
    cli(dir, &all)
}

/// The activities of a document: identifier, currency, status, and the
/// sum of each transaction type's values in minor units.
fn activities(
    xml: &str,
) -> Vec<(
    String,
    String,
    String,
    std::collections::BTreeMap<String, i64>,
)> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("iati-activity"))
        .map(|a| {
            let mut sums = std::collections::BTreeMap::new();
            for t in a.children().filter(|n| n.has_tag_name("transaction")) {
                let kind = child(t, "transaction-type")
                    .unwrap()
                    .attribute("code")
                    .unwrap();
                let v = child(t, "value").unwrap().text().unwrap();
                *sums.entry(kind.to_string()).or_insert(0) += cents(v);
            }
            (
                child(a, "iati-identifier")
                    .unwrap()
                    .text()
                    .unwrap()
                    .to_string(),
                a.attribute("default-currency").unwrap().to_string(),
                child(a, "activity-status")
                    .unwrap()
                    .attribute("code")
                    .unwrap()
                    .to_string(),
                sums,
            )
        })
        .collect()
}

/// The first child element of `n` named `name`.
fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn cents(s: &str) -> i64 {
    let neg = s.starts_with('-');
    let (a, b) = s
        .trim_start_matches('-')
        .split_once('.')
        .unwrap_or((s, "0"));
    let v = a.parse::<i64>().unwrap() * 100 + format!("{b:0<2}")[..2].parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

#[test]
fn the_demo_export_validates_and_carries_the_projectors_figures() {
    let (tmp, dir) = demo();
    let file = tmp.path().join("demo.xml");
    export(&dir, &["--out", file.to_str().unwrap()]);
    let (passed, report) = validate(&file);
    assert!(passed, "{report}");
    assert!(report.contains("11 activities, 0 errors"), "{report}");
    let xml = std::fs::read_to_string(&file).unwrap();
    // The figures: for every commitment in EUR, committed (type 2, after
    // changes and cancellations) and delivered (3 and 4) are the report's.
    let report: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["report", "commitments", "--format", "json"])).unwrap();
    let mut checked = 0;
    for row in report["tables"]["commitments"].as_array().unwrap() {
        let id = row["commitment"].as_str().unwrap().replace('/', "-");
        let acts = activities(&xml);
        let (_, currency, _, sums) = acts
            .iter()
            .find(|(i, ..)| i.ends_with(&id))
            .unwrap_or_else(|| panic!("no activity for {id}"));
        if currency != "EUR" {
            continue;
        }
        let delivered = sums.get("3").unwrap_or(&0) + sums.get("4").unwrap_or(&0);
        assert_eq!(
            sums["2"],
            cents(row["committed_eur"].as_str().unwrap()),
            "{id} committed"
        );
        assert_eq!(
            delivered,
            cents(row["delivered_eur"].as_str().unwrap()),
            "{id} delivered"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} EUR commitments checked");
    // The offer not committed is a pledge in pipeline; the cancelled
    // commitment is status 5; real identifiers are kept.
    let acts = activities(&xml);
    let pledge = acts
        .iter()
        .find(|a| a.0.ends_with("IT-MAECI-O-001"))
        .unwrap();
    assert_eq!(
        (pledge.2.as_str(), pledge.3.contains_key("12")),
        ("1", true)
    );
    assert_eq!(
        acts.iter()
            .find(|a| a.0.ends_with("FR-MEAE-C-001"))
            .unwrap()
            .2,
        "5"
    );
    assert!(acts.iter().any(|a| a.0 == "GB-GOV-1-GB-GOV-1-C-001"));
    assert!(acts.iter().any(|a| a.0 == "XM-DAC-7-XM-DAC-7-C-001"));
    assert!(xml.contains("receipt acknowledged by UA-SSSCIP"));
}

#[test]
fn a_reduction_is_a_negative_commitment_and_as_of_and_member_select() {
    let (tmp, dir) = demo();
    let key = dir.join("keys/PL-MSZ.key");
    cli(
        &dir,
        &[
            "amend",
            "--key",
            key.to_str().unwrap(),
            "--target",
            "PL-MSZ/C-001",
            "--value",
            "800000",
            "--tranche",
            "2025-06-30:60:800000",
            "--reason",
            "budget cut",
        ],
    );
    let file = tmp.path().join("pl.xml");
    export(
        &dir,
        &[
            "--member",
            "PL-MSZ",
            "--org-ref",
            "PL-MSZ=XM-DAC-76",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    let (passed, report) = validate(&file);
    assert!(passed, "{report}");
    let xml = std::fs::read_to_string(&file).unwrap();
    let acts = activities(&xml);
    assert_eq!(acts.len(), 1, "only PL-MSZ's activities: {acts:?}");
    assert_eq!(acts[0].0, "XM-DAC-76-PL-MSZ-C-001");
    assert!(
        xml.contains("<value currency=\"EUR\" value-date=\"2026-06-01\">-50000.00</value>"),
        "{xml}"
    );
    assert_eq!(acts[0].3["2"], 80_000_000);
    // As of a date before the amendment: no reduction yet.
    let before = export(&dir, &["--member", "PL-MSZ", "--as-of", "2025-12-31"]);
    assert!(!before.contains("-50000.00"));
    assert_eq!(activities(&before)[0].3["2"], 85_000_000);
    // Bad arguments: one line naming the option.
    for (args, needle) in [
        (
            vec!["export", "iati", "--member", "XX-NOBODY"],
            "--member XX-NOBODY",
        ),
        (vec!["export", "iati", "--org-ref", "PL-MSZ"], "--org-ref"),
        (
            vec!["export", "iati", "--org-ref", "PL-MSZ=A/B"],
            "--org-ref",
        ),
        (vec!["export", "iati", "--as-of", "2025-13-01"], "as-of"),
    ] {
        let mut c = tallinn();
        c.arg("--dir").arg(&dir).args(&args);
        common::assert_one_line(&common::fail(c), &[needle]);
    }
}

#[test]
fn hostile_free_text_stays_text() {
    let (tmp, dir) = demo();
    let key = dir.join("keys/SE-UD.key");
    // The ledger refuses control characters; markup and quotes are text.
    let hostile = "<b>&amp;\"x\"</b>]]>";
    cli(
        &dir,
        &[
            "offer",
            "--key",
            key.to_str().unwrap(),
            "--id",
            "O-HOSTILE",
            "--category",
            "training",
            "--modality",
            "goods",
            "--description",
            "d",
            "--quantity",
            "1",
            "--unit",
            hostile,
            "--value",
            "10",
            "--on-behalf-of",
            hostile,
            "--contributor-kind",
            "company",
            "--contributor-country",
            "SE",
        ],
    );
    let file = tmp.path().join("hostile.xml");
    export(&dir, &["--out", file.to_str().unwrap()]);
    let (passed, report) = validate(&file);
    assert!(passed, "{report}");
    let xml = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("narrative"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        names.contains(&hostile),
        "the contributor's name, as text: {names:?}"
    );
}

/// Each check of the validator fails on a document broken for it.
#[test]
fn every_check_fails_on_a_document_broken_for_it() {
    let (tmp, dir) = demo();
    let good = export(&dir, &[]);
    let cases: [(&str, &str, &str, &str); 10] = [
        ("xsd", "<iati-identifier>", "<iati-identifierx>", "xsd"),
        (
            "codelist",
            "<activity-status code=\"2\"/>",
            "<activity-status code=\"9\"/>",
            "codelist: //iati-activity/activity-status/@code = '9'",
        ),
        (
            "prefix",
            "<iati-identifier>XI-TALLINN-EE-MFA-",
            "<iati-identifier>XI-OTHER-EE-MFA-",
            "rule 1.1.21",
        ),
        (
            "space",
            "<iati-identifier>XI-TALLINN-EE-MFA-EE-MFA-C-001",
            "<iati-identifier>XI-TALLINN-EE-MFA-EE MFA-C-001",
            "rule 1.3.1",
        ),
        (
            "slash",
            "<iati-identifier>XI-TALLINN-EE-MFA-EE-MFA-C-001",
            "<iati-identifier>XI-TALLINN-EE-MFA-EE/MFA-C-001",
            "rule 1.3.13",
        ),
        (
            "future",
            "<transaction-date iso-date=\"2025-01-16\"/>",
            "<transaction-date iso-date=\"2099-01-16\"/>",
            "rule 11.2 date_order",
        ),
        (
            "dac sum",
            "<sector vocabulary=\"1\" code=\"22040\" percentage=\"100\"/>",
            "<sector vocabulary=\"1\" code=\"22040\" percentage=\"60\"/>",
            "rule 2.1.2",
        ),
        (
            "country sum",
            "<recipient-country code=\"UA\" percentage=\"100\"/>",
            "<recipient-country code=\"UA\" percentage=\"40\"/>",
            "rule 3.1.4",
        ),
        (
            "both levels",
            "<transaction-type code=\"2\"/>",
            "<transaction-type code=\"2\"/><sector vocabulary=\"1\" code=\"22040\"/>",
            "rule 6.6.2",
        ),
        ("org", "", "", "rule atleast_one"),
    ];
    for (name, from, to, needle) in cases {
        assert!(
            good.contains(from),
            "{name}: the demo export has no {from:?}"
        );
        let broken = if name == "org" {
            // An extending organisation with neither a ref nor a narrative.
            let start = good.find("<participating-org role=\"3\"").unwrap();
            let end = start + good[start..].find("</participating-org>").unwrap();
            format!(
                "{}<participating-org role=\"3\" type=\"10\">\n  {}",
                &good[..start],
                &good[end..]
            )
        } else {
            good.replacen(from, to, 1)
        };
        let file = tmp.path().join(format!("{}.xml", name.replace(' ', "-")));
        std::fs::write(&file, &broken).unwrap();
        let (passed, report) = validate(&file);
        assert!(!passed, "{name}: the broken document passed: {report}");
        assert!(
            report.contains(needle),
            "{name}: expected {needle:?} in: {report}"
        );
    }
}

#[test]
fn a_100k_event_ledger_exports_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&dir)
        .args(["demo", "--events", "100000", "--seed", "11"]);
    ok(c);
    let file = tmp.path().join("big.xml");
    export(&dir, &["--out", file.to_str().unwrap()]);
    let (passed, report) = validate(&file);
    assert!(passed, "{}", &report[..report.len().min(4000)]);
    let acts = activities(&std::fs::read_to_string(&file).unwrap());
    let n: usize = report
        .split(" activities")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("a count");
    assert_eq!(acts.len(), n);
    assert!(n > 1000, "{n} activities");
}
