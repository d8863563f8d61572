//! Properties of the Tallinn ledger's parsers and verifiers on untrusted
//! input, driven by the cargo-fuzz targets in `fuzz_targets/` (see
//! `README.md`). `fixtures`, `ledger_checks` and `bundle_checks` are also
//! included by path from the stable proptests (`ledger/tests/no_panic.rs`,
//! `projector/tests/no_panic.rs`), so both drive the same properties.

pub mod bundle_checks;
pub mod fixtures;
pub mod ledger_checks;
pub mod nats_checks;
