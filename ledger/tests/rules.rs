//! Every rule of `ledger::rules`, each with an accepted and a rejected case.
//!
//! Scenarios are built with the `common::World` helper: `w.accept(member, body)`
//! asserts acceptance, `w.reject(member, body)` returns the rejection.

mod common;

use common::*;
use ledger::body::{
    Body, CancelScope, ChangeFields, Contributor, KeyRevoked, KeyRotated, MemberSuspended,
    Priority, Tranche,
};
use ledger::calendar::{Timestamp, MS_PER_DAY};
use ledger::envelope::Envelope;
use ledger::event::Event;
use ledger::ids::{Digest, EventId};
use ledger::keys::PublicKey;
use ledger::member::{MemberKind, Role};
use ledger::rules::{evaluate, Outcome, Rejection, SignatureCheck};
use ledger::state::Item;

const N1: &str = "UA-SSSCIP/N-1";
const O1: &str = "EE-MFA/O-1";
const C1: &str = "EE-MFA/C-1";
const D1: &str = "EE-MFA/D-1";
const R1: &str = "UA-SSSCIP/R-1";

fn offer_body(id: &str, qty: u64, cents: u64) -> Body {
    Body::OfferMade(offer(id, qty, cents, &[]))
}

fn need_body(id: &str, qty: u64, cents: u64) -> Body {
    Body::NeedStated(need(id, SSSCIP, qty, cents))
}

fn suspend(member: &str) -> Body {
    Body::MemberSuspended(MemberSuspended {
        member: mid(member),
        reason: "inactive".into(),
    })
}

fn rotate(member: &str, key: PublicKey) -> Body {
    Body::KeyRotated(KeyRotated {
        member: mid(member),
        new_key: key,
    })
}

fn revoke(member: &str) -> Body {
    Body::KeyRevoked(KeyRevoked {
        member: mid(member),
        reason: "key compromised".into(),
    })
}

/// The standard commitment world plus a delivery `EE-MFA/D-1` of 4 terminals
/// (EUR 4,000) delivered today.
fn with_delivery() -> World {
    let mut w = World::with_commitment();
    let today = w.today();
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 4, 400_000, today)),
    );
    w
}

fn fields() -> ChangeFields {
    ChangeFields::default()
}

// ---------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------

#[test]
fn genesis_is_accepted_as_first_event() {
    let w = World::new();
    assert_eq!(w.outcomes, vec![Outcome::Accepted]);
    assert_eq!(w.state.origin.as_deref(), Some(ORIGIN));
    assert_eq!(w.state.coordinator, Some(mid(COORD)));
    assert_eq!(w.state.members.len(), 5);
    assert!(w.state.has_role(&mid(EE), Role::Donor));
    assert!(w.state.has_role(&mid(SSSCIP), Role::Recipient));
    assert_eq!(w.head(COORD).0, 1);
}

#[test]
fn first_event_must_be_a_genesis() {
    let mut w = World::empty();
    let r = w.reject(SSSCIP, need_body(N1, 1, 100));
    assert_eq!(r, Rejection::NoGenesis);
    assert!(!r.in_chain());
    assert_eq!(w.head(SSSCIP).0, 0);
    assert!(w.state.origin.is_none());
    // The ledger can still start.
    w.accept(COORD, Body::Genesis(standard_genesis()));
    w.accept(SSSCIP, need_body(N1, 1, 100));
}

#[test]
fn second_genesis_is_rejected() {
    let mut w = World::new();
    let r = w.reject(COORD, Body::Genesis(standard_genesis()));
    assert_violation(&r, "exactly one genesis");
    // By a non-coordinator it fails on the role first.
    let r = w.reject(EE, Body::Genesis(standard_genesis()));
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(EE),
            role: Role::Coordinator,
            kind: "genesis".into(),
        }
    );
}

#[test]
fn genesis_replayed_is_a_duplicate() {
    let mut w = World::empty();
    let g = w.accept(COORD, Body::Genesis(standard_genesis()));
    let before = w.state.clone();
    assert_eq!(w.submit(&g), Outcome::Duplicate);
    assert_eq!(w.state, before);
}

#[test]
fn genesis_must_be_produced_by_its_coordinator() {
    let mut w = World::empty();
    let r = w.reject(EE, Body::Genesis(standard_genesis()));
    assert_violation(&r, "produced by the coordinator it names");
    assert!(w.state.origin.is_none());
}

#[test]
fn genesis_with_a_bad_signature_is_a_forgery() {
    let mut w = World::empty();
    let ev = w.forge(COORD, Body::Genesis(standard_genesis()), &signer(COORD, 99));
    assert_eq!(w.expect_rejected(&ev), Rejection::BadSignature(mid(COORD)));
    assert!(w.state.origin.is_none());
    assert_eq!(w.head(COORD).0, 0);
}

#[test]
fn genesis_must_be_seq_one_with_zero_prev() {
    let mut w = World::empty();
    let mut env = w.envelope(COORD, Body::Genesis(standard_genesis()));
    env.seq = 2;
    let ev = w.sign(COORD, env);
    assert_violation(&w.expect_rejected(&ev), "seq 1, prev zero");

    let mut w = World::empty();
    let mut env = w.envelope(COORD, Body::Genesis(standard_genesis()));
    env.prev = Digest([9; 32]);
    let ev = w.sign(COORD, env);
    assert_violation(&w.expect_rejected(&ev), "seq 1, prev zero");
}

#[test]
fn genesis_origin_must_match_the_envelope() {
    let mut w = World::empty();
    let mut g = standard_genesis();
    g.origin = "elsewhere.example/ledger".into();
    let r = w.reject(COORD, Body::Genesis(g));
    assert_violation(&r, "differs from the envelope's");
}

#[test]
fn genesis_fields_are_validated() {
    // A fresh world each time: see `rejected_pre_genesis_event_does_not_enter_a_chain`.
    let mut g = standard_genesis();
    g.coordinator.roles = vec![Role::Donor];
    assert_invalid_field(
        &World::empty().reject(COORD, Body::Genesis(g)),
        "genesis.coordinator.roles",
    );

    let mut g = standard_genesis();
    let dup = g.members[0].clone();
    g.members.push(dup);
    assert_invalid_field(
        &World::empty().reject(COORD, Body::Genesis(g)),
        "genesis.members[4].id",
    );

    let mut g = standard_genesis();
    g.origin = "has space".into();
    assert_invalid_field(
        &World::empty().reject(COORD, Body::Genesis(g)),
        "genesis.origin",
    );
}

#[test]
fn unsupported_version_is_rejected() {
    let mut w = World::new();
    let mut env = w.envelope(EE, offer_body(O1, 1, 100));
    env.version = 2;
    let ev = w.sign(EE, env);
    let r = w.expect_rejected(&ev);
    assert_eq!(r, Rejection::UnsupportedVersion(2));
    assert!(!r.in_chain());
    assert_eq!(w.head(EE).0, 0);
}

// ---------------------------------------------------------------------------
// Envelope: origin, producer
// ---------------------------------------------------------------------------

#[test]
fn wrong_origin_is_rejected() {
    let mut w = World::new();
    let mut env = w.envelope(EE, offer_body(O1, 1, 100));
    env.origin = "elsewhere.example/ledger".into();
    let ev = w.sign(EE, env);
    assert_eq!(
        w.expect_rejected(&ev),
        Rejection::WrongOrigin {
            expected: ORIGIN.into(),
            found: "elsewhere.example/ledger".into(),
        }
    );
    assert_eq!(w.head(EE).0, 0);
    w.accept(EE, offer_body(O1, 1, 100));
}

#[test]
fn unknown_producer_is_rejected() {
    let mut w = World::new();
    w.set_signer("PL-MC", signer("PL-MC", 50));
    let r = w.reject("PL-MC", offer_body("PL-MC/O-1", 1, 100));
    assert_eq!(r, Rejection::UnknownProducer(mid("PL-MC")));
    assert!(!r.in_chain());
    assert!(!w.state.chains.contains_key(&mid("PL-MC")));
}

// ---------------------------------------------------------------------------
// Chain: signature, equivocation, gap, link, duplicate
// ---------------------------------------------------------------------------

