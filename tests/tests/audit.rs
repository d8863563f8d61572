//! The auditor against a tampered bundle: each kind of tampering the issue lists
//! is caught with its exact reason, and the untouched bundle passes.
//!
//! The ledger is built in memory with the ledger library (genesis, then needs
//! by two recipient institutions), checkpointed at sizes 6 and 11 by the
//! coordinator and cosigned by a member witness, then exported as a bundle.
//! Each test mutates the wire form, round-trips it through JSON (as a file
//! would) and audits it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ledger::body::{Body, Genesis, Need, Priority};
use ledger::bundle::{Bundle, BundleError};
use ledger::calendar::Timestamp;
use ledger::category::Category;
use ledger::checkpoint::{cosign, Checkpoint};
use ledger::envelope::Envelope;
use ledger::event::{leaf_hash, Event};
use ledger::ids::{Digest, MemberId};
use ledger::keys::Signer;
use ledger::log::Entry;
use ledger::member::{Member, MemberKind, Role};
use ledger::merkle::FullTree;
use ledger::money::{Money, Quantity};
use ledger::producer::next_event;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::state::State;
use ledger::witness::{verify_evidence, verify_fork, Evidence, EvidenceVerdict, MemberFork};
use projector::audit::{audit, audit_on, export, AuditInput, Report, Trust, Workspace};

const ORIGIN: &str = "tallinn-mechanism.example/ledger";
const COORD: &str = "TM-SECRETARIAT";
const UA: &str = "UA-SSSCIP";
const UA2: &str = "UA-MINDIGITAL";
const START: Timestamp = Timestamp(1_767_225_600_000);
/// Cosignature time (Unix seconds), fixed: nothing reads a clock.
const COSIGNED_AT: u64 = 1_767_300_000;

fn signer(id: &str) -> Signer {
    let seed = match id {
        COORD => 1,
        UA => 2,
        UA2 => 3,
        _ => 9,
    };
    Signer::from_seed(id, [seed; 32]).unwrap()
}

fn mid(id: &str) -> MemberId {
    id.parse().unwrap()
}

fn member(id: &str, kind: MemberKind, role: Role) -> Member {
    Member {
        id: mid(id),
        name: format!("{id} (test)"),
        kind,
        country: "UA".into(),
        roles: vec![role],
        key: signer(id).public_key(),
    }
}

fn need(owner: &str, n: u64) -> Body {
    Body::NeedStated(Need {
        need: format!("{owner}/N-{n}").parse().unwrap(),
        recipient: mid(owner),
        category: Category::Hardware,
        dac_sector: None,
        description: format!("Laptops for team {n}"),
        quantity: Quantity {
            amount: n,
            unit: "laptops".into(),
        },
        estimated_value: Money::eur(1000 * n),
        priority: Priority::High,
        needed_by: None,
    })
}

/// The in-memory ledger: its state and entries.
struct Built {
    state: State,
    entries: Vec<Entry>,
}

impl Built {
    fn new() -> Built {
        let mut b = Built {
            state: State::new(),
            entries: Vec::new(),
        };
        let genesis = Body::Genesis(Genesis {
            origin: ORIGIN.into(),
            coordinator: member(COORD, MemberKind::Secretariat, Role::Coordinator),
            members: vec![
                member(UA, MemberKind::RecipientInstitution, Role::Recipient),
                member(UA2, MemberKind::RecipientInstitution, Role::Recipient),
            ],
        });
        b.emit(COORD, genesis);
        for n in 1..=10 {
            b.emit(
                if n % 2 == 1 { UA } else { UA2 },
                need(if n % 2 == 1 { UA } else { UA2 }, n),
            );
        }
        b
    }

    fn now(&self) -> Timestamp {
        START.add_ms(self.entries.len() as i64 * 60_000)
    }

    /// Signs the next event of `who` and appends it (it must be accepted).
    fn emit(&mut self, who: &str, body: Body) -> Event {
        let now = self.now();
        let ev = next_event(&self.state, ORIGIN, &mid(who), body, now, &signer(who)).unwrap();
        let outcome = evaluate(&self.state, &ev, None, SignatureCheck::Verify);
        assert_eq!(outcome, Outcome::Accepted);
        self.state.apply(&ev, &outcome);
        self.push_bytes(ev.bytes().to_vec());
        ev
    }

