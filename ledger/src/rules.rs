//! The rules: one pure function from (state, event) to an [`Outcome`].
//!
//! The CLI's pre-check, the projector and the auditor all call [`evaluate`]; there
//! is no second copy. Checks run in this order:
//!
//! 1. envelope: format version, the subject carrying it is its producer's,
//!    genesis first, origin, known producer;
//! 2. chain: an already-chained id is a [`Outcome::Duplicate`]; then the signature
//!    under the producer's active key ([`Rejection::BadSignature`]: a forgery);
//!    then `seq`/`prev` against the chain head (equivocation, gap, broken link).
//!    Events refused here never enter the member's chain;
//! 3. business rules: the event is validly signed and linked, so it occupies its
//!    place in the chain, but a rejection means it moves nothing.

use serde::{Deserialize, Serialize};

use crate::body::{check_tranches, Body, CancelScope, ChangeFields, FieldError};
use crate::calendar::{Date, Timestamp};
use crate::envelope::FORMAT_VERSION;
use crate::event::Event;
use crate::ids::{EventId, ItemId, MemberId};
use crate::member::Role;
use crate::state::{Item, State};

/// Whether the caller already verified the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// [`evaluate`] verifies it (`verify_strict`) under the producer's active key.
    Verify,
    /// The caller verified it under `State::active_key(producer)` (e.g. in a batch).
    AlreadyVerified,
}

/// The verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Valid: counted.
    Accepted,
    /// Not counted, with the reason.
    Rejected(Rejection),
    /// Exactly this event is already in the producer's chain: skip it.
    Duplicate,
}

impl Outcome {
    /// Whether the event takes its place in the producer's chain.
    pub fn in_chain(&self) -> bool {
        match self {
            Outcome::Accepted => true,
            Outcome::Rejected(r) => r.in_chain(),
            Outcome::Duplicate => false,
        }
    }
}

/// Why an event is not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The envelope's format version is not one this code reads.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// The first event of a ledger must be a genesis by its coordinator.
    #[error("the ledger has no genesis yet: the first event must be a genesis")]
    NoGenesis,
    /// The envelope names another ledger.
    #[error("origin {found:?} is not this ledger's ({expected:?})")]
    WrongOrigin {
        /// This ledger's origin.
        expected: String,
        /// The event's.
        found: String,
    },
    /// The producer is not an admitted member.
    #[error("producer {0} is not an admitted member")]
    UnknownProducer(MemberId),
    /// The producer's key was revoked and no new key rotated in.
    #[error("producer {0} has no active key (revoked)")]
    NoActiveKey(MemberId),
    /// The signature does not verify under the producer's active key: a forgery.
    #[error("signature does not verify under {0}'s active key (forgery)")]
    BadSignature(MemberId),
    /// A second, different event with an already used `seq`: equivocation.
    #[error("equivocation: {producer} already signed seq {seq} as event {existing}")]
    Equivocation {
        /// The member that signed both.
        producer: MemberId,
        /// The `seq` used twice.
        seq: u64,
        /// The id already in the chain.
        existing: EventId,
    },
    /// `seq` skips ahead of the chain head.
    #[error("gap in {producer}'s chain: expected seq {expected}, got {got}")]
    Gap {
        /// The member.
        producer: MemberId,
        /// The next seq expected.
        expected: u64,
        /// The seq found.
        got: u64,
    },
    /// `prev` is not the chain head.
    #[error("broken chain link: prev is {got}, {producer}'s head is {expected}")]
    BrokenLink {
        /// The member.
        producer: MemberId,
        /// The chain head.
        expected: EventId,
        /// The event's prev.
        got: EventId,
    },
    /// The event sits on another member's subject than its producer's (a copy
    /// of someone else's event, or a forgery in their name).
    #[error("produced by {producer}, appended to the subject of {subject}")]
    WrongSubject {
        /// The member whose subject carries the entry.
        subject: MemberId,
        /// The producer the envelope names.
        producer: MemberId,
    },
    /// No longer produced (the append time is not signed, so it decides no
    /// verdict); kept so that stores written before decode.
    #[error("recorded at {recorded}, more than 5 minutes after it was appended ({appended})")]
    FutureTimestamp {
        /// The event's time.
        recorded: Timestamp,
        /// The log's time.
        appended: Timestamp,
    },
    /// `recorded_at` is earlier than the producer's previous event.
    #[error("recorded at {recorded}, before the producer's previous event ({previous})")]
    TimeWentBack {
        /// The event's time.
        recorded: Timestamp,
        /// The previous event's time.
        previous: Timestamp,
    },
    /// The producer is suspended.
    #[error("producer {0} is suspended")]
    Suspended(MemberId),
    /// The producer lacks the role the body needs.
    #[error("{member} does not hold the {} role needed for {kind}", format!("{role:?}").to_lowercase())]
    MissingRole {
        /// The producer.
        member: MemberId,
        /// The role needed.
        role: Role,
        /// The body kind.
        kind: String,
    },
    /// A field fails its static check.
    #[error("invalid field {0}")]
    InvalidField(FieldError),
    /// A rule specific to the body failed.
    #[error("{0}")]
    Violation(String),
}

