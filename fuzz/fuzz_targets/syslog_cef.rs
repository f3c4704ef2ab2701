//! Fuzzes the syslog/CEF formatter and the CEF parser: any text in an alert round-trips through
//! RFC 5424 (read by syslog_loose) and CEF, and accepted CEF parses back to itself after printing
//! (the property is `otsentry_fuzz::syslog_cef::check_syslog_cef`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::syslog_cef::check_syslog_cef(data);
});
