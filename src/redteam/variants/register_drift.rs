//! The register-value drift: a register the process-value detector learnt (from
//! `modbus_detailed` values), the steadiest relative to its level (a setpoint: the register an
//! attacker creeps), read on its own edge with its own function, its value creeping from
//! its training level by `register_change` (default +10 %) linearly over `register_days`
//! (default 7), one read every `register_read_secs` (default 60 s, or the edge's own cycle when
//! slower). The baseline keeps no median of a register: its training level (the mean of its
//! training hourly means, the CUSUM's reference) stands in for it. A control day of the same
//! reads at the level runs first through a fresh pipeline: a process-value alert on it means the
//! detector rejects the register itself, so the variant fails.
//!
//! Requirement: a process-value alert on or before day `register_required_first_day` (default
//! 5) and none on the control day.

use std::sync::Arc;

use super::{Plant, Record, RecordKind, VariantConfig, VariantError, VariantResult, score};
use crate::detect::process_value::{
    self, BASELINE_VERSION, RegisterBaseline, RegisterKey, Table, ValueBaseline,
};
use crate::features::Proto;
use crate::model::LoadedModel;

const TEST: &str = "register_drift";
const DAY_SECS: f64 = 86_400.0;

/// The function that reads a table.
fn read_function(table: Table) -> &'static str {
    match table {
        Table::Coil => "READ_COILS",
        Table::DiscreteInput => "READ_DISCRETE_INPUTS",
        Table::InputRegister => "READ_INPUT_REGISTERS",
        Table::HoldingRegister => "READ_HOLDING_REGISTERS",
    }
}

/// The register an attacker would creep: judged for drift, not a counter, not at rest near zero,
/// and the steadiest relative to its level (a setpoint, which nothing but a write moves); the
/// most read among equals.
fn choose(baseline: &ValueBaseline) -> Option<(RegisterKey, RegisterBaseline, f64)> {
    let noise = |register: &RegisterBaseline| {
        register
            .drift
            .map_or(f64::INFINITY, |drift| drift.unit / drift.level.abs())
    };
    baseline
        .registers
        .iter()
        .filter_map(|(key, register)| {
            let level = register.drift?.level;
            (!register.counter && level.abs() >= 1.0).then_some((*key, *register, level))
        })
        .min_by(|a, b| {
            noise(&a.1)
                .total_cmp(&noise(&b.1))
                .then_with(|| b.1.values.cmp(&a.1.values))
                .then_with(|| a.0.cmp(&b.0))
        })
}

pub(super) fn run(
    model: &Arc<LoadedModel>,
    plant: &Plant,
    config: &VariantConfig,
) -> Result<VariantResult, VariantError> {
    let requirement = format!(
        "a process_value alert on or before day {} of {}, none on the undrifted control day",
        config.register_required_first_day, config.register_days
    );
    let baseline: Option<ValueBaseline> =
        crate::detect::baseline::decode(model, process_value::NAME, BASELINE_VERSION)?;
    let Some((key, register, level)) = baseline.as_ref().and_then(choose) else {
        return Ok(VariantResult::not_run(
            TEST,
            requirement,
            "the model learnt no register value to drift (no modbus_detailed values with a day of training hours)".into(),
        ));
    };
    let function = read_function(key.table);
    // Its own edge: the busiest poller of the device that reads this table.
    let edge = plant
        .requests
        .iter()
        .filter(|edge| edge.resp == key.device)
        .max_by_key(|edge| {
            (
                edge.labels.iter().any(|label| label == function),
                edge.count,
            )
        });
    let (orig, port, interval) = match edge {
        Some(edge) => (edge.orig, edge.port, edge.interval.unwrap_or(plant.cycle)),
        None => (plant.unused_host(key.device, &[]), 502, plant.cycle),
    };
    let every = config.register_read_secs.max(interval);
    let n_reads = ((f64::from(config.register_days) * DAY_SECS) / every).floor() as u64;
    let n_control = (DAY_SECS / every).floor() as u64;
    // Registers hold integers when training saw only integers.
    let integral = register.min.fract() == 0.0 && register.max.fract() == 0.0;
    let shown = |value: f64| {
        if integral {
            format!("{}", value.round())
        } else {
            format!("{value:.3}")
        }
    };
    let reads = |n: u64, value: &dyn Fn(u64) -> f64| -> Vec<Record> {
        (0..n)
            .map(|index| Record {
                ts: plant.start_ts + every * index as f64,
                uid: format!("Cvariant-register{index}"),
                orig,
                orig_p: 40_000 + (index % 20_000) as u16,
                resp: key.device,
                port,
                proto: Proto::Tcp,
                service: "modbus".to_string(),
                ot: true,
                kind: RecordKind::Values {
                    unit: Some(u64::from(key.unit)),
                    function: function.to_string(),
                    address: u64::from(key.address),
                    values: shown(value(index)),
                },
            })
            .collect()
    };
    let target = level * (1.0 + config.register_change);
    let step = (target - level) / (n_reads.max(2) - 1) as f64;
    let control = score(model, config, TEST, &reads(n_control, &|_| level))?;
    let drift = score(
        model,
        config,
        TEST,
        &reads(n_reads, &|index| level + step * index as f64),
    )?;
    let (alerts, first) = drift.of(process_value::NAME);
    let control_alerts = control.of(process_value::NAME).0;
    let first_day = first.map(|ts| ((ts - drift.start_ts) / DAY_SECS).floor() as u32 + 1);
    let caught_by = drift
        .first
        .as_ref()
        .map(|(_, finding)| finding.clone())
        .filter(|finding| finding.starts_with(process_value::NAME));
    Ok(VariantResult {
        test: TEST.to_string(),
        injected: format!(
            "{key} read by {orig} ({function}) every {every:.0} s, {} -> {} ({:+.0} %) over {} day(s)",
            shown(level),
            shown(target),
            config.register_change * 100.0,
            config.register_days
        ),
        caught_by: caught_by.or_else(|| first.map(|_| process_value::NAME.to_string())),
        detectors: drift.detectors_by_time(),
        caught: alerts,
        total: n_reads,
        unit: "process_value alerts over reads".to_string(),
        first_detection_secs: first.map(|ts| ts - drift.start_ts),
        requirement,
        passed: first_day.is_some_and(|day| day <= config.register_required_first_day)
            && control_alerts == 0,
        details: vec![format!(
            "training level {} (range {} to {}, {} values); first detection day {}; {control_alerts} process_value alert(s) on the control day",
            shown(level),
            register.min,
            register.max,
            register.values,
            first_day.map_or("never".to_string(), |day| day.to_string())
        )],
    })
}