impl Rejection {
    /// Whether a validly signed event rejected for this reason still takes its place
    /// in the producer's chain (business-rule failures do; envelope, signature and
    /// chain failures do not). Before genesis no rejected event enters a chain.
    pub fn in_chain(&self) -> bool {
        !matches!(
            self,
            Rejection::UnsupportedVersion(_)
                | Rejection::WrongSubject { .. }
                | Rejection::NoGenesis
                | Rejection::WrongOrigin { .. }
                | Rejection::UnknownProducer(_)
                | Rejection::NoActiveKey(_)
                | Rejection::BadSignature(_)
                | Rejection::Equivocation { .. }
                | Rejection::Gap { .. }
                | Rejection::BrokenLink { .. }
        )
    }

    /// A short stable code for reports and JSON (`bad_signature`, `gap`...).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::UnsupportedVersion(_) => "unsupported_version",
            Rejection::NoGenesis => "no_genesis",
            Rejection::WrongOrigin { .. } => "wrong_origin",
            Rejection::UnknownProducer(_) => "unknown_producer",
            Rejection::NoActiveKey(_) => "no_active_key",
            Rejection::BadSignature(_) => "bad_signature",
            Rejection::Equivocation { .. } => "equivocation",
            Rejection::Gap { .. } => "gap",
            Rejection::BrokenLink { .. } => "broken_link",
            Rejection::WrongSubject { .. } => "wrong_subject",
            Rejection::FutureTimestamp { .. } => "future_timestamp",
            Rejection::TimeWentBack { .. } => "time_went_back",
            Rejection::Suspended(_) => "suspended",
            Rejection::MissingRole { .. } => "missing_role",
            Rejection::InvalidField(_) => "invalid_field",
            Rejection::Violation(_) => "rule_violation",
        }
    }
}

fn violation<T>(msg: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::Violation(msg.into()))
}

/// Judges `event` against `state`. `subject` is the member whose subject
/// carries the entry (`None` where the backend keeps only a member's own events
/// on its chain, see [`crate::log::Entry::member`]). The verdict depends on the
/// signed bytes, the state (the log before the event) and the subject only: no
/// clock, no append time.
pub fn evaluate(
    state: &State,
    event: &Event,
    subject: Option<&MemberId>,
    sig: SignatureCheck,
) -> Outcome {
    match check(state, event, subject, sig) {
        Ok(()) => Outcome::Accepted,
        Err(None) => Outcome::Duplicate,
        Err(Some(r)) => Outcome::Rejected(r),
    }
}

