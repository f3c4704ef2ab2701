//! The SIMD walks of the scoring layout for x86-64, AVX-512 and AVX2, each behind a token type that
//! only run-time CPU detection can create, so no caller can run them on a CPU without the
//! instructions.
//!
//! Both walk the same 16-lane groups as the portable walk and take the same decisions
//! (`value > threshold`, ordered compare; every value is finite), so they land every row in the
//! same leaf, and they add the leaf values to each row's `f64` sum in tree order: the sums are
//! bit-identical. What they save is work per step: the top levels of a tree (up to 16 nodes for
//! AVX-512, 8 for AVX2) sit in registers and each lane's node is picked with a permute, the root
//! needs no node lookup at all, and only deeper levels gather their nodes from memory.

use std::arch::x86_64::*;

use crate::scoring::{LANES, Scorer, level_start};

/// Proof that the CPU has AVX-512F.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx512(());

/// Proof that the CPU has AVX2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx2(());

/// Checks the block shapes the walks index by: whole groups of `n_features * LANES` values, one
/// `LANES`-sum group each.
fn check_block(scorer: &Scorer, transposed: &[u32], sums: &[f64]) {
    let group_len = scorer.n_features() * LANES;
    assert!(
        transposed.len() % group_len == 0 && transposed.len() / group_len * LANES == sums.len(),
        "a transposed block must hold whole groups, one per 16 sums"
    );
}

impl Avx512 {
    pub(crate) fn detect() -> Option<Avx512> {
        is_x86_feature_detected!("avx512f").then_some(Avx512(()))
    }

    /// Adds every tree's leaf value to each lane's sum; see the module docs.
    pub(crate) fn walk(self, scorer: &Scorer, transposed: &[u32], sums: &mut [f64]) {
        check_block(scorer, transposed, sums);
        // SAFETY: an `Avx512` exists only when the CPU has AVX-512F (`detect`), and the block
        // holds whole groups (checked above).
        unsafe { walk_avx512(scorer, transposed, sums) }
    }
}

impl Avx2 {
    pub(crate) fn detect() -> Option<Avx2> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }

    /// Adds every tree's leaf value to each lane's sum; see the module docs.
    pub(crate) fn walk(self, scorer: &Scorer, transposed: &[u32], sums: &mut [f64]) {
        check_block(scorer, transposed, sums);
        // SAFETY: an `Avx2` exists only when the CPU has AVX2 (`detect`), and the block holds
        // whole groups (checked above).
        unsafe { walk_avx2(scorer, transposed, sums) }
    }
}

/// Levels whose nodes an AVX-512 walk keeps in registers: 1 to 4 in one register each (up to 16
/// nodes), level 5 in two (32 nodes, picked with a two-table permute).
const AVX512_PERMUTE_LEVELS: usize = 6;

