//! C2SP tlog-proof texts and the RFC 9162 inclusion and consistency proof
//! verifiers (`tallinn_fuzz::ledger_checks::proofs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::ledger_checks::proofs(data);
});
