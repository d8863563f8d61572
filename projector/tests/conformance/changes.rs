//! `changes.json`: `amended` and `corrected` of every item kind (RULES.md
//! §4.4, §5.3, §6.2): which fields apply, the bounds they keep, and how the
//! totals move: what an offer has committed, what a commitment has delivered.
//! Each move shows in the verdict (and reason) of a later event.

use ledger::body::{Body, CancelScope, ChangeFields, Priority};

use super::kit::*;

pub fn build() -> Built {
    let mut k = Kit::ledger();
    setup(&mut k);
    needs_and_offers(&mut k);
    commitments(&mut k);
    re_plans(&mut k);
    deliveries(&mut k);
    receipts(&mut k);
    static_checks(&mut k);
    cancelled_items(&mut k);
    k.finish(
        "changes",
        "Amendments and corrections of a need, an offer (O1: 10 routers, EUR 1,000.00), \
         a commitment on it (C1: 6 routers, EUR 600.00, two tranches), a delivery (D1: 2 \
         routers) and its receipt (R1: 2 accepted): the fields each kind takes, the \
         bounds (what is committed or delivered, what the recipient accepted, dates), \
         tranche re-plans, and the totals they move, seen in later verdicts.",
    )
}

fn tranches(n: u64, cents: u64) -> Option<Vec<ledger::body::Tranche>> {
    Some(vec![
        tranche("2025-04-01", n / 2, cents / 2),
        tranche("2025-05-01", n - n / 2, cents - cents / 2),
    ])
}

fn setup(k: &mut Kit) {
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "accepted",
        "UA-SSSCIP states N1: 50 laptops, EUR 60,000.00, high, by 2025-06-30",
    );
    k.emit(
        EE,
        Body::OfferMade(offer("EE-MFA/O1", 10, 100_000)),
        "accepted",
        "EE-MFA offers O1: 10 routers, EUR 1,000.00",
    );
    let c1 = ledger::body::Commitment {
        tranches: tranches(6, 60_000).expect("some"),
        ..commitment(
            "EE-MFA/C1",
            Some("EE-MFA/O1"),
            &["UA-SSSCIP/N1"],
            SSSCIP,
            6,
            60_000,
        )
    };
    k.emit(
        EE,
        Body::CommitmentMade(c1),
        "accepted",
        "C1 on O1: 6 routers, EUR 600.00, tranches 3 + 3 (O1: 6, EUR 600.00 committed)",
    );
    k.emit(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D1", "EE-MFA/C1", 2, 20_000, "2025-03-01")),
        "accepted",
        "D1 on C1: 2 routers, EUR 200.00, on 2025-03-01",
    );
    k.emit(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt("UA-SSSCIP/R1", "EE-MFA/D1", 2, "2025-03-02")),
        "accepted",
        "R1 of D1: 2 accepted on 2025-03-02",
    );
}

fn needs_and_offers(k: &mut Kit) {
    let all = ChangeFields {
        quantity: Some(40),
        value: Some(eur(5_000_000)),
        date: Some(day("2025-05-31")),
        priority: Some(Priority::Critical),
        description: Some("Laptops, hardened".into()),
        tranches: None,
    };
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", all),
        "accepted",
        "N1 amended: 40 laptops, EUR 50,000.00, by 2025-05-31, critical, a new description",
    );
    let plan = ChangeFields {
        tranches: Some(vec![]),
        ..ChangeFields::default()
    };
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", plan),
        "rule_violation: fields.tranches does not apply to a need",
        "N1 with tranches",
    );
    k.emit(
        NCCC,
        amend("UA-SSSCIP/N1", quantity(30)),
        "rule_violation: item UA-SSSCIP/N1 belongs to UA-SSSCIP, not UA-NCCC",
        "UA-NCCC amends N1",
    );
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N9", quantity(30)),
        "rule_violation: item UA-SSSCIP/N9 does not exist",
        "an amendment of nothing",
    );
    let urgent = ChangeFields {
        priority: Some(Priority::Low),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/O1", urgent),
        "rule_violation: fields.priority does not apply to a offer",
        "O1 with a priority",
    );
    k.emit(
        EE,
        amend("EE-MFA/O1", quantity(5)),
        "rule_violation: quantity below the 6 already committed",
        "O1 down to 5 routers",
    );
    k.emit(
        EE,
        amend("EE-MFA/O1", value(eur(50_000))),
        "rule_violation: value below the EUR 60000 cents already committed",
        "O1 down to EUR 500.00",
    );
    let smaller = ChangeFields {
        quantity: Some(8),
        value: Some(eur(80_000)),
        date: Some(day("2025-04-30")),
        description: Some("Hardened routers, 8 left".into()),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/O1", smaller),
        "accepted",
        "O1 amended: 8 routers, EUR 800.00, until 2025-04-30, a new description",
    );
}

