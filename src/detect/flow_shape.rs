//! The flow-shape detector: per conn edge (originator, responder, port, transport, service), the
//! size of what the edge carries, learnt in training, and a cumulative change detector that
//! catches a size drift whose every step is small.
//!
//! An OT polling edge repeats the same requests, so its bytes per packet in each direction are
//! nearly constant, whatever the session's length; where the edge's records are one poll each
//! (a connection per poll), the bytes per record are nearly constant too. A lasting change of
//! either means other requests ride the edge: other register ranges read, writes injected among
//! the polls, data tunnelled over the protocol. Four quantities are learnt per edge, in
//! ln(1 + x): orig and resp bytes per packet, orig and resp bytes per record. Each gets a robust
//! level (the median) and spread (the MAD); a quantity is judged only on an edge with at least
//! [`MIN_RECORDS`] training records and only when its robust spread is at most [`MAX_SPREAD`]
//! (a session edge's bytes per record vary with how long the session ran, so they are not
//! judged; its bytes per packet are). Bytes per packet are judged only on records with at least
//! half the edge's 1st-percentile packet count: a short session's ratio is dominated by the
//! connection's setup and teardown packets.
//!
//! One rule, `size_drift`: a two-sided CUSUM per quantity over the edge's records, in noise
//! units (the robust standard deviation, or the standard deviation of the training values
//! without their rarest 1 % at each end when larger, never under [`UNIT_FLOOR`]), each
//! record's step clipped to [`CLIP`] units so one odd record cannot raise an alarm alone, with
//! an allowance of [`ALLOWANCE`] units and an alarm level learnt by replaying the edge's own
//! training records: twice the largest sum they reached, never under [`MIN_ALARM`]. The sums
//! are centred on the mean clipped step of those records, not on the median alone: a quantity
//! with two common values (answers split over four or five packets, half the time each) has a
//! median on one of them and no spread, and every record on the other would otherwise add to
//! the sum until it passed any alarm; centred, the edge's own mix adds nothing on average and
//! only a change of it counts.
//! While a sum stays over its alarm, every record of the edge is a finding (an alert groups
//! them), and the sum is capped at twice the alarm so the episode ends soon after the edge
//! returns to its own size. Medium: a known edge on its known service whose size drifts is
//! suspicious, not yet an attack. The sums and a smoothed recent level per quantity are the
//! checkpointed state; the work per record is a fixed handful of additions.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::baseline::{self, BaselineError, TrainingRecord};
use super::histogram::{self, StepCounts};
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::extract::ln_1p_count;
use crate::features::intern::{KeyHashState, OVERFLOW};
use crate::features::{ConnFields, EventKind, Schema};
use crate::model::{BaselineSection, LoadedModel};

/// The detector's name in findings, metrics and the model's baselines.
pub const NAME: &str = "flow_shape";
/// The version of the baseline section this build writes and reads.
pub const BASELINE_VERSION: u32 = 2;

/// Training records an edge needs before it is judged: enough that its 1st and 99th
/// percentiles are each set by a record, and that the alarm calibration saw the edge's noise.
pub const MIN_RECORDS: u64 = 100;
/// The widest robust spread (1.4826 MAD, in ln units: about 10 %) a quantity may have and still
/// be judged: wider, the edge's own variation would hide or mimic a drift.
pub const MAX_SPREAD: f64 = 0.10;
/// The smallest noise unit, in ln units (2 %): a quantity constant in training still has a scale,
/// below which a change is not worth a finding.
pub const UNIT_FLOOR: f64 = 0.02;
/// The CUSUM's allowance, in noise units: shifts smaller than this do not accumulate.
pub const ALLOWANCE: f64 = 0.5;
/// The most one record adds to a sum, in noise units.
pub const CLIP: f64 = 4.0;
/// The share of training values left out at each end for the noise unit's standard deviation:
/// a rare retry or odd answer is the clip's to bound, not the unit's to widen.
const TRIM: f64 = 0.01;
/// The lowest alarm level, in noise units: at least three records at the clip.
pub const MIN_ALARM: f64 = 8.0;
/// Edges learnt at most; later ones are counted and left out.
pub const MAX_EDGES: usize = 4096;
/// Training records per edge kept, in order, for the alarm calibration (the level and spread
/// use every record).
const MAX_KEPT: usize = 4096;
/// Quantization of ln(1 + x) in training: 1/2000, a twentieth of a percent.
const STEPS_PER_UNIT: f64 = 2000.0;
/// A kept quantity with no value.
const MISSING: u16 = u16::MAX;
/// The weight of a new record in the smoothed recent level shown in reasons.
const SMOOTHING: f64 = 1.0 / 32.0;