    fn push_bytes(&mut self, bytes: Vec<u8>) {
        let now = self.now();
        self.entries.push(Entry {
            position: self.entries.len() as u64 + 1,
            appended_at: now,
            member: None,
            bytes,
        });
    }

    /// UA-SSSCIP signs a second, different event with the seq of its last
    /// one (a fork), appended; returns that seq.
    fn fork_ua(&mut self) -> u64 {
        let last = self.state.chain(&mid(UA)).seq();
        let prev = self.state.chain(&mid(UA)).id_at(last - 1).unwrap();
        let env = Envelope {
            version: 1,
            origin: ORIGIN.into(),
            producer: mid(UA),
            seq: last,
            prev,
            recorded_at: self.now(),
            body: need(UA, 99),
        };
        let fork = Event::sign(env, &signer(UA)).unwrap();
        self.push_bytes(fork.bytes().to_vec());
        last
    }

    fn tree(&self) -> FullTree {
        FullTree::from_leaves(self.entries.iter().map(|e| leaf_hash(&e.bytes)))
    }

    /// A checkpoint of the first `size` entries, signed by the coordinator and
    /// cosigned by UA-SSSCIP as witness.
    fn checkpoint(&self, size: u64) -> String {
        let root = self.tree().root_at(size).unwrap();
        let mut note = Checkpoint::new(ORIGIN, size, root)
            .unwrap()
            .sign(&signer(COORD))
            .unwrap();
        note.signatures
            .push(cosign(&note.text, &signer(UA), COSIGNED_AT).unwrap());
        note.to_text()
    }
}

/// The clean bundle: 11 events, checkpoints at 6 and 11.
fn clean() -> (Built, Bundle) {
    let b = Built::new();
    let notes = vec![b.checkpoint(6), b.checkpoint(11)];
    let bundle = export(&b.entries, notes).unwrap();
    (b, bundle)
}

/// Round-trips through JSON bytes (as a file would) and audits with a threshold of 1.
fn check(bundle: &Bundle) -> Report {
    check_with(bundle, 1)
}

/// [`check`] with another threshold.
fn check_with(bundle: &Bundle, threshold: usize) -> Report {
    let bytes = serde_json::to_vec(bundle).unwrap();
    let parsed = Bundle::from_json(&bytes).unwrap();
    let input = AuditInput {
        events: parsed.decode().unwrap(),
        checkpoints: parsed.checkpoints.clone(),
        stated_size: Some(parsed.size),
        stated_root: Some(parsed.root),
        stated_origin: Some(parsed.origin.clone()),
    };
    audit(
        input,
        &Trust {
            threshold,
            ..Trust::default()
        },
    )
    .unwrap()
}

/// Problems and refused entries together, events by position, then
/// checkpoints by size, then the bundle as a whole.
fn all(r: &Report) -> Vec<projector::audit::Finding> {
    let mut v: Vec<_> = r.problems.iter().chain(&r.refused).cloned().collect();
    v.sort_by_key(|f| match (f.position, f.checkpoint) {
        (Some(p), _) => (0, p),
        (None, Some(size)) => (1, size),
        (None, None) => (2, 0),
    });
    v
}

/// The problem codes at event `position`, in report order.
fn at(r: &Report, position: u64) -> Vec<String> {
    all(r)
        .iter()
        .filter(|f| f.position == Some(position))
        .map(|f| f.code.clone())
        .collect()
}

/// The problem codes at the checkpoint of `size`, in report order.
fn at_cp(r: &Report, size: u64) -> Vec<String> {
    all(r)
        .iter()
        .filter(|f| f.checkpoint == Some(size))
        .map(|f| f.code.clone())
        .collect()
}

fn first(r: &Report) -> (Option<u64>, String) {
    let f = all(r).into_iter().next().expect("at least one problem");
    (f.position, f.code)
}

