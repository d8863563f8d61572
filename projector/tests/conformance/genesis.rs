//! `genesis.json`: the genesis path (RULES.md §3.2.1, steps G1 to G6), the
//! genesis static checks (§4.2, with the key rule of §7.1) and what follows
//! the accepted genesis.

use ledger::body::{Body, Genesis};
use ledger::member::Role;

use super::crypto::{non_canonical_key, off_curve_key, torsion_key, under_identity_key, IDENTITY};
use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::empty();
    path(&mut k);
    coordinator_fields(&mut k);
    member_fields(&mut k);
    accepted(&mut k);
    k.finish(
        "genesis",
        "The genesis path before any genesis is accepted (no_genesis, the producer, the \
         signature under the key the genesis names, seq and prev, the static checks, the \
         origin), then the genesis, its replay and a second genesis. Nothing refused before \
         the genesis enters a chain; a refused event appended again is judged afresh.",
    )
}

fn with(f: impl FnOnce(&mut Genesis)) -> Body {
    let mut g = cast();
    f(&mut g);
    Body::Genesis(g)
}

/// G1 to G4 and G6, and the envelope checks that come before the genesis path.
fn path(k: &mut Kit) {
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "no_genesis",
        "UA-SSSCIP states a need before any genesis",
    );
    k.emit(
        EE,
        Body::Genesis(cast()),
        "rule_violation: genesis must be produced by the coordinator it names",
        "EE-MFA signs the genesis that names TM-COORD",
    );
    let env = k.next(COORD, Body::Genesis(cast()));
    let ev = Kit::sign(env, &signer(EE, 0));
    k.push(
        COORD,
        &ev,
        "bad_signature",
        "the genesis signed with EE-MFA's key",
    );
    let env = k.next(COORD, with(|g| g.coordinator.key = off_curve_key()));
    let ev = Kit::sign(env, &signer(COORD, 0));
    k.push(
        COORD,
        &ev,
        "bad_signature",
        "a genesis whose coordinator key is no curve point",
    );
    let mut env = k.next(COORD, Body::Genesis(cast()));
    env.seq = 2;
    let ev = Kit::sign(env, &k.key(COORD));
    k.push(
        COORD,
        &ev,
        "rule_violation: (seq 1, prev zero)",
        "a genesis with seq 2",
    );
    let mut env = k.next(COORD, Body::Genesis(cast()));
    env.prev = k.id_at(1);
    let ev = Kit::sign(env, &k.key(COORD));
    k.push(
        COORD,
        &ev,
        "rule_violation: (seq 1, prev zero)",
        "a genesis with a prev",
    );
    let env = k.next(
        COORD,
        with(|g| g.coordinator.key = ledger::keys::PublicKey(IDENTITY)),
    );
    let ev = under_identity_key(env);
    k.push(
        COORD,
        &ev,
        "invalid_field: genesis.coordinator.key: is not an acceptable Ed25519 key",
        "a genesis validly signed (ZIP 215) under the identity as coordinator key",
    );
    k.emit(
        COORD,
        with(|g| g.origin = "other.example/ledger".into()),
        "rule_violation: genesis origin \"other.example/ledger\" differs from the envelope's \"conformance.example/ledger\"",
        "a genesis naming another origin than its envelope",
    );
    let mut env = k.next(COORD, Body::Genesis(cast()));
    env.version = 2;
    let ev = Kit::sign(env, &k.key(COORD));
    k.push(
        COORD,
        &ev,
        "unsupported_version: unsupported format version 2",
        "a genesis in format version 2",
    );
}

