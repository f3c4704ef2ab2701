//! Maintenance windows: weekly schedules in a named IANA time zone, answered in log time.
//!
//! A window is a list of weekly slots (`days: [wednesday]`, `start: "09:00"`, `end: "12:00"`) read
//! in the window's own time zone, so a plant in Europe/Berlin keeps its 09:00 across daylight
//! saving changes. Zones come from jiff's bundled tz database: the answer does not depend on the
//! host's /usr/share/zoneinfo, which matters when a replay on an analyst's laptop must agree with
//! the sensor.

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Serialize, Serializer};

/// A day of the week as an inventory writes it (`monday` … `sunday`, or `mon` … `sun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Every day, Monday first.
pub const DAYS: [Day; 7] = [
    Day::Monday,
    Day::Tuesday,
    Day::Wednesday,
    Day::Thursday,
    Day::Friday,
    Day::Saturday,
    Day::Sunday,
];

impl Day {
    /// Reads a full or three-letter English day name, in any case.
    pub fn parse(text: &str) -> Result<Day, String> {
        let lower = text.trim().to_ascii_lowercase();
        DAYS.into_iter()
            .find(|day| {
                let name = day.name();
                name == lower || (lower.len() == 3 && name.starts_with(&lower))
            })
            .ok_or_else(|| {
                format!("`{text}` is not a weekday; expected monday to sunday (or mon to sun)")
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            Day::Monday => "monday",
            Day::Tuesday => "tuesday",
            Day::Wednesday => "wednesday",
            Day::Thursday => "thursday",
            Day::Friday => "friday",
            Day::Saturday => "saturday",
            Day::Sunday => "sunday",
        }
    }

    /// 0 for Monday to 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    fn of(weekday: jiff::civil::Weekday) -> Day {
        DAYS[weekday.to_monday_zero_offset() as usize]
    }
}

/// A time of day in minutes since midnight; `24:00` (1440) is allowed as an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// Reads `HH:MM` (24-hour clock, `24:00` for the end of the day).
    pub fn parse(text: &str) -> Result<TimeOfDay, String> {
        let bad = || format!("`{text}` is not a time of day; write it as HH:MM, such as 09:30");
        let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
        if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
            return Err(bad());
        }
        let hours: u16 = hours.parse().map_err(|_| bad())?;
        let minutes: u16 = minutes.parse().map_err(|_| bad())?;
        if minutes >= 60 || hours > 24 || (hours == 24 && minutes > 0) {
            return Err(format!(
                "`{text}` is not a time of day; hours run 00 to 23 (24:00 ends a day) and minutes 00 to 59"
            ));
        }
        Ok(TimeOfDay(hours * 60 + minutes))
    }

    /// From minutes since midnight (at most 1440).
    pub fn from_minutes(minutes: u16) -> TimeOfDay {
        TimeOfDay(minutes.min(1440))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One weekly slot: on each of `days`, from `start` (inclusive) to `end` (exclusive), local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeeklySlot {
    pub days: Vec<Day>,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

/// A named maintenance window: weekly slots in one time zone.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub name: String,
    /// The IANA name as written (`UTC`, `Europe/Berlin`).
    pub time_zone: String,
    pub weekly: Vec<WeeklySlot>,
    #[serde(skip)]
    tz: TimeZone,
}

impl PartialEq for Window {
    fn eq(&self, other: &Window) -> bool {
        self.name == other.name && self.time_zone == other.time_zone && self.weekly == other.weekly
    }
}

/// Finds an IANA time zone in the bundled database.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("unknown time zone `{name}`; expected an IANA name such as UTC or Europe/Berlin")
    })
}

impl Window {
    /// A window in time zone `tz` (found with [`time_zone`]).
    pub fn new(name: String, time_zone: String, tz: TimeZone, weekly: Vec<WeeklySlot>) -> Window {
        Window {
            name,
            time_zone,
            weekly,
            tz,
        }
    }

    /// Whether the instant `ts` (seconds since the epoch, log time) falls inside the window.
    /// A time that is not a number or beyond jiff's range (years -9999 to 9999) is outside.
    pub fn contains(&self, ts: f64) -> bool {
        self.slot_at(ts).is_some()
    }

    /// When the occurrence of the window open at `ts` closes (log time), if one is open: the end
    /// of the latest slot holding `ts` that day, in the window's time zone. Alerts use it to keep
    /// one maintenance session together until the window closes.
    pub fn closes_at(&self, ts: f64) -> Option<f64> {
        let (local, slot) = self.slot_at(ts)?;
        let midnight = local.date().to_datetime(jiff::civil::Time::midnight());
        let end = midnight
            .checked_add(jiff::Span::new().minutes(i64::from(slot.end.minutes())))
            .ok()?;
        let end = self.tz.to_ambiguous_timestamp(end).compatible().ok()?;
        Some((end.as_second() as f64).max(ts))
    }

