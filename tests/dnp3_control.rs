//! The DNP3 control baseline on ICSNPP's own `dnp3_control.log` samples (shared data): what the
//! process-value detector learns per point from a real log read by the real reader, that the
//! same commands give no finding, and that a real line changed into a command outside the
//! baseline gives the finding its rule names.

mod shared_data;

use std::path::Path;

use otsentry::detect::baseline::Learner as _;
use otsentry::detect::process_value::{Learner, ProcessValueDetector, ValueBaseline};
use otsentry::detect::{Detector as _, Finding};
use otsentry::features::{EventKind, FlowEvent};
use otsentry::sources::{SourceOptions, walk};
use shared_data::shared_data;

/// Every control event of `path`, handed to `visit`; the source's counts.
fn read(path: &Path, mut visit: impl FnMut(&FlowEvent<'_>)) -> otsentry::sources::SourceStats {
    walk::<_, zeek::ZeekError>(
        &[path],
        &SourceOptions::default(),
        |_| {},
        |event| {
            assert!(
                matches!(event.kind, EventKind::Control(_)),
                "{event:?} from {}",
                path.display()
            );
            visit(event);
            Ok(())
        },
    )
    .unwrap()
}

fn learn(path: &Path) -> ValueBaseline {
    let mut learner = Box::new(Learner::default());
    let stats = read(path, |event| learner.observe_values(event));
    assert_eq!(stats.parse_errors, 0);
    assert_eq!(stats.skipped_other_logs, 0, "dnp3_control is read");
    postcard::from_bytes(&learner.finish().unwrap().body).unwrap()
}

fn judge(detector: &mut ProcessValueDetector, path: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    read(path, |event| detector.observe_values(event, &mut findings));
    findings
}

#[test]
fn icsnpp_controls_are_learnt_per_point_and_judged() {
    let Some(dir) = shared_data("zeek-real/icsnpp-dnp3") else {
        return;
    };
    let log = dir.join("examples-2021/dnp3_control.log");
    let baseline = learn(&log);
    // The sample operates points 0 to 13 of one outstation: even points closed with a 500 ms
    // pulse off, odd points tripped with a 500 ms pulse on, each by SELECT then OPERATE.
    assert_eq!(baseline.controls.len(), 14, "{:#?}", baseline.controls);
    for (key, point) in &baseline.controls {
        assert_eq!(key.device.to_string(), "10.10.20.8");
        assert_eq!(point.functions, vec!["OPERATE", "SELECT"], "{key}");
        let codes = if key.index % 2 == 0 {
            ("Close", "Pulse Off")
        } else {
            ("Trip", "Pulse On")
        };
        assert_eq!(
            point.codes,
            vec![(codes.0.to_string(), codes.1.to_string())],
            "{key}"
        );
        assert_eq!(point.on_time, Some((500, 500)));
        assert_eq!(point.execute_count, Some((1, 1)));
    }

    let mut detector = ProcessValueDetector::new(Some(baseline.clone()));
    assert!(judge(&mut detector, &log).is_empty(), "training itself");

    // Real lines changed: a 5 s pulse on point 8, a trip of point 8, point 20 operated.
    let text = std::fs::read_to_string(&log).unwrap();
    let header: Vec<&str> = text
        .lines()
        .take_while(|line| line.starts_with('#'))
        .collect();
    let select_8 = text
        .lines()
        .find(|line| line.contains("\tSELECT\t8\t"))
        .unwrap();
    let changed = [
        (
            select_8.replace("\t500\t0\t", "\t5000\t0\t"),
            "control_timing",
            "on time 5000 ms",
        ),
        (
            select_8.replace("Close\tPulse Off", "Trip\tPulse On"),
            "new_control_code",
            "trip code Trip, operation Pulse On",
        ),
        (
            select_8.replace("\tSELECT\t8\t", "\tDIRECT_OPERATE\t8\t"),
            "new_control_code",
            "function DIRECT_OPERATE",
        ),
        (
            select_8.replace("\tSELECT\t8\t", "\tSELECT\t20\t"),
            "new_control_point",
            "SELECT of control relay output block 20 of 10.10.20.8 from 10.10.20.5",
        ),
    ];
    let scratch = tempfile::tempdir().unwrap();
    for (line, rule, observed) in changed {
        let path = scratch.path().join("dnp3_control.log");
        std::fs::write(&path, format!("{}\n{line}\n", header.join("\n"))).unwrap();
        let findings = judge(&mut detector, &path);
        assert_eq!(findings.len(), 1, "{line}: {findings:#?}");
        assert_eq!(findings[0].rule, rule);
        assert!(
            findings[0].reasons[0].observed.starts_with(observed),
            "{rule}: {:#?}",
            findings[0].reasons
        );
    }

    // The 2023 schema (with `is_orig`): its times are masked in the test baseline, so every line
    // is counted as such, none is an error or an unknown log.
    let newer = read(&dir.join("baseline-head/dnp3_control.log"), |_| {});
    assert_eq!((newer.parse_errors, newer.skipped_other_logs), (0, 0));
    assert!(newer.masked_time > 500, "{newer:?}");
}
