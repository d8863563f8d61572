//! Every report view checked against figures computed by hand for one small
//! scenario; `as of` a past date; rejected events and duplicate deliveries.
//!
//! The scenario (EUR; the clock starts 2024-03-01):
//!
//! | when       | who           | what                                                            |
//! |------------|---------------|-----------------------------------------------------------------|
//! | 2024-03-01 | UA-SSSCIP     | need N-1: 10 terminals, 10,000, high                            |
//! |            | UA-MINDIGITAL | need N-2: 20 courses, 40,000, training, medium                  |
//! |            | UA-SSSCIP     | need N-4: 3 terminals, 3,000, critical (never answered)         |
//! |            | EE-MFA        | offer O-1: 10 terminals, 10,000, answers N-1                    |
//! |            | EE-MFA        | offer O-2: 5 terminals, 6,000, answers N-1 (pledge only)        |
//! |            |               | (O-1 and O-2 on behalf of Skyline Satcom OU, a company, EE)     |
//! |            | DE-AA         | offer O-3: 20 courses, 40,000, training, answers N-2            |
//! |            |               | (modality training, its own DAC code 15110)                     |
//! | 2024-03-11 | EE-MFA        | commitment C-1 from O-1 to UA-SSSCIP, tranches 04-01 6, 06-01 4 |
//! |            | DE-AA         | commitment C-2 from O-3 to UA-MINDIGITAL, tranche 05-01 20      |
//! | 2024-03-31 | EE-MFA        | delivery D-1 on C-1: 6 terminals, 6,000, on 03-30               |
//! |            | UA-SSSCIP     | receipt R-1 of D-1: 5 accepted (one damaged), on 03-31          |
//! | 2024-04-15 | DE-AA         | delivery D-2 on C-2: 10 courses, 20,000, on 04-14               |
//! |            | (rejected)    | EE on DE's commitment; DE over-delivery; wrong recipient's      |
//! |            |               | receipt; a need "by UA-SSSCIP" signed with EE's key             |
//! | 2024-04-30 | UA-MINDIGITAL | need N-3 (5,000) stated, then cancelled                         |
//! |            | EE-MFA        | amends C-1's description                                        |

#[path = "../../ledger/tests/common/mod.rs"]
mod world;

use std::collections::BTreeMap;

use ledger::body::{Body, CancelScope, ChangeFields, Contributor, Modality, Priority, Tranche};
use ledger::calendar::Timestamp;
use ledger::category::Category;
use ledger::log::Entry;
use ledger::member::MemberKind;
use ledger::money::Quantity;
use ledger::state::State;
use projector::digest::digest_hex;
use projector::fold::{fold_entries, Filter};
use projector::model::Model;
use projector::views::{build, Cell, Params, View};
use world::*;

/// Whole euros as cents.
const fn k(euros: u64) -> u64 {
    euros * 100
}

fn courses(n: u64) -> Quantity {
    Quantity {
        amount: n,
        unit: "courses".into(),
    }
}

fn tr(expected: &str, quantity: u64, euros: u64) -> Tranche {
    tranche(date(expected), quantity, k(euros))
}

/// The scenario, with the log length after each phase.
struct Scenario {
    world: world::World,
    /// Entries up to and including R-1 (recorded 2024-03-31).
    before_april: usize,
    /// Entries up to and including D-2 (before the rejected events).
    before_rejected: usize,
    /// Entries up to and including the rejected events.
    after_rejected: usize,
}

