//! `tallinn publish` input: JSON lines into bodies (`serde_path_to_error`,
//! then `Body::validate`), with JSON and bincode round trips
//! (`tallinn_fuzz::ledger_checks::body_jsonl`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::ledger_checks::body_jsonl(data);
});
