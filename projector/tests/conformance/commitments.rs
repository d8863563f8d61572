//! `commitments.json`: `commitment_made`: its static checks (tranches
//! included), the recipient, the needs, and the offer it draws on: owner,
//! cancellation, expiry and what is left of it in its unit and in EUR.

use ledger::body::{Body, CancelScope, Commitment, Offer};

use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    setup(&mut k);
    offer_totals(&mut k);
    fields(&mut k);
    tranche_fields(&mut k);
    rules(&mut k);
    accepted(&mut k);
    offers(&mut k);
    k.finish(
        "commitments",
        "Commitments on EE-MFA's offer O1 (10 routers, EUR 1,000.00) until it is used \
         up in routers and in EUR (a commitment in another unit counts in EUR only); the \
         static checks; the recipient and needs; offers of another donor, cancelled, \
         expired (valid through their last day); other currencies.",
    )
}

fn c(commitment: Commitment) -> Body {
    Body::CommitmentMade(commitment)
}

/// A commitment on O1 of `n` routers worth `cents`.
fn on_o1(id: &str, n: u64, cents: u64) -> Commitment {
    commitment(id, Some("EE-MFA/O1"), &[], SSSCIP, n, cents)
}

fn setup(k: &mut Kit) {
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "accepted",
        "UA-SSSCIP states need N1",
    );
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N2", SSSCIP)),
        "accepted",
        "UA-SSSCIP states need N2",
    );
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N2", CancelScope::Whole),
        "accepted",
        "UA-SSSCIP cancels N2",
    );
    let o1 = Offer {
        valid_until: Some(day("2025-03-31")),
        answers: vec![item("UA-SSSCIP/N1")],
        ..offer("EE-MFA/O1", 10, 100_000)
    };
    k.emit(
        EE,
        Body::OfferMade(o1),
        "accepted",
        "EE-MFA offers O1: 10 routers, EUR 1,000.00, until 2025-03-31",
    );
}

fn offer_totals(k: &mut Kit) {
    let c1 = Commitment {
        needs: vec![item("UA-SSSCIP/N1")],
        tranches: vec![
            tranche("2025-04-01", 3, 30_000),
            tranche("2025-05-01", 3, 30_000),
        ],
        ..on_o1("EE-MFA/C1", 6, 60_000)
    };
    k.emit(EE, c(c1), "accepted", "C1 on O1 for N1: 6 routers, EUR 600.00, two tranches (O1: 6 routers, EUR 600.00 committed)");
    k.emit(EE, c(on_o1("EE-MFA/C2", 5, 10_000)), "rule_violation: commitments on offer EE-MFA/O1 would reach 11 routers, more than the 10 offered", "C2 on O1: 5 routers");
    k.emit(EE, c(on_o1("EE-MFA/C2", 4, 50_000)), "rule_violation: commitments on offer EE-MFA/O1 would reach EUR 110000 cents, more than the 100000 offered", "C2 on O1: 4 routers, EUR 500.00");
    k.emit(
        EE,
        c(on_o1("EE-MFA/C2", 4, 40_000)),
        "accepted",
        "C2 on O1: 4 routers, EUR 400.00 (O1 fully committed)",
    );
    let boxes = Commitment {
        quantity: qty(2, "boxes"),
        ..on_o1("EE-MFA/C3", 2, 0)
    };
    k.emit(
        EE,
        c(boxes),
        "accepted",
        "C3 on O1: 2 boxes for EUR 0.00: another unit is bounded in EUR only",
    );
    k.emit(
        EE,
        c(on_o1("EE-MFA/C4", 1, 0)),
        "rule_violation: would reach 11 routers, more than the 10 offered",
        "C4 on O1: 1 router for EUR 0.00",
    );
    let usd = Commitment {
        quantity: qty(1, "boxes"),
        value: money(100, "USD", 1),
        ..on_o1("EE-MFA/C4", 1, 0)
    };
    k.emit(
        EE,
        c(usd),
        "rule_violation: would reach EUR 100001 cents, more than the 100000 offered",
        "C4 on O1: 1 box for USD 1.00 (EUR 0.01)",
    );
}

/// C5 for N1 without an offer: 4 routers, EUR 400.00.
fn base() -> Commitment {
    commitment("EE-MFA/C5", None, &["UA-SSSCIP/N1"], SSSCIP, 4, 40_000)
}

fn fields(k: &mut Kit) {
    let cases: [(Commitment, &str, &str); 5] = [
        (
            Commitment {
                needs: vec![],
                ..base()
            },
            "commitment_made.offer: a commitment names an offer, needs, or both",
            "neither offer nor needs",
        ),
        (
            Commitment {
                needs: vec![item("UA-SSSCIP/N1"); 2],
                ..base()
            },
            "commitment_made.needs: lists an item twice",
            "N1 twice",
        ),
        (
            Commitment {
                description: String::new(),
                ..base()
            },
            "commitment_made.description: must not be empty",
            "no description",
        ),
        (
            Commitment {
                quantity: qty(0, "routers"),
                ..base()
            },
            "commitment_made.quantity.amount: must be greater than zero",
            "zero routers",
        ),
        (
            Commitment {
                value: money(40_000, "EUR", 4),
                ..base()
            },
            "commitment_made.value.eur_minor: must equal amount_minor",
            "EUR with another EUR equivalent",
        ),
    ];
    for (commitment, want, label) in cases {
        k.emit(EE, c(commitment), &format!("invalid_field: {want}"), label);
    }
}

