//! Event bodies: what an event says. The order of the [`Body`] variants and of
//! every struct's fields is part of the signed encoding and must never change;
//! new bodies are appended at the end.
//!
//! [`Body::validate`] holds the static checks (field formats and internal
//! consistency) that need no ledger state; `rules` holds the rest.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Date;
use crate::category::Category;
use crate::ids::{Digest, ItemId, MemberId};
use crate::keys::PublicKey;
use crate::member::{member_vkey, Member, MemberKind, Role};
use crate::money::{Money, Quantity};

/// Longest description or note, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most needs an offer may answer or a commitment may cover; most tranches.
pub const MAX_LIST: usize = 100;
/// Most members in a genesis event.
pub const MAX_MEMBERS: usize = 1000;

/// The typed content of an event. JSON form: `{"<kind>": {..fields..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// The first event of a ledger, signed by the coordinator.
    Genesis(Genesis),
    /// The coordinator admits a member.
    MemberAdmitted(MemberAdmitted),
    /// A member's key is replaced (by the member with its current key, or by the coordinator).
    KeyRotated(KeyRotated),
    /// A member's current key is revoked (by the member or the coordinator); the
    /// member cannot sign until the coordinator rotates a new key in.
    KeyRevoked(KeyRevoked),
    /// The coordinator suspends a member: its later events are rejected.
    MemberSuspended(MemberSuspended),
    /// A recipient institution states a need.
    NeedStated(Need),
    /// A donor makes an offer (a pledge: not counted as committed).
    OfferMade(Offer),
    /// A donor commits, from an offer and/or against needs.
    CommitmentMade(Commitment),
    /// A donor records a (partial) delivery on its commitment.
    DeliveryRecorded(Delivery),
    /// The named recipient acknowledges a delivery.
    ReceiptAcknowledged(Receipt),
    /// The real world changed: new values for an item.
    Amended(Change),
    /// The record was wrong: corrected values for an item.
    Corrected(Change),
    /// An offer, a commitment (whole or remaining balance) or a need is cancelled.
    Cancelled(Cancellation),
}

/// The kind of a body, for logs, headers and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// [`Body::Genesis`]
    Genesis,
    /// [`Body::MemberAdmitted`]
    MemberAdmitted,
    /// [`Body::KeyRotated`]
    KeyRotated,
    /// [`Body::KeyRevoked`]
    KeyRevoked,
    /// [`Body::MemberSuspended`]
    MemberSuspended,
    /// [`Body::NeedStated`]
    NeedStated,
    /// [`Body::OfferMade`]
    OfferMade,
    /// [`Body::CommitmentMade`]
    CommitmentMade,
    /// [`Body::DeliveryRecorded`]
    DeliveryRecorded,
    /// [`Body::ReceiptAcknowledged`]
    ReceiptAcknowledged,
    /// [`Body::Amended`]
    Amended,
    /// [`Body::Corrected`]
    Corrected,
    /// [`Body::Cancelled`]
    Cancelled,
}

impl BodyKind {
    /// The snake_case name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            BodyKind::Genesis => "genesis",
            BodyKind::MemberAdmitted => "member_admitted",
            BodyKind::KeyRotated => "key_rotated",
            BodyKind::KeyRevoked => "key_revoked",
            BodyKind::MemberSuspended => "member_suspended",
            BodyKind::NeedStated => "need_stated",
            BodyKind::OfferMade => "offer_made",
            BodyKind::CommitmentMade => "commitment_made",
            BodyKind::DeliveryRecorded => "delivery_recorded",
            BodyKind::ReceiptAcknowledged => "receipt_acknowledged",
            BodyKind::Amended => "amended",
            BodyKind::Corrected => "corrected",
            BodyKind::Cancelled => "cancelled",
        }
    }
}

/// The first event: names the ledger, its coordinator and the initial members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The ledger origin; must equal the envelope's.
    pub origin: String,
    /// The coordinator (the genesis producer), holding the coordinator role.
    pub coordinator: Member,
    /// Members admitted from the start.
    pub members: Vec<Member>,
}

