//! Golden vectors: `schemas/golden/events.json`.
//!
//! The file holds a small ledger (genesis, admission, need, offer, commitment with
//! tranches, delivery, receipt) signed with fixed test keys
//! (`Signer::from_seed(member, [seed; 32])`): for each event its envelope as JSON,
//! the hex of its signed (bincode) envelope encoding, its signature, its id and
//! the signer's verifier key. Ed25519 signatures are deterministic, so the file is
//! stable; other implementations can check their encoding against it.
//!
//! This test rebuilds every event from the same fixed inputs and asserts the file
//! matches byte for byte; it also parses each envelope's JSON back, re-encodes it
//! and compares with `envelope_hex`, and verifies each signature with the vkey.
//!
//! To (re)write the file, e.g. after an intended format change, run:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p tallinn-ledger --test golden
//! ```
//!
//! and review the diff: any change to an existing vector is a change of the
//! signed format.

use std::path::PathBuf;

use ledger::body::{
    Body, Commitment, Delivery, Genesis, MemberAdmitted, Modality, Need, Offer, Priority, Receipt,
    Tranche,
};
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::codec;
use ledger::envelope::Envelope;
use ledger::event::Event;
use ledger::ids::{Digest, ItemId, MemberId};
use ledger::keys::{parse_vkey, Signer};
use ledger::member::{Member, MemberKind, Role};
use ledger::money::{Money, Quantity};
use ledger::producer::next_event;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::state::State;
use serde::{Deserialize, Serialize};

const ORIGIN: &str = "tallinn-mechanism.example/ledger";
const COORD: &str = "TM-SECRETARIAT";
const EE: &str = "EE-MFA";
const DE: &str = "DE-AA";
const SSSCIP: &str = "UA-SSSCIP";

