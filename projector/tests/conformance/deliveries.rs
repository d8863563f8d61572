//! `deliveries-receipts.json`: `delivery_recorded` against its commitment
//! (owner, cancellation, currency, what is left in quantity and amount, date)
//! and `receipt_acknowledged` by the commitment's recipient.

use ledger::body::{Body, CancelScope, Delivery, Receipt};

use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    setup(&mut k);
    refused_deliveries(&mut k);
    deliveries(&mut k);
    receipts(&mut k);
    k.finish(
        "deliveries-receipts",
        "Deliveries on EE-MFA's commitment C1 (10 routers, EUR 1,000.00 to UA-SSSCIP) \
         until it is delivered in full, with the refused ones (too much in quantity or \
         amount, another currency, a future date, another donor's or a cancelled \
         commitment); receipts by the named recipient, with the quantity, the note \
         required when less is accepted, and the dates.",
    )
}

fn d(delivery: Delivery) -> Body {
    Body::DeliveryRecorded(delivery)
}

fn r(receipt: Receipt) -> Body {
    Body::ReceiptAcknowledged(receipt)
}

fn setup(k: &mut Kit) {
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "accepted",
        "UA-SSSCIP states need N1",
    );
    let c1 = commitment("EE-MFA/C1", None, &["UA-SSSCIP/N1"], SSSCIP, 10, 100_000);
    k.emit(
        EE,
        Body::CommitmentMade(c1),
        "accepted",
        "EE-MFA commits C1: 10 routers, EUR 1,000.00 to UA-SSSCIP",
    );
    let c2 = commitment("EE-MFA/C2", None, &["UA-SSSCIP/N1"], SSSCIP, 5, 50_000);
    k.emit(
        EE,
        Body::CommitmentMade(c2),
        "accepted",
        "EE-MFA commits C2: 5 routers",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C2", CancelScope::Whole),
        "accepted",
        "EE-MFA cancels C2",
    );
}

/// D2 on C1, of `n` routers worth `cents`, on 2025-03-02.
fn on_c1(n: u64, cents: u64) -> Delivery {
    delivery("EE-MFA/D2", "EE-MFA/C1", n, cents, "2025-03-02")
}

fn refused_deliveries(k: &mut Kit) {
    k.emit(
        EE,
        d(delivery("EE-MFA/D1", "EE-MFA/C1", 4, 40_000, "2025-03-01")),
        "accepted",
        "D1 on C1: 4 routers, EUR 400.00, on 2025-03-01",
    );
    let cases: [(Delivery, &str, &str); 7] = [
        (
            on_c1(7, 10_000),
            "over-delivery: 11 routers delivered in all, 10 committed",
            "D2: 7 routers",
        ),
        (
            on_c1(2, 70_000),
            "over-delivery: 110000 EUR minor units delivered in all, 100000 committed",
            "D2: 2 routers for EUR 700.00",
        ),
        (
            Delivery {
                value: money(20_000, "USD", 18_000),
                ..on_c1(2, 0)
            },
            "delivery in USD on a commitment in EUR",
            "D2 in USD",
        ),
        (
            Delivery {
                delivered_on: day("2025-03-04"),
                ..on_c1(2, 20_000)
            },
            "delivered_on 2025-03-04 is after the event was recorded",
            "D2 delivered tomorrow",
        ),
        (
            delivery("EE-MFA/D2", "EE-MFA/C9", 1, 100, "2025-03-02"),
            "commitment EE-MFA/C9 does not exist",
            "D2 on a commitment that does not exist",
        ),
        (
            delivery("EE-MFA/D2", "UA-SSSCIP/N1", 1, 100, "2025-03-02"),
            "commitment UA-SSSCIP/N1 does not exist",
            "D2 on a need",
        ),
        (
            delivery("EE-MFA/D2", "EE-MFA/C2", 1, 100, "2025-03-02"),
            "commitment EE-MFA/C2 is cancelled",
            "D2 on the cancelled C2",
        ),
    ];
    for (delivery, want, label) in cases {
        k.emit(EE, d(delivery), &format!("rule_violation: {want}"), label);
    }
}

