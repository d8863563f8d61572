//! End-to-end tests of the real `tallinn` binary: a ministry's worked example,
//! refused inputs (nothing appended), publish, key rotation and revocation.

mod common;

use std::collections::BTreeMap;

use common::{assert_one_line, is_id, Fixture, COORD, DE, EE, UA, UA2};
use ledger::body::{Body, Delivery, Need, Priority};
use ledger::category::Category;
use ledger::money::{Money, Quantity};
use serde_json::Value;

/// Runs a producer command and checks its output: with `json`, one object with
/// id/position/member/seq/kind; without, one 64-hex id. Returns the id.
fn step(fx: &Fixture, json: bool, args: &[&str], member: &str, seq: u64, kind: &str) -> String {
    let mut full: Vec<&str> = Vec::new();
    if json {
        full.push("--json");
    }
    full.extend_from_slice(args);
    let out = fx.ok(&full);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one line of output for {args:?}: {out:?}");
    if !json {
        assert!(is_id(lines[0]), "not a 64-hex event id: {:?}", lines[0]);
        return lines[0].to_string();
    }
    let v: Value = serde_json::from_str(lines[0]).expect("--json output is JSON");
    let id = v["id"].as_str().expect("id").to_string();
    assert!(is_id(&id), "not a 64-hex event id: {id:?}");
    assert!(v["position"].as_u64().is_some_and(|p| p > 1), "{v}");
    assert_eq!(v["member"], member, "{v}");
    assert_eq!(v["seq"], seq, "{v}");
    assert_eq!(v["kind"], kind, "{v}");
    id
}

/// A need by UA-SSSCIP, an offer by EE-MFA answering it and a commitment from
/// the offer (100 laptops, EUR 150,000.00, two tranches).
fn need_offer_commitment(fx: &Fixture) {
    fx.ok([
        "need",
        "--key",
        &fx.key_str(UA),
        "--id",
        "N-1",
        "--category",
        "hardware",
        "--description",
        "Laptops for incident responders",
        "--quantity",
        "100",
        "--unit",
        "laptops",
        "--value",
        "150000.00",
        "--priority",
        "high",
        "--needed-by",
        "2026-09-01",
    ]);
    fx.ok([
        "offer",
        "--key",
        &fx.key_str(EE),
        "--id",
        "O-1",
        "--category",
        "hardware",
        "--modality",
        "goods",
        "--description",
        "Hardened laptops",
        "--quantity",
        "100",
        "--unit",
        "laptops",
        "--value",
        "150000.00",
        "--valid-until",
        "2026-12-31",
        "--answers",
        "UA-SSSCIP/N-1",
    ]);
    fx.ok([
        "commit",
        "--key",
        &fx.key_str(EE),
        "--id",
        "C-1",
        "--offer",
        "O-1",
        "--needs",
        "UA-SSSCIP/N-1",
        "--recipient",
        UA,
        "--category",
        "hardware",
        "--description",
        "Hardened laptops",
        "--quantity",
        "100",
        "--unit",
        "laptops",
        "--value",
        "150000.00",
        "--tranche",
        "2026-05-15:60:90000.00",
        "--tranche",
        "2026-07-15:40:60000.00",
    ]);
}

fn deliver_args<'a>(
    key: &'a str,
    id: &'a str,
    commitment: &'a str,
    q: &'a str,
    v: &'a str,
) -> Vec<&'a str> {
    vec![
        "deliver",
        "--key",
        key,
        "--id",
        id,
        "--commitment",
        commitment,
        "--quantity",
        q,
        "--value",
        v,
        "--date",
        "2026-05-20",
    ]
}

fn need_args(key: &str, id: &str) -> Vec<String> {
    [
        "need",
        "--key",
        key,
        "--id",
        id,
        "--category",
        "hardware",
        "--description",
        "Firewalls",
        "--quantity",
        "2",
        "--unit",
        "appliances",
        "--value",
        "1000",
    ]
    .map(String::from)
    .to_vec()
}

fn offer_args(key: &str, id: &str) -> Vec<String> {
    [
        "offer",
        "--key",
        key,
        "--id",
        id,
        "--category",
        "training",
        "--modality",
        "training",
        "--description",
        "Course",
        "--quantity",
        "10",
        "--unit",
        "person-days",
        "--value",
        "5000",
    ]
    .map(String::from)
    .to_vec()
}

