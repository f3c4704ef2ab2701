//! Fuzzes the JSON side of the Zeek line decoder: a valid first object fixes the format, then
//! arbitrary bytes follow as further lines.

#![no_main]

use libfuzzer_sys::fuzz_target;

const FIRST: &[u8] =
    b"{\"ts\":1.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"service\":[\"modbus\"]}\n";

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::check_stream(FIRST, data);
});
