//! Pipelined folding: a batch prepared (decoded, batch-verified) under the keys
//! of an earlier state must not let an event signed with a key rotated away in
//! between through, and must give the same model as folding in one go.

#[path = "../../ledger/tests/common/mod.rs"]
mod world;

use ledger::body::{Body, KeyRotated};
use ledger::state::State;
use projector::digest::digest_hex;
use projector::fold::{fold_entries, fold_prepared, prepare, Filter, Keys};
use projector::model::Model;
use world::*;

#[test]
fn verdicts_prepared_under_old_keys_are_not_trusted_after_a_rotation() {
    let mut w = World::new();
    w.accept(EE, Body::OfferMade(offer("EE-MFA/O-1", 10, 1_000_000, &[])));
    let split = w.log.len();
    // EE-MFA rotates its key; then an event in its name signed with the old key.
    let old = w.signer(EE).clone();
    let new = signer(EE, 99);
    w.accept(
        EE,
        Body::KeyRotated(KeyRotated {
            member: mid(EE),
            new_key: new.public_key(),
        }),
    );
    w.set_signer(EE, new);
    let stale = w.forge(
        EE,
        Body::OfferMade(offer("EE-MFA/O-2", 10, 1_000_000, &[])),
        &old,
    );
    w.expect_rejected(&stale);
    w.accept(EE, Body::OfferMade(offer("EE-MFA/O-3", 10, 1_000_000, &[])));
    let rotation_at = split; // index of the rotation in the log
    let (first, second) = w.log.split_at(rotation_at + 1);

    // In one go.
    let mut state = State::new();
    let mut whole = Model::new();
    fold_entries(&mut state, &mut whole, &w.log, Filter::All);
    assert_eq!(whole.rejected.len(), 1);
    assert_eq!(whole.rejected[0].code, "bad_signature");

    // Pipelined: the second batch prepared under the keys before the rotation.
    let mut state = State::new();
    let mut model = Model::new();
    fold_entries(&mut state, &mut model, &first[..rotation_at], Filter::All);
    let keys_before = Keys::of(&state);
    let ahead = prepare(&keys_before, second);
    fold_entries(&mut state, &mut model, &first[rotation_at..], Filter::All);
    assert_ne!(
        Keys::of(&state),
        keys_before,
        "the rotation changed the keys"
    );
    fold_prepared(&mut state, &mut model, second, ahead, Filter::All);
    assert_eq!(
        model.rejected.len(),
        1,
        "the old-key event is still a forgery"
    );
    assert_eq!(model.rejected[0].code, "bad_signature");
    assert_eq!(digest_hex(&model), digest_hex(&whole));
    assert_eq!(model, whole);
}

#[test]
fn batches_prepared_ahead_fold_like_one_batch() {
    let mut w = World::with_commitment();
    for i in 0..200u64 {
        w.accept(
            SSSCIP,
            Body::NeedStated(need(&format!("UA-SSSCIP/P-{i}"), SSSCIP, 1 + i, 1_000)),
        );
    }
    let mut state = State::new();
    let mut whole = Model::new();
    fold_entries(&mut state, &mut whole, &w.log, Filter::All);

    for size in [1, 7, 64, 150] {
        let batches: Vec<&[ledger::log::Entry]> = w.log.chunks(size).collect();
        let mut state = State::new();
        let mut model = Model::new();
        let mut ahead = prepare(&Keys::of(&state), batches[0]);
        for (k, batch) in batches.iter().enumerate() {
            let keys = Keys::of(&state);
            let next = batches.get(k + 1).map(|b| prepare(&keys, b));
            fold_prepared(&mut state, &mut model, batch, ahead, Filter::All);
            match next {
                Some(n) => ahead = n,
                None => break,
            }
        }
        assert_eq!(model, whole, "batches of {size}");
    }
}
