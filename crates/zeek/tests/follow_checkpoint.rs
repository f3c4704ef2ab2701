//! The follower's checkpoint file: every way it can be wrong (empty, cut short, not JSON,
//! another program's JSON, another version, bad entries) gives an error naming the file and
//! what is wrong; saving is atomic and leaves no temporary file; and any valid checkpoint
//! survives parse, print, parse unchanged (a property test).

mod follow_support;

use std::path::Path;

use follow_support::{append, header, lines, stamp, uids};
use proptest::prelude::*;
use zeek::follow::{Checkpoint, FollowOptions, Follower};

const FINGERPRINT: &str = "0123456789abcdef0123456789abcdef";

fn entry(fields: &str) -> String {
    format!(
        "{{\"checkpoint\":\"zeek-follow\",\"version\":1,\"files\":[{{\"fingerprint\":\"{FINGERPRINT}\",\"path\":\"/logs/conn.log\",\"offset\":100,\"lines\":9,\"complete\":false,\"last_seen\":1,{fields}}}]}}"
    )
}

const TSV_HEADER: &str = "\"format\":\"tsv\",\"header\":{\"separator\":9,\"set_separator\":\",\",\"empty_field\":\"(empty)\",\"unset_field\":\"-\",\"path\":\"conn\",\"open\":\"2026-11-01-10-00-00\",\"fields\":[\"ts\",\"uid\"],\"types\":[\"time\",\"string\"],\"line_number\":9}";

/// Loading `text` fails with a message that names the file and contains `expected`.
fn check_error(text: &str, expected: &str) {
    let error = Checkpoint::from_json(text.as_bytes(), Path::new("/var/lib/otsentry/follow.json"))
        .expect_err(text);
    let message = error.to_string();
    assert!(
        message.starts_with("checkpoint /var/lib/otsentry/follow.json: "),
        "{message}"
    );
    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
}

#[test]
fn a_valid_checkpoint_loads() {
    let checkpoint = Checkpoint::from_json(entry(TSV_HEADER).as_bytes(), Path::new("c.json"))
        .expect("the checkpoint is valid");
    let file = &checkpoint.files()[0];
    assert_eq!(file.fingerprint().to_string(), FINGERPRINT);
    assert_eq!(
        (file.offset(), file.lines(), file.complete()),
        (100, 9, false)
    );
    let header = file.header().expect("a header");
    assert_eq!(header.fields(), ["ts", "uid"]);
    assert_eq!(header.separator(), b'\t');
}

#[test]
fn broken_files_are_named_with_what_is_wrong() {
    let valid = entry(TSV_HEADER);
    check_error("", "the file is empty");
    check_error("  \n", "the file is empty");
    check_error(&valid[..valid.len() / 2], "ends early");
    check_error("\u{1}\u{2}garbage", "not valid JSON at line 1 column 1");
    check_error("[1, 2]", "not a zeek follow checkpoint");
    check_error(
        "{\"name\":\"vector\",\"offsets\":{}}",
        "found an object without that key",
    );
    check_error(
        "{\"checkpoint\":\"vector-file-source\",\"version\":1,\"files\":[]}",
        "found \"checkpoint\": \"vector-file-source\"",
    );
    check_error(
        "{\"checkpoint\":\"zeek-follow\",\"version\":2,\"files\":[]}",
        "format version 2 is not supported (this build reads version 1)",
    );
    check_error(
        "{\"checkpoint\":\"zeek-follow\",\"files\":[]}",
        "format version none",
    );
    check_error(
        "{\"checkpoint\":\"zeek-follow\",\"version\":1,\"files\":{}}",
        "\"files\" must be a list, found an object",
    );
    check_error(
        "{\"checkpoint\":\"zeek-follow\",\"version\":1,\"files\":[],\"extra\":0}",
        "unknown key \"extra\"",
    );
}

#[test]
fn bad_entries_are_named_by_their_index() {
    check_error(
        &entry(TSV_HEADER).replace(FINGERPRINT, "xyz"),
        "files[0]: fingerprint: expected 32 lower-case hex digits, found \"xyz\"",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"offset\":100", "\"offset\":-1"),
        "files[0]: invalid value",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"offset\":100,", ""),
        "files[0]: missing field `offset`",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"lines\":9", "\"lines\":101"),
        "files[0]: 101 lines cannot fit in the 100 bytes",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"types\":[\"time\",\"string\"]", "\"types\":[\"time\"]"),
        "files[0]: header: 1 types for 2 fields",
    );
    check_error(
        &entry(TSV_HEADER).replace(
            "\"fields\":[\"ts\",\"uid\"],\"types\":[\"time\",\"string\"]",
            "\"fields\":[],\"types\":[]",
        ),
        "files[0]: header: no fields",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"separator\":9", "\"separator\":10"),
        "line break cannot be the separator",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"separator\":9", "\"separator\":300"),
        "files[0]: invalid value",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"format\":\"tsv\"", "\"format\":null"),
        "files[0]: a header needs a format",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"format\":\"tsv\"", "\"format\":\"csv\""),
        "files[0]: unknown variant `csv`",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"format\":\"tsv\"", "\"format\":\"json\""),
        "files[0]: header: a JSON header has Zeek's default markers",
    );
    check_error(
        &entry(&format!("{TSV_HEADER},\"inode\":5")),
        "files[0]: unknown field `inode`",
    );
    check_error(
        &entry(TSV_HEADER).replace("\"offset\":100,\"lines\":9", "\"offset\":0,\"lines\":0"),
        "files[0]: a file read from its start cannot have a format or header yet",
    );
    let valid = entry(TSV_HEADER);
    let files = &valid[valid.find('[').unwrap() + 1..valid.rfind(']').unwrap()];
    let twice = valid.replace(files, &format!("{files},{files}"));
    check_error(
        &twice,
        &format!("files[1]: fingerprint {FINGERPRINT} is listed twice"),
    );
}

