//! The property of the `dnp3_control` fuzz target: arbitrary lines under ICSNPP's dnp3_control
//! headers (the 2021 schema and the 2023 one with `is_orig`) reach the process-value detector as
//! the view reads them, and training on them makes none of them a finding.
//!
//! - The adapter (`features::from_zeek`) and the typed view (`Dnp3ControlColumns`) agree on
//!   every record: both refuse it, the adapter skips it for a masked time the view also reads, or
//!   the control event holds exactly the view's fields, with an echo named `RESPONSE` as a
//!   response when the log has no direction column.
//! - The learner and the detector never panic, and a detector trained on the stream finds
//!   nothing in the same stream: a command seen in training is never new (unless a point has
//!   more function or code names than the baseline keeps, or there are more points).

use otsentry::detect::Detector as _;
use otsentry::detect::baseline::Learner as _;
use otsentry::detect::process_value::control::{MAX_NAMES, MAX_POINTS};
use otsentry::detect::process_value::{Learner, ProcessValueDetector};
use otsentry::features::event_block::EventBlock;
use otsentry::features::from_zeek::{LogKind, Skip, ZeekAdapter};
use otsentry::features::{Direction, EventKind};
use zeek::views::Direction as ViewDirection;
use zeek::{Decoder, Dnp3ControlColumns, Line, ReadOptions, ViewCache};

/// The 2021 schema's header, as in `icsnpp-dnp3/examples-2021/dnp3_control.log`.
pub const HEADER_2021: &[u8] = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdnp3_control\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tblock_type\tfunction_code\tindex_number\ttrip_control_code\toperation_type\texecute_count\ton_time\toff_time\tstatus_code\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tcount\tstring\tstring\tcount\tcount\tcount\tstring\n";

/// The 2023 schema's header, as in `icsnpp-dnp3/baseline-head/dnp3_control.log`.
pub const HEADER_2023: &[u8] = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdnp3_control\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tis_orig\tsource_h\tsource_p\tdestination_h\tdestination_p\tblock_type\tfunction_code\tindex_number\ttrip_control_code\toperation_type\tclear_bit\texecute_count\ton_time\toff_time\tstatus_code\n#types\ttime\tstring\taddr\tport\taddr\tport\tbool\taddr\tport\taddr\tport\tstring\tstring\tcount\tstring\tstring\tbool\tcount\tcount\tcount\tstring\n";

