//! `members.json`: admission (`member_admitted`) and suspension
//! (`member_suspended`; there is no reinstatement: RULES.md §4.4).

use ledger::body::{Body, MemberAdmitted, MemberSuspended};
use ledger::keys::PublicKey;
use ledger::member::{Member, MemberKind, Role};

use super::crypto::IDENTITY;
use super::kit::*;

const PL: &str = "PL-MSZ";
const SE: &str = "SE-UD";

pub fn build() -> Built {
    let mut k = Kit::ledger();
    admission(&mut k);
    suspension(&mut k);
    suspended_member(&mut k);
    k.finish(
        "members",
        "Admissions (the member checks, an id or a key used before, the coordinator \
         role, a second coordinator) and suspensions: a suspended member's events keep \
         their place in its chain but count for nothing, whatever they say; it can be \
         named (a recipient, a key rotation by the coordinator) and is never reinstated.",
    )
}

fn admit(member: Member) -> Body {
    Body::MemberAdmitted(MemberAdmitted { member })
}

fn suspend(who: &str, reason: &str) -> Body {
    Body::MemberSuspended(MemberSuspended {
        member: m(who),
        reason: reason.into(),
    })
}

fn pl() -> Member {
    member(PL, MemberKind::Ministry, "PL", &[Role::Donor])
}

fn admission(k: &mut Kit) {
    k.emit(
        COORD,
        admit(pl()),
        "accepted",
        "TM-COORD admits PL-MSZ, a donor",
    );
    k.emit(
        COORD,
        admit(pl()),
        "rule_violation: member PL-MSZ is already admitted",
        "PL-MSZ again",
    );
    let se = || {
        member(
            SE,
            MemberKind::Ministry,
            "SE",
            &[Role::Donor, Role::Coordinator],
        )
    };
    let cases: [(Member, &str, &str); 6] = [
        (
            Member { key: signer(EE, 0).public_key(), ..se() },
            "rule_violation: the key is already used by EE-MFA",
            "SE-UD with EE-MFA's key",
        ),
        (
            Member { key: PublicKey(IDENTITY), ..se() },
            "invalid_field: member_admitted.member.key: is not an acceptable Ed25519 key",
            "SE-UD with a key of small order",
        ),
        (
            Member { name: String::new(), ..se() },
            "invalid_field: member_admitted.member.name: must not be empty",
            "SE-UD without a name",
        ),
        (
            Member { country: "Sweden".into(), ..se() },
            "invalid_field: member_admitted.member.country: \"Sweden\" is not an ISO 3166-1 alpha-2 code",
            "SE-UD with a country name",
        ),
        (
            Member { roles: vec![], ..se() },
            "invalid_field: member_admitted.member.roles: must not be empty",
            "SE-UD without roles",
        ),
        (
            Member { roles: vec![Role::Coordinator, Role::Donor], ..se() },
            "invalid_field: member_admitted.member.roles: must be listed once each",
            "SE-UD with roles out of order",
        ),
    ];
    for (member, want, label) in cases {
        k.emit(COORD, admit(member), want, label);
    }
    k.emit(
        EE,
        admit(se()),
        "missing_role: EE-MFA does not hold the coordinator role needed for member_admitted",
        "EE-MFA admits SE-UD",
    );
    k.emit(
        COORD,
        admit(se()),
        "accepted",
        "TM-COORD admits SE-UD as a donor and a second coordinator",
    );
}

fn suspension(k: &mut Kit) {
    k.emit(
        SE,
        suspend(PL, "reporting irregularities"),
        "accepted",
        "SE-UD, a coordinator, suspends PL-MSZ",
    );
    k.emit(
        COORD,
        suspend(PL, "again"),
        "rule_violation: PL-MSZ is already suspended",
        "TM-COORD suspends PL-MSZ again",
    );
    k.emit(
        COORD,
        suspend(COORD, "by mistake"),
        "rule_violation: the coordinator cannot suspend itself",
        "TM-COORD suspends itself",
    );
    k.emit(
        SE,
        suspend(SE, "by mistake"),
        "rule_violation: the coordinator cannot suspend itself",
        "SE-UD suspends itself",
    );
    k.emit(
        COORD,
        suspend("XX-NOBODY", "unknown"),
        "rule_violation: member XX-NOBODY is not admitted",
        "TM-COORD suspends a non-member",
    );
    k.emit(
        EE,
        suspend(DE, "rivalry"),
        "missing_role: EE-MFA does not hold the coordinator role needed for member_suspended",
        "EE-MFA suspends DE-AA",
    );
    k.emit(
        COORD,
        suspend(DE, ""),
        "invalid_field: member_suspended.reason: must not be empty",
        "a suspension without a reason",
    );
    k.emit(
        COORD,
        suspend(NCCC, "audit pending"),
        "accepted",
        "TM-COORD suspends UA-NCCC, a recipient",
    );
}

fn suspended_member(k: &mut Kit) {
    k.emit(
        PL,
        Body::OfferMade(offer("PL-MSZ/O1", 5, 50_000)),
        "suspended: producer PL-MSZ is suspended",
        "PL-MSZ offers (its seq 1)",
    );
    let empty = Body::OfferMade(ledger::body::Offer {
        description: String::new(),
        ..offer("PL-MSZ/O2", 5, 50_000)
    });
    k.emit(
        PL,
        empty,
        "suspended",
        "PL-MSZ offers without a description: suspension comes before the static checks",
    );
    let mut env = k.next(PL, Body::OfferMade(offer("PL-MSZ/O3", 5, 50_000)));
    env.recorded_at = k.state().chain(&m(PL)).last_recorded.add_ms(-1);
    let ev = Kit::sign(env, &k.key(PL));
    k.push(
        PL,
        &ev,
        "time_went_back",
        "PL-MSZ offers, recorded back in time: time comes before suspension",
    );
    let rotate = Body::KeyRotated(ledger::body::KeyRotated {
        member: m(PL),
        new_key: signer(PL, 1).public_key(),
    });
    k.emit(COORD, rotate, "accepted", "TM-COORD rotates PL-MSZ's key");
    k.use_key(PL, 1);
    k.emit(
        PL,
        Body::OfferMade(offer("PL-MSZ/O4", 5, 50_000)),
        "suspended",
        "PL-MSZ with its new key: still suspended",
    );
    k.emit(
        NCCC,
        Body::NeedStated(need("UA-NCCC/N1", NCCC)),
        "suspended",
        "UA-NCCC states a need",
    );
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", NCCC)),
        "accepted",
        "UA-SSSCIP states a need for UA-NCCC: a suspended recipient keeps its role",
    );
    k.emit(
        EE,
        Body::OfferMade(offer("EE-MFA/O1", 5, 50_000)),
        "accepted",
        "EE-MFA offers",
    );
    let c = commitment(
        "EE-MFA/C1",
        Some("EE-MFA/O1"),
        &["UA-SSSCIP/N1"],
        NCCC,
        5,
        50_000,
    );
    k.emit(
        EE,
        Body::CommitmentMade(c),
        "accepted",
        "EE-MFA commits to UA-NCCC, suspended",
    );
}
