//! Writes the simulated plant feature sets that the scikit-learn parity test compares on:
//! `plant_conn.csv.gz` and `plant_requests.csv.gz` (columns `x0..xN,label`) in the directory given
//! as the only argument.
//!
//! It simulates a small plant with every attack on, walks its logs with the same reader, adapter
//! and extractor `train` uses, fits the vocabulary on all records, then encodes every row with the
//! frozen vocabulary exactly as training encodes its samples. A row is labelled 1 when its uid is
//! one of the attack connections listed in the simulator's labels. Everything is seeded, so the
//! same command writes the same bytes.
//!
//! Usage: `cargo run --example plant_features -- tests/data/sklearn_reference`

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use otsentry::features::{Extractor, MAX_WIDTH, RawRow, Schema, schema_of};
use otsentry::simulate::{PlantConfig, run};
use otsentry::sources::{SourceOptions, walk_files};

/// A small plant: four PLCs for 12 hours, HMIs polling every 2 min, attacks in the last 6 hours.
fn plant() -> PlantConfig {
    PlantConfig {
        plcs: 4,
        hours: Some(12),
        seed: 7,
        hmi_poll_ms: 120_000,
        attack_days: 1,
        ..PlantConfig::default()
    }
}

/// One schema's rows before encoding, with their labels.
struct Rows {
    extractor: Extractor,
    raw: Vec<RawRow>,
    labels: Vec<bool>,
}

impl Rows {
    fn new(schema: Schema) -> Rows {
        Rows {
            extractor: Extractor::fit(schema, otsentry::features::intern::DEFAULT_CAP),
            raw: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Freezes the vocabulary, encodes every row and writes the gzipped CSV.
    fn write(mut self, path: &Path) -> anyhow::Result<(usize, usize)> {
        self.extractor.freeze();
        let width = self.extractor.schema().width();
        let mut text = String::new();
        let header: Vec<String> = (0..width).map(|column| format!("x{column}")).collect();
        writeln!(text, "{},label", header.join(","))?;
        let mut buffer = [0.0; MAX_WIDTH];
        for (raw, &label) in self.raw.iter().zip(&self.labels) {
            self.extractor.encode(raw, &mut buffer);
            let row = &buffer[..width];
            if row.iter().any(|value| !value.is_finite()) {
                bail!("a row has a value that is not finite: {row:?}");
            }
            for value in row {
                // Six decimals are far below the float32 precision both sides fit on.
                write!(text, "{value:.6},")?;
            }
            writeln!(text, "{}", u8::from(label))?;
        }
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut gz = GzEncoder::new(file, Compression::best());
        gz.write_all(text.as_bytes())
            .and_then(|()| gz.finish().map(drop))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok((
            self.raw.len(),
            self.labels.iter().filter(|&&label| label).count(),
        ))
    }
}

fn main() -> anyhow::Result<()> {
    let out_dir: PathBuf = match std::env::args_os().nth(1) {
        Some(dir) => dir.into(),
        None => bail!("usage: plant_features OUT_DIR"),
    };
    let logs = tempfile::tempdir().context("creating a temporary directory")?;
    let config = plant()
        .check()
        .context("checking the plant configuration")?;
    let summary = run(&config, logs.path()).context("simulating the plant")?;
    let attack_uids: HashSet<&str> = summary
        .labels
        .iter()
        .flat_map(|label| label.uids.iter().map(String::as_str))
        .collect();

    let files = zeek::discover(&summary.log_paths()).context("finding the simulated logs")?;
    let mut conn = Rows::new(Schema::Conn);
    let mut requests = Rows::new(Schema::Request);
    let stats = walk_files(
        files,
        &SourceOptions::default(),
        |_| {},
        |event| {
            // The stored parity sets were made from OT traffic only.
            if !event.ot {
                return Ok::<(), zeek::ZeekError>(());
            }
            // Value records (modbus_detailed) are no forest row.
            let rows = match schema_of(event) {
                Some(Schema::Conn) => &mut conn,
                Some(Schema::Request) => &mut requests,
                None => return Ok(()),
            };
            if let Some(raw) = rows.extractor.push(event) {
                rows.raw.push(raw);
                rows.labels.push(attack_uids.contains(event.uid));
            }
            Ok(())
        },
    )
    .context("reading the simulated logs")?;
    if stats.parse_errors > 0 {
        bail!(
            "the simulated logs had unreadable lines: {:?}",
            stats.errors
        );
    }

    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (name, rows) in [("plant_conn", conn), ("plant_requests", requests)] {
        let path = out_dir.join(format!("{name}.csv.gz"));
        let (n_rows, n_positive) = rows.write(&path)?;
        println!(
            "{}: {n_rows} rows, {n_positive} attack rows",
            path.display()
        );
    }
    Ok(())
}
