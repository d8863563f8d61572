//! The signed encoding: round trips, strict decoding (bounded, no trailing bytes,
//! canonical), signatures, and property tests over arbitrary
//! bodies (bincode and JSON).

mod common;

use common::*;
use ledger::body::{
    Body, CancelScope, Cancellation, Change, ChangeFields, Commitment, Contributor, Delivery,
    Genesis, KeyRevoked, KeyRotated, MemberAdmitted, MemberSuspended, Modality, Need, Offer,
    Priority, Receipt, Tranche,
};
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::codec::{self, CodecError, MAX_ENVELOPE_BYTES};
use ledger::envelope::{Envelope, FORMAT_VERSION};
use ledger::event::{
    leaf_hash, signed_message, Event, SignatureError, MAX_EVENT_BYTES, SIGNATURE_LEN,
    SIGNING_CONTEXT,
};
use ledger::ids::{Digest, ItemId, MemberId};
use ledger::keys::{PublicKey, Signer};
use ledger::member::{Member, MemberKind, Role};
use ledger::money::{Money, Quantity};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

fn sample_envelope(body: Body) -> Envelope {
    Envelope {
        version: FORMAT_VERSION,
        origin: ORIGIN.into(),
        producer: mid(EE),
        seq: 7,
        prev: Digest([0xab; 32]),
        recorded_at: START,
        body,
    }
}

fn sample_offer_envelope() -> Envelope {
    let mut o = offer("EE-MFA/O-1", 10, 1_000_000, &["UA-SSSCIP/N-1"]);
    o.on_behalf_of = Some(Contributor {
        name: "Example Security AS".into(),
        kind: MemberKind::Company,
        country: "EE".into(),
    });
    o.valid_until = Some(date("2024-12-31"));
    sample_envelope(Body::OfferMade(o))
}

fn ee() -> Signer {
    signer(EE, seed_of(EE))
}

fn sample_event() -> Event {
    Event::sign(sample_offer_envelope(), &ee()).unwrap()
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn event_round_trips_through_bytes() {
    let env = sample_offer_envelope();
    let ev = Event::sign(env.clone(), &ee()).unwrap();
    let back = Event::from_bytes(ev.bytes()).unwrap();
    assert_eq!(back.envelope(), &env);
    assert_eq!(back.bytes(), ev.bytes());
    assert_eq!(back.id(), ev.id());
    assert_eq!(back.signature(), ev.signature());
    assert_eq!(back, ev);
    back.verify(&ee().public_key()).unwrap();
    // The envelope part decodes on its own too.
    let decoded: Envelope = codec::decode(ev.envelope_bytes()).unwrap();
    assert_eq!(decoded, env);
    assert_eq!(codec::encode(&decoded).unwrap(), ev.envelope_bytes());
}

#[test]
fn leaf_layout_id_and_signed_message() {
    let ev = sample_event();
    let env_bytes = codec::encode(ev.envelope()).unwrap();
    assert_eq!(ev.envelope_bytes(), env_bytes.as_slice());
    assert_eq!(ev.bytes().len(), env_bytes.len() + SIGNATURE_LEN);
    assert_eq!(&ev.bytes()[env_bytes.len()..], &ev.signature());
    // id = SHA-256(0x00 || envelope || signature)
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(ev.bytes());
    let id: [u8; 32] = h.finalize().into();
    assert_eq!(ev.id(), Digest(id));
    assert_eq!(leaf_hash(ev.bytes()), ev.id());
    // The signature covers the domain-separated envelope.
    let msg = signed_message(&env_bytes);
    assert!(msg.starts_with(SIGNING_CONTEXT));
    let vk = ee().public_key().verifying_key().unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&ev.signature());
    vk.verify_strict(&msg, &sig).unwrap();
    assert!(vk.verify_strict(&env_bytes, &sig).is_err());
    // Signing is deterministic.
    assert_eq!(sample_event().bytes(), ev.bytes());
}

#[test]
fn from_signature_rebuilds_the_same_event() {
    let ev = sample_event();
    let again = Event::from_signature(ev.envelope().clone(), ev.signature()).unwrap();
    assert_eq!(again, ev);
}

