//! The ledger state the rules need: members and keys, per-member chains, and the
//! live items (needs, offers, commitments, deliveries, receipts) with the totals
//! that bound what may still be committed, delivered or accepted.
//!
//! A [`State`] is a plain value. [`State::apply`] folds one evaluated event into it;
//! `rules::evaluate` decides the outcome. Both are pure.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::body::{Body, CancelScope, ChangeFields, Tranche};
use crate::calendar::{Date, Timestamp};
use crate::event::Event;
use crate::ids::{EventId, ItemId, MemberId};
use crate::keys::PublicKey;
use crate::member::{Member, Role};
use crate::rules::Outcome;

/// A member as the ledger currently knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    /// The member as admitted (its `key` is the key at admission).
    pub member: Member,
    /// The key that signs its next event; `None` after a revocation until a rotation.
    pub active_key: Option<PublicKey>,
    /// Every key the member has held, oldest first.
    pub past_keys: Vec<PublicKey>,
    /// Whether the coordinator suspended it.
    pub suspended: bool,
}

/// A member's hash chain: the ids of its events in `seq` order.
///
/// A state built in memory holds every id. A projector keeps the ids on disk
/// instead: it takes the ones not yet saved ([`Chain::take_unsaved`]) and,
/// before an event whose `seq` names a saved id is judged, loads that id
/// ([`Chain::needs`], [`Chain::load`]), as it loads the items an event names.
/// The rules see the same ids either way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The last `seq` (0 when empty).
    len: u64,
    /// The ids of the last `ids.len()` seqs, oldest first (all of them for a
    /// state built in memory).
    ids: Vec<EventId>,
    /// The id at `len` (zero when empty), kept when `ids` is taken.
    head: EventId,
    /// Ids of earlier seqs loaded for the events being judged.
    loaded: BTreeMap<u64, EventId>,
    /// `recorded_at` of the last event in the chain.
    pub last_recorded: Timestamp,
}

impl Chain {
    /// The last `seq` (0 when empty).
    pub fn seq(&self) -> u64 {
        self.len
    }
    /// The last id (zero when empty): what the next event's `prev` must be.
    pub fn head(&self) -> EventId {
        self.head
    }
    /// The first seq whose id is held in `ids`.
    fn first_held(&self) -> u64 {
        self.len + 1 - self.ids.len() as u64
    }
    /// The id at `seq`, if the chain has reached it. For a chain whose saved
    /// ids were taken, `seq` must not be one [`Chain::needs`] names.
    pub fn id_at(&self, seq: u64) -> Option<EventId> {
        if seq == 0 || seq > self.len {
            return None;
        }
        if seq == self.len {
            return Some(self.head);
        }
        let first = self.first_held();
        if seq >= first {
            return self.ids.get((seq - first) as usize).copied();
        }
        self.loaded.get(&seq).copied()
    }
    /// Whether the id at `seq` was taken out and must be loaded before an
    /// event with that `seq` is judged.
    pub fn needs(&self, seq: u64) -> bool {
        seq > 0 && seq < self.first_held() && seq < self.len && !self.loaded.contains_key(&seq)
    }
    /// Holds the id at `seq` (read back from where the taken ids were saved)
    /// until the next [`Chain::take_unsaved`].
    pub fn load(&mut self, seq: u64, id: EventId) {
        self.loaded.insert(seq, id);
    }
    /// Appends the next id.
    pub fn push(&mut self, id: EventId) {
        if self.ids.len() == self.ids.capacity() {
            // Grow by a quarter, not double: a chain built in memory holds every
            // id (32 MB at 1M events), so doubling would leave up to as much
            // again unused.
            self.ids.reserve_exact(self.ids.len() / 4 + 64);
        }
        self.ids.push(id);
        self.len += 1;
        self.head = id;
    }
    /// The ids not taken before, with the seq of the first: what the caller
    /// saves. The chain keeps its length and head; loaded ids are dropped.
    pub fn take_unsaved(&mut self) -> (u64, Vec<EventId>) {
        self.loaded.clear();
        let first = self.first_held();
        (first, std::mem::take(&mut self.ids))
    }
    /// Ids taken out so far (the chain's length less the ids it holds).
    pub fn saved_len(&self) -> u64 {
        self.first_held() - 1
    }
}

