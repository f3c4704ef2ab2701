//! A seeded reservoir sampler (Li's Algorithm L) for training on streams too large to hold: after
//! `n` offers it holds a uniform random subset of `min(n, capacity)` of them.
//!
//! Algorithm L draws how many items to skip before the next one it keeps, so an offer it skips
//! costs a counter increment and a comparison; `offer_with` builds the item only when it is kept.
//! Over a stream of `n` items it keeps about `k (1 + ln(n / k))` of them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A uniform random sample of at most `capacity` items from a stream.
#[derive(Debug, Clone)]
pub struct Reservoir<T> {
    capacity: usize,
    items: Vec<T>,
    seen: u64,
    /// The 0-based stream position of the next item that will be kept once the reservoir is full.
    next_kept: u64,
    /// Algorithm L's running `W`: the largest of `capacity` uniform keys kept so far.
    weight: f64,
    rng: ChaCha8Rng,
}

impl<T> Reservoir<T> {
    /// An empty reservoir keeping at most `capacity` items, its choices fixed by `seed`.
    pub fn new(capacity: usize, seed: u64) -> Reservoir<T> {
        let mut reservoir = Reservoir {
            capacity,
            items: Vec::with_capacity(capacity.min(1 << 20)),
            seen: 0,
            // The first gap is counted from the last item of the initial fill.
            next_kept: (capacity as u64).saturating_sub(1),
            weight: 1.0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        };
        if capacity > 0 {
            reservoir.weight = reservoir.draw_weight_factor();
            reservoir.advance();
        } else {
            reservoir.next_kept = u64::MAX;
        }
        reservoir
    }

    /// Whether the next offered item will be kept; lets a caller skip building it.
    pub fn wants_next(&self) -> bool {
        self.seen < self.capacity as u64 || self.seen == self.next_kept
    }

    /// Offers one item.
    pub fn offer(&mut self, item: T) {
        self.offer_with(|| item);
    }

    /// Offers one item, calling `make` only when the item is kept.
    pub fn offer_with(&mut self, make: impl FnOnce() -> T) {
        let position = self.seen;
        self.seen += 1;
        if position < self.capacity as u64 {
            self.items.push(make());
        } else if position == self.next_kept {
            let slot = self.rng.random_range(0..self.capacity);
            self.items[slot] = make();
            self.weight *= self.draw_weight_factor();
            self.advance();
        }
    }

    /// How many items were offered.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The kept items, in no meaningful order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// `exp(ln(u) / k)` for a uniform `u` in (0, 1]: the factor Algorithm L multiplies `W` by.
    fn draw_weight_factor(&mut self) -> f64 {
        let unit = 1.0 - self.rng.random::<f64>();
        (unit.ln() / self.capacity as f64).exp()
    }

    /// Moves `next_kept` past a geometric number of skipped items.
    fn advance(&mut self) {
        let unit = 1.0 - self.rng.random::<f64>();
        // A float-to-integer cast saturates, so a vanishing W means "never again", not a wrap.
        let skip = (unit.ln() / (1.0 - self.weight).ln()).floor() as u64;
        self.next_kept = self.next_kept.saturating_add(skip).saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_stream_is_kept_whole() {
        let mut reservoir = Reservoir::new(10, 1);
        for item in 0..7 {
            reservoir.offer(item);
        }
        assert_eq!(reservoir.items(), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(reservoir.seen(), 7);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut reservoir = Reservoir::new(0, 1);
        for item in 0..100 {
            assert!(!reservoir.wants_next());
            reservoir.offer(item);
        }
        assert!(reservoir.items().is_empty());
    }

    #[test]
    fn every_item_is_equally_likely_to_be_kept() {
        let (n, k, runs) = (400usize, 40usize, 3000u64);
        let mut kept = vec![0u32; n];
        for seed in 0..runs {
            let mut reservoir = Reservoir::new(k, seed);
            for item in 0..n {
                reservoir.offer(item);
            }
            assert_eq!(reservoir.items().len(), k);
            for &item in reservoir.items() {
                kept[item] += 1;
            }
        }
        // Each item is kept with probability k / n = 0.1; allow five standard deviations.
        let expected = runs as f64 * k as f64 / n as f64;
        let tolerance = 5.0 * (expected * (1.0 - k as f64 / n as f64)).sqrt();
        for (item, &count) in kept.iter().enumerate() {
            assert!(
                (f64::from(count) - expected).abs() < tolerance,
                "item {item} kept {count} times, expected about {expected}"
            );
        }
        // The first and the last tenth of the stream are kept equally often.
        let first: u32 = kept[..n / 10].iter().sum();
        let last: u32 = kept[n - n / 10..].iter().sum();
        let block_expected = expected * (n / 10) as f64;
        assert!((f64::from(first) - block_expected).abs() < 5.0 * block_expected.sqrt());
        assert!((f64::from(last) - block_expected).abs() < 5.0 * block_expected.sqrt());
    }

    #[test]
    fn items_are_built_only_when_kept() {
        let mut reservoir = Reservoir::new(5, 3);
        let (mut built, mut wanted) = (0u64, 0u64);
        for item in 0..100_000u64 {
            if reservoir.wants_next() {
                wanted += 1;
            }
            reservoir.offer_with(|| {
                built += 1;
                item
            });
        }
        assert_eq!(built, wanted);
        // About k (1 + ln(n / k)) = 5 (1 + ln 20000), roughly 55, items are ever built.
        assert!(built < 200, "built {built} items");
    }

    #[test]
    fn the_same_seed_keeps_the_same_items() {
        let sample = |seed| {
            let mut reservoir = Reservoir::new(16, seed);
            (0..10_000).for_each(|item| reservoir.offer(item));
            reservoir.into_items()
        };
        assert_eq!(sample(9), sample(9));
        assert_ne!(sample(9), sample(10));
    }
}