#[test]
fn every_body_kind_round_trips() {
    let s = ee();
    let d = date("2024-03-01");
    let bodies = vec![
        Body::Genesis(standard_genesis()),
        admit(member(
            "PL-MC",
            MemberKind::Ministry,
            "PL",
            &[Role::Donor, Role::Auditor],
            &signer("PL-MC", 9),
        )),
        Body::KeyRotated(KeyRotated {
            member: mid(EE),
            new_key: signer(EE, 9).public_key(),
        }),
        Body::KeyRevoked(KeyRevoked {
            member: mid(EE),
            reason: "lost".into(),
        }),
        Body::MemberSuspended(MemberSuspended {
            member: mid(DE),
            reason: "inactive".into(),
        }),
        Body::NeedStated(need("UA-SSSCIP/N-1", SSSCIP, 3, 300)),
        sample_offer_envelope().body,
        Body::CommitmentMade(Commitment {
            tranches: vec![tranche(d, 1, 100), tranche(d.add_days(9), 2, 200)],
            ..commitment("EE-MFA/C-1", Some("EE-MFA/O-1"), &[], SSSCIP, 3, 300)
        }),
        Body::DeliveryRecorded(Delivery {
            evidence: Some(Digest([5; 32])),
            ..delivery("EE-MFA/D-1", "EE-MFA/C-1", 1, 100, d)
        }),
        Body::ReceiptAcknowledged(Receipt {
            discrepancy: Some("one short".into()),
            ..receipt("UA-SSSCIP/R-1", "EE-MFA/D-1", 1, d)
        }),
        amend(
            "EE-MFA/C-1",
            ChangeFields {
                tranches: Some(vec![tranche(d, 3, 300)]),
                ..ChangeFields::default()
            },
        ),
        correct(
            "EE-MFA/D-1",
            ChangeFields {
                quantity: Some(2),
                date: Some(d),
                ..ChangeFields::default()
            },
        ),
        cancel("EE-MFA/C-1", CancelScope::RemainingBalance),
    ];
    for body in bodies {
        let ev = Event::sign(sample_envelope(body.clone()), &s).unwrap();
        let back = Event::from_bytes(ev.bytes()).unwrap();
        assert_eq!(back.envelope().body, body);
        assert_eq!(back.bytes(), ev.bytes());
        let json = serde_json::to_string(&body).unwrap();
        let from_json: Body = serde_json::from_str(&json).unwrap();
        assert_eq!(from_json, body, "{json}");
    }
}

// ---------------------------------------------------------------------------
// Strict decoding
// ---------------------------------------------------------------------------

#[test]
fn trailing_bytes_are_rejected() {
    let ev = sample_event();
    let mut env_bytes = ev.envelope_bytes().to_vec();
    env_bytes.push(0);
    assert_eq!(
        codec::decode::<Envelope>(&env_bytes),
        Err(CodecError::TrailingBytes(1))
    );
    env_bytes.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        codec::decode::<Envelope>(&env_bytes),
        Err(CodecError::TrailingBytes(4))
    );
    // An extra byte after a leaf shifts the signature: the envelope part has a trailing byte.
    let mut leaf = ev.bytes().to_vec();
    leaf.push(0);
    assert_eq!(Event::from_bytes(&leaf), Err(CodecError::TrailingBytes(1)));
}

#[test]
fn truncated_bytes_are_rejected() {
    let ev = sample_event();
    let env_bytes = ev.envelope_bytes();
    for n in 0..env_bytes.len() {
        match codec::decode::<Envelope>(&env_bytes[..n]) {
            Err(CodecError::Malformed(_)) => {}
            other => panic!("prefix of {n} bytes: {other:?}"),
        }
    }
    for n in 0..ev.bytes().len() {
        match Event::from_bytes(&ev.bytes()[..n]) {
            Err(CodecError::Malformed(_)) if n > 64 => {}
            Err(CodecError::TooShort { len }) if n <= 64 && len == n => {}
            other => panic!("leaf prefix of {n} bytes: {other:?}"),
        }
    }
}