/// `args` with `flag`'s value replaced (or the flag added).
fn with(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
    args
}

#[test]
fn worked_example_of_a_ministry() {
    let fx = Fixture::new();
    let (ua, ee) = (fx.key_str(UA), fx.key_str(EE));
    let evidence = fx.path("delivery-note.pdf");
    std::fs::write(&evidence, b"delivery note D-2: 20 laptops").unwrap();
    let evidence = evidence.to_str().unwrap();
    let mut ids = Vec::new();
    #[rustfmt::skip]
    let steps: Vec<(Vec<&str>, &str, u64, &str)> = vec![
        (vec!["need", "--key", &ua, "--id", "N-1", "--category", "hardware", "--dac", "22040",
            "--description", "Laptops for incident responders", "--quantity", "100", "--unit", "laptops",
            "--value", "150000.00", "--priority", "high", "--needed-by", "2026-09-01"],
            UA, 1, "need_stated"),
        (vec!["offer", "--key", &ee, "--id", "O-1", "--category", "hardware", "--modality", "goods",
            "--description", "Hardened laptops", "--quantity", "100", "--unit", "laptops",
            "--value", "150000.00", "--valid-until", "2026-12-31", "--answers", "UA-SSSCIP/N-1"],
            EE, 1, "offer_made"),
        (vec!["commit", "--key", &ee, "--id", "C-1", "--offer", "O-1", "--needs", "UA-SSSCIP/N-1",
            "--recipient", UA, "--category", "hardware", "--description", "Hardened laptops",
            "--quantity", "100", "--unit", "laptops", "--value", "150000.00",
            "--tranche", "2026-05-15:60:90000.00", "--tranche", "2026-07-15:40:60000.00"],
            EE, 2, "commitment_made"),
        (vec!["deliver", "--key", &ee, "--id", "D-1", "--commitment", "C-1", "--quantity", "30",
            "--value", "45000.00", "--date", "2026-05-20"],
            EE, 3, "delivery_recorded"),
        (vec!["deliver", "--key", &ee, "--id", "D-2", "--commitment", "EE-MFA/C-1", "--quantity", "20",
            "--value", "30000", "--date", "2026-05-28", "--evidence", evidence],
            EE, 4, "delivery_recorded"),
        (vec!["receipt", "--key", &ua, "--id", "R-1", "--delivery", "EE-MFA/D-1",
            "--quantity-accepted", "28", "--date", "2026-05-25", "--discrepancy", "2 laptops damaged in transit"],
            UA, 2, "receipt_acknowledged"),
        (vec!["amend", "--key", &ua, "--target", "N-1", "--quantity", "120", "--priority", "critical",
            "--reason", "two more regional centres"],
            UA, 3, "amended"),
        (vec!["correct", "--key", &ee, "--target", "D-2", "--date", "2026-05-27",
            "--reason", "wrong date on the delivery note"],
            EE, 5, "corrected"),
        (vec!["cancel", "--key", &ee, "--target", "C-1", "--scope", "remaining_balance",
            "--reason", "budget line closed"],
            EE, 6, "cancelled"),
    ];
    for (i, (args, member, seq, kind)) in steps.iter().enumerate() {
        ids.push(step(&fx, i % 2 == 1, args, member, *seq, kind));
    }

    // The log: genesis then every step, in order, each accepted, seqs 1, 2, 3... per member.
    let log = fx.log_json();
    assert_eq!(log.len(), 1 + steps.len());
    assert_eq!(log[0]["kind"], "genesis");
    assert_eq!(log[0]["member"], COORD);
    let mut next_seq: BTreeMap<String, u64> = BTreeMap::new();
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e["position"], i as u64 + 1, "{e}");
        assert_eq!(e["outcome"], "accepted", "{e}");
        let member = e["member"].as_str().unwrap().to_string();
        let seq = next_seq.entry(member).or_insert(0);
        *seq += 1;
        assert_eq!(e["seq"], *seq, "{e}");
        if i > 0 {
            let (_, member, s, kind) = &steps[i - 1];
            assert_eq!(e["id"], ids[i - 1].as_str());
            assert_eq!(e["member"], *member);
            assert_eq!(e["seq"], *s);
            assert_eq!(e["kind"], *kind);
        }
    }
    assert_eq!(next_seq[EE], 6);
    assert_eq!(next_seq[UA], 3);

    // Bodies as recorded.
    let body = |i: usize| &log[i]["body"];
    assert_eq!(
        body(3)["commitment_made"]["tranches"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        body(3)["commitment_made"]["value"]["amount_minor"],
        15_000_000
    );
    let ev = body(5)["delivery_recorded"]["evidence"].as_str().unwrap();
    assert!(is_id(ev), "evidence is a SHA-256: {ev}");
    assert_eq!(body(6)["receipt_acknowledged"]["quantity_accepted"], 28);
    assert_eq!(
        body(6)["receipt_acknowledged"]["discrepancy"],
        "2 laptops damaged in transit"
    );
    assert_eq!(body(9)["cancelled"]["scope"], "remaining_balance");

    // `log --member` filters; plain `log` lists every event.
    let ua_log = fx.ok(["--json", "log", "--member", UA]);
    assert_eq!(ua_log.lines().count(), 3);
    let plain = fx.ok(["log"]);
    assert_eq!(
        plain.lines().count(),
        1 + log.len(),
        "header + one line per event"
    );

    // The balance is cancelled: no more deliveries on C-1.
    fx.refused(
        deliver_args(&ee, "D-3", "C-1", "1", "1500.00"),
        &["EE-MFA/C-1", "cancelled"],
    );
}

