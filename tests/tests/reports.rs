//! The report output through the real binary: the six analyst views on a
//! small ledger against figures computed by hand; every CSV of every view
//! loads as one rectangular table in Python's `csv` with no live formula;
//! XLSX workbooks read back (calamine) with typed cells equal to the JSON
//! document's values; the JSON document carries its metadata.
//!
//! The ledger (EUR; `tallinn publish` under a simulated clock):
//!
//! | who | what |
//! |---|---|
//! | UA-SSSCIP | need N-1: 100 laptops, 150,000, hardware, high |
//! | UA-MINDIGITAL | need N-2: 20 courses, 40,000, training, medium, DAC 15110 |
//! | EE-MFA | offer O-1: 100 laptops, 150,000, goods, for `=HYPERLINK(...)` (a company, EE) |
//! | DE-AA | offer O-2: 20 courses, 40,000, training, DAC 15110, for `+Cyber NGO, "Kyiv"` (an NGO, DE) |
//! | EE-MFA | commitment C-1 from O-1 to UA-SSSCIP: 100 laptops, 100,000 |
//! | DE-AA | commitment C-2 from O-2 to UA-MINDIGITAL: 20 courses, 40,000 |
//! | EE-MFA | delivery D-1 on C-1: 50 laptops, 50,000 |
//! | UA-SSSCIP | receipt R-1 of D-1: 40 accepted (EUR 40,000 pro rata) |
//! | EE-MFA | amends C-1's description, reason `@SUM(1,2)` and a second line |

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use common::{publish_at, Fixture, DE, EE, UA, UA2};
use ledger::body::{
    Body, ChangeFields, Commitment, Contributor, Delivery, Modality, Need, Offer, Priority, Receipt,
};
use ledger::category::Category;
use ledger::ids::ItemId;
use ledger::member::MemberKind;
use ledger::money::{Money, Quantity};
use projector::views::View;
use serde_json::Value;

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
const NGO: &str = "+Cyber NGO, \"Kyiv\"";
const REASON: &str = "@SUM(1,2)\nsecond line";

fn item(s: &str) -> ItemId {
    s.parse().unwrap()
}

fn eur(euros: u64) -> Money {
    Money {
        amount_minor: euros * 100,
        currency: "EUR".into(),
        eur_minor: euros * 100,
    }
}

fn qty(n: u64, unit: &str) -> Quantity {
    Quantity {
        amount: n,
        unit: unit.into(),
    }
}

fn need(id: &str, recipient: &str, cat: Category, q: Quantity, euros: u64) -> Need {
    Need {
        need: item(id),
        recipient: recipient.parse().unwrap(),
        category: cat,
        dac_sector: None,
        description: "What is needed".into(),
        quantity: q,
        estimated_value: eur(euros),
        priority: Priority::High,
        needed_by: None,
    }
}

fn offer(id: &str, cat: Category, q: Quantity, euros: u64, answers: &str) -> Offer {
    Offer {
        offer: item(id),
        on_behalf_of: None,
        category: cat,
        dac_sector: None,
        modality: Modality::Goods,
        description: "What is offered".into(),
        quantity: q,
        value: eur(euros),
        valid_until: None,
        answers: vec![item(answers)],
    }
}

fn commitment(
    id: &str,
    offer: &str,
    need: &str,
    to: &str,
    cat: Category,
    q: Quantity,
    euros: u64,
) -> Commitment {
    Commitment {
        commitment: item(id),
        offer: Some(item(offer)),
        needs: vec![item(need)],
        recipient: to.parse().unwrap(),
        category: cat,
        description: "What is committed".into(),
        quantity: q,
        value: eur(euros),
        tranches: vec![],
    }
}

