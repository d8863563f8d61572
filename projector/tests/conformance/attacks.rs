//! `attacks.json`: what a member (or anyone who can write to a subject) can
//! try: crafted signatures (RULES.md §7.1), events on another member's subject
//! (§7.2), forgeries, malformed bytes (§3.1), replays, equivocation, gaps,
//! broken links and time going back. None of it blocks an honest member.

use ledger::body::Body;
use ledger::event::signed_message;
use ledger::ids::EventId;

use super::crypto::{s_plus_ell, small_order_r, torsion_r, IDENTITY_NON_CANONICAL, ORDER_8};
use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    signatures(&mut k);
    subjects(&mut k);
    malformed(&mut k);
    chain(&mut k);
    k.finish(
        "attacks",
        "Crafted signatures by EE-MFA with its own key (an R with a component of order \
         8, an R of small order, a non-canonical R: valid by ZIP 215; a non-canonical s: \
         invalid), DE-AA's event copied to EE-MFA's subject, a forgery in DE-AA's name on \
         either subject, malformed bytes on EE-MFA's subject (and on no subject, as in \
         bundles of earlier versions), replays, equivocation, a gap, a broken link and \
         time going back; EE-MFA and DE-AA carry on regardless.",
    )
}

fn o(id: &str) -> Body {
    Body::OfferMade(offer(id, 10, 100_000))
}

fn signatures(k: &mut Kit) {
    k.emit(EE, o("EE-MFA/O1"), "accepted", "EE-MFA offers O1");
    k.emit(DE, o("DE-AA/O1"), "accepted", "DE-AA offers O1");
    let env = k.next(EE, o("EE-MFA/O2"));
    k.push(
        EE,
        &torsion_r(env, EE, 0),
        "accepted",
        "EE-MFA's O2 signed with R + a point of order 8",
    );
    let env = k.next(EE, o("EE-MFA/O3"));
    k.push(
        EE,
        &small_order_r(env, EE, 0, ORDER_8),
        "accepted",
        "EE-MFA's O3 signed with R of order 8 (s = k·a)",
    );
    let env = k.next(EE, o("EE-MFA/O4"));
    k.push(
        EE,
        &small_order_r(env, EE, 0, IDENTITY_NON_CANONICAL),
        "accepted",
        "EE-MFA's O4 signed with R = the identity encoded with y = p + 1",
    );
    let env = k.next(EE, o("EE-MFA/O5"));
    let honest = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &s_plus_ell(&honest),
        "bad_signature",
        "EE-MFA's O5 signed with s + ℓ in place of s",
    );
}

fn subjects(k: &mut Kit) {
    let copy = k.bytes_at(3);
    k.push_bytes(
        Some(EE),
        copy,
        "wrong_subject: produced by DE-AA, appended to the subject of EE-MFA",
        "DE-AA's O1 copied to EE-MFA's subject",
    );
    let env = k.next(DE, o("DE-AA/O2"));
    let forged = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &forged,
        "wrong_subject: produced by DE-AA, appended to the subject of EE-MFA",
        "EE-MFA forges DE-AA's seq 2 on its own subject",
    );
    k.push(
        DE,
        &forged,
        "bad_signature: signature does not verify under DE-AA's active key",
        "the forgery on DE-AA's subject",
    );
    k.push(
        DE,
        &forged,
        "bad_signature",
        "the forgery on DE-AA's subject again (its row is not recorded twice)",
    );
    k.emit(DE, o("DE-AA/O2"), "accepted", "DE-AA's own seq 2");
}

/// EE-MFA's next envelope encoded, with `edit` applied to the bytes, signed
/// with its key: bytes that are no event.
fn mangled(k: &mut Kit, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let env = k.next(EE, o("EE-MFA/O6"));
    let mut bytes = ledger::codec::encode(&env).expect("encodes");
    edit(&mut bytes);
    let sig = k.key(EE).sign_raw(&signed_message(&bytes));
    bytes.extend_from_slice(&sig);
    bytes
}

fn malformed(k: &mut Kit) {
    k.push_bytes(
        Some(EE),
        vec![0xff; 80],
        "malformed: malformed encoding",
        "80 bytes of 0xff on EE-MFA's subject",
    );
    k.push_bytes(
        Some(EE),
        b"tallinn!!!".to_vec(),
        "malformed: 10 bytes is too short for an event",
        "10 bytes on EE-MFA's subject",
    );
    let trailing = mangled(k, |b| b.extend_from_slice(&[0, 0, 0]));
    k.push_bytes(
        Some(EE),
        trailing,
        "malformed: 3 trailing bytes after the encoded value",
        "EE-MFA's next envelope and 3 more bytes, signed",
    );
    let wide = mangled(k, |b| {
        assert_eq!(b[0], 1, "the version comes first");
        b.splice(0..1, [251, 1, 0]);
    });
    k.push_bytes(
        Some(EE),
        wide,
        "malformed: non-canonical encoding",
        "EE-MFA's next envelope with the version written in 3 bytes, signed",
    );
    k.push_bytes(
        None,
        vec![0; 100],
        "malformed: malformed encoding",
        "100 zero bytes on no subject",
    );
    k.emit(EE, o("EE-MFA/O6"), "accepted", "EE-MFA's next event");
}

fn chain(k: &mut Kit) {
    let first = k.bytes_at(2);
    k.push_bytes(Some(EE), first, "duplicate", "EE-MFA's O1 replayed");
    let torsion = k.bytes_at(4);
    k.push_bytes(
        Some(EE),
        torsion,
        "duplicate",
        "EE-MFA's O2 (the torsion R) replayed",
    );
    let mut env = k.next(EE, o("EE-MFA/O7"));
    (env.seq, env.prev) = (1, EventId::ZERO);
    k.push(
        EE,
        &Kit::sign(env, &k.key(EE)),
        "equivocation: EE-MFA already signed seq 1 as event",
        "EE-MFA signs another seq 1",
    );
    let mut env = k.next(EE, o("EE-MFA/O7"));
    env.seq += 1;
    k.push(EE, &Kit::sign(env, &k.key(EE)), "gap", "EE-MFA skips a seq");
    let mut env = k.next(EE, o("EE-MFA/O7"));
    env.prev = k.id_at(2);
    k.push(
        EE,
        &Kit::sign(env, &k.key(EE)),
        "broken_link",
        "EE-MFA links its next event to its O1",
    );
    let mut env = k.next(EE, o("EE-MFA/O7"));
    env.recorded_at = env.recorded_at.add_ms(-24 * 3_600_000);
    k.push(
        EE,
        &Kit::sign(env, &k.key(EE)),
        "time_went_back",
        "EE-MFA's next event recorded a day back (it takes its seq)",
    );
    k.emit(EE, o("EE-MFA/O8"), "accepted", "EE-MFA's next event");
}
