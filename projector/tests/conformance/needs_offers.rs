//! `needs-offers.json`: `need_stated` and `offer_made`: the item rules common
//! to every created item (RULES.md §4.3), the static checks of text, quantity,
//! money, DAC codes and lists (§4.1), and the needs an offer answers.

use ledger::body::{Body, Contributor, Need, Offer};
use ledger::member::MemberKind;

use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    needs(&mut k);
    need_fields(&mut k);
    offers(&mut k);
    offer_fields(&mut k);
    k.finish(
        "needs-offers",
        "Needs (for the producer or another recipient institution; item ids owned by \
         the producer and never reused) and offers (the needs they answer must be open \
         needs), with the static checks of their fields.",
    )
}

fn n(need: Need) -> Body {
    Body::NeedStated(need)
}

fn o(offer: Offer) -> Body {
    Body::OfferMade(offer)
}

fn needs(k: &mut Kit) {
    let multiline = Need {
        description: "Laptops for regional CERTs\n(two batches)".into(),
        ..need("UA-SSSCIP/N1", SSSCIP)
    };
    k.emit(
        SSSCIP,
        n(multiline),
        "accepted",
        "UA-SSSCIP states a need (its description has a line break)",
    );
    k.emit(
        SSSCIP,
        n(need("UA-SSSCIP/N2", NCCC)),
        "accepted",
        "UA-SSSCIP states a need for UA-NCCC",
    );
    k.emit(
        SSSCIP,
        n(need("UA-SSSCIP/N3", EE)),
        "rule_violation: recipient EE-MFA is not an admitted recipient institution",
        "a need for a donor",
    );
    k.emit(
        SSSCIP,
        n(need("UA-SSSCIP/N3", "XX-NOBODY")),
        "rule_violation: recipient XX-NOBODY is not an admitted recipient institution",
        "a need for a non-member",
    );
    k.emit(
        SSSCIP,
        n(need("UA-NCCC/N3", SSSCIP)),
        "rule_violation: item id UA-NCCC/N3 must start with the producer's id (UA-SSSCIP/)",
        "a need with UA-NCCC's item id",
    );
    k.emit(
        SSSCIP,
        n(need("UA-SSSCIP/N1", SSSCIP)),
        "rule_violation: item id UA-SSSCIP/N1 is already used",
        "a need with the id of the first",
    );
    k.emit(
        EE,
        n(need("EE-MFA/N1", SSSCIP)),
        "missing_role",
        "a donor states a need",
    );
}

fn need_fields(k: &mut Kit) {
    let base = || need("UA-SSSCIP/N9", SSSCIP);
    let cases: [(Need, &str, &str); 11] = [
        (Need { dac_sector: Some(1234), ..base() }, "need_stated.dac_sector: 1234 is not a 5-digit OECD DAC sector code", "a 4-digit DAC code"),
        (Need { description: String::new(), ..base() }, "need_stated.description: must not be empty", "an empty description"),
        (Need { description: "x".repeat(2001), ..base() }, "need_stated.description: must have at most 2000 characters (has 2001)", "a description of 2001 characters"),
        (Need { description: "Laptops\tfor CERTs".into(), ..base() }, "need_stated.description: must not contain control characters", "a tab in the description"),
        (Need { quantity: qty(0, "laptops"), ..base() }, "need_stated.quantity.amount: must be greater than zero", "zero laptops"),
        (Need { quantity: qty(5, ""), ..base() }, "need_stated.quantity.unit: must not be empty", "no unit"),
        (Need { quantity: qty(5, &"u".repeat(33)), ..base() }, "need_stated.quantity.unit: must have at most 32 characters (has 33)", "a unit of 33 characters"),
        (Need { estimated_value: money(100, "eur", 100), ..base() }, "need_stated.estimated_value.currency: \"eur\" is not an ISO 4217 code (three upper-case letters)", "a lower-case currency"),
        (Need { estimated_value: money(100, "EUR", 99), ..base() }, "need_stated.estimated_value.eur_minor: must equal amount_minor when the currency is EUR", "EUR with another EUR equivalent"),
        (Need { estimated_value: money((1 << 53) + 1, "USD", 100), ..base() }, "need_stated.estimated_value.amount_minor: is larger than 2^53", "an amount above 2^53"),
        (Need { estimated_value: money(100, "USD", (1 << 53) + 1), ..base() }, "need_stated.estimated_value.eur_minor: is larger than 2^53", "a EUR equivalent above 2^53"),
    ];
    for (need, want, label) in cases {
        k.emit(SSSCIP, n(need), &format!("invalid_field: {want}"), label);
    }
    let edge = Need {
        dac_sector: Some(99999),
        description: "é".repeat(2000),
        estimated_value: money(1 << 53, "USD", 1 << 53),
        needed_by: None,
        ..need("UA-SSSCIP/N4", SSSCIP)
    };
    k.emit(
        SSSCIP,
        n(edge),
        "accepted",
        "a need at the limits: DAC 99999, 2000 characters (4000 bytes), 2^53 in USD",
    );
}

