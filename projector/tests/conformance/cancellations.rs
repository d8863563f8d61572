//! `cancellations.json`: `cancelled` of every item kind and scope (RULES.md
//! §4.4, §5.4): what a cancelled commitment gives back to its offer (whole, or
//! the part not delivered), seen in the commitments the offer takes after.

use ledger::body::{Body, CancelScope};

use super::kit::*;

use CancelScope::{RemainingBalance, Whole};

pub fn build() -> Built {
    let mut k = Kit::ledger();
    setup(&mut k);
    release(&mut k);
    cancelled_commitments(&mut k);
    needs_and_offers(&mut k);
    k.finish(
        "cancellations",
        "Cancellations: C1 (6 of O1's 10 routers, 2 delivered) can only cancel its \
         remaining balance, which gives back 4 routers and EUR 400.00 to O1; C2 (4, none \
         delivered) cancels its remaining balance, C3 its whole; a cancelled commitment \
         takes no delivery or second cancellation, but its delivery is still \
         acknowledged and corrected. Needs and offers cancel whole, once; deliveries and \
         receipts never.",
    )
}

fn c(id: &str, n: u64, cents: u64) -> Body {
    Body::CommitmentMade(commitment(id, Some("EE-MFA/O1"), &[], SSSCIP, n, cents))
}

fn setup(k: &mut Kit) {
    k.emit(
        SSSCIP,
        Body::NeedStated(need("UA-SSSCIP/N1", SSSCIP)),
        "accepted",
        "UA-SSSCIP states N1",
    );
    k.emit(
        EE,
        Body::OfferMade(offer("EE-MFA/O1", 10, 100_000)),
        "accepted",
        "EE-MFA offers O1: 10 routers, EUR 1,000.00",
    );
    k.emit(
        EE,
        c("EE-MFA/C1", 6, 60_000),
        "accepted",
        "C1 on O1: 6 routers, EUR 600.00",
    );
    k.emit(
        EE,
        c("EE-MFA/C2", 4, 40_000),
        "accepted",
        "C2 on O1: 4 routers, EUR 400.00 (O1 fully committed)",
    );
    k.emit(
        EE,
        c("EE-MFA/C3", 1, 0),
        "rule_violation: would reach 11 routers, more than the 10 offered",
        "C3 on O1: 1 router",
    );
    k.emit(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D1", "EE-MFA/C1", 2, 20_000, "2025-03-01")),
        "accepted",
        "D1 on C1: 2 routers, EUR 200.00",
    );
}

fn release(k: &mut Kit) {
    k.emit(
        EE,
        cancel("EE-MFA/C1", Whole),
        "rule_violation: commitment EE-MFA/C1 has deliveries: cancel its remaining balance instead",
        "C1 cancelled whole",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C1", RemainingBalance),
        "accepted",
        "C1's remaining balance cancelled (O1: 6 routers, EUR 600.00 committed)",
    );
    k.emit(
        EE,
        c("EE-MFA/C3", 5, 40_000),
        "rule_violation: would reach 11 routers, more than the 10 offered",
        "C3 on O1: 5 routers",
    );
    k.emit(
        EE,
        c("EE-MFA/C3", 4, 40_001),
        "rule_violation: would reach EUR 100001 cents, more than the 100000 offered",
        "C3 on O1: 4 routers, EUR 400.01",
    );
    k.emit(
        EE,
        c("EE-MFA/C3", 4, 40_000),
        "accepted",
        "C3 on O1: 4 routers, EUR 400.00 (O1 fully committed)",
    );
}

fn cancelled_commitments(k: &mut Kit) {
    k.emit(
        EE,
        cancel("EE-MFA/C1", RemainingBalance),
        "rule_violation: commitment EE-MFA/C1 is already cancelled",
        "C1's remaining balance again",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C1", Whole),
        "rule_violation: commitment EE-MFA/C1 is already cancelled",
        "C1 whole",
    );
    k.emit(
        EE,
        Body::DeliveryRecorded(delivery("EE-MFA/D2", "EE-MFA/C1", 1, 100, "2025-03-02")),
        "rule_violation: commitment EE-MFA/C1 is cancelled",
        "D2 on C1",
    );
    k.emit(
        SSSCIP,
        Body::ReceiptAcknowledged(receipt("UA-SSSCIP/R1", "EE-MFA/D1", 2, "2025-03-02")),
        "accepted",
        "R1 of D1 (on the cancelled C1): 2 accepted",
    );
    k.emit(EE, correct("EE-MFA/D1", quantity(3)), "accepted", "D1 corrected to 3 routers: the cancelled C1's delivery still corrects (O1 is not given anything back again)");
    k.emit(
        EE,
        cancel("EE-MFA/C2", RemainingBalance),
        "accepted",
        "C2's remaining balance, nothing delivered (O1: 6 routers, EUR 600.00 committed)",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C2", Whole),
        "rule_violation: commitment EE-MFA/C2 is already cancelled",
        "C2 whole",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C3", Whole),
        "accepted",
        "C3 cancelled whole (O1: 2 routers, EUR 200.00 committed)",
    );
    k.emit(
        EE,
        c("EE-MFA/C4", 8, 80_000),
        "accepted",
        "C4 on O1: 8 routers, EUR 800.00 (O1 fully committed)",
    );
    k.emit(
        EE,
        c("EE-MFA/C5", 1, 0),
        "rule_violation: would reach 11 routers",
        "C5 on O1: 1 router",
    );
    k.emit(
        EE,
        cancel("EE-MFA/D1", RemainingBalance),
        "rule_violation: a delivery cannot be cancelled; correct it instead",
        "D1 cancelled",
    );
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/R1", Whole),
        "rule_violation: a receipt cannot be cancelled; correct it instead",
        "R1 cancelled",
    );
}

fn needs_and_offers(k: &mut Kit) {
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N1", RemainingBalance),
        "rule_violation: only commitments have a remaining balance to cancel",
        "N1's remaining balance",
    );
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N1", Whole),
        "accepted",
        "N1 cancelled",
    );
    k.emit(
        SSSCIP,
        cancel("UA-SSSCIP/N1", Whole),
        "rule_violation: UA-SSSCIP/N1 is already cancelled",
        "N1 again",
    );
    k.emit(
        EE,
        cancel("EE-MFA/O1", RemainingBalance),
        "rule_violation: only commitments have a remaining balance to cancel",
        "O1's remaining balance",
    );
    k.emit(EE, cancel("EE-MFA/O1", Whole), "accepted", "O1 cancelled");
    k.emit(
        EE,
        cancel("EE-MFA/O1", Whole),
        "rule_violation: EE-MFA/O1 is already cancelled",
        "O1 again",
    );
    k.emit(
        EE,
        cancel("EE-MFA/C4", RemainingBalance),
        "accepted",
        "C4's remaining balance (on the cancelled O1)",
    );
    k.emit(
        EE,
        cancel("EE-MFA/X9", Whole),
        "rule_violation: item EE-MFA/X9 does not exist",
        "a cancellation of nothing",
    );
    k.emit(
        DE,
        cancel("EE-MFA/C4", Whole),
        "rule_violation: item EE-MFA/C4 belongs to EE-MFA, not DE-AA",
        "DE-AA cancels C4",
    );
    let no_reason = Body::Cancelled(ledger::body::Cancellation {
        target: item("EE-MFA/C4"),
        scope: Whole,
        reason: String::new(),
    });
    k.emit(
        EE,
        no_reason,
        "invalid_field: cancelled.reason: must not be empty",
        "a cancellation without a reason",
    );
}