/// Admission of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAdmitted {
    /// The member, with its key.
    pub member: Member,
}

/// A new key for a member. In JSON `new_key` is a verifier key named after the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotated {
    /// Whose key.
    pub member: MemberId,
    /// The key that signs the member's events from the next event on.
    pub new_key: PublicKey,
}

#[derive(Serialize, Deserialize)]
struct KeyRotatedWire {
    member: MemberId,
    new_key: PublicKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRotatedJson {
    member: MemberId,
    new_key: String,
}

impl Serialize for KeyRotated {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            KeyRotatedJson {
                member: self.member.clone(),
                new_key: self.new_key.vkey(self.member.as_str()),
            }
            .serialize(s)
        } else {
            KeyRotatedWire {
                member: self.member.clone(),
                new_key: self.new_key,
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for KeyRotated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyRotated, D::Error> {
        if d.is_human_readable() {
            let j = KeyRotatedJson::deserialize(d)?;
            let new_key = member_vkey(&j.member, &j.new_key).map_err(serde::de::Error::custom)?;
            Ok(KeyRotated {
                member: j.member,
                new_key,
            })
        } else {
            let w = KeyRotatedWire::deserialize(d)?;
            Ok(KeyRotated {
                member: w.member,
                new_key: w.new_key,
            })
        }
    }
}

/// Revocation of a member's current key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    /// Whose key.
    pub member: MemberId,
    /// Why (e.g. "key compromised").
    pub reason: String,
}

/// Suspension of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSuspended {
    /// Who.
    pub member: MemberId,
    /// Why.
    pub reason: String,
}

/// How urgent a need is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Needed now.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// A need stated by a recipient institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    /// New item id, owned by the producer.
    pub need: ItemId,
    /// The institution that needs it (a member with the recipient role).
    pub recipient: MemberId,
    /// Category.
    pub category: Category,
    /// Optional OECD DAC 5-digit sector code (22040, 22081, 15210...).
    pub dac_sector: Option<u32>,
    /// What is needed.
    pub description: String,
    /// How much.
    pub quantity: Quantity,
    /// Estimated value.
    pub estimated_value: Money,
    /// Priority.
    pub priority: Priority,
    /// Date needed by, if any.
    pub needed_by: Option<Date>,
}

/// How assistance is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Money.
    Financial,
    /// Goods in kind.
    Goods,
    /// Services in kind.
    Services,
    /// Training.
    Training,
}

/// A company or NGO on whose behalf a ministry offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contributor {
    /// Name of the contributor.
    pub name: String,
    /// Company, NGO, agency...
    pub kind: MemberKind,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// An offer (a pledge). The donor is the producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// New item id, owned by the producer.
    pub offer: ItemId,
    /// The company or NGO the offer is made for, if any.
    pub on_behalf_of: Option<Contributor>,
    /// Category.
    pub category: Category,
    /// Optional OECD DAC 5-digit sector code.
    pub dac_sector: Option<u32>,
    /// Financial, goods, services or training.
    pub modality: Modality,
    /// What is offered.
    pub description: String,
    /// How much.
    pub quantity: Quantity,
    /// Indicative value.
    pub value: Money,
    /// Last day the offer stands, if limited.
    pub valid_until: Option<Date>,
    /// The needs it answers.
    pub answers: Vec<ItemId>,
}

/// One expected tranche of a commitment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tranche {
    /// Expected delivery date.
    pub expected: Date,
    /// Quantity expected by then (in the commitment's unit).
    pub quantity: u64,
    /// Amount in minor units of the commitment's currency.
    pub amount_minor: u64,
}

/// A firm commitment by the producer (the donor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// New item id, owned by the producer.
    pub commitment: ItemId,
    /// The producer's offer it fulfils, if any.
    pub offer: Option<ItemId>,
    /// The needs it covers (at least one of `offer` and `needs`).
    pub needs: Vec<ItemId>,
    /// The recipient institution that will receive it.
    pub recipient: MemberId,
    /// Category.
    pub category: Category,
    /// What is committed.
    pub description: String,
    /// How much.
    pub quantity: Quantity,
    /// Value.
    pub value: Money,
    /// Expected tranches; when given, they add up to `quantity` and `value`.
    pub tranches: Vec<Tranche>,
}

