//! The read model: every need, offer, commitment, delivery and receipt with the
//! figures reports need, the change log, and the integrity record. [`Model::fold`]
//! is pure: one judged event in, the model updated. Rejected events only reach
//! the integrity record; they never move a total.

use std::collections::{BTreeMap, HashSet};

use ledger::body::{Body, BodyKind, CancelScope, Modality, Priority, Tranche};
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::event::Event;
use ledger::ids::{EventId, ItemId, MemberId};
use ledger::member::{MemberKind, Role};
use ledger::rules::{Outcome, Rejection};
use serde::{Deserialize, Serialize};

/// A member as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: MemberKind,
    /// Country.
    pub country: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Suspended by the coordinator.
    pub suspended: bool,
}

/// A need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedRow {
    /// Who stated it.
    pub stated_by: MemberId,
    /// Institution in need.
    pub recipient: MemberId,
    /// Category.
    pub category: Category,
    /// OECD DAC 5-digit sector code, if the need gave one.
    pub dac_sector: Option<u32>,
    /// Description.
    pub description: String,
    /// Quantity needed.
    pub quantity: u64,
    /// Unit.
    pub unit: String,
    /// Estimated EUR value (cents).
    pub eur: u64,
    /// Priority.
    pub priority: Priority,
    /// Needed by.
    pub needed_by: Option<Date>,
    /// When stated.
    pub stated_at: Timestamp,
    /// When withdrawn.
    pub cancelled_at: Option<Timestamp>,
}

/// An offer (pledge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRow {
    /// Donor.
    pub donor: MemberId,
    /// Contributor it was made for (company/NGO name).
    pub on_behalf_of: Option<String>,
    /// The contributor's kind and ISO country, when there is one.
    pub contributor: Option<(MemberKind, String)>,
    /// Category.
    pub category: Category,
    /// OECD DAC 5-digit sector code, if the offer gave one.
    pub dac_sector: Option<u32>,
    /// Modality.
    pub modality: Modality,
    /// Quantity.
    pub quantity: u64,
    /// Unit.
    pub unit: String,
    /// Indicative EUR value (cents).
    pub eur: u64,
    /// Needs answered.
    pub answers: Vec<ItemId>,
    /// When made.
    pub made_at: Timestamp,
    /// When cancelled.
    pub cancelled_at: Option<Timestamp>,
}

/// A commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentRow {
    /// Donor.
    pub donor: MemberId,
    /// Offer it came from.
    pub offer: Option<ItemId>,
    /// Needs it covers.
    pub needs: Vec<ItemId>,
    /// Recipient.
    pub recipient: MemberId,
    /// Category.
    pub category: Category,
    /// Description.
    pub description: String,
    /// Quantity.
    pub quantity: u64,
    /// Unit.
    pub unit: String,
    /// Amount in minor units of `currency`.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// EUR (cents).
    pub eur: u64,
    /// Tranches.
    pub tranches: Vec<Tranche>,
    /// When made.
    pub made_at: Timestamp,
    /// Cancellation scope and time.
    pub cancelled: Option<(CancelScope, Timestamp)>,
    /// Deliveries on it, in order.
    pub deliveries: Vec<ItemId>,
}

/// A delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    /// Donor.
    pub donor: MemberId,
    /// Commitment.
    pub commitment: ItemId,
    /// Quantity.
    pub quantity: u64,
    /// Amount in minor units of the commitment's currency.
    pub amount: u64,
    /// EUR (cents).
    pub eur: u64,
    /// Delivery date.
    pub delivered_on: Date,
    /// When recorded.
    pub recorded_at: Timestamp,
    /// Receipt, if acknowledged.
    pub receipt: Option<ItemId>,
}

/// A receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRow {
    /// Recipient.
    pub recipient: MemberId,
    /// Delivery.
    pub delivery: ItemId,
    /// Quantity accepted.
    pub quantity_accepted: u64,
    /// Date received.
    pub received_on: Date,
    /// When recorded.
    pub recorded_at: Timestamp,
    /// Discrepancy note.
    pub discrepancy: Option<String>,
}