#[test]
fn forgery_is_not_in_the_chain() {
    let mut w = World::new();
    let forged = w.forge(EE, offer_body(O1, 10, 1_000), &signer(EE, 99));
    let r = w.expect_rejected(&forged);
    assert_eq!(r, Rejection::BadSignature(mid(EE)));
    assert!(!r.in_chain());
    assert_eq!(w.head(EE), (0, EventId::ZERO));
    assert!(w.item(O1).is_none());
    // Signed with another member's real key: still a forgery.
    let forged = w.forge(EE, offer_body(O1, 10, 1_000), &signer(DE, seed_of(DE)));
    assert_eq!(w.expect_rejected(&forged), Rejection::BadSignature(mid(EE)));
    // The member's honest event takes seq 1, prev zero, and links.
    let honest = w.accept(EE, offer_body(O1, 10, 1_000));
    assert_eq!(honest.envelope().seq, 1);
    assert_eq!(honest.envelope().prev, EventId::ZERO);
    assert_eq!(w.head(EE), (1, honest.id()));
    w.assert_replay_matches();
}

#[test]
fn tampered_envelope_is_a_bad_signature() {
    let mut w = World::new();
    let ev = w.event(EE, offer_body(O1, 10, 1_000));
    // Same signature, different envelope.
    let mut env = ev.envelope().clone();
    env.body = offer_body(O1, 1_000, 1_000);
    let tampered = Event::from_signature(env, ev.signature()).unwrap();
    assert_eq!(
        w.expect_rejected(&tampered),
        Rejection::BadSignature(mid(EE))
    );
    w.expect_accepted(&ev);
}

#[test]
fn equivocation_names_the_existing_event() {
    let mut w = World::new();
    let first = w.accept(EE, offer_body(O1, 10, 1_000));
    let mut env: Envelope = first.envelope().clone();
    env.body = offer_body("EE-MFA/O-2", 20, 2_000);
    let second = w.sign(EE, env);
    assert_ne!(first.id(), second.id());
    let r = w.expect_rejected(&second);
    assert_eq!(
        r,
        Rejection::Equivocation {
            producer: mid(EE),
            seq: 1,
            existing: first.id(),
        }
    );
    assert!(!r.in_chain());
    assert_eq!(w.head(EE), (1, first.id()));
    assert!(w.item("EE-MFA/O-2").is_none());
}

#[test]
fn gap_in_seq_is_rejected() {
    let mut w = World::new();
    let mut env = w.envelope(EE, offer_body(O1, 10, 1_000));
    env.seq = 2;
    let ev = w.sign(EE, env);
    assert_eq!(
        w.expect_rejected(&ev),
        Rejection::Gap {
            producer: mid(EE),
            expected: 1,
            got: 2,
        }
    );
    assert_eq!(w.head(EE).0, 0);
    w.accept(EE, offer_body(O1, 10, 1_000));
}

#[test]
fn broken_link_is_rejected() {
    let mut w = World::new();
    let first = w.accept(EE, offer_body(O1, 10, 1_000));
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    env.prev = Digest([7; 32]);
    let ev = w.sign(EE, env);
    assert_eq!(
        w.expect_rejected(&ev),
        Rejection::BrokenLink {
            producer: mid(EE),
            expected: first.id(),
            got: Digest([7; 32]),
        }
    );
    assert_eq!(w.head(EE), (1, first.id()));
    w.accept(EE, offer_body("EE-MFA/O-2", 10, 1_000));
}

#[test]
fn duplicate_leaves_the_state_unchanged() {
    let mut w = World::new();
    let ev = w.accept(EE, offer_body(O1, 10, 1_000));
    let before = w.state.clone();
    assert_eq!(w.submit(&ev), Outcome::Duplicate);
    assert!(!Outcome::Duplicate.in_chain());
    assert_eq!(w.state, before);
    // A duplicate of an older event (not the head) too.
    w.accept(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    let before = w.state.clone();
    assert_eq!(w.submit(&ev), Outcome::Duplicate);
    assert_eq!(w.state, before);
    w.assert_replay_matches();
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// The append time is not signed: it decides no verdict, however far it is
/// from `recorded_at` in either direction (time is bounded by checkpoints, a
/// finding of the audit, not by the rules).
#[test]
fn the_append_time_decides_no_verdict() {
    for shift in [
        -400 * MS_PER_DAY,
        -3_600_000,
        0,
        3_600_000,
        400 * MS_PER_DAY,
    ] {
        let mut w = World::new();
        let env = w.envelope(EE, offer_body(O1, 10, 1_000));
        let recorded = env.recorded_at;
        let ev = w.sign(EE, env);
        assert_eq!(
            w.submit_at(&ev, Timestamp(recorded.0 + shift)),
            Outcome::Accepted,
            "appended {shift} ms from its recorded time"
        );
    }
}

/// An event on another member's subject: `wrong_subject`, attributed to the
/// subject, out of every chain; neither member is stopped from appending.
#[test]
fn an_event_on_another_members_subject_is_refused_and_moves_no_chain() {
    let mut w = World::new();
    let first = w.accept(DE, offer_body("DE-AA/O-1", 10, 1_000));
    // EE-MFA republishes DE-AA's event on its own subject, and a new one of DE's.
    let next = w.event(DE, offer_body("DE-AA/O-2", 10, 1_000));
    for ev in [&first, &next] {
        let outcome = evaluate(&w.state, ev, Some(&mid(EE)), SignatureCheck::Verify);
        let Outcome::Rejected(r) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(r.code(), "wrong_subject");
        assert!(!r.in_chain());
        assert_eq!(
            r,
            Rejection::WrongSubject {
                subject: mid(EE),
                producer: mid(DE)
            }
        );
        w.state.apply(ev, &Outcome::Rejected(r));
    }
    assert_eq!(w.head(DE), (1, first.id()));
    assert_eq!(w.head(EE), (0, EventId::ZERO));
    // DE-AA's own copy of `next` still takes its place; EE-MFA appends too.
    w.expect_accepted(&next);
    w.accept(EE, offer_body(O1, 10, 1_000));
    // The same event on its producer's own subject is judged as usual.
    let third = w.event(DE, offer_body("DE-AA/O-3", 10, 1_000));
    assert_eq!(
        evaluate(&w.state, &third, Some(&mid(DE)), SignatureCheck::Verify),
        Outcome::Accepted
    );
}

#[test]
fn time_going_back_is_rejected() {
    let mut w = World::new();
    let first = w.accept(EE, offer_body(O1, 10, 1_000));
    let t = first.envelope().recorded_at;
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    env.recorded_at = Timestamp(t.0 - 1);
    let ev = w.sign(EE, env);
    let r = w.expect_rejected(&ev);
    assert_eq!(
        r,
        Rejection::TimeWentBack {
            recorded: Timestamp(t.0 - 1),
            previous: t,
        }
    );
    assert!(r.in_chain());
    assert_eq!(w.head(EE), (2, ev.id()));
    assert!(w.item("EE-MFA/O-2").is_none());
}

#[test]
fn same_instant_as_previous_event_is_accepted() {
    let mut w = World::new();
    let first = w.accept(EE, offer_body(O1, 10, 1_000));
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    env.recorded_at = first.envelope().recorded_at;
    let ev = w.sign(EE, env);
    w.expect_accepted(&ev);
}

// ---------------------------------------------------------------------------
// Suspension and roles
// ---------------------------------------------------------------------------

#[test]
fn suspended_member_is_rejected() {
    let mut w = World::new();
    w.accept(DE, offer_body("DE-AA/O-1", 1, 100));
    w.accept(COORD, suspend(DE));
    assert!(w.state.members[&mid(DE)].suspended);
    let r = w.reject(DE, offer_body("DE-AA/O-2", 1, 100));
    assert_eq!(r, Rejection::Suspended(mid(DE)));
    assert!(r.in_chain());
    assert_eq!(w.head(DE).0, 2);
    assert!(w.item("DE-AA/O-2").is_none());
    // Earlier items stay; other members are unaffected.
    assert!(w.item("DE-AA/O-1").is_some());
    w.accept(EE, offer_body(O1, 1, 100));
}

#[test]
fn suspension_rules() {
    let mut w = World::new();
    assert_violation(&w.reject(COORD, suspend(COORD)), "cannot suspend itself");
    assert_violation(&w.reject(COORD, suspend("PL-MC")), "not admitted");
    assert_eq!(
        w.reject(EE, suspend(DE)),
        Rejection::MissingRole {
            member: mid(EE),
            role: Role::Coordinator,
            kind: "member_suspended".into(),
        }
    );
    w.accept(COORD, suspend(DE));
    assert_violation(&w.reject(COORD, suspend(DE)), "already suspended");
}

#[test]
fn recipient_cannot_make_an_offer() {
    let mut w = World::new();
    let r = w.reject(SSSCIP, offer_body("UA-SSSCIP/O-1", 1, 100));
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(SSSCIP),
            role: Role::Donor,
            kind: "offer_made".into(),
        }
    );
    assert!(r.in_chain());
    assert!(w.item("UA-SSSCIP/O-1").is_none());
}