/// A (partial) delivery on a commitment of the producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// New item id, owned by the producer.
    pub delivery: ItemId,
    /// The producer's commitment.
    pub commitment: ItemId,
    /// Quantity delivered (in the commitment's unit).
    pub quantity: u64,
    /// Value delivered (in the commitment's currency).
    pub value: Money,
    /// Date of delivery.
    pub delivered_on: Date,
    /// SHA-256 of the evidence document (delivery note, invoice), if any.
    pub evidence: Option<Digest>,
}

/// Acknowledgement of receipt by the commitment's recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// New item id, owned by the producer (the recipient).
    pub receipt: ItemId,
    /// The delivery received.
    pub delivery: ItemId,
    /// Quantity accepted (at most the quantity delivered).
    pub quantity_accepted: u64,
    /// Date of receipt.
    pub received_on: Date,
    /// What differed; required when less was accepted than delivered.
    pub discrepancy: Option<String>,
}

/// New or corrected values for an item. Which fields apply depends on the item:
///
/// | item | quantity | value | date | priority | tranches | description |
/// |---|---|---|---|---|---|---|
/// | need | yes | estimated value | needed_by | yes | - | yes |
/// | offer | yes | yes | valid_until | - | - | yes |
/// | commitment | yes | yes | - | - | yes | yes |
/// | delivery (correction only) | yes | yes | delivered_on | - | - | - |
/// | receipt (correction only) | quantity accepted | - | received_on | - | - | discrepancy |
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeFields {
    /// New quantity.
    pub quantity: Option<u64>,
    /// New value (same currency as before).
    pub value: Option<Money>,
    /// New date.
    pub date: Option<Date>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tranches (they must add up to the commitment's quantity and value).
    pub tranches: Option<Vec<Tranche>>,
    /// New description (or discrepancy note for receipts).
    pub description: Option<String>,
}

impl ChangeFields {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == ChangeFields::default()
    }
}

/// An amendment or correction of one item, by the item's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The item changed.
    pub target: ItemId,
    /// The new values.
    pub fields: ChangeFields,
    /// Why.
    pub reason: String,
}

/// What a cancellation cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelScope {
    /// The whole item (nothing may have been delivered on it).
    Whole,
    /// What is not yet delivered of a commitment.
    RemainingBalance,
}

/// Cancellation of an offer, a need or a commitment (whole or remaining balance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    /// The item cancelled.
    pub target: ItemId,
    /// Whole or remaining balance.
    pub scope: CancelScope,
    /// Why.
    pub reason: String,
}

/// A static check failed: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the field, e.g. `offer_made.value.currency`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

struct Check {
    prefix: &'static str,
}

