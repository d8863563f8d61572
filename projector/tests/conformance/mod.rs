//! The builders of the scenario files (`schemas/conformance/<name>.json`):
//! one function per file, each writing a log with the [`kit`].

pub mod crypto;
pub mod kit;

mod attacks;
mod cancellations;
mod changes;
mod commitments;
mod deliveries;
mod envelope;
mod genesis;
mod keys;
mod members;
mod needs_offers;

use kit::{Built, Kit};

/// Every built scenario, in file-name order. The `demo-year` file is not
/// here: `tests/tests/conformance.rs` makes it with the `tallinn` binary.
pub fn all() -> Vec<Built> {
    let mut all = vec![
        attacks::build(),
        cancellations::build(),
        changes::build(),
        commitments::build(),
        deliveries::build(),
        empty(),
        envelope::build(),
        genesis::build(),
        keys::build(),
        members::build(),
        needs_offers::build(),
    ];
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// No events: the digest of the empty model (RULES.md §6.3's test vector).
fn empty() -> Built {
    Kit::empty().finish(
        "empty",
        "A log with no entries: no verdicts; the digest of the empty model (RULES.md §6.3).",
    )
}