    /// The local time of `ts` and the slot holding it, the one ending latest if several do. A
    /// time that is not a number or beyond jiff's range (years -9999 to 9999) is in none.
    fn slot_at(&self, ts: f64) -> Option<(jiff::civil::DateTime, &WeeklySlot)> {
        if !ts.is_finite() {
            return None;
        }
        let timestamp = Timestamp::from_second(ts.floor() as i64).ok()?;
        let local = self.tz.to_datetime(timestamp);
        let day = Day::of(local.weekday());
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let slot = self
            .weekly
            .iter()
            .filter(|slot| {
                slot.days.contains(&day)
                    && slot.start.minutes() <= minute
                    && minute < slot.end.minutes()
            })
            .max_by_key(|slot| slot.end)?;
        Some((local, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(tz: &str, days: &[Day], start: &str, end: &str) -> Window {
        Window::new(
            "w".into(),
            tz.into(),
            time_zone(tz).unwrap(),
            vec![WeeklySlot {
                days: days.to_vec(),
                start: TimeOfDay::parse(start).unwrap(),
                end: TimeOfDay::parse(end).unwrap(),
            }],
        )
    }

    /// 2026-10-07 is a Wednesday.
    fn ts(text: &str) -> f64 {
        text.parse::<Timestamp>().unwrap().as_second() as f64
    }

    #[test]
    fn a_utc_window_holds_from_start_to_before_end() {
        let w = window("UTC", &[Day::Wednesday], "09:00", "12:00");
        assert!(!w.contains(ts("2026-10-07T08:59:59Z")));
        assert!(w.contains(ts("2026-10-07T09:00:00Z")));
        assert!(w.contains(ts("2026-10-07T11:59:59Z")));
        assert!(!w.contains(ts("2026-10-07T12:00:00Z")));
        assert!(!w.contains(ts("2026-10-08T10:00:00Z")), "thursday");
        assert!(!w.contains(f64::NAN));
        assert!(!w.contains(1e300));
    }

    #[test]
    fn an_open_window_closes_at_its_slots_end_in_its_own_time_zone() {
        let w = window("UTC", &[Day::Wednesday], "09:00", "12:00");
        assert_eq!(
            w.closes_at(ts("2026-10-07T10:15:00Z")),
            Some(ts("2026-10-07T12:00:00Z"))
        );
        assert_eq!(w.closes_at(ts("2026-10-07T12:00:00Z")), None, "closed");
        assert_eq!(w.closes_at(f64::NAN), None);
        let berlin = window("Europe/Berlin", &[Day::Wednesday], "09:00", "12:00");
        assert_eq!(
            berlin.closes_at(ts("2026-11-04T08:30:00Z")),
            Some(ts("2026-11-04T11:00:00Z")),
            "12:00 winter time in Berlin is 11:00 UTC"
        );
        let night = window("UTC", &[Day::Sunday], "22:00", "24:00");
        assert_eq!(
            night.closes_at(ts("2026-10-11T23:00:00Z")),
            Some(ts("2026-10-12T00:00:00Z")),
            "24:00 ends the day"
        );
    }

    #[test]
    fn a_local_window_follows_daylight_saving() {
        let w = window("Europe/Berlin", &[Day::Wednesday], "09:00", "12:00");
        // Summer time (UTC+2) in October before the 25th, winter time (UTC+1) after.
        assert!(w.contains(ts("2026-10-07T07:30:00Z")));
        assert!(!w.contains(ts("2026-10-07T10:30:00Z")));
        assert!(w.contains(ts("2026-11-04T08:30:00Z")));
        assert!(!w.contains(ts("2026-11-04T07:30:00Z")));
    }

    #[test]
    fn days_and_times_are_read_strictly() {
        assert_eq!(Day::parse("Wed").unwrap(), Day::Wednesday);
        assert_eq!(Day::parse("SUNDAY").unwrap(), Day::Sunday);
        assert!(
            Day::parse("wednesdy")
                .unwrap_err()
                .contains("not a weekday")
        );
        assert!(Day::parse("we").is_err());
        assert_eq!(TimeOfDay::parse("24:00").unwrap().minutes(), 1440);
        assert_eq!(TimeOfDay::parse("7:05").unwrap().to_string(), "07:05");
        for bad in ["25:00", "24:01", "09:60", "0900", "09:0", "x:00", ":30"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
        assert!(
            time_zone("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
    }
}
