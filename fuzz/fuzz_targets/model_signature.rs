//! Fuzzes the model signature file parser (`MODEL.sig`): any text is refused with an error
//! naming the file, or parses to a file that prints and parses back equal, that no key it was not
//! signed by accepts, and whose manifest, signed again, verifies (`check_model_signature`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    otsentry_fuzz::check_model_signature(data);
});
