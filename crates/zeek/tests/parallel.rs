//! The parallel reader gives exactly what the sequential one gives: the same records in the same
//! order with the same line numbers and headers, the same problems, the same strict-mode stop and
//! the same empty files, whatever the block size and the number of threads. Checked on every
//! real log vendored in tests/data/zeek-real and, when present, in ../shared/data/zeek-real, on
//! the repository's fixtures (several header blocks, JSON, gzip, bad lines), and on generated
//! streams (a property test).

#[path = "../../../tests/shared_data/mod.rs"]
mod shared_data;

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use zeek::{LogFile, LogReader, Parallelism, ReadOptions, Record, ZeekError, discover, read_files};

/// One record as the test compares it: line number, log path of its header, field texts.
type Row = (u64, Option<String>, Vec<Option<String>>);

/// Everything a read produced: records, problems as "file:line: kind", empty files.
#[derive(Debug, PartialEq)]
struct Outcome {
    rows: Vec<Row>,
    problems: (u64, Vec<String>),
    empty_files: Vec<PathBuf>,
}

fn row_of(record: &Record<'_>) -> Row {
    (
        record.line_number(),
        record.header().path().map(str::to_owned),
        (0..record.len())
            .map(|idx| record.get(idx).as_str().map(str::to_owned))
            .collect(),
    )
}

fn sequential(files: &[LogFile], options: &ReadOptions) -> Result<Outcome, String> {
    let mut reader = LogReader::from_files(files.to_vec(), options);
    let mut rows = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(record)) => rows.push(row_of(&record)),
            Ok(None) => break,
            Err(error) => return Err(format!("{error} after {} records", rows.len())),
        }
    }
    let problems = reader.problems();
    Ok(Outcome {
        rows,
        problems: (
            problems.total(),
            problems.kept().iter().map(ToString::to_string).collect(),
        ),
        empty_files: reader.empty_files().to_vec(),
    })
}

fn parallel(
    files: &[LogFile],
    options: &ReadOptions,
    workers: usize,
    block_bytes: usize,
) -> Result<Outcome, String> {
    let parallelism = Parallelism {
        workers: NonZeroUsize::new(workers).expect("at least one worker"),
        block_bytes,
    };
    let mut rows = Vec::new();
    let summary = read_files(
        files,
        options,
        parallelism,
        || (),
        |_, record, block: &mut Vec<Row>| block.push(row_of(record)),
        |block| {
            rows.extend(block);
            Ok::<(), ZeekError>(())
        },
    );
    match summary {
        Ok(summary) => {
            assert_eq!(summary.records, rows.len() as u64);
            Ok(Outcome {
                rows,
                problems: (
                    summary.problems.total(),
                    summary
                        .problems
                        .kept()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                ),
                empty_files: summary.empty_files,
            })
        }
        Err(error) => Err(format!("{error} after {} records", rows.len())),
    }
}

