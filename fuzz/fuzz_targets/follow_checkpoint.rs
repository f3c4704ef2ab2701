//! Fuzzes the follower's checkpoint loader: any bytes give a checkpoint or an error naming the
//! file, never a panic; and a checkpoint that loads survives print, parse unchanged, printing the
//! same bytes again (parse, print, parse).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zeek::follow::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.json");
    match Checkpoint::from_json(data, path) {
        Ok(checkpoint) => {
            let printed = checkpoint.to_json();
            let again = Checkpoint::from_json(&printed, path).expect("a printed checkpoint loads");
            assert_eq!(again, checkpoint, "print, parse changes the checkpoint");
            assert_eq!(again.to_json(), printed, "printing is not stable");
        }
        Err(error) => assert!(error.to_string().starts_with("checkpoint fuzz.json: ")),
    }
});
