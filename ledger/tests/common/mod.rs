//! A small scenario builder for the ledger's integration tests.
//!
//! A [`World`] holds a [`State`], deterministic signers, a simulated clock and
//! the log of every event it judged (so a test can [`World::replay`] it). Each
//! event advances the clock by one second; nothing reads the system clock.
//!
//! ```ignore
//! let mut w = World::new();
//! w.accept(SSSCIP, Body::NeedStated(need("UA-SSSCIP/N-1", SSSCIP, 10, 1_000)));
//! let r = w.reject(EE, Body::NeedStated(need("EE-MFA/N-1", SSSCIP, 10, 1_000)));
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;

use ledger::body::{
    Body, CancelScope, Cancellation, Change, ChangeFields, Commitment, Delivery, Genesis,
    MemberAdmitted, Modality, Need, Offer, Priority, Receipt, Tranche,
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
use ledger::producer::{next_envelope, next_event};
use ledger::rules::{evaluate, Outcome, Rejection, SignatureCheck};
use ledger::state::{CommitmentState, Item, OfferState, State};

/// The ledger origin of every test world.
pub const ORIGIN: &str = "tallinn-mechanism.example/ledger";
/// The coordinator.
pub const COORD: &str = "TM-SECRETARIAT";
/// A donor (Estonian MFA).
pub const EE: &str = "EE-MFA";
/// A donor (German Foreign Office).
pub const DE: &str = "DE-AA";
/// A recipient (State Service of Special Communications).
pub const SSSCIP: &str = "UA-SSSCIP";
/// A recipient (Ministry of Digital Transformation).
pub const MINDIGITAL: &str = "UA-MINDIGITAL";

/// `2024-03-01T09:00:00Z`: when every world starts.
pub const START: Timestamp = Timestamp(1_709_283_600_000);
/// How far the clock moves per event.
pub const TICK_MS: i64 = 1_000;

/// A member id (panics if malformed).
pub fn mid(s: &str) -> MemberId {
    s.parse().expect("valid member id")
}

/// An item id (panics if malformed).
pub fn iid(s: &str) -> ItemId {
    s.parse().expect("valid item id")
}

/// A date `YYYY-MM-DD`.
pub fn date(s: &str) -> Date {
    s.parse().expect("valid date")
}

/// The deterministic signer of a member: `Signer::from_seed(id, [seed; 32])`.
pub fn signer(id: &str, seed: u8) -> Signer {
    Signer::from_seed(id, [seed; 32]).expect("valid signer name")
}

/// The seed byte of each member of the standard world.
pub fn seed_of(id: &str) -> u8 {
    match id {
        COORD => 1,
        EE => 2,
        DE => 3,
        SSSCIP => 4,
        MINDIGITAL => 5,
        _ => 100,
    }
}

/// A member with the given roles, its key from `signer`.
pub fn member(id: &str, kind: MemberKind, country: &str, roles: &[Role], s: &Signer) -> Member {
    Member {
        id: mid(id),
        name: format!("{id} (test)"),
        kind,
        country: country.into(),
        roles: roles.to_vec(),
        key: s.public_key(),
    }
}

/// The genesis body of the standard world.
pub fn standard_genesis() -> Genesis {
    Genesis {
        origin: ORIGIN.into(),
        coordinator: member(
            COORD,
            MemberKind::Secretariat,
            "EE",
            &[Role::Coordinator],
            &signer(COORD, seed_of(COORD)),
        ),
        members: vec![
            member(
                EE,
                MemberKind::Ministry,
                "EE",
                &[Role::Donor],
                &signer(EE, seed_of(EE)),
            ),
            member(
                DE,
                MemberKind::Ministry,
                "DE",
                &[Role::Donor],
                &signer(DE, seed_of(DE)),
            ),
            member(
                SSSCIP,
                MemberKind::RecipientInstitution,
                "UA",
                &[Role::Recipient],
                &signer(SSSCIP, seed_of(SSSCIP)),
            ),
            member(
                MINDIGITAL,
                MemberKind::RecipientInstitution,
                "UA",
                &[Role::Recipient],
                &signer(MINDIGITAL, seed_of(MINDIGITAL)),
            ),
        ],
    }
}

// ---------------------------------------------------------------------------
// Body builders: valid bodies with sensible defaults; tweak fields as needed.
// ---------------------------------------------------------------------------

/// EUR money.
pub fn eur(cents: u64) -> Money {
    Money::eur(cents)
}

/// Money in another currency with its EUR equivalent.
pub fn money(amount_minor: u64, currency: &str, eur_minor: u64) -> Money {
    Money {
        amount_minor,
        currency: currency.into(),
        eur_minor,
    }
}

/// A quantity of terminals.
pub fn terminals(n: u64) -> Quantity {
    Quantity {
        amount: n,
        unit: "terminals".into(),
    }
}

/// A need for `qty` terminals worth `cents`, stated for `recipient`.
pub fn need(id: &str, recipient: &str, qty: u64, cents: u64) -> Need {
    Need {
        need: iid(id),
        recipient: mid(recipient),
        category: Category::SatelliteCommunications,
        dac_sector: Some(22040),
        description: "Satellite terminals for regional CERTs".into(),
        quantity: terminals(qty),
        estimated_value: eur(cents),
        priority: Priority::High,
        needed_by: None,
    }
}

/// An offer of `qty` terminals worth `cents`, answering `answers`.
pub fn offer(id: &str, qty: u64, cents: u64, answers: &[&str]) -> Offer {
    Offer {
        offer: iid(id),
        on_behalf_of: None,
        category: Category::SatelliteCommunications,
        dac_sector: None,
        modality: Modality::Goods,
        description: "Satellite terminals with one year of airtime".into(),
        quantity: terminals(qty),
        value: eur(cents),
        valid_until: None,
        answers: answers.iter().map(|s| iid(s)).collect(),
    }
}

/// A commitment of `qty` terminals worth `cents` to `recipient`.
pub fn commitment(
    id: &str,
    offer: Option<&str>,
    needs: &[&str],
    recipient: &str,
    qty: u64,
    cents: u64,
) -> Commitment {
    Commitment {
        commitment: iid(id),
        offer: offer.map(iid),
        needs: needs.iter().map(|s| iid(s)).collect(),
        recipient: mid(recipient),
        category: Category::SatelliteCommunications,
        description: "Satellite terminals, delivered in two batches".into(),
        quantity: terminals(qty),
        value: eur(cents),
        tranches: vec![],
    }
}

/// A tranche.
pub fn tranche(expected: Date, quantity: u64, amount_minor: u64) -> Tranche {
    Tranche {
        expected,
        quantity,
        amount_minor,
    }
}

/// A delivery of `qty` worth `cents` (EUR) on `on`.
pub fn delivery(id: &str, commitment: &str, qty: u64, cents: u64, on: Date) -> Delivery {
    Delivery {
        delivery: iid(id),
        commitment: iid(commitment),
        quantity: qty,
        value: eur(cents),
        delivered_on: on,
        evidence: None,
    }
}

/// A receipt accepting `qty` on `on`, without a discrepancy note.
pub fn receipt(id: &str, delivery: &str, qty: u64, on: Date) -> Receipt {
    Receipt {
        receipt: iid(id),
        delivery: iid(delivery),
        quantity_accepted: qty,
        received_on: on,
        discrepancy: None,
    }
}

/// A change of `target` with `fields`.
pub fn change(target: &str, fields: ChangeFields) -> Change {
    Change {
        target: iid(target),
        fields,
        reason: "the situation changed".into(),
    }
}

/// `Body::Amended`.
pub fn amend(target: &str, fields: ChangeFields) -> Body {
    Body::Amended(change(target, fields))
}

/// `Body::Corrected`.
pub fn correct(target: &str, fields: ChangeFields) -> Body {
    Body::Corrected(change(target, fields))
}

/// `Body::Cancelled`.
pub fn cancel(target: &str, scope: CancelScope) -> Body {
    Body::Cancelled(Cancellation {
        target: iid(target),
        scope,
        reason: "no longer needed".into(),
    })
}

/// `Body::MemberAdmitted`.
pub fn admit(m: Member) -> Body {
    Body::MemberAdmitted(MemberAdmitted { member: m })
}

/// Asserts `r` is a `Violation` whose message contains `needle`.
#[track_caller]
pub fn assert_violation(r: &Rejection, needle: &str) {
    match r {
        Rejection::Violation(msg) => assert!(
            msg.contains(needle),
            "violation {msg:?} does not contain {needle:?}"
        ),
        other => panic!("expected a violation containing {needle:?}, got {other:?}"),
    }
}

/// Asserts `r` is an `InvalidField` on exactly `field`.
#[track_caller]
pub fn assert_invalid_field(r: &Rejection, field: &str) {
    match r {
        Rejection::InvalidField(e) => assert_eq!(e.field, field, "{e}"),
        other => panic!("expected an invalid {field}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The world.
// ---------------------------------------------------------------------------

/// A ledger under test: state, signers, simulated clock and log.
pub struct World {
    /// The ledger state.
    pub state: State,
    /// The simulated clock: the time of the last event built.
    pub now: Timestamp,
    /// The current signer of each member.
    pub signers: BTreeMap<String, Signer>,
    /// Every event judged, as log entries (for replay).
    pub log: Vec<Entry>,
    /// The outcome of each entry of `log`.
    pub outcomes: Vec<Outcome>,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// A world without genesis, with signers for the standard members.
    pub fn empty() -> World {
        let signers = [COORD, EE, DE, SSSCIP, MINDIGITAL]
            .into_iter()
            .map(|id| (id.to_string(), signer(id, seed_of(id))))
            .collect();
        World {
            state: State::new(),
            now: START,
            signers,
            log: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    /// A world after the standard genesis: the coordinator, donors `EE-MFA` and
    /// `DE-AA`, recipients `UA-SSSCIP` and `UA-MINDIGITAL`.
    pub fn new() -> World {
        let mut w = World::empty();
        w.accept(COORD, Body::Genesis(standard_genesis()));
        w
    }

    /// The standard world plus a need `UA-SSSCIP/N-1` (10 terminals, EUR 10,000),
    /// an offer `EE-MFA/O-1` answering it (10, EUR 10,000) and a commitment
    /// `EE-MFA/C-1` from the offer (10, EUR 10,000) to `UA-SSSCIP`.
    pub fn with_commitment() -> World {
        let mut w = World::new();
        w.accept(
            SSSCIP,
            Body::NeedStated(need("UA-SSSCIP/N-1", SSSCIP, 10, 1_000_000)),
        );
        w.accept(
            EE,
            Body::OfferMade(offer("EE-MFA/O-1", 10, 1_000_000, &["UA-SSSCIP/N-1"])),
        );
        w.accept(
            EE,
            Body::CommitmentMade(commitment(
                "EE-MFA/C-1",
                Some("EE-MFA/O-1"),
                &["UA-SSSCIP/N-1"],
                SSSCIP,
                10,
                1_000_000,
            )),
        );
        w
    }

    /// Today, on the simulated clock.
    pub fn today(&self) -> Date {
        self.now.date()
    }

    /// Moves the clock forward by whole days.
    pub fn advance_days(&mut self, days: i64) {
        self.now = self.now.add_ms(days * ledger::calendar::MS_PER_DAY);
    }

    /// Advances the clock by one tick and returns the new time.
    pub fn tick(&mut self) -> Timestamp {
        self.now = self.now.add_ms(TICK_MS);
        self.now
    }

    /// The current signer of `member`.
    pub fn signer(&self, member: &str) -> &Signer {
        self.signers
            .get(member)
            .unwrap_or_else(|| panic!("no signer for {member}"))
    }

    /// Replaces the signer the world uses for `member` (after a key rotation).
    pub fn set_signer(&mut self, member: &str, s: Signer) {
        self.signers.insert(member.to_string(), s);
    }

    /// The next envelope of `member` (seq and prev from its chain head), at the next tick.
    pub fn envelope(&mut self, member: &str, body: Body) -> Envelope {
        let now = self.tick();
        next_envelope(&self.state, ORIGIN, &mid(member), body, now)
    }

    /// Signs an envelope with `member`'s current signer.
    pub fn sign(&self, member: &str, env: Envelope) -> Event {
        Event::sign(env, self.signer(member)).expect("encodes")
    }

    /// `member`'s next event, signed with its current signer, at the next tick.
    pub fn event(&mut self, member: &str, body: Body) -> Event {
        let now = self.tick();
        next_event(
            &self.state,
            ORIGIN,
            &mid(member),
            body,
            now,
            self.signer(member),
        )
        .expect("encodes")
    }

    /// `member`'s next event signed with another key: a forgery.
    pub fn forge(&mut self, member: &str, body: Body, key: &Signer) -> Event {
        let env = self.envelope(member, body);
        Event::sign(env, key).expect("encodes")
    }

    /// Judges `event` as appended now, folds it into the state and logs it.
    pub fn submit(&mut self, event: &Event) -> Outcome {
        let now = self.now;
        self.submit_at(event, now)
    }

    /// Judges `event` as appended at `appended_at`, folds it in and logs it.
    pub fn submit_at(&mut self, event: &Event, appended_at: Timestamp) -> Outcome {
        let outcome = evaluate(&self.state, event, None, SignatureCheck::Verify);
        self.state.apply(event, &outcome);
        self.log.push(Entry {
            position: self.log.len() as u64 + 1,
            appended_at,
            member: None,
            bytes: event.bytes().to_vec(),
        });
        self.outcomes.push(outcome.clone());
        outcome
    }

    /// Builds, signs and judges `member`'s next event.
    pub fn outcome(&mut self, member: &str, body: Body) -> Outcome {
        let ev = self.event(member, body);
        self.submit(&ev)
    }

    /// Builds and submits `member`'s next event; asserts it is accepted.
    #[track_caller]
    pub fn accept(&mut self, member: &str, body: Body) -> Event {
        let ev = self.event(member, body);
        self.expect_accepted(&ev);
        ev
    }

    /// Submits `event`; asserts it is accepted.
    #[track_caller]
    pub fn expect_accepted(&mut self, event: &Event) {
        match self.submit(event) {
            Outcome::Accepted => {}
            other => panic!(
                "expected {} by {} to be accepted, got {other:?}",
                event.envelope().body.kind().name(),
                event.envelope().producer
            ),
        }
    }

    /// Builds and submits `member`'s next event; asserts it is rejected and returns why.
    #[track_caller]
    pub fn reject(&mut self, member: &str, body: Body) -> Rejection {
        let ev = self.event(member, body);
        self.expect_rejected(&ev)
    }

    /// Submits `event`; asserts it is rejected and returns why.
    #[track_caller]
    pub fn expect_rejected(&mut self, event: &Event) -> Rejection {
        match self.submit(event) {
            Outcome::Rejected(r) => r,
            other => panic!(
                "expected {} by {} to be rejected, got {other:?}",
                event.envelope().body.kind().name(),
                event.envelope().producer
            ),
        }
    }

    /// `(seq, head id)` of `member`'s chain.
    pub fn head(&self, member: &str) -> (u64, ledger::ids::EventId) {
        self.state.head(&mid(member))
    }

    /// The item with this id, if it exists.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.state.items.get(&iid(id))
    }

    /// The offer with this id (panics if there is none).
    #[track_caller]
    pub fn offer_state(&self, id: &str) -> &OfferState {
        match self.item(id) {
            Some(Item::Offer(o)) => o,
            other => panic!("{id} is not an offer: {other:?}"),
        }
    }

    /// The commitment with this id (panics if there is none).
    #[track_caller]
    pub fn commitment_state(&self, id: &str) -> &CommitmentState {
        match self.item(id) {
            Some(Item::Commitment(c)) => c,
            other => panic!("{id} is not a commitment: {other:?}"),
        }
    }

    /// Replays the world's log from scratch with `ledger::replay::replay` and
    /// asserts it reaches the same outcomes and the same state.
    #[track_caller]
    pub fn assert_replay_matches(&self) {
        let (state, judged) = ledger::replay::replay(&self.log);
        let outcomes: Vec<Outcome> = judged
            .into_iter()
            .map(|j| j.outcome.expect("well-formed bytes"))
            .collect();
        assert_eq!(outcomes, self.outcomes, "replayed outcomes differ");
        assert_eq!(state, self.state, "replayed state differs");
    }
}