/// # Safety
/// The CPU must have AVX-512F; `transposed` must hold whole groups, one per 16 entries of `sums`.
/// Every index the walk forms stays in bounds by the `Scorer` invariants: a position after `d`
/// steps is below `2^d`, inside level `d`'s padded slots (at least 16), and an offset plus a lane
/// is below the group length.
#[target_feature(enable = "avx512f")]
unsafe fn walk_avx512(scorer: &Scorer, transposed: &[u32], sums: &mut [f64]) {
    let group_len = scorer.n_features() * LANES;
    let depth = scorer.depth() as usize;
    // Byte offsets of the lanes within a feature's column.
    let lane_ids = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
    let one = _mm512_set1_epi32(1);
    for tree_idx in 0..scorer.n_trees() {
        let (offsets, thresholds, leaves) = scorer.tree_arrays(tree_idx);
        let root_threshold = _mm512_set1_epi32(thresholds[0] as i32);
        let root_offset = offsets[0] as usize;
        // Levels 1 to 4 in one register each, level 5 in two; unused levels stay zero.
        let mut level_thresholds = [_mm512_setzero_si512(); AVX512_PERMUTE_LEVELS + 1];
        let mut level_offsets = [_mm512_setzero_si512(); AVX512_PERMUTE_LEVELS + 1];
        for level in 1..depth.min(AVX512_PERMUTE_LEVELS) {
            let start = level_start(level);
            // SAFETY: level `level` has at least 16 slots from `start` (padding), and level 5
            // has exactly 32, so each load reads inside this tree's arrays.
            unsafe {
                level_thresholds[level] = _mm512_loadu_epi32(thresholds.as_ptr().add(start).cast());
                level_offsets[level] = _mm512_loadu_epi32(offsets.as_ptr().add(start).cast());
                if level == 5 {
                    level_thresholds[6] = _mm512_loadu_epi32(thresholds.as_ptr().add(start + 16).cast());
                    level_offsets[6] = _mm512_loadu_epi32(offsets.as_ptr().add(start + 16).cast());
                }
            }
        }
        for (group, group_sums) in transposed
            .chunks_exact(group_len)
            .zip(sums.chunks_exact_mut(LANES))
        {
            let group = group.as_ptr();
            // SAFETY: the root's offset is at most `(n_features - 1) * LANES`, so 16 values from
            // it lie inside the group.
            let value = unsafe { _mm512_loadu_epi32(group.cast::<u8>().add(root_offset).cast()) };
            let right = _mm512_cmpgt_epu32_mask(value, root_threshold);
            let mut position = _mm512_maskz_mov_epi32(right, one);
            for level in 1..depth {
                let (threshold, offset) = if level < 5 {
                    (
                        _mm512_permutexvar_epi32(position, level_thresholds[level]),
                        _mm512_permutexvar_epi32(position, level_offsets[level]),
                    )
                } else if level == 5 {
                    (
                        _mm512_permutex2var_epi32(level_thresholds[5], position, level_thresholds[6]),
                        _mm512_permutex2var_epi32(level_offsets[5], position, level_offsets[6]),
                    )
                } else {
                    let start = level_start(level);
                    // SAFETY: positions are below `2^level`, the slots of this level.
                    unsafe {
                        (
                            _mm512_i32gather_epi32::<4>(position, thresholds.as_ptr().add(start).cast()),
                            _mm512_i32gather_epi32::<4>(
                                position,
                                offsets.as_ptr().add(start).cast(),
                            ),
                        )
                    }
                };
                // SAFETY: offset + lane < group_len (Scorer's invariant on offsets).
                let value = unsafe {
                    _mm512_i32gather_epi32::<1>(_mm512_add_epi32(offset, lane_ids), group.cast())
                };
                let right = _mm512_cmpgt_epu32_mask(value, threshold);
                position = _mm512_add_epi32(position, position);
                position = _mm512_mask_add_epi32(position, right, position, one);
            }
            let sums_ptr = group_sums.as_mut_ptr();
            // SAFETY: positions are below `2^depth == leaves.len()`; `group_sums` has 16 entries.
            unsafe {
                let low = _mm512_i32gather_pd::<8>(_mm512_castsi512_si256(position), leaves.as_ptr());
                let high = _mm512_i32gather_pd::<8>(
                    _mm512_extracti64x4_epi64::<1>(position),
                    leaves.as_ptr(),
                );
                _mm512_storeu_pd(sums_ptr, _mm512_add_pd(_mm512_loadu_pd(sums_ptr), low));
                _mm512_storeu_pd(
                    sums_ptr.add(8),
                    _mm512_add_pd(_mm512_loadu_pd(sums_ptr.add(8)), high),
                );
            }
        }
    }
}

/// Levels whose nodes an AVX2 walk keeps in registers: 1 to 3 (up to 8 nodes each).
const AVX2_PERMUTE_LEVELS: usize = 4;

