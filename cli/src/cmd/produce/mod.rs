//! The producer commands (`need`, `offer`, `commit`, `deliver`, `receipt`,
//! `amend`, `correct`, `cancel`, and the member commands' events): each builds
//! its body from its flags and goes through the one producer step
//! (`crate::producer`).

mod args;

use anyhow::{anyhow, Result};
use ledger::body::{
    Body, Cancellation, Change, ChangeFields, Commitment, Contributor, Delivery, Need, Offer,
    Receipt,
};
use ledger::event::Event;
use ledger::money::Quantity;
use serde_json::json;

use crate::cmd::Global;
use crate::context::{now, signer};
use crate::flags;
pub use args::*;

/// `need`: a recipient institution states a need.
pub async fn need(g: &Global, a: NeedArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::NeedStated(Need {
            need: flags::item("id", &a.id, me)?,
            recipient: member_or_signer("recipient", a.recipient.as_deref(), me)?,
            category: flags::category(&a.category)?,
            dac_sector: a.dac,
            description: a.description,
            quantity: Quantity {
                amount: a.quantity,
                unit: a.unit,
            },
            estimated_value: flags::money(&a.money)?,
            priority: flags::priority(&a.priority)?,
            needed_by: a
                .needed_by
                .as_deref()
                .map(|d| flags::date("needed-by", d))
                .transpose()?,
        }))
    })
    .await
}

/// `offer`: a donor makes an offer.
pub async fn offer(g: &Global, a: OfferArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        let on_behalf_of = match a.on_behalf_of {
            Some(name) => Some(Contributor {
                name,
                kind: flags::kind("contributor-kind", &a.contributor_kind)?,
                country: a.contributor_country.ok_or_else(|| {
                    anyhow!("--contributor-country is required with --on-behalf-of")
                })?,
            }),
            None => None,
        };
        Ok(Body::OfferMade(Offer {
            offer: flags::item("id", &a.id, me)?,
            on_behalf_of,
            category: flags::category(&a.category)?,
            dac_sector: a.dac,
            modality: flags::modality(&a.modality)?,
            description: a.description,
            quantity: Quantity {
                amount: a.quantity,
                unit: a.unit,
            },
            value: flags::money(&a.money)?,
            valid_until: a
                .valid_until
                .as_deref()
                .map(|d| flags::date("valid-until", d))
                .transpose()?,
            answers: flags::items("answers", &a.answers, me)?,
        }))
    })
    .await
}

/// `commit`: a donor commits (from an offer or not).
pub async fn commit(g: &Global, a: CommitArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::CommitmentMade(Commitment {
            commitment: flags::item("id", &a.id, me)?,
            offer: a
                .offer
                .as_deref()
                .map(|o| flags::item("offer", o, me))
                .transpose()?,
            needs: flags::items("needs", &a.needs, me)?,
            recipient: flags::member("recipient", &a.recipient)?,
            category: flags::category(&a.category)?,
            description: a.description,
            quantity: Quantity {
                amount: a.quantity,
                unit: a.unit,
            },
            value: flags::money(&a.money)?,
            tranches: a
                .tranches
                .iter()
                .map(|t| flags::tranche(t, &a.money.currency))
                .collect::<Result<_>>()?,
        }))
    })
    .await
}

/// `deliver`: a donor records a delivery.
pub async fn deliver(g: &Global, a: DeliverArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::DeliveryRecorded(Delivery {
            delivery: flags::item("id", &a.id, me)?,
            commitment: flags::item("commitment", &a.commitment, me)?,
            quantity: a.quantity,
            value: flags::money(&a.money)?,
            delivered_on: flags::date("date", &a.date)?,
            evidence: a.evidence.as_deref().map(flags::evidence).transpose()?,
        }))
    })
    .await
}

/// `receipt`: the recipient acknowledges a delivery.
pub async fn receipt(g: &Global, a: ReceiptArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::ReceiptAcknowledged(Receipt {
            receipt: flags::item("id", &a.id, me)?,
            delivery: flags::item("delivery", &a.delivery, me)?,
            quantity_accepted: a.quantity_accepted,
            received_on: flags::date("date", &a.date)?,
            discrepancy: a.discrepancy,
        }))
    })
    .await
}

