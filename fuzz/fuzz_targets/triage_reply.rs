//! Fuzzes the triage reply parser and the contract behind it: any answer a model gives never
//! panics and always becomes advice that satisfies the contract (`check_triage_reply`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::check_triage_reply(data);
});
