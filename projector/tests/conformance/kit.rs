//! The scenario kit: a log being written on a simulated clock, with
//! deterministic keys, the rules state it builds (so honest events get the
//! right `seq` and `prev`), and the verdict each step is meant to get, checked
//! as the step is written (with `ledger::replay`, one signature at a time), so
//! a builder cannot silently exercise something else than it says.

use std::collections::BTreeMap;

use ledger::body::{
    Body, CancelScope, Cancellation, Change, ChangeFields, Commitment, Delivery, Genesis, Modality,
    Need, Offer, Priority, Receipt, Tranche,
};
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::envelope::Envelope;
use ledger::event::Event;
use ledger::ids::{ItemId, MemberId};
use ledger::keys::Signer;
use ledger::log::Entry;
use ledger::member::{Member, MemberKind, Role};
use ledger::money::{Money, Quantity};
use ledger::producer::next_envelope;
use ledger::replay::{replay_entry, Judged};
use ledger::rules::Outcome;
use ledger::state::State;
use sha2::{Digest as _, Sha256};

/// The origin of every built scenario's ledger.
pub const ORIGIN: &str = "conformance.example/ledger";
/// When every built scenario starts (a Monday).
pub const START: &str = "2025-03-03T09:00:00Z";
/// The clock moves this much before each envelope: a scenario of fewer than
/// 90 envelopes stays on the day of [`START`], so "today" is 2025-03-03.
pub const STEP_MS: i64 = 10 * 60 * 1000;

/// The coordinator.
pub const COORD: &str = "TM-COORD";
/// A donor.
pub const EE: &str = "EE-MFA";
/// Another donor.
pub const DE: &str = "DE-AA";
/// A recipient institution.
pub const SSSCIP: &str = "UA-SSSCIP";
/// Another recipient institution.
pub const NCCC: &str = "UA-NCCC";

/// A member id.
pub fn m(id: &str) -> MemberId {
    id.parse().expect("valid member id")
}

/// An item id.
pub fn item(id: &str) -> ItemId {
    id.parse().expect("valid item id")
}

/// A date `YYYY-MM-DD`.
pub fn day(s: &str) -> Date {
    s.parse().expect("valid date")
}