impl Check {
    fn fail<T>(&self, field: &str, message: impl Into<String>) -> Result<T, FieldError> {
        Err(FieldError {
            field: format!("{}.{field}", self.prefix),
            message: message.into(),
        })
    }
    fn ensure(&self, ok: bool, field: &str, message: impl Into<String>) -> Result<(), FieldError> {
        if ok {
            Ok(())
        } else {
            self.fail(field, message)
        }
    }
    fn text(&self, field: &str, s: &str, min: usize, max: usize) -> Result<(), FieldError> {
        let n = s.chars().count();
        self.ensure(
            n >= min,
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must have at least {min} characters")
            },
        )?;
        self.ensure(
            n <= max,
            field,
            format!("must have at most {max} characters (has {n})"),
        )?;
        self.ensure(
            !s.chars().any(|c| c.is_control() && c != '\n'),
            field,
            "must not contain control characters",
        )
    }
    fn country(&self, field: &str, c: &str) -> Result<(), FieldError> {
        self.ensure(
            c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()),
            field,
            format!("{c:?} is not an ISO 3166-1 alpha-2 code (two upper-case letters)"),
        )
    }
    fn dac(&self, field: &str, d: Option<u32>) -> Result<(), FieldError> {
        match d {
            Some(code) => self.ensure(
                (10_000..=99_999).contains(&code),
                field,
                format!("{code} is not a 5-digit OECD DAC sector code"),
            ),
            None => Ok(()),
        }
    }
    fn money(&self, field: &str, m: &Money) -> Result<(), FieldError> {
        self.ensure(
            m.currency.len() == 3 && m.currency.bytes().all(|b| b.is_ascii_uppercase()),
            &format!("{field}.currency"),
            format!(
                "{:?} is not an ISO 4217 code (three upper-case letters)",
                m.currency
            ),
        )?;
        self.ensure(
            m.currency != "EUR" || m.eur_minor == m.amount_minor,
            &format!("{field}.eur_minor"),
            "must equal amount_minor when the currency is EUR",
        )?;
        self.ensure(
            m.amount_minor <= 1 << 53,
            &format!("{field}.amount_minor"),
            "is larger than 2^53",
        )?;
        self.ensure(
            m.eur_minor <= 1 << 53,
            &format!("{field}.eur_minor"),
            "is larger than 2^53",
        )
    }
    fn quantity(&self, field: &str, q: &Quantity) -> Result<(), FieldError> {
        self.ensure(
            q.amount > 0,
            &format!("{field}.amount"),
            "must be greater than zero",
        )?;
        self.text(&format!("{field}.unit"), &q.unit, 1, 32)
    }
    fn distinct(&self, field: &str, ids: &[ItemId]) -> Result<(), FieldError> {
        self.ensure(
            ids.len() <= MAX_LIST,
            field,
            format!("must list at most {MAX_LIST} items"),
        )?;
        let set: BTreeSet<&ItemId> = ids.iter().collect();
        self.ensure(set.len() == ids.len(), field, "lists an item twice")
    }
    fn member(&self, field: &str, m: &Member) -> Result<(), FieldError> {
        self.text(&format!("{field}.name"), &m.name, 1, 200)?;
        self.country(&format!("{field}.country"), &m.country)?;
        self.ensure(
            !m.roles.is_empty(),
            &format!("{field}.roles"),
            "must not be empty",
        )?;
        self.ensure(
            m.roles.windows(2).all(|w| w[0] < w[1]),
            &format!("{field}.roles"),
            "must be listed once each, in the order donor, recipient, coordinator, auditor",
        )?;
        self.ensure(
            m.key.check().is_ok(),
            &format!("{field}.key"),
            "is not an acceptable Ed25519 key (canonical, not of small order, no torsion component)",
        )
    }
    fn tranches(
        &self,
        field: &str,
        ts: &[Tranche],
        quantity: u64,
        amount: u64,
    ) -> Result<(), FieldError> {
        if ts.is_empty() {
            return Ok(());
        }
        self.ensure(
            ts.len() <= MAX_LIST,
            field,
            format!("must list at most {MAX_LIST} tranches"),
        )?;
        self.ensure(
            ts.windows(2).all(|w| w[0].expected <= w[1].expected),
            field,
            "expected dates must not go backwards",
        )?;
        let q: u128 = ts.iter().map(|t| t.quantity as u128).sum();
        let a: u128 = ts.iter().map(|t| t.amount_minor as u128).sum();
        self.ensure(
            q == quantity as u128,
            field,
            format!("tranche quantities add up to {q}, not the committed {quantity}"),
        )?;
        self.ensure(
            a == amount as u128,
            field,
            format!("tranche amounts add up to {a}, not the committed {amount}"),
        )
    }
}