/// G5: the origin and the coordinator.
fn coordinator_fields(k: &mut Kit) {
    let cases: [(Body, &str, &str); 5] = [
        (
            with(|g| g.origin = "conformance example/ledger".into()),
            "invalid_field: genesis.origin: must not contain spaces, control characters or '+'",
            "an origin with a space",
        ),
        (
            with(|g| g.origin = "é".repeat(65)),
            "invalid_field: genesis.origin: must have 1 to 128 characters",
            "an origin of 65 characters but 130 bytes (origins are counted in bytes)",
        ),
        (
            with(|g| g.coordinator.roles = vec![Role::Donor]),
            "invalid_field: genesis.coordinator.roles: must include coordinator",
            "a coordinator without the coordinator role",
        ),
        (
            with(|g| g.coordinator.name = String::new()),
            "invalid_field: genesis.coordinator.name: must not be empty",
            "a coordinator without a name",
        ),
        (
            with(|g| g.members[1].id = m(EE)),
            "invalid_field: genesis.members[1].id: EE-MFA is listed twice",
            "EE-MFA listed twice",
        ),
    ];
    for (body, want, label) in cases {
        k.emit(COORD, body, want, label);
    }
}

/// G5: the members (§4.1 `MEMBER`, then ids and keys distinct).
fn member_fields(k: &mut Kit) {
    let cases: [(Body, &str, &str); 9] = [
        (
            with(|g| g.members[1].key = g.members[0].key),
            "invalid_field: genesis.members[1].key: is already another member's key",
            "DE-AA admitted with EE-MFA's key",
        ),
        (
            with(|g| g.members[0].key = ledger::keys::PublicKey(IDENTITY)),
            "invalid_field: genesis.members[0].key: is not an acceptable",
            "a member key of small order (the identity)",
        ),
        (
            with(|g| g.members[0].key = torsion_key(EE, 0)),
            "invalid_field: genesis.members[0].key: is not an acceptable",
            "a member key with a torsion component",
        ),
        (
            with(|g| g.members[0].key = non_canonical_key()),
            "invalid_field: genesis.members[0].key: is not an acceptable",
            "a member key encoded with y >= p",
        ),
        (
            with(|g| g.members[0].country = "ee".into()),
            "invalid_field: genesis.members[0].country: \"ee\" is not an ISO 3166-1 alpha-2 code",
            "a lower-case country",
        ),
        (
            with(|g| g.members[0].roles = vec![]),
            "invalid_field: genesis.members[0].roles: must not be empty",
            "a member without roles",
        ),
        (
            with(|g| g.members[0].roles = vec![Role::Recipient, Role::Donor]),
            "invalid_field: genesis.members[0].roles: must be listed once each, in the order",
            "roles out of order",
        ),
        (
            with(|g| g.members[0].name = "é".repeat(201)),
            "invalid_field: genesis.members[0].name: must have at most 200 characters (has 201)",
            "a name of 201 characters (402 bytes; names are counted in characters)",
        ),
        (
            with(|g| g.members[0].name = "EE\u{85}MFA".into()),
            "invalid_field: genesis.members[0].name: must not contain control characters",
            "a name with U+0085, a C1 control character",
        ),
    ];
    for (body, want, label) in cases {
        k.emit(COORD, body, want, label);
    }
}

/// The genesis, on the wrong subject and on its own; then its replay, a
/// second genesis, and two refused events appended again.
fn accepted(k: &mut Kit) {
    let genesis = {
        let env = k.next(COORD, Body::Genesis(cast()));
        Kit::sign(env, &k.key(COORD))
    };
    k.push(
        EE,
        &genesis,
        "wrong_subject: produced by TM-COORD, appended to the subject of EE-MFA",
        "the genesis on EE-MFA's subject",
    );
    k.push(
        COORD,
        &genesis,
        "accepted",
        "the same genesis on TM-COORD's subject",
    );
    k.push(COORD, &genesis, "duplicate", "the genesis again");
    k.push(
        EE,
        &genesis,
        "wrong_subject",
        "the genesis on EE-MFA's subject again (its row is not recorded twice)",
    );
    k.emit(
        COORD,
        Body::Genesis(cast()),
        "rule_violation: a ledger has exactly one genesis",
        "a second genesis (in TM-COORD's chain)",
    );
    let need = k.bytes_at(1);
    k.push_bytes(
        Some(SSSCIP),
        need,
        "accepted",
        "position 1 again: judged afresh",
    );
    let early = k.bytes_at(2);
    k.push_bytes(
        Some(EE),
        early,
        "missing_role: EE-MFA does not hold the coordinator role needed for genesis",
        "position 2 again: now judged on the ordinary path",
    );
}
