//! Batch verification with summed key terms (`ledger::batch`): it accepts a
//! batch exactly when every signature verifies on its own by the ledger's
//! rule (ZIP 215, `ledger::signature`), including past the number of keys it
//! sums and for keys with a torsion component (whose terms are summed too: the
//! cofactor removes the difference). The vector files are in `zip215.rs`.

mod common;

use common::*;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use ledger::batch::{verify_batch, BatchKey};
use ledger::body::Body;
use ledger::envelope::{Envelope, FORMAT_VERSION};
use ledger::event::Event;
use ledger::ids::Digest;
use ledger::keys::{PublicKey, Signer};
use proptest::prelude::*;
use sha2::{Digest as _, Sha512};

fn envelope(producer: &str, seq: u64) -> Envelope {
    Envelope {
        version: FORMAT_VERSION,
        origin: ORIGIN.into(),
        producer: mid(producer),
        seq,
        prev: Digest([seq as u8; 32]),
        recorded_at: START,
        body: Body::OfferMade(offer("EE-MFA/O-1", seq, 1_000 * seq, &["UA-SSSCIP/N-1"])),
    }
}

/// `n` events signed round-robin by `signers`, with each event's key.
fn signed(signers: &[Signer], n: usize) -> (Vec<Event>, Vec<BatchKey>) {
    (0..n)
        .map(|i| {
            let s = &signers[i % signers.len()];
            let ev = Event::sign(envelope(EE, i as u64 + 1), s).unwrap();
            (ev, BatchKey::new(s.public_key()).unwrap())
        })
        .unzip()
}

fn strictly_valid(events: &[Event], keys: &[BatchKey]) -> bool {
    events
        .iter()
        .zip(keys)
        .all(|(e, k)| e.verify(k.key()).is_ok())
}

fn batch(events: &[Event], keys: &[BatchKey]) -> bool {
    let refs: Vec<&Event> = events.iter().collect();
    verify_batch(&refs, keys)
}

/// Replaces event `i`'s signature with `sig`.
fn with_signature(events: &mut [Event], i: usize, sig: [u8; 64]) {
    events[i] = Event::from_signature(events[i].envelope().clone(), sig).unwrap();
}

#[test]
fn valid_batches_verify_and_one_bad_signature_spoils_them() {
    let signers: Vec<Signer> = (1..=4).map(|n| signer(EE, n)).collect();
    let (mut events, keys) = signed(&signers, 40);
    assert!(batch(&events, &keys));
    assert!(verify_batch(&[], &[]));

    // A flipped bit in s, in R, or the signature of another event.
    for (i, byte) in [(3, 40), (17, 5), (39, 63)] {
        let good = events[i].signature();
        let mut sig = good;
        sig[byte] ^= 0x10;
        with_signature(&mut events, i, sig);
        assert!(
            !batch(&events, &keys),
            "bit flip in byte {byte} of event {i}"
        );
        let other = events[(i + 1) % 40].signature();
        with_signature(&mut events, i, other);
        assert!(!batch(&events, &keys), "another event's signature at {i}");
        with_signature(&mut events, i, good);
    }
    assert!(batch(&events, &keys));

    // A signature under another member's key; two keys swapped.
    let mut wrong = keys.clone();
    wrong[8] = keys[9];
    assert!(!batch(&events, &wrong));
    let mut swapped = keys.clone();
    swapped.swap(0, 1);
    assert!(!batch(&events, &swapped));

    // A non-canonical s (s + l) verifies nowhere.
    let mut sig = events[5].signature();
    let s = Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()).unwrap();
    let l_plus_s = add_order(s.to_bytes());
    sig[32..].copy_from_slice(&l_plus_s);
    with_signature(&mut events, 5, sig);
    assert!(!batch(&events, &keys));
    assert!(!strictly_valid(&events, &keys));
}

