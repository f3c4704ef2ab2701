//! The simulator's configuration: what a caller asks for ([`PlantConfig`]) and the checked form
//! that a run accepts ([`ValidPlantConfig`]).

use std::fmt;
use std::str::FromStr;

use time::{Date, Weekday};
use zeek::write::LogFormat;

/// One attack scenario the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    NewSource,
    SetpointDrift,
    LateralMovement,
    WriteFromReader,
    NetworkScan,
    Dnp3ColdRestart,
    ExceptionEnumeration,
    ForgedWrite,
    /// Not in the attack window: present from the run's first hour to its end, so it poisons
    /// any training window (`all` leaves it out; name it to inject it).
    PersistentBeacon,
}

impl Scenario {
    /// The scenarios of the attack window: what `all` injects.
    pub const WINDOW: [Scenario; 8] = [
        Scenario::NewSource,
        Scenario::SetpointDrift,
        Scenario::LateralMovement,
        Scenario::WriteFromReader,
        Scenario::NetworkScan,
        Scenario::Dnp3ColdRestart,
        Scenario::ExceptionEnumeration,
        Scenario::ForgedWrite,
    ];

    /// Every scenario the simulator knows: the attack window's and the persistent beacon.
    pub const ALL: [Scenario; 9] = [
        Scenario::NewSource,
        Scenario::SetpointDrift,
        Scenario::LateralMovement,
        Scenario::WriteFromReader,
        Scenario::NetworkScan,
        Scenario::Dnp3ColdRestart,
        Scenario::ExceptionEnumeration,
        Scenario::ForgedWrite,
        Scenario::PersistentBeacon,
    ];

    /// The name used on the command line and in labels.jsonl.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::NewSource => "new_source",
            Scenario::SetpointDrift => "setpoint_drift",
            Scenario::LateralMovement => "lateral_movement",
            Scenario::WriteFromReader => "write_from_reader",
            Scenario::NetworkScan => "network_scan",
            Scenario::Dnp3ColdRestart => "dnp3_cold_restart",
            Scenario::ExceptionEnumeration => "exception_enumeration",
            Scenario::ForgedWrite => "forged_write",
            Scenario::PersistentBeacon => "persistent_beacon",
        }
    }

    /// The MITRE ATT&CK for ICS technique (id, name) the scenario exercises.
    pub fn technique(self) -> (&'static str, &'static str) {
        match self {
            Scenario::NewSource => ("T0848", "Rogue Master"),
            Scenario::SetpointDrift => ("T0836", "Modify Parameter"),
            Scenario::LateralMovement => ("T0886", "Remote Services"),
            Scenario::WriteFromReader => ("T0855", "Unauthorized Command Message"),
            Scenario::NetworkScan => ("T0846", "Remote System Discovery"),
            Scenario::Dnp3ColdRestart => ("T0816", "Device Restart/Shutdown"),
            Scenario::ExceptionEnumeration => ("T0861", "Point & Tag Identification"),
            Scenario::ForgedWrite => ("T0855", "Unauthorized Command Message"),
            Scenario::PersistentBeacon => ("T0869", "Standard Application Layer Protocol"),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == text.trim())
            .ok_or_else(|| ConfigError::UnknownScenario(text.trim().to_owned()))
    }
}

/// Which scenarios to inject: `all` (the attack window's), `none`, or a comma-separated list
/// of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackSelection(pub Vec<Scenario>);

impl AttackSelection {
    /// Every scenario of the attack window; the persistent beacon only when named.
    pub fn all() -> Self {
        AttackSelection(Scenario::WINDOW.to_vec())
    }

    pub fn none() -> Self {
        AttackSelection(Vec::new())
    }

    pub fn contains(&self, scenario: Scenario) -> bool {
        self.0.contains(&scenario)
    }
}

impl FromStr for AttackSelection {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "all" => Ok(AttackSelection::all()),
            "none" | "" => Ok(AttackSelection::none()),
            list => {
                let mut scenarios = list
                    .split(',')
                    .map(Scenario::from_str)
                    .collect::<Result<Vec<_>, _>>()?;
                scenarios.sort();
                scenarios.dedup();
                Ok(AttackSelection(scenarios))
            }
        }
    }
}

