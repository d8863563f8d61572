//! `keys.json`: key rotation and revocation (`key_rotated`, `key_revoked`):
//! which key signs after each, who may change a member's key, keys used before.

use ledger::body::{Body, KeyRevoked, KeyRotated, MemberAdmitted};
use ledger::member::{MemberKind, Role};

use super::crypto::torsion_key;
use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    rotation(&mut k);
    refused_rotations(&mut k);
    revocation(&mut k);
    k.finish(
        "keys",
        "EE-MFA rotates its key (events signed with the old key are forgeries), the \
         coordinator rotates it again, EE-MFA revokes it (its events have no key; a \
         replay of its earlier event is still a duplicate), the coordinator rotates a \
         key in. Refused rotations and revocations: by another member, keys used before \
         (by the member or anyone), unacceptable keys, non-members.",
    )
}

fn rotate(who: &str, key: ledger::keys::PublicKey) -> Body {
    Body::KeyRotated(KeyRotated {
        member: m(who),
        new_key: key,
    })
}

fn revoke(who: &str, reason: &str) -> Body {
    Body::KeyRevoked(KeyRevoked {
        member: m(who),
        reason: reason.into(),
    })
}

fn o(id: &str) -> Body {
    Body::OfferMade(offer(id, 10, 100_000))
}

fn rotation(k: &mut Kit) {
    k.emit(
        EE,
        o("EE-MFA/O1"),
        "accepted",
        "EE-MFA offers with its key 0",
    );
    k.emit(
        EE,
        rotate(EE, signer(EE, 1).public_key()),
        "accepted",
        "EE-MFA rotates to its key 1 (signed with key 0)",
    );
    let env = k.next(EE, o("EE-MFA/O2"));
    let ev = Kit::sign(env, &signer(EE, 0));
    k.push(
        EE,
        &ev,
        "bad_signature: signature does not verify under EE-MFA's active key",
        "EE-MFA offers O2 with its former key 0",
    );
    k.use_key(EE, 1);
    k.emit(
        EE,
        o("EE-MFA/O2"),
        "accepted",
        "EE-MFA offers O2 with its key 1",
    );
    k.emit(
        COORD,
        rotate(EE, signer(EE, 2).public_key()),
        "accepted",
        "TM-COORD rotates EE-MFA to its key 2",
    );
    let env = k.next(EE, o("EE-MFA/O3"));
    let ev = Kit::sign(env, &signer(EE, 1));
    k.push(
        EE,
        &ev,
        "bad_signature",
        "EE-MFA offers O3 with its former key 1",
    );
    k.use_key(EE, 2);
    k.emit(
        EE,
        o("EE-MFA/O3"),
        "accepted",
        "EE-MFA offers O3 with its key 2",
    );
}

fn refused_rotations(k: &mut Kit) {
    k.emit(
        DE,
        rotate(EE, signer(EE, 3).public_key()),
        "rule_violation: only the member itself or the coordinator rotates a key",
        "DE-AA rotates EE-MFA's key",
    );
    k.emit(
        EE,
        rotate(EE, signer(EE, 0).public_key()),
        "rule_violation: the new key was already used by EE-MFA",
        "EE-MFA rotates back to its key 0",
    );
    k.emit(
        EE,
        rotate(EE, signer(DE, 0).public_key()),
        "rule_violation: the key is already used by DE-AA",
        "EE-MFA rotates to DE-AA's key",
    );
    k.emit(
        EE,
        rotate("XX-NOBODY", signer(EE, 3).public_key()),
        "rule_violation: member XX-NOBODY is not admitted",
        "EE-MFA rotates a non-member's key",
    );
    k.emit(
        EE,
        rotate(EE, torsion_key(EE, 3)),
        "invalid_field: key_rotated.new_key: is not an acceptable Ed25519 key",
        "EE-MFA rotates to a key with a torsion component",
    );
    let se = member("SE-UD", MemberKind::Ministry, "SE", &[Role::Donor]);
    let reused = ledger::member::Member {
        key: signer(EE, 1).public_key(),
        ..se.clone()
    };
    k.emit(
        COORD,
        Body::MemberAdmitted(MemberAdmitted { member: reused }),
        "rule_violation: the key is already used by EE-MFA",
        "TM-COORD admits SE-UD with EE-MFA's former key 1",
    );
    k.emit(
        COORD,
        Body::MemberAdmitted(MemberAdmitted { member: se }),
        "accepted",
        "TM-COORD admits SE-UD with its own key",
    );
    k.emit(
        "SE-UD",
        rotate("SE-UD", signer("SE-UD", 1).public_key()),
        "accepted",
        "SE-UD rotates its own key",
    );
}

fn revocation(k: &mut Kit) {
    k.emit(
        DE,
        revoke(EE, "rivalry"),
        "rule_violation: only the member itself or the coordinator revokes a key",
        "DE-AA revokes EE-MFA's key",
    );
    k.emit(
        COORD,
        revoke("XX-NOBODY", "unknown"),
        "rule_violation: member XX-NOBODY is not admitted",
        "TM-COORD revokes a non-member's key",
    );
    k.emit(
        COORD,
        revoke(DE, ""),
        "invalid_field: key_revoked.reason: must not be empty",
        "a revocation without a reason",
    );
    k.emit(
        EE,
        revoke(EE, "key compromised"),
        "accepted",
        "EE-MFA revokes its own key",
    );
    k.emit(
        EE,
        o("EE-MFA/O4"),
        "no_active_key: producer EE-MFA has no active key (revoked)",
        "EE-MFA offers with the revoked key",
    );
    let first = k.bytes_at(2);
    k.push_bytes(
        Some(EE),
        first,
        "duplicate",
        "EE-MFA's first offer again: the duplicate check comes before the key",
    );
    k.emit(
        COORD,
        revoke(EE, "again"),
        "rule_violation: EE-MFA has no active key to revoke",
        "TM-COORD revokes EE-MFA's key too",
    );
    k.emit(
        COORD,
        rotate(EE, signer(EE, 4).public_key()),
        "accepted",
        "TM-COORD rotates EE-MFA's key 4 in",
    );
    k.use_key(EE, 4);
    k.emit(EE, o("EE-MFA/O4"), "accepted", "EE-MFA offers with key 4");
}
