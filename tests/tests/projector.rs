//! The projector through the real binary: `kill -9` at random points during
//! catch-up ends like a clean rebuild; `report --as-of` shows the earlier figures.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{publish_at, tallinn, Fixture, SplitMix, EE, UA};
use ledger::body::{Body, Commitment, Delivery, Need, Offer, Priority, Receipt, Tranche};
use ledger::category::Category;
use ledger::ids::ItemId;
use ledger::money::{Money, Quantity};
use projector::views::View;
use serde_json::Value;

fn status(dir: &std::path::Path) -> Value {
    let out = tallinn()
        .arg("--dir")
        .arg(dir)
        .args(["--json", "status"])
        .output()
        .expect("running tallinn status");
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

fn projector_cmd(dir: &std::path::Path, what: &str) -> Command {
    let mut cmd = tallinn();
    cmd.arg("--dir")
        .arg(dir)
        .args(["projector", what, "--save-every", "1500"]);
    cmd
}

/// `position N  digest HEX` from a projector command's output.
fn digest_of(out: &std::process::Output) -> (u64, String) {
    assert!(
        out.status.success(),
        "projector failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(words.len(), 4, "unexpected output {s:?}");
    (words[1].parse().unwrap(), words[3].to_string())
}

#[test]
fn projector_killed_at_random_points_ends_like_a_clean_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let out = tallinn()
        .args(["demo", "--seed", "11", "--events", "40000", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .output()
        .expect("running tallinn demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The demo projected; start the projector from zero.
    let (len, clean) = digest_of(&projector_cmd(&dir, "rebuild").output().unwrap());
    std::fs::remove_dir_all(dir.join("projector")).unwrap();
    assert!(len > 40_000, "the demo wrote {len} entries");

    let mut rng = SplitMix(0x7a11_1a2e);
    let mut last_position = 0;
    let mut interrupted = 0;
    for round in 0..20 {
        let mut child = projector_cmd(&dir, "catch-up")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning the projector");
        std::thread::sleep(Duration::from_millis(40 + rng.next() % 400));
        // SIGKILL: no destructor, no flush, no chance to finish a write.
        let _ = child.kill();
        let exit = child.wait().unwrap();
        let st = status(&dir);
        let position = st["projector"]["position"].as_u64().unwrap();
        assert!(
            position >= last_position,
            "round {round}: the saved position went back from {last_position} to {position}"
        );
        assert!(position <= len);
        assert_eq!(st["log_length"].as_u64(), Some(len));
        if !exit.success() && position < len {
            interrupted += 1;
        }
        last_position = position;
        if position == len {
            // It finished between kills (a fast machine): check it, then start
            // over from nothing so the next kills land mid-catch-up again.
            let (_, d) = digest_of(&projector_cmd(&dir, "catch-up").output().unwrap());
            assert_eq!(
                d, clean,
                "round {round}: killed and resumed != clean rebuild"
            );
            std::fs::remove_dir_all(dir.join("projector")).unwrap();
            last_position = 0;
        }
    }
    assert!(
        interrupted >= 10,
        "only {interrupted} of 20 kills landed during catch-up"
    );

    let (p1, resumed) = digest_of(&projector_cmd(&dir, "catch-up").output().unwrap());
    let (p2, rebuilt) = digest_of(&projector_cmd(&dir, "rebuild").output().unwrap());
    assert_eq!((p1, p2), (len, len));
    assert_eq!(resumed, rebuilt, "killed and resumed != clean rebuild");
    assert_eq!(rebuilt, clean);
    let st = status(&dir);
    assert_eq!(
        st["rejected"], 4,
        "the demo's four invalid events, once each"
    );
    assert_eq!(st["accepted"].as_u64(), Some(len - 4));
}

// ---------------------------------------------------------------------------
// --as-of through the binary.
// ---------------------------------------------------------------------------

fn item(s: &str) -> ItemId {
    s.parse().unwrap()
}

fn eur(euros: u64) -> Money {
    Money::eur(euros * 100)
}

fn laptops(n: u64) -> Quantity {
    Quantity {
        amount: n,
        unit: "laptops".into(),
    }
}

fn reports(fx: &Fixture, extra: &[&str]) -> Vec<(String, Value)> {
    View::ALL
        .iter()
        .map(|v| {
            let mut args = vec!["report", v.name(), "--format", "json"];
            args.extend_from_slice(extra);
            let out = fx.ok(&args);
            let doc: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(doc["view"], v.name(), "{out}");
            // The figures; the metadata (position, digest, dates) is the state's.
            let figures = serde_json::json!({"tables": doc["tables"], "totals": doc["totals"]});
            (v.name().to_string(), figures)
        })
        .collect()
}

#[test]
fn report_as_of_shows_the_earlier_figures() {
    let fx = Fixture::keys_only();
    let init = fx
        .cmd([
            "init",
            "--key",
            &fx.key_str(common::COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ])
        .env("TALLINN_NOW", "2026-01-05T09:00:00Z")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let need = Body::NeedStated(Need {
        need: item("UA-SSSCIP/N-1"),
        recipient: UA.parse().unwrap(),
        category: Category::Hardware,
        dac_sector: None,
        description: "Laptops for incident responders".into(),
        quantity: laptops(100),
        estimated_value: eur(150_000),
        priority: Priority::High,
        needed_by: None,
    });
    let offer = Body::OfferMade(Offer {
        offer: item("EE-MFA/O-1"),
        on_behalf_of: None,
        category: Category::Hardware,
        dac_sector: None,
        modality: ledger::body::Modality::Goods,
        description: "Hardened laptops".into(),
        quantity: laptops(100),
        value: eur(150_000),
        valid_until: None,
        answers: vec![item("UA-SSSCIP/N-1")],
    });
    let commitment = Body::CommitmentMade(Commitment {
        commitment: item("EE-MFA/C-1"),
        offer: Some(item("EE-MFA/O-1")),
        needs: vec![item("UA-SSSCIP/N-1")],
        recipient: UA.parse().unwrap(),
        category: Category::Hardware,
        description: "Hardened laptops".into(),
        quantity: laptops(100),
        value: eur(150_000),
        tranches: vec![
            Tranche {
                expected: "2026-03-15".parse().unwrap(),
                quantity: 60,
                amount_minor: 9_000_000,
            },
            Tranche {
                expected: "2026-05-15".parse().unwrap(),
                quantity: 40,
                amount_minor: 6_000_000,
            },
        ],
    });
    let delivery = |id: &str, q: u64, on: &str| {
        Body::DeliveryRecorded(Delivery {
            delivery: item(id),
            commitment: item("EE-MFA/C-1"),
            quantity: q,
            value: eur(q * 1_500),
            delivered_on: on.parse().unwrap(),
            evidence: None,
        })
    };
    publish_at(&fx, "2026-02-01T09:00:00Z", UA, "need.jsonl", &[need]);
    publish_at(
        &fx,
        "2026-02-10T09:00:00Z",
        EE,
        "ee-1.jsonl",
        &[offer, commitment],
    );
    publish_at(
        &fx,
        "2026-03-01T09:00:00Z",
        EE,
        "ee-d1.jsonl",
        &[delivery("EE-MFA/D-1", 60, "2026-03-01")],
    );
    // The figures at the end of 2026-03-01 (the log's latest day then).
    publish_at(
        &fx,
        "2026-03-01T17:00:00Z",
        UA,
        "receipt-1.jsonl",
        &[Body::ReceiptAcknowledged(Receipt {
            receipt: item("UA-SSSCIP/R-1"),
            delivery: item("EE-MFA/D-1"),
            quantity_accepted: 60,
            received_on: "2026-03-01".parse().unwrap(),
            discrepancy: None,
        })],
    );
    // Judged on 2026-03-01, as a report as of that date is.
    let then = reports(&fx, &["--today", "2026-03-01"]);
    let donors_then = &then[0].1["tables"]["donors"][0];
    assert_eq!(donors_then["delivered_eur"], "90000.00");

    // Two months later: the rest is delivered, a receipt is missing.
    publish_at(
        &fx,
        "2026-05-02T09:00:00Z",
        EE,
        "ee-2.jsonl",
        &[delivery("EE-MFA/D-2", 40, "2026-05-01")],
    );
    let now = reports(&fx, &[]);
    assert_eq!(
        now[0].1["tables"]["donors"][0]["delivered_eur"],
        "150000.00"
    );
    assert_ne!(now, then, "the later events changed the reports");

    let as_of = reports(&fx, &["--as-of", "2026-03-01"]);
    for ((name, a), (_, b)) in as_of.iter().zip(&then) {
        assert_eq!(a, b, "report {name} --as-of 2026-03-01");
    }
    // A date before anything happened: empty figures, not an error.
    let empty = reports(&fx, &["--as-of", "2025-12-31"]);
    assert_eq!(
        empty[0].1["tables"]["donors"].as_array().map(|a| a.len()),
        Some(0)
    );
    assert_eq!(empty[0].1["totals"]["donors"]["committed_eur"], "0.00");
    // A malformed date is refused in one line.
    let err = fx.fail(["report", "donors", "--as-of", "2026-13-01"]);
    common::assert_one_line(&err, &["as-of"]);
}