#[test]
fn donor_cannot_state_a_need() {
    let mut w = World::new();
    let r = w.reject(EE, Body::NeedStated(need("EE-MFA/N-1", SSSCIP, 1, 100)));
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(EE),
            role: Role::Recipient,
            kind: "need_stated".into(),
        }
    );
    w.accept(SSSCIP, need_body(N1, 1, 100));
}

#[test]
fn donor_cannot_acknowledge_and_recipient_cannot_deliver() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        EE,
        Body::ReceiptAcknowledged(receipt("EE-MFA/R-1", D1, 4, today)),
    );
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(EE),
            role: Role::Recipient,
            kind: "receipt_acknowledged".into(),
        }
    );
    let r = w.reject(
        SSSCIP,
        Body::DeliveryRecorded(delivery("UA-SSSCIP/D-1", C1, 1, 100, today)),
    );
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(SSSCIP),
            role: Role::Donor,
            kind: "delivery_recorded".into(),
        }
    );
}

// ---------------------------------------------------------------------------
// Static field checks
// ---------------------------------------------------------------------------

#[test]
fn eur_money_must_have_equal_eur_equivalent() {
    let mut w = World::new();
    let mut o = offer(O1, 10, 1_000, &[]);
    o.value = money(1_000, "EUR", 999);
    let r = w.reject(EE, Body::OfferMade(o));
    assert_invalid_field(&r, "offer_made.value.eur_minor");
    assert!(r.in_chain());
    // Other currencies state their own EUR equivalent.
    let mut o = offer(O1, 10, 1_000, &[]);
    o.value = money(1_000, "USD", 921);
    w.accept(EE, Body::OfferMade(o));
}

#[test]
fn money_format_is_checked() {
    let mut w = World::new();
    let mut o = offer(O1, 10, 1_000, &[]);
    o.value = money(1_000, "eur", 1_000);
    assert_invalid_field(
        &w.reject(EE, Body::OfferMade(o)),
        "offer_made.value.currency",
    );
    let mut o = offer(O1, 10, 1_000, &[]);
    o.value = eur((1 << 53) + 1);
    assert_invalid_field(
        &w.reject(EE, Body::OfferMade(o)),
        "offer_made.value.amount_minor",
    );
    let mut o = offer(O1, 10, 1_000, &[]);
    o.value = eur(1 << 53);
    w.accept(EE, Body::OfferMade(o));
}

#[test]
fn contributor_country_is_checked() {
    let mut w = World::new();
    let mut o = offer(O1, 10, 1_000, &[]);
    o.on_behalf_of = Some(Contributor {
        name: "Example Security AS".into(),
        kind: MemberKind::Company,
        country: "Estonia".into(),
    });
    assert_invalid_field(
        &w.reject(EE, Body::OfferMade(o.clone())),
        "offer_made.on_behalf_of.country",
    );
    o.on_behalf_of.as_mut().unwrap().country = "EE".into();
    w.accept(EE, Body::OfferMade(o));
}

#[test]
fn dac_sector_is_checked() {
    let mut w = World::new();
    let mut n = need(N1, SSSCIP, 1, 100);
    n.dac_sector = Some(2204);
    assert_invalid_field(
        &w.reject(SSSCIP, Body::NeedStated(n.clone())),
        "need_stated.dac_sector",
    );
    n.dac_sector = Some(100_000);
    assert_invalid_field(
        &w.reject(SSSCIP, Body::NeedStated(n.clone())),
        "need_stated.dac_sector",
    );
    n.dac_sector = Some(15210);
    w.accept(SSSCIP, Body::NeedStated(n));
}

#[test]
fn quantities_and_texts_are_checked() {
    let mut w = World::new();
    assert_invalid_field(
        &w.reject(SSSCIP, need_body(N1, 0, 100)),
        "need_stated.quantity.amount",
    );
    let mut n = need(N1, SSSCIP, 1, 100);
    n.quantity.unit = String::new();
    assert_invalid_field(
        &w.reject(SSSCIP, Body::NeedStated(n)),
        "need_stated.quantity.unit",
    );
    let mut o = offer(O1, 1, 100, &[]);
    o.description = String::new();
    assert_invalid_field(&w.reject(EE, Body::OfferMade(o)), "offer_made.description");
    let mut o = offer(O1, 1, 100, &[]);
    o.description = "bell\u{7}".into();
    assert_invalid_field(&w.reject(EE, Body::OfferMade(o)), "offer_made.description");
    let mut o = offer(O1, 1, 100, &[]);
    o.description = "x".repeat(ledger::body::MAX_TEXT + 1);
    assert_invalid_field(&w.reject(EE, Body::OfferMade(o)), "offer_made.description");
    let mut o = offer(O1, 1, 100, &[]);
    o.description = "two\nlines".into();
    w.accept(EE, Body::OfferMade(o));
}

#[test]
fn lists_must_not_repeat_items() {
    let mut w = World::new();
    w.accept(SSSCIP, need_body(N1, 1, 100));
    let r = w.reject(EE, Body::OfferMade(offer(O1, 1, 100, &[N1, N1])));
    assert_invalid_field(&r, "offer_made.answers");
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, None, &[N1, N1], SSSCIP, 1, 100)),
    );
    assert_invalid_field(&r, "commitment_made.needs");
}

#[test]
fn commitment_names_an_offer_or_needs() {
    let mut w = World::new();
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, None, &[], SSSCIP, 1, 100)),
    );
    assert_invalid_field(&r, "commitment_made.offer");
    w.accept(SSSCIP, need_body(N1, 1, 100));
    w.accept(
        EE,
        Body::CommitmentMade(commitment(C1, None, &[N1], SSSCIP, 1, 100)),
    );
}

#[test]
fn tranches_must_add_up() {
    let mut w = World::new();
    w.accept(SSSCIP, need_body(N1, 10, 1_000));
    let d = w.today();
    let mut c = commitment(C1, None, &[N1], SSSCIP, 10, 1_000);

    c.tranches = vec![
        tranche(d.add_days(30), 5, 500),
        tranche(d.add_days(60), 4, 500),
    ];
    let r = w.reject(EE, Body::CommitmentMade(c.clone()));
    assert_invalid_field(&r, "commitment_made.tranches");
    assert!(format!("{r}").contains("add up to 9, not the committed 10"));

    c.tranches = vec![
        tranche(d.add_days(30), 5, 500),
        tranche(d.add_days(60), 5, 400),
    ];
    let r = w.reject(EE, Body::CommitmentMade(c.clone()));
    assert_invalid_field(&r, "commitment_made.tranches");

    c.tranches = vec![
        tranche(d.add_days(60), 5, 500),
        tranche(d.add_days(30), 5, 500),
    ];
    let r = w.reject(EE, Body::CommitmentMade(c.clone()));
    assert_invalid_field(&r, "commitment_made.tranches");

    c.tranches = vec![
        tranche(d.add_days(30), 5, 500),
        tranche(d.add_days(60), 5, 500),
    ];
    w.accept(EE, Body::CommitmentMade(c));
    assert_eq!(w.commitment_state(C1).tranches.len(), 2);
}

#[test]
fn delivery_and_receipt_fields_are_checked() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, 0, 0, today)),
    );
    assert_invalid_field(&r, "delivery_recorded.quantity");
    let mut rc = receipt(R1, D1, 3, today);
    rc.discrepancy = Some(String::new());
    let r = w.reject(SSSCIP, Body::ReceiptAcknowledged(rc));
    assert_invalid_field(&r, "receipt_acknowledged.discrepancy");
}

// ---------------------------------------------------------------------------
// Item ids
// ---------------------------------------------------------------------------

#[test]
fn item_id_must_be_owned_by_the_producer() {
    let mut w = World::new();
    let r = w.reject(EE, offer_body("DE-AA/O-1", 1, 100));
    assert_violation(&r, "must start with the producer's id (EE-MFA/)");
    assert!(w.item("DE-AA/O-1").is_none());
    w.accept(DE, offer_body("DE-AA/O-1", 1, 100));
}

#[test]
fn item_id_cannot_be_reused() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 1, 100));
    assert_violation(&w.reject(EE, offer_body(O1, 2, 200)), "is already used");
    assert_eq!(w.offer_state(O1).quantity, 1);
    // Not even for another kind of item.
    w.accept(SSSCIP, need_body(N1, 1, 100));
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(O1, None, &[N1], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "is already used");
}