fn tranche_fields(k: &mut Kit) {
    let cases: [(Commitment, &str, &str); 4] = [
        (
            Commitment {
                tranches: vec![tranche("2025-04-01", 0, 0); 101],
                ..base()
            },
            "commitment_made.tranches: must list at most 100 tranches",
            "101 tranches",
        ),
        (
            Commitment {
                tranches: vec![
                    tranche("2025-05-01", 2, 20_000),
                    tranche("2025-04-01", 2, 20_000),
                ],
                ..base()
            },
            "commitment_made.tranches: expected dates must not go backwards",
            "tranches out of date order",
        ),
        (
            Commitment {
                tranches: vec![
                    tranche("2025-04-01", 1, 20_000),
                    tranche("2025-05-01", 2, 20_000),
                ],
                ..base()
            },
            "commitment_made.tranches: tranche quantities add up to 3, not the committed 4",
            "tranches of 3 routers for 4",
        ),
        (
            Commitment {
                tranches: vec![
                    tranche("2025-04-01", 2, 20_000),
                    tranche("2025-05-01", 2, 20_001),
                ],
                ..base()
            },
            "commitment_made.tranches: tranche amounts add up to 40001, not the committed 40000",
            "tranches of EUR 400.01 for 400.00",
        ),
    ];
    for (commitment, want, label) in cases {
        k.emit(EE, c(commitment), &format!("invalid_field: {want}"), label);
    }
}

fn rules(k: &mut Kit) {
    let cases: [(Commitment, &str, &str); 5] = [
        (
            Commitment {
                recipient: m(EE),
                ..base()
            },
            "recipient EE-MFA is not an admitted recipient institution",
            "a commitment to a donor",
        ),
        (
            Commitment {
                needs: vec![item("UA-SSSCIP/N1"), item("UA-SSSCIP/N9")],
                ..base()
            },
            "need UA-SSSCIP/N9 does not exist",
            "for N1 and a need that does not exist",
        ),
        (
            Commitment {
                needs: vec![item("UA-SSSCIP/N2")],
                ..base()
            },
            "need UA-SSSCIP/N2 is cancelled",
            "for the cancelled N2",
        ),
        (
            Commitment {
                offer: Some(item("EE-MFA/O9")),
                ..base()
            },
            "offer EE-MFA/O9 does not exist",
            "on an offer that does not exist",
        ),
        (
            Commitment {
                offer: Some(item("UA-SSSCIP/N1")),
                ..base()
            },
            "offer UA-SSSCIP/N1 does not exist",
            "on a need as if it were an offer",
        ),
    ];
    for (commitment, want, label) in cases {
        k.emit(EE, c(commitment), &format!("rule_violation: {want}"), label);
    }
}

fn accepted(k: &mut Kit) {
    k.emit(
        SSSCIP,
        c(commitment(
            "UA-SSSCIP/C1",
            None,
            &["UA-SSSCIP/N1"],
            SSSCIP,
            1,
            100,
        )),
        "missing_role",
        "a recipient commits",
    );
    k.emit(EE, c(base()), "accepted", "C5 for N1 without an offer");
    k.emit(
        EE,
        c(base()),
        "rule_violation: item id EE-MFA/C5 is already used",
        "C5 again",
    );
    let other = Commitment {
        recipient: m(NCCC),
        value: money(110_000, "USD", 100_000),
        tranches: vec![
            tranche("2025-04-01", 0, 0),
            tranche("2025-04-01", 4, 110_000),
        ],
        ..commitment("EE-MFA/C6", None, &["UA-SSSCIP/N1"], SSSCIP, 4, 0)
    };
    k.emit(
        EE,
        c(other),
        "accepted",
        "C6 for UA-SSSCIP's N1 but to UA-NCCC, in USD, with an empty tranche and two on one day",
    );
}

fn offers(k: &mut Kit) {
    k.emit(
        DE,
        Body::OfferMade(offer("DE-AA/O1", 10, 100_000)),
        "accepted",
        "DE-AA offers O1",
    );
    let on = |offer: &str| commitment("EE-MFA/C7", Some(offer), &[], SSSCIP, 1, 100);
    k.emit(
        EE,
        c(on("DE-AA/O1")),
        "rule_violation: offer DE-AA/O1 belongs to another donor",
        "EE-MFA commits on DE-AA's offer",
    );
    k.emit(
        EE,
        Body::OfferMade(offer("EE-MFA/O2", 10, 100_000)),
        "accepted",
        "EE-MFA offers O2",
    );
    k.emit(
        EE,
        cancel("EE-MFA/O2", CancelScope::Whole),
        "accepted",
        "EE-MFA cancels O2",
    );
    k.emit(
        EE,
        c(on("EE-MFA/O2")),
        "rule_violation: offer EE-MFA/O2 is cancelled",
        "a commitment on O2",
    );
    let until = |id: &str, d: &str| Offer {
        valid_until: Some(day(d)),
        ..offer(id, 10, 100_000)
    };
    k.emit(
        EE,
        Body::OfferMade(until("EE-MFA/O3", "2025-03-02")),
        "accepted",
        "EE-MFA offers O3, valid until yesterday",
    );
    k.emit(
        EE,
        c(on("EE-MFA/O3")),
        "rule_violation: offer EE-MFA/O3 expired on 2025-03-02",
        "a commitment on O3",
    );
    k.emit(
        EE,
        Body::OfferMade(until("EE-MFA/O4", "2025-03-03")),
        "accepted",
        "EE-MFA offers O4, valid until today",
    );
    k.emit(EE, c(on("EE-MFA/O4")), "accepted", "a commitment on O4");
}