fn flip_b64(text: &str, byte: usize, bit: u8) -> String {
    let mut raw = B64.decode(text).unwrap();
    raw[byte] ^= 1 << bit;
    B64.encode(raw)
}

#[test]
fn the_clean_bundle_passes_and_matches_a_projector() {
    let (b, bundle) = clean();
    let r = check(&bundle);
    assert!(r.ok(), "{:#?}", r.problems);
    assert_eq!(r.events, 11);
    assert_eq!(r.signatures_verified, 11);
    assert_eq!(r.chain_links, 11);
    assert_eq!(r.accepted, 11);
    assert_eq!((r.checkpoints, r.checkpoints_verified), (2, 2));
    assert_eq!(r.cosignatures, 2);
    assert_eq!((r.covered, r.not_yet_covered), (11, 0));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!(r.root, b.tree().root());
    // The digest is the one any projector computes over the same log.
    let mut state = State::new();
    let mut model = projector::model::Model::new();
    projector::fold::fold_entries(
        &mut state,
        &mut model,
        &b.entries,
        projector::fold::Filter::All,
    );
    assert_eq!(r.digest, projector::digest::digest_hex(&model));
    // The live-log form (bytes only) agrees.
    let live = audit(
        AuditInput::from_entries(b.entries.clone(), bundle.checkpoints.clone()),
        &Trust::default(),
    )
    .unwrap();
    assert!(live.ok());
    assert_eq!(live.digest, r.digest);
}

#[test]
fn a_flipped_bit_in_an_envelope() {
    let (_, mut bundle) = clean();
    // Position 4 is UA-SSSCIP's need 3; flip a bit in its description text
    // ("team" becomes "ueam": the envelope still decodes).
    let env = &bundle.events[3].envelope;
    let raw = B64.decode(env).unwrap();
    let at_text = raw.windows(4).position(|w| w == b"team").unwrap();
    bundle.events[3].envelope = flip_b64(env, at_text, 0);
    let r = check(&bundle);
    assert_eq!(first(&r), (Some(4), "id_mismatch".to_string()));
    assert_eq!(at(&r, 4), ["id_mismatch", "body_mismatch", "bad_signature"]);
    assert_eq!(r.refused[0].code, "bad_signature");
    assert_eq!(at_cp(&r, 6), ["checkpoint_root_mismatch"]);
    assert_eq!(at_cp(&r, 11), ["checkpoint_root_mismatch"]);
}

#[test]
fn a_flipped_bit_in_a_signature() {
    let (_, mut bundle) = clean();
    bundle.events[4].signature = flip_b64(&bundle.events[4].signature, 10, 3);
    // Restate the id so only the signature is wrong.
    let mut leaf = B64.decode(&bundle.events[4].envelope).unwrap();
    leaf.extend(B64.decode(&bundle.events[4].signature).unwrap());
    bundle.events[4].id = leaf_hash(&leaf);
    let r = check(&bundle);
    assert_eq!(first(&r), (Some(5), "bad_signature".to_string()));
    assert_eq!(at(&r, 5), ["bad_signature"]);
    let f = &all(&r)[0];
    assert_eq!(f.member.as_deref(), Some(UA2));
    assert_eq!(f.id, Some(leaf_hash(&leaf)));
    assert_eq!(at_cp(&r, 6), ["checkpoint_root_mismatch"]);
}

#[test]
fn a_flipped_bit_in_a_checkpoint_root() {
    let (_, mut bundle) = clean();
    let note = bundle.checkpoints[0].clone();
    let root_line = note.lines().nth(2).unwrap().to_string();
    let flipped = flip_b64(&root_line, 0, 0);
    bundle.checkpoints[0] = note.replacen(&root_line, &flipped, 1);
    let r = check(&bundle);
    assert!(at(&r, 1).is_empty());
    assert_eq!(
        at_cp(&r, 6),
        [
            "checkpoint_bad_signature",
            "checkpoint_root_mismatch",
            "checkpoint_bad_cosignature"
        ]
    );
    // The next checkpoint still holds: only the altered one is reported.
    assert!(at_cp(&r, 11).is_empty());
    assert_eq!(r.checkpoints_verified, 1);
}