fn scenario() -> Scenario {
    let mut w = World::new();
    // 2024-03-01
    w.accept(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N-1", SSSCIP, 10, k(10_000))),
    );
    let mut n2 = need("UA-MINDIGITAL/N-2", MINDIGITAL, 20, k(40_000));
    n2.category = Category::Training;
    n2.quantity = courses(20);
    n2.priority = Priority::Medium;
    w.accept(MINDIGITAL, Body::NeedStated(n2));
    let mut n4 = need("UA-SSSCIP/N-4", SSSCIP, 3, k(3_000));
    n4.priority = Priority::Critical;
    w.accept(SSSCIP, Body::NeedStated(n4));
    let skyline = || {
        Some(Contributor {
            name: "Skyline Satcom OU".into(),
            kind: MemberKind::Company,
            country: "EE".into(),
        })
    };
    let mut o1 = offer("EE-MFA/O-1", 10, k(10_000), &["UA-SSSCIP/N-1"]);
    o1.on_behalf_of = skyline();
    w.accept(EE, Body::OfferMade(o1));
    let mut o2 = offer("EE-MFA/O-2", 5, k(6_000), &["UA-SSSCIP/N-1"]);
    o2.on_behalf_of = skyline();
    w.accept(EE, Body::OfferMade(o2));
    let mut o3 = offer("DE-AA/O-3", 20, k(40_000), &["UA-MINDIGITAL/N-2"]);
    o3.category = Category::Training;
    o3.quantity = courses(20);
    o3.modality = Modality::Training;
    o3.dac_sector = Some(15110);
    w.accept(DE, Body::OfferMade(o3));

    // 2024-03-11
    w.advance_days(10);
    let mut c1 = commitment(
        "EE-MFA/C-1",
        Some("EE-MFA/O-1"),
        &["UA-SSSCIP/N-1"],
        SSSCIP,
        10,
        k(10_000),
    );
    c1.tranches = vec![tr("2024-04-01", 6, 6_000), tr("2024-06-01", 4, 4_000)];
    w.accept(EE, Body::CommitmentMade(c1));
    let mut c2 = commitment(
        "DE-AA/C-2",
        Some("DE-AA/O-3"),
        &["UA-MINDIGITAL/N-2"],
        MINDIGITAL,
        20,
        k(40_000),
    );
    c2.category = Category::Training;
    c2.quantity = courses(20);
    c2.tranches = vec![tr("2024-05-01", 20, 40_000)];
    w.accept(DE, Body::CommitmentMade(c2));

    // 2024-03-31
    w.advance_days(20);
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery(
            "EE-MFA/D-1",
            "EE-MFA/C-1",
            6,
            k(6_000),
            date("2024-03-30"),
        )),
    );
    let mut r1 = receipt("UA-SSSCIP/R-1", "EE-MFA/D-1", 5, date("2024-03-31"));
    r1.discrepancy = Some("one terminal arrived damaged".into());
    w.accept(SSSCIP, Body::ReceiptAcknowledged(r1));
    let before_april = w.log.len();

    // 2024-04-15
    w.advance_days(15);
    w.accept(
        DE,
        Body::DeliveryRecorded(delivery(
            "DE-AA/D-2",
            "DE-AA/C-2",
            10,
            k(20_000),
            date("2024-04-14"),
        )),
    );
    let before_rejected = w.log.len();
    // A delivery on another donor's commitment.
    w.reject(
        EE,
        Body::DeliveryRecorded(delivery(
            "EE-MFA/D-9",
            "DE-AA/C-2",
            1,
            k(2_000),
            date("2024-04-14"),
        )),
    );
    // An over-delivery: 10 + 15 of 20.
    w.reject(
        DE,
        Body::DeliveryRecorded(delivery(
            "DE-AA/D-3",
            "DE-AA/C-2",
            15,
            k(30_000),
            date("2024-04-14"),
        )),
    );
    // A receipt by an institution that is not the commitment's recipient.
    w.reject(
        MINDIGITAL,
        Body::ReceiptAcknowledged(receipt(
            "UA-MINDIGITAL/R-9",
            "EE-MFA/D-1",
            6,
            date("2024-04-15"),
        )),
    );
    // A need in UA-SSSCIP's name signed with EE-MFA's key.
    let ee_key = w.signer(EE).clone();
    let forged = w.forge(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N-9", SSSCIP, 1_000, k(9_000_000))),
        &ee_key,
    );
    w.expect_rejected(&forged);
    let after_rejected = w.log.len();

    // 2024-04-30
    w.advance_days(15);
    w.accept(
        MINDIGITAL,
        Body::NeedStated(need("UA-MINDIGITAL/N-3", MINDIGITAL, 5, k(5_000))),
    );
    w.accept(MINDIGITAL, cancel("UA-MINDIGITAL/N-3", CancelScope::Whole));
    w.accept(
        EE,
        amend(
            "EE-MFA/C-1",
            ChangeFields {
                description: Some("Satellite terminals, second batch by air".into()),
                ..ChangeFields::default()
            },
        ),
    );
    Scenario {
        world: w,
        before_april,
        before_rejected,
        after_rejected,
    }
}

fn project(entries: &[Entry]) -> Model {
    let mut state = State::new();
    let mut model = Model::new();
    fold_entries(&mut state, &mut model, entries, Filter::All);
    model
}

fn params(today: &str) -> Params {
    Params {
        today: date(today),
        receipt_days: 30,
    }
}

