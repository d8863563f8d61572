//! Pipelined folding (judging one step while the next is batch-verified): an
//! event signed with a key rotated away earlier in the same batch is still a
//! forgery, and any split into batches folds like one batch.

#[path = "../../ledger/tests/common/mod.rs"]
mod world;

use ledger::body::{Body, KeyRotated};
use ledger::state::State;
use projector::digest::digest_hex;
use projector::fold::{fold_entries, Filter, PIPELINE_STEP};
use projector::model::Model;
use world::*;

#[test]
fn an_event_signed_with_a_key_rotated_away_in_the_same_batch_is_a_forgery() {
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

    // In one go: the rotation and the old-key event in one batch and one step.
    let mut state = State::new();
    let mut whole = Model::new();
    fold_entries(&mut state, &mut whole, &w.log, Filter::All);
    assert_eq!(whole.rejected.len(), 1);
    assert_eq!(whole.rejected[0].code, "bad_signature");
    assert_eq!(whole.rejected[0].position, rotation_at as u64 + 2);

    // Event by event: the same model.
    let mut state = State::new();
    let mut one_by_one = Model::new();
    for e in &w.log {
        fold_entries(
            &mut state,
            &mut one_by_one,
            std::slice::from_ref(e),
            Filter::All,
        );
    }
    assert_eq!(one_by_one, whole);
    assert_eq!(digest_hex(&one_by_one), digest_hex(&whole));
}

#[test]
fn any_split_into_batches_folds_like_one_batch() {
    // More than two pipeline steps in one run, with a forgery in the third step.
    let n = 2 * PIPELINE_STEP as u64 + 300;
    let w = needs_with_forgeries(n, &[n - 100]);
    let mut state = State::new();
    let mut whole = Model::new();
    fold_entries(&mut state, &mut whole, &w.log, Filter::All);
    assert_eq!(whole.accepted, w.log.len() as u64 - 1);
    assert_eq!(whole.rejected.len(), 1);

    for size in [1, 7, 64, 1000, PIPELINE_STEP + 1] {
        let mut state = State::new();
        let mut model = Model::new();
        for batch in w.log.chunks(size) {
            fold_entries(&mut state, &mut model, batch, Filter::All);
        }
        assert_eq!(model, whole, "batches of {size}");
    }
}

#[test]
fn forgeries_scattered_in_one_verification_chunk_are_each_found() {
    // A failed batch is split in halves down to single verification: every
    // forgery is found, every honest neighbour is kept.
    let forged_at = [0u64, 1, 2, 77, 128, 129, 254, 255, 256, 600];
    let w = needs_with_forgeries(700, &forged_at);
    let mut state = State::new();
    let mut model = Model::new();
    fold_entries(&mut state, &mut model, &w.log, Filter::All);
    assert_eq!(model.rejected.len(), forged_at.len());
    assert_eq!(model.accepted, w.log.len() as u64 - forged_at.len() as u64);
}

/// A world with `n` needs of UA-SSSCIP after its setup; those at the indexes in
/// `forged` are signed with EE-MFA's key instead (forgeries the rules reject).
fn needs_with_forgeries(n: u64, forged: &[u64]) -> World {
    let mut w = World::with_commitment();
    let ee_key = w.signer(EE).clone();
    for i in 0..n {
        let body = Body::NeedStated(need(&format!("UA-SSSCIP/P-{i}"), SSSCIP, 1 + i, 1_000));
        if forged.contains(&i) {
            let forged = w.forge(SSSCIP, body, &ee_key);
            w.expect_rejected(&forged);
        } else {
            w.accept(SSSCIP, body);
        }
    }
    w
}