#[test]
fn an_event_removed_from_the_middle() {
    let (_, mut bundle) = clean();
    bundle.events.remove(6);
    let r = check(&bundle);
    assert_eq!(first(&r), (Some(7), "position".to_string()));
    assert!(all(&r)[0].reason.contains("states position 8, expected 7"));
    // Renumbering the positions does not help: the chain and the roots break.
    for (i, e) in bundle.events.iter_mut().enumerate() {
        e.position = i as u64 + 1;
    }
    let r = check(&bundle);
    assert_eq!(at(&r, 8), ["gap"], "{:#?}", r.refused);
    assert!(at_cp(&r, 11).contains(&"checkpoint_beyond_bundle".to_string()));
    // Positions 7..=10 are no longer covered by any checkpoint that holds.
    assert_eq!(first(&r), (Some(7), "not_covered".to_string()));
}

#[test]
fn two_events_swapped() {
    let (_, mut bundle) = clean();
    bundle.events.swap(7, 9);
    let r = check(&bundle);
    assert_eq!(first(&r), (Some(8), "position".to_string()));
    for (i, e) in bundle.events.iter_mut().enumerate() {
        e.position = i as u64 + 1;
    }
    let r = check(&bundle);
    // UA-MINDIGITAL's seq 5 now comes before its seq 4: a gap, then the roots.
    assert_eq!(first(&r), (Some(8), "gap".to_string()), "{:#?}", r.problems);
    assert_eq!(at_cp(&r, 11), ["checkpoint_root_mismatch"]);
}

#[test]
fn an_event_re_signed_with_another_members_key() {
    let (_, mut bundle) = clean();
    // Position 8 is UA-SSSCIP's; re-sign its envelope with UA-MINDIGITAL's key.
    let env = B64.decode(&bundle.events[7].envelope).unwrap();
    let sig = signer(UA2).sign_raw(&ledger::event::signed_message(&env));
    bundle.events[7].signature = B64.encode(sig);
    let mut leaf = env.clone();
    leaf.extend(sig);
    bundle.events[7].id = leaf_hash(&leaf);
    bundle.events[7].signer = Some(signer(UA2).vkey());
    let r = check(&bundle);
    assert_eq!(first(&r), (Some(8), "signer_mismatch".to_string()));
    assert_eq!(at(&r, 8), ["signer_mismatch", "bad_signature"]);
    assert!(all(&r)[1]
        .reason
        .contains("UA-SSSCIP's active key (forgery)"));
}

#[test]
fn a_replayed_old_event() {
    let (b, mut bundle) = clean();
    let mut replay = bundle.events[2].clone();
    replay.position = 12;
    bundle.events.push(replay);
    bundle.size = 12;
    // The stated root restated too: only the replay itself is left to find.
    let leaves: Vec<_> = bundle.events.iter().map(|e| e.id).collect();
    bundle.root = ledger::merkle::root_of(&leaves);
    let r = check_with(&bundle, 0);
    assert_eq!(at(&r, 12), ["duplicate"]);
    assert!(
        r.ok(),
        "a replay is refused by the ledger, not broken evidence"
    );
    assert_eq!(r.refused.len(), 1, "{:#?}", r.refused);
    assert!(r.refused[0].reason.contains("already at position 3"));
    assert_eq!(r.refused[0].id, Some(leaf_hash(&b.entries[2].bytes)));
    // The policy's threshold asks for it to be covered by a checkpoint.
    assert_eq!(at(&check(&bundle), 12), ["not_covered", "duplicate"]);
}