/// Feeds `data` after `header` and checks the properties.
pub fn check_dnp3_control(header: &[u8], data: &[u8]) {
    let mut input = header.to_vec();
    input.extend_from_slice(data);
    let mut decoder = Decoder::new(None, &ReadOptions::default());
    let mut adapter = ZeekAdapter::new();
    let mut view = ViewCache::<Dnp3ControlColumns>::default();
    let mut events = EventBlock::default();
    for (idx, line) in input.split(|byte| *byte == b'\n').enumerate() {
        let record = match decoder.feed(line, idx as u64 + 1) {
            Ok(Line::Record(record)) => record,
            Ok(_) => continue,
            Err(_) => break,
        };
        let direct = view.read(&record);
        let adapted = adapter.with_event(LogKind::Dnp3Control, &record, |event| events.push(event));
        let row = match (direct, adapted) {
            (Err(_), Err(_)) => continue,
            (Ok(row), Ok(Err(Skip::MaskedTime))) => {
                assert!(row.common.ts.seconds().is_none(), "{row:?}");
                continue;
            }
            (Ok(row), Ok(Ok(()))) => row,
            (direct, adapted) => panic!("the view read {direct:?}, the adapter {adapted:?}"),
        };
        // The event just pushed, as the detector will be lent it.
        let event = events
            .iter()
            .nth(events.len() - 1)
            .expect("the adapter's event was kept");
        let EventKind::Control(control) = event.kind else {
            panic!("a dnp3_control line is a control event: {event:?}");
        };
        assert_eq!(event.ts, row.common.ts.seconds().unwrap());
        assert_eq!(event.uid, row.common.uid);
        assert_eq!(event.edge.orig_h, row.common.id.orig_h);
        assert_eq!(event.edge.resp_h, row.common.id.resp_h);
        assert_eq!(event.edge.resp_p, row.common.id.resp_p);
        let text = |field: &Option<std::borrow::Cow<'_, str>>, unset: &'static str| {
            field.as_deref().unwrap_or(unset).to_string()
        };
        assert_eq!(control.function, text(&row.function_code, "-"));
        assert_eq!(control.block_type, text(&row.block_type, ""));
        assert_eq!(control.trip_control_code, text(&row.trip_control_code, ""));
        assert_eq!(control.operation_type, text(&row.operation_type, ""));
        assert_eq!(control.status_code, text(&row.status_code, ""));
        assert_eq!(control.index, row.index_number);
        assert_eq!(control.execute_count, row.execute_count);
        assert_eq!(control.on_time, row.on_time);
        assert_eq!(control.off_time, row.off_time);
        let direction = match row.direction {
            Some(ViewDirection::Request) => Direction::Request,
            Some(ViewDirection::Response) => Direction::Response,
            None if control.function.eq_ignore_ascii_case("RESPONSE") => Direction::Response,
            None => Direction::Request,
        };
        assert_eq!(control.direction, direction);
    }

    let mut learner = Learner::default();
    for event in events.iter() {
        learner.observe_values(&event);
    }
    let baseline = learner.into_baseline();
    let complete = baseline.control_overflow == 0
        && baseline.controls.len() < MAX_POINTS
        && baseline
            .controls
            .iter()
            .all(|(_, point)| point.functions.len() < MAX_NAMES && point.codes.len() < MAX_NAMES);
    let mut detector = ProcessValueDetector::new(Some(baseline));
    let mut findings = Vec::new();
    for event in events.iter() {
        detector.observe_values(&event, &mut findings);
    }
    if complete {
        assert!(
            findings.is_empty(),
            "a command seen in training is no finding: {findings:#?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnp3_control_regressions() {
        let lines: &[&[u8]] = &[
            b"",
            b"1583870011.491939\tC1\t10.10.20.5\t55355\t10.10.20.8\t20000\tControl Relay Output Block\tSELECT\t8\tClose\tPulse Off\t1\t500\t0\tSuccess\n1583870011.491939\tC1\t10.10.20.5\t55355\t10.10.20.8\t20000\tControl Relay Output Block\tRESPONSE\t8\tClose\tPulse Off\t1\t500\t0\tSuccess",
            // An index past u32, a name past the kept length, unset fields, a bad count.
            b"1\tC\t10.0.0.1\t1\t10.0.0.2\t20000\t-\t-\t99999999999\t-\t-\t-\t-\t-\t-",
            b"1\tC\t10.0.0.1\t1\t10.0.0.2\t20000\tx\tOPERATE\t1\tTripTripTripTripTripTripTripTripTripTripTripTripTripTripTripTripTrip\t-\t1\t1\t1\t-",
            b"1\tC\t10.0.0.1\t1\t10.0.0.2\t20000\tx\tOPERATE\t1\tTrip\t-\tmany\t1\t1\t-",
            b"XXXXXXXXXX.XXXXXX\tC\t10.0.0.1\t1\t10.0.0.2\t20000\tx\tOPERATE\t1\tTrip\t-\t1\t1\t1\t-",
        ];
        for data in lines {
            check_dnp3_control(HEADER_2021, data);
            check_dnp3_control(HEADER_2023, data);
        }
        check_dnp3_control(
            HEADER_2023,
            b"1\tC\t10.0.0.1\t1\t10.0.0.2\t20000\tF\t10.0.0.2\t20000\t10.0.0.1\t1\tControl Relay Output Block\tOPERATE\t3\tTrip\tPulse On\tF\t1\t500\t0\t-",
        );
    }
}