/// How often the log files are rotated (closed and renamed with their opening time, as Zeek
/// does), so that a run looks like a sensor's log archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// One file per log.
    #[default]
    None,
    Hourly,
    Daily,
}

impl Rotation {
    /// The rotation interval in microseconds.
    pub fn interval_us(self) -> Option<i64> {
        match self {
            Rotation::None => None,
            Rotation::Hourly => Some(3_600_000_000),
            Rotation::Daily => Some(86_400_000_000),
        }
    }
}

/// What a caller asks the simulator for. Check it with [`PlantConfig::check`] before a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantConfig {
    /// Number of PLCs (Modbus/TCP, with every fifth one an EtherNet/IP PLC).
    pub plcs: u32,
    /// Simulated days.
    pub days: u32,
    /// Simulated hours instead of days, for short runs (tests); overrides `days` when set.
    pub hours: Option<u32>,
    pub seed: u64,
    /// First simulated day (UTC midnight).
    pub start: Date,
    pub attacks: AttackSelection,
    /// Attacks fall in the last `attack_days` days (clamped to the second half of short runs);
    /// the persistent beacon runs throughout.
    pub attack_days: u32,
    pub format: LogFormat,
    pub gzip: bool,
    /// The day of the weekly maintenance window (09:00 to 12:00 UTC).
    pub maintenance_weekday: Weekday,
    /// HMI polling period in milliseconds (SCADA polls at twice this period).
    pub hmi_poll_ms: u32,
    /// SCADA's DNP3 event-poll period in milliseconds (an integrity poll every 120 polls).
    pub dnp3_poll_ms: u32,
    pub rotation: Rotation,
}

impl Default for PlantConfig {
    fn default() -> Self {
        PlantConfig {
            plcs: 40,
            days: 30,
            hours: None,
            seed: 42,
            start: time::macros::date!(2026 - 10 - 01),
            attacks: AttackSelection::all(),
            attack_days: 3,
            format: LogFormat::Tsv,
            gzip: false,
            maintenance_weekday: Weekday::Wednesday,
            hmi_poll_ms: 500,
            dnp3_poll_ms: 5000,
            rotation: Rotation::None,
        }
    }
}

impl PlantConfig {
    /// The small plant `otsentry demo` uses: 8 PLCs over 30 days with every attack in the last
    /// 3 days and HMIs polling every 5 s (SCADA every 10 s): about 21 million lines (2.6 GB of
    /// TSV), written in well under a minute when the disk keeps up.
    pub fn demo() -> Self {
        PlantConfig {
            plcs: 8,
            hmi_poll_ms: 5000,
            ..PlantConfig::default()
        }
    }

    /// The 40-PLC plant of the false-positive measurement (`tests/fp_40plc.rs`, docs/detectors.md):
    /// the default plant's hosts, maintenance, shift reports and vendor sessions over 37 benign
    /// days (a 30-day baseline and a held-out week), with every poller slowed to five minutes so
    /// that it is about 2.3 million lines (270 MB) instead of the 0.9 GB a day the default 500 ms
    /// polling writes. Per-poll records dominate the volume: at 500 ms the 32 Modbus PLCs alone
    /// give two lines per poll from the HMI at 2 Hz and from SCADA at 1 Hz, and five DNP3
    /// outstations are polled every 5 s.
    pub fn fp_plant() -> Self {
        PlantConfig {
            days: 37,
            attacks: AttackSelection::none(),
            attack_days: 7,
            hmi_poll_ms: 300_000,
            dnp3_poll_ms: 300_000,
            ..PlantConfig::default()
        }
    }