#[test]
fn a_member_fork_and_its_portable_proof() {
    let (mut b, _) = clean();
    let last = b.fork_ua();
    let bundle = export(&b.entries, vec![b.checkpoint(6), b.checkpoint(12)]).unwrap();
    let r = check(&bundle);
    assert_eq!(at(&r, 12), ["equivocation"]);
    assert_eq!(all(&r).len(), 1, "{:#?}", r.problems);
    assert_eq!(r.forks.len(), 1);
    let f = &r.forks[0];
    assert_eq!((f.first, f.second), (10, 12));
    let proof = MemberFork {
        kind: ledger::witness::FORK_KIND.into(),
        vkey: f.vkey.clone(),
        events: [
            hex::encode(&b.entries[9].bytes),
            hex::encode(&b.entries[11].bytes),
        ],
    };
    let shown = verify_fork(&proof).unwrap();
    assert_eq!((shown.member.as_str(), shown.seq), (UA, last));
    // The same event twice is not a fork.
    let same = MemberFork {
        events: [proof.events[0].clone(), proof.events[0].clone()],
        ..proof
    };
    assert!(verify_fork(&same).unwrap_err().contains("same event"));
}

#[test]
fn a_checkpoint_signed_by_an_unknown_key() {
    let (b, mut bundle) = clean();
    let stranger = Signer::from_seed(COORD, [77; 32]).unwrap();
    let root = b.tree().root();
    bundle.checkpoints[1] = Checkpoint::new(ORIGIN, 11, root)
        .unwrap()
        .sign(&stranger)
        .unwrap()
        .to_text();
    let r = check(&bundle);
    // Signed under the coordinator's name, but not with its key; and no witness cosigned.
    assert_eq!(
        at_cp(&r, 11),
        ["checkpoint_unknown_key", "too_few_cosignatures"]
    );
    assert!(all(&r)[0].reason.contains("not signed by a log key"));
    assert_eq!(r.checkpoints_verified, 1);
}

#[test]
fn two_inconsistent_checkpoints_from_the_log() {
    let (b, mut bundle) = clean();
    // The coordinator also signs a tree of size 11 in which one event differs.
    let mut leaves: Vec<Digest> = b.tree().leaves().to_vec();
    leaves[3] = leaf_hash(b"another history");
    let other = FullTree::from_leaves(leaves).root();
    let forged = Checkpoint::new(ORIGIN, 11, other)
        .unwrap()
        .sign(&signer(COORD))
        .unwrap();
    let mut forged_note = forged.clone();
    forged_note
        .signatures
        .push(cosign(&forged.text, &signer(UA), COSIGNED_AT).unwrap());
    bundle.checkpoints.push(forged_note.to_text());
    let r = check(&bundle);
    assert_eq!(
        at_cp(&r, 11),
        ["checkpoint_root_mismatch", "inconsistent_checkpoints"]
    );
    // The two signed notes are a transferable proof on their own.
    let ev = Evidence {
        kind: ledger::witness::EVIDENCE_KIND.into(),
        log_key: signer(COORD).vkey(),
        old_note: bundle.checkpoints[1].clone(),
        new_note: forged.to_text(),
        proof: vec![],
        reason: String::new(),
    };
    assert_eq!(
        verify_evidence(&ev),
        Ok(EvidenceVerdict::SameSizeFork { size: 11 })
    );
}

#[test]
fn a_truncated_bundle() {
    let (_, mut bundle) = clean();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let err = Bundle::from_json(&bytes[..bytes.len() * 2 / 3]).unwrap_err();
    assert!(matches!(err, BundleError::Json(_)), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    // Cut short after the events' end but with its checkpoints kept.
    bundle.events.truncate(8);
    let r = check_with(&bundle, 0);
    assert_eq!(at_cp(&r, 11), ["checkpoint_beyond_bundle"]);
    assert!(all(&r)[0].reason.contains("only 8 events"));
    let found = all(&r);
    let codes: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        ["checkpoint_beyond_bundle", "bundle_size", "root_mismatch"]
    );
    assert!(all(&r)[1].reason.contains("states 11 events but holds 8"));
    assert_eq!(first(&check(&bundle)), (Some(7), "not_covered".to_string()));
    // Cut after the last checkpoint, the stated size still gives it away.
    let (mut b, _) = clean();
    b.emit(UA, need(UA, 11));
    let mut more = export(&b.entries, vec![b.checkpoint(6), b.checkpoint(11)]).unwrap();
    more.events.pop();
    let r = check(&more);
    let found = all(&r);
    let codes: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["bundle_size", "root_mismatch"]);
}

