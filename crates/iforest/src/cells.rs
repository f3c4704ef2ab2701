//! The cell cache: rows that fall in the same cell of the forest's partition get the sum already
//! walked for an earlier row of that cell, instead of walking every tree again.
//!
//! A node sends a row right when `threshold < value`. For one feature, take every threshold any
//! node of the forest compares it with, sorted and deduplicated; a value's *rank* is how many of
//! them lie below it. Two values of equal rank make the same decision at every node splitting on
//! that feature, so two rows whose ranks are equal in every feature land in the same leaf of every
//! tree, and their sums (leaf values added in tree order from zero) are the same bits. The ranks
//! of a row, 16 bits per feature, are its cell's key.
//!
//! The cache is a fixed table per thread and forest ([`CellCache`]), two ways per set, most recent
//! first, so memory is bounded whatever the traffic. Computing a key costs a binary search per
//! feature, about a tenth of a walk; on traffic whose cells do not repeat that is lost, so in
//! [`CacheMode::Auto`](crate::CacheMode) a thread whose block mostly missed stops consulting its
//! cache for a growing number of blocks before it tries again. Table slots are chosen by a hash of
//! the key; rows crafted to collide only make the cache miss, and the results never depend on it.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::scoring::order_key;

/// Table slots per thread and forest: 8 Ki keys of up to 12 features take 256 KiB.
const ENTRIES: usize = 1 << 13;

/// Ways per set.
const WAYS: usize = 2;

/// Forests whose tables a thread keeps (a model has one per schema); the least recently used
/// one is dropped past this.
const FORESTS_PER_THREAD: usize = 4;

/// A block that finds fewer than one row in `MIN_HIT_SHARE` in the cache counts as a miss.
const MIN_HIT_SHARE: usize = 4;

/// The most blocks a thread skips the cache for after blocks that missed.
const MAX_BACKOFF: u32 = 64;

/// The largest rank a key holds: 16 bits, `u16::MAX` reserved so that an empty slot (all bits
/// set) is never a key.
const MAX_THRESHOLDS: usize = u16::MAX as usize - 1;

/// A slot's key word when the slot is empty.
const EMPTY: u64 = u64::MAX;

/// A quiet NaN's bits: a sum is never NaN (it adds finite leaves), so a slot whose sum has these
/// high bits holds, in its low 32 bits, the index of a row of the current block still being
/// walked.
const PENDING: u64 = 0x7ff8_0000_0000_0000;

/// Per feature, the thresholds that decide which cell a value is in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CellIndex {
    /// Features compared by at least one node that some finite value passes, with the range of
    /// their thresholds in `thresholds`.
    features: Vec<(usize, std::ops::Range<usize>)>,
    /// Each feature's distinct threshold keys, ascending.
    thresholds: Vec<u32>,
    /// `u64` words per key: four 16-bit ranks per word.
    words: usize,
}

impl CellIndex {
    /// The index of `(feature, threshold key)` pairs, one per node; `None` when a feature has
    /// more distinct thresholds than a 16-bit rank holds.
    pub(crate) fn new(
        n_features: usize,
        splits: impl Iterator<Item = (usize, u32)>,
    ) -> Option<CellIndex> {
        let mut per_feature = vec![Vec::new(); n_features];
        // A threshold of `f32::MAX` or above is passed by no finite value: its node sends every
        // row left and tells no cell from another.
        let never_passed = order_key(f32::MAX);
        for (feature, key) in splits {
            if key < never_passed {
                per_feature[feature].push(key);
            }
        }
        let mut features = Vec::new();
        let mut thresholds = Vec::new();
        for (feature, mut keys) in per_feature.into_iter().enumerate() {
            keys.sort_unstable();
            keys.dedup();
            if keys.len() > MAX_THRESHOLDS {
                return None;
            }
            if !keys.is_empty() {
                features.push((feature, thresholds.len()..thresholds.len() + keys.len()));
                thresholds.extend(keys);
            }
        }
        Some(CellIndex {
            words: features.len().div_ceil(4).max(1),
            features,
            thresholds,
        })
    }

