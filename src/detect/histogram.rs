//! Sparse counts of quantized values, the learners' distributions (rhythm, flow shape): one hash
//! lookup per training record, and the robust summary (median, MAD, 1st and 99th percentiles)
//! read once at the end from the steps in ascending order.
//!
//! A training pass adds several values per record, so the count is a hash map keyed by the
//! step (an ordered map cost a tree walk per value, the largest part of training's detector
//! work), behind a run of the last step: an OT edge repeats the same sizes and packet counts
//! record after record, so most values only extend the run. The order only matters for the
//! summary, which sorts the distinct steps once. The summary is the one the ordered map gave:
//! the same ranks over the same steps in the same order.

use std::collections::HashMap;

use crate::features::intern::KeyHashState;

/// How many times each quantized step was seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepCounts {
    counts: HashMap<u16, u64, KeyHashState>,
    /// The last step added and how many times in a row, not yet in `counts`.
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
        if self.run.0 == step {
            self.run.1 += 1;
            return;
        }
        let (last, count) = std::mem::replace(&mut self.run, (step, 1));
        if count > 0 {
            *self.counts.entry(last).or_default() += count;
        }
    }

    /// Values counted.
    pub(crate) fn n(&self) -> u64 {
        self.n
    }

    /// The median, the median absolute deviation from it, and the 1st and 99th percentiles, with
    /// a step read as `step / per_unit`; all 0 when nothing was counted.
    pub(crate) fn summary(&self, per_unit: f64) -> Summary {
        let mut counts = self.counts.clone();
        if self.run.1 > 0 {
            *counts.entry(self.run.0).or_default() += self.run.1;
        }
        let mut steps: Vec<(u16, u64)> = counts.into_iter().collect();
        steps.sort_unstable_by_key(|&(step, _)| step);
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

    proptest! {
        #[test]
        fn the_summary_is_the_ordered_maps_bit_for_bit(
            steps in prop::collection::vec(prop_oneof![0u16..40, any::<u16>()], 0..400),
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