/// A cell as the JSON/CSV output shows it: cents for EUR, ratios to 4 places.
fn show(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Eur(cents) => format!("{}.{:02}", cents / 100, cents % 100),
        Cell::Ratio(None) => "-".into(),
        Cell::Ratio(Some(r)) => format!("{r:.4}"),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Null => String::new(),
    }
}

/// The rows of one table of a view, each as `key -> shown value`, then its
/// totals if it has them, with `TOTAL` in the first column.
fn rows(model: &Model, view: View, title: &str, today: &str) -> Vec<BTreeMap<String, String>> {
    let tables = build(model, view, &params(today));
    let t = tables
        .iter()
        .find(|t| t.title == title)
        .unwrap_or_else(|| panic!("view {} has no table {title}", view.name()));
    let total = t.totals.clone().map(|mut r| {
        assert_eq!(r[0], Cell::Null, "a totals row has no key in {title}");
        r[0] = Cell::Text("TOTAL".into());
        r
    });
    t.rows
        .iter()
        .chain(total.as_ref())
        .map(|r| {
            assert_eq!(r.len(), t.columns.len(), "a cell per column in {title}");
            t.columns
                .iter()
                .zip(r)
                .map(|(c, v)| (c.key.to_string(), show(v)))
                .collect()
        })
        .collect()
}

/// Asserts a row has these `key = value` pairs.
#[track_caller]
fn has(row: &BTreeMap<String, String>, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        let got = row
            .get(*k)
            .unwrap_or_else(|| panic!("no column {k} in {row:?}"));
        assert_eq!(got, v, "column {k} of {row:?}");
    }
}

/// The value of `key` in each row.
fn column(rows: &[BTreeMap<String, String>], key: &str) -> Vec<String> {
    rows.iter().map(|r| r[key].clone()).collect()
}

#[test]
fn donors_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Donors, "donors", "2024-06-15");
    assert_eq!(column(&r, "donor"), ["DE-AA", "EE-MFA", "TOTAL"]);
    has(
        &r[0],
        &[
            ("offers", "1"),
            ("offered_eur", "40000.00"),
            ("pledge_only_offers", "0"),
            ("pledge_only_eur", "0.00"),
            ("commitments", "1"),
            ("committed_eur", "40000.00"),
            ("deliveries", "1"),
            ("delivered_eur", "20000.00"),
            ("acknowledged", "0"),
            ("acknowledged_eur", "0.00"),
            ("delivery_ratio", "0.5000"),
            ("acknowledged_ratio", "0.0000"),
        ],
    );
    // EE: O-2 is a pledge only; 5 of 6 terminals accepted = 6,000 x 5/6.
    has(
        &r[1],
        &[
            ("offers", "2"),
            ("offered_eur", "16000.00"),
            ("pledge_only_offers", "1"),
            ("pledge_only_eur", "6000.00"),
            ("commitments", "1"),
            ("committed_eur", "10000.00"),
            ("deliveries", "1"),
            ("delivered_eur", "6000.00"),
            ("acknowledged", "1"),
            ("acknowledged_eur", "5000.00"),
            ("delivery_ratio", "0.6000"),
            ("acknowledged_ratio", "0.8333"),
        ],
    );
    has(
        &r[2],
        &[
            ("offers", "3"),
            ("offered_eur", "56000.00"),
            ("pledge_only_offers", "1"),
            ("pledge_only_eur", "6000.00"),
            ("commitments", "2"),
            ("committed_eur", "50000.00"),
            ("deliveries", "2"),
            ("delivered_eur", "26000.00"),
            ("acknowledged", "1"),
            ("acknowledged_eur", "5000.00"),
            ("delivery_ratio", "0.5200"),
            ("acknowledged_ratio", "0.1923"),
        ],
    );
}