/// A need and how much of it is covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedState {
    /// The institution in need.
    pub recipient: MemberId,
    /// Quantity needed.
    pub quantity: u64,
    /// Whether withdrawn.
    pub cancelled: bool,
}

/// An offer and how much of it is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferState {
    /// Quantity offered.
    pub quantity: u64,
    /// Unit.
    pub unit: String,
    /// EUR value offered (cents).
    pub eur_minor: u64,
    /// Last valid day.
    pub valid_until: Option<Date>,
    /// Quantity committed from it so far (commitments in the same unit).
    pub committed_quantity: u64,
    /// EUR committed from it so far.
    pub committed_eur: u64,
    /// Whether cancelled.
    pub cancelled: bool,
}

/// A commitment and how much of it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentState {
    /// The offer it came from.
    pub offer: Option<ItemId>,
    /// The recipient institution.
    pub recipient: MemberId,
    /// Quantity committed.
    pub quantity: u64,
    /// Unit.
    pub unit: String,
    /// Amount committed, minor units of `currency`.
    pub amount_minor: u64,
    /// Currency.
    pub currency: String,
    /// EUR equivalent committed.
    pub eur_minor: u64,
    /// Expected tranches.
    pub tranches: Vec<Tranche>,
    /// Quantity delivered so far.
    pub delivered_quantity: u64,
    /// Amount delivered so far (minor units of `currency`).
    pub delivered_amount: u64,
    /// Cancellation, if any.
    pub cancelled: Option<CancelScope>,
}

/// A delivery and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// The commitment delivered on.
    pub commitment: ItemId,
    /// Quantity delivered.
    pub quantity: u64,
    /// Amount delivered (minor units of the commitment's currency).
    pub amount_minor: u64,
    /// Date delivered.
    pub delivered_on: Date,
    /// The receipt acknowledging it, if any.
    pub receipt: Option<ItemId>,
}

/// A receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptState {
    /// The delivery acknowledged.
    pub delivery: ItemId,
    /// Quantity accepted.
    pub quantity_accepted: u64,
}

/// Any item, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// A need.
    Need(NeedState),
    /// An offer.
    Offer(OfferState),
    /// A commitment.
    Commitment(CommitmentState),
    /// A delivery.
    Delivery(DeliveryState),
    /// A receipt.
    Receipt(ReceiptState),
}

impl Item {
    /// The items the rules or [`State::apply`] consult when an event names this
    /// one: a commitment's offer, a delivery's commitment and receipt, a
    /// receipt's delivery. Closed over with [`crate::body::Body::named_items`],
    /// they are every item an event's verdict and effect can depend on.
    pub fn links(&self) -> Vec<&ItemId> {
        match self {
            Item::Need(_) | Item::Offer(_) => vec![],
            Item::Commitment(c) => c.offer.iter().collect(),
            Item::Delivery(d) => std::iter::once(&d.commitment).chain(&d.receipt).collect(),
            Item::Receipt(r) => vec![&r.delivery],
        }
    }

    /// The item's kind as a word.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Need(_) => "need",
            Item::Offer(_) => "offer",
            Item::Commitment(_) => "commitment",
            Item::Delivery(_) => "delivery",
            Item::Receipt(_) => "receipt",
        }
    }
}

/// Everything the rules need to judge the next event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The ledger origin, set by genesis.
    pub origin: Option<String>,
    /// The coordinator, set by genesis.
    pub coordinator: Option<MemberId>,
    /// Members by id.
    pub members: BTreeMap<MemberId, MemberState>,
    /// Chains by member (only validly signed, correctly linked events).
    pub chains: HashMap<MemberId, Chain>,
    /// Items by id.
    pub items: HashMap<ItemId, Item>,
    /// Events evaluated so far (accepted, rejected or refused; duplicates excluded).
    pub evaluated: u64,
}