/// `s + l` as 32 little-endian bytes (fits: s < l < 2^253).
fn add_order(s: [u8; 32]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = s[i] as u16 + L[i] as u16 + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

#[test]
fn more_keys_than_are_summed_still_verify() {
    let signers: Vec<Signer> = (1..=90).map(|n| signer(EE, n)).collect();
    let (mut events, keys) = signed(&signers, 200);
    assert!(batch(&events, &keys));
    // A bad signature under one of the keys past the summed ones.
    let mut sig = events[170].signature();
    sig[50] ^= 1;
    with_signature(&mut events, 170, sig);
    assert!(!batch(&events, &keys));
}

/// A key with a torsion component (`A + T`, `T` of order 2; refused at
/// registration, but verification must still agree) and a signature valid
/// under it: `R = [r]B` with `h` even, so
/// `[s]B - [h](A + T) = R`.
fn mixed_key_event(seq: u64) -> (Event, BatchKey) {
    let a = Scalar::from_bytes_mod_order([seq as u8 + 3; 32]);
    let t2 = CompressedEdwardsY({
        let mut b = [0xffu8; 32];
        b[0] = 0xec;
        b[31] = 0x7f;
        b
    })
    .decompress()
    .unwrap();
    let key_point = ED25519_BASEPOINT_POINT * a + t2;
    let key_bytes = key_point.compress().to_bytes();
    let env = envelope(EE, seq);
    let msg = ledger::event::signed_message(&ledger::codec::encode(&env).unwrap());
    // r = 0 would make R the identity, which verify_strict refuses.
    for k in 1u8.. {
        let r = Scalar::from_bytes_mod_order([k; 32]);
        let r_bytes = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key_bytes);
        h.update(&msg);
        let h = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        if h.to_bytes()[0] & 1 == 1 {
            continue;
        }
        let s = r + h * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(&s.to_bytes());
        let ev = Event::from_signature(env, sig).unwrap();
        assert!(ev.verify(&PublicKey(key_bytes)).is_ok(), "valid");
        assert!(PublicKey(key_bytes).check().is_err(), "not registrable");
        return (ev, BatchKey::new(PublicKey(key_bytes)).unwrap());
    }
    unreachable!()
}

#[test]
fn keys_with_a_torsion_component_stay_sound() {
    let signers: Vec<Signer> = (1..=3).map(|n| signer(EE, n)).collect();
    let (mut events, mut keys) = signed(&signers, 30);
    for seq in [31, 32, 33] {
        let (ev, key) = mixed_key_event(seq);
        events.push(ev);
        keys.push(key);
    }
    assert!(strictly_valid(&events, &keys));
    // A bad signature under the mixed key is refused by the batch.
    let mut sig = events[31].signature();
    sig[40] ^= 4;
    with_signature(&mut events, 31, sig);
    assert!(!batch(&events, &keys));
}

/// The signer's own degenerate signature: `R` the identity and `s = h·a`, so
/// `[s]B - [h]A = R`. `verify_strict` refuses a small-order `R`; ZIP 215
/// accepts it, alone, in a batch, and in a batch with honest signatures.
#[test]
fn a_small_order_r_is_judged_alike_alone_and_in_batches() {
    let a = Scalar::from_bytes_mod_order([9; 32]);
    let key_bytes = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    let env = envelope(EE, 1);
    let msg = ledger::event::signed_message(&ledger::codec::encode(&env).unwrap());
    let mut r_bytes = [0u8; 32];
    r_bytes[0] = 1; // the identity (0, 1)
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key_bytes);
    h.update(&msg);
    let h = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&(h * a).to_bytes());
    let ev = Event::from_signature(env, sig).unwrap();
    let key = BatchKey::new(PublicKey(key_bytes)).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    let dalek_sig = ed25519_dalek::Signature::from_bytes(&ev.signature());
    assert!(vk.verify_strict(ev.signed_bytes(), &dalek_sig).is_err());
    assert!(ev.verify(&PublicKey(key_bytes)).is_ok());
    assert!(batch(std::slice::from_ref(&ev), &[key]));
    let signers: Vec<Signer> = (1..=3).map(|n| signer(EE, n)).collect();
    let (mut events, mut keys) = signed(&signers, 20);
    events.insert(7, ev);
    keys.insert(7, key);
    assert!(batch(&events, &keys));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Honest keys: the batch verdict is the verdict of the single checks.
    #[test]
    fn batch_verdict_is_the_strict_verdict(
        nkeys in 1usize..6,
        n in 1usize..48,
        flips in proptest::collection::vec((0usize..48, 0usize..64, 0u8..8), 0..3),
        swap in proptest::option::of(0usize..48),
    ) {
        let signers: Vec<Signer> = (1..=nkeys as u8).map(|k| signer(EE, k)).collect();
        let (mut events, mut keys) = signed(&signers, n);
        for (i, byte, bit) in flips {
            let i = i % n;
            let mut sig = events[i].signature();
            sig[byte] ^= 1 << bit;
            with_signature(&mut events, i, sig);
        }
        if let Some(i) = swap {
            let i = i % n;
            keys[i] = BatchKey::new(signer(DE, 77).public_key()).unwrap();
        }
        let strict = strictly_valid(&events, &keys);
        prop_assert_eq!(batch(&events, &keys), strict);
    }
}