fn check(
    state: &State,
    event: &Event,
    subject: Option<&MemberId>,
    sig: SignatureCheck,
) -> Result<(), Option<Rejection>> {
    let env = event.envelope();
    if env.version != FORMAT_VERSION {
        return Err(Some(Rejection::UnsupportedVersion(env.version)));
    }
    let producer = &env.producer;
    if let Some(subject) = subject.filter(|s| *s != producer) {
        return Err(Some(Rejection::WrongSubject {
            subject: subject.clone(),
            producer: producer.clone(),
        }));
    }
    // Genesis: the only event judged against an empty state.
    let Some(origin) = &state.origin else {
        return check_genesis(event, sig).map_err(Some);
    };
    if &env.origin != origin {
        return Err(Some(Rejection::WrongOrigin {
            expected: origin.clone(),
            found: env.origin.clone(),
        }));
    }
    let Some(member) = state.members.get(producer) else {
        return Err(Some(Rejection::UnknownProducer(producer.clone())));
    };
    let chain = state.chains.get(producer);
    let (head_seq, head_id) = chain
        .map(|c| (c.seq(), c.head()))
        .unwrap_or((0, EventId::ZERO));
    if chain.and_then(|c| c.id_at(env.seq)) == Some(event.id()) {
        return Err(None);
    }
    let key = member
        .active_key
        .ok_or_else(|| Rejection::NoActiveKey(producer.clone()))?;
    if sig == SignatureCheck::Verify && event.verify(&key).is_err() {
        return Err(Some(Rejection::BadSignature(producer.clone())));
    }
    if let Some(existing) = chain.and_then(|c| c.id_at(env.seq)) {
        return Err(Some(Rejection::Equivocation {
            producer: producer.clone(),
            seq: env.seq,
            existing,
        }));
    }
    if env.seq != head_seq + 1 {
        return Err(Some(Rejection::Gap {
            producer: producer.clone(),
            expected: head_seq + 1,
            got: env.seq,
        }));
    }
    if env.prev != head_id {
        return Err(Some(Rejection::BrokenLink {
            producer: producer.clone(),
            expected: head_id,
            got: env.prev,
        }));
    }
    // From here on the event occupies its place in the chain.
    if let Some(c) = chain.filter(|c| c.seq() > 0) {
        if env.recorded_at < c.last_recorded {
            return Err(Some(Rejection::TimeWentBack {
                recorded: env.recorded_at,
                previous: c.last_recorded,
            }));
        }
    }
    if member.suspended {
        return Err(Some(Rejection::Suspended(producer.clone())));
    }
    env.body
        .validate()
        .map_err(|e| Some(Rejection::InvalidField(e)))?;
    if let Some(role) = env.body.required_role() {
        if !member.member.has_role(role) {
            return Err(Some(Rejection::MissingRole {
                member: producer.clone(),
                role,
                kind: env.body.kind().name().into(),
            }));
        }
    }
    check_body(state, event).map_err(Some)
}

fn check_genesis(event: &Event, sig: SignatureCheck) -> Result<(), Rejection> {
    let env = event.envelope();
    let Body::Genesis(g) = &env.body else {
        return Err(Rejection::NoGenesis);
    };
    if env.producer != g.coordinator.id {
        return violation("genesis must be produced by the coordinator it names");
    }
    if sig == SignatureCheck::Verify && event.verify(&g.coordinator.key).is_err() {
        return Err(Rejection::BadSignature(env.producer.clone()));
    }
    if env.seq != 1 || env.prev != EventId::ZERO {
        return violation("genesis must be the coordinator's first event (seq 1, prev zero)");
    }
    env.body.validate().map_err(Rejection::InvalidField)?;
    if g.origin != env.origin {
        return violation(format!(
            "genesis origin {:?} differs from the envelope's {:?}",
            g.origin, env.origin
        ));
    }
    Ok(())
}