#[test]
fn oversized_input_is_rejected() {
    let big = vec![0u8; MAX_EVENT_BYTES + 1];
    assert_eq!(
        Event::from_bytes(&big),
        Err(CodecError::TooLarge {
            len: MAX_EVENT_BYTES + 1,
            limit: MAX_EVENT_BYTES,
        })
    );
    let big = vec![0u8; MAX_ENVELOPE_BYTES + 1];
    assert_eq!(
        codec::decode::<Envelope>(&big),
        Err(CodecError::TooLarge {
            len: MAX_ENVELOPE_BYTES + 1,
            limit: MAX_ENVELOPE_BYTES,
        })
    );
    // An envelope too large to encode cannot be signed.
    let mut o = offer("EE-MFA/O-1", 1, 1, &[]);
    o.description = "x".repeat(MAX_ENVELOPE_BYTES);
    let env = sample_envelope(Body::OfferMade(o));
    assert!(matches!(
        codec::encode(&env),
        Err(CodecError::TooLarge { limit, .. }) if limit == MAX_ENVELOPE_BYTES
    ));
    assert!(matches!(
        Event::sign(env, &ee()),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn length_prefix_beyond_the_limit_is_rejected() {
    // version (1 byte: 1), then the origin's length: claim 2^32 bytes (u64 varint).
    let ev = sample_event();
    let env_bytes = ev.envelope_bytes();
    assert_eq!(env_bytes[0], 1);
    assert_eq!(env_bytes[1] as usize, ORIGIN.len());
    let mut bytes = vec![1u8, 253];
    bytes.extend_from_slice(&(1u64 << 32).to_le_bytes());
    bytes.extend_from_slice(&env_bytes[2..]);
    assert!(matches!(
        codec::decode::<Envelope>(&bytes),
        Err(CodecError::Malformed(_))
    ));
}

/// Replaces the 1-byte varint at `at` with its 3-byte form `251, lo, hi`.
fn widen_varint(bytes: &[u8], at: usize) -> Vec<u8> {
    assert!(bytes[at] < 251);
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(&[251, bytes[at], 0]);
    out.extend_from_slice(&bytes[at + 1..]);
    out
}

#[test]
fn non_canonical_varints_are_rejected() {
    let ev = sample_event();
    let env_bytes = ev.envelope_bytes();
    // Byte 0 is the version (u16 1), byte 1 the origin's length.
    for at in [0, 1] {
        let wide = widen_varint(env_bytes, at);
        match codec::decode::<Envelope>(&wide) {
            Err(CodecError::NonCanonical) | Err(CodecError::Malformed(_)) => {}
            other => panic!("widened varint at {at}: {other:?}"),
        }
        // As a leaf, with the original signature.
        let mut leaf = wide.clone();
        leaf.extend_from_slice(&ev.signature());
        match Event::from_bytes(&leaf) {
            Err(CodecError::NonCanonical) | Err(CodecError::Malformed(_)) => {}
            other => panic!("widened varint at {at} in a leaf: {other:?}"),
        }
    }
    // The seq (u64 7) sits after producer: find it and widen it too.
    let producer_at = 2 + ORIGIN.len();
    assert_eq!(env_bytes[producer_at] as usize, EE.len());
    let seq_at = producer_at + 1 + EE.len();
    assert_eq!(env_bytes[seq_at], 7);
    let wide = widen_varint(env_bytes, seq_at);
    assert!(matches!(
        codec::decode::<Envelope>(&wide),
        Err(CodecError::NonCanonical) | Err(CodecError::Malformed(_))
    ));
}

#[test]
fn invalid_ids_in_signed_bytes_are_rejected() {
    // The producer id "EE-MFA" lower-cased to "ee-mfa": same length, invalid member id.
    let ev = sample_event();
    let mut bytes = ev.envelope_bytes().to_vec();
    let at = 2 + ORIGIN.len() + 1;
    assert_eq!(&bytes[at..at + EE.len()], EE.as_bytes());
    bytes[at..at + EE.len()].copy_from_slice(b"ee-mfa");
    assert!(matches!(
        codec::decode::<Envelope>(&bytes),
        Err(CodecError::Malformed(_))
    ));
}

#[test]
fn unknown_body_tag_is_rejected() {
    let ev = sample_event();
    // The body tag follows the timestamp; re-encode with a tag past the last variant.
    let env = ev.envelope();
    let mut head = codec::encode(&(
        env.version,
        &env.origin,
        &env.producer,
        env.seq,
        env.prev,
        env.recorded_at,
    ))
    .unwrap();
    let tail = &ev.envelope_bytes()[head.len()..];
    assert_eq!(tail[0], 6, "OfferMade is variant 6");
    head.push(200);
    head.extend_from_slice(&tail[1..]);
    assert!(matches!(
        codec::decode::<Envelope>(&head),
        Err(CodecError::Malformed(_))
    ));
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

#[test]
fn flipped_signature_bit_fails_verification() {
    let ev = sample_event();
    let pk = ee().public_key();
    ev.verify(&pk).unwrap();
    for bit in [0usize, 7, 100, 255, 256, 511] {
        let mut leaf = ev.bytes().to_vec();
        let at = leaf.len() - SIGNATURE_LEN + bit / 8;
        leaf[at] ^= 1 << (bit % 8);
        let bad = Event::from_bytes(&leaf).unwrap();
        assert_eq!(bad.envelope(), ev.envelope());
        assert_ne!(bad.id(), ev.id());
        assert!(bad.verify(&pk).is_err(), "bit {bit}");
    }
}

#[test]
fn flipped_envelope_bit_fails_verification() {
    let ev = sample_event();
    let pk = ee().public_key();
    // Flip a bit inside the description text (still valid UTF-8: 'S' -> 'R').
    let needle = b"Satellite terminals with";
    let env = ev.envelope_bytes();
    let at = env
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("description in the encoding");
    let mut leaf = ev.bytes().to_vec();
    leaf[at] ^= 1;
    let bad = Event::from_bytes(&leaf).unwrap();
    assert_ne!(bad.envelope(), ev.envelope());
    assert_eq!(bad.verify(&pk), Err(SignatureError::Invalid));
}

#[test]
fn wrong_key_fails_verification() {
    let ev = sample_event();
    assert_eq!(
        ev.verify(&signer(EE, 99).public_key()),
        Err(SignatureError::Invalid)
    );
    // A weak key is refused when registered, not here: under ZIP 215 the
    // signature simply does not verify under it.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    assert_eq!(ev.verify(&PublicKey(weak)), Err(SignatureError::Invalid));
    // Bytes that are no curve point at all (y = 2).
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(matches!(
        ev.verify(&PublicKey(not_a_point)),
        Err(SignatureError::Key(_))
    ));
}

// ---------------------------------------------------------------------------
// Property tests: arbitrary bodies
// ---------------------------------------------------------------------------

fn member_id() -> impl Strategy<Value = MemberId> {
    "[A-Z][A-Z0-9._-]{1,20}".prop_map(|s| s.parse().unwrap())
}

fn item_id() -> impl Strategy<Value = ItemId> {
    (member_id(), "[A-Za-z0-9._-]{1,30}").prop_map(|(m, l)| format!("{m}/{l}").parse().unwrap())
}

/// Any text: short printable strings and arbitrary Unicode (control characters included).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", any::<String>()]
}

/// Dates with four-digit years (0000-01-01 to 9999-12-31): the JSON form's range.
fn date_s() -> impl Strategy<Value = Date> {
    (-719_528i32..=2_932_896).prop_map(Date)
}

fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest)
}

fn key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(|seed| Signer::from_seed("K", seed).unwrap().public_key())
}