fn deliveries(k: &mut Kit) {
    k.emit(
        DE,
        d(delivery("DE-AA/D1", "EE-MFA/C1", 1, 100, "2025-03-02")),
        "rule_violation: commitment EE-MFA/C1 belongs to another donor",
        "DE-AA delivers on C1",
    );
    k.emit(
        SSSCIP,
        d(delivery("UA-SSSCIP/D1", "EE-MFA/C1", 1, 100, "2025-03-02")),
        "missing_role",
        "a recipient records a delivery",
    );
    k.emit(
        EE,
        d(on_c1(0, 0)),
        "invalid_field: delivery_recorded.quantity: must be greater than zero",
        "D2 of nothing",
    );
    k.emit(
        EE,
        d(Delivery {
            value: money(100, "EUR", 100 + (1 << 53)),
            ..on_c1(1, 0)
        }),
        "invalid_field: delivery_recorded.value.eur_minor: must equal amount_minor",
        "D2 with another EUR equivalent",
    );
    let today = Delivery {
        value: money(60_000, "EUR", 60_000),
        delivered_on: day("2025-03-03"),
        ..on_c1(6, 0)
    };
    k.emit(
        EE,
        d(today),
        "accepted",
        "D2: the remaining 6 routers and EUR 600.00, delivered today",
    );
    k.emit(
        EE,
        d(delivery("EE-MFA/D3", "EE-MFA/C1", 1, 0, "2025-03-03")),
        "rule_violation: over-delivery: 11 routers",
        "D3: one more router for nothing",
    );
}

fn receipts(k: &mut Kit) {
    let base = || receipt("UA-SSSCIP/R1", "EE-MFA/D1", 4, "2025-03-02");
    k.emit(
        NCCC,
        r(receipt("UA-NCCC/R1", "EE-MFA/D1", 4, "2025-03-02")),
        "rule_violation: only UA-SSSCIP (the named recipient) acknowledges delivery EE-MFA/D1",
        "UA-NCCC acknowledges D1",
    );
    k.emit(
        EE,
        r(receipt("EE-MFA/R1", "EE-MFA/D1", 4, "2025-03-02")),
        "missing_role",
        "EE-MFA acknowledges its own delivery",
    );
    let cases: [(Receipt, &str, &str); 6] = [
        (receipt("UA-SSSCIP/R1", "EE-MFA/D9", 1, "2025-03-02"), "rule_violation: delivery EE-MFA/D9 does not exist", "a receipt of a delivery that does not exist"),
        (Receipt { quantity_accepted: 5, ..base() }, "rule_violation: quantity_accepted 5 exceeds the 4 delivered", "5 of 4 routers accepted"),
        (Receipt { quantity_accepted: 3, ..base() }, "rule_violation: a discrepancy note is required when less is accepted than delivered", "3 of 4 accepted without a note"),
        (Receipt { received_on: day("2025-02-28"), ..base() }, "rule_violation: received_on 2025-02-28 must be between delivery (2025-03-01) and recording (2025-03-03)", "received before it was delivered"),
        (Receipt { received_on: day("2025-03-04"), ..base() }, "rule_violation: received_on 2025-03-04 must be between delivery (2025-03-01) and recording (2025-03-03)", "received tomorrow"),
        (Receipt { discrepancy: Some(String::new()), ..base() }, "invalid_field: receipt_acknowledged.discrepancy: must not be empty", "an empty note"),
    ];
    for (receipt, want, label) in cases {
        k.emit(SSSCIP, r(receipt), want, label);
    }
    let short = Receipt {
        quantity_accepted: 3,
        discrepancy: Some("one router arrived broken".into()),
        ..base()
    };
    k.emit(
        SSSCIP,
        r(short),
        "accepted",
        "R1: 3 of D1's 4 routers accepted, with a note",
    );
    k.emit(
        SSSCIP,
        r(receipt("UA-SSSCIP/R2", "EE-MFA/D1", 3, "2025-03-02")),
        "rule_violation: delivery EE-MFA/D1 is already acknowledged by UA-SSSCIP/R1",
        "R2 of D1",
    );
    let none = Receipt {
        quantity_accepted: 0,
        discrepancy: Some("wrong model".into()),
        ..receipt("UA-SSSCIP/R2", "EE-MFA/D2", 0, "2025-03-03")
    };
    k.emit(
        SSSCIP,
        r(none),
        "accepted",
        "R2: none of D2 accepted, received today, with a note",
    );
}