/// The judged quantities, in their order in every per-edge array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    OrigPerPacket = 0,
    RespPerPacket = 1,
    OrigPerRecord = 2,
    RespPerRecord = 3,
}

impl Quantity {
    pub const ALL: [Quantity; 4] = [
        Quantity::OrigPerPacket,
        Quantity::RespPerPacket,
        Quantity::OrigPerRecord,
        Quantity::RespPerRecord,
    ];

    /// The quantity in words, as reasons name it.
    pub fn label(self) -> &'static str {
        match self {
            Quantity::OrigPerPacket => "orig bytes per packet",
            Quantity::RespPerPacket => "resp bytes per packet",
            Quantity::OrigPerRecord => "orig bytes per record",
            Quantity::RespPerRecord => "resp bytes per record",
        }
    }

    /// The packet direction a per-packet quantity divides by (0 orig, 1 resp).
    fn packets(self) -> Option<usize> {
        match self {
            Quantity::OrigPerPacket => Some(0),
            Quantity::RespPerPacket => Some(1),
            Quantity::OrigPerRecord | Quantity::RespPerRecord => None,
        }
    }
}

/// A learnt distribution in ln(1 + x) units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    pub n: u64,
    pub median: f64,
    pub mad: f64,
    pub q01: f64,
    pub q99: f64,
}

impl Dist {
    /// The robust standard deviation: 1.4826 MAD.
    pub fn spread(&self) -> f64 {
        1.4826 * self.mad
    }
}

/// What training saw of one quantity on one edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantityBaseline {
    pub dist: Dist,
    /// The noise unit, ln units.
    pub unit: f64,
    /// The mean clipped step of the edge's kept training records, in units: the CUSUM's
    /// reference, so the edge's own mix of values adds nothing on average.
    pub centre: f64,
    /// The largest CUSUM sum the edge's kept training records reached, in units.
    pub highest: f64,
    /// The alarm level, in units.
    pub alarm: f64,
    /// False for a quantity too spread (or too rarely present) to judge.
    pub judged: bool,
}

/// One edge's learnt shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeShape {
    pub records: u64,
    pub duration: Dist,
    /// Packets per record, orig and resp.
    pub packets: [Dist; 2],
    /// Indexed by [`Quantity`].
    pub quantities: [QuantityBaseline; 4],
}

impl EdgeShape {
    /// The fewest packets in a direction a record needs for its bytes per packet to be judged.
    pub fn min_packets(&self, direction: usize) -> f64 {
        plain(self.packets[direction].q01) / 2.0
    }

    /// The typical value of a quantity or distribution, in plain units.
    pub fn median_of(dist: &Dist) -> f64 {
        plain(dist.median)
    }
}

/// The baseline saved in the model: per conn edge id of the training vocabulary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeBaseline {
    pub edges: Vec<Option<EdgeShape>>,
    /// Edges past [`MAX_EDGES`], not learnt.
    pub overflow: u64,
}

impl ShapeBaseline {
    /// The learnt shape of conn edge `edge`, if it has one.
    pub fn edge(&self, edge: u32) -> Option<&EdgeShape> {
        self.edges.get(edge as usize).and_then(Option::as_ref)
    }

    /// The model's flow-shape baseline; `Ok(None)` when the model has none.
    pub fn from_model(model: &LoadedModel) -> Result<Option<ShapeBaseline>, BaselineError> {
        baseline::decode(model, NAME, BASELINE_VERSION)
    }
}

/// `ln(1 + x)` back to x.
fn plain(ln: f64) -> f64 {
    ln.exp_m1()
}

fn quantize(ln: f64) -> u16 {
    histogram::round(ln * STEPS_PER_UNIT).clamp(0.0, f64::from(MISSING - 1)) as u16
}

fn unquantize(step: u16) -> f64 {
    f64::from(step) / STEPS_PER_UNIT
}

/// A record's byte counts and packets per direction; `None` for a record that carried no
/// payload (a probe or a rejected connection: the communication detector's).
fn sizes(conn: &ConnFields<'_>) -> Option<([u64; 2], [u64; 2])> {
    let (orig, resp) = (conn.orig_bytes?, conn.resp_bytes?);
    if orig == 0 && resp == 0 {
        return None;
    }
    Some((
        [orig, resp],
        [conn.orig_pkts.unwrap_or(0), conn.resp_pkts.unwrap_or(0)],
    ))
}