/// The ledger of the module's table.
fn ledger() -> Fixture {
    let fx = Fixture::new();
    let laptops = |n| qty(n, "laptops");
    let courses = |n| qty(n, "courses");
    let n1 = need(
        "UA-SSSCIP/N-1",
        UA,
        Category::Hardware,
        laptops(100),
        150_000,
    );
    let mut n2 = need(
        "UA-MINDIGITAL/N-2",
        UA2,
        Category::Training,
        courses(20),
        40_000,
    );
    n2.priority = Priority::Medium;
    n2.dac_sector = Some(15110);
    publish_at(
        &fx,
        "2026-02-01T09:00:00Z",
        UA,
        "n1.jsonl",
        &[Body::NeedStated(n1)],
    );
    publish_at(
        &fx,
        "2026-02-01T10:00:00Z",
        UA2,
        "n2.jsonl",
        &[Body::NeedStated(n2)],
    );
    let mut o1 = offer(
        "EE-MFA/O-1",
        Category::Hardware,
        laptops(100),
        150_000,
        "UA-SSSCIP/N-1",
    );
    o1.on_behalf_of = Some(Contributor {
        name: FORMULA.into(),
        kind: MemberKind::Company,
        country: "EE".into(),
    });
    let c1 = commitment(
        "EE-MFA/C-1",
        "EE-MFA/O-1",
        "UA-SSSCIP/N-1",
        UA,
        Category::Hardware,
        laptops(100),
        100_000,
    );
    publish_at(
        &fx,
        "2026-02-10T09:00:00Z",
        EE,
        "ee.jsonl",
        &[Body::OfferMade(o1), Body::CommitmentMade(c1)],
    );
    let mut o2 = offer(
        "DE-AA/O-2",
        Category::Training,
        courses(20),
        40_000,
        "UA-MINDIGITAL/N-2",
    );
    o2.modality = Modality::Training;
    o2.dac_sector = Some(15110);
    o2.on_behalf_of = Some(Contributor {
        name: NGO.into(),
        kind: MemberKind::Ngo,
        country: "DE".into(),
    });
    let c2 = commitment(
        "DE-AA/C-2",
        "DE-AA/O-2",
        "UA-MINDIGITAL/N-2",
        UA2,
        Category::Training,
        courses(20),
        40_000,
    );
    publish_at(
        &fx,
        "2026-02-11T09:00:00Z",
        DE,
        "de.jsonl",
        &[Body::OfferMade(o2), Body::CommitmentMade(c2)],
    );
    let d1 = Delivery {
        delivery: item("EE-MFA/D-1"),
        commitment: item("EE-MFA/C-1"),
        quantity: 50,
        value: eur(50_000),
        delivered_on: "2026-03-01".parse().unwrap(),
        evidence: None,
    };
    let amend = Body::Amended(ledger::body::Change {
        target: item("EE-MFA/C-1"),
        fields: ChangeFields {
            description: Some("-2 laptops per region".into()),
            ..ChangeFields::default()
        },
        reason: REASON.into(),
    });
    publish_at(
        &fx,
        "2026-03-01T09:00:00Z",
        EE,
        "d1.jsonl",
        &[Body::DeliveryRecorded(d1), amend],
    );
    let r1 = Receipt {
        receipt: item("UA-SSSCIP/R-1"),
        delivery: item("EE-MFA/D-1"),
        quantity_accepted: 40,
        received_on: "2026-03-02".parse().unwrap(),
        discrepancy: Some("=1+1 ten were damaged".into()),
    };
    publish_at(
        &fx,
        "2026-03-02T09:00:00Z",
        UA,
        "r1.jsonl",
        &[Body::ReceiptAcknowledged(r1)],
    );
    fx
}

