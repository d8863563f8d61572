//! The demo's volume cycles (a need, an offer, a commitment, deliveries and
//! receipts, over and over) and the body builders they use.

use super::*;

#[allow(clippy::too_many_arguments)]
fn need(
    id: &str,
    recipient: &str,
    category: Category,
    dac: Option<u32>,
    what: &str,
    qty: Quantity,
    euros: u64,
    priority: Priority,
    by: &str,
) -> Body {
    Body::NeedStated(Need {
        need: item(id),
        recipient: m(recipient),
        category,
        dac_sector: dac,
        description: what.into(),
        quantity: qty,
        estimated_value: eur(euros),
        priority,
        needed_by: Some(day(by)),
    })
}

#[allow(clippy::too_many_arguments)]
fn offer(
    id: &str,
    category: Category,
    modality: Modality,
    what: &str,
    qty: Quantity,
    value: Money,
    until: &str,
    answers: &[&str],
    behalf: Option<Contributor>,
) -> Body {
    Body::OfferMade(Offer {
        offer: item(id),
        on_behalf_of: behalf,
        category,
        dac_sector: Some(22040),
        modality,
        description: what.into(),
        quantity: qty,
        value,
        valid_until: Some(day(until)),
        answers: answers.iter().map(|a| item(a)).collect(),
    })
}

#[allow(clippy::too_many_arguments)]
fn commit(
    id: &str,
    offer: Option<&str>,
    needs: &[&str],
    recipient: &str,
    category: Category,
    what: &str,
    qty: Quantity,
    value: Money,
    tranches: Vec<(&str, u64, u64)>,
) -> Body {
    Body::CommitmentMade(Commitment {
        commitment: item(id),
        offer: offer.map(item),
        needs: needs.iter().map(|n| item(n)).collect(),
        recipient: m(recipient),
        category,
        description: what.into(),
        quantity: qty,
        value,
        tranches: tranches
            .into_iter()
            .map(|(d, q, a)| Tranche {
                expected: day(d),
                quantity: q,
                amount_minor: a,
            })
            .collect(),
    })
}

fn deliver(id: &str, commitment: &str, qty: u64, value: Money, on: &str) -> Body {
    Body::DeliveryRecorded(Delivery {
        delivery: item(id),
        commitment: item(commitment),
        quantity: qty,
        value,
        delivered_on: day(on),
        evidence: Some(ledger::ids::Digest(Sha256::digest(id.as_bytes()).into())),
    })
}

fn receipt(id: &str, delivery: &str, accepted: u64, on: &str, note: Option<&str>) -> Body {
    Body::ReceiptAcknowledged(Receipt {
        receipt: item(id),
        delivery: item(delivery),
        quantity_accepted: accepted,
        received_on: day(on),
        discrepancy: note.map(str::to_string),
    })
}

/// Events of a volume cycle, at least (for spreading them over time): a
/// need, an offer, a commitment, two deliveries, and a receipt for about four
/// in five deliveries.
pub(super) const EVENTS_PER_CYCLE: u64 = 6;

/// Steps of the clock in one volume cycle.
const STEPS_PER_CYCLE: u64 = 6;

/// The volume cycles end before this time (in the past): spread over the
/// months after the scripted year, at any volume.
const VOLUME_END: &str = "2026-04-01T00:00:00Z";

/// The clock step (ms) of `cycles` volume cycles starting at `from`: an hour,
/// or less so that they end by [`VOLUME_END`] (at least a millisecond).
pub(super) fn volume_step(from: Timestamp, cycles: u64) -> i64 {
    let end: Timestamp = VOLUME_END.parse().expect("a valid time");
    let span = (end.0 - from.0).max(0);
    let steps = (cycles * STEPS_PER_CYCLE).max(1) as i64;
    (span / steps).clamp(1, HOUR)
}

/// One volume cycle: a need, an offer, a commitment with two tranches, two
/// deliveries and most of their receipts (six or seven events), the clock moving by
/// `step` ms between them.
pub(super) fn volume_cycle(p: &mut Player, cycle: u64, step: i64) {
    let donor = DONORS[p.rng.below(11) as usize].0;
    let (recipient, _) = RECIPIENTS[p.rng.below(4) as usize];
    let stater = if recipient == "UA-GRIDCO" {
        "UA-SSSCIP"
    } else {
        recipient
    };
    let category = Category::ALL[p.rng.below(Category::ALL.len() as u64) as usize];
    let units = 10 + p.rng.below(500);
    let unit_price = 50 + p.rng.below(2000);
    let euros = units * unit_price;
    let need_id = format!("{stater}/N-V{cycle}");
    let offer_id = format!("{donor}/O-V{cycle}");
    let c_id = format!("{donor}/C-V{cycle}");
    p.now = p.now.add_ms(step);
    let today = p.now.date();
    let by = today.add_days(180).to_string();
    p.emit(
        stater,
        need(
            &need_id,
            recipient,
            category,
            None,
            "Volume need",
            q(units, "units"),
            euros,
            Priority::Medium,
            &by,
        ),
    );
    p.now = p.now.add_ms(step);
    p.emit(
        donor,
        offer(
            &offer_id,
            category,
            Modality::Goods,
            "Volume offer",
            q(units, "units"),
            eur(euros),
            &by,
            &[&need_id],
            None,
        ),
    );
    p.now = p.now.add_ms(step);
    let half = units / 2;
    let t1 = today.add_days(30).to_string();
    let t2 = today.add_days(60).to_string();
    p.emit(
        donor,
        commit(
            &c_id,
            Some(&offer_id),
            &[&need_id],
            recipient,
            category,
            "Volume commitment",
            q(units, "units"),
            eur(euros),
            vec![
                (&t1, half, half * unit_price * 100),
                (&t2, units - half, (units - half) * unit_price * 100),
            ],
        ),
    );
    let on = today.to_string();
    for (i, qty) in [half, units - half].into_iter().enumerate() {
        p.now = p.now.add_ms(step);
        let d_id = format!("{donor}/D-V{cycle}-{i}");
        p.emit(
            donor,
            deliver(&d_id, &c_id, qty, eur(qty * unit_price), &on),
        );
        if p.rng.below(10) < 8 {
            p.now = p.now.add_ms(step);
            let r_id = format!("{recipient}/R-V{cycle}-{i}");
            p.emit(recipient, receipt(&r_id, &d_id, qty, &on, None));
        }
    }
}
