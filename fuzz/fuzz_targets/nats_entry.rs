//! A JetStream message as a log entry: subject member, receipt time header,
//! payload (`tallinn_fuzz::nats_checks::nats_entry`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::nats_checks::nats_entry(data);
});
