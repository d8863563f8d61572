//! End-to-end tests of `tallinn checkpoint ...` and `tallinn audit ...` on the
//! real binary: sign, cosign, policy verification, export, verify (file and
//! live), inclusion proofs, a witness refusing a forked checkpoint, and
//! portable equivocation proofs.

mod common;

use std::time::Duration;

use common::{assert_one_line, Fixture, COORD, DE, EE, ORIGIN, UA};
use ledger::checkpoint::Checkpoint;
use ledger::event::leaf_hash;
use serde_json::Value;

fn need(fx: &Fixture, id: &str) -> String {
    fx.ok([
        "need",
        "--key",
        &fx.key_str(UA),
        "--id",
        id,
        "--category",
        "hardware",
        "--description",
        "Laptops",
        "--quantity",
        "10",
        "--unit",
        "laptops",
        "--value",
        "1000.00",
    ])
    .trim()
    .to_string()
}

fn pub_key(fx: &Fixture, id: &str) -> String {
    ledger::keyfile::pub_path(&fx.key(id))
        .to_str()
        .unwrap()
        .to_string()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out:?}: {e}"))
}

#[test]
fn checkpoints_bundles_and_inclusion_proofs() {
    let fx = Fixture::new();
    let ids: Vec<String> = (1..=3).map(|i| need(&fx, &format!("N-{i}"))).collect();
    let (coord, ee, de) = (fx.key_str(COORD), fx.key_str(EE), fx.key_str(DE));

    // Only a coordinator signs checkpoints.
    let err = fx.fail(["checkpoint", "sign", "--key", &fx.key_str(UA)]);
    assert_one_line(&err, &["UA-SSSCIP", "coordinator role"]);
    let note = fx.ok(["checkpoint", "sign", "--key", &coord]);
    assert!(note.starts_with(&format!("{ORIGIN}\n4\n")), "{note}");
    assert!(note.contains("\n\n\u{2014} TM-SECRETARIAT "), "{note}");

    // Two member witnesses cosign; the policy counts them.
    fx.ok(["checkpoint", "cosign", "--key", &ee]);
    let cosigned = fx.ok(["checkpoint", "cosign", "--key", &de]);
    assert_eq!(cosigned.matches('\u{2014}').count(), 3, "{cosigned}");
    let ok = fx.ok(["checkpoint", "verify", "--threshold", "2"]);
    assert!(ok.starts_with("ok: checkpoint of size 4"), "{ok}");
    let err = fx.fail(["checkpoint", "verify", "--threshold", "3"]);
    assert_one_line(&err, &["2 witness cosignatures verified, 3 required"]);
    // Pinned keys: the coordinator's key file and one witness.
    let (cpub, eepub, uapub) = (pub_key(&fx, COORD), pub_key(&fx, EE), pub_key(&fx, UA));
    fx.ok([
        "checkpoint",
        "verify",
        "--log-key",
        &cpub,
        "--witness",
        &eepub,
        "--threshold",
        "1",
    ]);
    let err = fx.fail(["checkpoint", "verify", "--log-key", &uapub]);
    assert_one_line(&err, &["no signature from the log key UA-SSSCIP"]);
    // Fully offline: the note and every key given, no ledger at all.
    let nfile = fx.path("cp.note");
    std::fs::write(&nfile, &cosigned).unwrap();
    let depub = pub_key(&fx, DE);
    let ok = tallinn_offline(&[
        "checkpoint",
        "verify",
        "--note",
        nfile.to_str().unwrap(),
        "--log-key",
        &cpub,
        "--witness",
        &eepub,
        "--witness",
        &depub,
        "--threshold",
        "2",
    ]);
    assert!(ok.contains("cosigned by 2 of 2 witnesses"), "{ok}");
    let shown = fx.ok(["checkpoint", "show"]);
    assert!(shown.contains("TM-SECRETARIAT, EE-MFA, DE-AA"), "{shown}");

    // One more event: a policy that asks for cosignatures is not met by an
    // event no checkpoint covers; without one the audit passes, with a note.
    let late = need(&fx, "N-4");
    let out = fx.run(["audit", "verify", "--threshold", "2"]);
    assert_eq!(out.status.code(), Some(3), "evidence short of the policy");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("no checkpoint covers positions 5..=5"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("AUDIT FAILED"), "{stdout}");
    let out = fx.ok(["audit", "verify", "--threshold", "0"]);
    assert!(out.contains("not yet covered           1"), "{out}");
    assert!(out.contains("not_yet_covered"), "{out}");
    assert!(out.trim_end().ends_with("AUDIT OK"), "{out}");

    // Export, then verify the bundle file: same digest as `tallinn digest`.
    let bundle = fx.path("bundle.json");
    let b = bundle.to_str().unwrap();
    let out = fx.ok(["audit", "export", "--out", b]);
    assert!(out.starts_with("wrote"), "{out}");
    let report = json_of(&fx.ok(["--json", "audit", "verify", b, "--threshold", "0"]));
    assert_eq!(report["problems"], Value::Array(vec![]), "{report}");
    assert_eq!(report["events"], 5);
    assert_eq!(report["checkpoints_verified"], 1);
    assert_eq!(report["cosignatures"], 2);
    assert_eq!(report["not_yet_covered"], 1);
    let digest = fx.ok(["digest"]);
    assert_eq!(report["digest"], digest.trim());

    // An inclusion proof of N-2 against the latest checkpoint, checked offline.
    let proof = fx.ok(["audit", "prove", &ids[1]]);
    assert!(
        proof.starts_with("c2sp.org/tlog-proof@v1\nextra "),
        "{proof}"
    );
    assert!(proof.contains("\nindex 2\n"), "{proof}");
    let pfile = fx.path("n2.proof");
    std::fs::write(&pfile, &proof).unwrap();
    let p = pfile.to_str().unwrap();
    let ok = tallinn_offline(&[
        "audit",
        "check-proof",
        p,
        "--log-key",
        &cpub,
        "--witness",
        &eepub,
        "--threshold",
        "1",
    ]);
    assert!(
        ok.starts_with(&format!(
            "ok: event {} at position 3 is included in the checkpoint of size 4",
            ids[1]
        )),
        "{ok}"
    );
    let err = fx.fail(["audit", "check-proof", p]);
    assert_one_line(&err, &["--log-key", "required"]);
    let err = fx.fail(["audit", "check-proof", p, "--log-key", &uapub]);
    assert_one_line(
        &err,
        &["proof does not verify", "no signature from the log key"],
    );
    std::fs::write(&pfile, proof.replacen("index 2", "index 1", 1)).unwrap();
    let err = fx.fail(["audit", "check-proof", p, "--log-key", &cpub]);
    assert_one_line(&err, &["proof does not verify", "inclusion: root mismatch"]);
    let err = fx.fail(["audit", "prove", &late]);
    assert_one_line(&err, &["position 5", "not yet covered", "size 4"]);
    let err = fx.fail(["audit", "prove", "abc"]);
    assert_one_line(&err, &["EVENT_ID"]);

    // A flipped signature bit in the file fails the audit, naming the event.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let sig = v["events"][2]["signature"].as_str().unwrap().to_string();
    let flipped = if sig.starts_with('A') {
        sig.replacen('A', "B", 1)
    } else {
        format!("A{}", &sig[1..])
    };
    v["events"][2]["signature"] = Value::String(flipped);
    let tampered = fx.path("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = fx.run(["audit", "verify", tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "exit 3: the evidence is broken");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("#3"), "{stdout}");
    assert!(stdout.contains("bad_signature"), "{stdout}");
    assert!(stdout.trim_end().ends_with("AUDIT FAILED"), "{stdout}");
    assert_one_line(&String::from_utf8(out.stderr).unwrap(), &["audit failed: "]);

    // A truncated file is a one-line error, nothing else.
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&tampered, &bytes[..bytes.len() / 2]).unwrap();
    let err = fx.fail(["audit", "verify", tampered.to_str().unwrap()]);
    assert_one_line(&err, &["tampered.json", "truncated"]);
}

