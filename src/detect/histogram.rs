//! Sparse counts of quantized values, the learners' distributions (rhythm, flow shape), and the
//! robust summary (median, MAD, 1st and 99th percentiles) read once at the end from the steps in
//! ascending order.
//!
//! A training pass adds several values per record, and the order of the steps only matters for
//! the summary, so adding a value only appends it: behind a run of the last step (an OT edge
//! repeats the same sizes and packet counts record after record, so most values only extend the
//! run), a run that ends goes into a pending buffer, and a full buffer is sorted and merged into
//! the ascending list of distinct steps and their counts. Sorting a small buffer and merging it
//! in order costs a few instructions per value; a hash map keyed by the step (before this) cost a
//! cache miss per value once the distributions outgrew the cache, the largest part of training's
//! detector work, and an ordered map (before that) a tree walk per value. The summary is the
//! one the ordered map gave: the same ranks over the same steps in the same order.

/// Fewest pending runs before a merge; a merge also waits for a quarter as many runs as there
/// are distinct steps, so merging stays a few steps per value however many steps are distinct.
const MIN_PENDING: usize = 256;

/// The largest count one pending run holds (a run's count sits below its step in one `u64`).
const MAX_RUN: u64 = (1 << 48) - 1;

/// `x.round()` (half away from zero), bit for bit, without the library call: on the baseline
/// x86-64 target `f64::round` is a call into libm, and quantizing a record's values into steps
/// rounds about ten times per training record. Below 2^52 a non-negative value's integer part is
/// exact as an integer and `x - whole` is exact, so comparing it with one half rounds as `round`
/// does; anything else (negative, huge, NaN) takes `f64::round`.
#[inline]
pub(crate) fn round(x: f64) -> f64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2^52
    if (0.0..EXACT).contains(&x) {
        let whole = x as u64 as f64;
        if x - whole >= 0.5 {
            whole + 1.0
        } else {
            // Keeps the sign of -0.0, as `round` does.
            whole.copysign(x)
        }
    } else {
        x.round()
    }
}

/// How many times each quantized step was seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepCounts {
    /// Distinct steps in ascending order and their counts, as of the last merge.
    sorted: Vec<(u16, u64)>,
    /// Runs since the last merge, each its step above its count (`step << 48 | count`), so
    /// sorting the words sorts the runs by step.
    pending: Vec<u64>,
    /// The last step added and how many times in a row, not yet pending.
    run: (u16, u64),
    n: u64,
}

/// The robust summary of [`StepCounts`], in the caller's units (step / steps per unit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub median: f64,
    pub mad: f64,
    pub q01: f64,
    pub q99: f64,
}

impl StepCounts {
    #[inline]
    pub(crate) fn add(&mut self, step: u16) {
        self.n += 1;
        if self.run.0 == step && self.run.1 < MAX_RUN {
            self.run.1 += 1;
            return;
        }
        let (last, count) = std::mem::replace(&mut self.run, (step, 1));
        if count > 0 {
            self.pending.push(u64::from(last) << 48 | count);
            if self.pending.len() >= MIN_PENDING.max(self.sorted.len() / 4) {
                let pending = std::mem::take(&mut self.pending);
                self.sorted = merged(&self.sorted, pending.iter().copied());
                self.pending = pending;
                self.pending.clear();
            }
        }
    }

    /// Values counted.
    pub(crate) fn n(&self) -> u64 {
        self.n
    }

    /// The median, the median absolute deviation from it, and the 1st and 99th percentiles, with
    /// a step read as `step / per_unit`; all 0 when nothing was counted.
    pub(crate) fn summary(&self, per_unit: f64) -> Summary {
        let run = (self.run.1 > 0).then_some(u64::from(self.run.0) << 48 | self.run.1);
        let steps = merged(&self.sorted, self.pending.iter().copied().chain(run));
        let value = |step: u16| f64::from(step) / per_unit;
        let quantile = |q: f64| {
            let rank = ((self.n.saturating_sub(1)) as f64 * q).round() as u64;
            let mut seen = 0;
            for &(step, count) in &steps {
                seen += count;
                if seen > rank {
                    return value(step);
                }
            }
            0.0
        };
        let median = quantile(0.5);
        let mut deviations: Vec<(f64, u64)> = steps
            .iter()
            .map(|&(step, count)| ((value(step) - median).abs(), count))
            .collect();
        deviations.sort_by(|a, b| a.0.total_cmp(&b.0));
        let rank = self.n.saturating_sub(1) / 2;
        let mut seen = 0;
        let mut mad = 0.0;
        for (deviation, count) in deviations {
            seen += count;
            if seen > rank {
                mad = deviation;
                break;
            }
        }
        Summary {
            median,
            mad,
            q01: quantile(0.01),
            q99: quantile(0.99),
        }
    }
}

