//! The properties the Zeek reader fuzz targets check, shared by the TSV and JSON targets.
//!
//! Beyond "never panics": every fed line is accounted for exactly once (a record, a header or
//! blank line, or a problem) until a fatal error ends the stream, and every record survives
//! parse, print, parse: printing its decoded fields as a Zeek TSV line and reading that line
//! back gives the same fields.

use zeek::escape::{EscapeContext, escape_into};
use zeek::{Decoder, Field, Line, ReadOptions};

const CONTEXT: EscapeContext<'static> = EscapeContext {
    separator: b'\t',
    set_separator: ",",
    unset_field: "-",
    empty_field: "(empty)",
    in_set: false,
};

/// Feeds `data` line by line (after `prefix`, if any) and checks both properties.
pub fn check_stream(prefix: &[u8], data: &[u8]) {
    let mut input = prefix.to_vec();
    input.extend_from_slice(data);
    let mut decoder = Decoder::new(None, &ReadOptions::default());
    let (mut records, mut meta, mut problems, mut fed) = (0usize, 0usize, 0usize, 0usize);
    for (idx, line) in input.split(|byte| *byte == b'\n').enumerate() {
        fed += 1;
        match decoder.feed(line, idx as u64 + 1) {
            Ok(Line::Record(record)) => {
                records += 1;
                assert_eq!(
                    record.len(),
                    record.header().len(),
                    "a record has one field per column"
                );
                let fields: Vec<Field<'static>> = (0..record.len())
                    .map(|idx| record.get(idx).into_owned())
                    .collect();
                check_round_trip(&fields);
            }
            Ok(Line::Meta) => meta += 1,
            Ok(Line::Problem(problem)) => {
                assert_eq!(problem.line, idx as u64 + 1, "a problem names its own line");
                problems += 1;
            }
            Err(_) => return,
        }
    }
    assert_eq!(
        records + meta + problems,
        fed,
        "every line is accounted for once"
    );
}

/// Prints `fields` as a TSV line under a header of as many columns and reads it back.
fn check_round_trip(fields: &[Field<'static>]) {
    // A lone empty value prints as a blank line, which Zeek never writes.
    if fields.len() == 1 && fields[0] == Field::Value("".into()) {
        return;
    }
    let names: Vec<String> = (0..fields.len()).map(|idx| format!("c{idx}")).collect();
    let header = format!("#fields\t{}", names.join("\t"));
    let mut line = String::new();
    for (idx, field) in fields.iter().enumerate() {
        if idx > 0 {
            line.push('\t');
        }
        match field {
            Field::Unset => line.push('-'),
            Field::Empty => line.push_str("(empty)"),
            Field::Value(value) => escape_into(value, &CONTEXT, &mut line),
        }
    }
    let mut decoder = Decoder::new(None, &ReadOptions::default());
    assert!(matches!(decoder.feed(header.as_bytes(), 1), Ok(Line::Meta)));
    match decoder.feed(line.as_bytes(), 2) {
        Ok(Line::Record(record)) => {
            let again: Vec<Field<'static>> = (0..record.len())
                .map(|idx| record.get(idx).into_owned())
                .collect();
            assert_eq!(
                again, fields,
                "parse, print, parse gives the same fields (line {line:?})"
            );
        }
        other => panic!("a printed record did not read back: {other:?} from {line:?}"),
    }
}