/// `report VIEW --format json` (plus `extra`), parsed.
fn document(fx: &Fixture, view: &str, extra: &[&str]) -> Value {
    let mut args = vec!["report", view, "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&fx.ok(&args)).unwrap()
}

/// The rows of the view's table `view`, then its totals, each keeping only `keys`.
fn figures(doc: &Value, view: &str, keys: &[&str]) -> Vec<Vec<Value>> {
    let pick = |r: &Value| keys.iter().map(|k| r[*k].clone()).collect::<Vec<_>>();
    let mut out: Vec<Vec<Value>> = doc["tables"][view]
        .as_array()
        .unwrap_or_else(|| panic!("no table {view}: {doc}"))
        .iter()
        .map(pick)
        .collect();
    out.push(pick(&doc["totals"][view]));
    out
}

/// JSON values from a compact literal list: numbers, `null`, strings.
macro_rules! row {
    ($($v:tt),* $(,)?) => { vec![$(serde_json::json!($v)),*] };
}

const TOTALS: [&str; 12] = [
    "offers",
    "offered_eur",
    "pledge_only_offers",
    "pledge_only_eur",
    "commitments",
    "committed_eur",
    "deliveries",
    "delivered_eur",
    "acknowledged",
    "acknowledged_eur",
    "delivery_ratio",
    "acknowledged_ratio",
];

fn keys(first: &[&'static str]) -> Vec<&'static str> {
    first.iter().chain(TOTALS.iter()).copied().collect()
}

fn with(head: Vec<Value>, tail: &[Value]) -> Vec<Value> {
    head.into_iter().chain(tail.iter().cloned()).collect()
}

#[test]
fn the_six_analyst_views_are_the_hand_computed_figures() {
    let fx = ledger();
    // EE: O-1 150,000 offered and committed as C-1 (100,000); D-1 50,000
    // delivered; R-1 accepted 40 of 50: 40,000. DE: O-2 40,000 offered and
    // committed as C-2; nothing delivered.
    let ee = row![
        1,
        "150000.00",
        0,
        "0.00",
        1,
        "100000.00",
        1,
        "50000.00",
        1,
        "40000.00",
        0.5,
        0.8
    ];
    let de = row![1, "40000.00", 0, "0.00", 1, "40000.00", 0, "0.00", 0, "0.00", 0.0, null];
    let all = row![
        2,
        "190000.00",
        0,
        "0.00",
        2,
        "140000.00",
        1,
        "50000.00",
        1,
        "40000.00",
        0.3571,
        0.8
    ];

    let doc = document(&fx, "countries", &[]);
    assert_eq!(
        figures(&doc, "countries", &keys(&["country", "donors"])),
        [
            with(row!["DE", 1], &de),
            with(row!["EE", 1], &ee),
            with(row![null, 2], &all)
        ]
    );
    let doc = document(&fx, "modalities", &[]);
    assert_eq!(
        figures(&doc, "modalities", &keys(&["modality"])),
        [
            with(row!["goods"], &ee),
            with(row!["training"], &de),
            with(row![null], &all)
        ]
    );
    // O-1, C-1 and N-1 have no code: hardware's 22040. O-2 has its own 15110.
    let doc = document(&fx, "sectors", &[]);
    assert_eq!(
        figures(&doc, "sectors", &keys(&["dac_sector", "sector_name"])),
        [
            with(
                row![15110, "Public sector policy and administrative management"],
                &de
            ),
            with(
                row![22040, "Information and communication technology (ICT)"],
                &ee
            ),
            with(row![null, null], &all)
        ]
    );
    let doc = document(&fx, "contributors", &[]);
    assert_eq!(
        figures(
            &doc,
            "contributors",
            &keys(&["contributor", "kind", "country", "donor"])
        ),
        [
            with(row![NGO, "ngo", "DE", DE], &de),
            with(row![FORMULA, "company", "EE", EE], &ee),
            with(row![null, null, null, null], &all)
        ]
    );
    let doc = document(&fx, "flows", &[]);
    let flow_keys = [
        "donor",
        "recipient",
        "commitments",
        "committed_eur",
        "deliveries",
        "delivered_eur",
        "acknowledged_eur",
        "outstanding_eur",
        "delivery_ratio",
        "committed_eur_cents",
    ];
    assert_eq!(
        figures(&doc, "flows", &flow_keys),
        [
            row![DE, UA2, 1, "40000.00", 0, "0.00", "0.00", "40000.00", 0.0, 4_000_000],
            row![
                EE,
                UA,
                1,
                "100000.00",
                1,
                "50000.00",
                "40000.00",
                "50000.00",
                0.5,
                10_000_000
            ],
            row![
                null,
                null,
                2,
                "140000.00",
                1,
                "50000.00",
                "40000.00",
                "90000.00",
                0.3571,
                14_000_000
            ],
        ]
    );
    // N-1 (hardware, high): 150,000 needed and offered, C-1 covers 100,000,
    // 50,000 delivered. N-2 (training, medium): 40,000 needed, offered and
    // committed, nothing delivered.
    let doc = document(&fx, "coverage", &[]);
    let cov_keys = [
        "category",
        "priority",
        "needs",
        "needed_eur",
        "offered_eur",
        "committed_eur",
        "delivered_eur",
        "covered_eur",
        "covered_ratio",
    ];
    assert_eq!(
        figures(&doc, "coverage", &cov_keys),
        [
            row![
                "hardware",
                "high",
                1,
                "150000.00",
                "150000.00",
                "100000.00",
                "50000.00",
                "100000.00",
                0.6667
            ],
            row![
                "training", "medium", 1, "40000.00", "40000.00", "40000.00", "0.00", "40000.00",
                1.0
            ],
            row![
                null,
                null,
                2,
                "190000.00",
                "190000.00",
                "140000.00",
                "50000.00",
                "140000.00",
                0.7368
            ],
        ]
    );
    // As of 2026-02-28 D-1 was not delivered yet.
    let then = document(&fx, "coverage", &["--as-of", "2026-02-28"]);
    assert_eq!(then["as_of"], "2026-02-28");
    assert_eq!(
        then["today"], "2026-02-28",
        "a report as of a date is judged on it"
    );
    assert_eq!(then["tables"]["coverage"][0]["delivered_eur"], "0.00");
}

#[test]
fn the_json_document_ties_the_figures_to_the_ledger_state() {
    let fx = ledger();
    let digest = fx.ok(["digest"]).trim().to_string();
    let doc = document(&fx, "commitments", &["--today", "2026-06-30"]);
    assert_eq!(doc["view"], "commitments");
    assert_eq!(doc["as_of"], Value::Null);
    assert_eq!(doc["today"], "2026-06-30");
    assert_eq!(doc["position"], 10, "genesis and nine events");
    assert_eq!(doc["digest"], digest.as_str());
    assert!(doc["generated_at"].as_str().unwrap().ends_with('Z'));
    // Typed values: no next tranche is null, not "-"; cents beside the decimal.
    let c2 = &doc["tables"]["commitments"][0];
    assert_eq!(c2["commitment"], "DE-AA/C-2");
    assert_eq!(c2["next_tranche"], Value::Null);
    assert_eq!(c2["committed_eur_cents"], 4_000_000);
    // The report date comes from the clock (the fixture's simulated one),
    // not from the latest event (2026-03-02).
    let doc = document(&fx, "commitments", &[]);
    assert_eq!(doc["today"], &common::NOW[..10]);
    // The integrity view's booleans are booleans.
    let doc = document(&fx, "integrity", &[]);
    assert!(doc["tables"]["rejected"].as_array().unwrap().is_empty());
    assert_eq!(doc["tables"]["chain_heads"].as_array().unwrap().len(), 5);
}

/// What the Python check found in one CSV file.
#[derive(Debug)]
struct CsvFile {
    header: Vec<String>,
    widths: Vec<usize>,
    records: usize,
    formulas: Vec<String>,
    cells: Vec<Vec<String>>,
}

/// Every CSV file in `dir` through Python's `csv` module: its header, each
/// record's field count, and every cell starting with a formula character
/// that is not a plain number.
fn python_csv(dir: &Path) -> BTreeMap<String, CsvFile> {
    let script = r#"
import csv, json, os, re, sys
out = {}
number = re.compile(r'^-?[0-9]+(\.[0-9]+)?$')
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f, strict=True))
    formulas = [c for r in rows for c in r
                if c[:1] in ('=', '+', '-', '@', '\t', '\r') and not number.match(c)]
    out[name] = {'header': rows[0], 'widths': [len(r) for r in rows], 'records': len(rows),
                 'formulas': formulas, 'cells': rows}
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    all.into_iter()
        .map(|(name, f)| {
            let file = CsvFile {
                header: strings(&f["header"]),
                widths: f["widths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_u64().unwrap() as usize)
                    .collect(),
                records: f["records"].as_u64().unwrap() as usize,
                formulas: strings(&f["formulas"]),
                cells: f["cells"].as_array().unwrap().iter().map(strings).collect(),
            };
            (name, file)
        })
        .collect()
}

/// Every table of every view as CSV files (`--out-dir`, with totals and the
/// HXL row), checked by Python.
fn every_csv(dir: &Path, out: &Path) -> BTreeMap<String, CsvFile> {
    for v in View::ALL {
        let mut c = common::tallinn();
        c.arg("--dir")
            .arg(dir)
            .args([
                "report",
                v.name(),
                "--format",
                "csv",
                "--totals",
                "--hxl",
                "--out-dir",
            ])
            .arg(out);
        common::ok(c);
    }
    python_csv(out)
}

#[test]
fn every_csv_of_every_view_is_one_rectangular_table_without_a_live_formula() {
    let fx = ledger();
    let (_tmp, demo) = common::node::demo();
    for (what, dir) in [("ledger", fx.data.clone()), ("demo", demo)] {
        let out = fx.path(&format!("csv-{what}"));
        let files = every_csv(&dir, &out);
        let mut tables = 0;
        for v in View::ALL {
            let mut c = common::tallinn();
            c.arg("--dir")
                .arg(&dir)
                .args(["report", v.name(), "--format", "json"]);
            let doc: Value = serde_json::from_str(&common::ok(c)).unwrap();
            for (t, rows) in doc["tables"].as_object().unwrap() {
                tables += 1;
                let name = format!("{}-{t}.csv", v.name());
                let f = files
                    .get(&name)
                    .unwrap_or_else(|| panic!("{what}: no {name}"));
                // The header is the JSON row's keys without the `_cents` twins.
                let keys: Vec<String> = match rows.as_array().unwrap().first() {
                    Some(r) => r
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|k| !k.ends_with("_cents"))
                        .cloned()
                        .collect(),
                    None => f.header.clone(),
                };
                let mut header = f.header.clone();
                header.sort();
                let mut keys = keys;
                keys.sort();
                assert_eq!(header, keys, "{what} {name}: header");
                assert!(
                    f.widths.iter().all(|w| *w == f.header.len()),
                    "{what} {name}: ragged {:?}",
                    f.widths
                );
                let totals = usize::from(doc["totals"].get(t).is_some());
                assert_eq!(
                    f.records,
                    2 + rows.as_array().unwrap().len() + totals,
                    "{what} {name}: header, HXL, rows, totals"
                );
                assert!(
                    f.cells[1].iter().all(|c| c.starts_with('#')),
                    "{what} {name}: HXL row {:?}",
                    f.cells[1]
                );
                if totals == 1 {
                    assert_eq!(f.cells.last().unwrap()[0], "TOTAL", "{what} {name}");
                }
                assert!(
                    f.formulas.is_empty(),
                    "{what} {name}: live formulas {:?}",
                    f.formulas
                );
            }
        }
        assert_eq!(tables, files.len(), "{what}: one file per table, no other");
    }
    // The hostile texts: neutralised with a leading quote, whole otherwise;
    // the reason's newline kept inside one quoted field.
    let files = python_csv(&fx.path("csv-ledger"));
    let cells =
        |name: &str| -> Vec<String> { files[name].cells.iter().flatten().cloned().collect() };
    let contributors = cells("contributors-contributors.csv");
    assert!(
        contributors.contains(&format!("'{FORMULA}")),
        "{contributors:?}"
    );
    assert!(
        contributors.contains(&format!("'{NGO}")),
        "{contributors:?}"
    );
    let changes = cells("changes-changes.csv");
    assert!(changes.contains(&format!("'{REASON}")), "{changes:?}");
    // Numbers stay numbers: the amendment's position, the amounts.
    let donors = &files["donors-donors.csv"].cells;
    assert_eq!(donors[2][0], DE);
    assert!(
        donors[2].contains(&"40000.00".to_string()),
        "{:?}",
        donors[2]
    );
}

#[test]
fn csv_refuses_what_it_cannot_write_as_one_table() {
    let fx = ledger();
    let err = fx.fail(["report", "months", "--format", "csv"]);
    common::assert_one_line(&err, &["--table", "months_total"]);
    let err = fx.fail(["report", "months", "--format", "csv", "--table", "nope"]);
    common::assert_one_line(&err, &["--table", "nope", "months_total"]);
    let err = fx.fail(["report", "donors", "--format", "xlsx"]);
    common::assert_one_line(&err, &["--out"]);
    let out = fx.ok([
        "report",
        "months",
        "--format",
        "csv",
        "--table",
        "months_total",
    ]);
    assert!(out.starts_with("month,committed_eur,"), "{out}");
    assert!(out.contains("\r\n"), "RFC 4180 line ends");
    assert!(!out.contains("TOTAL"), "totals only when asked");
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Asserts an XLSX cell holds the JSON value of the same cell, typed.
fn assert_cell(got: &Data, key: &str, want: &Value, cents: Option<&Value>, at: &str) {
    match (want, cents) {
        (Value::Null, _) => assert_eq!(got, &Data::Empty, "{at}: {key} empty"),
        (Value::String(_), Some(c)) => {
            let euros = c.as_u64().unwrap() as f64 / 100.0;
            assert_eq!(got, &Data::Float(euros), "{at}: {key} EUR as a number");
        }
        (Value::String(s), None)
            if key.ends_with("_on")
                || key == "due"
                || key == "next_tranche"
                || key == "recorded_at" =>
        {
            let Data::DateTime(dt) = got else {
                panic!("{at}: {key} {got:?} is not a date")
            };
            let (y, m, d) = (
                s[..4].parse().unwrap(),
                s[5..7].parse().unwrap(),
                s[8..10].parse().unwrap(),
            );
            assert_eq!(
                dt.as_f64(),
                (days_from_civil(y, m, d) + 25_569) as f64,
                "{at}: {key} {s}"
            );
        }
        (Value::String(s), None) => assert_eq!(got, &Data::String(s.clone()), "{at}: {key} text"),
        (Value::Number(n), None) => {
            let v = match got {
                Data::Float(f) => *f,
                Data::Int(i) => *i as f64,
                other => panic!("{at}: {key} {other:?} is not a number"),
            };
            assert!(
                (v - n.as_f64().unwrap()).abs() < 1e-4,
                "{at}: {key} {v} vs {n}"
            );
        }
        (Value::Bool(b), None) => assert_eq!(got, &Data::Bool(*b), "{at}: {key} boolean"),
        other => panic!("{at}: {key}: unexpected {other:?}"),
    }
}

#[test]
fn xlsx_workbooks_read_back_with_the_json_values_typed() {
    let fx = ledger();
    for v in View::ALL {
        let doc = document(&fx, v.name(), &["--today", "2026-06-30"]);
        let file = fx.path(&format!("{}.xlsx", v.name()));
        fx.ok([
            "report",
            v.name(),
            "--format",
            "xlsx",
            "--totals",
            "--today",
            "2026-06-30",
            "--out",
            file.to_str().unwrap(),
        ]);
        let mut wb: Xlsx<_> = open_workbook(&file).unwrap_or_else(|e| panic!("{}: {e}", v.name()));
        let tables = doc["tables"].as_object().unwrap();
        let mut names: Vec<String> = tables.keys().cloned().collect();
        names.push("about".into());
        let mut sheets = wb.sheet_names().to_vec();
        sheets.sort();
        names.sort();
        assert_eq!(sheets, names, "{}: a sheet per table and about", v.name());
        for (t, rows) in tables {
            let range = wb.worksheet_range(t).unwrap();
            let grid: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
            let rows = rows.as_array().unwrap();
            let totals = usize::from(doc["totals"].get(t).is_some());
            assert_eq!(
                grid.len(),
                1 + rows.len() + totals,
                "{}/{t}: header, rows, totals",
                v.name()
            );
            let header: Vec<String> = grid[0].iter().map(|c| c.to_string()).collect();
            for (i, r) in rows.iter().enumerate() {
                for (j, key) in header.iter().enumerate() {
                    let cell = grid[i + 1].get(j).cloned().unwrap_or(Data::Empty);
                    let at = format!("{}/{t} row {i}", v.name());
                    assert_cell(&cell, key, &r[key], r.get(format!("{key}_cents")), &at);
                }
            }
            if totals == 1 {
                assert_eq!(
                    grid.last().unwrap()[0],
                    Data::String("TOTAL".into()),
                    "{}/{t}",
                    v.name()
                );
            }
            // Text is never a formula, hostile text included.
            let formulas = wb.worksheet_formula(t).unwrap();
            assert!(
                formulas.used_cells().all(|(_, _, f)| f.is_empty()),
                "{}/{t} has a formula",
                v.name()
            );
        }
        let about = wb.worksheet_range("about").unwrap();
        let meta: BTreeMap<String, Data> = about
            .rows()
            .map(|r| (r[0].to_string(), r[1].clone()))
            .collect();
        assert_eq!(meta["view"], Data::String(v.name().into()));
        assert_eq!(
            meta["digest"],
            Data::String(doc["digest"].as_str().unwrap().into())
        );
        assert_eq!(meta["position"], Data::Float(10.0));
        assert_eq!(meta["today"], Data::String("2026-06-30".into()));
    }
}

#[test]
fn as_of_builds_its_state_in_the_work_dir_and_leaves_nothing() {
    let fx = ledger();
    let work = tempfile::tempdir().unwrap();
    let w = work.path().to_str().unwrap();
    for view in ["donors", "coverage"] {
        let plain = document(&fx, view, &["--as-of", "2026-02-28"]);
        let mut there = document(&fx, view, &["--as-of", "2026-02-28", "--work-dir", w]);
        let mut plain = plain;
        plain["generated_at"] = Value::Null;
        there["generated_at"] = Value::Null;
        assert_eq!(plain, there, "{view}: the same report wherever it is built");
        let left: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
        assert!(
            left.is_empty(),
            "{view}: the work dir is left empty: {left:?}"
        );
    }
    // As of 2026-02-28 EE had committed C-1 and delivered nothing yet.
    let then = document(&fx, "donors", &["--as-of", "2026-02-28"]);
    let ee = &then["tables"]["donors"][1];
    assert_eq!(ee["donor"], EE);
    assert_eq!(ee["committed_eur"], "100000.00");
    assert_eq!(ee["delivered_eur"], "0.00");
    // A work dir without --as-of is a usage error (exit 2), not ignored.
    let out = fx.run(["report", "donors", "--work-dir", w]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // An unusable work dir names the flag and writes no report.
    let file = work.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = fx.run([
        "report",
        "donors",
        "--as-of",
        "2026-02-28",
        "--work-dir",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--as-of"), "{err}");
    assert!(out.stdout.is_empty(), "no partial report");
}