fn money_s() -> impl Strategy<Value = Money> {
    (
        any::<u64>(),
        prop_oneof!["[A-Z]{3}", ".{0,4}"],
        any::<u64>(),
    )
        .prop_map(|(amount_minor, currency, eur_minor)| Money {
            amount_minor,
            currency,
            eur_minor,
        })
}

fn quantity_s() -> impl Strategy<Value = Quantity> {
    (any::<u64>(), text()).prop_map(|(amount, unit)| Quantity { amount, unit })
}

fn category() -> impl Strategy<Value = Category> {
    prop::sample::select(Category::ALL.to_vec())
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(vec![
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ])
}

fn modality() -> impl Strategy<Value = Modality> {
    prop::sample::select(vec![
        Modality::Financial,
        Modality::Goods,
        Modality::Services,
        Modality::Training,
    ])
}

fn member_kind() -> impl Strategy<Value = MemberKind> {
    prop::sample::select(vec![
        MemberKind::Ministry,
        MemberKind::Agency,
        MemberKind::Company,
        MemberKind::Ngo,
        MemberKind::RecipientInstitution,
        MemberKind::Secretariat,
    ])
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![
        Role::Donor,
        Role::Recipient,
        Role::Coordinator,
        Role::Auditor,
    ])
}

fn member_s() -> impl Strategy<Value = Member> {
    (
        member_id(),
        text(),
        member_kind(),
        "[A-Z]{2}|.{0,3}",
        prop::collection::vec(role(), 0..5),
        key(),
    )
        .prop_map(|(id, name, kind, country, roles, key)| Member {
            id,
            name,
            kind,
            country,
            roles,
            key,
        })
}