/// `sorted` (ascending distinct steps with counts) with the runs `pending` (packed as in
/// [`StepCounts::pending`], in any order) added: ascending distinct steps again.
fn merged(sorted: &[(u16, u64)], pending: impl Iterator<Item = u64>) -> Vec<(u16, u64)> {
    let mut runs: Vec<u64> = pending.collect();
    runs.sort_unstable();
    let mut out = Vec::with_capacity(sorted.len() + runs.len());
    let mut push = |step: u16, count: u64| match out.last_mut() {
        Some((last, total)) if *last == step => *total += count,
        _ => out.push((step, count)),
    };
    let mut old = sorted.iter().copied().peekable();
    for run in runs {
        let (step, count) = ((run >> 48) as u16, run & MAX_RUN);
        while let Some(&(old_step, old_count)) = old.peek()
            && old_step <= step
        {
            push(old_step, old_count);
            old.next();
        }
        push(step, count);
    }
    for (step, count) in old {
        push(step, count);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// The summary as the learners computed it over an ordered map before this type.
    fn ordered_summary(steps: &[u16], per_unit: f64) -> Summary {
        let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
        for &step in steps {
            *counts.entry(step).or_default() += 1;
        }
        let n = steps.len() as u64;
        let quantile = |q: f64| {
            let rank = ((n.saturating_sub(1)) as f64 * q).round() as u64;
            let mut seen = 0;
            for (&step, &count) in &counts {
                seen += count;
                if seen > rank {
                    return f64::from(step) / per_unit;
                }
            }
            0.0
        };
        let median = quantile(0.5);
        let mut deviations: Vec<(f64, u64)> = counts
            .iter()
            .map(|(&step, &count)| ((f64::from(step) / per_unit - median).abs(), count))
            .collect();
        deviations.sort_by(|a, b| a.0.total_cmp(&b.0));
        let rank = n.saturating_sub(1) / 2;
        let (mut seen, mut mad) = (0, 0.0);
        for (deviation, count) in deviations {
            seen += count;
            if seen > rank {
                mad = deviation;
                break;
            }
        }
        Summary {
            median,
            mad,
            q01: quantile(0.01),
            q99: quantile(0.99),
        }
    }

    #[test]
    fn round_is_f64_rounds_bit_for_bit() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.499_999_999_999_999_94,
            1.0 - f64::EPSILON / 2.0,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            4_503_599_627_370_497.0,
            -2.5,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in edges {
            assert_eq!(round(x).to_bits(), x.round().to_bits(), "{x:e}");
        }
    }

    proptest! {
        #[test]
        fn round_is_f64_rounds_on_any_value(bits in any::<u64>(), small in 0.0..70_000.0f64) {
            for x in [f64::from_bits(bits), small, small.floor() + 0.5] {
                prop_assert_eq!(round(x).to_bits(), x.round().to_bits(), "{:e}", x);
            }
        }

        #[test]
        fn the_summary_is_the_ordered_maps_bit_for_bit(
            // Past `MIN_PENDING` runs, so merges happen mid-way, and long runs of one step.
            steps in prop::collection::vec(
                prop_oneof![0u16..40, any::<u16>(), Just(7u16), Just(7u16), Just(7u16)],
                0..3000,
            ),
            per_unit in prop_oneof![Just(20.0), Just(2000.0)],
        ) {
            let mut counts = StepCounts::default();
            for &step in &steps {
                counts.add(step);
            }
            prop_assert_eq!(counts.n(), steps.len() as u64);
            let got = counts.summary(per_unit);
            let want = ordered_summary(&steps, per_unit);
            for (got, want) in [(got.median, want.median), (got.mad, want.mad), (got.q01, want.q01), (got.q99, want.q99)] {
                prop_assert_eq!(got.to_bits(), want.to_bits());
            }
        }
    }
}