#[test]
fn refuses_bad_flags_and_appends_nothing() {
    let fx = Fixture::new();
    let ua = fx.key_str(UA);
    let good = need_args(&ua, "N-1");
    fx.refused(
        with(good.clone(), "--category", "hardwares"),
        &["--category", "hardwares"],
    );
    fx.refused(
        with(good.clone(), "--needed-by", "2026-02-30"),
        &["--needed-by", "2026-02-30"],
    );
    fx.refused(
        with(good.clone(), "--value", "10.123"),
        &["--value", "10.123"],
    );
    fx.refused(with(good.clone(), "--currency", "USD"), &["--eur", "USD"]);
    fx.refused(
        with(good.clone(), "--priority", "urgent"),
        &["--priority", "urgent"],
    );
    // A currency other than EUR with its EUR equivalent is fine.
    let usd = with(with(good, "--currency", "USD"), "--eur", "920.00");
    let out = fx.ok(usd);
    assert!(is_id(out.trim()));
    assert_eq!(fx.log_json().len(), 2);
}

#[test]
fn refuses_rule_violations_and_appends_nothing() {
    let fx = Fixture::new();
    need_offer_commitment(&fx);
    let (ee, de, ua, ua2) = (
        fx.key_str(EE),
        fx.key_str(DE),
        fx.key_str(UA),
        fx.key_str(UA2),
    );
    fx.ok(deliver_args(&ee, "D-1", "C-1", "30", "45000.00"));
    let n = fx.log_json().len();
    assert_eq!(n, 5);

    // DE-AA delivering on EE-MFA's commitment.
    fx.refused(
        deliver_args(&de, "D-9", "EE-MFA/C-1", "1", "1500.00"),
        &["EE-MFA/C-1", "another donor"],
    );
    // Over-delivery: 30 + 71 > 100.
    fx.refused(
        deliver_args(&ee, "D-2", "C-1", "71", "1500.00"),
        &["over-delivery"],
    );
    // Over-delivery by value: 45,000 + 106,000 > 150,000.
    fx.refused(
        deliver_args(&ee, "D-2", "C-1", "1", "106000.00"),
        &["over-delivery"],
    );
    let receipt = |key: &str, id: &str| -> Vec<String> {
        [
            "receipt",
            "--key",
            key,
            "--id",
            id,
            "--delivery",
            "EE-MFA/D-1",
            "--quantity-accepted",
            "30",
            "--date",
            "2026-05-25",
        ]
        .map(String::from)
        .to_vec()
    };
    // Receipt by another recipient institution than the commitment's.
    fx.refused(receipt(&ua2, "R-1"), &["UA-SSSCIP", "EE-MFA/D-1"]);
    // Receipt by a donor: it lacks the recipient role.
    fx.refused(receipt(&ee, "R-1"), &["EE-MFA", "recipient role"]);
    // Less accepted than delivered without a discrepancy note.
    fx.refused(
        with(receipt(&ua, "R-1"), "--quantity-accepted", "29"),
        &["discrepancy"],
    );
    // The right recipient may.
    fx.ok(receipt(&ua, "R-1"));
    assert_eq!(fx.log_json().len(), n + 1);
    // A need by a donor.
    fx.refused(need_args(&ee, "N-2"), &["EE-MFA", "recipient role"]);
}