#[test]
fn an_event_after_the_last_checkpoint_is_not_yet_covered() {
    let (mut b, bundle) = clean();
    b.emit(UA, need(UA, 11));
    let mut more = export(&b.entries, bundle.checkpoints.clone()).unwrap();
    more.checkpoints = bundle.checkpoints;
    let r = check_with(&more, 0);
    assert!(r.ok(), "{:#?}", r.problems);
    assert_eq!((r.covered, r.not_yet_covered), (11, 1));
    assert_eq!(r.notes.len(), 1);
    assert_eq!(r.notes[0].code, "not_yet_covered");
    assert_eq!(r.notes[0].position, Some(12));
    // A policy that asks for cosignatures is not met by an uncovered event.
    let r = check(&more);
    assert_eq!(at(&r, 12), ["not_covered"]);
    assert!(r.problems[0]
        .reason
        .contains("no checkpoint covers positions 12..=12"));
}

#[test]
fn too_few_cosignatures_fail_the_policy() {
    let (_, bundle) = clean();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let parsed = Bundle::from_json(&bytes).unwrap();
    let r = audit(
        AuditInput {
            events: parsed.decode().unwrap(),
            checkpoints: parsed.checkpoints,
            stated_size: Some(parsed.size),
            stated_root: Some(parsed.root),
            stated_origin: Some(parsed.origin.clone()),
        },
        &Trust {
            threshold: 2,
            ..Trust::default()
        },
    )
    .unwrap();
    assert_eq!(at_cp(&r, 6), ["too_few_cosignatures"]);
    assert_eq!(at_cp(&r, 11), ["too_few_cosignatures"]);
}

#[test]
fn pipelined_folding_matches_folding_one_event_at_a_time() {
    // Long enough for several pipeline steps, with a forgery and a malformed
    // entry past the first step boundary.
    let mut b = Built::new();
    for n in 11..=(2 * projector::fold::PIPELINE_STEP as u64 + 300) {
        let who = if n % 2 == 1 { UA } else { UA2 };
        b.emit(who, need(who, n));
    }
    let mut entries = b.entries.clone();
    let k = projector::fold::PIPELINE_STEP + 77;
    let last = entries[k].bytes.len() - 1;
    entries[k].bytes[last] ^= 0x40;
    entries[k + 500].bytes.truncate(30);
    let fold = |batch: usize| {
        let mut state = State::new();
        let mut model = projector::model::Model::new();
        for chunk in entries.chunks(batch) {
            projector::fold::fold_entries(
                &mut state,
                &mut model,
                chunk,
                projector::fold::Filter::All,
            );
        }
        model
    };
    let (whole, single) = (fold(entries.len()), fold(1));
    assert_eq!(whole, single);
    let codes: Vec<(u64, &str)> = whole
        .rejected
        .iter()
        .map(|r| (r.position, r.code.as_str()))
        .collect();
    let (p, q) = (k as u64 + 1, k as u64 + 501);
    assert_eq!(codes[..2], [(p, "bad_signature"), (p + 2, "gap")]);
    assert!(codes.contains(&(q, "malformed")), "{codes:?}");
}

