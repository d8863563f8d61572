//! An audit bundle (JSON, at most 64 KiB): read as `tallinn audit verify`
//! reads it, compared across the three readers, and audited with the default
//! trust (`tallinn_fuzz::bundle_checks::bundle`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tallinn_fuzz::bundle_checks::bundle(data);
});