#[test]
fn refuses_bad_keys_and_second_init() {
    let fx = Fixture::new();
    // A key file readable by others.
    let open = fx.path("ee-open.key");
    std::fs::copy(fx.key(EE), &open).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    fx.refused(
        offer_args(open.to_str().unwrap(), "O-1"),
        &["readable by other users", "ee-open.key"],
    );
    // A key of a non-member.
    let fr = fx.path("fr.key");
    fx.ok([
        "key",
        "new",
        "--name",
        "FR-MFA",
        "--out",
        fr.to_str().unwrap(),
    ]);
    fx.refused(
        offer_args(fr.to_str().unwrap(), "O-1"),
        &["FR-MFA", "not an admitted member"],
    );
    // A missing key file.
    fx.refused(
        offer_args(fx.path("nope.key").to_str().unwrap(), "O-1"),
        &["nope.key"],
    );
    // `init` on an initialised ledger.
    fx.refused(
        [
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
        &["already holds a ledger"],
    );
    // Commands on a directory without a ledger.
    let empty = tempfile::tempdir().unwrap();
    let out = common::tallinn()
        .arg("--dir")
        .arg(empty.path().join("none"))
        .arg("log")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_one_line(&String::from_utf8_lossy(&out.stderr), &["tallinn init"]);
}

#[test]
fn init_checks_the_coordinator_key() {
    let fx = Fixture::keys_only();
    // Signing the genesis with a donor's key.
    let err = fx.fail([
        "init",
        "--key",
        &fx.key_str(EE),
        "--members",
        fx.members_file().to_str().unwrap(),
    ]);
    assert_one_line(&err, &["members.json", "coordinator"]);
    assert!(!fx.data.join("log").exists(), "nothing created");
}

fn need(local: &str, quantity: u64) -> Body {
    Body::NeedStated(Need {
        need: format!("{UA}/{local}").parse().unwrap(),
        recipient: UA.parse().unwrap(),
        category: Category::Hardware,
        dac_sector: None,
        description: format!("need {local}"),
        quantity: Quantity {
            amount: quantity,
            unit: "pcs".into(),
        },
        estimated_value: Money::eur(100 * quantity),
        priority: Priority::High,
        needed_by: None,
    })
}

fn delivery(local: &str, quantity: u64) -> Body {
    Body::DeliveryRecorded(Delivery {
        delivery: format!("{EE}/{local}").parse().unwrap(),
        commitment: format!("{EE}/C-1").parse().unwrap(),
        quantity,
        value: Money::eur(quantity * 150_000),
        delivered_on: "2026-05-20".parse().unwrap(),
        evidence: None,
    })
}

fn jsonl(bodies: &[Body]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| serde_json::to_string(b).unwrap())
        .collect()
}

