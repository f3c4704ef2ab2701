//! Fuzzes the byte size parser of `watch --spool-cap`: every text reads as an independent
//! reading predicts, and printed sizes read back (the property is
//! `otsentry_fuzz::byte_size::check_byte_size`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::byte_size::check_byte_size(data);
});