/// One amendment, correction or cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    /// Log position.
    pub position: u64,
    /// Event id.
    pub id: EventId,
    /// amended, corrected or cancelled.
    pub kind: BodyKind,
    /// Item changed.
    pub target: ItemId,
    /// Who.
    pub producer: MemberId,
    /// When.
    pub recorded_at: Timestamp,
    /// What changed, in words.
    pub what: String,
    /// Why.
    pub reason: String,
}

/// An event that moved nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// Log position.
    pub position: u64,
    /// Event id (absent for undecodable bytes).
    pub id: Option<EventId>,
    /// Producer named in the envelope.
    pub member: Option<MemberId>,
    /// Its seq.
    pub seq: Option<u64>,
    /// Body kind.
    pub kind: Option<BodyKind>,
    /// Stable reason code (`bad_signature`, `gap`, `equivocation`...).
    pub code: String,
    /// The reason in words.
    pub reason: String,
    /// Whether it occupies its place in the member's chain.
    pub in_chain: bool,
}

/// An entry's outcome as the read model records it ([`Model::outcome_at`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryOutcome<'a> {
    /// Accepted.
    Accepted,
    /// A copy of an event already judged, skipped.
    Duplicate,
    /// Rejected, or bytes that do not decode (`code` "malformed").
    Rejected(&'a RejectedRow),
}

/// The read-model row of one item, whichever its kind: what the projector's
/// store keeps on disk beside the item's rules state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Row {
    /// A need.
    Need(NeedRow),
    /// An offer.
    Offer(OfferRow),
    /// A commitment.
    Commitment(CommitmentRow),
    /// A delivery.
    Delivery(DeliveryRow),
    /// A receipt.
    Receipt(ReceiptRow),
}