// ---------------------------------------------------------------------------
// Needs and offers
// ---------------------------------------------------------------------------

#[test]
fn need_recipient_must_be_a_recipient() {
    let mut w = World::new();
    let r = w.reject(SSSCIP, Body::NeedStated(need(N1, EE, 1, 100)));
    assert_violation(
        &r,
        "recipient EE-MFA is not an admitted recipient institution",
    );
    let r = w.reject(SSSCIP, Body::NeedStated(need(N1, "PL-MC", 1, 100)));
    assert_violation(&r, "is not an admitted recipient institution");
    // Stated on behalf of another recipient institution.
    w.accept(SSSCIP, Body::NeedStated(need(N1, MINDIGITAL, 1, 100)));
}

#[test]
fn offer_must_answer_open_needs() {
    let mut w = World::new();
    let r = w.reject(EE, Body::OfferMade(offer(O1, 1, 100, &["UA-SSSCIP/N-9"])));
    assert_violation(&r, "need UA-SSSCIP/N-9 does not exist");

    w.accept(EE, offer_body("EE-MFA/O-0", 1, 100));
    let r = w.reject(EE, Body::OfferMade(offer(O1, 1, 100, &["EE-MFA/O-0"])));
    assert_violation(&r, "need EE-MFA/O-0 does not exist");

    w.accept(SSSCIP, need_body(N1, 1, 100));
    w.accept(SSSCIP, need_body("UA-SSSCIP/N-2", 1, 100));
    w.accept(SSSCIP, cancel("UA-SSSCIP/N-2", CancelScope::Whole));
    let r = w.reject(
        EE,
        Body::OfferMade(offer(O1, 1, 100, &[N1, "UA-SSSCIP/N-2"])),
    );
    assert_violation(&r, "need UA-SSSCIP/N-2 is cancelled");

    w.accept(EE, Body::OfferMade(offer(O1, 1, 100, &[N1])));
}

// ---------------------------------------------------------------------------
// Commitments
// ---------------------------------------------------------------------------

#[test]
fn commitment_on_another_donors_offer_is_rejected() {
    let mut w = World::new();
    w.accept(DE, offer_body("DE-AA/O-1", 10, 1_000));
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, Some("DE-AA/O-1"), &[], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "offer DE-AA/O-1 belongs to another donor");
    assert_eq!(w.offer_state("DE-AA/O-1").committed_quantity, 0);
    w.accept(
        DE,
        Body::CommitmentMade(commitment(
            "DE-AA/C-1",
            Some("DE-AA/O-1"),
            &[],
            SSSCIP,
            1,
            100,
        )),
    );
}

#[test]
fn commitment_on_unknown_offer_is_rejected() {
    let mut w = World::new();
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "offer EE-MFA/O-1 does not exist");
}

#[test]
fn commitment_on_cancelled_offer_is_rejected() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 10, 1_000));
    w.accept(EE, cancel(O1, CancelScope::Whole));
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "offer EE-MFA/O-1 is cancelled");
}

#[test]
fn commitment_on_expired_offer_is_rejected() {
    let mut w = World::new();
    let mut o = offer(O1, 10, 1_000, &[]);
    o.valid_until = Some(w.today().add_days(1));
    w.accept(EE, Body::OfferMade(o));
    // On the last valid day: fine.
    w.advance_days(1);
    w.accept(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 1, 100)),
    );
    // The day after: expired.
    w.advance_days(1);
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-2", Some(O1), &[], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "offer EE-MFA/O-1 expired on");
}

#[test]
fn commitments_cannot_exceed_offer_quantity() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 10, 1_000_000));
    w.accept(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 6, 1_000)),
    );
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-2", Some(O1), &[], SSSCIP, 5, 1_000)),
    );
    assert_violation(&r, "would reach 11 terminals, more than the 10 offered");
    assert_eq!(w.offer_state(O1).committed_quantity, 6);
    w.accept(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-3", Some(O1), &[], SSSCIP, 4, 1_000)),
    );
    assert_eq!(w.offer_state(O1).committed_quantity, 10);
    assert_eq!(w.offer_state(O1).committed_eur, 2_000);
}

#[test]
fn commitments_cannot_exceed_offer_value() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 10, 1_000_000));
    w.accept(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 5, 600_000)),
    );
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-2", Some(O1), &[], SSSCIP, 5, 400_001)),
    );
    assert_violation(
        &r,
        "would reach EUR 1000001 cents, more than the 1000000 offered",
    );
    // EUR equivalents count, whatever the currency.
    let mut c = commitment("EE-MFA/C-3", Some(O1), &[], SSSCIP, 5, 0);
    c.value = money(500_000, "USD", 400_000);
    w.accept(EE, Body::CommitmentMade(c));
    assert_eq!(w.offer_state(O1).committed_eur, 1_000_000);
}

#[test]
fn commitments_in_another_unit_do_not_count_against_offer_quantity() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 10, 1_000_000));
    let mut c = commitment(C1, Some(O1), &[], SSSCIP, 500, 100_000);
    c.quantity.unit = "person-days".into();
    w.accept(EE, Body::CommitmentMade(c));
    assert_eq!(w.offer_state(O1).committed_quantity, 0);
    assert_eq!(w.offer_state(O1).committed_eur, 100_000);
}

#[test]
fn commitment_recipient_and_needs_are_checked() {
    let mut w = World::new();
    w.accept(SSSCIP, need_body(N1, 10, 1_000));
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, None, &[N1], DE, 1, 100)),
    );
    assert_violation(
        &r,
        "recipient DE-AA is not an admitted recipient institution",
    );
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, None, &["UA-SSSCIP/N-2"], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "need UA-SSSCIP/N-2 does not exist");
    w.accept(SSSCIP, cancel(N1, CancelScope::Whole));
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(C1, None, &[N1], SSSCIP, 1, 100)),
    );
    assert_violation(&r, "need UA-SSSCIP/N-1 is cancelled");
}

// ---------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------

#[test]
fn delivery_on_another_donors_commitment_is_rejected() {
    let mut w = World::with_commitment();
    let today = w.today();
    let r = w.reject(
        DE,
        Body::DeliveryRecorded(delivery("DE-AA/D-1", C1, 1, 100, today)),
    );
    assert_violation(&r, "commitment EE-MFA/C-1 belongs to another donor");
    assert_eq!(w.commitment_state(C1).delivered_quantity, 0);
}

#[test]
fn delivery_on_unknown_commitment_is_rejected() {
    let mut w = World::with_commitment();
    let today = w.today();
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery(D1, "EE-MFA/C-9", 1, 100, today)),
    );
    assert_violation(&r, "commitment EE-MFA/C-9 does not exist");
    // An offer is not a commitment.
    let r = w.reject(EE, Body::DeliveryRecorded(delivery(D1, O1, 1, 100, today)));
    assert_violation(&r, "commitment EE-MFA/O-1 does not exist");
}

#[test]
fn partial_deliveries_add_up_to_the_commitment_exactly() {
    let mut w = World::with_commitment();
    let today = w.today();
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 4, 400_000, today)),
    );
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, 6, 600_000, today)),
    );
    let c = w.commitment_state(C1);
    assert_eq!((c.delivered_quantity, c.delivered_amount), (10, 1_000_000));
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-3", C1, 1, 0, today)),
    );
    assert_violation(
        &r,
        "over-delivery: 11 terminals delivered in all, 10 committed",
    );
    let c = w.commitment_state(C1);
    assert_eq!((c.delivered_quantity, c.delivered_amount), (10, 1_000_000));
    assert!(w.item("EE-MFA/D-3").is_none());
}

#[test]
fn over_delivery_by_value_is_rejected() {
    let mut w = World::with_commitment();
    let today = w.today();
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 5, 1_000_001, today)),
    );
    assert_violation(
        &r,
        "over-delivery: 1000001 EUR minor units delivered in all, 1000000 committed",
    );
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 5, 1_000_000, today)),
    );
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, 5, 1, today)),
    );
    assert_violation(&r, "minor units delivered in all");
}

#[test]
fn delivery_currency_must_match_the_commitment() {
    let mut w = World::with_commitment();
    let today = w.today();
    let mut d = delivery(D1, C1, 1, 0, today);
    d.value = money(100_000, "USD", 92_000);
    let r = w.reject(EE, Body::DeliveryRecorded(d));
    assert_violation(&r, "delivery in USD on a commitment in EUR");
}

