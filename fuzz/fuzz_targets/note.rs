//! Signed notes, checkpoints, cosignatures, key texts, policies and the
//! portable evidence (`tallinn_fuzz::ledger_checks::note`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::ledger_checks::note(data);
});