impl State {
    /// An empty state: before genesis.
    pub fn new() -> State {
        State::default()
    }

    /// The members with the coordinator role, who sign the log's checkpoints.
    pub fn coordinators(&self) -> impl Iterator<Item = (&MemberId, &MemberState)> {
        self.members
            .iter()
            .filter(|(_, m)| m.member.roles.contains(&Role::Coordinator))
    }

    /// Every key a coordinator has held (active or rotated away, with its
    /// member id): the keys a stored checkpoint may be signed with. Only for
    /// checkpoints whose root is also checked against the log, so that a key
    /// rotated away can vouch only for the truth.
    pub fn coordinator_keys_ever(&self) -> impl Iterator<Item = (&MemberId, PublicKey)> {
        // `past_keys` holds every key a member has held, the active one included.
        self.coordinators()
            .flat_map(|(id, m)| m.past_keys.iter().map(move |k| (id, *k)))
    }

    /// The key that must sign `member`'s next event.
    pub fn active_key(&self, member: &MemberId) -> Option<PublicKey> {
        self.members.get(member).and_then(|m| m.active_key)
    }

    /// The member's chain (empty if it has none yet). Borrowed: a chain holds
    /// every id of the member's events, so copying it per event would be quadratic.
    pub fn chain(&self, member: &MemberId) -> &Chain {
        static EMPTY: Chain = Chain {
            len: 0,
            ids: Vec::new(),
            head: EventId::ZERO,
            loaded: BTreeMap::new(),
            last_recorded: Timestamp(0),
        };
        self.chains.get(member).unwrap_or(&EMPTY)
    }

    /// `(seq, id)` of the member's chain head; `(0, zero)` before its first event.
    pub fn head(&self, member: &MemberId) -> (u64, EventId) {
        self.chains
            .get(member)
            .map(|c| (c.seq(), c.head()))
            .unwrap_or((0, EventId::ZERO))
    }

    /// Whether `member` is admitted and holds `role`.
    pub fn has_role(&self, member: &MemberId, role: Role) -> bool {
        self.members
            .get(member)
            .is_some_and(|m| m.member.has_role(role))
    }

