//! No panic: the `bundle` fuzz target's property (and the projector's half of
//! `envelope`) on random input, in `cargo test` on the stable toolchain.
//!
//! The properties live in `fuzz/src/bundle_checks.rs` (with the fixed keys and
//! golden ledger of `fuzz/src/fixtures.rs`), included here by path, so the
//! cargo-fuzz targets (`fuzz/README.md`) and these tests check the same
//! things. Inputs are random edits (bytes and whole lines) of the bundle
//! `audit export` writes of the golden ledger, and of the golden events,
//! from a fixed-seed generator (this crate has no proptest).
//!
//! Minimized fuzzer findings are kept at the end as regression cases.

#[path = "../../fuzz/src/bundle_checks.rs"]
mod bundle_checks;
#[path = "../../fuzz/src/fixtures.rs"]
mod fixtures;

use bundle_checks::{bundle, exported_event, golden_bundle};
use fixtures::golden_leaves;

/// xorshift64*: a small fixed-seed generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four edits of `seed`: flip, set, insert or remove a byte; cut the
/// rest; or remove, repeat or swap whole lines.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        let byte = rng.next() as u8;
        match rng.below(8) {
            0 if at < b.len() => b[at] ^= 1 << (byte % 8),
            1 if at < b.len() => b[at] = byte,
            2 => b.insert(at, byte),
            3 if at < b.len() => {
                b.remove(at);
            }
            4 => b.truncate(at),
            n @ 5..=7 => {
                let mut lines: Vec<Vec<u8>> =
                    b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                match n {
                    5 => {
                        lines.remove(i);
                    }
                    6 => {
                        let line = lines[i].clone();
                        lines.insert(j, line);
                    }
                    _ => lines.swap(i, j),
                }
                b = lines.join(&b'\n');
            }
            _ => {}
        }
    }
    b
}

#[test]
fn bundle_never_panics() {
    let seed = golden_bundle();
    bundle(&seed);
    let mut rng = Rng(0x7a11_1d6e_b0dd_1e55);
    for case in 0..12_000 {
        let data = if case % 8 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            mutate(&mut rng, &seed)
        };
        bundle(&data);
    }
}

#[test]
fn exported_events_audit_clean() {
    let mut rng = Rng(0x05ee_d0fe_7e27);
    for leaf in golden_leaves() {
        exported_event(leaf);
    }
    for _ in 0..6000 {
        let leaf = &golden_leaves()[rng.below(golden_leaves().len())];
        exported_event(&mutate(&mut rng, leaf));
    }
}

// Regression cases. Found while checking the `envelope` property's
// projector half by hand (the fuzzer did not reach a day number this far
// out in 10 minutes): a member may sign any day number, the rules accept a
// tranche due or a delivery made on it, and the `overdue` view computed with
// `i32` days: `attempt to subtract with overflow` (views.rs, the tranche's
// days overdue) and `attempt to add with overflow` (`Date::add_days`, the
// receipt due date), a panic in debug builds and a wrong figure in release.

/// The 4th event of EE-MFA after the golden ledger (after its delivery,
/// event 6), with `body`, signed by its golden key; judged accepted.
fn ee_mfa_event(recorded_at: i64, body: ledger::body::Body) -> Vec<u8> {
    use ledger::event::Event;
    let delivery = Event::from_bytes(&golden_leaves()[5]).unwrap();
    let mut env = delivery.envelope().clone();
    env.seq = 4;
    env.prev = delivery.id();
    env.recorded_at = ledger::calendar::Timestamp(recorded_at);
    env.body = body;
    let ev = Event::sign(env, fixtures::golden_signer("EE-MFA").unwrap()).unwrap();
    let outcome = ledger::rules::evaluate(
        fixtures::golden_state(),
        &ev,
        None,
        ledger::rules::SignatureCheck::Verify,
    );
    assert_eq!(outcome, ledger::rules::Outcome::Accepted);
    ev.bytes().to_vec()
}

#[test]
fn a_tranche_due_on_the_first_day_number_is_overdue_without_overflow() {
    let golden = ledger::event::Event::from_bytes(&golden_leaves()[4]).unwrap();
    let ledger::body::Body::CommitmentMade(mut c) = golden.envelope().body.clone() else {
        panic!("event 5 is the commitment");
    };
    c.commitment = "EE-MFA/C-2024-999".parse().unwrap();
    c.offer = None;
    c.tranches[0].expected = ledger::calendar::Date(i32::MIN);
    let delivery = ledger::event::Event::from_bytes(&golden_leaves()[5]).unwrap();
    exported_event(&ee_mfa_event(
        delivery.envelope().recorded_at.0,
        ledger::body::Body::CommitmentMade(c),
    ));
}

#[test]
fn a_delivery_on_the_last_day_number_is_due_for_receipt_without_overflow() {
    let golden = ledger::event::Event::from_bytes(&golden_leaves()[5]).unwrap();
    let ledger::body::Body::DeliveryRecorded(mut d) = golden.envelope().body.clone() else {
        panic!("event 6 is the delivery");
    };
    d.delivery = "EE-MFA/D-2024-003-2".parse().unwrap();
    d.quantity = 8;
    d.value.amount_minor = 1_920_000;
    d.value.eur_minor = 1_920_000;
    d.delivered_on = ledger::calendar::Date(i32::MAX - 1);
    exported_event(&ee_mfa_event(
        i64::from(i32::MAX) * 86_400_000,
        ledger::body::Body::DeliveryRecorded(d),
    ));
}
