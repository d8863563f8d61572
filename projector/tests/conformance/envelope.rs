//! `envelope-chain.json`: the envelope and chain checks after genesis in their
//! order (RULES.md §3.2 steps 1 and 4 to 15): which comes first when several
//! fail, which rejections take a place in the chain, and out-of-chain events
//! judged afresh when appended again.

use ledger::body::{Body, MemberAdmitted, Offer};
use ledger::member::{MemberKind, Role};

use super::kit::*;

const OUTSIDER: &str = "FI-OUTSIDER";

pub fn build() -> Built {
    let mut k = Kit::ledger();
    envelope(&mut k);
    chain(&mut k);
    in_chain(&mut k);
    k.finish(
        "envelope-chain",
        "After the genesis: format version, origin, unknown producer, duplicate, \
         signature, equivocation, gap, broken link and time, each on EE-MFA's chain; \
         then the checks that keep an event in its chain (time, static fields, role) \
         and their order.",
    )
}

fn o(id: &str) -> Body {
    Body::OfferMade(offer(id, 10, 100_000))
}

fn envelope(k: &mut Kit) {
    k.emit(EE, o("EE-MFA/O1"), "accepted", "EE-MFA offers (seq 1)");
    let mut env = k.next(EE, o("EE-MFA/O2"));
    env.version = 2;
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "unsupported_version",
        "EE-MFA's seq 2 in format version 2",
    );
    let mut env = k.next(EE, o("EE-MFA/O2"));
    env.origin = "other.example/ledger".into();
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "wrong_origin: origin \"other.example/ledger\" is not this ledger's (\"conformance.example/ledger\")",
        "EE-MFA's seq 2 for another ledger",
    );
    let outsider = k.emit(
        OUTSIDER,
        o("FI-OUTSIDER/O1"),
        "unknown_producer: producer FI-OUTSIDER is not an admitted member",
        "FI-OUTSIDER, not a member, offers",
    );
    let admitted = member(OUTSIDER, MemberKind::Company, "FI", &[Role::Donor]);
    k.emit(
        COORD,
        Body::MemberAdmitted(MemberAdmitted { member: admitted }),
        "accepted",
        "TM-COORD admits FI-OUTSIDER as a donor",
    );
    k.push(
        OUTSIDER,
        &outsider,
        "accepted",
        "FI-OUTSIDER's offer again: judged afresh",
    );
    let first = k.bytes_at(2);
    k.push_bytes(Some(EE), first, "duplicate", "EE-MFA's seq 1 again");
}

fn chain(k: &mut Kit) {
    let env = k.next(EE, o("EE-MFA/O2"));
    let ev = Kit::sign(env, &signer(DE, 0));
    k.push(
        EE,
        &ev,
        "bad_signature: signature does not verify under EE-MFA's active key",
        "EE-MFA's seq 2 signed with DE-AA's key",
    );
    let mut env = k.next(EE, o("EE-MFA/O3"));
    (env.seq, env.prev) = (1, ledger::ids::EventId::ZERO);
    let ev = Kit::sign(env.clone(), &signer(DE, 0));
    k.push(
        EE,
        &ev,
        "bad_signature",
        "another seq 1 for EE-MFA, signed with DE-AA's key: the signature comes first",
    );
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "equivocation: equivocation: EE-MFA already signed seq 1 as event",
        "another seq 1 for EE-MFA, signed by EE-MFA",
    );
    let mut env = k.next(EE, o("EE-MFA/O4"));
    env.seq = 0;
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "gap: gap in EE-MFA's chain: expected seq 2, got 0",
        "EE-MFA's seq 0",
    );
    let mut env = k.next(EE, o("EE-MFA/O5"));
    env.seq = 4;
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "gap: expected seq 2, got 4",
        "EE-MFA's seq 4 (prev = its head)",
    );
    let gap = ev;
    let mut env = k.next(EE, o("EE-MFA/O6"));
    env.prev = ledger::ids::EventId::ZERO;
    let ev = Kit::sign(env, &k.key(EE));
    k.push(EE, &ev, "broken_link: broken chain link: prev is 0000000000000000000000000000000000000000000000000000000000000000, EE-MFA's head is", "EE-MFA's seq 2 with a zero prev");
    let last = k.state().chain(&m(EE)).last_recorded;
    let mut env = k.next(EE, o("EE-MFA/O7"));
    env.recorded_at = last.add_ms(-60_000);
    let ev = Kit::sign(env, &k.key(EE));
    k.push(EE, &ev, "time_went_back: recorded at 2025-03-03T09:19:00Z, before the producer's previous event (2025-03-03T09:20:00Z)", "EE-MFA's seq 2 recorded a minute before its seq 1 (it takes seq 2)");
    let mut env = k.next(EE, o("EE-MFA/O8"));
    env.recorded_at = last;
    let ev = Kit::sign(env, &k.key(EE));
    k.push(EE, &ev, "accepted", "EE-MFA's seq 3 recorded at the time of its seq 1: equal is allowed (seq 2 did not move the clock)");
    k.push(EE, &gap, "broken_link", "the seq 4 of before again: seq 4 is next now, but its prev is not the head (its first row stays)");
}

fn in_chain(k: &mut Kit) {
    k.emit(
        SSSCIP,
        o("UA-SSSCIP/O1"),
        "missing_role: UA-SSSCIP does not hold the donor role needed for offer_made",
        "a recipient offers (seq 1)",
    );
    k.emit(
        EE,
        Body::NeedStated(need("EE-MFA/N1", SSSCIP)),
        "missing_role: EE-MFA does not hold the recipient role needed for need_stated",
        "a donor states a need",
    );
    let admitted = member("PL-MSZ", MemberKind::Ministry, "PL", &[Role::Donor]);
    k.emit(
        EE,
        Body::MemberAdmitted(MemberAdmitted { member: admitted }),
        "missing_role: EE-MFA does not hold the coordinator role needed for member_admitted",
        "a donor admits a member",
    );
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "accepted",
        "UA-SSSCIP's seq 2 follows its refused seq 1",
    );
    let zero = Body::OfferMade(Offer {
        quantity: qty(0, "routers"),
        ..offer("UA-SSSCIP/O2", 10, 100_000)
    });
    k.emit(
        SSSCIP,
        zero,
        "invalid_field: offer_made.quantity.amount: must be greater than zero",
        "a recipient offers zero routers: the static check comes before the role",
    );
    let mut env = k.next(
        EE,
        Body::OfferMade(Offer {
            quantity: qty(0, "routers"),
            ..offer("EE-MFA/O9", 10, 100_000)
        }),
    );
    env.recorded_at = k.state().chain(&m(EE)).last_recorded.add_ms(-1);
    let ev = Kit::sign(env, &k.key(EE));
    k.push(
        EE,
        &ev,
        "time_went_back",
        "EE-MFA offers zero routers, recorded back in time: time comes first",
    );
}