#[test]
fn categories_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Categories, "categories", "2024-06-15");
    assert_eq!(
        column(&r, "category"),
        ["satellite_communications", "training", "TOTAL"]
    );
    has(
        &r[2],
        &[
            ("offered_eur", "56000.00"),
            ("committed_eur", "50000.00"),
            ("delivered_eur", "26000.00"),
            ("acknowledged_eur", "5000.00"),
        ],
    );
    has(
        &r[0],
        &[
            ("offered_eur", "16000.00"),
            ("committed_eur", "10000.00"),
            ("delivered_eur", "6000.00"),
            ("acknowledged_eur", "5000.00"),
        ],
    );
    has(
        &r[1],
        &[
            ("offered_eur", "40000.00"),
            ("committed_eur", "40000.00"),
            ("delivered_eur", "20000.00"),
            ("acknowledged_eur", "0.00"),
        ],
    );
    let by = rows(&m, View::Categories, "categories_by_donor", "2024-06-15");
    let keys: Vec<(String, String)> = by
        .iter()
        .map(|r| (r["category"].clone(), r["donor"].clone()))
        .collect();
    assert_eq!(
        keys,
        [
            ("satellite_communications".into(), "EE-MFA".into()),
            ("training".into(), "DE-AA".into()),
            ("TOTAL".into(), "".into())
        ]
    );
    has(
        &by[1],
        &[("commitments", "1"), ("delivery_ratio", "0.5000")],
    );
}

#[test]
fn recipients_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Recipients, "recipients", "2024-06-15");
    assert_eq!(r.len(), 3, "two deliveries and the totals: {r:?}");
    has(
        &r[2],
        &[("recipient", "TOTAL"), ("eur", "26000.00"), ("donor", "")],
    );
    has(
        &r[0],
        &[
            ("recipient", "UA-MINDIGITAL"),
            ("donor", "DE-AA"),
            ("delivered_on", "2024-04-14"),
            ("category", "training"),
            ("quantity", "10"),
            ("unit", "courses"),
            ("eur", "20000.00"),
            ("received_on", ""),
            ("quantity_accepted", "0"),
            ("delivery", "DE-AA/D-2"),
            ("commitment", "DE-AA/C-2"),
        ],
    );
    has(
        &r[1],
        &[
            ("recipient", "UA-SSSCIP"),
            ("donor", "EE-MFA"),
            ("delivered_on", "2024-03-30"),
            ("quantity", "6"),
            ("eur", "6000.00"),
            ("received_on", "2024-03-31"),
            ("quantity_accepted", "5"),
        ],
    );
}

#[test]
fn months_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Months, "months", "2024-06-15");
    let got: Vec<[String; 6]> = r
        .iter()
        .map(|r| {
            [
                "month",
                "donor",
                "committed_eur",
                "delivered_eur",
                "cumulative_committed_eur",
                "cumulative_delivered_eur",
            ]
            .map(|k| r[k].clone())
        })
        .collect();
    let want = [
        ["2024-03", "DE-AA", "40000.00", "0.00", "40000.00", "0.00"],
        [
            "2024-03", "EE-MFA", "10000.00", "6000.00", "10000.00", "6000.00",
        ],
        [
            "2024-04", "DE-AA", "0.00", "20000.00", "40000.00", "20000.00",
        ],
        ["TOTAL", "", "50000.00", "26000.00", "", ""],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(got, want);
    let r = rows(&m, View::Months, "months_total", "2024-06-15");
    let got: Vec<[String; 5]> = r
        .iter()
        .map(|r| {
            [
                "month",
                "committed_eur",
                "delivered_eur",
                "cumulative_committed_eur",
                "cumulative_delivered_eur",
            ]
            .map(|k| r[k].clone())
        })
        .collect();
    let want = [
        ["2024-03", "50000.00", "6000.00", "50000.00", "6000.00"],
        ["2024-04", "0.00", "20000.00", "50000.00", "26000.00"],
        ["TOTAL", "50000.00", "26000.00", "", ""],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(got, want);
}

#[test]
fn needs_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Needs, "needs", "2024-06-15");
    // Uncovered first (critical before medium), then by priority.
    assert_eq!(
        column(&r, "need"),
        [
            "UA-SSSCIP/N-4",
            "UA-MINDIGITAL/N-3",
            "UA-SSSCIP/N-1",
            "UA-MINDIGITAL/N-2"
        ]
    );
    has(
        &r[0],
        &[
            ("stated_eur", "3000.00"),
            ("offered_eur", "0.00"),
            ("committed_eur", "0.00"),
            ("covered_ratio", "0.0000"),
            ("status", "uncovered"),
            ("priority", "critical"),
        ],
    );
    has(&r[1], &[("stated_eur", "5000.00"), ("status", "withdrawn")]);
    // N-1: O-1 and O-2 both answer it; only C-1 commits.
    has(
        &r[2],
        &[
            ("stated_eur", "10000.00"),
            ("offered_eur", "16000.00"),
            ("committed_eur", "10000.00"),
            ("delivered_eur", "6000.00"),
            ("covered_ratio", "1.0000"),
            ("status", "covered"),
        ],
    );
    has(
        &r[3],
        &[
            ("stated_eur", "40000.00"),
            ("offered_eur", "40000.00"),
            ("committed_eur", "40000.00"),
            ("delivered_eur", "20000.00"),
            ("category", "training"),
        ],
    );
}