fn assert_same(files: &[LogFile], options: &ReadOptions) {
    let expected = sequential(files, options);
    for (workers, block_bytes) in [(1, 1), (2, 64), (3, 4096), (2, 1 << 20)] {
        let found = parallel(files, options, workers, block_bytes);
        assert_eq!(
            found, expected,
            "{workers} workers, {block_bytes}-byte blocks, files {files:?}"
        );
    }
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Checks every log under `root` one by one; `at_least` guards against a mistyped directory.
fn every_log_reads_the_same(root: &Path, at_least: usize) {
    let files = discover(&[root]).expect("the real logs are found");
    assert!(
        files.len() >= at_least,
        "only {} real logs found",
        files.len()
    );
    for file in files {
        assert_same(std::slice::from_ref(&file), &ReadOptions::default());
    }
}

#[test]
fn every_vendored_real_log_reads_the_same_in_parallel() {
    every_log_reads_the_same(&shared_data::vendored("zeek-real"), 100);
}

#[test]
fn every_real_log_reads_the_same_in_parallel() {
    if let Some(root) = shared_data::shared_data("zeek-real") {
        every_log_reads_the_same(&root, 176);
    }
}

#[test]
fn the_fixtures_read_the_same_in_parallel_one_by_one_and_all_together() {
    let files = discover(&[repo_path("tests/data/zeek")]).expect("fixtures are found");
    assert!(files.len() > 5);
    for file in &files {
        assert_same(std::slice::from_ref(file), &ReadOptions::default());
        let strict = ReadOptions {
            strict: true,
            ..ReadOptions::default()
        };
        assert_same(std::slice::from_ref(file), &strict);
    }
}

/// Generated streams: header blocks (some without `#fields`, some with a `#close`), data lines
/// of the right and wrong width, blank lines, and JSON files, cut into blocks of any size.
fn stream() -> impl Strategy<Value = String> {
    let data_line = (1u64..1_000_000, 0usize..4, any::<bool>()).prop_map(|(value, extra, crlf)| {
        let mut line = format!("{value}.5\tC{value}\t10.0.0.{}", value % 250);
        for _ in 0..extra {
            line.push_str("\tx");
        }
        if crlf {
            line.push('\r');
        }
        line
    });
    let part = prop_oneof![
        6 => prop::collection::vec(data_line, 1..40).prop_map(|lines| lines.join("\n")),
        1 => Just("#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\n#types\ttime\tstring\taddr".to_string()),
        1 => Just("#separator \\x09\n#path\tmodbus\n#fields\tts\tuid\tid.orig_h\tfunc".to_string()),
        1 => Just("#close\t2026-11-01-00-00-00".to_string()),
        1 => Just(String::new()),
        1 => Just("#path\tbroken".to_string()),
    ];
    prop::collection::vec(part, 1..12).prop_map(|parts| {
        let mut text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\n".to_string();
        text.push_str(&parts.join("\n"));
        text
    })
}

fn json_stream() -> impl Strategy<Value = String> {
    prop::collection::vec((0u64..1000, any::<bool>()), 1..60).prop_map(|lines| {
        lines
            .iter()
            .map(|(value, extra)| {
                if *extra {
                    format!("{{\"ts\":{value}.25,\"uid\":\"C{value}\",\"extra\":{value}}}")
                } else if value % 17 == 0 {
                    "{not json".to_string()
                } else {
                    format!("{{\"ts\":{value}.25,\"uid\":\"C{value}\"}}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_streams_read_the_same_in_parallel(
        texts in prop::collection::vec(prop_oneof![stream(), json_stream(), Just(String::new())], 1..4),
        block_bytes in 1usize..600,
        workers in 1usize..4,
        strict in any::<bool>(),
        trailing_newline in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut files = Vec::new();
        for (idx, text) in texts.iter().enumerate() {
            let path = dir.path().join(format!("conn.2026-11-0{}-00-00-00.log", idx + 1));
            let mut file = std::fs::File::create(&path).expect("create");
            file.write_all(text.as_bytes()).expect("write");
            if trailing_newline {
                file.write_all(b"\n").expect("write");
            }
            files.push(LogFile::new(path));
        }
        let options = ReadOptions { strict, max_problems_kept: 5, ..ReadOptions::default() };
        let expected = sequential(&files, &options);
        prop_assert_eq!(parallel(&files, &options, workers, block_bytes), expected);
    }
}

#[test]
fn gzip_and_plain_files_read_together_the_same_in_parallel() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\n"
        .to_string()
        + &(0..5000)
            .map(|idx| format!("{idx}.000001\tC{idx}\n"))
            .collect::<String>();
    let plain = dir.path().join("conn.log");
    std::fs::write(&plain, &text).expect("write");
    let gz = dir.path().join("conn.2026-11-01-00-00-00.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    encoder.write_all(text.as_bytes()).expect("compress");
    encoder.finish().expect("finish");
    let files = discover(&[dir.path()]).expect("found");
    assert_eq!(files.len(), 2);
    assert_same(&files, &ReadOptions::default());
}

#[test]
fn a_truncated_gzip_file_fails_the_same_way_after_the_same_records() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n".to_string()
        + &(0..20_000)
            .map(|idx| format!("{idx}.5\tC{idx}\n"))
            .collect::<String>();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).expect("compress");
    let bytes = encoder.finish().expect("finish");
    let path = dir.path().join("conn.log.gz");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let files = vec![LogFile::new(path)];
    let expected = sequential(&files, &ReadOptions::default());
    assert!(
        expected
            .as_ref()
            .is_err_and(|error| error.contains("truncated gzip")),
        "{expected:?}"
    );
    // Both readers hand out every whole line decompressed before the cut, then the error.
    assert_same(&files, &ReadOptions::default());
}

#[test]
fn a_consumer_error_stops_the_read_and_is_returned() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("conn.log");
    let text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n".to_string()
        + &(0..1000)
            .map(|idx| format!("{idx}.5\tC{idx}\n"))
            .collect::<String>();
    std::fs::write(&path, text).expect("write");
    let files = vec![LogFile::new(path)];
    let parallelism = Parallelism {
        workers: NonZeroUsize::new(2).expect("two"),
        block_bytes: 16,
    };
    #[derive(Debug, PartialEq)]
    enum Stop {
        Enough,
        Read(String),
    }
    impl From<ZeekError> for Stop {
        fn from(error: ZeekError) -> Stop {
            Stop::Read(error.to_string())
        }
    }
    let mut blocks = 0;
    let result = read_files(
        &files,
        &ReadOptions::default(),
        parallelism,
        || (),
        |_, _, count: &mut u64| *count += 1,
        |_| {
            blocks += 1;
            if blocks == 3 {
                Err(Stop::Enough)
            } else {
                Ok(())
            }
        },
    );
    assert_eq!(result.err(), Some(Stop::Enough));
    assert_eq!(blocks, 3);
}

/// A `SourceTap` sees every byte of every file as stored (gzip still compressed), in order, with
/// a call of no bytes at each open, in the sequential and the parallel reader alike.
#[test]
fn a_source_tap_sees_every_file_as_stored_once_in_order() {
    use std::sync::{Arc, Mutex};
    use zeek::SourceTap;

    // The fixtures that read to the end (some stop at a fatal error by design).
    let files: Vec<LogFile> = discover(&[repo_path("tests/data/zeek")])
        .expect("fixtures are found")
        .into_iter()
        .filter(|file| sequential(std::slice::from_ref(file), &ReadOptions::default()).is_ok())
        .collect();
    assert!(files.len() > 5);
    assert!(
        files
            .iter()
            .any(|file| file.path.extension().is_some_and(|ext| ext == "gz")),
        "the fixtures include gzip"
    );
    // A file's path and the bytes the tap saw of it.
    type Seen = (PathBuf, Vec<u8>);
    let expected: Vec<Seen> = files
        .iter()
        .map(|file| {
            (
                file.path.clone(),
                std::fs::read(&file.path).expect("readable"),
            )
        })
        .collect();
    let tapped = |read: &dyn Fn(&ReadOptions)| {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let options = ReadOptions {
            source_tap: Some(SourceTap::new(move |path: &Path, bytes: &[u8]| {
                let mut seen = sink.lock().expect("not poisoned");
                if bytes.is_empty() {
                    seen.push((path.to_path_buf(), Vec::new()));
                } else {
                    let last = seen.last_mut().expect("an open before the bytes");
                    assert_eq!(last.0, path);
                    last.1.extend_from_slice(bytes);
                }
            })),
            ..ReadOptions::default()
        };
        read(&options);
        seen.lock().expect("not poisoned").clone()
    };
    let sequential_seen = tapped(&|options| {
        sequential(&files, options).expect("the fixtures read");
    });
    assert!(sequential_seen == expected, "the sequential reader's tap");
    for (workers, block_bytes) in [(1, 64), (2, 1 << 20)] {
        let parallel_seen = tapped(&|options| {
            parallel(&files, options, workers, block_bytes).expect("the fixtures read");
        });
        assert!(
            parallel_seen == expected,
            "{workers} workers, {block_bytes}-byte blocks"
        );
    }
}