    /// Folds an evaluated event into the state.
    ///
    /// Accepted events change members and items; events that occupy their place in
    /// the chain (accepted, or validly signed but rejected) extend the chain.
    pub fn apply(&mut self, event: &Event, outcome: &Outcome) {
        if matches!(outcome, Outcome::Duplicate) {
            return;
        }
        self.evaluated += 1;
        let env = event.envelope();
        // Before genesis nothing but the genesis itself enters a chain: keys are unknown.
        let before_genesis = self.origin.is_none();
        if outcome.in_chain() && !(before_genesis && outcome != &Outcome::Accepted) {
            let chain = self.chains.entry(env.producer.clone()).or_default();
            chain.push(event.id());
            // A timestamp rejected as backwards does not move the chain's clock.
            let bad_time = matches!(
                outcome,
                Outcome::Rejected(
                    crate::rules::Rejection::FutureTimestamp { .. }
                        | crate::rules::Rejection::TimeWentBack { .. }
                )
            );
            if !bad_time {
                chain.last_recorded = chain.last_recorded.max(env.recorded_at);
            }
        }
        if !matches!(outcome, Outcome::Accepted) {
            return;
        }
        match &env.body {
            Body::Genesis(g) => {
                self.origin = Some(g.origin.clone());
                self.coordinator = Some(g.coordinator.id.clone());
                for m in std::iter::once(&g.coordinator).chain(&g.members) {
                    self.admit(m.clone());
                }
            }
            Body::MemberAdmitted(a) => self.admit(a.member.clone()),
            Body::KeyRotated(k) => {
                if let Some(m) = self.members.get_mut(&k.member) {
                    m.active_key = Some(k.new_key);
                    m.past_keys.push(k.new_key);
                }
            }
            Body::KeyRevoked(k) => {
                if let Some(m) = self.members.get_mut(&k.member) {
                    m.active_key = None;
                }
            }
            Body::MemberSuspended(s) => {
                if let Some(m) = self.members.get_mut(&s.member) {
                    m.suspended = true;
                }
            }
            Body::NeedStated(n) => {
                self.items.insert(
                    n.need.clone(),
                    Item::Need(NeedState {
                        recipient: n.recipient.clone(),
                        quantity: n.quantity.amount,
                        cancelled: false,
                    }),
                );
            }
            Body::OfferMade(o) => {
                self.items.insert(
                    o.offer.clone(),
                    Item::Offer(OfferState {
                        quantity: o.quantity.amount,
                        unit: o.quantity.unit.clone(),
                        eur_minor: o.value.eur_minor,
                        valid_until: o.valid_until,
                        committed_quantity: 0,
                        committed_eur: 0,
                        cancelled: false,
                    }),
                );
            }
            Body::CommitmentMade(c) => {
                if let Some(Item::Offer(o)) = c.offer.as_ref().and_then(|id| self.items.get_mut(id))
                {
                    if o.unit == c.quantity.unit {
                        o.committed_quantity =
                            o.committed_quantity.saturating_add(c.quantity.amount);
                    }
                    o.committed_eur = o.committed_eur.saturating_add(c.value.eur_minor);
                }
                self.items.insert(
                    c.commitment.clone(),
                    Item::Commitment(CommitmentState {
                        offer: c.offer.clone(),
                        recipient: c.recipient.clone(),
                        quantity: c.quantity.amount,
                        unit: c.quantity.unit.clone(),
                        amount_minor: c.value.amount_minor,
                        currency: c.value.currency.clone(),
                        eur_minor: c.value.eur_minor,
                        tranches: c.tranches.clone(),
                        delivered_quantity: 0,
                        delivered_amount: 0,
                        cancelled: None,
                    }),
                );
            }
            Body::DeliveryRecorded(d) => {
                if let Some(Item::Commitment(c)) = self.items.get_mut(&d.commitment) {
                    c.delivered_quantity = c.delivered_quantity.saturating_add(d.quantity);
                    c.delivered_amount = c.delivered_amount.saturating_add(d.value.amount_minor);
                }
                self.items.insert(
                    d.delivery.clone(),
                    Item::Delivery(DeliveryState {
                        commitment: d.commitment.clone(),
                        quantity: d.quantity,
                        amount_minor: d.value.amount_minor,
                        delivered_on: d.delivered_on,
                        receipt: None,
                    }),
                );
            }
            Body::ReceiptAcknowledged(r) => {
                if let Some(Item::Delivery(d)) = self.items.get_mut(&r.delivery) {
                    d.receipt = Some(r.receipt.clone());
                }
                self.items.insert(
                    r.receipt.clone(),
                    Item::Receipt(ReceiptState {
                        delivery: r.delivery.clone(),
                        quantity_accepted: r.quantity_accepted,
                    }),
                );
            }
            Body::Amended(ch) | Body::Corrected(ch) => self.change(&ch.target, &ch.fields),
            Body::Cancelled(x) => {
                // What a cancelled commitment gives back to its offer: the part not delivered.
                let mut released: Option<(ItemId, String, u64, u64)> = None;
                match self.items.get_mut(&x.target) {
                    Some(Item::Need(n)) => n.cancelled = true,
                    Some(Item::Offer(o)) => o.cancelled = true,
                    Some(Item::Commitment(c)) => {
                        c.cancelled = Some(x.scope);
                        let delivered_eur = if c.amount_minor == 0 {
                            0
                        } else {
                            (c.eur_minor as u128 * c.delivered_amount.min(c.amount_minor) as u128
                                / c.amount_minor as u128) as u64
                        };
                        let (q, eur) = match x.scope {
                            CancelScope::Whole => (c.quantity, c.eur_minor),
                            CancelScope::RemainingBalance => (
                                c.quantity.saturating_sub(c.delivered_quantity),
                                c.eur_minor.saturating_sub(delivered_eur),
                            ),
                        };
                        if let Some(offer) = &c.offer {
                            released = Some((offer.clone(), c.unit.clone(), q, eur));
                        }
                    }
                    _ => {}
                }
                if let Some((offer, unit, q, eur)) = released {
                    if let Some(Item::Offer(o)) = self.items.get_mut(&offer) {
                        if o.unit == unit {
                            o.committed_quantity = o.committed_quantity.saturating_sub(q);
                        }
                        o.committed_eur = o.committed_eur.saturating_sub(eur);
                    }
                }
            }
        }
    }