/// `amend`: the real world changed.
pub async fn amend(g: &Global, a: ChangeArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::Amended(change(a, me)?))
    })
    .await
}

/// `correct`: the record was wrong.
pub async fn correct(g: &Global, a: ChangeArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::Corrected(change(a, me)?))
    })
    .await
}

/// `cancel`: a need, an offer or a commitment, whole or its balance.
pub async fn cancel(g: &Global, a: CancelArgs) -> Result<()> {
    emit_one(g, &a.key.key.clone(), now(g.now.as_deref())?, move |me| {
        Ok(Body::Cancelled(Cancellation {
            target: flags::item("target", &a.target, me)?,
            scope: flags::scope(&a.scope)?,
            reason: a.reason,
        }))
    })
    .await
}

fn change(a: ChangeArgs, me: &ledger::ids::MemberId) -> Result<Change> {
    let value = a
        .value
        .as_deref()
        .map(|v| flags::money_of(v, &a.currency, a.eur.as_deref()))
        .transpose()?;
    let tranches = if a.tranches.is_empty() {
        None
    } else {
        Some(
            a.tranches
                .iter()
                .map(|t| flags::tranche(t, &a.currency))
                .collect::<Result<Vec<_>>>()?,
        )
    };
    Ok(Change {
        target: flags::item("target", &a.target, me)?,
        fields: ChangeFields {
            quantity: a.quantity,
            value,
            date: a
                .date
                .as_deref()
                .map(|d| flags::date("date", d))
                .transpose()?,
            priority: a.priority.as_deref().map(flags::priority).transpose()?,
            tranches,
            description: a.description,
        },
        reason: a.reason,
    })
}

/// Parses JSON, naming the field path of the first error.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            anyhow!("{inner}")
        } else {
            anyhow!("{path}: {inner}")
        }
    })
}

pub async fn emit_one(
    g: &Global,
    key: &std::path::Path,
    now: ledger::calendar::Timestamp,
    build: impl FnOnce(&ledger::ids::MemberId) -> Result<Body>,
) -> Result<()> {
    let signer = signer(key)?;
    let log = crate::backend::open_log(&g.nats, &g.dir).await?;
    let mut p = crate::producer::Producer::open(log, &g.dir).await?;
    let me = p.producer(&signer)?;
    let body = build(&me)?;
    body.validate().map_err(|e| anyhow!("{e}"))?;
    let emitted = p.emit(&signer, vec![body], now, g.dry_run).await?;
    print_emitted(g.json, &emitted);
    Ok(())
}

/// Prints what an emit stored (or, dry run, would store; or found stored).
pub fn print_emitted(json: bool, emitted: &crate::producer::Emitted) {
    for (event, pos) in &emitted.events {
        let env = event.envelope();
        if json {
            println!(
                "{}",
                json!({"id": event.id(), "position": pos, "member": env.producer, "seq": env.seq,
                    "kind": env.body.kind().name(), "dry_run": pos.is_none(), "already_stored": emitted.already_stored})
            );
        } else if pos.is_none() {
            println!("{}  (dry run: checked, not appended)", event.id());
        } else {
            println!("{}", event.id());
        }
    }
    if emitted.already_stored && !json {
        eprintln!("already stored (an identical event): nothing appended");
    }
}

pub fn print_event(json: bool, event: &Event, position: u64) {
    let env = event.envelope();
    if json {
        println!(
            "{}",
            json!({"id": event.id(), "position": position, "member": env.producer, "seq": env.seq, "kind": env.body.kind().name()})
        );
    } else {
        println!("{}", event.id());
    }
}

/// The member named by `--flag`, or the signer itself when the flag is absent.
pub fn member_or_signer(
    flag: &str,
    value: Option<&str>,
    me: &ledger::ids::MemberId,
) -> Result<ledger::ids::MemberId> {
    Ok(value
        .map(|v| flags::member(flag, v))
        .transpose()?
        .unwrap_or_else(|| me.clone()))
}