    /// Checks the ranges that would make a run meaningless or impossible.
    pub fn check(self) -> Result<ValidPlantConfig, ConfigError> {
        if self.plcs == 0 || self.plcs > 1000 {
            return Err(ConfigError::Plcs(self.plcs));
        }
        let hours = match self.hours {
            Some(hours) => hours,
            None => self.days.saturating_mul(24),
        };
        if hours == 0 || hours > 366 * 24 {
            return Err(ConfigError::Span(hours));
        }
        if !(50..=600_000).contains(&self.hmi_poll_ms) {
            return Err(ConfigError::PollPeriod(self.hmi_poll_ms));
        }
        if !(50..=600_000).contains(&self.dnp3_poll_ms) {
            return Err(ConfigError::Dnp3PollPeriod(self.dnp3_poll_ms));
        }
        let start_us = start_micros(self.start);
        let end_us = start_us + i64::from(hours) * 3_600_000_000;
        let attack_span =
            (i64::from(self.attack_days) * 86_400_000_000).min((end_us - start_us) / 2);
        Ok(ValidPlantConfig {
            attack_start_us: end_us - attack_span,
            start_us,
            end_us,
            config: self,
        })
    }
}

/// A configuration whose ranges are checked, with its time span resolved to microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPlantConfig {
    pub config: PlantConfig,
    pub start_us: i64,
    pub end_us: i64,
    /// Start of the window in which attacks are injected.
    pub attack_start_us: i64,
}

impl ValidPlantConfig {
    pub fn n_days(&self) -> u32 {
        ((self.end_us - self.start_us + 86_399_999_999) / 86_400_000_000) as u32
    }
}

/// Epoch microseconds of UTC midnight at the start of `date`.
pub fn start_micros(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp() * 1_000_000
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("plcs must be between 1 and 1000, got {0}")]
    Plcs(u32),
    #[error("the simulated span must be between 1 hour and 366 days, got {0} hours")]
    Span(u32),
    #[error("the HMI poll period must be between 50 ms and 600000 ms, got {0} ms")]
    PollPeriod(u32),
    #[error("the DNP3 poll period must be between 50 ms and 600000 ms, got {0} ms")]
    Dnp3PollPeriod(u32),
    #[error(
        "unknown attack scenario {0:?} (known: new_source, setpoint_drift, lateral_movement, write_from_reader, network_scan, dnp3_cold_restart, exception_enumeration, forged_write, persistent_beacon, or all/none)"
    )]
    UnknownScenario(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_lists_parse() {
        assert_eq!("all".parse::<AttackSelection>().unwrap().0.len(), 8);
        // The persistent beacon poisons the training window: only when named.
        assert!(!AttackSelection::all().contains(Scenario::PersistentBeacon));
        let beacon: AttackSelection = "persistent_beacon,new_source".parse().unwrap();
        assert_eq!(
            beacon.0,
            vec![Scenario::NewSource, Scenario::PersistentBeacon]
        );
        assert!("none".parse::<AttackSelection>().unwrap().0.is_empty());
        let list: AttackSelection = "network_scan,new_source".parse().unwrap();
        assert_eq!(list.0, vec![Scenario::NewSource, Scenario::NetworkScan]);
        let error = "port_knock".parse::<AttackSelection>().unwrap_err();
        assert!(error.to_string().contains("\"port_knock\""));
    }

    #[test]
    fn short_runs_put_attacks_in_the_second_half() {
        let config = PlantConfig {
            hours: Some(6),
            ..PlantConfig::default()
        }
        .check()
        .unwrap();
        assert_eq!(config.end_us - config.attack_start_us, 3 * 3_600_000_000);
        let long = PlantConfig::default().check().unwrap();
        assert_eq!(long.end_us - long.attack_start_us, 3 * 86_400_000_000);
        assert_eq!(long.n_days(), 30);
    }

    #[test]
    fn bad_ranges_are_refused() {
        let zero = PlantConfig {
            plcs: 0,
            ..PlantConfig::default()
        };
        assert_eq!(zero.check().unwrap_err(), ConfigError::Plcs(0));
        let fast = PlantConfig {
            dnp3_poll_ms: 10,
            ..PlantConfig::default()
        };
        assert_eq!(fast.check().unwrap_err(), ConfigError::Dnp3PollPeriod(10));
    }
}