fn write_lines(fx: &Fixture, name: &str, lines: &[String]) -> String {
    let p = fx.path(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn publish_is_all_or_nothing_and_names_the_line() {
    let fx = Fixture::new();
    need_offer_commitment(&fx);
    let (ua, ee) = (fx.key_str(UA), fx.key_str(EE));
    let n = fx.log_json().len();

    // Line 3 has an unknown field.
    let mut lines = jsonl(&[need("P-1", 1), need("P-2", 1), need("P-3", 1)]);
    let mut v: Value = serde_json::from_str(&lines[2]).unwrap();
    v["need_stated"]["colour"] = Value::from("blue");
    lines[2] = v.to_string();
    let f = write_lines(&fx, "unknown-field.jsonl", &lines);
    fx.refused(["publish", "--key", &ua, &f], &["line 3", "colour"]);

    // Line 2 is not JSON.
    let mut lines = jsonl(&[need("P-1", 1), need("P-2", 1), need("P-3", 1)]);
    lines[1] = r#"{"need_stated": {"need": "UA-SSSCIP/P-2","#.to_string();
    let f = write_lines(&fx, "malformed.jsonl", &lines);
    fx.refused(["publish", "--key", &ua, &f], &["line 2"]);

    // Line 2 breaks a rule: 60 + 60 laptops on a commitment of 100.
    let lines = jsonl(&[delivery("D-1", 60), delivery("D-2", 60), delivery("D-3", 1)]);
    let f = write_lines(&fx, "over-delivery.jsonl", &lines);
    fx.refused(["publish", "--key", &ee, &f], &["line 2", "over-delivery"]);

    // Line 2 fails a static check (zero quantity).
    let lines = jsonl(&[need("P-1", 1), need("P-2", 0)]);
    let f = write_lines(&fx, "zero.jsonl", &lines);
    fx.refused(
        ["publish", "--key", &ua, &f],
        &["line 2", "need_stated.quantity.amount"],
    );

    // A line naming an item of another member.
    let lines = jsonl(&[need("P-1", 1)]);
    let f = write_lines(&fx, "not-mine.jsonl", &lines);
    fx.refused(["publish", "--key", &fx.key_str(UA2), &f], &["line 1"]);
    assert_eq!(
        fx.log_json().len(),
        n,
        "nothing appended by any refused publish"
    );

    // A good file of 5 lines (with a blank line) appends exactly 5 events.
    let mut lines = jsonl(&[need("P-1", 1), need("P-2", 2), need("P-3", 3)]);
    lines.push(String::new());
    lines.extend(jsonl(&[need("P-4", 4), need("P-5", 5)]));
    let f = write_lines(&fx, "good.jsonl", &lines);
    let out = fx.ok(["--json", "publish", "--key", &ua, &f]);
    let printed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 5);
    let log = fx.log_json();
    assert_eq!(log.len(), n + 5);
    for (k, (p, e)) in printed.iter().zip(&log[n..]).enumerate() {
        assert!(is_id(p["id"].as_str().unwrap()));
        assert_eq!(p["id"], e["id"]);
        assert_eq!(e["position"], (n + 1 + k) as u64);
        assert_eq!(e["member"], UA);
        // UA-SSSCIP's need N-1 was seq 1.
        assert_eq!(e["seq"], (2 + k) as u64);
        assert_eq!(e["outcome"], "accepted");
        assert_eq!(
            e["body"]["need_stated"]["need"],
            format!("UA-SSSCIP/P-{}", k + 1)
        );
    }
    // Publishing the same file again is a retry, as on JetStream: nothing
    // appended, the stored events printed.
    let again = fx.ok(["--json", "publish", "--key", &ua, &f]);
    let again: Vec<Value> = again
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        again.iter().map(|v| &v["id"]).collect::<Vec<_>>(),
        printed.iter().map(|v| &v["id"]).collect::<Vec<_>>()
    );
    assert_eq!(fx.log_json().len(), n + 5);
    // A file whose first line is the last stored event (skipped) and whose
    // second reuses an id with another body is refused, naming the line.
    let lines = jsonl(&[need("P-5", 5), need("P-2", 9)]);
    let f = write_lines(&fx, "reused.jsonl", &lines);
    fx.refused(["publish", "--key", &ua, &f], &["line 2", "already used"]);
}

