//! Fixed keys and the golden ledger (`schemas/golden/events.json`) for the
//! properties in `ledger_checks.rs` and `bundle_checks.rs`.
//!
//! Included by path (with them) from `ledger/tests/no_panic.rs` and
//! `projector/tests/no_panic.rs`, so only `ledger`, `serde_json` and `hex`
//! may be used here.
#![allow(dead_code)]

use std::sync::OnceLock;

use ledger::checkpoint::{Verifier, Witness};
use ledger::event::Event;
use ledger::keys::Signer;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::state::State;

/// The golden vectors' members and seed bytes (`Signer::from_seed(member, [seed; 32])`).
pub const GOLDEN_SEEDS: [(&str, u8); 4] = [
    ("TM-SECRETARIAT", 1),
    ("EE-MFA", 2),
    ("DE-AA", 3),
    ("UA-SSSCIP", 4),
];

/// The log key of the fixed test keys: the golden vectors' coordinator
/// (seed `[1; 32]`), so the seed corpora's checkpoints verify under it.
pub const LOG_NAME: &str = "TM-SECRETARIAT";
/// The witness of the fixed test keys: the golden vectors' EE-MFA (seed `[2; 32]`).
pub const WITNESS_NAME: &str = "EE-MFA";

/// The fixed keys, made once.
pub struct Keys {
    /// The log (coordinator) signer.
    pub log: Signer,
    /// The witness signer.
    pub witness: Signer,
    /// The log key as a note verifier.
    pub verifier: Verifier,
    /// The witness as a cosignature verifier.
    pub witness_key: Witness,
    /// Every golden member's signer.
    pub members: Vec<Signer>,
}

/// The fixed test keys.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let members: Vec<Signer> = GOLDEN_SEEDS
            .iter()
            .map(|(name, seed)| Signer::from_seed(name, [*seed; 32]).expect("test key"))
            .collect();
        let log = members[0].clone();
        let witness = members[1].clone();
        let verifier = Verifier::new(LOG_NAME, log.public_key()).expect("test key");
        let witness_key = Witness::new(WITNESS_NAME, witness.public_key()).expect("test key");
        Keys {
            log,
            witness,
            verifier,
            witness_key,
            members,
        }
    })
}

/// The golden signer of `member`, if it is one of the golden members.
pub fn golden_signer(member: &str) -> Option<&'static Signer> {
    keys().members.iter().find(|s| s.name() == member)
}

/// The leaf bytes (`envelope || signature`) of the golden events, in log order.
pub fn golden_leaves() -> &'static [Vec<u8>] {
    static LEAVES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LEAVES.get_or_init(|| {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/golden/events.json"))
                .expect("golden file is JSON");
        file["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| {
                let hex_of = |field: &str| {
                    hex::decode(e[field].as_str().expect("a hex string")).expect("hex")
                };
                let mut leaf = hex_of("envelope_hex");
                leaf.extend(hex_of("signature_hex"));
                leaf
            })
            .collect()
    })
}

/// The rules state after the golden ledger, so a fuzzed event is judged
/// against real members, keys and items.
pub fn golden_state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut state = State::new();
        for leaf in golden_leaves() {
            let ev = Event::from_bytes(leaf).expect("golden event decodes");
            let outcome = evaluate(&state, &ev, None, SignatureCheck::Verify);
            assert_eq!(outcome, Outcome::Accepted, "golden event accepted");
            state.apply(&ev, &outcome);
        }
        state
    })
}