/// A timestamp `YYYY-MM-DDTHH:MM:SSZ`.
pub fn at(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

/// The 32-byte seed of `name`'s key number `generation`:
/// `SHA-256("tallinn-conformance/v1\n" || name || "\n" || generation)`.
pub fn seed(name: &str, generation: u32) -> [u8; 32] {
    Sha256::digest(format!("tallinn-conformance/v1\n{name}\n{generation}")).into()
}

/// `name`'s key number `generation` (0: the key it is admitted with).
pub fn signer(name: &str, generation: u32) -> Signer {
    Signer::from_seed(name, seed(name, generation)).expect("valid key name")
}

/// A member with its key number 0.
pub fn member(id: &str, kind: MemberKind, country: &str, roles: &[Role]) -> Member {
    Member {
        id: m(id),
        name: format!("{id} (conformance)"),
        kind,
        country: country.into(),
        roles: roles.to_vec(),
        key: signer(id, 0).public_key(),
    }
}

/// The genesis of the standard cast: coordinator `TM-COORD`, donors `EE-MFA`
/// and `DE-AA`, recipient institutions `UA-SSSCIP` and `UA-NCCC`.
pub fn cast() -> Genesis {
    use MemberKind::*;
    Genesis {
        origin: ORIGIN.into(),
        coordinator: member(COORD, Secretariat, "EE", &[Role::Coordinator]),
        members: vec![
            member(EE, Ministry, "EE", &[Role::Donor]),
            member(DE, Ministry, "DE", &[Role::Donor]),
            member(SSSCIP, RecipientInstitution, "UA", &[Role::Recipient]),
            member(NCCC, RecipientInstitution, "UA", &[Role::Recipient]),
        ],
    }
}

/// A scenario as its builder makes it; the test computes `expected`.
pub struct Built {
    /// The file's stem.
    pub name: String,
    /// What it exercises, then one line per position.
    pub description: String,
    /// The bundle, as `tallinn audit export` would write this log.
    pub bundle: ledger::bundle::Bundle,
}

/// A log being written.
pub struct Kit {
    state: State,
    entries: Vec<Entry>,
    keys: BTreeMap<String, Signer>,
    now: Timestamp,
    steps: Vec<String>,
}

impl Kit {
    /// An empty log (no genesis).
    pub fn empty() -> Kit {
        Kit {
            state: State::new(),
            entries: Vec::new(),
            keys: BTreeMap::new(),
            now: at(START),
            steps: Vec::new(),
        }
    }

    /// A log that starts with the genesis of [`cast`].
    pub fn ledger() -> Kit {
        let mut k = Kit::empty();
        k.emit(
            COORD,
            Body::Genesis(cast()),
            "accepted",
            "genesis: TM-COORD, donors EE-MFA and DE-AA, recipients UA-SSSCIP and UA-NCCC",
        );
        k
    }

    /// The key `who` signs with now (key number 0 until [`Kit::use_key`]).
    pub fn key(&self, who: &str) -> Signer {
        self.keys
            .get(who)
            .cloned()
            .unwrap_or_else(|| signer(who, 0))
    }

    /// From now on `who` signs with its key number `generation`.
    pub fn use_key(&mut self, who: &str, generation: u32) {
        self.keys.insert(who.into(), signer(who, generation));
    }

    /// The rules state after the entries so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The id of the event at `position` (it must decode).
    pub fn id_at(&self, position: usize) -> ledger::ids::EventId {
        ledger::event::leaf_hash(&self.entries[position - 1].bytes)
    }

    /// The bytes of the entry at `position`.
    pub fn bytes_at(&self, position: usize) -> Vec<u8> {
        self.entries[position - 1].bytes.clone()
    }

    /// `who`'s next envelope: `seq` and `prev` from its judged chain, the
    /// clock moved on by [`STEP_MS`].
    pub fn next(&mut self, who: &str, body: Body) -> Envelope {
        self.now = self.now.add_ms(STEP_MS);
        next_envelope(&self.state, ORIGIN, &m(who), body, self.now)
    }

    /// `who`'s next event, signed with its current key, on its own subject.
    pub fn emit(&mut self, who: &str, body: Body, want: &str, label: &str) -> Event {
        let env = self.next(who, body);
        let ev = Event::sign(env, &self.key(who)).expect("encodes");
        self.push(who, &ev, want, label);
        ev
    }

    /// Signs `env` with `key` (whoever the envelope names).
    pub fn sign(env: Envelope, key: &Signer) -> Event {
        Event::sign(env, key).expect("encodes")
    }

    /// Appends `ev` to `subject`'s subject.
    pub fn push(&mut self, subject: &str, ev: &Event, want: &str, label: &str) {
        self.push_bytes(Some(subject), ev.bytes().to_vec(), want, label);
    }

    /// Appends raw bytes to `subject`'s subject (`None`: an entry without a
    /// subject, as in bundles of earlier versions) and checks the step gets
    /// `want`: a code, or `code: text` where the reason must contain `text`.
    #[track_caller]
    pub fn push_bytes(&mut self, subject: Option<&str>, bytes: Vec<u8>, want: &str, label: &str) {
        let position = self.entries.len() as u64 + 1;
        let entry = Entry {
            position,
            appended_at: self.now,
            member: subject.map(m),
            bytes,
        };
        let judged = replay_entry(&mut self.state, &entry);
        let (code, reason) = verdict(&judged);
        let (want_code, want_text) = want.split_once(": ").unwrap_or((want, ""));
        assert!(
            code == want_code && reason.contains(want_text),
            "step {position} ({label}): meant to be {want:?}, got {code}: {reason}"
        );
        self.entries.push(entry);
        self.steps.push(format!("{position}. {label}"));
    }

    /// The scenario: the bundle `projector::audit::export` makes of the log
    /// (no checkpoints), described by `summary` and the steps.
    pub fn finish(self, name: &str, summary: &str) -> Built {
        Built {
            name: name.into(),
            description: std::iter::once(summary.to_string())
                .chain(self.steps)
                .collect::<Vec<_>>()
                .join("\n"),
            bundle: projector::audit::export(&self.entries, vec![]).expect("export"),
        }
    }
}

/// The code and reason of a judged entry.
fn verdict(j: &Judged) -> (String, String) {
    match (&j.event, &j.outcome) {
        (Err(e), _) => ("malformed".into(), e.summary()),
        (Ok(_), Some(Outcome::Rejected(r))) => (r.code().into(), r.to_string()),
        (Ok(_), outcome) => (crate::file::code(outcome.as_ref()), String::new()),
    }
}

// ---------------------------------------------------------------------------
// Valid bodies with plain defaults; builders change fields with `..`.
// ---------------------------------------------------------------------------

/// Euro cents.
pub fn eur(cents: u64) -> Money {
    Money::eur(cents)
}

/// An amount in another currency with its EUR equivalent.
pub fn money(amount_minor: u64, currency: &str, eur_minor: u64) -> Money {
    Money {
        amount_minor,
        currency: currency.into(),
        eur_minor,
    }
}

/// A quantity.
pub fn qty(amount: u64, unit: &str) -> Quantity {
    Quantity {
        amount,
        unit: unit.into(),
    }
}

/// A need for 50 laptops (EUR 60,000.00), high priority, by 2025-06-30.
pub fn need(id: &str, recipient: &str) -> Need {
    Need {
        need: item(id),
        recipient: m(recipient),
        category: Category::Hardware,
        dac_sector: Some(22040),
        description: "Laptops for regional CERTs".into(),
        quantity: qty(50, "laptops"),
        estimated_value: eur(6_000_000),
        priority: Priority::High,
        needed_by: Some(day("2025-06-30")),
    }
}

/// An offer of `n` routers worth `cents` (EUR), without limit in time.
pub fn offer(id: &str, n: u64, cents: u64) -> Offer {
    Offer {
        offer: item(id),
        on_behalf_of: None,
        category: Category::NetworkSecurity,
        dac_sector: None,
        modality: Modality::Goods,
        description: "Hardened routers".into(),
        quantity: qty(n, "routers"),
        value: eur(cents),
        valid_until: None,
        answers: vec![],
    }
}

/// A commitment of `n` routers worth `cents` (EUR) from `offer` (if any) and
/// for `needs`, to `recipient`, without tranches.
pub fn commitment(
    id: &str,
    offer: Option<&str>,
    needs: &[&str],
    recipient: &str,
    n: u64,
    cents: u64,
) -> Commitment {
    Commitment {
        commitment: item(id),
        offer: offer.map(item),
        needs: needs.iter().map(|s| item(s)).collect(),
        recipient: m(recipient),
        category: Category::NetworkSecurity,
        description: "Hardened routers, delivered in batches".into(),
        quantity: qty(n, "routers"),
        value: eur(cents),
        tranches: vec![],
    }
}

/// A tranche.
pub fn tranche(expected: &str, quantity: u64, amount_minor: u64) -> Tranche {
    Tranche {
        expected: day(expected),
        quantity,
        amount_minor,
    }
}

/// A delivery of `n` worth `cents` (EUR) on `on`.
pub fn delivery(id: &str, commitment: &str, n: u64, cents: u64, on: &str) -> Delivery {
    Delivery {
        delivery: item(id),
        commitment: item(commitment),
        quantity: n,
        value: eur(cents),
        delivered_on: day(on),
        evidence: None,
    }
}

/// A receipt accepting `n` on `on`, without a discrepancy note.
pub fn receipt(id: &str, delivery: &str, n: u64, on: &str) -> Receipt {
    Receipt {
        receipt: item(id),
        delivery: item(delivery),
        quantity_accepted: n,
        received_on: day(on),
        discrepancy: None,
    }
}

/// `Body::Amended` of `target`.
pub fn amend(target: &str, fields: ChangeFields) -> Body {
    Body::Amended(Change {
        target: item(target),
        fields,
        reason: "the situation changed".into(),
    })
}

/// `Body::Corrected` of `target`.
pub fn correct(target: &str, fields: ChangeFields) -> Body {
    Body::Corrected(Change {
        target: item(target),
        fields,
        reason: "the record was wrong".into(),
    })
}

/// `Body::Cancelled` of `target`.
pub fn cancel(target: &str, scope: CancelScope) -> Body {
    Body::Cancelled(Cancellation {
        target: item(target),
        scope,
        reason: "no longer needed".into(),
    })
}

/// Change fields with only a quantity.
pub fn quantity(n: u64) -> ChangeFields {
    ChangeFields {
        quantity: Some(n),
        ..ChangeFields::default()
    }
}

/// Change fields with only a value.
pub fn value(v: Money) -> ChangeFields {
    ChangeFields {
        value: Some(v),
        ..ChangeFields::default()
    }
}

/// Change fields with only a date.
pub fn date(d: &str) -> ChangeFields {
    ChangeFields {
        date: Some(day(d)),
        ..ChangeFields::default()
    }
}