fn check_body(state: &State, event: &Event) -> Result<(), Rejection> {
    let env = event.envelope();
    let producer = &env.producer;
    let today = env.recorded_at.date();
    let is_coordinator = state.has_role(producer, Role::Coordinator);
    if let Some(id) = env.body.created_item() {
        if !id.is_owned_by(producer) {
            return violation(format!(
                "item id {id} must start with the producer's id ({producer}/)"
            ));
        }
        if state.items.contains_key(id) {
            return violation(format!("item id {id} is already used"));
        }
    }
    match &env.body {
        Body::Genesis(_) => violation("a ledger has exactly one genesis"),
        Body::MemberAdmitted(a) => {
            if state.members.contains_key(&a.member.id) {
                return violation(format!("member {} is already admitted", a.member.id));
            }
            key_unused(state, &a.member.key)
        }
        Body::KeyRotated(k) => {
            let Some(target) = state.members.get(&k.member) else {
                return violation(format!("member {} is not admitted", k.member));
            };
            if &k.member != producer && !is_coordinator {
                return violation("only the member itself or the coordinator rotates a key");
            }
            if target.past_keys.contains(&k.new_key) {
                return violation(format!("the new key was already used by {}", k.member));
            }
            key_unused(state, &k.new_key)
        }
        Body::KeyRevoked(k) => {
            let Some(target) = state.members.get(&k.member) else {
                return violation(format!("member {} is not admitted", k.member));
            };
            if &k.member != producer && !is_coordinator {
                return violation("only the member itself or the coordinator revokes a key");
            }
            if target.active_key.is_none() {
                return violation(format!("{} has no active key to revoke", k.member));
            }
            Ok(())
        }
        Body::MemberSuspended(s) => match state.members.get(&s.member) {
            None => violation(format!("member {} is not admitted", s.member)),
            Some(_) if &s.member == producer => violation("the coordinator cannot suspend itself"),
            Some(m) if m.suspended => violation(format!("{} is already suspended", s.member)),
            Some(_) => Ok(()),
        },
        Body::NeedStated(n) => {
            if !state.has_role(&n.recipient, Role::Recipient) {
                return violation(format!(
                    "recipient {} is not an admitted recipient institution",
                    n.recipient
                ));
            }
            Ok(())
        }
        Body::OfferMade(o) => {
            for need in &o.answers {
                open_need(state, need)?;
            }
            Ok(())
        }
        Body::CommitmentMade(c) => {
            if !state.has_role(&c.recipient, Role::Recipient) {
                return violation(format!(
                    "recipient {} is not an admitted recipient institution",
                    c.recipient
                ));
            }
            for need in &c.needs {
                open_need(state, need)?;
            }
            if let Some(offer_id) = &c.offer {
                let Some(Item::Offer(o)) = state.items.get(offer_id) else {
                    return violation(format!("offer {offer_id} does not exist"));
                };
                if !offer_id.is_owned_by(producer) {
                    return violation(format!("offer {offer_id} belongs to another donor"));
                }
                if o.cancelled {
                    return violation(format!("offer {offer_id} is cancelled"));
                }
                if o.valid_until.is_some_and(|d| d < today) {
                    return violation(format!(
                        "offer {offer_id} expired on {}",
                        o.valid_until.unwrap_or(today)
                    ));
                }
                if o.unit == c.quantity.unit
                    && o.committed_quantity.saturating_add(c.quantity.amount) > o.quantity
                {
                    return violation(format!(
                        "commitments on offer {offer_id} would reach {} {}, more than the {} offered",
                        o.committed_quantity.saturating_add(c.quantity.amount),
                        o.unit,
                        o.quantity
                    ));
                }
                if o.committed_eur.saturating_add(c.value.eur_minor) > o.eur_minor {
                    return violation(format!(
                        "commitments on offer {offer_id} would reach EUR {} cents, more than the {} offered",
                        o.committed_eur.saturating_add(c.value.eur_minor),
                        o.eur_minor
                    ));
                }
            }
            Ok(())
        }
        Body::DeliveryRecorded(d) => {
            let Some(Item::Commitment(c)) = state.items.get(&d.commitment) else {
                return violation(format!("commitment {} does not exist", d.commitment));
            };
            if !d.commitment.is_owned_by(producer) {
                return violation(format!(
                    "commitment {} belongs to another donor",
                    d.commitment
                ));
            }
            if c.cancelled.is_some() {
                return violation(format!("commitment {} is cancelled", d.commitment));
            }
            if d.value.currency != c.currency {
                return violation(format!(
                    "delivery in {} on a commitment in {}",
                    d.value.currency, c.currency
                ));
            }
            if c.delivered_quantity.saturating_add(d.quantity) > c.quantity {
                return violation(format!(
                    "over-delivery: {} {} delivered in all, {} committed",
                    c.delivered_quantity.saturating_add(d.quantity),
                    c.unit,
                    c.quantity
                ));
            }
            if c.delivered_amount.saturating_add(d.value.amount_minor) > c.amount_minor {
                return violation(format!(
                    "over-delivery: {} {} minor units delivered in all, {} committed",
                    c.delivered_amount.saturating_add(d.value.amount_minor),
                    c.currency,
                    c.amount_minor
                ));
            }
            if d.delivered_on > today {
                return violation(format!(
                    "delivered_on {} is after the event was recorded",
                    d.delivered_on
                ));
            }
            Ok(())
        }
        Body::ReceiptAcknowledged(r) => {
            let Some(Item::Delivery(d)) = state.items.get(&r.delivery) else {
                return violation(format!("delivery {} does not exist", r.delivery));
            };
            let Some(Item::Commitment(c)) = state.items.get(&d.commitment) else {
                return violation(format!("commitment {} does not exist", d.commitment));
            };
            if &c.recipient != producer {
                return violation(format!(
                    "only {} (the named recipient) acknowledges delivery {}",
                    c.recipient, r.delivery
                ));
            }
            if let Some(existing) = &d.receipt {
                return violation(format!(
                    "delivery {} is already acknowledged by {existing}",
                    r.delivery
                ));
            }
            if r.quantity_accepted > d.quantity {
                return violation(format!(
                    "quantity_accepted {} exceeds the {} delivered",
                    r.quantity_accepted, d.quantity
                ));
            }
            if r.quantity_accepted < d.quantity && r.discrepancy.is_none() {
                return violation(
                    "a discrepancy note is required when less is accepted than delivered",
                );
            }
            if r.received_on < d.delivered_on || r.received_on > today {
                return violation(format!(
                    "received_on {} must be between delivery ({}) and recording ({today})",
                    r.received_on, d.delivered_on
                ));
            }
            Ok(())
        }
        Body::Amended(ch) => check_change(state, producer, &ch.target, &ch.fields, false, today),
        Body::Corrected(ch) => check_change(state, producer, &ch.target, &ch.fields, true, today),
        Body::Cancelled(x) => {
            let item = owned_item(state, producer, &x.target)?;
            match (item, x.scope) {
                (Item::Need(n), CancelScope::Whole) if !n.cancelled => Ok(()),
                (Item::Offer(o), CancelScope::Whole) if !o.cancelled => Ok(()),
                (Item::Commitment(c), _) if c.cancelled.is_some() => {
                    violation(format!("commitment {} is already cancelled", x.target))
                }
                (Item::Commitment(c), CancelScope::Whole) if c.delivered_quantity > 0 => {
                    violation(format!(
                        "commitment {} has deliveries: cancel its remaining balance instead",
                        x.target
                    ))
                }
                (Item::Commitment(_), _) => Ok(()),
                (Item::Need(_) | Item::Offer(_), CancelScope::Whole) => {
                    violation(format!("{} is already cancelled", x.target))
                }
                (Item::Need(_) | Item::Offer(_), CancelScope::RemainingBalance) => {
                    violation("only commitments have a remaining balance to cancel")
                }
                (other, _) => violation(format!(
                    "a {} cannot be cancelled; correct it instead",
                    other.kind()
                )),
            }
        }
    }
}