fn commitments(k: &mut Kit) {
    let c2 = |n: u64, cents: u64| {
        Body::CommitmentMade(commitment(
            "EE-MFA/C2",
            Some("EE-MFA/O1"),
            &[],
            SSSCIP,
            n,
            cents,
        ))
    };
    k.emit(EE, c2(3, 10_000), "rule_violation: commitments on offer EE-MFA/O1 would reach 9 routers, more than the 8 offered", "C2 on O1: 3 routers");
    k.emit(EE, amend("EE-MFA/C1", quantity(4)), "invalid_field: commitment.fields.tranches: tranche quantities add up to 6, not the committed 4", "C1 down to 4 routers, tranches unchanged");
    let to = |n: u64, cents: u64| ChangeFields {
        quantity: Some(n),
        tranches: tranches(n, cents),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/C1", to(4, 60_000)),
        "accepted",
        "C1 down to 4 routers, tranches 2 + 2 (O1: 4 committed)",
    );
    k.emit(
        EE,
        c2(4, 20_000),
        "accepted",
        "C2 on O1: 4 routers, EUR 200.00 (O1: 8, EUR 800.00 committed)",
    );
    k.emit(EE, amend("EE-MFA/C1", to(5, 60_000)), "rule_violation: commitments on offer EE-MFA/O1 would reach 9 routers, more than the 8 offered", "C1 up to 5 routers");
    k.emit(EE, amend("EE-MFA/C1", value(eur(70_000))), "rule_violation: commitments on offer EE-MFA/O1 would reach EUR 90000 cents, more than the 80000 offered", "C1 up to EUR 700.00");
    k.emit(
        EE,
        amend("EE-MFA/C1", value(money(60_000, "USD", 55_000))),
        "rule_violation: value in USD, the commitment is in EUR",
        "C1 in USD",
    );
    k.emit(
        EE,
        amend("EE-MFA/C1", to(1, 60_000)),
        "rule_violation: the new quantity or value is below what is already delivered",
        "C1 down to 1 router, 2 delivered",
    );
    k.emit(
        EE,
        amend("EE-MFA/C1", date("2025-04-01")),
        "rule_violation: fields.date does not apply to a commitment",
        "C1 with a date",
    );
}

fn re_plans(k: &mut Kit) {
    let cheaper = ChangeFields {
        value: Some(eur(50_000)),
        tranches: tranches(4, 50_000),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/C1", cheaper),
        "accepted",
        "C1 down to EUR 500.00, tranches re-planned (O1: EUR 700.00 committed)",
    );
    let boxes = ledger::body::Commitment {
        quantity: qty(1, "boxes"),
        ..commitment("EE-MFA/C3", Some("EE-MFA/O1"), &[], SSSCIP, 1, 10_001)
    };
    k.emit(
        EE,
        Body::CommitmentMade(boxes),
        "rule_violation: would reach EUR 80001 cents, more than the 80000 offered",
        "C3 on O1: 1 box for EUR 100.01",
    );
    k.emit(EE, amend("EE-MFA/C1", value(eur(45_000))), "invalid_field: commitment.fields.tranches: tranche amounts add up to 50000, not the committed 45000", "C1 down to EUR 450.00, tranches unchanged");
    let text = ChangeFields {
        description: Some("Hardened routers, 4".into()),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/C1", text),
        "accepted",
        "C1's description only (the tranches are not checked)",
    );
    let many = ChangeFields {
        tranches: Some(vec![tranche("2025-04-01", 0, 0); 101]),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/C1", many),
        "invalid_field: amended.fields.tranches: too many tranches",
        "C1 with 101 tranches",
    );
}

fn deliveries(k: &mut Kit) {
    k.emit(
        EE,
        amend("EE-MFA/D1", quantity(3)),
        "rule_violation: a delivery cannot be amended; use a correction",
        "D1 amended",
    );
    let text = ChangeFields {
        description: Some("late".into()),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        correct("EE-MFA/D1", text),
        "rule_violation: fields.description does not apply to a delivery",
        "D1 with a description",
    );
    k.emit(
        EE,
        correct("EE-MFA/D1", quantity(1)),
        "rule_violation: the corrected quantity is below what the recipient accepted",
        "D1 corrected to 1 router, 2 accepted",
    );
    k.emit(
        EE,
        correct("EE-MFA/D1", quantity(5)),
        "rule_violation: the corrected delivery would exceed the commitment",
        "D1 corrected to 5 routers of C1's 4",
    );
    k.emit(
        EE,
        correct("EE-MFA/D1", date("2025-03-04")),
        "rule_violation: fields.date 2025-03-04 (delivered_on) is after the event was recorded",
        "D1 delivered tomorrow",
    );
    k.emit(
        EE,
        correct("EE-MFA/D1", value(money(20_000, "USD", 18_000))),
        "rule_violation: value in USD, the commitment is in EUR",
        "D1 in USD",
    );
    let fixed = ChangeFields {
        quantity: Some(3),
        value: Some(eur(30_000)),
        date: Some(day("2025-02-28")),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        correct("EE-MFA/D1", fixed),
        "accepted",
        "D1 corrected: 3 routers, EUR 300.00, on 2025-02-28 (C1: 3 delivered)",
    );
    let to2 = ChangeFields {
        quantity: Some(2),
        tranches: tranches(2, 50_000),
        ..ChangeFields::default()
    };
    k.emit(
        EE,
        amend("EE-MFA/C1", to2),
        "rule_violation: the new quantity or value is below what is already delivered",
        "C1 down to 2 routers",
    );
}

