//! Leaf bytes (`envelope || signature`) as an event: decode, re-encode exactly,
//! verify under fixed keys, judge, fold, report, export and audit
//! (`tallinn_fuzz::ledger_checks::envelope`, `bundle_checks::exported_event`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::ledger_checks::envelope(data);
    tallinn_fuzz::bundle_checks::exported_event(data);
});