fn key_unused(state: &State, key: &crate::keys::PublicKey) -> Result<(), Rejection> {
    match state.members.values().find(|m| m.past_keys.contains(key)) {
        Some(m) => violation(format!("the key is already used by {}", m.member.id)),
        None => Ok(()),
    }
}

fn open_need(state: &State, id: &ItemId) -> Result<(), Rejection> {
    match state.items.get(id) {
        Some(Item::Need(n)) if !n.cancelled => Ok(()),
        Some(Item::Need(_)) => violation(format!("need {id} is cancelled")),
        _ => violation(format!("need {id} does not exist")),
    }
}

fn owned_item<'s>(
    state: &'s State,
    producer: &MemberId,
    id: &ItemId,
) -> Result<&'s Item, Rejection> {
    let Some(item) = state.items.get(id) else {
        return violation(format!("item {id} does not exist"));
    };
    if !id.is_owned_by(producer) {
        return violation(format!(
            "item {id} belongs to {}, not {producer}",
            id.owner()
        ));
    }
    Ok(item)
}

fn check_change(
    state: &State,
    producer: &MemberId,
    target: &ItemId,
    f: &ChangeFields,
    correction: bool,
    today: Date,
) -> Result<(), Rejection> {
    let item = owned_item(state, producer, target)?;
    let only = |allowed: &[&str]| -> Result<(), Rejection> {
        let set = [
            ("quantity", f.quantity.is_some()),
            ("value", f.value.is_some()),
            ("date", f.date.is_some()),
            ("priority", f.priority.is_some()),
            ("tranches", f.tranches.is_some()),
            ("description", f.description.is_some()),
        ];
        match set.iter().find(|(name, on)| *on && !allowed.contains(name)) {
            Some((name, _)) => {
                violation(format!("fields.{name} does not apply to a {}", item.kind()))
            }
            None => Ok(()),
        }
    };
    match item {
        Item::Need(n) => {
            only(&["quantity", "value", "date", "priority", "description"])?;
            if n.cancelled {
                return violation(format!("need {target} is cancelled"));
            }
            Ok(())
        }
        Item::Offer(o) => {
            only(&["quantity", "value", "date", "description"])?;
            if o.cancelled {
                return violation(format!("offer {target} is cancelled"));
            }
            if f.quantity.is_some_and(|q| q < o.committed_quantity) {
                return violation(format!(
                    "quantity below the {} already committed",
                    o.committed_quantity
                ));
            }
            if f.value
                .as_ref()
                .is_some_and(|v| v.eur_minor < o.committed_eur)
            {
                return violation(format!(
                    "value below the EUR {} cents already committed",
                    o.committed_eur
                ));
            }
            Ok(())
        }
        Item::Commitment(c) => {
            only(&["quantity", "value", "tranches", "description"])?;
            if c.cancelled.is_some() {
                return violation(format!("commitment {target} is cancelled"));
            }
            let quantity = f.quantity.unwrap_or(c.quantity);
            let amount = f.value.as_ref().map_or(c.amount_minor, |v| v.amount_minor);
            if let Some(v) = &f.value {
                if v.currency != c.currency {
                    return violation(format!(
                        "value in {}, the commitment is in {}",
                        v.currency, c.currency
                    ));
                }
            }
            if quantity < c.delivered_quantity || amount < c.delivered_amount {
                return violation("the new quantity or value is below what is already delivered");
            }
            if let Some(Item::Offer(o)) = c.offer.as_ref().and_then(|id| state.items.get(id)) {
                let eur = f.value.as_ref().map_or(c.eur_minor, |v| v.eur_minor);
                let others_q = o.committed_quantity.saturating_sub(c.quantity);
                let others_eur = o.committed_eur.saturating_sub(c.eur_minor);
                if o.unit == c.unit && others_q.saturating_add(quantity) > o.quantity {
                    return violation(format!(
                        "commitments on offer {} would reach {} {}, more than the {} offered",
                        c.offer
                            .as_ref()
                            .map(|id| id.to_string())
                            .unwrap_or_default(),
                        others_q.saturating_add(quantity),
                        o.unit,
                        o.quantity
                    ));
                }
                if others_eur.saturating_add(eur) > o.eur_minor {
                    return violation(format!(
                        "commitments on offer {} would reach EUR {} cents, more than the {} offered",
                        c.offer.as_ref().map(|id| id.to_string()).unwrap_or_default(),
                        others_eur.saturating_add(eur),
                        o.eur_minor
                    ));
                }
            }
            let tranches = f.tranches.as_ref().unwrap_or(&c.tranches);
            if f.quantity.is_some() || f.value.is_some() || f.tranches.is_some() {
                check_tranches("commitment", tranches, quantity, amount)
                    .map_err(Rejection::InvalidField)?;
            }
            Ok(())
        }
        Item::Delivery(d) => {
            if !correction {
                return violation("a delivery cannot be amended; use a correction");
            }
            only(&["quantity", "value", "date"])?;
            let Some(Item::Commitment(c)) = state.items.get(&d.commitment) else {
                return violation(format!("commitment {} does not exist", d.commitment));
            };
            let quantity = f.quantity.unwrap_or(d.quantity);
            let amount = f.value.as_ref().map_or(d.amount_minor, |v| v.amount_minor);
            if let Some(v) = &f.value {
                if v.currency != c.currency {
                    return violation(format!(
                        "value in {}, the commitment is in {}",
                        v.currency, c.currency
                    ));
                }
            }
            if (c.delivered_quantity.saturating_sub(d.quantity)).saturating_add(quantity)
                > c.quantity
                || (c.delivered_amount.saturating_sub(d.amount_minor)).saturating_add(amount)
                    > c.amount_minor
            {
                return violation("the corrected delivery would exceed the commitment");
            }
            if let Some(day) = f.date.filter(|day| *day > today) {
                return violation(format!(
                    "fields.date {day} (delivered_on) is after the event was recorded"
                ));
            }
            if let Some(Item::Receipt(r)) = d.receipt.as_ref().and_then(|id| state.items.get(id)) {
                if r.quantity_accepted > quantity {
                    return violation(
                        "the corrected quantity is below what the recipient accepted",
                    );
                }
            }
            Ok(())
        }
        Item::Receipt(r) => {
            if !correction {
                return violation("a receipt cannot be amended; use a correction");
            }
            only(&["quantity", "date", "description"])?;
            let Some(Item::Delivery(d)) = state.items.get(&r.delivery) else {
                return violation(format!("delivery {} does not exist", r.delivery));
            };
            if f.quantity.is_some_and(|q| q > d.quantity) {
                return violation(format!(
                    "quantity accepted above the {} delivered",
                    d.quantity
                ));
            }
            if let Some(day) = f.date {
                if day < d.delivered_on || day > today {
                    return violation(format!(
                        "fields.date {day} (received_on) must be between the delivery ({}) and the day the event was recorded",
                        d.delivered_on
                    ));
                }
            }
            Ok(())
        }
    }
}