fn receipts(k: &mut Kit) {
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/R1", quantity(1)),
        "rule_violation: a receipt cannot be amended; use a correction",
        "R1 amended",
    );
    k.emit(
        SSSCIP,
        correct("UA-SSSCIP/R1", value(eur(100))),
        "rule_violation: fields.value does not apply to a receipt",
        "R1 with a value",
    );
    k.emit(
        SSSCIP,
        correct("UA-SSSCIP/R1", quantity(4)),
        "rule_violation: quantity accepted above the 3 delivered",
        "R1 corrected to 4 of D1's 3",
    );
    k.emit(SSSCIP, correct("UA-SSSCIP/R1", date("2025-02-27")), "rule_violation: fields.date 2025-02-27 (received_on) must be between the delivery (2025-02-28) and the day the event was recorded", "R1 received before D1");
    let fixed = ChangeFields {
        quantity: Some(1),
        date: Some(day("2025-03-03")),
        description: Some("two broken".into()),
        ..ChangeFields::default()
    };
    k.emit(
        SSSCIP,
        correct("UA-SSSCIP/R1", fixed),
        "accepted",
        "R1 corrected: 1 accepted, received today, a note",
    );
}

fn static_checks(k: &mut Kit) {
    let no_reason = Body::Amended(ledger::body::Change {
        target: item("UA-SSSCIP/N1"),
        fields: quantity(30),
        reason: String::new(),
    });
    k.emit(
        SSSCIP,
        no_reason,
        "invalid_field: amended.reason: must not be empty",
        "an amendment without a reason",
    );
    k.emit(
        SSSCIP,
        correct("UA-SSSCIP/N1", ChangeFields::default()),
        "invalid_field: corrected.fields: must change at least one field",
        "a correction of nothing",
    );
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", value(money(100, "Eur", 100))),
        "invalid_field: amended.fields.value.currency: \"Eur\" is not an ISO 4217 code",
        "a value in \"Eur\"",
    );
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", quantity(0)),
        "invalid_field: amended.fields.quantity: must be greater than zero",
        "zero laptops",
    );
    let text = ChangeFields {
        description: Some(String::new()),
        ..ChangeFields::default()
    };
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", text),
        "invalid_field: amended.fields.description: must not be empty",
        "an empty description",
    );
}

fn cancelled_items(k: &mut Kit) {
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N1", CancelScope::Whole),
        "accepted",
        "N1 cancelled",
    );
    k.emit(
        SSSCIP,
        amend("UA-SSSCIP/N1", quantity(30)),
        "rule_violation: need UA-SSSCIP/N1 is cancelled",
        "N1 amended",
    );
    k.emit(
        EE,
        cancel("EE-MFA/O1", CancelScope::Whole),
        "accepted",
        "O1 cancelled",
    );
    k.emit(
        EE,
        amend("EE-MFA/O1", quantity(9)),
        "rule_violation: offer EE-MFA/O1 is cancelled",
        "O1 amended",
    );
    let to = |n: u64| ChangeFields {
        quantity: Some(n),
        tranches: tranches(n, 50_000),
        ..ChangeFields::default()
    };
    k.emit(EE, amend("EE-MFA/C1", to(6)), "rule_violation: commitments on offer EE-MFA/O1 would reach 10 routers, more than the 8 offered", "C1 up to 6 routers: the cancelled O1 still bounds it");
    k.emit(
        EE,
        cancel("EE-MFA/C2", CancelScope::Whole),
        "accepted",
        "C2 cancelled (O1: 4 routers, EUR 500.00 committed)",
    );
    k.emit(
        EE,
        amend("EE-MFA/C2", quantity(3)),
        "rule_violation: commitment EE-MFA/C2 is cancelled",
        "C2 amended",
    );
    k.emit(
        EE,
        amend("EE-MFA/C1", to(6)),
        "accepted",
        "C1 up to 6 routers (O1: 6 committed)",
    );
}