    fn admit(&mut self, member: Member) {
        let key = member.key;
        self.members.insert(
            member.id.clone(),
            MemberState {
                member,
                active_key: Some(key),
                past_keys: vec![key],
                suspended: false,
            },
        );
    }

    /// Applies accepted new values; totals of related items follow.
    fn change(&mut self, target: &ItemId, f: &ChangeFields) {
        // Deltas that propagate to the parent item.
        let mut parent_delta: Option<(ItemId, i128, i128)> = None;
        // For a commitment: its unit, since the offer's committed quantity counts only the same unit.
        let mut same_unit: Option<String> = None;
        match self.items.get_mut(target) {
            Some(Item::Need(n)) => {
                if let Some(q) = f.quantity {
                    n.quantity = q;
                }
            }
            Some(Item::Offer(o)) => {
                if let Some(q) = f.quantity {
                    o.quantity = q;
                }
                if let Some(v) = &f.value {
                    o.eur_minor = v.eur_minor;
                }
                if let Some(d) = f.date {
                    o.valid_until = Some(d);
                }
            }
            Some(Item::Commitment(c)) => {
                let (old_q, old_eur) = (c.quantity, c.eur_minor);
                if let Some(q) = f.quantity {
                    c.quantity = q;
                }
                if let Some(v) = &f.value {
                    c.amount_minor = v.amount_minor;
                    c.eur_minor = v.eur_minor;
                }
                if let Some(ts) = &f.tranches {
                    c.tranches = ts.clone();
                }
                if let Some(offer) = &c.offer {
                    parent_delta = Some((
                        offer.clone(),
                        c.quantity as i128 - old_q as i128,
                        c.eur_minor as i128 - old_eur as i128,
                    ));
                    same_unit = Some(c.unit.clone());
                }
            }
            Some(Item::Delivery(d)) => {
                let (old_q, old_a) = (d.quantity, d.amount_minor);
                if let Some(q) = f.quantity {
                    d.quantity = q;
                }
                if let Some(v) = &f.value {
                    d.amount_minor = v.amount_minor;
                }
                if let Some(day) = f.date {
                    d.delivered_on = day;
                }
                parent_delta = Some((
                    d.commitment.clone(),
                    d.quantity as i128 - old_q as i128,
                    d.amount_minor as i128 - old_a as i128,
                ));
            }
            Some(Item::Receipt(r)) => {
                if let Some(q) = f.quantity {
                    r.quantity_accepted = q;
                }
            }
            None => {}
        }
        let add = |x: u64, d: i128| (x as i128 + d).max(0) as u64;
        if let Some((parent, dq, dv)) = parent_delta {
            match self.items.get_mut(&parent) {
                Some(Item::Offer(o)) => {
                    if same_unit.as_ref() == Some(&o.unit) {
                        o.committed_quantity = add(o.committed_quantity, dq);
                    }
                    o.committed_eur = add(o.committed_eur, dv);
                }
                Some(Item::Commitment(c)) => {
                    c.delivered_quantity = add(c.delivered_quantity, dq);
                    c.delivered_amount = add(c.delivered_amount, dv);
                }
                _ => {}
            }
        }
    }
}