    /// Writes the key of `row`'s cell to `key` (`self.words` long).
    #[inline]
    pub(crate) fn key(&self, row: &[f32], key: &mut [u64]) {
        key.fill(0);
        for (slot, (feature, range)) in self.features.iter().enumerate() {
            let rank = rank_below(&self.thresholds[range.clone()], order_key(row[*feature]));
            key[slot / 4] |= (rank as u64) << (16 * (slot % 4));
        }
    }

    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// How many distinct cells the rows (row-major, `n_features` wide) fall in.
    pub(crate) fn distinct_cells(&self, rows: &[f32], n_features: usize) -> usize {
        let mut key = vec![0; self.words];
        let mut seen = HashSet::new();
        for row in rows.chunks_exact(n_features) {
            self.key(row, &mut key);
            if !seen.contains(key.as_slice()) {
                seen.insert(key.clone());
            }
        }
        seen.len()
    }
}

/// How many of the ascending `sorted` keys are below `value`, without data-dependent branches
/// (the halving steps depend only on the length).
#[inline]
fn rank_below(sorted: &[u32], value: u32) -> usize {
    let mut base = 0;
    let mut len = sorted.len();
    if len == 0 {
        return 0;
    }
    while len > 1 {
        let half = len / 2;
        // Invariant: every key before `base` is below `value`, and the answer is at most
        // `base + len`.
        if sorted[base + half - 1] < value {
            base += half;
        }
        len -= half;
    }
    base + usize::from(sorted[base] < value)
}

/// What a lookup found.
pub(crate) enum Found {
    Sum(f64),
    /// The cell of an earlier row of this block, whose walk has not finished.
    Pending(usize),
    Missing,
}

/// One thread's table for one forest, and the scratch buffers of a block.
pub(crate) struct CellCache {
    /// The forest this table belongs to (`Scorer`'s id).
    owner: u64,
    words: usize,
    /// `ENTRIES` slots of `words` key words and the sum's bits; the ways of a set are
    /// neighbours, most recently inserted first.
    slots: Vec<u64>,
    /// Blocks to score without the cache before trying it again, and the next such wait.
    skip: u32,
    backoff: u32,
    /// Scratch: the block's keys, the rows that missed and their sums.
    pub(crate) keys: Vec<u64>,
    pub(crate) miss_rows: Vec<f32>,
    pub(crate) miss_sums: Vec<f64>,
    pub(crate) misses: Vec<u32>,
    /// Rows whose cell was pending: (row, index into `misses`).
    pub(crate) followers: Vec<(u32, u32)>,
    /// Rows looked up and rows found, since the table was made (for tests and measurements).
    pub(crate) looked_up: u64,
    pub(crate) found: u64,
}

impl CellCache {
    fn new(owner: u64, words: usize) -> CellCache {
        CellCache {
            owner,
            words,
            slots: vec![EMPTY; ENTRIES * (words + 1)],
            skip: 0,
            backoff: 1,
            keys: Vec::new(),
            miss_rows: Vec::new(),
            miss_sums: Vec::new(),
            misses: Vec::new(),
            followers: Vec::new(),
            looked_up: 0,
            found: 0,
        }
    }

    /// The first slot of `key`'s set.
    #[inline]
    fn set_of(&self, key: &[u64]) -> usize {
        let mut hash = 0u64;
        for &word in key {
            hash = (hash ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            hash ^= hash >> 29;
        }
        let sets = ENTRIES / WAYS;
        ((hash.wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 32) as usize & (sets - 1)) * WAYS
    }

    #[inline]
    fn slot(&self, index: usize) -> &[u64] {
        &self.slots[index * (self.words + 1)..][..self.words + 1]
    }

    #[inline]
    pub(crate) fn lookup(&self, key: &[u64]) -> Found {
        let set = self.set_of(key);
        for way in 0..WAYS {
            let slot = self.slot(set + way);
            if &slot[..self.words] == key {
                let bits = slot[self.words];
                return if bits & PENDING == PENDING {
                    Found::Pending((bits & 0xffff_ffff) as usize)
                } else {
                    Found::Sum(f64::from_bits(bits))
                };
            }
        }
        Found::Missing
    }

    /// Marks `key`'s cell as being walked for miss number `miss` of this block.
    #[inline]
    pub(crate) fn insert_pending(&mut self, key: &[u64], miss: usize) {
        self.store(key, PENDING | miss as u64);
    }

    /// Records `key`'s sum, in place of its pending mark if that is still there.
    #[inline]
    pub(crate) fn insert(&mut self, key: &[u64], sum: f64) {
        self.store(key, sum.to_bits());
    }

    fn store(&mut self, key: &[u64], bits: u64) {
        let set = self.set_of(key);
        let stride = self.words + 1;
        let words = self.words;
        let found = (0..WAYS).find(|&way| &self.slot(set + way)[..words] == key);
        let target = match found {
            Some(way) => set + way,
            None => {
                // The older way goes; the others move down one.
                let start = set * stride;
                self.slots
                    .copy_within(start..start + (WAYS - 1) * stride, start + stride);
                set
            }
        };
        let slot = &mut self.slots[target * stride..][..stride];
        slot[..words].copy_from_slice(key);
        slot[words] = bits;
    }

    /// Whether this block should skip the cache (in auto mode, after blocks that missed).
    pub(crate) fn skipping(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            true
        } else {
            false
        }
    }