/// # Safety
/// As [`walk_avx512`], for a CPU with AVX2.
#[target_feature(enable = "avx2")]
unsafe fn walk_avx2(scorer: &Scorer, transposed: &[u32], sums: &mut [f64]) {
    let group_len = scorer.n_features() * LANES;
    let depth = scorer.depth() as usize;
    let low_ids = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    let high_ids = _mm256_setr_epi32(32, 36, 40, 44, 48, 52, 56, 60);
    // AVX2 compares signed integers; flipping the top bit of both keys makes that the unsigned
    // order of the keys.
    let flip = _mm256_set1_epi32(i32::MIN);
    let greater = |value, threshold| {
        _mm256_cmpgt_epi32(_mm256_xor_si256(value, flip), _mm256_xor_si256(threshold, flip))
    };
    for tree_idx in 0..scorer.n_trees() {
        let (offsets, thresholds, leaves) = scorer.tree_arrays(tree_idx);
        let root_threshold = _mm256_set1_epi32(thresholds[0] as i32);
        let root_offset = offsets[0] as usize;
        let mut level_thresholds = [_mm256_setzero_si256(); AVX2_PERMUTE_LEVELS];
        let mut level_offsets = [_mm256_setzero_si256(); AVX2_PERMUTE_LEVELS];
        for level in 1..depth.min(AVX2_PERMUTE_LEVELS) {
            let start = level_start(level);
            // SAFETY: every level has at least 16 slots from `start` (padding).
            unsafe {
                level_thresholds[level] = _mm256_loadu_si256(thresholds.as_ptr().add(start).cast());
                level_offsets[level] = _mm256_loadu_si256(offsets.as_ptr().add(start).cast());
            }
        }
        for (group, group_sums) in transposed
            .chunks_exact(group_len)
            .zip(sums.chunks_exact_mut(LANES))
        {
            let group = group.as_ptr();
            // Two independent 8-lane halves, so their gathers overlap.
            // SAFETY: the root's offset is at most `(n_features - 1) * LANES`, so 16 values from
            // it lie inside the group.
            let (value_low, value_high) = unsafe {
                (
                    _mm256_loadu_si256(group.cast::<u8>().add(root_offset).cast()),
                    _mm256_loadu_si256(group.cast::<u8>().add(root_offset + 32).cast()),
                )
            };
            // A compare gives -1 (all bits) where the row goes right, so `2p - mask` adds one.
            let zero = _mm256_setzero_si256();
            let mut low = _mm256_sub_epi32(zero, greater(value_low, root_threshold));
            let mut high = _mm256_sub_epi32(zero, greater(value_high, root_threshold));
            for level in 1..depth {
                let ((threshold_low, offset_low), (threshold_high, offset_high)) =
                    if level < AVX2_PERMUTE_LEVELS {
                        let pick = |position| {
                            (
                                _mm256_permutevar8x32_epi32(level_thresholds[level], position),
                                _mm256_permutevar8x32_epi32(level_offsets[level], position),
                            )
                        };
                        (pick(low), pick(high))
                    } else {
                        let start = level_start(level);
                        // SAFETY: positions are below `2^level`, the slots of this level.
                        let pick = |position| unsafe {
                            (
                                _mm256_i32gather_epi32::<4>(
                                    thresholds.as_ptr().add(start).cast(),
                                    position,
                                ),
                                _mm256_i32gather_epi32::<4>(
                                    offsets.as_ptr().add(start).cast(),
                                    position,
                                ),
                            )
                        };
                        (pick(low), pick(high))
                    };
                // SAFETY: offset + lane < group_len (Scorer's invariant on offsets).
                let (value_low, value_high) = unsafe {
                    (
                        _mm256_i32gather_epi32::<1>(
                            group.cast(),
                            _mm256_add_epi32(offset_low, low_ids),
                        ),
                        _mm256_i32gather_epi32::<1>(
                            group.cast(),
                            _mm256_add_epi32(offset_high, high_ids),
                        ),
                    )
                };
                low = _mm256_sub_epi32(
                    _mm256_add_epi32(low, low),
                    greater(value_low, threshold_low),
                );
                high = _mm256_sub_epi32(
                    _mm256_add_epi32(high, high),
                    greater(value_high, threshold_high),
                );
            }
            let sums_ptr = group_sums.as_mut_ptr();
            // SAFETY: positions are below `2^depth == leaves.len()`; `group_sums` has 16 entries.
            unsafe {
                for (quarter, indices) in [
                    _mm256_castsi256_si128(low),
                    _mm256_extracti128_si256::<1>(low),
                    _mm256_castsi256_si128(high),
                    _mm256_extracti128_si256::<1>(high),
                ]
                .into_iter()
                .enumerate()
                {
                    let leaf = _mm256_i32gather_pd::<8>(leaves.as_ptr(), indices);
                    let sum = sums_ptr.add(4 * quarter);
                    _mm256_storeu_pd(sum, _mm256_add_pd(_mm256_loadu_pd(sum), leaf));
                }
            }
        }
    }
}
