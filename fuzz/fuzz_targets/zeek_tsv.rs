//! Fuzzes the TSV side of the Zeek line decoder: arbitrary bytes after a valid header (so data
//! lines are reached), and arbitrary bytes alone (so header parsing and format detection are).

#![no_main]

use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tservice\n#types\ttime\tstring\taddr\tset[string]\n";

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::check_stream(HEADER, data);
    otsentry_fuzz::check_stream(b"", data);
});