#[test]
fn a_missing_or_unreadable_checkpoint_is_an_error_and_a_missing_one_can_mean_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.json");
    let error = Checkpoint::load(&missing).expect_err("there is no file");
    assert!(
        error.to_string().contains("none.json: cannot read it"),
        "{error}"
    );
    assert!(Checkpoint::load_if_exists(&missing).unwrap().is_none());
    let error = Checkpoint::load(dir.path()).expect_err("a directory is not a checkpoint");
    assert!(error.to_string().contains("cannot read it"), "{error}");
}

#[test]
fn saving_is_atomic_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=2)));
    let mut follower = Follower::new(FollowOptions::new(vec![log.clone()]), None);
    assert_eq!(uids(&mut follower), ["A1", "A2"]);
    let state = dir.path().join("state.json");
    std::fs::write(&state, "an older checkpoint").unwrap();
    follower.checkpoint().save(&state).unwrap();
    let loaded = Checkpoint::load(&state).unwrap();
    assert_eq!(loaded, follower.checkpoint());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let error = follower
        .checkpoint()
        .save(&dir.path().join("no/such/dir/state.json"))
        .expect_err("the directory is missing");
    let message = error.to_string();
    assert!(
        message.contains("no/such/dir/state.json: creating the temporary file failed"),
        "{message}"
    );
}

fn header_json() -> impl Strategy<Value = String> {
    let name = "[a-z_.]{1,12}";
    (
        prop::collection::vec(name, 1..6),
        any::<bool>(),
        prop::option::of("[ -~]{0,20}"),
        0u64..1_000_000,
    )
        .prop_map(|(fields, typed, open, line_number)| {
            let types: Vec<String> = if typed {
                fields.iter().map(|_| "string".to_owned()).collect()
            } else {
                Vec::new()
            };
            serde_json_like(&fields, &types, open.as_deref(), line_number)
        })
}

/// A TSV header entry as the checkpoint writes it.
fn serde_json_like(
    fields: &[String],
    types: &[String],
    open: Option<&str>,
    line_number: u64,
) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
        format!("[{}]", quoted.join(","))
    };
    let open = open.map_or("null".to_owned(), |open| format!("{open:?}"));
    format!(
        "\"format\":\"tsv\",\"header\":{{\"separator\":9,\"set_separator\":\",\",\"empty_field\":\"(empty)\",\"unset_field\":\"-\",\"path\":\"conn\",\"open\":{open},\"fields\":{},\"types\":{},\"line_number\":{line_number}}}",
        list(fields),
        list(types)
    )
}

fn checkpoint_json() -> impl Strategy<Value = String> {
    let file = (
        prop::collection::vec(0u8..16, 32),
        "[a-z/]{1,20}",
        1u64..1 << 40,
        any::<bool>(),
        prop::option::of(header_json()),
    )
        .prop_map(|(digits, path, offset, complete, header)| {
            let fingerprint: String = digits.iter().map(|digit| format!("{digit:x}")).collect();
            let state = header.unwrap_or_else(|| "\"format\":null,\"header\":null".to_owned());
            format!(
                "{{\"fingerprint\":\"{fingerprint}\",\"path\":\"{path}\",\"offset\":{offset},\"lines\":{},\"complete\":{complete},\"last_seen\":{offset},{state}}}",
                offset / 2
            )
        });
    prop::collection::vec(file, 0..5).prop_map(|files| {
        format!(
            "{{\"checkpoint\":\"zeek-follow\",\"version\":1,\"files\":[{}]}}",
            files.join(",")
        )
    })
}

proptest! {
    #[test]
    fn a_valid_checkpoint_survives_parse_print_parse(json in checkpoint_json()) {
        let path = Path::new("c.json");
        // 128-bit fingerprints drawn at random do not repeat, so every drawn checkpoint is valid.
        let first = Checkpoint::from_json(json.as_bytes(), path).expect("a valid checkpoint parses");
        let printed = first.to_json();
        let second = Checkpoint::from_json(&printed, path).expect("a printed checkpoint parses");
        prop_assert_eq!(&second, &first);
        prop_assert_eq!(second.to_json(), printed);
    }

    #[test]
    fn any_bytes_give_a_checkpoint_or_an_error_naming_the_file(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        match Checkpoint::from_json(&bytes, Path::new("c.json")) {
            Ok(checkpoint) => {
                let again = Checkpoint::from_json(&checkpoint.to_json(), Path::new("c.json"));
                prop_assert_eq!(again.ok(), Some(checkpoint));
            }
            Err(error) => prop_assert!(error.to_string().starts_with("checkpoint c.json: ")),
        }
    }
}