fn tranche_s() -> impl Strategy<Value = Tranche> {
    (date_s(), any::<u64>(), any::<u64>()).prop_map(|(expected, quantity, amount_minor)| Tranche {
        expected,
        quantity,
        amount_minor,
    })
}

fn need_s() -> impl Strategy<Value = Need> {
    (
        item_id(),
        member_id(),
        category(),
        prop::option::of(any::<u32>()),
        text(),
        quantity_s(),
        money_s(),
        priority(),
        prop::option::of(date_s()),
    )
        .prop_map(
            |(
                need,
                recipient,
                category,
                dac_sector,
                description,
                quantity,
                estimated_value,
                priority,
                needed_by,
            )| Need {
                need,
                recipient,
                category,
                dac_sector,
                description,
                quantity,
                estimated_value,
                priority,
                needed_by,
            },
        )
}

fn contributor_s() -> impl Strategy<Value = Contributor> {
    (text(), member_kind(), "[A-Z]{2}|.{0,3}").prop_map(|(name, kind, country)| Contributor {
        name,
        kind,
        country,
    })
}

fn offer_s() -> impl Strategy<Value = Offer> {
    (
        item_id(),
        prop::option::of(contributor_s()),
        category(),
        prop::option::of(any::<u32>()),
        modality(),
        text(),
        quantity_s(),
        money_s(),
        prop::option::of(date_s()),
        prop::collection::vec(item_id(), 0..4),
    )
        .prop_map(
            |(
                offer,
                on_behalf_of,
                category,
                dac_sector,
                modality,
                description,
                quantity,
                value,
                valid_until,
                answers,
            )| Offer {
                offer,
                on_behalf_of,
                category,
                dac_sector,
                modality,
                description,
                quantity,
                value,
                valid_until,
                answers,
            },
        )
}

fn commitment_s() -> impl Strategy<Value = Commitment> {
    (
        item_id(),
        prop::option::of(item_id()),
        prop::collection::vec(item_id(), 0..4),
        member_id(),
        category(),
        text(),
        quantity_s(),
        money_s(),
        prop::collection::vec(tranche_s(), 0..4),
    )
        .prop_map(
            |(
                commitment,
                offer,
                needs,
                recipient,
                category,
                description,
                quantity,
                value,
                tranches,
            )| Commitment {
                commitment,
                offer,
                needs,
                recipient,
                category,
                description,
                quantity,
                value,
                tranches,
            },
        )
}

fn delivery_s() -> impl Strategy<Value = Delivery> {
    (
        item_id(),
        item_id(),
        any::<u64>(),
        money_s(),
        date_s(),
        prop::option::of(digest()),
    )
        .prop_map(
            |(delivery, commitment, quantity, value, delivered_on, evidence)| Delivery {
                delivery,
                commitment,
                quantity,
                value,
                delivered_on,
                evidence,
            },
        )
}

fn receipt_s() -> impl Strategy<Value = Receipt> {
    (
        item_id(),
        item_id(),
        any::<u64>(),
        date_s(),
        prop::option::of(text()),
    )
        .prop_map(
            |(receipt, delivery, quantity_accepted, received_on, discrepancy)| Receipt {
                receipt,
                delivery,
                quantity_accepted,
                received_on,
                discrepancy,
            },
        )
}

fn change_s() -> impl Strategy<Value = Change> {
    (
        item_id(),
        prop::option::of(any::<u64>()),
        prop::option::of(money_s()),
        prop::option::of(date_s()),
        prop::option::of(priority()),
        prop::option::of(prop::collection::vec(tranche_s(), 0..4)),
        prop::option::of(text()),
        text(),
    )
        .prop_map(
            |(target, quantity, value, date, priority, tranches, description, reason)| Change {
                target,
                fields: ChangeFields {
                    quantity,
                    value,
                    date,
                    priority,
                    tranches,
                    description,
                },
                reason,
            },
        )
}

fn cancellation_s() -> impl Strategy<Value = Cancellation> {
    (
        item_id(),
        prop::sample::select(vec![CancelScope::Whole, CancelScope::RemainingBalance]),
        text(),
    )
        .prop_map(|(target, scope, reason)| Cancellation {
            target,
            scope,
            reason,
        })
}