/// Checks that an origin is usable as a checkpoint origin line.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin.is_empty() || origin.len() > 128 {
        return Err("must have 1 to 128 characters".into());
    }
    if origin
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err("must not contain spaces, control characters or '+'".into());
    }
    Ok(())
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> BodyKind {
        match self {
            Body::Genesis(_) => BodyKind::Genesis,
            Body::MemberAdmitted(_) => BodyKind::MemberAdmitted,
            Body::KeyRotated(_) => BodyKind::KeyRotated,
            Body::KeyRevoked(_) => BodyKind::KeyRevoked,
            Body::MemberSuspended(_) => BodyKind::MemberSuspended,
            Body::NeedStated(_) => BodyKind::NeedStated,
            Body::OfferMade(_) => BodyKind::OfferMade,
            Body::CommitmentMade(_) => BodyKind::CommitmentMade,
            Body::DeliveryRecorded(_) => BodyKind::DeliveryRecorded,
            Body::ReceiptAcknowledged(_) => BodyKind::ReceiptAcknowledged,
            Body::Amended(_) => BodyKind::Amended,
            Body::Corrected(_) => BodyKind::Corrected,
            Body::Cancelled(_) => BodyKind::Cancelled,
        }
    }

    /// The role the producer must hold to sign this body; `None` for bodies
    /// whose permission is ownership (changes, cancellations) or self-service
    /// (a member rotating or revoking its own key), which `rules` checks.
    pub fn required_role(&self) -> Option<Role> {
        match self {
            Body::Genesis(_) | Body::MemberAdmitted(_) | Body::MemberSuspended(_) => {
                Some(Role::Coordinator)
            }
            Body::NeedStated(_) | Body::ReceiptAcknowledged(_) => Some(Role::Recipient),
            Body::OfferMade(_) | Body::CommitmentMade(_) | Body::DeliveryRecorded(_) => {
                Some(Role::Donor)
            }
            Body::KeyRotated(_)
            | Body::KeyRevoked(_)
            | Body::Amended(_)
            | Body::Corrected(_)
            | Body::Cancelled(_) => None,
        }
    }

    /// Every item this body names: the one it creates and the ones it refers to
    /// (needs answered or covered, the offer, commitment or delivery it builds on,
    /// the target of a change or cancellation). With [`crate::state::Item::links`],
    /// the items the rules and folds may consult when judging it: a projector that
    /// keeps items on disk loads these (and their links) before judging.
    pub fn named_items(&self) -> Vec<&ItemId> {
        match self {
            Body::NeedStated(n) => vec![&n.need],
            Body::OfferMade(o) => std::iter::once(&o.offer).chain(&o.answers).collect(),
            Body::CommitmentMade(c) => std::iter::once(&c.commitment)
                .chain(&c.offer)
                .chain(&c.needs)
                .collect(),
            Body::DeliveryRecorded(d) => vec![&d.delivery, &d.commitment],
            Body::ReceiptAcknowledged(r) => vec![&r.receipt, &r.delivery],
            Body::Amended(c) | Body::Corrected(c) => vec![&c.target],
            Body::Cancelled(x) => vec![&x.target],
            Body::Genesis(_)
            | Body::MemberAdmitted(_)
            | Body::KeyRotated(_)
            | Body::KeyRevoked(_)
            | Body::MemberSuspended(_) => vec![],
        }
    }

    /// The item this body creates, if any.
    pub fn created_item(&self) -> Option<&ItemId> {
        match self {
            Body::NeedStated(n) => Some(&n.need),
            Body::OfferMade(o) => Some(&o.offer),
            Body::CommitmentMade(c) => Some(&c.commitment),
            Body::DeliveryRecorded(d) => Some(&d.delivery),
            Body::ReceiptAcknowledged(r) => Some(&r.receipt),
            _ => None,
        }
    }

    /// Static checks: field formats and internal consistency, no ledger state.
    pub fn validate(&self) -> Result<(), FieldError> {
        let c = Check {
            prefix: self.kind().name(),
        };
        match self {
            Body::Genesis(g) => {
                c.ensure(
                    check_origin(&g.origin).is_ok(),
                    "origin",
                    check_origin(&g.origin).err().unwrap_or_default(),
                )?;
                c.member("coordinator", &g.coordinator)?;
                c.ensure(
                    g.coordinator.has_role(Role::Coordinator),
                    "coordinator.roles",
                    "must include coordinator",
                )?;
                c.ensure(
                    g.members.len() <= MAX_MEMBERS,
                    "members",
                    format!("must list at most {MAX_MEMBERS} members"),
                )?;
                let mut ids = BTreeSet::from([&g.coordinator.id]);
                let mut keys = BTreeSet::from([&g.coordinator.key]);
                for (i, m) in g.members.iter().enumerate() {
                    c.member(&format!("members[{i}]"), m)?;
                    c.ensure(
                        ids.insert(&m.id),
                        &format!("members[{i}].id"),
                        format!("{} is listed twice", m.id),
                    )?;
                    c.ensure(
                        keys.insert(&m.key),
                        &format!("members[{i}].key"),
                        "is already another member's key",
                    )?;
                }
                Ok(())
            }
            Body::MemberAdmitted(a) => c.member("member", &a.member),
            Body::KeyRotated(k) => c.ensure(
                k.new_key.check().is_ok(),
                "new_key",
                "is not an acceptable Ed25519 key (canonical, not of small order, no torsion component)",
            ),
            Body::KeyRevoked(k) => c.text("reason", &k.reason, 1, MAX_TEXT),
            Body::MemberSuspended(s) => c.text("reason", &s.reason, 1, MAX_TEXT),
            Body::NeedStated(n) => {
                c.dac("dac_sector", n.dac_sector)?;
                c.text("description", &n.description, 1, MAX_TEXT)?;
                c.quantity("quantity", &n.quantity)?;
                c.money("estimated_value", &n.estimated_value)
            }
            Body::OfferMade(o) => {
                if let Some(b) = &o.on_behalf_of {
                    c.text("on_behalf_of.name", &b.name, 1, 200)?;
                    c.country("on_behalf_of.country", &b.country)?;
                }
                c.dac("dac_sector", o.dac_sector)?;
                c.text("description", &o.description, 1, MAX_TEXT)?;
                c.quantity("quantity", &o.quantity)?;
                c.money("value", &o.value)?;
                c.distinct("answers", &o.answers)
            }
            Body::CommitmentMade(m) => {
                c.ensure(
                    m.offer.is_some() || !m.needs.is_empty(),
                    "offer",
                    "a commitment names an offer, needs, or both",
                )?;
                c.distinct("needs", &m.needs)?;
                c.text("description", &m.description, 1, MAX_TEXT)?;
                c.quantity("quantity", &m.quantity)?;
                c.money("value", &m.value)?;
                c.tranches(
                    "tranches",
                    &m.tranches,
                    m.quantity.amount,
                    m.value.amount_minor,
                )
            }
            Body::DeliveryRecorded(d) => {
                c.ensure(d.quantity > 0, "quantity", "must be greater than zero")?;
                c.money("value", &d.value)
            }
            Body::ReceiptAcknowledged(r) => {
                if let Some(note) = &r.discrepancy {
                    c.text("discrepancy", note, 1, MAX_TEXT)?;
                }
                Ok(())
            }
            Body::Amended(ch) | Body::Corrected(ch) => {
                c.text("reason", &ch.reason, 1, MAX_TEXT)?;
                c.ensure(
                    !ch.fields.is_empty(),
                    "fields",
                    "must change at least one field",
                )?;
                if let Some(v) = &ch.fields.value {
                    c.money("fields.value", v)?;
                }
                if let Some(q) = ch.fields.quantity {
                    c.ensure(q > 0, "fields.quantity", "must be greater than zero")?;
                }
                if let Some(d) = &ch.fields.description {
                    c.text("fields.description", d, 1, MAX_TEXT)?;
                }
                if let Some(ts) = &ch.fields.tranches {
                    c.ensure(ts.len() <= MAX_LIST, "fields.tranches", "too many tranches")?;
                }
                Ok(())
            }
            Body::Cancelled(x) => c.text("reason", &x.reason, 1, MAX_TEXT),
        }
    }
}

/// Checks tranches against a quantity and amount (used by `rules` for amendments).
pub fn check_tranches(
    prefix: &'static str,
    ts: &[Tranche],
    quantity: u64,
    amount: u64,
) -> Result<(), FieldError> {
    Check { prefix }.tranches("fields.tranches", ts, quantity, amount)
}