/// Slots of [`LnMemo`].
const MEMO_SLOTS: usize = 256;

/// The last `ln(1 + bytes / packets)` computed per slot, keyed by the quotient's bits: a polling
/// edge repeats the same quotients, and `ln_1p` is most of a record's arithmetic. A slot holds
/// the value `f64::ln_1p` gave for exactly those bits, so a hit is the same bits as a call.
#[derive(Clone, Debug)]
struct LnMemo {
    slots: Box<[(u64, f64)]>,
}

impl Default for LnMemo {
    fn default() -> LnMemo {
        // A NaN's bits: a quotient of counts with packets > 0 is never NaN.
        LnMemo {
            slots: vec![(u64::MAX, 0.0); MEMO_SLOTS].into_boxed_slice(),
        }
    }
}

impl LnMemo {
    /// `ln(1 + bytes / packets)`, `None` without packets.
    #[inline]
    fn per_packet(&mut self, bytes: u64, packets: u64) -> Option<f64> {
        if packets == 0 {
            return None;
        }
        let quotient = bytes as f64 / packets as f64;
        let bits = quotient.to_bits();
        let slot = ((bits ^ (bits >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize;
        let entry = &mut self.slots[slot % MEMO_SLOTS];
        if entry.0 != bits {
            *entry = (bits, quotient.ln_1p());
        }
        Some(entry.1)
    }

    /// One quantity of a record in ln(1 + x), `None` when it has no value.
    #[inline]
    fn quantity(&mut self, quantity: Quantity, bytes: [u64; 2], packets: [u64; 2]) -> Option<f64> {
        match quantity {
            Quantity::OrigPerPacket => self.per_packet(bytes[0], packets[0]),
            Quantity::RespPerPacket => self.per_packet(bytes[1], packets[1]),
            Quantity::OrigPerRecord => Some(ln_1p_count(bytes[0])),
            Quantity::RespPerRecord => Some(ln_1p_count(bytes[1])),
        }
    }
}

/// A sparse count of quantized values.
#[derive(Clone, Debug, Default)]
struct Bins(StepCounts);

impl Bins {
    fn add(&mut self, step: u16) {
        self.0.add(step);
    }

    fn summary(&self) -> Dist {
        let summary = self.0.summary(STEPS_PER_UNIT);
        Dist {
            n: self.0.n(),
            median: summary.median,
            mad: summary.mad,
            q01: summary.q01,
            q99: summary.q99,
        }
    }
}

/// A two-sided CUSUM in noise units, capped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Cusum {
    high: f64,
    low: f64,
}

/// The standard deviation of `values` without their lowest and highest [`TRIM`]: a quantity
/// with two common values has no median absolute deviation, yet it varies by their gap.
fn trimmed_deviation(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = (sorted.len() as f64 * TRIM) as usize;
    let kept = &sorted[cut..sorted.len() - cut];
    if kept.len() < 2 {
        return 0.0;
    }
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    (kept.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / kept.len() as f64).sqrt()
}

/// A record's step in noise units, clipped so one odd record cannot raise an alarm alone.
fn step(value: f64, median: f64, unit: f64) -> f64 {
    ((value - median) / unit).clamp(-CLIP, CLIP)
}

impl Cusum {
    /// Adds a clipped step, measured from `centre`.
    fn add(&mut self, step: f64, centre: f64, cap: f64) {
        let z = step - centre;
        self.high = (self.high + z - ALLOWANCE).clamp(0.0, cap);
        self.low = (self.low - z - ALLOWANCE).clamp(0.0, cap);
    }

    fn largest(&self) -> f64 {
        self.high.max(self.low)
    }
}

/// One edge's training state.
#[derive(Debug, Default)]
struct EdgeFit {
    records: u64,
    quantities: [Bins; 4],
    packets: [Bins; 2],
    duration: Bins,
    /// The first [`MAX_KEPT`] records: four quantities and two packet counts, quantized.
    kept: Vec<[u16; 6]>,
}

impl EdgeFit {
    /// Adds a connection; `ln_duration` is its row's ln(1 + duration) (`RawRow::ln_duration`).
    fn add(&mut self, conn: &ConnFields<'_>, ln_duration: f64, memo: &mut LnMemo) {
        let Some((bytes, packets)) = sizes(conn) else {
            return;
        };
        self.records += 1;
        let mut row = [MISSING; 6];
        for quantity in Quantity::ALL {
            let idx = quantity as usize;
            if let Some(value) = memo.quantity(quantity, bytes, packets) {
                let step = quantize(value);
                self.quantities[idx].add(step);
                row[idx] = step;
            }
        }
        for (direction, &count) in packets.iter().enumerate() {
            let step = quantize(ln_1p_count(count));
            self.packets[direction].add(step);
            row[4 + direction] = step;
        }
        if let Some(duration) = conn.duration.filter(|d| d.is_finite() && *d >= 0.0) {
            debug_assert_eq!(quantize(ln_duration), quantize(duration.ln_1p()));
            self.duration.add(quantize(ln_duration));
        }
        if self.kept.len() < MAX_KEPT {
            self.kept.push(row);
        }
    }

    fn finish(self) -> Option<EdgeShape> {
        if self.records < MIN_RECORDS {
            return None;
        }
        let packets = [self.packets[0].summary(), self.packets[1].summary()];
        let mut shape = EdgeShape {
            records: self.records,
            duration: self.duration.summary(),
            packets,
            quantities: [QuantityBaseline::default(); 4],
        };
        for quantity in Quantity::ALL {
            let idx = quantity as usize;
            let dist = self.quantities[idx].summary();
            // Replaying the edge's own records, judged the way scoring judges them, gives the
            // highest sum its ordinary noise reaches.
            let min_packets = quantity.packets().map(|dir| shape.min_packets(dir));
            let values: Vec<f64> = self
                .kept
                .iter()
                .filter(|row| row[idx] != MISSING)
                .filter(|row| match (quantity.packets(), min_packets) {
                    (Some(dir), Some(min)) => plain(unquantize(row[4 + dir])) >= min,
                    _ => true,
                })
                .map(|row| unquantize(row[idx]))
                .collect();
            let unit = dist
                .spread()
                .max(trimmed_deviation(&values))
                .max(UNIT_FLOOR);
            let steps: Vec<f64> = values
                .iter()
                .map(|&value| step(value, dist.median, unit))
                .collect();
            let centre = if steps.is_empty() {
                0.0
            } else {
                steps.iter().sum::<f64>() / steps.len() as f64
            };
            let mut cusum = Cusum::default();
            let mut highest: f64 = 0.0;
            for &step in &steps {
                cusum.add(step, centre, f64::INFINITY);
                highest = highest.max(cusum.largest());
            }
            shape.quantities[idx] = QuantityBaseline {
                dist,
                unit,
                centre,
                highest,
                alarm: (2.0 * highest).max(MIN_ALARM),
                judged: dist.n >= MIN_RECORDS && dist.spread() <= MAX_SPREAD,
            };
        }
        Some(shape)
    }
}

/// The training pass of the detector.
#[derive(Debug, Default)]
pub struct Learner {
    edges: Vec<Option<EdgeFit>>,
    learnt: usize,
    overflow: u64,
    memo: LnMemo,
}

impl baseline::Learner for Learner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, record: &TrainingRecord<'_>) {
        let EventKind::Conn(conn) = &record.event.kind else {
            return;
        };
        if record.schema != Schema::Conn || record.raw.edge == OVERFLOW {
            return;
        }
        let idx = record.raw.edge as usize;
        if self.edges.len() <= idx {
            self.edges.resize_with(idx + 1, || None);
        }
        if self.edges[idx].is_none() {
            if self.learnt >= MAX_EDGES {
                self.overflow += 1;
                return;
            }
            self.learnt += 1;
        }
        self.edges[idx].get_or_insert_with(EdgeFit::default).add(
            conn,
            record.raw.ln_duration(),
            &mut self.memo,
        );
    }