/// Runs `tallinn` with no ledger directory at all (offline checks).
fn tallinn_offline(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = common::tallinn()
        .arg("--dir")
        .arg(dir.path().join("none"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_witness_refuses_a_forked_checkpoint_and_keeps_portable_evidence() {
    let fx = Fixture::new();
    need(&fx, "N-1");
    need(&fx, "N-2");
    let ee = fx.key_str(EE);
    fx.ok(["checkpoint", "sign", "--key", &fx.key_str(COORD)]);
    fx.ok(["checkpoint", "cosign", "--key", &ee]);

    // The log operator signs a second tree of size 3 with another root.
    let coord = ledger::keyfile::read(&fx.key(COORD)).unwrap();
    let forged = Checkpoint::new(ORIGIN, 3, leaf_hash(b"another history"))
        .unwrap()
        .sign(&coord)
        .unwrap();
    let note = fx.path("forged.note");
    std::fs::write(&note, forged.to_text()).unwrap();
    let err = fx.fail([
        "checkpoint",
        "cosign",
        "--key",
        &ee,
        "--note",
        note.to_str().unwrap(),
    ]);
    assert_one_line(
        &err,
        &[
            "refused to cosign",
            "inconsistent checkpoints",
            "evidence #1 kept",
        ],
    );

    // The evidence is portable: a third party checks it with nothing but the file.
    let out = fx.ok(["audit", "equivocation"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let ev = json_of(lines[0]);
    assert_eq!(ev["kind"], "inconsistent_checkpoints");
    let file = fx.path("evidence.json");
    std::fs::write(&file, lines[0]).unwrap();
    let verdict = tallinn_offline(&["audit", "check-equivocation", file.to_str().unwrap()]);
    assert_eq!(
        verdict.trim(),
        "proven: the log signed two different trees of size 3"
    );
    // Altered evidence is refused.
    let mut bad = ev.clone();
    bad["new_note"] = bad["old_note"].clone();
    std::fs::write(&file, bad.to_string()).unwrap();
    let err = fx.fail(["audit", "check-equivocation", file.to_str().unwrap()]);
    assert_one_line(&err, &["not evidence of a fork", "consistent"]);

    // The honest log goes on: a later checkpoint is consistent and cosigned.
    need(&fx, "N-3");
    fx.ok(["checkpoint", "sign", "--key", &fx.key_str(COORD)]);
    let out = fx.ok(["checkpoint", "cosign", "--key", &ee]);
    assert!(out.starts_with(&format!("{ORIGIN}\n4\n")), "{out}");
}

#[test]
fn a_member_fork_in_the_log_gives_a_portable_proof() {
    let fx = Fixture::new();
    need(&fx, "N-1");
    need(&fx, "N-2");
    // UA-SSSCIP (a buggy or hostile client) signs a second event with seq 2
    // and slips it into the log past the CLI's pre-check.
    {
        let store =
            ledger::store::Store::open(&fx.data.join("log"), Duration::from_secs(5)).unwrap();
        let entries = store.read_sync(1, usize::MAX).unwrap();
        let (state, _) = ledger::replay::replay(&entries);
        let ua: ledger::ids::MemberId = UA.parse().unwrap();
        let chain = state.chain(&ua);
        let env = ledger::envelope::Envelope {
            version: 1,
            origin: ORIGIN.into(),
            producer: ua.clone(),
            seq: 2,
            prev: chain.id_at(1).unwrap(),
            recorded_at: "2026-06-01T12:00:00Z".parse().unwrap(),
            body: ledger::body::Body::KeyRevoked(ledger::body::KeyRevoked {
                member: ua.clone(),
                reason: "fork".into(),
            }),
        };
        let signer = ledger::keyfile::read(&fx.key(UA)).unwrap();
        let ev = ledger::event::Event::sign(env, &signer).unwrap();
        let last = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        store
            .append_sync(&ua, last, &[ev.bytes().to_vec()], chain.last_recorded)
            .unwrap();
    }
    // The evidence holds (no checkpoint is asked for): the fork is an entry
    // the ledger refused, listed; exit 0, or 4 with --fail-on-refused.
    let out = fx.run(["audit", "verify", "--threshold", "0"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("REFUSED BY THE LEDGER (1"), "{stdout}");
    assert!(stdout.contains("#4"), "{stdout}");
    assert!(stdout.contains("equivocation"), "{stdout}");
    let out = fx.run(["audit", "verify", "--threshold", "0", "--fail-on-refused"]);
    assert_eq!(out.status.code(), Some(4));
    assert_one_line(
        &String::from_utf8(out.stderr).unwrap(),
        &["1 entries the ledger refused"],
    );
    // The default policy asks for a cosigned checkpoint over every event.
    let out = fx.run(["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));

    let out = fx.ok(["audit", "equivocation"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(json_of(lines[0])["kind"], "member_fork");
    let file = fx.path("fork.json");
    std::fs::write(&file, lines[0]).unwrap();
    let verdict = tallinn_offline(&["audit", "check-equivocation", file.to_str().unwrap()]);
    assert!(
        verdict.starts_with("proven: UA-SSSCIP signed two different events with seq 2"),
        "{verdict}"
    );
}

#[test]
fn the_projector_issues_checkpoints_every_n_events() {
    let fx = Fixture::new();
    need(&fx, "N-1");
    let coord = fx.key_str(COORD);
    let catch_up = |fx: &Fixture| {
        fx.ok([
            "projector",
            "catch-up",
            "--checkpoint-key",
            &coord,
            "--checkpoint-every",
            "3",
        ])
    };
    catch_up(&fx);
    assert_eq!(
        fx.ok(["checkpoint", "show"]),
        "",
        "2 events: fewer than 3 since none"
    );
    need(&fx, "N-2");
    catch_up(&fx);
    let shown = fx.ok(["checkpoint", "show"]);
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(shown.trim_start().starts_with("3  "), "{shown}");
    need(&fx, "N-3");
    catch_up(&fx);
    assert_eq!(
        fx.ok(["checkpoint", "show"]).lines().count(),
        1,
        "1 event since size 3"
    );
    // Only a coordinator's key issues them.
    let err = fx.fail([
        "projector",
        "catch-up",
        "--checkpoint-key",
        &fx.key_str(UA),
        "--checkpoint-every",
        "1",
    ]);
    assert_one_line(
        &err,
        &["--checkpoint-key", "UA-SSSCIP is not a coordinator"],
    );
    // No witness cosigned: the default policy (one cosignature) is not met.
    let out = fx.run(["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("too_few_cosignatures"));
    let out = fx.ok(["audit", "verify", "--threshold", "0"]);
    assert!(out.contains("checkpoints verified      1 of 1"), "{out}");
}

#[test]
fn a_witness_keeps_its_own_state_file() {
    let fx = Fixture::new();
    need(&fx, "N-1");
    let de = fx.key_str(DE);
    let state = fx.path("de-witness.state");
    let st = state.to_str().unwrap();
    fx.ok(["checkpoint", "sign", "--key", &fx.key_str(COORD)]);
    fx.ok(["checkpoint", "cosign", "--key", &de, "--state", st]);
    let kept = std::fs::read_to_string(&state).unwrap();
    assert!(kept.starts_with(&format!("{ORIGIN}\n2\n")), "{kept}");
    assert!(kept.contains("\u{2014} DE-AA "), "{kept}");
    // The ledger's own record of this witness is not used (nor written).
    let coord = ledger::keyfile::read(&fx.key(COORD)).unwrap();
    let forged = Checkpoint::new(ORIGIN, 2, leaf_hash(b"rewritten"))
        .unwrap()
        .sign(&coord)
        .unwrap();
    let note = fx.path("forged.note");
    std::fs::write(&note, forged.to_text()).unwrap();
    let err = fx.fail([
        "checkpoint",
        "cosign",
        "--key",
        &de,
        "--state",
        st,
        "--note",
        note.to_str().unwrap(),
    ]);
    assert_one_line(&err, &["refused to cosign", "inconsistent checkpoints"]);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        kept,
        "state unchanged"
    );
    // Without --state the same witness has no history in the ledger: the
    // forged root is still refused because it does not match the log.
    let err = fx.fail([
        "checkpoint",
        "cosign",
        "--key",
        &de,
        "--note",
        note.to_str().unwrap(),
    ]);
    assert_one_line(&err, &["refused to cosign", "the log gives"]);
}