#[test]
fn delivery_on_cancelled_commitment_is_rejected() {
    let mut w = World::with_commitment();
    let today = w.today();
    w.accept(EE, cancel(C1, CancelScope::Whole));
    let r = w.reject(EE, Body::DeliveryRecorded(delivery(D1, C1, 1, 100, today)));
    assert_violation(&r, "commitment EE-MFA/C-1 is cancelled");
}

#[test]
fn delivered_on_cannot_be_after_recording() {
    let mut w = World::with_commitment();
    let tomorrow = w.today().add_days(1);
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 1, 100, tomorrow)),
    );
    assert_violation(&r, "is after the event was recorded");
    let yesterday = w.today().add_days(-1);
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery(D1, C1, 1, 100, yesterday)),
    );
}

// ---------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------

#[test]
fn receipt_by_the_wrong_institution_is_rejected() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        MINDIGITAL,
        Body::ReceiptAcknowledged(receipt("UA-MINDIGITAL/R-1", D1, 4, today)),
    );
    assert_violation(
        &r,
        "only UA-SSSCIP (the named recipient) acknowledges delivery EE-MFA/D-1",
    );
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    match w.item(D1) {
        Some(Item::Delivery(d)) => assert_eq!(d.receipt, Some(iid(R1))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn receipt_twice_is_rejected() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    let r = w.reject(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt("UA-SSSCIP/R-2", D1, 4, today)),
    );
    assert_violation(
        &r,
        "delivery EE-MFA/D-1 is already acknowledged by UA-SSSCIP/R-1",
    );
}

#[test]
fn receipt_of_unknown_delivery_is_rejected() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt(R1, "EE-MFA/D-9", 4, today)),
    );
    assert_violation(&r, "delivery EE-MFA/D-9 does not exist");
    let r = w.reject(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, C1, 4, today)));
    assert_violation(&r, "delivery EE-MFA/C-1 does not exist");
}

#[test]
fn quantity_accepted_cannot_exceed_delivered() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 5, today)));
    assert_violation(&r, "quantity_accepted 5 exceeds the 4 delivered");
}

#[test]
fn accepting_less_needs_a_discrepancy_note() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 3, today)));
    assert_violation(&r, "a discrepancy note is required");
    let mut rc = receipt(R1, D1, 3, today);
    rc.discrepancy = Some("one terminal arrived damaged".into());
    w.accept(SSSCIP, Body::ReceiptAcknowledged(rc));
    match w.item(R1) {
        Some(Item::Receipt(r)) => assert_eq!(r.quantity_accepted, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn received_on_must_be_between_delivery_and_recording() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt(R1, D1, 4, today.add_days(-1))),
    );
    assert_violation(&r, "must be between delivery");
    let r = w.reject(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt(R1, D1, 4, today.add_days(1))),
    );
    assert_violation(&r, "must be between delivery");
    w.advance_days(3);
    w.accept(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt(R1, D1, 4, today.add_days(2))),
    );
}

// ---------------------------------------------------------------------------
// Amendments and corrections
// ---------------------------------------------------------------------------

#[test]
fn offer_quantity_cannot_go_below_committed() {
    let mut w = World::with_commitment();
    let r = w.reject(
        EE,
        amend(
            O1,
            ChangeFields {
                quantity: Some(9),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "quantity below the 10 already committed");
    assert_eq!(w.offer_state(O1).quantity, 10);
    w.accept(
        EE,
        amend(
            O1,
            ChangeFields {
                quantity: Some(12),
                ..fields()
            },
        ),
    );
    assert_eq!(w.offer_state(O1).quantity, 12);
}

#[test]
fn offer_value_cannot_go_below_committed() {
    let mut w = World::with_commitment();
    let r = w.reject(
        EE,
        amend(
            O1,
            ChangeFields {
                value: Some(eur(999_999)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "value below the EUR 1000000 cents already committed");
    w.accept(
        EE,
        amend(
            O1,
            ChangeFields {
                value: Some(eur(1_500_000)),
                date: Some(w.today().add_days(90)),
                description: Some("More terminals".into()),
                ..fields()
            },
        ),
    );
    assert_eq!(w.offer_state(O1).eur_minor, 1_500_000);
    assert_eq!(w.offer_state(O1).valid_until, Some(w.today().add_days(90)));
}

#[test]
fn commitment_cannot_go_below_delivered() {
    let mut w = with_delivery(); // 4 of 10 delivered, EUR 4,000 of 10,000
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                value: Some(eur(399_999)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "below what is already delivered");
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(3),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "below what is already delivered");
    w.accept(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(8),
                value: Some(eur(800_000)),
                ..fields()
            },
        ),
    );
    let c = w.commitment_state(C1);
    assert_eq!(
        (c.quantity, c.amount_minor, c.eur_minor),
        (8, 800_000, 800_000)
    );
    // The offer's committed totals follow.
    let o = w.offer_state(O1);
    assert_eq!((o.committed_quantity, o.committed_eur), (8, 800_000));
    w.assert_replay_matches();
}

#[test]
fn commitment_value_keeps_its_currency() {
    let mut w = World::with_commitment();
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                value: Some(money(1_000_000, "USD", 900_000)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "value in USD, the commitment is in EUR");
}

#[test]
fn tranche_replan_must_add_up() {
    let mut w = World::new();
    w.accept(SSSCIP, need_body(N1, 10, 1_000));
    let d = w.today();
    let mut c = commitment(C1, None, &[N1], SSSCIP, 10, 1_000);
    c.tranches = vec![
        tranche(d.add_days(30), 5, 500),
        tranche(d.add_days(60), 5, 500),
    ];
    w.accept(EE, Body::CommitmentMade(c));

    // A new quantity without new tranches: the old ones no longer add up.
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(8),
                ..fields()
            },
        ),
    );
    assert_invalid_field(&r, "commitment.fields.tranches");
    // New tranches that do not add up.
    let bad: Vec<Tranche> = vec![
        tranche(d.add_days(30), 4, 400),
        tranche(d.add_days(60), 3, 400),
    ];
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(8),
                value: Some(eur(800)),
                tranches: Some(bad),
                ..fields()
            },
        ),
    );
    assert_invalid_field(&r, "commitment.fields.tranches");
    // A re-plan that adds up.
    let good = vec![
        tranche(d.add_days(30), 4, 400),
        tranche(d.add_days(90), 4, 400),
    ];
    w.accept(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(8),
                value: Some(eur(800)),
                tranches: Some(good.clone()),
                ..fields()
            },
        ),
    );
    assert_eq!(w.commitment_state(C1).tranches, good);
    // Re-planning dates only, totals unchanged.
    let replanned = vec![
        tranche(d.add_days(45), 4, 400),
        tranche(d.add_days(120), 4, 400),
    ];
    w.accept(
        EE,
        amend(
            C1,
            ChangeFields {
                tranches: Some(replanned),
                ..fields()
            },
        ),
    );
    // A description alone does not re-check the tranches.
    w.accept(
        EE,
        amend(
            C1,
            ChangeFields {
                description: Some("Terminals, three batches".into()),
                ..fields()
            },
        ),
    );
}

