//! One verdict everywhere: a hostile member's attacks, driven through the real
//! `tallinn` binary against a real nats-server (and the embedded store), give
//! the same verdicts and digest in every fresh process, on the live log and in
//! its audit bundle; the victims append normally afterwards; the audit fails,
//! with the named reason, wherever the bundle was changed.
//!
//! The attacks (issue "One verdict everywhere"): an event whose `R` carries a
//! small-order component, signed by the attacker with its own key; a copy of
//! another member's event on the attacker's subject (the old lockout); garbage
//! on the attacker's own subject; a forgery in another member's name on the
//! attacker's subject; a back-dated event; edits to a bundle's unsigned and
//! view fields; checkpoints stripped or reordered.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::nats::NatsServer;
use common::*;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::Log;
use ledger::signature::challenge;
use serde_json::Value;
use sha2::{Digest as _, Sha512};

/// Fresh processes that must agree.
const RUNS: usize = 20;

fn on(fx: &Fixture, url: &str, args: &[&str]) -> Command {
    let mut c = fx.cmd(["--nats", url]);
    c.args(args);
    c
}

fn run_ok(mut c: Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn offer(fx: &Fixture, who: &str, id: &str) -> Vec<String> {
    [
        "--json",
        "offer",
        "--key",
        &fx.key_str(who),
        "--id",
        id,
        "--category",
        "hardware",
        "--modality",
        "goods",
        "--description",
        "laptops",
        "--quantity",
        "10",
        "--unit",
        "laptops",
        "--value",
        "12000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The seq of the event a `--json` producer command printed.
fn printed_seq(out: &str) -> u64 {
    let v: Value = serde_json::from_str(out.lines().next().expect("a line")).expect("json");
    v["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq in {out}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A raw JetStream publish on `member`'s subject, as a member's own client can.
fn publish_raw(url: &str, member: &str, payload: Vec<u8>) {
    runtime().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let spec = tallinn_nats::StreamSpec::for_origin(ORIGIN);
        let subject = spec.subject(&member.parse().unwrap());
        js.publish(subject, payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    })
}

/// Every entry of the stream, as the library reads it.
fn entries(url: &str) -> Vec<ledger::log::Entry> {
    runtime().block_on(async {
        let conn = tallinn_nats::Connection::connect(&tallinn_nats::ConnectOptions {
            url: url.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
        let log = tallinn_nats::NatsLog::open(&conn, None).await.unwrap();
        let len = log.len().await.unwrap();
        log.read(1, len as usize).await.unwrap()
    })
}

/// The signing scalar of a key file's seed (RFC 8032: clamped SHA-512 half).
fn secret_scalar(fx: &Fixture, who: &str) -> Scalar {
    let skey = ledger::keyfile::read(&fx.key(who)).unwrap().skey();
    let b64 = skey.trim().splitn(5, '+').nth(4).unwrap();
    let typed = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    let h = Sha512::digest(&typed[1..33]);
    let mut a: [u8; 32] = h[..32].try_into().unwrap();
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    Scalar::from_bytes_mod_order(a)
}

/// `who`'s next offer, signed with its own key but with a point of order 8
/// added to `R`: valid by ZIP 215; a cofactorless batch took it 1 time in 8.
fn torsion_offer(fx: &Fixture, url: &str, who: &str, id: &str) -> Event {
    let (state, _) = ledger::replay::replay(&entries(url));
    let me: MemberId = who.parse().unwrap();
    let body = ledger::body::Body::OfferMade(
        serde_json::from_value(serde_json::json!({
            "offer": format!("{who}/{id}"), "on_behalf_of": null, "category": "hardware",
            "dac_sector": null, "modality": "goods", "description": "routers",
            "quantity": {"amount": 5, "unit": "routers"},
            "value": {"amount_minor": 500000, "currency": "EUR", "eur_minor": 500000},
            "valid_until": null, "answers": []
        }))
        .unwrap(),
    );
    // The fixture's simulated clock, as the CLI's own events use.
    let now: ledger::calendar::Timestamp = NOW.parse().unwrap();
    let env = ledger::producer::next_envelope(&state, ORIGIN, &me, body, now);
    let msg = ledger::event::signed_message(&ledger::codec::encode(&env).unwrap());
    let a = secret_scalar(fx, who);
    let key = EdwardsPoint::mul_base(&a).compress().0;
    let r = Scalar::from(0x5eed_u64) * Scalar::from(now.0 as u64);
    let big_r = (EdwardsPoint::mul_base(&r) + EIGHT_TORSION[1]).compress().0;
    let s = r + challenge(&big_r, &key, &msg) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    let ev = Event::from_signature(env, sig).unwrap();
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    assert!(
        dalek
            .verify_strict(
                ev.signed_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig)
            )
            .is_err(),
        "verify_strict refuses it: the case that used to split verdicts"
    );
    ev
}

/// The verdict of every position and the digest, from one `audit verify --json`.
fn verdicts(report: &Value) -> (BTreeMap<u64, String>, String) {
    let mut by_position = BTreeMap::new();
    for list in ["refused", "notes"] {
        for f in report[list].as_array().unwrap() {
            if let (Some(p), Some(code)) = (f["position"].as_u64(), f["code"].as_str()) {
                by_position.insert(p, code.to_string());
            }
        }
    }
    (by_position, report["digest"].as_str().unwrap().to_string())
}

fn audit_json(mut c: Command) -> (Value, i32) {
    let out = c.output().expect("running tallinn");
    let code = out.status.code().unwrap_or(-1);
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "{c:?}: {e}; stdout {text:?} stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, code)
}

#[test]
fn every_attack_gets_one_verdict_everywhere_and_stops_no_one() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = Fixture::keys_only();
    run_ok(on(
        &fx,
        &url,
        &[
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
    let produce = |who: &str, id: &str| {
        let args = offer(&fx, who, id);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        printed_seq(&run_ok(on(&fx, &url, &args)))
    };
    assert_eq!(produce(DE, "O-1"), 1);
    assert_eq!(produce(EE, "O-1"), 1);

    // 1. EE-MFA copies DE-AA's event onto its own subject (the old lockout):
    //    DE-AA appends next as if nothing happened.
    let de_first = entries(&url)
        .into_iter()
        .find(|e| e.member.as_ref().map(|m| m.as_str()) == Some(DE))
        .unwrap();
    publish_raw(&url, EE, de_first.bytes.clone());
    assert_eq!(produce(DE, "O-2"), 2, "DE-AA is not locked out");
    // 2. Garbage on EE-MFA's own subject: EE-MFA is not locked out either.
    publish_raw(&url, EE, b"not an event at all".to_vec());
    assert_eq!(produce(EE, "O-2"), 2, "garbage on its subject stops no one");
    // 3. A forgery in DE-AA's name on EE-MFA's subject.
    let mut as_de = de_first.bytes.clone();
    as_de[de_first.bytes.len() - 5] ^= 1;
    publish_raw(&url, EE, as_de);
    assert_eq!(produce(DE, "O-3"), 3);
    // 4. EE-MFA's own event with a torsion component in R: accepted, the same
    //    way in every process, and EE-MFA's honest CLI continues its chain.
    let torsion = torsion_offer(&fx, &url, EE, "O-T");
    assert_eq!(torsion.envelope().seq, 3);
    publish_raw(&url, EE, torsion.bytes().to_vec());
    // Each command is a fresh process that judges the torsion event again:
    // the chain only ever grows (it used to publish seq 4, 3, 5, 6, 4, 5).
    for (i, id) in ["O-4", "O-5", "O-6"].iter().enumerate() {
        assert_eq!(
            produce(EE, id),
            4 + i as u64,
            "the honest CLI never equivocates"
        );
    }
    // 5. Back-dating: a checkpoint signed (and witnessed) now, then a need
    //    recorded more than a year earlier.
    run_ok(on(
        &fx,
        &url,
        &["checkpoint", "sign", "--key", &fx.key_str(COORD)],
    ));
    run_ok(on(
        &fx,
        &url,
        &["checkpoint", "cosign", "--key", &fx.key_str(UA2)],
    ));
    let mut need = on(
        &fx,
        &url,
        &[
            "--json",
            "need",
            "--key",
            &fx.key_str(UA),
            "--id",
            "N-OLD",
            "--category",
            "hardware",
            "--description",
            "back-dated",
            "--quantity",
            "1",
            "--unit",
            "pcs",
            "--value",
            "100",
            "--priority",
            "low",
        ],
    );
    need.env("TALLINN_NOW", "2025-02-01T10:00:00Z");
    let backdated = printed_seq(&run_ok(need));
    assert_eq!(
        backdated, 1,
        "accepted: the append time is no longer a verdict"
    );
    assert_eq!(produce(DE, "O-4"), 4);
    // The final checkpoint, cosigned by a witness: the default audit policy.
    run_ok(on(
        &fx,
        &url,
        &["checkpoint", "sign", "--key", &fx.key_str(COORD)],
    ));
    run_ok(on(
        &fx,
        &url,
        &["checkpoint", "cosign", "--key", &fx.key_str(UA2)],
    ));

    // The live log, audited by RUNS fresh processes, and rebuilt by as many.
    let live = || audit_json(on(&fx, &url, &["--json", "audit", "verify"]));
    let (first, code) = live();
    assert_eq!(code, 0, "{first}");
    let (verdicts_live, digest) = verdicts(&first);
    let codes: Vec<&str> = verdicts_live.values().map(String::as_str).collect();
    for want in ["wrong_subject", "malformed", "recorded_before_checkpoint"] {
        assert!(codes.contains(&want), "{want} among {verdicts_live:?}");
    }
    assert_eq!(
        codes.iter().filter(|c| **c == "wrong_subject").count(),
        2,
        "{verdicts_live:?}"
    );
    // Refused entries are attributed to the subject that carried them.
    for f in first["refused"].as_array().unwrap() {
        assert_eq!(f["member"], EE, "{f}");
    }
    for _ in 1..RUNS {
        assert_eq!(verdicts(&live().0), (verdicts_live.clone(), digest.clone()));
    }
    for _ in 0..RUNS {
        let out = run_ok(on(&fx, &url, &["projector", "rebuild"]));
        assert!(
            out.contains(&digest),
            "rebuild gives the audit's digest: {out}"
        );
    }

    // The back-dated need is visible in the integrity view too.
    let integrity = run_ok(on(&fx, &url, &["report", "integrity", "--format", "json"]));
    assert!(
        integrity.contains("recorded_before_checkpoint") && integrity.contains("2025-02-01"),
        "{integrity}"
    );

    // A member's mirror (an embedded copy) holds every entry on the subject
    // that carried it, garbage and copies included, and judges them alike.
    let mirror = fx.path("mirror");
    let mut c = tallinn();
    c.arg("--nats")
        .arg(&url)
        .arg("--dir")
        .arg(&mirror)
        .args(["audit", "mirror"]);
    run_ok(c);
    let mut c = tallinn();
    c.arg("--json")
        .arg("--dir")
        .arg(&mirror)
        .args(["audit", "verify"]);
    let (report, code) = audit_json(c);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdicts(&report), (verdicts_live.clone(), digest.clone()));
    let mut c = tallinn();
    c.arg("--dir").arg(&mirror).args(["projector", "rebuild"]);
    assert!(run_ok(c).contains(&digest), "the mirror's projector agrees");

    // The bundle gives the same verdicts and digest, RUNS times.
    let bundle = fx.path("bundle.json");
    run_ok(on(
        &fx,
        &url,
        &["audit", "export", "--out", bundle.to_str().unwrap()],
    ));
    let offline = |file: &std::path::Path| {
        let mut c = tallinn();
        c.args(["--json", "audit", "verify"]).arg(file);
        audit_json(c)
    };
    for _ in 0..RUNS {
        let (report, code) = offline(&bundle);
        assert_eq!(code, 0, "{report}");
        assert_eq!(verdicts(&report), (verdicts_live.clone(), digest.clone()));
    }
    edits_to_the_bundle_fail_by_name(&fx, &bundle, &verdicts_live, &digest);
    drop(server);
}

/// Each edit of the bundle: the same verdicts and digest (unsigned data), or
/// the audit fails (exit 3) with the named problem.
fn edits_to_the_bundle_fail_by_name(
    fx: &Fixture,
    bundle: &std::path::Path,
    verdicts_live: &BTreeMap<u64, String>,
    digest: &str,
) {
    let original: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let edited = fx.path("edited.json");
    let check = |edit: &dyn Fn(&mut Value), want: Option<&str>| {
        let mut b = original.clone();
        edit(&mut b);
        std::fs::write(&edited, serde_json::to_vec(&b).unwrap()).unwrap();
        let mut c = tallinn();
        c.args(["--json", "audit", "verify"]).arg(&edited);
        let (report, code) = audit_json(c);
        let problems: Vec<&str> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        match want {
            None => {
                assert_eq!(code, 0, "{report}");
                assert_eq!(
                    verdicts(&report),
                    (verdicts_live.clone(), digest.to_string())
                );
            }
            Some(w) => {
                assert_eq!(code, 3, "{want:?}: {report}");
                assert!(problems.contains(&w), "{w} among {problems:?}");
            }
        }
    };
    let events = original["events"].as_array().unwrap().len();
    // Unsigned: the append time of every event moved back by a year.
    check(
        &|b| {
            for e in b["events"].as_array_mut().unwrap() {
                e["appended_at"] = Value::from("2025-01-01T00:00:00Z");
            }
        },
        None,
    );
    let honest = events - 2; // DE-AA's last offer
    check(
        &|b| b["events"][honest]["member"] = Value::from(EE),
        Some("checkpoint_subjects_mismatch"),
    );
    check(
        &|b| b["events"][honest]["seq"] = Value::from(99),
        Some("seq_mismatch"),
    );
    check(
        &|b| b["root"] = Value::from("00".repeat(32)),
        Some("root_mismatch"),
    );
    check(
        &|b| b["origin"] = Value::from("other.example/log"),
        Some("origin_mismatch"),
    );
    check(
        &|b| b["checkpoints"] = Value::Array(vec![]),
        Some("not_covered"),
    );
    check(
        &|b| {
            let cps = b["checkpoints"].as_array_mut().unwrap();
            assert!(cps.len() >= 2, "two checkpoints to reorder");
            cps.reverse();
        },
        Some("checkpoint_order"),
    );
    check(
        &|b| {
            // Two events of different members swapped, checkpoints gone.
            b["checkpoints"] = Value::Array(vec![]);
            let ev = b["events"].as_array_mut().unwrap();
            ev.swap(1, 2);
            ev[1]["position"] = Value::from(2);
            ev[2]["position"] = Value::from(3);
        },
        Some("not_covered"),
    );
}

/// The embedded store: the torsion event appended by its producer is judged
/// the same by RUNS fresh processes, and the producer's CLI continues after it.
#[test]
fn a_torsion_event_on_the_embedded_store_has_one_verdict() {
    let fx = Fixture::new();
    let args = offer(&fx, EE, "O-1");
    assert_eq!(printed_seq(&fx.ok(&args)), 1);
    let store = ledger::store::Store::open(&fx.data.join("log"), std::time::Duration::from_secs(5))
        .unwrap();
    let all = store.read_sync(1, 100).unwrap();
    let (state, _) = ledger::replay::replay(&all);
    let me: MemberId = EE.parse().unwrap();
    let env = ledger::producer::next_envelope(
        &state,
        ORIGIN,
        &me,
        Event::from_bytes(&all[1].bytes)
            .unwrap()
            .envelope()
            .body
            .clone(),
        Event::from_bytes(&all[1].bytes)
            .unwrap()
            .envelope()
            .recorded_at,
    );
    let mut env = env;
    if let ledger::body::Body::OfferMade(o) = &mut env.body {
        o.offer = "EE-MFA/O-T".parse().unwrap();
    }
    let msg = ledger::event::signed_message(&ledger::codec::encode(&env).unwrap());
    let a = secret_scalar(&fx, EE);
    let key = EdwardsPoint::mul_base(&a).compress().0;
    let r = Scalar::from(77u64);
    let big_r = (EdwardsPoint::mul_base(&r) + EIGHT_TORSION[3]).compress().0;
    let s = r + challenge(&big_r, &key, &msg) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    let ev = Event::from_signature(env, sig).unwrap();
    let last = store.last_of(&me);
    let last = runtime().block_on(last).unwrap().map(|e| e.position);
    store
        .append_sync(&me, last, &[ev.bytes().to_vec()], ev.envelope().recorded_at)
        .unwrap();
    drop(store);
    let mut digests = std::collections::BTreeSet::new();
    for _ in 0..RUNS {
        fx.ok(["projector", "rebuild"]);
        digests.insert(fx.ok(["digest"]).trim().to_string());
    }
    assert_eq!(
        digests.len(),
        1,
        "one digest in {RUNS} processes: {digests:?}"
    );
    let args = offer(&fx, EE, "O-2");
    assert_eq!(
        printed_seq(&fx.ok(&args)),
        3,
        "the torsion event holds seq 2"
    );
    let accepted = fx
        .log_json()
        .iter()
        .filter(|e| e["seq"] == 2 && e["member"] == EE)
        .count();
    assert_eq!(accepted, 1);
}
