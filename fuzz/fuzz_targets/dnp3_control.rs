//! Fuzzes ICSNPP dnp3_control lines into the process-value detector: arbitrary bytes after each
//! schema's header (`otsentry_fuzz::dnp3_control` holds the property).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otsentry_fuzz::dnp3_control::{HEADER_2021, HEADER_2023, check_dnp3_control};

fuzz_target!(|data: &[u8]| {
    check_dnp3_control(HEADER_2021, data);
    check_dnp3_control(HEADER_2023, data);
});
