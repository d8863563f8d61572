//! Properties of the ledger's parsers and verifiers on untrusted input.
//!
//! Shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, through the
//! `tallinn_fuzz` library) and the stable proptests
//! (`ledger/tests/no_panic.rs` includes this file by path), so both drive the
//! same properties. Each function takes arbitrary bytes, must never panic, and
//! asserts what must hold whenever the input parses: exact round trips,
//! agreement between two readers of one format, verifiers that refuse what
//! they must. Only `ledger` and its dependencies may be used here.
#![allow(dead_code)]

use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::checkpoint::{
    cosign, verify_cosignatures, verify_note, Checkpoint, Note, Policy, Verifier, Witness,
};
use ledger::codec;
use ledger::event::{leaf_hash, signed_message, Event};
use ledger::ids::Digest;
use ledger::keys::{parse_vkey, PublicKey, Signer};
use ledger::log::Entry;
use ledger::merkle::{
    consistency_proof, empty_root, inclusion_proof, root_of, verify_consistency,
    verify_consistency_bytes, verify_inclusion, verify_inclusion_bytes, FullTree, MerkleTree,
};
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::subjects::Subjects;
use ledger::tlog_proof::TlogProof;
use ledger::witness::{check_advance, verify_evidence, verify_fork, Evidence, MemberFork};

use crate::fixtures::{golden_state, keys};

/// `envelope`: decoding untrusted leaf bytes as an event.
///
/// When they decode: the leaf, the id, the envelope re-encoding and the signed
/// message are exact; the event rebuilt from its envelope and signature is the
/// same; verifying under a fixed key and under a key taken from the input
/// does not panic; the body's static checks, its JSON view and the rules
/// (judged against the golden ledger as if its signature had verified, so that
/// mutated events reach the business rules) do not panic either.
pub fn envelope(data: &[u8]) {
    let Ok(ev) = Event::from_bytes(data) else {
        return;
    };
    assert_eq!(ev.bytes(), data, "the leaf is the input");
    assert_eq!(ev.id(), leaf_hash(data), "the id is the leaf hash");
    let env = codec::encode(ev.envelope()).expect("a decoded envelope encodes");
    assert_eq!(env, ev.envelope_bytes(), "re-encoding is exact");
    assert_eq!(ev.signed_bytes(), signed_message(&env).as_slice());
    let again = Event::from_signature(ev.envelope().clone(), ev.signature())
        .expect("a decoded envelope encodes");
    assert_eq!(again, ev, "rebuilt from envelope and signature");

    let k = keys();
    let _ = ev.verify(&k.log.public_key());
    let sig = ev.signature();
    let _ = ev.verify(&PublicKey(sig[..32].try_into().expect("32 bytes")));

    let body = &ev.envelope().body;
    let _ = body.validate();
    let _ = (
        body.kind().name(),
        body.required_role(),
        body.created_item(),
    );
    let _ = body.named_items();
    body_json_round_trip(body);

    let mut state = golden_state().clone();
    for subject in [None, Some(&ev.envelope().producer)] {
        let _ = evaluate(&state, &ev, subject, SignatureCheck::AlreadyVerified);
    }
    let outcome = evaluate(&state, &ev, None, SignatureCheck::Verify);
    state.apply(&ev, &outcome);
    let outcome = evaluate(&state, &ev, None, SignatureCheck::AlreadyVerified);
    state.apply(&ev, &outcome);
}

/// The JSON form of a body (the bundle's `body` view, the `publish` input)
/// reads back as the same body, if the body passes its static checks (the
/// signed encoding holds any 32 bytes as a key, its JSON form only a valid
/// vkey: such bodies are rejected by the rules, not by the decoder).
fn body_json_round_trip(body: &Body) {
    let json = serde_json::to_string(body).expect("a body serializes to JSON");
    if body.validate().is_err() {
        return;
    }
    match serde_json::from_str::<Body>(&json) {
        Ok(back) => assert_eq!(&back, body, "JSON round trip of {json}"),
        // Known, reported: a date is any day number in the signed encoding, and
        // neither `Body::validate` nor the rules bound it, but its JSON form
        // is `YYYY-MM-DD`; a date outside the years 0000..=9999 prints as
        // something that form does not read.
        Err(e) if e.to_string().contains("YYYY-MM-DD") => {}
        Err(e) => panic!("the JSON form of a decoded body does not read back: {e}: {json}"),
    }
}

/// `body_jsonl`: one `publish` input line (JSON) into a body, as the CLI reads
/// it (`serde_path_to_error` over `serde_json`, then `Body::validate`). The
/// input is split into lines as `BufRead::lines` does; blank lines are skipped.
///
/// When a line parses: its JSON form reads back as the same body, and its
/// signed encoding decodes back to it; when it also validates, the static
/// checks are stable across the round trip.
pub fn body_jsonl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let de = &mut serde_json::Deserializer::from_str(line);
        let body: Body = match serde_path_to_error::deserialize(de) {
            Ok(body) => body,
            Err(e) => {
                let _ = (e.path().to_string(), e.inner().to_string());
                continue;
            }
        };
        let valid = body.validate();
        let _ = (body.kind(), body.named_items(), body.required_role());
        body_json_round_trip(&body);
        if let Ok(bytes) = codec::encode(&body) {
            let back: Body = codec::decode(&bytes).expect("an encoded body decodes");
            assert_eq!(back, body, "bincode round trip");
            assert_eq!(back.validate().is_ok(), valid.is_ok());
        }
    }
}