fn offers(k: &mut Kit) {
    let answering = Offer {
        answers: vec![item("UA-SSSCIP/N1")],
        on_behalf_of: Some(Contributor {
            name: "Routers Oü".into(),
            kind: MemberKind::Company,
            country: "EE".into(),
        }),
        valid_until: Some(day("2025-03-01")),
        ..offer("EE-MFA/O1", 10, 100_000)
    };
    k.emit(
        EE,
        o(answering),
        "accepted",
        "EE-MFA offers, for a company, answering a need, valid until two days ago",
    );
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N2", ledger::body::CancelScope::Whole),
        "accepted",
        "UA-SSSCIP cancels its need N2",
    );
    let answers = |ids: &[&str]| Offer {
        answers: ids.iter().map(|s| item(s)).collect(),
        ..offer("EE-MFA/O2", 10, 100_000)
    };
    let cases: [(Offer, &str, &str); 4] = [
        (
            answers(&["UA-SSSCIP/N1", "UA-SSSCIP/N2"]),
            "rule_violation: need UA-SSSCIP/N2 is cancelled",
            "an offer answering a cancelled need",
        ),
        (
            answers(&["UA-SSSCIP/N7"]),
            "rule_violation: need UA-SSSCIP/N7 does not exist",
            "an offer answering no need",
        ),
        (
            answers(&["EE-MFA/O1"]),
            "rule_violation: need EE-MFA/O1 does not exist",
            "an offer answering an offer",
        ),
        (
            offer("DE-AA/O2", 10, 100_000),
            "rule_violation: item id DE-AA/O2 must start with the producer's id (EE-MFA/)",
            "an offer with DE-AA's item id",
        ),
    ];
    for (offer, want, label) in cases {
        k.emit(EE, o(offer), want, label);
    }
    k.emit(
        EE,
        o(offer("EE-MFA/O1", 1, 100)),
        "rule_violation: item id EE-MFA/O1 is already used",
        "an offer with the id of the first",
    );
    let reused = commitment("EE-MFA/O1", None, &["UA-SSSCIP/N1"], SSSCIP, 1, 100);
    k.emit(
        EE,
        Body::CommitmentMade(reused),
        "rule_violation: item id EE-MFA/O1 is already used",
        "a commitment with the offer's id: one namespace for every kind",
    );
    k.emit(
        SSSCIP,
        o(offer("UA-SSSCIP/O1", 1, 100)),
        "missing_role",
        "a recipient offers",
    );
}

fn offer_fields(k: &mut Kit) {
    let base = || offer("EE-MFA/O9", 10, 100_000);
    let company = |name: &str, country: &str| {
        Some(Contributor {
            name: name.into(),
            kind: MemberKind::Ngo,
            country: country.into(),
        })
    };
    let many: Vec<_> = (0..101).map(|i| item(&format!("UA-SSSCIP/N{i}"))).collect();
    let cases: [(Offer, &str, &str); 6] = [
        (
            Offer {
                on_behalf_of: company("", "EE"),
                ..base()
            },
            "offer_made.on_behalf_of.name: must not be empty",
            "a contributor without a name",
        ),
        (
            Offer {
                on_behalf_of: company("NGO", "EST"),
                ..base()
            },
            "offer_made.on_behalf_of.country: \"EST\" is not an ISO 3166-1 alpha-2 code",
            "a three-letter country",
        ),
        (
            Offer {
                dac_sector: Some(100_000),
                ..base()
            },
            "offer_made.dac_sector: 100000 is not a 5-digit OECD DAC sector code",
            "a 6-digit DAC code",
        ),
        (
            Offer {
                answers: vec![item("UA-SSSCIP/N1"), item("UA-SSSCIP/N1")],
                ..base()
            },
            "offer_made.answers: lists an item twice",
            "a need answered twice",
        ),
        (
            Offer {
                answers: many,
                ..base()
            },
            "offer_made.answers: must list at most 100 items",
            "101 needs answered",
        ),
        (
            Offer {
                value: money(100, "GB", 100),
                ..base()
            },
            "offer_made.value.currency: \"GB\" is not an ISO 4217 code",
            "a two-letter currency",
        ),
    ];
    for (offer, want, label) in cases {
        k.emit(EE, o(offer), &format!("invalid_field: {want}"), label);
    }
}