    fn finish(self: Box<Self>) -> Result<BaselineSection, BaselineError> {
        let baseline = ShapeBaseline {
            edges: self
                .edges
                .into_iter()
                .map(|edge| edge.and_then(EdgeFit::finish))
                .collect(),
            overflow: self.overflow,
        };
        baseline::encode(NAME, BASELINE_VERSION, &baseline)
    }
}

/// One edge's live state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct EdgeLive {
    sums: [Cusum; 4],
    /// The smoothed recent level per quantity, ln units.
    recent: [Option<f64>; 4],
}

/// The checkpointed state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    edges: Vec<(u32, EdgeLive)>,
}

/// What a finding's reasons depend on, per quantity over its alarm: the quantity, the sum to
/// a tenth, the recent level and the record's value as printed. Equal keys read the same.
type ReasonKey = Vec<(usize, i64, u64, u64)>;

/// The flow-shape detector.
#[derive(Debug)]
pub struct FlowShapeDetector {
    baseline: ShapeBaseline,
    /// Per edge id of the baseline, [`EdgeShape::min_packets`] of both directions, computed once
    /// (each is an `exp_m1`, and every record of the edge needs them).
    min_packets: Vec<[f64; 2]>,
    /// Per edge id of the baseline, its live state once a record of it was measured.
    edges: Vec<Option<EdgeLive>>,
    /// Per edge, the last reasons given and their key: a sustained drift gives the same words
    /// for thousands of records, and formatting them is most of the detector's cost.
    said: HashMap<u32, (ReasonKey, Vec<Reason>), KeyHashState>,
    /// The key of the record being judged, reused: most records of a drift are over an alarm.
    over: ReasonKey,
    memo: LnMemo,
}

