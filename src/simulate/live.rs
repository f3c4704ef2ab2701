//! Writing the plant's logs live, as a running Zeek does: paced to the clock (real time, or N
//! times faster), flushed in whole lines, and rotated as zeekctl rotates (the live `conn.log` is
//! renamed, gzipped into a dated archive directory, and a new `conn.log` started), so that
//! `otsentry watch` can follow the simulator and tests can drive it.
//!
//! Pacing waits before each event until the wall clock has caught up with the event's log time
//! divided by the speed; what was written before the wait is flushed first, so a follower sees
//! every line whose time has come. The records themselves are the batch run's, byte for byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::SimulateError;
use super::output::Sinks;

/// How fast a live run goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveOptions {
    /// Simulated seconds per wall-clock second (1 is real time).
    pub speed: f64,
}

impl LiveOptions {
    /// Checks the speed: a positive, finite number.
    pub fn check(self) -> Result<LiveOptions, SimulateError> {
        if self.speed.is_finite() && self.speed > 0.0 {
            Ok(self)
        } else {
            Err(SimulateError::Speed { speed: self.speed })
        }
    }
}

/// A wait shorter than this is not worth a sleep: the event is written at once.
const MIN_SLEEP: Duration = Duration::from_millis(2);
/// A run that falls behind the clock still flushes this often.
const MAX_UNFLUSHED: Duration = Duration::from_millis(50);

/// Keeps a live run in step with the wall clock.
#[derive(Debug)]
pub(crate) struct Pacer {
    started: Instant,
    start_us: i64,
    speed: f64,
    last_flush: Instant,
}

impl Pacer {
    pub(crate) fn new(options: LiveOptions, start_us: i64) -> Pacer {
        let now = Instant::now();
        Pacer {
            started: now,
            start_us,
            speed: options.speed,
            last_flush: now,
        }
    }

    /// Waits until the event at `time_us` is due, flushing what was written before it.
    pub(crate) fn before_event(
        &mut self,
        time_us: i64,
        sinks: &mut Sinks,
    ) -> Result<(), SimulateError> {
        let simulated = (time_us - self.start_us).max(0) as f64 / 1e6;
        let due = self.started + Duration::from_secs_f64(simulated / self.speed);
        let now = Instant::now();
        if due >= now + MIN_SLEEP {
            sinks.flush()?;
            std::thread::sleep(due - now);
            self.last_flush = Instant::now();
        } else if now.duration_since(self.last_flush) >= MAX_UNFLUSHED {
            sinks.flush()?;
            self.last_flush = now;
        }
        Ok(())
    }
}

/// Where zeekctl archives a log opened at `open_us` and rotated at `close_us`:
/// `2026-10-01/conn.00:00:00-01:00:00.log.gz`, relative to the log directory.
pub(crate) fn archive_name(path: &str, open_us: i64, close_us: i64) -> PathBuf {
    let open = zeek::write::zeek_timestamp(open_us);
    let close = zeek::write::zeek_timestamp(close_us);
    // Stamps read `2026-10-01-00-00-00`: the date, then the time.
    let (date, open_time) = open.split_at(open.len().min(10));
    let close_time = close.get(11..).unwrap_or_default();
    let clock = |time: &str| time.trim_start_matches('-').replace('-', ":");
    PathBuf::from(date).join(format!(
        "{path}.{}-{}.log.gz",
        clock(open_time),
        clock(close_time)
    ))
}

/// Gzips the rotated log `rotated` into `dir/archive` as zeekctl's archive-log does, and removes
/// it. The archive is written under a hidden name and renamed into place, so a follower never
/// sees half of it.
pub(crate) fn archive(
    rotated: &Path,
    dir: &Path,
    archive: &Path,
) -> Result<PathBuf, SimulateError> {
    let target = dir.join(archive);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimulateError::Io { path, source }
    };
    let parent = target.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{name}.tmp"));
    let content = std::fs::read(rotated).map_err(io(rotated))?;
    let file = std::fs::File::create(&temp).map_err(io(&temp))?;
    let mut encoder = GzEncoder::new(file, Compression::fast());
    encoder.write_all(&content).map_err(io(&temp))?;
    encoder.finish().map_err(io(&temp))?;
    std::fs::rename(&temp, &target).map_err(io(&target))?;
    std::fs::remove_file(rotated).map_err(io(rotated))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_named_as_zeekctl_names_them() {
        // 2026-10-01T00:00:00Z and one hour later.
        let open = 1_790_812_800_000_000;
        let name = archive_name("conn", open, open + 3_600_000_000);
        assert_eq!(
            name,
            PathBuf::from("2026-10-01/conn.00:00:00-01:00:00.log.gz")
        );
    }

    #[test]
    fn the_speed_must_be_positive_and_finite() {
        for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let error = LiveOptions { speed }.check().expect_err("a bad speed");
            assert!(error.to_string().contains("--speed"), "{error}");
        }
        assert!(LiveOptions { speed: 0.5 }.check().is_ok());
    }
}
