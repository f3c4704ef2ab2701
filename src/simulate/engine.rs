//! The event loop: merges every generator's stream of events in time order and streams the
//! records they produce to the log writers.
//!
//! Each generator knows the time of its next event; a binary heap keyed by (time, generator index)
//! picks the earliest, lets it write its records, and puts it back with its following event time.
//! Ties break on the generator index, so the order (and the output) is fully deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use zeek::write::WriteError;

use super::SimulateError;
use super::config::Scenario;
use super::live::Pacer;
use super::output::Sinks;

/// A source of simulated traffic: one polling edge, one schedule of sessions, one attack.
pub trait Generator {
    /// Time (epoch microseconds) of the next event, or `None` when the generator is done.
    fn next_time(&self) -> Option<i64>;

    /// Writes the records of the event at [`Generator::next_time`] and moves to the next one.
    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError>;

    /// Writes what is still open when the simulation ends at `end` (Zeek logs open connections
    /// at shutdown).
    fn finish(&mut self, end: i64, sinks: &mut Sinks) -> Result<(), WriteError>;

    /// The uids of every connection this generator opened, when it is an attack.
    fn attack_uids(&self) -> &[String] {
        &[]
    }
}

/// A generator and the attack scenario it belongs to, if any.
pub struct Entry {
    pub scenario: Option<Scenario>,
    pub generator: Box<dyn Generator>,
}

/// Runs every generator from its first event up to `end`, calling `on_time` with the time of
/// each event so the caller can report progress. With `rotation = Some((first, every))` the
/// log files are rotated at `first`, `first + every`, ... before `end`. A `pacer` (live runs)
/// holds each event back until the clock reaches it.
pub fn run(
    entries: &mut [Entry],
    end: i64,
    rotation: Option<(i64, i64)>,
    sinks: &mut Sinks,
    mut on_time: impl FnMut(i64, &Sinks),
    mut pacer: Option<&mut Pacer>,
) -> Result<(), SimulateError> {
    let mut next_rotation = rotation.map(|(first, _)| first);
    let every = rotation.map_or(i64::MAX, |(_, every)| every.max(1));
    let mut heap = BinaryHeap::with_capacity(entries.len());
    for (idx, entry) in entries.iter().enumerate() {
        if let Some(time) = entry.generator.next_time().filter(|time| *time < end) {
            heap.push(Reverse((time, idx)));
        }
    }
    let mut n_events: u64 = 0;
    while let Some(Reverse((time, idx))) = heap.pop() {
        if let Some(pacer) = pacer.as_deref_mut() {
            pacer.before_event(time, sinks)?;
        }
        while let Some(at) = next_rotation.filter(|at| *at <= time && *at < end) {
            sinks.rotate(at)?;
            next_rotation = Some(at.saturating_add(every));
        }
        n_events += 1;
        // Progress is cheap but not free: report once every few thousand events.
        if n_events.is_multiple_of(4096) {
            on_time(time, sinks);
        }
        let generator = &mut entries[idx].generator;
        generator.step(sinks)?;
        if let Some(next) = generator.next_time().filter(|next| *next < end) {
            heap.push(Reverse((next, idx)));
        }
    }
    // Rotations due after the last event (quiet hours at the end) still happen.
    while let Some(at) = next_rotation.filter(|at| *at < end) {
        sinks.rotate(at)?;
        next_rotation = Some(at.saturating_add(every));
    }
    for entry in entries.iter_mut() {
        entry.generator.finish(end, sinks)?;
    }
    on_time(end, sinks);
    Ok(())
}