#[test]
fn commitments_view_on_two_dates() {
    let s = scenario();
    let m = project(&s.world.log);
    // Mid-April: C-1's first tranche is covered, C-2's is not due yet.
    let r = rows(&m, View::Commitments, "commitments", "2024-04-20");
    assert_eq!(
        column(&r, "commitment"),
        ["DE-AA/C-2", "EE-MFA/C-1", "TOTAL"]
    );
    has(
        &r[0],
        &[
            ("committed_eur", "40000.00"),
            ("delivered_eur", "20000.00"),
            ("outstanding_eur", "20000.00"),
            ("status", "partially delivered"),
            ("next_tranche", "2024-05-01"),
        ],
    );
    has(
        &r[1],
        &[
            ("outstanding_eur", "4000.00"),
            ("status", "partially delivered"),
            ("next_tranche", "2024-06-01"),
        ],
    );
    // Mid-June both have a tranche past due.
    let r = rows(&m, View::Commitments, "commitments", "2024-06-15");
    assert_eq!(column(&r, "status"), ["overdue", "overdue", ""]);
}

#[test]
fn overdue_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Overdue, "overdue", "2024-06-15");
    let got: Vec<[String; 5]> = r
        .iter()
        .map(|r| ["kind", "item", "due", "days_overdue", "eur"].map(|k| r[k].clone()))
        .collect();
    // C-2: 10 of 20 courses short since 05-01 = 40,000 x 10/20; D-2 unacknowledged
    // 30 days after 04-14; C-1: 4 of 10 terminals short since 06-01.
    let want = [
        ["tranche", "DE-AA/C-2", "2024-05-01", "45", "20000.00"],
        ["receipt", "DE-AA/D-2", "2024-05-14", "32", "20000.00"],
        ["tranche", "EE-MFA/C-1", "2024-06-01", "14", "4000.00"],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(got, want);
    // On 2024-04-20 nothing is overdue yet.
    assert!(rows(&m, View::Overdue, "overdue", "2024-04-20").is_empty());
}

#[test]
fn pipeline_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Pipeline, "pipeline", "2024-06-15");
    let got: Vec<[String; 3]> = r
        .iter()
        .map(|r| ["stage", "count", "eur"].map(|k| r[k].clone()))
        .collect();
    let want = [
        ["need", "3", "53000.00"],
        ["offer", "3", "56000.00"],
        ["commitment", "2", "50000.00"],
        ["delivery", "2", "26000.00"],
        ["receipt", "1", "5000.00"],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(got, want);
}

#[test]
fn changes_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let r = rows(&m, View::Changes, "changes", "2024-06-15");
    assert_eq!(r.len(), 2, "{r:?}");
    has(
        &r[0],
        &[
            ("kind", "cancelled"),
            ("target", "UA-MINDIGITAL/N-3"),
            ("producer", "UA-MINDIGITAL"),
            ("reason", "no longer needed"),
            ("recorded_at", "2024-04-30"),
        ],
    );
    has(
        &r[1],
        &[
            ("kind", "amended"),
            ("target", "EE-MFA/C-1"),
            ("producer", "EE-MFA"),
            ("recorded_at", "2024-04-30"),
        ],
    );
    assert!(r[1]["what"].contains("description"), "{:?}", r[1]["what"]);
    let last = s.world.log.len() as u64;
    assert_eq!(r[1]["position"], last.to_string());
}