#[test]
fn fields_not_applicable_to_a_kind_are_rejected() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));

    let r = w.reject(
        EE,
        amend(
            O1,
            ChangeFields {
                priority: Some(Priority::Low),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "fields.priority does not apply to a offer");
    let r = w.reject(
        SSSCIP,
        amend(
            N1,
            ChangeFields {
                tranches: Some(vec![]),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "fields.tranches does not apply to a need");
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                date: Some(today),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "fields.date does not apply to a commitment");
    let r = w.reject(
        EE,
        correct(
            D1,
            ChangeFields {
                description: Some("x".into()),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "fields.description does not apply to a delivery");
    let r = w.reject(
        SSSCIP,
        correct(
            R1,
            ChangeFields {
                value: Some(eur(1)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "fields.value does not apply to a receipt");
    // Applicable fields of a need.
    w.accept(
        SSSCIP,
        amend(
            N1,
            ChangeFields {
                quantity: Some(12),
                value: Some(eur(1_200_000)),
                date: Some(today.add_days(30)),
                priority: Some(Priority::Critical),
                description: Some("More terminals".into()),
                tranches: None,
            },
        ),
    );
    match w.item(N1) {
        Some(Item::Need(n)) => assert_eq!(n.quantity, 12),
        other => panic!("{other:?}"),
    }
}

#[test]
fn delivery_can_be_corrected_but_not_amended() {
    let mut w = with_delivery();
    let r = w.reject(
        EE,
        amend(
            D1,
            ChangeFields {
                quantity: Some(3),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "cannot be amended");
    assert_eq!(w.commitment_state(C1).delivered_quantity, 4);
    w.accept(
        EE,
        correct(
            D1,
            ChangeFields {
                quantity: Some(3),
                value: Some(eur(300_000)),
                ..fields()
            },
        ),
    );
    let c = w.commitment_state(C1);
    assert_eq!((c.delivered_quantity, c.delivered_amount), (3, 300_000));
    w.assert_replay_matches();
}

#[test]
fn delivery_correction_bounds() {
    let mut w = with_delivery();
    let r = w.reject(
        EE,
        correct(
            D1,
            ChangeFields {
                quantity: Some(11),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "the corrected delivery would exceed the commitment");
    let r = w.reject(
        EE,
        correct(
            D1,
            ChangeFields {
                value: Some(money(1, "USD", 1)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "value in USD, the commitment is in EUR");
    // Up to the whole commitment is fine.
    w.accept(
        EE,
        correct(
            D1,
            ChangeFields {
                quantity: Some(10),
                ..fields()
            },
        ),
    );
    let today = w.today();
    w.accept(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt(R1, D1, 10, today)),
    );
    let r = w.reject(
        EE,
        correct(
            D1,
            ChangeFields {
                quantity: Some(9),
                ..fields()
            },
        ),
    );
    assert_violation(
        &r,
        "the corrected quantity is below what the recipient accepted",
    );
}

#[test]
fn receipt_can_be_corrected_but_not_amended() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    let r = w.reject(
        SSSCIP,
        amend(
            R1,
            ChangeFields {
                quantity: Some(3),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "a receipt cannot be amended");
    let r = w.reject(
        SSSCIP,
        correct(
            R1,
            ChangeFields {
                quantity: Some(5),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "quantity accepted above the 4 delivered");
    w.accept(
        SSSCIP,
        correct(
            R1,
            ChangeFields {
                quantity: Some(3),
                description: Some("one terminal was damaged".into()),
                ..fields()
            },
        ),
    );
    match w.item(R1) {
        Some(Item::Receipt(r)) => assert_eq!(r.quantity_accepted, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn changes_need_an_owned_existing_open_item() {
    let mut w = World::with_commitment();
    let q = || ChangeFields {
        quantity: Some(11),
        ..ChangeFields::default()
    };
    assert_violation(
        &w.reject(DE, amend(O1, q())),
        "item EE-MFA/O-1 belongs to EE-MFA, not DE-AA",
    );
    assert_violation(
        &w.reject(EE, amend("EE-MFA/O-9", q())),
        "item EE-MFA/O-9 does not exist",
    );
    w.accept(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    w.accept(EE, cancel("EE-MFA/O-2", CancelScope::Whole));
    assert_violation(
        &w.reject(EE, amend("EE-MFA/O-2", q())),
        "offer EE-MFA/O-2 is cancelled",
    );
    w.accept(SSSCIP, need_body("UA-SSSCIP/N-2", 1, 100));
    w.accept(SSSCIP, cancel("UA-SSSCIP/N-2", CancelScope::Whole));
    assert_violation(
        &w.reject(SSSCIP, amend("UA-SSSCIP/N-2", q())),
        "need UA-SSSCIP/N-2 is cancelled",
    );
    w.accept(EE, cancel(C1, CancelScope::Whole));
    assert_violation(
        &w.reject(EE, amend(C1, q())),
        "commitment EE-MFA/C-1 is cancelled",
    );
}

#[test]
fn change_fields_are_validated() {
    let mut w = World::with_commitment();
    assert_invalid_field(&w.reject(EE, amend(O1, fields())), "amended.fields");
    assert_invalid_field(&w.reject(EE, correct(O1, fields())), "corrected.fields");
    let mut ch = change(
        O1,
        ChangeFields {
            quantity: Some(12),
            ..fields()
        },
    );
    ch.reason = String::new();
    assert_invalid_field(&w.reject(EE, Body::Amended(ch)), "amended.reason");
    let r = w.reject(
        EE,
        amend(
            O1,
            ChangeFields {
                quantity: Some(0),
                ..fields()
            },
        ),
    );
    assert_invalid_field(&r, "amended.fields.quantity");
    let r = w.reject(
        EE,
        amend(
            O1,
            ChangeFields {
                value: Some(money(5, "EUR", 4)),
                ..fields()
            },
        ),
    );
    assert_invalid_field(&r, "amended.fields.value.eur_minor");
}

// ---------------------------------------------------------------------------
// Cancellations
// ---------------------------------------------------------------------------

#[test]
fn commitment_with_deliveries_cancels_only_its_remaining_balance() {
    let mut w = with_delivery();
    let r = w.reject(EE, cancel(C1, CancelScope::Whole));
    assert_violation(
        &r,
        "commitment EE-MFA/C-1 has deliveries: cancel its remaining balance instead",
    );
    assert_eq!(w.commitment_state(C1).cancelled, None);
    w.accept(EE, cancel(C1, CancelScope::RemainingBalance));
    assert_eq!(
        w.commitment_state(C1).cancelled,
        Some(CancelScope::RemainingBalance)
    );
    let today = w.today();
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, 1, 100, today)),
    );
    assert_violation(&r, "commitment EE-MFA/C-1 is cancelled");
    let r = w.reject(EE, cancel(C1, CancelScope::RemainingBalance));
    assert_violation(&r, "commitment EE-MFA/C-1 is already cancelled");
    // Deliveries made before still count and can still be acknowledged.
    assert_eq!(w.commitment_state(C1).delivered_quantity, 4);
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
}

#[test]
fn commitment_without_deliveries_cancels_whole() {
    let mut w = World::with_commitment();
    w.accept(EE, cancel(C1, CancelScope::Whole));
    assert_eq!(w.commitment_state(C1).cancelled, Some(CancelScope::Whole));
    let r = w.reject(EE, cancel(C1, CancelScope::Whole));
    assert_violation(&r, "commitment EE-MFA/C-1 is already cancelled");
}

#[test]
fn need_and_offer_cancellation() {
    let mut w = World::new();
    w.accept(SSSCIP, need_body(N1, 1, 100));
    w.accept(EE, offer_body(O1, 1, 100));
    let r = w.reject(SSSCIP, cancel(N1, CancelScope::RemainingBalance));
    assert_violation(&r, "only commitments have a remaining balance to cancel");
    let r = w.reject(EE, cancel(O1, CancelScope::RemainingBalance));
    assert_violation(&r, "only commitments have a remaining balance to cancel");

    w.accept(SSSCIP, cancel(N1, CancelScope::Whole));
    w.accept(EE, cancel(O1, CancelScope::Whole));
    assert!(matches!(w.item(N1), Some(Item::Need(n)) if n.cancelled));
    assert!(w.offer_state(O1).cancelled);

    assert_violation(
        &w.reject(SSSCIP, cancel(N1, CancelScope::Whole)),
        "UA-SSSCIP/N-1 is already cancelled",
    );
    assert_violation(
        &w.reject(EE, cancel(O1, CancelScope::Whole)),
        "EE-MFA/O-1 is already cancelled",
    );
}

#[test]
fn deliveries_and_receipts_are_not_cancellable() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    let r = w.reject(EE, cancel(D1, CancelScope::Whole));
    assert_violation(&r, "a delivery cannot be cancelled; correct it instead");
    let r = w.reject(SSSCIP, cancel(R1, CancelScope::Whole));
    assert_violation(&r, "a receipt cannot be cancelled; correct it instead");
}

#[test]
fn cancellation_needs_an_owned_existing_item() {
    let mut w = World::with_commitment();
    assert_violation(
        &w.reject(DE, cancel(C1, CancelScope::Whole)),
        "item EE-MFA/C-1 belongs to EE-MFA, not DE-AA",
    );
    assert_violation(
        &w.reject(SSSCIP, cancel(C1, CancelScope::Whole)),
        "belongs to EE-MFA, not UA-SSSCIP",
    );
    assert_violation(
        &w.reject(EE, cancel("EE-MFA/C-9", CancelScope::Whole)),
        "item EE-MFA/C-9 does not exist",
    );
    let mut c = cancel(C1, CancelScope::Whole);
    if let Body::Cancelled(x) = &mut c {
        x.reason = String::new();
    }
    assert_invalid_field(&w.reject(EE, c), "cancelled.reason");
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

#[test]
fn member_rotates_its_own_key() {
    let mut w = World::new();
    let old = w.signer(EE).clone();
    let new = signer(EE, 12);
    // Signed with the current (old) key.
    w.accept(EE, rotate(EE, new.public_key()));
    let ms = &w.state.members[&mid(EE)];
    assert_eq!(ms.active_key, Some(new.public_key()));
    assert_eq!(ms.past_keys, vec![old.public_key(), new.public_key()]);
    // The old key no longer signs for EE-MFA.
    let ev = w.event(EE, offer_body(O1, 1, 100));
    assert_eq!(w.expect_rejected(&ev), Rejection::BadSignature(mid(EE)));
    assert_eq!(w.head(EE).0, 1);
    // The new key does.
    w.set_signer(EE, new);
    let ev = w.accept(EE, offer_body(O1, 1, 100));
    assert_eq!(ev.envelope().seq, 2);
    w.assert_replay_matches();
}

#[test]
fn coordinator_rotates_a_members_key() {
    let mut w = World::new();
    let new = signer(DE, 13);
    w.accept(COORD, rotate(DE, new.public_key()));
    assert_eq!(
        w.reject(DE, offer_body("DE-AA/O-1", 1, 100)),
        Rejection::BadSignature(mid(DE))
    );
    w.set_signer(DE, new);
    w.accept(DE, offer_body("DE-AA/O-1", 1, 100));
    w.assert_replay_matches();
}

#[test]
fn only_the_member_or_coordinator_rotates_a_key() {
    let mut w = World::new();
    let r = w.reject(EE, rotate(DE, signer(DE, 13).public_key()));
    assert_violation(
        &r,
        "only the member itself or the coordinator rotates a key",
    );
    assert_eq!(
        w.state.active_key(&mid(DE)),
        Some(signer(DE, seed_of(DE)).public_key())
    );
    let r = w.reject(COORD, rotate("PL-MC", signer("PL-MC", 13).public_key()));
    assert_violation(&r, "member PL-MC is not admitted");
}

#[test]
fn a_key_already_used_cannot_be_rotated_in() {
    let mut w = World::new();
    let ee_old = w.signer(EE).public_key();
    // Another member's key.
    let r = w.reject(EE, rotate(EE, signer(DE, seed_of(DE)).public_key()));
    assert_violation(&r, "already used by DE-AA");
    // Its own current key.
    let r = w.reject(EE, rotate(EE, ee_old));
    assert_violation(&r, "the new key was already used by EE-MFA");
    // Its own past key.
    let new = signer(EE, 12);
    w.accept(EE, rotate(EE, new.public_key()));
    w.set_signer(EE, new);
    let r = w.reject(EE, rotate(EE, ee_old));
    assert_violation(&r, "the new key was already used by EE-MFA");
    // A weak key is not a key.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let r = w.reject(EE, rotate(EE, PublicKey(weak)));
    assert_invalid_field(&r, "key_rotated.new_key");
}

#[test]
fn revoked_key_stops_the_member_until_a_new_key_is_rotated_in() {
    let mut w = World::new();
    let offered = w.accept(EE, offer_body(O1, 10, 1_000));
    w.accept(COORD, revoke(EE));
    assert_eq!(w.state.active_key(&mid(EE)), None);

    let r = w.reject(EE, offer_body("EE-MFA/O-2", 1, 100));
    assert_eq!(r, Rejection::NoActiveKey(mid(EE)));
    assert!(!r.in_chain());
    assert_eq!(w.head(EE), (1, offered.id()));
    // Earlier events stay accepted.
    assert!(w.item(O1).is_some());
    assert_eq!(w.outcomes[1], Outcome::Accepted);

    assert_violation(
        &w.reject(COORD, revoke(EE)),
        "EE-MFA has no active key to revoke",
    );
    // A revoked member cannot rotate its own key: it has none to sign with.
    let new = signer(EE, 14);
    assert_eq!(
        w.reject(EE, rotate(EE, new.public_key())),
        Rejection::NoActiveKey(mid(EE))
    );
    // The coordinator rotates a new key in.
    w.accept(COORD, rotate(EE, new.public_key()));
    w.set_signer(EE, new);
    let ev = w.accept(EE, offer_body("EE-MFA/O-2", 1, 100));
    assert_eq!(ev.envelope().seq, 2);
    assert_eq!(ev.envelope().prev, offered.id());

    // Replaying the log gives the same outcomes and state as the first time.
    w.assert_replay_matches();
}

#[test]
fn member_revokes_its_own_key() {
    let mut w = World::new();
    w.accept(DE, revoke(DE));
    assert_eq!(
        w.reject(DE, offer_body("DE-AA/O-1", 1, 100)),
        Rejection::NoActiveKey(mid(DE))
    );
    let r = w.reject(EE, revoke(DE));
    assert_violation(
        &r,
        "only the member itself or the coordinator revokes a key",
    );
    let r = w.reject(COORD, revoke("PL-MC"));
    assert_violation(&r, "member PL-MC is not admitted");
    let mut body = revoke(EE);
    if let Body::KeyRevoked(k) = &mut body {
        k.reason = String::new();
    }
    assert_invalid_field(&w.reject(EE, body), "key_revoked.reason");
    w.assert_replay_matches();
}

// ---------------------------------------------------------------------------
// Admission
// ---------------------------------------------------------------------------

fn pl_member(seed: u8) -> ledger::member::Member {
    member(
        "PL-MC",
        MemberKind::Ministry,
        "PL",
        &[Role::Donor],
        &signer("PL-MC", seed),
    )
}

#[test]
fn coordinator_admits_a_member() {
    let mut w = World::new();
    w.accept(COORD, admit(pl_member(50)));
    w.set_signer("PL-MC", signer("PL-MC", 50));
    w.accept("PL-MC", offer_body("PL-MC/O-1", 1, 100));
    w.assert_replay_matches();
}

#[test]
fn duplicate_member_id_is_rejected() {
    let mut w = World::new();
    let mut m = pl_member(50);
    m.id = mid(EE);
    let r = w.reject(COORD, admit(m));
    assert_violation(&r, "member EE-MFA is already admitted");
    w.accept(COORD, admit(pl_member(50)));
    let r = w.reject(COORD, admit(pl_member(51)));
    assert_violation(&r, "member PL-MC is already admitted");
}

#[test]
fn non_coordinator_cannot_admit() {
    let mut w = World::new();
    let r = w.reject(EE, admit(pl_member(50)));
    assert_eq!(
        r,
        Rejection::MissingRole {
            member: mid(EE),
            role: Role::Coordinator,
            kind: "member_admitted".into(),
        }
    );
    assert!(!w.state.members.contains_key(&mid("PL-MC")));
}

#[test]
fn admission_checks_key_and_fields() {
    let mut w = World::new();
    let mut m = pl_member(50);
    m.key = signer(DE, seed_of(DE)).public_key();
    assert_violation(
        &w.reject(COORD, admit(m)),
        "the key is already used by DE-AA",
    );
    let mut m = pl_member(50);
    m.country = "pl".into();
    assert_invalid_field(&w.reject(COORD, admit(m)), "member_admitted.member.country");
    let mut m = pl_member(50);
    m.roles = vec![Role::Recipient, Role::Donor];
    assert_invalid_field(&w.reject(COORD, admit(m)), "member_admitted.member.roles");
    let mut m = pl_member(50);
    m.roles = vec![];
    assert_invalid_field(&w.reject(COORD, admit(m)), "member_admitted.member.roles");
}

// ---------------------------------------------------------------------------
// A validly signed but rule-breaking event occupies its chain position
// ---------------------------------------------------------------------------

#[test]
fn rejected_business_event_occupies_its_chain_position_but_moves_nothing() {
    let mut w = World::with_commitment();
    let (seq_before, head_before) = w.head(EE);
    let items_before = w.state.items.clone();

    // Exceeds the offer: validly signed and linked, but a rule fails.
    let bad = w.event(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-2", Some(O1), &[], SSSCIP, 1, 100)),
    );
    let r = w.expect_rejected(&bad);
    assert_violation(&r, "more than the 10 offered");
    assert!(r.in_chain());

    // It is the new chain head...
    assert_eq!(w.head(EE), (seq_before + 1, bad.id()));
    // ...but the items and their totals did not move.
    assert_eq!(w.state.items, items_before);
    assert!(w.item("EE-MFA/C-2").is_none());

    // An event that ignores it (same seq, the old prev) is an equivocation.
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-2", 1, 100));
    env.seq = seq_before + 1;
    env.prev = head_before;
    let ev = w.sign(EE, env);
    assert_eq!(
        w.expect_rejected(&ev),
        Rejection::Equivocation {
            producer: mid(EE),
            seq: seq_before + 1,
            existing: bad.id(),
        }
    );

    // The next honest event links to it.
    let next = w.accept(EE, offer_body("EE-MFA/O-2", 1, 100));
    assert_eq!(next.envelope().seq, seq_before + 2);
    assert_eq!(next.envelope().prev, bad.id());

    // Submitting the rejected event again is a duplicate.
    let before = w.state.clone();
    assert_eq!(w.submit(&bad), Outcome::Duplicate);
    assert_eq!(w.state, before);
    w.assert_replay_matches();
}

#[test]
fn evaluated_counts_every_non_duplicate() {
    let mut w = World::new();
    let ev = w.accept(EE, offer_body(O1, 1, 100));
    w.reject(EE, offer_body(O1, 1, 100));
    let forged = w.forge(EE, offer_body("EE-MFA/O-3", 1, 100), &signer(EE, 99));
    w.expect_rejected(&forged);
    w.submit(&ev);
    assert_eq!(w.state.evaluated, 4);
}

#[test]
fn full_flow_replays_identically() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    w.reject(EE, offer_body("DE-AA/O-1", 1, 100));
    let forged = w.forge(DE, offer_body("DE-AA/O-1", 1, 100), &signer(DE, 77));
    w.expect_rejected(&forged);
    w.accept(EE, cancel(C1, CancelScope::RemainingBalance));
    w.assert_replay_matches();
}

// ---------------------------------------------------------------------------
// Bugs found while writing these tests (ignored until fixed).
// ---------------------------------------------------------------------------

#[test]
fn huge_commitment_quantity_on_offer_is_rejected_not_overflowed() {
    let mut w = World::new();
    w.accept(EE, offer_body(O1, 10, 1_000_000));
    w.accept(
        EE,
        Body::CommitmentMade(commitment(C1, Some(O1), &[], SSSCIP, 1, 100)),
    );
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment(
            "EE-MFA/C-2",
            Some(O1),
            &[],
            SSSCIP,
            u64::MAX,
            100,
        )),
    );
    assert_violation(&r, "more than the 10 offered");
}

#[test]
fn huge_delivery_quantity_is_rejected_not_overflowed() {
    let mut w = with_delivery();
    let today = w.today();
    let r = w.reject(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, u64::MAX, 0, today)),
    );
    assert_violation(&r, "over-delivery");
}

#[test]
fn huge_delivery_correction_is_rejected_not_overflowed() {
    let mut w = with_delivery();
    let today = w.today();
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", C1, 1, 100, today)),
    );
    let r = w.reject(
        EE,
        correct(
            "EE-MFA/D-2",
            ChangeFields {
                quantity: Some(u64::MAX),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "would exceed the commitment");
}

#[test]
fn commitment_amendment_cannot_exceed_its_offer() {
    let mut w = World::with_commitment(); // offer 10 / EUR 10,000, fully committed
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                quantity: Some(100),
                value: Some(eur(100_000_000)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "more than");
    let o = w.offer_state(O1);
    assert!(o.committed_quantity <= o.quantity);
    assert!(o.committed_eur <= o.eur_minor);
    // Down, then back up to the offer's size: both within the offer.
    for (q, cents) in [(8, 800_000), (10, 1_000_000)] {
        w.accept(
            EE,
            amend(
                C1,
                ChangeFields {
                    quantity: Some(q),
                    value: Some(eur(cents)),
                    ..fields()
                },
            ),
        );
        assert_eq!(w.offer_state(O1).committed_quantity, q);
        assert_eq!(w.offer_state(O1).committed_eur, cents);
    }
    // One cent more than offered is refused.
    let r = w.reject(
        EE,
        amend(
            C1,
            ChangeFields {
                value: Some(eur(1_000_001)),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "EUR 1000001 cents, more than the 1000000 offered");
    w.assert_replay_matches();
}

#[test]
fn rejected_pre_genesis_event_does_not_enter_a_chain() {
    let mut w = World::empty();
    // EE-MFA's id on a genesis naming the secretariat, signed by nobody in particular:
    // rejected before any signature check...
    let ev = w.forge(EE, Body::Genesis(standard_genesis()), &signer(EE, 66));
    let r = w.expect_rejected(&ev);
    assert_violation(&r, "produced by the coordinator it names");
    // ...yet it must not occupy EE-MFA's seq 1.
    assert_eq!(w.head(EE), (0, EventId::ZERO));
    w.accept(COORD, Body::Genesis(standard_genesis()));
    let honest = w.accept(EE, offer_body(O1, 1, 100));
    assert_eq!(honest.envelope().seq, 1);
}

#[test]
fn accepted_events_of_a_member_never_go_back_in_time() {
    let mut w = World::new();
    let first = w.accept(EE, offer_body(O1, 10, 1_000));
    let t = first.envelope().recorded_at;
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-2", 10, 1_000));
    env.recorded_at = Timestamp(t.0 - 10_000);
    let ev = w.sign(EE, env);
    assert!(matches!(
        w.expect_rejected(&ev),
        Rejection::TimeWentBack { .. }
    ));
    // Still before `first`, an accepted event: must be rejected too.
    let mut env = w.envelope(EE, offer_body("EE-MFA/O-3", 10, 1_000));
    env.recorded_at = Timestamp(t.0 - 5_000);
    let ev = w.sign(EE, env);
    assert!(matches!(
        w.expect_rejected(&ev),
        Rejection::TimeWentBack { .. }
    ));
}

#[test]
fn genesis_members_have_distinct_keys() {
    let mut w = World::empty();
    let mut g = standard_genesis();
    g.members[1].key = g.members[0].key; // DE-AA gets EE-MFA's key
    let r = w.reject(COORD, Body::Genesis(g));
    assert!(matches!(
        r,
        Rejection::Violation(_) | Rejection::InvalidField(_)
    ));
}

#[test]
fn cancelling_a_commitment_gives_the_undelivered_part_back_to_its_offer() {
    // Whole: the offer can be committed in full again.
    let mut w = World::with_commitment(); // offer 10 / EUR 10,000, fully committed
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-2", Some(O1), &[], SSSCIP, 1, 100_000)),
    );
    assert_violation(&r, "more than");
    w.accept(EE, cancel(C1, CancelScope::Whole));
    assert_eq!(w.offer_state(O1).committed_quantity, 0);
    assert_eq!(w.offer_state(O1).committed_eur, 0);
    w.accept(
        EE,
        Body::CommitmentMade(commitment(
            "EE-MFA/C-2",
            Some(O1),
            &[],
            SSSCIP,
            10,
            1_000_000,
        )),
    );

    // Remaining balance: 4 of 10 delivered, 6 (EUR 6,000) released.
    let today = w.today();
    w.accept(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D-2", "EE-MFA/C-2", 4, 400_000, today)),
    );
    w.accept(EE, cancel("EE-MFA/C-2", CancelScope::RemainingBalance));
    assert_eq!(w.offer_state(O1).committed_quantity, 4);
    assert_eq!(w.offer_state(O1).committed_eur, 400_000);
    let r = w.reject(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-3", Some(O1), &[], SSSCIP, 7, 600_000)),
    );
    assert_violation(&r, "11 terminals, more than the 10 offered");
    w.accept(
        EE,
        Body::CommitmentMade(commitment("EE-MFA/C-3", Some(O1), &[], SSSCIP, 6, 600_000)),
    );
    w.assert_replay_matches();
}

#[test]
fn corrected_dates_keep_their_bounds() {
    let mut w = with_delivery(); // D1 delivered today
    let today = w.today();
    let tomorrow = today.add_days(1);
    let r = w.reject(
        EE,
        correct(
            D1,
            ChangeFields {
                date: Some(tomorrow),
                ..fields()
            },
        ),
    );
    assert_violation(&r, "after the event was recorded");
    w.accept(
        EE,
        correct(
            D1,
            ChangeFields {
                date: Some(today.add_days(-2)),
                ..fields()
            },
        ),
    );
    w.accept(SSSCIP, Body::ReceiptAcknowledged(receipt(R1, D1, 4, today)));
    for (day, why) in [
        (today.add_days(-3), "between the delivery"),
        (tomorrow, "between the delivery"),
    ] {
        let r = w.reject(
            SSSCIP,
            correct(
                R1,
                ChangeFields {
                    date: Some(day),
                    ..fields()
                },
            ),
        );
        assert_violation(&r, why);
    }
    w.accept(
        SSSCIP,
        correct(
            R1,
            ChangeFields {
                date: Some(today.add_days(-1)),
                ..fields()
            },
        ),
    );
    w.assert_replay_matches();
}