/// The fixed members: id and seed byte (`[seed; 32]`).
const SEEDS: [(&str, u8); 4] = [(COORD, 1), (EE, 2), (DE, 3), (SSSCIP, 4)];

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/golden/events.json")
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct GoldenFile {
    description: String,
    origin: String,
    signers: Vec<GoldenSigner>,
    events: Vec<GoldenEvent>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct GoldenSigner {
    member: String,
    /// The 32-byte Ed25519 seed, hex. Test keys only.
    seed_hex: String,
    vkey: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct GoldenEvent {
    name: String,
    vkey: String,
    envelope: Envelope,
    envelope_hex: String,
    signature_hex: String,
    id_hex: String,
}

fn mid(s: &str) -> MemberId {
    s.parse().unwrap()
}

fn iid(s: &str) -> ItemId {
    s.parse().unwrap()
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn signer(member: &str) -> Signer {
    let seed = SEEDS.iter().find(|(m, _)| *m == member).unwrap().1;
    Signer::from_seed(member, [seed; 32]).unwrap()
}

fn member(id: &str, kind: MemberKind, country: &str, roles: &[Role]) -> Member {
    Member {
        id: mid(id),
        name: match id {
            COORD => "Tallinn Mechanism Secretariat",
            EE => "Ministry of Foreign Affairs of Estonia",
            DE => "Federal Foreign Office of Germany",
            SSSCIP => {
                "State Service of Special Communications and Information Protection of Ukraine"
            }
            _ => id,
        }
        .into(),
        kind,
        country: country.into(),
        roles: roles.to_vec(),
        key: signer(id).public_key(),
    }
}

/// The fixed events: (name, producer, recorded_at, body).
fn script() -> Vec<(&'static str, &'static str, Timestamp, Body)> {
    vec![
        (
            "genesis",
            COORD,
            at("2024-03-01T09:00:00Z"),
            Body::Genesis(Genesis {
                origin: ORIGIN.into(),
                coordinator: member(COORD, MemberKind::Secretariat, "EE", &[Role::Coordinator]),
                members: vec![
                    member(EE, MemberKind::Ministry, "EE", &[Role::Donor]),
                    member(
                        SSSCIP,
                        MemberKind::RecipientInstitution,
                        "UA",
                        &[Role::Recipient],
                    ),
                ],
            }),
        ),
        (
            "member_admitted",
            COORD,
            at("2024-03-01T09:05:00Z"),
            Body::MemberAdmitted(MemberAdmitted {
                member: member(DE, MemberKind::Ministry, "DE", &[Role::Donor]),
            }),
        ),
        (
            "need_stated",
            SSSCIP,
            at("2024-03-02T10:00:00Z"),
            Body::NeedStated(Need {
                need: iid("UA-SSSCIP/N-2024-001"),
                recipient: mid(SSSCIP),
                category: Category::SatelliteCommunications,
                dac_sector: Some(22040),
                description: "Satellite terminals for regional CERT teams".into(),
                quantity: Quantity {
                    amount: 20,
                    unit: "terminals".into(),
                },
                estimated_value: Money::eur(5_000_000),
                priority: Priority::Critical,
                needed_by: Some(day("2024-06-30")),
            }),
        ),
        (
            "offer_made",
            EE,
            at("2024-03-05T14:30:00.250Z"),
            Body::OfferMade(Offer {
                offer: iid("EE-MFA/O-2024-007"),
                on_behalf_of: None,
                category: Category::SatelliteCommunications,
                dac_sector: Some(22040),
                modality: Modality::Goods,
                description: "20 terminals with one year of airtime".into(),
                quantity: Quantity {
                    amount: 20,
                    unit: "terminals".into(),
                },
                value: Money::eur(4_800_000),
                valid_until: Some(day("2024-12-31")),
                answers: vec![iid("UA-SSSCIP/N-2024-001")],
            }),
        ),
        (
            "commitment_made",
            EE,
            at("2024-03-12T08:00:00Z"),
            Body::CommitmentMade(Commitment {
                commitment: iid("EE-MFA/C-2024-003"),
                offer: Some(iid("EE-MFA/O-2024-007")),
                needs: vec![iid("UA-SSSCIP/N-2024-001")],
                recipient: mid(SSSCIP),
                category: Category::SatelliteCommunications,
                description: "20 terminals in two batches".into(),
                quantity: Quantity {
                    amount: 20,
                    unit: "terminals".into(),
                },
                value: Money::eur(4_800_000),
                tranches: vec![
                    Tranche {
                        expected: day("2024-04-15"),
                        quantity: 12,
                        amount_minor: 2_880_000,
                    },
                    Tranche {
                        expected: day("2024-05-31"),
                        quantity: 8,
                        amount_minor: 1_920_000,
                    },
                ],
            }),
        ),
        (
            "delivery_recorded",
            EE,
            at("2024-04-16T11:00:00Z"),
            Body::DeliveryRecorded(Delivery {
                delivery: iid("EE-MFA/D-2024-003-1"),
                commitment: iid("EE-MFA/C-2024-003"),
                quantity: 12,
                value: Money::eur(2_880_000),
                delivered_on: day("2024-04-15"),
                evidence: Some(Digest([0x5a; 32])),
            }),
        ),
        (
            "receipt_acknowledged",
            SSSCIP,
            at("2024-04-18T07:45:00Z"),
            Body::ReceiptAcknowledged(Receipt {
                receipt: iid("UA-SSSCIP/R-2024-001"),
                delivery: iid("EE-MFA/D-2024-003-1"),
                quantity_accepted: 11,
                received_on: day("2024-04-17"),
                discrepancy: Some("one terminal arrived with a damaged dish".into()),
            }),
        ),
    ]
}

/// Builds the golden file from the fixed inputs, checking each event is accepted.
fn build() -> GoldenFile {
    let mut state = State::new();
    let mut events = Vec::new();
    for (name, producer, recorded_at, body) in script() {
        let s = signer(producer);
        let ev = next_event(&state, ORIGIN, &mid(producer), body, recorded_at, &s).unwrap();
        let outcome = evaluate(&state, &ev, None, SignatureCheck::Verify);
        assert_eq!(outcome, Outcome::Accepted, "golden event {name}");
        state.apply(&ev, &outcome);
        events.push(GoldenEvent {
            name: name.into(),
            vkey: s.vkey(),
            envelope: ev.envelope().clone(),
            envelope_hex: hex::encode(ev.envelope_bytes()),
            signature_hex: hex::encode(ev.signature()),
            id_hex: ev.id().to_hex(),
        });
    }
    GoldenFile {
        description: "Tallinn Mechanism ledger golden vectors: events signed with fixed TEST keys \
            (seed = [seed_byte; 32]). envelope_hex is the signed bincode encoding; the signature \
            is Ed25519 over \"tallinn-ledger/event/v1\\n\" || envelope; id = SHA-256(0x00 || \
            envelope || signature). Regenerate with UPDATE_GOLDEN=1 cargo test -p tallinn-ledger \
            --test golden."
            .into(),
        origin: ORIGIN.into(),
        signers: SEEDS
            .iter()
            .map(|(m, seed)| GoldenSigner {
                member: m.to_string(),
                seed_hex: hex::encode([*seed; 32]),
                vkey: signer(m).vkey(),
            })
            .collect(),
        events,
    }
}

fn render(file: &GoldenFile) -> String {
    let mut text = serde_json::to_string_pretty(file).unwrap();
    text.push('\n');
    text
}

fn read_file() -> String {
    std::fs::read_to_string(path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_GOLDEN=1 cargo test -p tallinn-ledger --test golden",
            path().display()
        )
    })
}

fn updating() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

#[test]
fn golden_file_matches_rebuilt_events() {
    let built = build();
    let text = render(&built);
    if updating() {
        let p = path();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &text).unwrap();
        eprintln!("wrote {}", p.display());
        return;
    }
    let on_disk = read_file();
    let file: GoldenFile = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(file.events.len(), built.events.len(), "number of events");
    for (want, got) in file.events.iter().zip(&built.events) {
        let name = &want.name;
        assert_eq!(&got.name, name);
        assert_eq!(got.vkey, want.vkey, "{name}: vkey");
        // The envelope JSON, byte for byte.
        assert_eq!(
            serde_json::to_string_pretty(&got.envelope).unwrap(),
            serde_json::to_string_pretty(&want.envelope).unwrap(),
            "{name}: envelope JSON"
        );
        assert_eq!(
            got.envelope_hex, want.envelope_hex,
            "{name}: envelope bytes"
        );
        assert_eq!(got.signature_hex, want.signature_hex, "{name}: signature");
        assert_eq!(got.id_hex, want.id_hex, "{name}: id");
    }
    assert_eq!(file, built);
    // And the whole file, byte for byte.
    assert!(
        on_disk == text,
        "{} differs from the rebuilt vectors",
        path().display()
    );
}

