//! Issue 10's false-positive measurement: a 40-PLC plant, a 30-day baseline, and a benign
//! held-out week that includes the weekly maintenance window, the shift reports and vendor
//! remote access; at most one alert a day. The same week scored with a 7-day baseline is printed
//! beside it, to show what a short baseline costs.
//!
//! The plant is `PlantConfig::fp_plant()`: the default 40-PLC plant with every poller at five
//! minutes, so that 37 days are about 2 million lines (docs/detectors.md gives the figures and
//! the equivalent commands). It runs the library's own pipeline: simulate, train, score.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use otsentry::alerts::{Alert, AlertState};
use otsentry::model::ModelFile;
use otsentry::score::{ScoreConfig, score};
use otsentry::simulate::{PlantConfig, SimulationSummary, run};
use otsentry::sinks::{Sink, SinkError};
use otsentry::train::{TrainConfig, train};

const DAY: f64 = 86_400.0;
/// The plant's engineering workstation (`ews-01`).
const EWS: &str = "10.10.3.30";

/// The alerts opened, by UTC day.
#[derive(Default)]
struct Opened {
    alerts: Vec<Alert>,
}

impl Sink for Opened {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if alert.state == AlertState::Open {
            self.alerts.push(alert.clone());
        }
        Ok(())
    }
}

/// The rotated daily files of the days `[from, to)` (epoch seconds of UTC midnights).
fn files_of_days(simulation: &SimulationSummary, from: f64, to: f64) -> Vec<PathBuf> {
    simulation
        .log_paths()
        .into_iter()
        .filter(|path| {
            // The file still open at the end (`conn.log`) holds the last day.
            let day = file_day(path).unwrap_or(simulation.end_us as f64 / 1e6 - DAY);
            day >= from && day < to
        })
        .collect()
}

/// The UTC midnight a rotated daily file opens at, from its name
/// (`conn.2026-10-01-00-00-00.log`); `None` for the file still open (`conn.log`).
fn file_day(path: &Path) -> Option<f64> {
    let name = path.file_name().unwrap().to_string_lossy();
    let stamp = name.split('.').nth(1).filter(|stamp| stamp.len() >= 10)?;
    let date = time::Date::parse(
        &stamp[..10],
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap_or_else(|error| panic!("{name}: {error}"));
    Some(date.midnight().assume_utc().unix_timestamp() as f64)
}

/// Trains on the days `[from, held_out)` and scores the held-out week (with the day before it
/// as the pipeline's warm-up, emitting nothing): the alerts opened in the week.
fn measure(
    simulation: &SimulationSummary,
    dir: &Path,
    from: f64,
    held_out: f64,
    name: &str,
) -> Vec<Alert> {
    let mut config = TrainConfig::new(files_of_days(simulation, from, held_out));
    config.until = Some(held_out);
    config.allow_short_baseline = held_out - from < 14.0 * DAY;
    let trained = train(&config, |_| {}).unwrap();
    let path = dir.join(format!("{name}.model"));
    trained.model.write(&path).unwrap();
    let model = Arc::new(ModelFile::load(&path).unwrap());
    let mut score_config = ScoreConfig::new(
        files_of_days(simulation, held_out - DAY, held_out + 7.0 * DAY),
        &model,
    );
    score_config.pipeline.emit_from = Some(held_out);
    score_config.pipeline.inventory = Some(Arc::new(
        otsentry::inventory::load_inventory(&[simulation.out_dir.join("inventory.yaml")]).unwrap(),
    ));
    let mut opened = Opened::default();
    score(model, &score_config, |_| {}, &mut opened).unwrap();
    opened.alerts
}

fn per_day(alerts: &[Alert], held_out: f64) -> [usize; 7] {
    let mut days = [0; 7];
    for alert in alerts {
        let day = ((alert.first_seen - held_out) / DAY).floor();
        assert!(
            (0.0..7.0).contains(&day),
            "alert outside the week: {alert:?}"
        );
        days[day as usize] += 1;
    }
    days
}

fn print(name: &str, alerts: &[Alert], held_out: f64) {
    let days = per_day(alerts, held_out);
    println!(
        "{name}: {} alerts in the held-out week, per day {days:?}",
        alerts.len()
    );
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for alert in alerts {
        *rules
            .entry(format!("{}.{}", alert.detector, alert.rule))
            .or_default() += 1;
    }
    for (rule, count) in &rules {
        println!("  {rule}: {count}");
    }
    for alert in alerts {
        println!(
            "  {} {} {} {:?}: {}",
            otsentry::simulate::rfc3339((alert.first_seen * 1e6) as i64),
            alert.severity,
            alert.title,
            alert.subject,
            alert
                .reasons
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
}

#[test]
fn a_benign_week_of_a_40_plc_plant_with_a_30_day_and_a_7_day_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let config = PlantConfig {
        rotation: otsentry::simulate::Rotation::Daily,
        ..PlantConfig::fp_plant()
    };
    assert_eq!(config.plcs, 40);
    let config = config.check().unwrap();
    let simulation = run(&config, &dir.path().join("logs")).unwrap();
    assert!(simulation.labels.is_empty(), "a benign plant");
    let start = simulation.start_us as f64 / 1e6;
    let held_out = simulation.attack_start_us as f64 / 1e6;
    assert_eq!(held_out - start, 30.0 * DAY, "a 30-day baseline");
    println!(
        "40-PLC plant: {} lines over 37 days",
        simulation.total_lines
    );

    // The held-out week holds what a benign week of the plant holds.
    let week = time::OffsetDateTime::from_unix_timestamp(held_out as i64).unwrap();
    println!("held-out week from {week}");

    let month = measure(&simulation, dir.path(), start, held_out, "baseline-30d");
    print("30-day baseline", &month, held_out);
    let week_baseline = measure(
        &simulation,
        dir.path(),
        held_out - 7.0 * DAY,
        held_out,
        "baseline-7d",
    );
    print("7-day baseline", &week_baseline, held_out);

    // The bar: at most one alert a day. The Wednesday is the hard day: the engineering
    // workstation maintains three PLCs a week in turn, so 30 days have seen it on 12 of the 32
    // Modbus PLCs and the week's three are edges never seen in training. They are alerted, as
    // one maintenance session (grouped by the workstation until the window closes, each PLC
    // listed, severity lowered one level), once across conn.log and modbus.log.
    let days = per_day(&month, held_out);
    assert!(
        days.iter().all(|&count| count <= 1),
        "at most one alert a day with a 30-day baseline: {days:?}"
    );
    let session: Vec<&Alert> = month
        .iter()
        .filter(|alert| {
            alert.rule == "new_edge"
                && alert.subject.src == Some(EWS.parse().unwrap())
                && alert
                    .assets
                    .as_ref()
                    .is_some_and(|ends| ends.destination.maintenance_active())
        })
        .collect();
    assert_eq!(
        session.len(),
        1,
        "the week's maintenance is one alert, never hidden: {month:#?}"
    );
    assert_eq!(session[0].subject.dst, None, "grouped by the workstation");
    assert!(
        session[0].reasons.iter().any(|reason| reason
            .observed
            .contains("until the maintenance window closes")),
        "{:?}",
        session[0].reasons
    );
    // A week of baseline has seen each weekday once, the maintenance of three PLCs and a week
    // of DNP3 commands: it does no better than a month on the same week.
    assert!(
        week_baseline.len() >= month.len(),
        "7-day baseline {} alerts, 30-day {}",
        week_baseline.len(),
        month.len()
    );
}