#[test]
fn key_rotation_and_revocation() {
    let fx = Fixture::new();
    let (ee, de, coord) = (fx.key_str(EE), fx.key_str(DE), fx.key_str(COORD));
    let ee_new = fx.path("ee-new.key");
    fx.ok([
        "key",
        "new",
        "--name",
        EE,
        "--out",
        ee_new.to_str().unwrap(),
    ]);
    let ee_new_pub = ledger::keyfile::pub_path(&ee_new);
    let ee_new = ee_new.to_str().unwrap();

    // EE-MFA rotates its own key.
    let out = fx.ok([
        "--json",
        "member",
        "rotate-key",
        "--key",
        &ee,
        "--new-vkey",
        ee_new_pub.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["kind"], "key_rotated");
    assert_eq!(v["member"], EE);

    // The old key no longer signs; the new one does.
    fx.refused(offer_args(&ee, "O-1"), &["not EE-MFA's active key"]);
    let out = fx.ok(offer_args(ee_new, "O-1"));
    assert!(is_id(out.trim()));

    // The coordinator revokes DE-AA's key: DE-AA cannot sign.
    fx.ok(offer_args(&de, "O-1"));
    fx.ok([
        "member",
        "revoke-key",
        "--key",
        &coord,
        "--member",
        DE,
        "--reason",
        "laptop stolen",
    ]);
    fx.refused(offer_args(&de, "O-2"), &["DE-AA", "revoked"]);

    // A donor cannot revoke another member's key.
    fx.refused(
        [
            "member",
            "revoke-key",
            "--key",
            ee_new,
            "--member",
            common::UA,
            "--reason",
            "spite",
        ],
        &["only the member itself or the coordinator"],
    );

    let list: Value = serde_json::from_str(&fx.ok(["--json", "member", "list"])).unwrap();
    let list = list.as_array().expect("member list --json is an array");
    assert_eq!(list.len(), 5);
    let find = |id: &str| {
        list.iter()
            .find(|m| m["member"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    let ee_row = find(EE);
    assert_eq!(
        ee_row["active_vkey"].as_str().unwrap(),
        std::fs::read_to_string(&ee_new_pub).unwrap().trim()
    );
    assert_eq!(ee_row["key_revoked"], false);
    let de_row = find(DE);
    assert_eq!(de_row["key_revoked"], true);
    assert!(de_row["active_vkey"].is_null());
    assert_eq!(
        find(UA)["member"]["roles"],
        serde_json::json!(["recipient"])
    );
    assert_eq!(find(COORD)["member"]["kind"], "secretariat");
    let plain = fx.ok(["member", "list"]);
    let de_line = plain.lines().find(|l| l.starts_with(DE)).unwrap();
    assert!(de_line.contains("key revoked"), "{de_line}");

    // The coordinator rotates a new key in for DE-AA: it signs again.
    let de_new = fx.path("de-new.key");
    fx.ok([
        "key",
        "new",
        "--name",
        DE,
        "--out",
        de_new.to_str().unwrap(),
    ]);
    fx.ok([
        "member",
        "rotate-key",
        "--key",
        &coord,
        "--member",
        DE,
        "--new-vkey",
        ledger::keyfile::pub_path(&de_new).to_str().unwrap(),
    ]);
    fx.ok(offer_args(de_new.to_str().unwrap(), "O-2"));
    // A key already used cannot be rotated in again.
    fx.refused(
        [
            "member",
            "rotate-key",
            "--key",
            &coord,
            "--member",
            EE,
            "--new-vkey",
            &fx.vkey(EE),
        ],
        &["already used"],
    );
    // A verifier key named after another member is refused.
    fx.refused(
        [
            "member",
            "rotate-key",
            "--key",
            ee_new,
            "--new-vkey",
            &fx.vkey(UA),
        ],
        &["--new-vkey", "UA-SSSCIP"],
    );
    let log = fx.log_json();
    assert!(log.iter().all(|e| e["outcome"] == "accepted"));
    assert_eq!(log.len(), 7);
}

#[test]
fn key_new_writes_0600_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::keys_only();
    let key = fx.key(EE);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let before = std::fs::read(&key).unwrap();
    let pub_before = fx.vkey(EE);
    let err = fx.fail(["key", "new", "--name", EE, "--out", key.to_str().unwrap()]);
    assert_one_line(&err, &["already exists", "ee-mfa.key"]);
    assert_eq!(std::fs::read(&key).unwrap(), before, "key untouched");
    assert_eq!(fx.vkey(EE), pub_before, "verifier key untouched");
    // `key show` prints the verifier key of the file.
    let shown = fx.ok(["key", "show", "--key", key.to_str().unwrap()]);
    assert_eq!(shown.trim(), pub_before);
    // JSON output names both files.
    let other = fx.path("x.key");
    let out = fx.ok([
        "--json",
        "key",
        "new",
        "--name",
        "XX-TEST",
        "--out",
        other.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["vkey"].as_str().unwrap().starts_with("XX-TEST+"));
    assert!(v["vkey_file"].as_str().unwrap().ends_with("x.key.pub"));
}

#[test]
fn usage_errors_are_one_line() {
    let fx = Fixture::new();
    for (args, needles) in [
        (vec!["report"], vec!["<VIEW>"]),
        (vec!["need", "--key"], vec!["--key"]),
        (vec!["frobnicate"], vec!["frobnicate"]),
        (
            vec!["report", "donors", "--format", "xml"],
            vec!["--format", "xml", "table, json, csv"],
        ),
    ] {
        let out = fx.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_line(&String::from_utf8_lossy(&out.stderr), &needles);
    }
    let out = fx.run(["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("tallinn "));
}