/// `note`: signed notes, checkpoints, cosignatures, key texts and the
/// portable evidence JSON.
///
/// A note that parses prints back to exactly its input; a checkpoint text that
/// parses prints back to exactly its input; signature and cosignature checks
/// under the fixed keys (and the policies of threshold 0 and 1) do not panic;
/// a checkpoint that parses, signed and cosigned by the fixed keys, verifies
/// under the policy with its time.
pub fn note(data: &[u8]) {
    let k = keys();
    if let Ok(note) = Note::parse(data) {
        assert_eq!(
            note.to_text().as_bytes(),
            data,
            "a note prints back exactly"
        );
        for sig in &note.signatures {
            let _ = sig.cosignature_time();
            let _ = k.verifier.verify(&note.text, sig);
            let _ = k.witness_key.verify_cosignature(&note.text, sig);
            let line = sig.to_line();
            assert!(line.ends_with('\n'));
        }
        let _ = verify_note(&note, std::slice::from_ref(&k.verifier));
        let _ = verify_cosignatures(&note, std::slice::from_ref(&k.witness_key));
        if let Ok(cp) = Checkpoint::parse_body(&note.text) {
            checkpoint_properties(&cp, &note.text);
        }
    }
    for threshold in [0, 1] {
        let policy = Policy {
            log: k.verifier.clone(),
            witnesses: vec![k.witness_key.clone()],
            threshold,
        };
        if let Ok(v) = policy.verify(data) {
            assert!(v.cosigners.len() >= threshold);
            assert_eq!(v.cosigners.len(), v.cosigned_at.len());
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cp) = Checkpoint::parse_body(text) {
        checkpoint_properties(&cp, text);
    }
    for line in text.lines().take(8) {
        let _ = parse_vkey(line);
        let _ = Verifier::from_vkey(line);
        if let Ok(w) = Witness::from_vkey(line) {
            assert_eq!(Witness::from_vkey(&w.vkey()).as_ref(), Ok(&w));
        }
        let _ = Signer::from_skey(line);
    }
    if let Ok(ev) = serde_json::from_str::<Evidence>(text) {
        let _ = verify_evidence(&ev);
    }
    if let Ok(fork) = serde_json::from_str::<MemberFork>(text) {
        let _ = verify_fork(&fork);
    }
}

/// A parsed checkpoint text prints back exactly, and, signed by the log key
/// and cosigned by the witness, verifies under the policy.
fn checkpoint_properties(cp: &Checkpoint, text: &str) {
    assert_eq!(cp.body_text(), text, "a checkpoint prints back exactly");
    let _ = (cp.time(), cp.subjects());
    let k = keys();
    let time = cp.time().unwrap_or(0);
    let mut note = cp.sign(&k.log).expect("a parsed checkpoint signs");
    note.signatures
        .push(cosign(text, &k.witness, time).expect("a parsed checkpoint cosigns"));
    let policy = Policy {
        log: k.verifier.clone(),
        witnesses: vec![k.witness_key.clone()],
        threshold: 1,
    };
    let v = policy
        .verify(note.to_text())
        .expect("a checkpoint signed by the policy's keys verifies");
    assert_eq!(&v.checkpoint, cp);
    assert_eq!(v.cosigned_at, vec![time]);
    let _ = check_advance(Some(cp), cp, &[]);
}

/// Reads a little-endian u64 from up to 8 bytes (missing bytes are zero).
fn u64_of(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

/// 32-byte hashes from the input (the last one zero-padded).
fn digests(bytes: &[u8]) -> Vec<Digest> {
    bytes
        .chunks(32)
        .map(|c| {
            let mut d = [0u8; 32];
            d[..c.len()].copy_from_slice(c);
            Digest(d)
        })
        .collect()
}

/// `proofs`: offline inclusion proofs (`tlog_proof`) and the Merkle proof
/// verifiers.
///
/// As text: a tlog-proof that parses prints and parses back to itself and
/// checks under the fixed log key without panicking. As bytes (layout:
/// `flags | a: u64 LE | b: u64 LE | hashes...`): the verifiers take sizes,
/// indices and hashes from the input (small ones when `flags & 2`) and must not
/// panic; and proofs made by the trees over `flags >> 2` leaves verify, and
/// refuse any one flipped bit (chosen by the input).
pub fn proofs(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = TlogProof::parse(text) {
            let back = TlogProof::parse(&p.to_text()).expect("a printed proof parses");
            assert_eq!(back, p, "tlog-proof round trip");
            let policy = Policy {
                log: keys().verifier.clone(),
                witnesses: vec![keys().witness_key.clone()],
                threshold: 0,
            };
            if let Ok(inc) = p.verify(&policy) {
                assert_eq!(inc.id, leaf_hash(&p.extra));
                assert!(inc.index < inc.checkpoint.checkpoint.size);
            }
        }
    }
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (mut a, mut b) = (u64_of(rest), u64_of(rest.get(8..).unwrap_or(&[])));
    if flags & 2 != 0 {
        (a, b) = (a % 70, b % 70);
    }
    let hashes = digests(rest.get(16..).unwrap_or(&[]));
    let (first, second) = (
        hashes.first().copied().unwrap_or_default(),
        hashes.get(1).copied().unwrap_or_default(),
    );
    let proof = hashes.get(2..).unwrap_or(&[]);
    // Arbitrary sizes, indices and hashes: refusals, never panics.
    if flags & 1 == 0 {
        let ok = verify_inclusion(&first, a, b, proof, &second).is_ok();
        if ok {
            assert!(a < b);
        }
    } else if verify_consistency(a, b, proof, &first, &second).is_ok() {
        assert!(a <= b);
    }
    let raw: Vec<&[u8]> = rest.get(16..).unwrap_or(&[]).chunks(31).collect();
    let _ = verify_inclusion_bytes(&first.0, a, b, &raw, &second.0);
    let _ = verify_consistency_bytes(a, b, &raw, &first.0, &second.0);
    if let Ok(mut t) = MerkleTree::from_frontier(a, hashes.clone()) {
        let _ = t.root();
        // `push` panics, as documented, on a tree of u64::MAX leaves.
        if t.size() < u64::MAX {
            t.push(first);
            let _ = t.root();
        }
    }

    // Proofs made by the trees verify; one flipped bit is refused.
    let n = u64::from(flags >> 2);
    let leaves: Vec<Digest> = (0..n)
        .map(|i| leaf_hash(&[&i.to_le_bytes()[..], &first.0[..]].concat()))
        .collect();
    let tree = FullTree::from_leaves(leaves.iter().copied());
    assert_eq!(tree.root(), root_of(&leaves));
    assert_eq!(MerkleTree::from_leaves(&leaves).root(), tree.root());
    let (size, index) = (b % (n + 1), a % (n + 1));
    let flip = |proof: &mut Vec<Digest>| {
        if proof.is_empty() {
            return false;
        }
        let at = second.0[0] as usize % proof.len();
        proof[at].0[second.0[1] as usize % 32] ^= 1 << (second.0[2] % 8);
        true
    };
    let root = tree.root_at(size).expect("size within the tree");
    assert_eq!(root, root_of(&leaves[..size as usize]));
    if index < size {
        let mut p = tree.inclusion_proof(index, size).expect("in range");
        assert_eq!(p, inclusion_proof(&leaves, index, size).expect("in range"));
        let leaf = leaves[index as usize];
        verify_inclusion(&leaf, index, size, &p, &root).expect("a made inclusion proof verifies");
        if flip(&mut p) {
            assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
        }
    } else {
        assert!(tree.inclusion_proof(index, size).is_err());
    }
    let (size1, size2) = (index.min(size), index.max(size));
    let mut p = tree.consistency_proof(size1, size2).expect("in range");
    assert_eq!(
        p,
        consistency_proof(&leaves, size1, size2).expect("in range")
    );
    let root1 = tree.root_at(size1).expect("in range");
    let root2 = tree.root_at(size2).expect("in range");
    verify_consistency(size1, size2, &p, &root1, &root2)
        .expect("a made consistency proof verifies");
    if flip(&mut p) {
        assert!(verify_consistency(size1, size2, &p, &root1, &root2).is_err());
    }
    if size1 == 0 {
        assert_eq!(root1, empty_root());
    }
}

/// The payload half of `nats_entry` (what the ledger does with a message's
/// bytes once the subject and headers are read): decode as an event, hash
/// the entry's subject, judge it against the golden ledger on that subject.
pub fn entry_payload(
    member: Option<ledger::ids::MemberId>,
    appended_at: Timestamp,
    payload: &[u8],
) {
    let entry = Entry {
        position: 1,
        appended_at,
        member,
        bytes: payload.to_vec(),
    };
    let mut subjects = Subjects::new();
    subjects.push_entry(&entry);
    assert_eq!(subjects.size, 1);
    if let Ok(ev) = Event::from_bytes(&entry.bytes) {
        let producer = ev.envelope().producer.clone();
        let _ = entry.is_on(&producer, Some(&producer));
        let outcome = evaluate(
            golden_state(),
            &ev,
            entry.member.as_ref(),
            SignatureCheck::AlreadyVerified,
        );
        if entry.member.as_ref().is_some_and(|m| *m != producer) {
            assert_ne!(outcome, Outcome::Accepted, "an event on another's subject");
        }
    }
}