impl FlowShapeDetector {
    pub fn new(baseline: ShapeBaseline) -> FlowShapeDetector {
        let min_packets = baseline
            .edges
            .iter()
            .map(|edge| {
                edge.as_ref()
                    .map_or([0.0; 2], |edge| [0, 1].map(|d| edge.min_packets(d)))
            })
            .collect();
        FlowShapeDetector {
            edges: vec![None; baseline.edges.len()],
            min_packets,
            baseline,
            said: HashMap::default(),
            over: Vec::new(),
            memo: LnMemo::default(),
        }
    }

    /// The detector over the model's baseline; `Ok(None)` when the model has none.
    pub fn from_model(model: &LoadedModel) -> Result<Option<FlowShapeDetector>, BaselineError> {
        Ok(ShapeBaseline::from_model(model)?.map(FlowShapeDetector::new))
    }
}

/// A size as printed, to three significant digits (whole bytes from 100 up): finer than the
/// learnt quantization, coarser than its rounding.
fn size_printed(ln: f64) -> f64 {
    let value = plain(ln);
    let scale = if value >= 100.0 {
        1.0
    } else if value >= 10.0 {
        10.0
    } else {
        100.0
    };
    (value * scale).round() / scale
}

/// A size in words, as [`size_printed`] rounds it.
fn size_text(ln: f64) -> String {
    let value = size_printed(ln);
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The CUSUM's reference in words, when the edge's own mix moves it off the median.
fn centred(centre: f64) -> String {
    if centre.abs() < 0.05 {
        String::new()
    } else {
        format!(", sums from the training records' mean step of {centre:+.1} units")
    }
}

fn edge_text(observation: &Observation<'_>) -> String {
    let edge = &observation.event.edge;
    format!(
        "{} -> {}:{}/{} {}",
        edge.orig_h,
        edge.resp_h,
        edge.resp_p,
        edge.proto.as_str(),
        edge.service
    )
}

/// The reason for one quantity over its alarm: the cumulative excess (always over its alarm,
/// so never inside the baseline), and the recent level only when it reads differently from the
/// training median.
fn reason(
    observation: &Observation<'_>,
    quantity: Quantity,
    learnt: &QuantityBaseline,
    sums: Cusum,
    recent: Option<f64>,
    value: f64,
) -> Reason {
    let (direction, sum) = if sums.high >= sums.low {
        ("above", sums.high)
    } else {
        ("below", sums.low)
    };
    let sum = (sum * 10.0).round() / 10.0;
    let median = size_text(learnt.dist.median);
    let mut observed = format!(
        "{} on {} cumulatively {direction} its training level by {sum:.1} noise units",
        quantity.label(),
        edge_text(observation)
    );
    if let Some(recent) = recent.map(size_text).filter(|recent| *recent != median) {
        observed.push_str(&format!(", recently {recent}"));
    }
    let now = size_text(value);
    let (low, high) = (size_text(learnt.dist.q01), size_text(learnt.dist.q99));
    if value < learnt.dist.q01 && now != low || value > learnt.dist.q99 && now != high {
        observed.push_str(&format!(", this record {now}"));
    }
    Reason::new(
        observed,
        format!(
            "median {median}, 1st to 99th percentile {low} to {high} over {} training records; noise unit {:.1} %{}, alarm at {:.1} units (training reached {:.1})",
            learnt.dist.n,
            100.0 * learnt.unit.exp_m1(),
            centred(learnt.centre),
            learnt.alarm,
            learnt.highest
        ),
    )
}

impl Detector for FlowShapeDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let (event, raw) = (observation.event, observation.raw);
        if observation.schema != Schema::Conn || raw.edge == OVERFLOW {
            return;
        }
        let EventKind::Conn(conn) = &event.kind else {
            return;
        };
        // An edge never seen in training, or seen too little, is not judged here.
        let Some(learnt) = self.baseline.edge(raw.edge) else {
            return;
        };
        let Some((bytes, packets)) = sizes(conn) else {
            return;
        };
        let edge = raw.edge as usize;
        let min_packets = self.min_packets[edge];
        let mut over = std::mem::take(&mut self.over);
        over.clear();
        let live = self.edges[edge].get_or_insert_with(EdgeLive::default);
        // Only judged quantities are computed; the others' values are never read.
        let mut values = [None; 4];
        for quantity in Quantity::ALL {
            let idx = quantity as usize;
            let base = &learnt.quantities[idx];
            if !base.judged {
                continue;
            }
            let Some(value) = self.memo.quantity(quantity, bytes, packets) else {
                continue;
            };
            values[idx] = Some(value);
            if quantity
                .packets()
                .is_some_and(|dir| (packets[dir] as f64) < min_packets[dir])
            {
                continue;
            }
            let sums = &mut live.sums[idx];
            sums.add(
                step(value, base.dist.median, base.unit),
                base.centre,
                2.0 * base.alarm,
            );
            let recent =
                live.recent[idx].map_or(value, |recent| recent + SMOOTHING * (value - recent));
            live.recent[idx] = Some(recent);
            if sums.largest() > base.alarm {
                over.push((
                    idx,
                    (if sums.high >= sums.low {
                        sums.high
                    } else {
                        -sums.low
                    } * 10.0)
                        .round() as i64,
                    size_printed(recent).to_bits(),
                    size_printed(value).to_bits(),
                ));
            }
        }
        if over.is_empty() {
            self.over = over;
            return;
        }
        let reasons = match self.said.get(&raw.edge) {
            Some((key, reasons)) if *key == over => reasons.clone(),
            _ => {
                let reasons: Vec<Reason> = over
                    .iter()
                    .map(|&(idx, ..)| {
                        reason(
                            observation,
                            Quantity::ALL[idx],
                            &learnt.quantities[idx],
                            live.sums[idx],
                            live.recent[idx],
                            values[idx].unwrap_or_default(),
                        )
                    })
                    .collect();
                self.said.insert(raw.edge, (over.clone(), reasons.clone()));
                reasons
            }
        };
        self.over = over;
        findings.push(Finding {
            detector: NAME,
            rule: "size_drift",
            title: "Size of the traffic on an edge drifting from its own",
            severity: Severity::Medium,
            subject: Subject {
                src: Some(event.edge.orig_h),
                dst: Some(event.edge.resp_h),
            },
            reasons,
            // Other requests riding a known polling edge: injected commands among the polls
            // (T0855), or data carried over the OT protocol itself (T0869).
            techniques: vec![
                ids::UNAUTHORIZED_COMMAND,
                ids::STANDARD_APPLICATION_LAYER_PROTOCOL,
            ],
            seen: Seen::of(event, observation.schema),
            scores: None,
        });
    }

    fn checkpoint(&self) -> serde_json::Value {
        let edges: Vec<(u32, EdgeLive)> = self
            .edges
            .iter()
            .enumerate()
            .filter_map(|(id, live)| Some((id as u32, live.clone()?)))
            .collect();
        serde_json::to_value(State { edges }).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.said.clear();
        self.edges.iter_mut().for_each(|live| *live = None);
        if state.is_null() {
            return Ok(());
        }
        let state: State = serde_json::from_value(state)
            .map_err(|error| format!("the flow_shape state is not valid: {error}"))?;
        for (id, live) in state.edges {
            // Live state only exists for edges of the baseline the checkpoint was made with.
            let slot = self.edges.get_mut(id as usize).ok_or_else(|| {
                format!(
                    "the flow_shape state names edge {id}, which the model's baseline does not have"
                )
            })?;
            *slot = Some(live);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