    /// Counts a block that looked up `rows` rows and found `hits`, and in auto mode (`adapt`)
    /// sets the wait before the next lookup.
    pub(crate) fn record(&mut self, rows: usize, hits: usize, adapt: bool) {
        self.looked_up += rows as u64;
        self.found += hits as u64;
        if !adapt {
            return;
        }
        if hits * MIN_HIT_SHARE < rows {
            self.skip = self.backoff;
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        } else {
            self.backoff = 1;
        }
    }
}

thread_local! {
    /// This thread's tables, most recently used first.
    static CACHES: RefCell<Vec<CellCache>> = const { RefCell::new(Vec::new()) };
}

/// Rows looked up and found in this thread's table for forest `owner`, if it has one.
#[cfg(test)]
pub(crate) fn counts(owner: u64) -> Option<(u64, u64)> {
    CACHES.with(|caches| {
        let caches = caches.borrow();
        let cache = caches.iter().find(|cache| cache.owner == owner)?;
        Some((cache.looked_up, cache.found))
    })
}

/// Runs `work` with this thread's table for forest `owner` (made on first use).
pub(crate) fn with_cache<R>(owner: u64, words: usize, work: impl FnOnce(&mut CellCache) -> R) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        match caches.iter().position(|cache| cache.owner == owner) {
            Some(0) => {}
            Some(position) => {
                let cache = caches.remove(position);
                caches.insert(0, cache);
            }
            None => {
                caches.truncate(FORESTS_PER_THREAD - 1);
                caches.insert(0, CellCache::new(owner, words));
            }
        }
        work(&mut caches[0])
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn rank_below_counts_the_smaller_keys(
            mut keys in prop::collection::vec(any::<u32>(), 0..300),
            value in any::<u32>(),
        ) {
            keys.sort_unstable();
            keys.dedup();
            let expected = keys.iter().filter(|&&key| key < value).count();
            prop_assert_eq!(rank_below(&keys, value), expected);
            for &key in &keys {
                prop_assert_eq!(rank_below(&keys, key), keys.iter().filter(|&&k| k < key).count());
            }
        }
    }

    #[test]
    fn slots_keep_the_two_most_recent_keys_of_a_set_and_resolve_pending_marks() {
        let mut cache = CellCache::new(1, 1);
        // Find three keys of one set.
        let set = cache.set_of(&[0]);
        let same: Vec<u64> = (0..)
            .filter(|&word| cache.set_of(&[word]) == set)
            .take(3)
            .collect();
        cache.insert(&[same[0]], 1.5);
        cache.insert_pending(&[same[1]], 7);
        assert!(matches!(cache.lookup(&[same[0]]), Found::Sum(sum) if sum == 1.5));
        assert!(matches!(cache.lookup(&[same[1]]), Found::Pending(7)));
        cache.insert(&[same[1]], f64::INFINITY);
        assert!(matches!(cache.lookup(&[same[1]]), Found::Sum(sum) if sum == f64::INFINITY));
        cache.insert(&[same[2]], -0.0);
        assert!(matches!(cache.lookup(&[same[0]]), Found::Missing));
        assert!(
            matches!(cache.lookup(&[same[2]]), Found::Sum(sum) if sum.to_bits() == (-0.0f64).to_bits())
        );
        assert!(matches!(cache.lookup(&[same[1]]), Found::Sum(_)));
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_of_tables() {
        for owner in 0..10 {
            with_cache(1_000 + owner, 1, |cache| {
                assert_eq!(cache.owner, 1_000 + owner)
            });
        }
        CACHES.with(|caches| assert!(caches.borrow().len() <= FORESTS_PER_THREAD));
    }
}