/// A borrowed [`Row`]: serializes exactly as the `Row` it borrows.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum RowRef<'a> {
    /// A need.
    Need(&'a NeedRow),
    /// An offer.
    Offer(&'a OfferRow),
    /// A commitment.
    Commitment(&'a CommitmentRow),
    /// A delivery.
    Delivery(&'a DeliveryRow),
    /// A receipt.
    Receipt(&'a ReceiptRow),
}

/// The whole read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// Last log position folded.
    pub position: u64,
    /// Ledger origin.
    pub origin: Option<String>,
    /// Members.
    pub members: BTreeMap<MemberId, MemberRow>,
    /// Needs.
    pub needs: BTreeMap<ItemId, NeedRow>,
    /// Offers.
    pub offers: BTreeMap<ItemId, OfferRow>,
    /// Commitments.
    pub commitments: BTreeMap<ItemId, CommitmentRow>,
    /// Deliveries.
    pub deliveries: BTreeMap<ItemId, DeliveryRow>,
    /// Receipts.
    pub receipts: BTreeMap<ItemId, ReceiptRow>,
    /// Amendments, corrections, cancellations in log order.
    pub changes: Vec<ChangeRow>,
    /// Chain heads: member -> (seq, id).
    pub heads: BTreeMap<MemberId, (u64, EventId)>,
    /// Rejected and malformed events in log order.
    pub rejected: Vec<RejectedRow>,
    /// Events accepted.
    pub accepted: u64,
    /// Duplicates skipped.
    pub duplicates: u64,
    /// The positions of the duplicates skipped, in log order (not part of the
    /// digest: what `log` shows as an entry's outcome).
    pub duplicate_positions: Vec<u64>,
    /// Latest `recorded_at` among accepted events: the log's own "now".
    pub latest: Timestamp,
    /// Changes kept in the projector's changes file, before those in
    /// `changes` (0 in a whole model: [`crate::run::Projector::model`]).
    pub changes_stored: u64,
    /// The ids of `rejected`, indexed as rows arrive (rebuilt after a load).
    #[serde(skip)]
    rejected_ids: RejectedIndex,
}

/// The ids of the rejected rows, so that a repeated out-of-chain reject is found
/// without scanning them all (a flood of forgeries would make the scan quadratic).
/// Derived from `rejected`, so not part of the model's value: it never makes two
/// models unequal.
#[derive(Debug, Clone, Default)]
struct RejectedIndex {
    ids: HashSet<EventId>,
    /// Rows of `rejected` indexed so far.
    indexed: usize,
}

impl PartialEq for RejectedIndex {
    fn eq(&self, _: &RejectedIndex) -> bool {
        true
    }
}

impl Eq for RejectedIndex {}

impl Model {
    /// Whether a rejected row has this id (indexing the rows added since the last call).
    fn rejected_before(&mut self, id: &EventId) -> bool {
        let index = &mut self.rejected_ids;
        if index.indexed > self.rejected.len() {
            // Rows were taken out behind the index's back: index them again.
            *index = RejectedIndex::default();
        }
        for row in &self.rejected[index.indexed..] {
            if let Some(id) = row.id {
                index.ids.insert(id);
            }
        }
        index.indexed = self.rejected.len();
        index.ids.contains(id)
    }
}

impl Model {
    /// Takes the row of `id` out of its table, if any.
    pub fn take_row(&mut self, id: &ItemId) -> Option<Row> {
        if let Some(r) = self.needs.remove(id) {
            Some(Row::Need(r))
        } else if let Some(r) = self.offers.remove(id) {
            Some(Row::Offer(r))
        } else if let Some(r) = self.commitments.remove(id) {
            Some(Row::Commitment(r))
        } else if let Some(r) = self.deliveries.remove(id) {
            Some(Row::Delivery(r))
        } else {
            self.receipts.remove(id).map(Row::Receipt)
        }
    }

    /// A copy of the row of `id`, if one of the five tables has it.
    pub fn row(&self, id: &ItemId) -> Option<Row> {
        if let Some(r) = self.needs.get(id) {
            Some(Row::Need(r.clone()))
        } else if let Some(r) = self.offers.get(id) {
            Some(Row::Offer(r.clone()))
        } else if let Some(r) = self.commitments.get(id) {
            Some(Row::Commitment(r.clone()))
        } else if let Some(r) = self.deliveries.get(id) {
            Some(Row::Delivery(r.clone()))
        } else {
            self.receipts.get(id).cloned().map(Row::Receipt)
        }
    }

    /// Puts a row into its table.
    pub fn put_row(&mut self, id: ItemId, row: Row) {
        match row {
            Row::Need(r) => drop(self.needs.insert(id, r)),
            Row::Offer(r) => drop(self.offers.insert(id, r)),
            Row::Commitment(r) => drop(self.commitments.insert(id, r)),
            Row::Delivery(r) => drop(self.deliveries.insert(id, r)),
            Row::Receipt(r) => drop(self.receipts.insert(id, r)),
        }
    }

    /// The five item tables, taken out (the rest of the model stays).
    pub fn take_tables(&mut self) -> Model {
        let mut tables = Model::new();
        std::mem::swap(&mut tables.needs, &mut self.needs);
        std::mem::swap(&mut tables.offers, &mut self.offers);
        std::mem::swap(&mut tables.commitments, &mut self.commitments);
        std::mem::swap(&mut tables.deliveries, &mut self.deliveries);
        std::mem::swap(&mut tables.receipts, &mut self.receipts);
        tables
    }

    /// Every row of the five item tables, table by table.
    pub fn rows(&self) -> impl Iterator<Item = (&ItemId, RowRef<'_>)> {
        let needs = self.needs.iter().map(|(id, r)| (id, RowRef::Need(r)));
        let offers = self.offers.iter().map(|(id, r)| (id, RowRef::Offer(r)));
        let commitments = self
            .commitments
            .iter()
            .map(|(id, r)| (id, RowRef::Commitment(r)));
        let deliveries = self
            .deliveries
            .iter()
            .map(|(id, r)| (id, RowRef::Delivery(r)));
        let receipts = self.receipts.iter().map(|(id, r)| (id, RowRef::Receipt(r)));
        needs
            .chain(offers)
            .chain(commitments)
            .chain(deliveries)
            .chain(receipts)
    }

    /// Whether one of the five item tables has a row for `id`.
    pub fn has_row(&self, id: &ItemId) -> bool {
        self.needs.contains_key(id)
            || self.offers.contains_key(id)
            || self.commitments.contains_key(id)
            || self.deliveries.contains_key(id)
            || self.receipts.contains_key(id)
    }

    /// Whether the five item tables are empty.
    pub fn tables_empty(&self) -> bool {
        self.needs.is_empty()
            && self.offers.is_empty()
            && self.commitments.is_empty()
            && self.deliveries.is_empty()
            && self.receipts.is_empty()
    }
}

impl Model {
    /// An empty model.
    pub fn new() -> Model {
        Model::default()
    }

    /// Records bytes at `position` that do not decode, on `member`'s subject
    /// (`None` where the log has no subjects).
    pub fn fold_malformed(&mut self, position: u64, member: Option<MemberId>, reason: String) {
        self.position = position;
        self.rejected.push(RejectedRow {
            position,
            id: None,
            member,
            seq: None,
            kind: None,
            code: "malformed".into(),
            reason,
            in_chain: false,
        });
    }

    /// What the projector decided for the entry at `position` (folded
    /// already): rejected (with its row: malformed bytes too), a duplicate
    /// skipped, or accepted.
    pub fn outcome_at(&self, position: u64) -> EntryOutcome<'_> {
        if let Ok(i) = self
            .rejected
            .binary_search_by_key(&position, |r| r.position)
        {
            return EntryOutcome::Rejected(&self.rejected[i]);
        }
        if self.duplicate_positions.binary_search(&position).is_ok() {
            return EntryOutcome::Duplicate;
        }
        EntryOutcome::Accepted
    }

    /// Folds one judged event at `position`.
    pub fn fold(&mut self, position: u64, event: &Event, outcome: &Outcome) {
        self.position = position;
        let env = event.envelope();
        match outcome {
            Outcome::Duplicate => {
                self.duplicates += 1;
                self.duplicate_positions.push(position);
                return;
            }
            Outcome::Rejected(r) => {
                // The same out-of-chain event (a forgery, a gap) seen again is a
                // duplicate; rejected events are rare, so a scan is cheap.
                if !r.in_chain() && self.rejected_before(&event.id()) {
                    self.duplicates += 1;
                    self.duplicate_positions.push(position);
                    return;
                }
                if r.in_chain() {
                    self.heads
                        .insert(env.producer.clone(), (env.seq, event.id()));
                }
                // Attributed to the member whose subject carries it.
                let member = match r {
                    Rejection::WrongSubject { subject, .. } => subject.clone(),
                    _ => env.producer.clone(),
                };
                self.rejected.push(RejectedRow {
                    position,
                    id: Some(event.id()),
                    member: Some(member),
                    seq: Some(env.seq),
                    kind: Some(env.body.kind()),
                    code: r.code().into(),
                    reason: r.to_string(),
                    in_chain: r.in_chain() && self.origin.is_some(),
                });
                return;
            }
            Outcome::Accepted => {}
        }
        self.accepted += 1;
        self.heads
            .insert(env.producer.clone(), (env.seq, event.id()));
        self.latest = self.latest.max(env.recorded_at);
        let at = env.recorded_at;
        let producer = &env.producer;
        match &env.body {
            Body::Genesis(g) => {
                self.origin = Some(g.origin.clone());
                for m in std::iter::once(&g.coordinator).chain(&g.members) {
                    self.admit(m);
                }
            }
            Body::MemberAdmitted(a) => self.admit(&a.member),
            Body::KeyRotated(_) | Body::KeyRevoked(_) => {}
            Body::MemberSuspended(s) => {
                if let Some(m) = self.members.get_mut(&s.member) {
                    m.suspended = true;
                }
            }
            Body::NeedStated(n) => {
                self.needs.insert(
                    n.need.clone(),
                    NeedRow {
                        stated_by: producer.clone(),
                        recipient: n.recipient.clone(),
                        category: n.category,
                        dac_sector: n.dac_sector,
                        description: n.description.clone(),
                        quantity: n.quantity.amount,
                        unit: n.quantity.unit.clone(),
                        eur: n.estimated_value.eur_minor,
                        priority: n.priority,
                        needed_by: n.needed_by,
                        stated_at: at,
                        cancelled_at: None,
                    },
                );
            }
            Body::OfferMade(o) => {
                self.offers.insert(
                    o.offer.clone(),
                    OfferRow {
                        donor: producer.clone(),
                        on_behalf_of: o.on_behalf_of.as_ref().map(|c| c.name.clone()),
                        contributor: o.on_behalf_of.as_ref().map(|c| (c.kind, c.country.clone())),
                        category: o.category,
                        dac_sector: o.dac_sector,
                        modality: o.modality,
                        quantity: o.quantity.amount,
                        unit: o.quantity.unit.clone(),
                        eur: o.value.eur_minor,
                        answers: o.answers.clone(),
                        made_at: at,
                        cancelled_at: None,
                    },
                );
            }
            Body::CommitmentMade(c) => {
                self.commitments.insert(
                    c.commitment.clone(),
                    CommitmentRow {
                        donor: producer.clone(),
                        offer: c.offer.clone(),
                        needs: c.needs.clone(),
                        recipient: c.recipient.clone(),
                        category: c.category,
                        description: c.description.clone(),
                        quantity: c.quantity.amount,
                        unit: c.quantity.unit.clone(),
                        amount: c.value.amount_minor,
                        currency: c.value.currency.clone(),
                        eur: c.value.eur_minor,
                        tranches: c.tranches.clone(),
                        made_at: at,
                        cancelled: None,
                        deliveries: vec![],
                    },
                );
            }
            Body::DeliveryRecorded(d) => {
                if let Some(c) = self.commitments.get_mut(&d.commitment) {
                    c.deliveries.push(d.delivery.clone());
                }
                self.deliveries.insert(
                    d.delivery.clone(),
                    DeliveryRow {
                        donor: producer.clone(),
                        commitment: d.commitment.clone(),
                        quantity: d.quantity,
                        amount: d.value.amount_minor,
                        eur: d.value.eur_minor,
                        delivered_on: d.delivered_on,
                        recorded_at: at,
                        receipt: None,
                    },
                );
            }
            Body::ReceiptAcknowledged(r) => {
                if let Some(d) = self.deliveries.get_mut(&r.delivery) {
                    d.receipt = Some(r.receipt.clone());
                }
                self.receipts.insert(
                    r.receipt.clone(),
                    ReceiptRow {
                        recipient: producer.clone(),
                        delivery: r.delivery.clone(),
                        quantity_accepted: r.quantity_accepted,
                        received_on: r.received_on,
                        recorded_at: at,
                        discrepancy: r.discrepancy.clone(),
                    },
                );
            }
            Body::Amended(ch) | Body::Corrected(ch) => {
                let what = self.change(&ch.target, &ch.fields);
                self.changes.push(ChangeRow {
                    position,
                    id: event.id(),
                    kind: env.body.kind(),
                    target: ch.target.clone(),
                    producer: producer.clone(),
                    recorded_at: at,
                    what,
                    reason: ch.reason.clone(),
                });
            }
            Body::Cancelled(x) => {
                if let Some(n) = self.needs.get_mut(&x.target) {
                    n.cancelled_at = Some(at);
                } else if let Some(o) = self.offers.get_mut(&x.target) {
                    o.cancelled_at = Some(at);
                } else if let Some(c) = self.commitments.get_mut(&x.target) {
                    c.cancelled = Some((x.scope, at));
                }
                let what = match x.scope {
                    CancelScope::Whole => "cancelled".to_string(),
                    CancelScope::RemainingBalance => "remaining balance cancelled".to_string(),
                };
                self.changes.push(ChangeRow {
                    position,
                    id: event.id(),
                    kind: BodyKind::Cancelled,
                    target: x.target.clone(),
                    producer: producer.clone(),
                    recorded_at: at,
                    what,
                    reason: x.reason.clone(),
                });
            }
        }
    }

    fn admit(&mut self, m: &ledger::member::Member) {
        self.members.insert(
            m.id.clone(),
            MemberRow {
                name: m.name.clone(),
                kind: m.kind,
                country: m.country.clone(),
                roles: m.roles.clone(),
                suspended: false,
            },
        );
    }

    /// Applies new values to an item; returns a description of what changed.
    fn change(&mut self, target: &ItemId, f: &ledger::body::ChangeFields) -> String {
        let mut what = Vec::new();
        let mut note =
            |name: &str, old: String, new: String| what.push(format!("{name} {old} -> {new}"));
        if let Some(n) = self.needs.get_mut(target) {
            if let Some(q) = f.quantity {
                note("quantity", n.quantity.to_string(), q.to_string());
                n.quantity = q;
            }
            if let Some(v) = &f.value {
                note("eur", cents(n.eur), cents(v.eur_minor));
                n.eur = v.eur_minor;
            }
            if let Some(d) = f.date {
                note("needed_by", opt(n.needed_by), d.to_string());
                n.needed_by = Some(d);
            }
            if let Some(p) = f.priority {
                note(
                    "priority",
                    format!("{:?}", n.priority).to_lowercase(),
                    format!("{p:?}").to_lowercase(),
                );
                n.priority = p;
            }
            if let Some(d) = &f.description {
                note("description", String::new(), d.clone());
                n.description = d.clone();
            }
        } else if let Some(o) = self.offers.get_mut(target) {
            if let Some(q) = f.quantity {
                note("quantity", o.quantity.to_string(), q.to_string());
                o.quantity = q;
            }
            if let Some(v) = &f.value {
                note("eur", cents(o.eur), cents(v.eur_minor));
                o.eur = v.eur_minor;
            }
            if let Some(d) = f.date {
                note("valid_until", String::new(), d.to_string());
            }
        } else if let Some(c) = self.commitments.get_mut(target) {
            if let Some(q) = f.quantity {
                note("quantity", c.quantity.to_string(), q.to_string());
                c.quantity = q;
            }
            if let Some(v) = &f.value {
                note("eur", cents(c.eur), cents(v.eur_minor));
                c.amount = v.amount_minor;
                c.eur = v.eur_minor;
            }
            if let Some(ts) = &f.tranches {
                note(
                    "tranches",
                    c.tranches.len().to_string(),
                    ts.len().to_string(),
                );
                c.tranches = ts.clone();
            }
            if let Some(d) = &f.description {
                c.description = d.clone();
                note("description", String::new(), d.clone());
            }
        } else if let Some(d) = self.deliveries.get_mut(target) {
            if let Some(q) = f.quantity {
                note("quantity", d.quantity.to_string(), q.to_string());
                d.quantity = q;
            }
            if let Some(v) = &f.value {
                note("eur", cents(d.eur), cents(v.eur_minor));
                d.amount = v.amount_minor;
                d.eur = v.eur_minor;
            }
            if let Some(day) = f.date {
                note("delivered_on", d.delivered_on.to_string(), day.to_string());
                d.delivered_on = day;
            }
        } else if let Some(r) = self.receipts.get_mut(target) {
            if let Some(q) = f.quantity {
                note(
                    "quantity_accepted",
                    r.quantity_accepted.to_string(),
                    q.to_string(),
                );
                r.quantity_accepted = q;
            }
            if let Some(day) = f.date {
                note("received_on", r.received_on.to_string(), day.to_string());
                r.received_on = day;
            }
            if let Some(d) = &f.description {
                note("discrepancy", String::new(), d.clone());
                r.discrepancy = Some(d.clone());
            }
        }
        what.join("; ")
    }
}

fn cents(c: u64) -> String {
    ledger::money::Eur(c as u128).to_string()
}

fn opt(d: Option<Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
}
