//! The simulator's ground truth, kept out of the logs: `labels.jsonl` (one attack instance per
//! line, with the uid of every attack connection) and `plant.json` (the asset inventory).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimulateError;
use super::config::ValidPlantConfig;
use super::plant::Plant;

/// One attack instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub scenario: String,
    pub technique_id: String,
    pub technique_name: String,
    pub description: String,
    /// First and last packet of the attack, epoch seconds.
    pub start_ts: f64,
    pub end_ts: f64,
    /// The same instants in RFC 3339.
    pub start: String,
    pub end: String,
    /// Addresses of the attacking and attacked hosts.
    pub hosts: Vec<String>,
    /// Every connection (conn.log uid) that belongs to the attack; protocol-log lines join by uid.
    pub uids: Vec<String>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SimulateError + '_ {
    move |source| SimulateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes one JSON object per label.
pub fn write_labels(path: &Path, labels: &[Label]) -> Result<(), SimulateError> {
    let file = File::create(path).map_err(io_error(path))?;
    let mut out = BufWriter::new(file);
    for label in labels {
        serde_json::to_writer(&mut out, label).map_err(|source| SimulateError::Json {
            path: path.to_owned(),
            source,
        })?;
        out.write_all(b"\n").map_err(io_error(path))?;
    }
    out.flush().map_err(io_error(path))
}

/// Reads a `labels.jsonl` written by [`write_labels`] (for evaluators that join records by uid).
pub fn read_labels(path: &Path) -> Result<Vec<Label>, SimulateError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|source| SimulateError::Json {
                path: path.to_owned(),
                source,
            })
        })
        .collect()
}

pub use crate::text::rfc3339_micros as rfc3339;

#[derive(Serialize)]
struct PlantFile<'a> {
    description: &'static str,
    seed: u64,
    start: String,
    end: String,
    maintenance_window: MaintenanceWindow,
    shift_changes_utc: [&'static str; 3],
    hosts: &'a [super::plant::Host],
}

#[derive(Serialize)]
struct MaintenanceWindow {
    weekday: String,
    start_utc: &'static str,
    end_utc: &'static str,
}

/// Writes the asset inventory.
pub fn write_plant(
    path: &Path,
    config: &ValidPlantConfig,
    plant: &Plant,
) -> Result<(), SimulateError> {
    let document = PlantFile {
        description: "simulated OT plant written by otsentry simulate",
        seed: config.config.seed,
        start: rfc3339(config.start_us),
        end: rfc3339(config.end_us),
        maintenance_window: MaintenanceWindow {
            weekday: config.config.maintenance_weekday.to_string().to_lowercase(),
            start_utc: "09:00",
            end_utc: "12:00",
        },
        shift_changes_utc: ["06:00", "14:00", "22:00"],
        hosts: &plant.hosts,
    };
    let file = File::create(path).map_err(io_error(path))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, &document).map_err(|source| SimulateError::Json {
        path: path.to_owned(),
        source,
    })?;
    out.write_all(b"\n").map_err(io_error(path))?;
    out.flush().map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.jsonl");
        let label = Label {
            scenario: "network_scan".into(),
            technique_id: "T0846".into(),
            technique_name: "Remote System Discovery".into(),
            description: "a sweep".into(),
            start_ts: 1.5,
            end_ts: 2.5,
            start: rfc3339(1_500_000),
            end: rfc3339(2_500_000),
            hosts: vec!["10.10.9.5".into()],
            uids: vec!["CabcDEF123".into()],
        };
        write_labels(&path, std::slice::from_ref(&label)).unwrap();
        assert_eq!(read_labels(&path).unwrap(), vec![label]);
        assert_eq!(rfc3339(1_500_000), "1970-01-01T00:00:01.5Z");
        std::fs::write(&path, "{not json\n").unwrap();
        let error = read_labels(&path).unwrap_err().to_string();
        assert!(error.contains("labels.jsonl"), "{error}");
    }
}