#[test]
fn a_witness_that_rotated_its_key_since_still_counts_once() {
    use ledger::body::KeyRotated;
    let mut b = Built::new();
    // The log checkpoints size 11; UA-SSSCIP then rotates its key, and cosigns
    // that checkpoint only afterwards, with its new key.
    let root = b.tree().root_at(11).unwrap();
    let mut note = Checkpoint::new(ORIGIN, 11, root)
        .unwrap()
        .sign(&signer(COORD))
        .unwrap();
    let new_key = Signer::from_seed(UA, [42; 32]).unwrap();
    b.emit(
        UA,
        Body::KeyRotated(KeyRotated {
            member: mid(UA),
            new_key: new_key.public_key(),
        }),
    );
    note.signatures
        .push(cosign(&note.text, &new_key, COSIGNED_AT).unwrap());
    let late = note.to_text();
    let r = check_with(&export(&b.entries, vec![late]).unwrap(), 0);
    assert!(r.ok(), "{:#?}", r.problems);
    assert_eq!(r.cosignatures, 1);
    // Cosigned with both its old and its new key, the member counts once.
    note.signatures
        .push(cosign(&note.text, &signer(UA), COSIGNED_AT).unwrap());
    let both = note.to_text();
    let input = |text: &str| {
        let bundle = export(&b.entries, vec![text.to_string()]).unwrap();
        let parsed = Bundle::from_json(&serde_json::to_vec(&bundle).unwrap()).unwrap();
        AuditInput {
            events: parsed.decode().unwrap(),
            checkpoints: parsed.checkpoints,
            stated_size: Some(parsed.size),
            stated_root: Some(parsed.root),
            stated_origin: Some(parsed.origin.clone()),
        }
    };
    let r = audit(
        input(&both),
        &Trust {
            threshold: 2,
            ..Trust::default()
        },
    )
    .unwrap();
    assert_eq!(r.cosignatures, 1);
    assert_eq!(at_cp(&r, 11), ["too_few_cosignatures"]);
    // A key the member never held does not count.
    let mut stranger = Checkpoint::new(ORIGIN, 11, root)
        .unwrap()
        .sign(&signer(COORD))
        .unwrap();
    stranger.signatures.push(
        cosign(
            &stranger.text,
            &Signer::from_seed(UA, [43; 32]).unwrap(),
            COSIGNED_AT,
        )
        .unwrap(),
    );
    let r = audit(
        input(&stranger.to_text()),
        &Trust {
            threshold: 1,
            ..Trust::default()
        },
    )
    .unwrap();
    assert_eq!(r.cosignatures, 0);
    assert_eq!(at_cp(&r, 11), ["too_few_cosignatures"]);
}

/// The streamed audit cuts the events into batches (and at checkpoint
/// sizes) and folds them through a projector that writes its working set
/// back to disk: neither the batch size nor how often items go to disk may
/// change a byte of the report, on a log with a fork, a replay, bytes that
/// are no event and checkpoints of several sizes (one of them repeated).
#[test]
fn the_report_does_not_depend_on_the_batches_or_the_working_set() {
    let (mut b, _) = clean();
    b.fork_ua();
    let replay = b.entries[2].bytes.clone();
    b.push_bytes(replay);
    b.push_bytes(vec![1, 2, 3]);
    for n in 20..40 {
        b.emit(UA2, need(UA2, n));
    }
    let len = b.entries.len() as u64;
    let notes = vec![
        b.checkpoint(3),
        b.checkpoint(6),
        b.checkpoint(6),
        b.checkpoint(11),
        b.checkpoint(14),
        b.checkpoint(len),
    ];
    let bundle = export(&b.entries, notes).unwrap();
    let input = || AuditInput {
        events: bundle.decode().unwrap(),
        checkpoints: bundle.checkpoints.clone(),
        stated_size: Some(bundle.size),
        stated_root: Some(bundle.root),
        stated_origin: Some(bundle.origin.clone()),
    };
    let reference = audit(input(), &Trust::default()).unwrap();
    assert_eq!(reference.forks.len(), 1);
    assert_eq!(
        (reference.forks[0].first, reference.forks[0].second),
        (10, 12)
    );
    let refused: Vec<&str> = reference.refused.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(refused, ["equivocation", "duplicate", "malformed"]);
    assert!(reference.refused[1]
        .reason
        .ends_with("already at position 3"));
    assert_eq!(reference.checkpoints_verified, 6);
    let reference = serde_json::to_value(&reference).unwrap();
    for batch in [1, 2, 5, 7, 13] {
        for small in [false, true] {
            let mut ws = Workspace::new(None).unwrap();
            if small {
                ws.projector().working_set = 1;
                ws.projector().save_every = 1;
            }
            let r = audit_on(&mut ws, input(), &Trust::default(), batch).unwrap();
            assert_eq!(
                serde_json::to_value(&r).unwrap(),
                reference,
                "batch {batch}, working set of one item: {small}"
            );
        }
    }
}