fn genesis_s() -> impl Strategy<Value = Genesis> {
    (text(), member_s(), prop::collection::vec(member_s(), 0..4)).prop_map(
        |(origin, coordinator, members)| Genesis {
            origin,
            coordinator,
            members,
        },
    )
}

fn body_s() -> impl Strategy<Value = Body> {
    prop_oneof![
        genesis_s().prop_map(Body::Genesis),
        member_s().prop_map(|member| Body::MemberAdmitted(MemberAdmitted { member })),
        (member_id(), key())
            .prop_map(|(member, new_key)| Body::KeyRotated(KeyRotated { member, new_key })),
        (member_id(), text())
            .prop_map(|(member, reason)| Body::KeyRevoked(KeyRevoked { member, reason })),
        (member_id(), text())
            .prop_map(|(member, reason)| Body::MemberSuspended(MemberSuspended { member, reason })),
        need_s().prop_map(Body::NeedStated),
        offer_s().prop_map(Body::OfferMade),
        commitment_s().prop_map(Body::CommitmentMade),
        delivery_s().prop_map(Body::DeliveryRecorded),
        receipt_s().prop_map(Body::ReceiptAcknowledged),
        change_s().prop_map(Body::Amended),
        change_s().prop_map(Body::Corrected),
        cancellation_s().prop_map(Body::Cancelled),
    ]
}

fn envelope_with(recorded_at: impl Strategy<Value = i64>) -> impl Strategy<Value = Envelope> {
    (
        any::<u16>(),
        text(),
        member_id(),
        any::<u64>(),
        digest(),
        recorded_at,
        body_s(),
    )
        .prop_map(
            |(version, origin, producer, seq, prev, recorded_at, body)| Envelope {
                version,
                origin,
                producer,
                seq,
                prev,
                recorded_at: Timestamp(recorded_at),
                body,
            },
        )
}

fn envelope_s() -> impl Strategy<Value = Envelope> {
    envelope_with(any::<i64>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn envelope_bincode_round_trip(env in envelope_s()) {
        let bytes = codec::encode(&env).unwrap();
        let back: Envelope = codec::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &env);
        prop_assert_eq!(codec::encode(&back).unwrap(), bytes);
    }

    #[test]
    fn event_bytes_round_trip(env in envelope_s(), seed in any::<[u8; 32]>()) {
        let s = Signer::from_seed("K", seed).unwrap();
        let ev = Event::sign(env.clone(), &s).unwrap();
        let back = Event::from_bytes(ev.bytes()).unwrap();
        prop_assert_eq!(back.envelope(), &env);
        prop_assert_eq!(back.bytes(), ev.bytes());
        prop_assert_eq!(back.id(), ev.id());
        prop_assert!(back.verify(&s.public_key()).is_ok());
    }

    #[test]
    fn envelope_prefixes_and_extensions_are_rejected(
        env in envelope_s(),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let bytes = codec::encode(&env).unwrap();
        let n = cut.index(bytes.len());
        prop_assert!(codec::decode::<Envelope>(&bytes[..n]).is_err());
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(
            codec::decode::<Envelope>(&longer),
            Err(CodecError::TrailingBytes(extra.len()))
        );
    }

    #[test]
    fn body_json_round_trip(body in body_s()) {
        let json = serde_json::to_string(&body).unwrap();
        let back: Body = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &body);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn envelope_json_round_trip(
        // 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z: the JSON form's range.
        env in envelope_with(0i64..=253_402_300_799_999),
    ) {
        let json = serde_json::to_string(&env).unwrap();
        let back: Envelope = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &env);
        prop_assert_eq!(codec::encode(&back).unwrap(), codec::encode(&env).unwrap());
    }
}

#[test]
#[ignore = "bug: dates outside 0000-9999 pass the rules but their JSON form (Date Display) does not parse back"]
fn accepted_far_future_date_round_trips_through_json() {
    let mut n = need("UA-SSSCIP/N-1", SSSCIP, 1, 100);
    n.needed_by = Some(Date(3_000_000)); // in the year 10183
    let body = Body::NeedStated(n);
    // The rules accept it...
    let mut w = World::new();
    w.accept(SSSCIP, body.clone());
    // ...so its JSON form must read back.
    let json = serde_json::to_string(&body).unwrap();
    let back: Body = serde_json::from_str(&json).unwrap();
    assert_eq!(back, body);
}