#[test]
fn golden_envelopes_parse_reencode_and_verify() {
    if updating() {
        return;
    }
    let file: GoldenFile = serde_json::from_str(&read_file()).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&read_file()).unwrap();
    for (i, g) in file.events.iter().enumerate() {
        let name = &g.name;
        // The envelope JSON, parsed on its own, re-encodes to envelope_hex.
        let env: Envelope = serde_json::from_value(raw["events"][i]["envelope"].clone()).unwrap();
        assert_eq!(env, g.envelope, "{name}");
        let bytes = codec::encode(&env).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            g.envelope_hex,
            "{name}: re-encoded envelope"
        );
        // The hex decodes (strictly) to the same envelope.
        let decoded: Envelope = codec::decode(&hex::decode(&g.envelope_hex).unwrap()).unwrap();
        assert_eq!(decoded, env, "{name}: decoded envelope");
        // The signature verifies under the vkey, named after the producer.
        let (key_name, key) = parse_vkey(&g.vkey).unwrap();
        assert_eq!(key_name, env.producer.as_str(), "{name}: vkey name");
        let sig: [u8; 64] = hex::decode(&g.signature_hex).unwrap().try_into().unwrap();
        let ev = Event::from_signature(env, sig).unwrap();
        ev.verify(&key).unwrap();
        assert_eq!(ev.id().to_hex(), g.id_hex, "{name}: id");
        // The leaf bytes decode back to the same event.
        assert_eq!(Event::from_bytes(ev.bytes()).unwrap(), ev);
    }
    // The signers' vkeys come from their seeds.
    for s in &file.signers {
        let seed: [u8; 32] = hex::decode(&s.seed_hex).unwrap().try_into().unwrap();
        assert_eq!(
            Signer::from_seed(&s.member, seed).unwrap().vkey(),
            s.vkey,
            "{}",
            s.member
        );
    }
}

#[test]
fn golden_events_replay_as_a_ledger() {
    if updating() {
        return;
    }
    let file: GoldenFile = serde_json::from_str(&read_file()).unwrap();
    let mut state = State::new();
    for g in &file.events {
        let sig: [u8; 64] = hex::decode(&g.signature_hex).unwrap().try_into().unwrap();
        let ev = Event::from_signature(g.envelope.clone(), sig).unwrap();
        let outcome = evaluate(&state, &ev, None, SignatureCheck::Verify);
        assert_eq!(outcome, Outcome::Accepted, "{}", g.name);
        state.apply(&ev, &outcome);
    }
    assert_eq!(state.members.len(), 4);
    assert_eq!(state.items.len(), 5);
}