#[test]
fn integrity_view() {
    let s = scenario();
    let m = project(&s.world.log);
    let heads = rows(&m, View::Integrity, "chain_heads", "2024-06-15");
    let seqs: Vec<(String, String)> = heads
        .iter()
        .map(|r| (r["member"].clone(), r["seq"].clone()))
        .collect();
    // Business-rule rejections keep their seq; the forgery never enters a chain.
    let want = [
        ("DE-AA", "4"),
        ("EE-MFA", "6"),
        ("TM-SECRETARIAT", "1"),
        ("UA-MINDIGITAL", "4"),
        ("UA-SSSCIP", "3"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(seqs, want);
    let (seq, id) = s.world.head(EE);
    has(
        &heads[1],
        &[("seq", &seq.to_string()), ("head", &id.to_hex())],
    );

    let rej = rows(&m, View::Integrity, "rejected", "2024-06-15");
    let got: Vec<[String; 4]> = rej
        .iter()
        .map(|r| ["member", "code", "kind", "in_chain"].map(|k| r[k].clone()))
        .collect();
    let want = [
        ["EE-MFA", "rule_violation", "delivery_recorded", "true"],
        ["DE-AA", "rule_violation", "delivery_recorded", "true"],
        [
            "UA-MINDIGITAL",
            "rule_violation",
            "receipt_acknowledged",
            "true",
        ],
        ["UA-SSSCIP", "bad_signature", "need_stated", "false"],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(got, want);
    let positions: Vec<String> = (s.before_rejected + 1..=s.after_rejected)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(column(&rej, "position"), positions);
    assert!(rej[0]["reason"].contains("another donor"), "{:?}", rej[0]);
    assert!(rej[1]["reason"].contains("over-delivery"), "{:?}", rej[1]);
    assert!(rej[3]["reason"].contains("forgery"), "{:?}", rej[3]);
}

#[test]
fn rejected_events_never_move_totals() {
    let s = scenario();
    let log = &s.world.log;
    let before = project(&log[..s.before_rejected]);
    let after = project(&log[..s.after_rejected]);
    assert_eq!(after.rejected.len(), 4);
    for view in View::ALL.into_iter().filter(|v| *v != View::Integrity) {
        for today in ["2024-04-20", "2024-06-15"] {
            assert_eq!(
                build(&before, view, &params(today)),
                build(&after, view, &params(today)),
                "the rejected events moved the {} view",
                view.name()
            );
        }
    }
}

#[test]
fn as_of_gives_the_earlier_figures() {
    let s = scenario();
    let log = &s.world.log;
    let earlier = project(&log[..s.before_april]);
    // The whole log, folding only what was recorded by the end of 2024-04-01.
    let cut = date("2024-04-01").end();
    let mut state = State::new();
    let mut as_of = Model::new();
    fold_entries(&mut state, &mut as_of, log, Filter::RecordedBy(cut));
    assert_eq!(as_of.position, log.len() as u64, "it read the whole log");
    assert_eq!(digest_hex(&as_of), digest_hex(&earlier));
    for view in View::ALL {
        assert_eq!(
            build(&as_of, view, &params("2024-04-01")),
            build(&earlier, view, &params("2024-04-01")),
            "{} as of 2024-04-01",
            view.name()
        );
    }
    // And those figures differ from today's.
    let now = project(log);
    assert_ne!(digest_hex(&now), digest_hex(&earlier));
    let donors = rows(&as_of, View::Donors, "donors", "2024-04-01");
    has(&donors[0], &[("donor", "DE-AA"), ("delivered_eur", "0.00")]);
}

#[test]
fn duplicate_delivery_does_not_change_the_digest() {
    let s = scenario();
    let log = &s.world.log;
    let once = project(log);
    let d = digest_hex(&once);

    // The same batch handed over again (a redelivery, a retried read).
    let mut state = State::new();
    let mut twice = Model::new();
    fold_entries(&mut state, &mut twice, log, Filter::All);
    fold_entries(&mut state, &mut twice, &log[3..], Filter::All);
    fold_entries(&mut state, &mut twice, log, Filter::All);
    assert_eq!(twice, once);

    // Copies of stored events appended at new positions: judged duplicates.
    let mut copied = log.clone();
    for (i, e) in log.iter().enumerate().skip(1).step_by(2) {
        copied.push(Entry {
            position: (log.len() + 1 + i) as u64,
            appended_at: Timestamp(e.appended_at.0 + 86_400_000 * 400),
            member: e.member.clone(),
            bytes: e.bytes.clone(),
        });
    }
    let copies = copied.len() - log.len();
    assert!(
        (1..log.len()).step_by(2).any(|i| i == s.after_rejected - 1),
        "the copies include the forgery"
    );
    let m = project(&copied);
    assert_eq!(m.duplicates, copies as u64);
    assert_eq!(
        m.rejected.len(),
        4,
        "a copied forgery is not reported twice"
    );
    assert_eq!(digest_hex(&m), d);

    // A projector resumed from a saved model (its index of rejected ids is not
    // saved) still knows the forgery when its copy arrives.
    let mut state = State::new();
    let mut first = Model::new();
    fold_entries(&mut state, &mut first, log, Filter::All);
    let saved = bincode::serde::encode_to_vec(&first, bincode::config::standard()).unwrap();
    let (mut resumed, _): (Model, usize) =
        bincode::serde::decode_from_slice(&saved, bincode::config::standard()).unwrap();
    fold_entries(&mut state, &mut resumed, &copied[log.len()..], Filter::All);
    assert_eq!(resumed.duplicates, copies as u64);
    assert_eq!(resumed, m);
    assert_eq!(digest_hex(&resumed), d);
}

/// The figures of the donors view's columns, in its order after the keys:
/// offers, offered, pledge-only offers and EUR, commitments, committed,
/// deliveries, delivered, acknowledged and EUR, then the two ratios.
const TOTALS_KEYS: [&str; 12] = [
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

/// A row's key columns, then its [`TOTALS_KEYS`] figures, as shown.
fn totals_row(row: &BTreeMap<String, String>, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .chain(TOTALS_KEYS.iter())
        .map(|k| {
            row.get(*k)
                .unwrap_or_else(|| panic!("no {k} in {row:?}"))
                .clone()
        })
        .collect()
}

/// The rows of a totals-shaped view (data, then `TOTAL`) as [`totals_row`]s.
fn totals_rows(view: View, keys: &[&str]) -> Vec<Vec<String>> {
    let m = project(&scenario().world.log);
    rows(&m, view, view.name(), "2024-06-15")
        .iter()
        .map(|r| totals_row(r, keys))
        .collect()
}

/// `[keys..., figures...]` as owned strings.
fn line(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

// Hand-computed: DE-AA offered O-3 (40,000, training, DAC 15110), committed
// C-2 (40,000) and delivered D-2 (20,000), nothing acknowledged. EE-MFA
// offered O-1 (10,000) and O-2 (6,000, pledge only), both for Skyline,
// satellite terminals; committed C-1 (10,000) from O-1, delivered D-1
// (6,000), 5 of 6 acknowledged: 5,000.
const DE_FIGURES: [&str; 12] = [
    "1", "40000.00", "0", "0.00", "1", "40000.00", "1", "20000.00", "0", "0.00", "0.5000", "0.0000",
];
const EE_FIGURES: [&str; 12] = [
    "2", "16000.00", "1", "6000.00", "1", "10000.00", "1", "6000.00", "1", "5000.00", "0.6000",
    "0.8333",
];
const ALL_FIGURES: [&str; 12] = [
    "3", "56000.00", "1", "6000.00", "2", "50000.00", "2", "26000.00", "1", "5000.00", "0.5200",
    "0.1923",
];

fn with(keys: &[&str], figures: &[&str]) -> Vec<String> {
    line(&[keys, figures].concat())
}

#[test]
fn countries_view() {
    assert_eq!(
        totals_rows(View::Countries, &["country", "donors"]),
        [
            with(&["DE", "1"], &DE_FIGURES),
            with(&["EE", "1"], &EE_FIGURES),
            with(&["TOTAL", "2"], &ALL_FIGURES),
        ]
    );
}

#[test]
fn modalities_view() {
    assert_eq!(
        totals_rows(View::Modalities, &["modality"]),
        [
            with(&["goods"], &EE_FIGURES),
            with(&["training"], &DE_FIGURES),
            with(&["TOTAL"], &ALL_FIGURES),
        ]
    );
}

#[test]
fn sectors_view() {
    // O-3 and C-2 carry O-3's own code 15110. O-1 and O-2 have no code: they
    // count under their category's (satellite communications: 22020). C-1's
    // offer has none, so it counts under the code of the need it covers, N-1
    // (22040), and its delivery and receipt with it.
    let r = totals_rows(View::Sectors, &["dac_sector", "sector_name"]);
    assert_eq!(
        r,
        [
            with(
                &[
                    "15110",
                    "Public sector policy and administrative management"
                ],
                &DE_FIGURES
            ),
            with(
                &["22020", "Telecommunications"],
                &[
                    "2", "16000.00", "1", "6000.00", "0", "0.00", "0", "0.00", "0", "0.00", "-",
                    "-"
                ]
            ),
            with(
                &["22040", "Information and communication technology (ICT)"],
                &[
                    "0", "0.00", "0", "0.00", "1", "10000.00", "1", "6000.00", "1", "5000.00",
                    "0.6000", "0.8333"
                ]
            ),
            with(&["TOTAL", ""], &ALL_FIGURES),
        ]
    );
}

#[test]
fn contributors_view() {
    // Only EE-MFA's offers name a contributor; DE-AA's own offer is not here.
    assert_eq!(
        totals_rows(
            View::Contributors,
            &["contributor", "kind", "country", "donor"]
        ),
        [
            with(
                &["Skyline Satcom OU", "company", "EE", "EE-MFA"],
                &EE_FIGURES
            ),
            with(&["TOTAL", "", "", ""], &EE_FIGURES),
        ]
    );
}

#[test]
fn flows_view() {
    let m = project(&scenario().world.log);
    let keys = [
        "donor",
        "recipient",
        "commitments",
        "committed_eur",
        "deliveries",
        "delivered_eur",
        "acknowledged_eur",
        "outstanding_eur",
        "delivery_ratio",
    ];
    let got: Vec<Vec<String>> = rows(&m, View::Flows, "flows", "2024-06-15")
        .iter()
        .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
        .collect();
    assert_eq!(
        got,
        [
            line(&[
                "DE-AA",
                "UA-MINDIGITAL",
                "1",
                "40000.00",
                "1",
                "20000.00",
                "0.00",
                "20000.00",
                "0.5000"
            ]),
            line(&[
                "EE-MFA",
                "UA-SSSCIP",
                "1",
                "10000.00",
                "1",
                "6000.00",
                "5000.00",
                "4000.00",
                "0.6000"
            ]),
            line(&["TOTAL", "", "2", "50000.00", "2", "26000.00", "5000.00", "24000.00", "0.5200"]),
        ]
    );
}

#[test]
fn coverage_view() {
    // Standing needs: N-2 (training, medium, 40,000: O-3 and C-2 answer it,
    // D-2 delivered 20,000); N-4 (satellite, critical, 3,000: nothing);
    // N-1 (satellite, high, 10,000: O-1 and O-2 offer 16,000, C-1 commits
    // 10,000, D-1 delivered 6,000). N-3 was withdrawn: not counted.
    let m = project(&scenario().world.log);
    let keys = [
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
    let show = |m: &Model| -> Vec<Vec<String>> {
        rows(m, View::Coverage, "coverage", "2024-06-15")
            .iter()
            .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
            .collect()
    };
    assert_eq!(
        show(&m),
        [
            line(&[
                "training", "medium", "1", "40000.00", "40000.00", "40000.00", "20000.00",
                "40000.00", "1.0000"
            ]),
            line(&[
                "satellite_communications",
                "critical",
                "1",
                "3000.00",
                "0.00",
                "0.00",
                "0.00",
                "0.00",
                "0.0000"
            ]),
            line(&[
                "satellite_communications",
                "high",
                "1",
                "10000.00",
                "16000.00",
                "10000.00",
                "6000.00",
                "10000.00",
                "1.0000"
            ]),
            line(&[
                "TOTAL", "", "3", "53000.00", "56000.00", "50000.00", "26000.00", "50000.00",
                "0.9434"
            ]),
        ]
    );
    // As of 2024-03-31: D-2 not yet delivered.
    let before = project(&scenario().world.log[..scenario().before_april]);
    assert_eq!(
        show(&before)[0],
        line(&[
            "training", "medium", "1", "40000.00", "40000.00", "40000.00", "0.00", "40000.00",
            "1.0000"
        ])
    );
}

/// `schemas/REPORTS.md` lists, under `#### TABLE`, exactly the keys each table has.
#[test]
fn reports_md_documents_every_key() {
    let doc = include_str!("../../schemas/REPORTS.md");
    let mut documented: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(t) = line.strip_prefix("#### ") {
            current = Some(t.trim().to_string());
            documented.insert(t.trim().to_string(), Vec::new());
        } else if line.starts_with("## ") {
            current = None;
        } else if let (Some(t), Some(row)) = (&current, line.strip_prefix("| ")) {
            let key = row.split(" |").next().unwrap().trim();
            if key != "key" && key != "---" {
                documented.get_mut(t).unwrap().push(key.to_string());
            }
        }
    }
    let model = project(&scenario().world.log);
    let mut seen = 0;
    for view in View::ALL {
        for table in build(&model, view, &params("2024-06-15")) {
            let keys: Vec<String> = table.columns.iter().map(|c| c.key.to_string()).collect();
            assert_eq!(
                documented.get(table.title),
                Some(&keys),
                "schemas/REPORTS.md, table {} of view {}",
                table.title,
                view.name()
            );
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        documented.len(),
        "REPORTS.md documents a table no view has"
    );
}
