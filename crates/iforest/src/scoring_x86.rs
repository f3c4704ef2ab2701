//! The top levels of the scoring walk in AVX-512 or AVX2, for all 16 lanes of a group at once,
//! behind a [`TopWalk`] that only run-time CPU detection creates.
//!
//! A tree's top levels have few nodes, and most lanes of a group pass through each of them. So
//! instead of looking up each lane's node and gathering its value (AVX-512 gathers measured slower
//! than the scalar walk on the EPYC we build on), every node of a top level is compared for all 16
//! lanes: one load of the node's feature column (16 contiguous values), one compare with the
//! node's threshold, kept only for the lanes sitting at that node. Level `d` costs `2^d` such
//! compares, a gain over 16 scalar steps while `2^d` is well below 16: levels 0 to 3. The
//! decisions are the scalar walk's (`threshold < value` on the same order keys), so the lanes land
//! in the same nodes and the scalar walk carries on from there.

use std::arch::x86_64::*;

use crate::path::ScoringPath;
use crate::scoring::{LANES, TOP_LEVELS};

/// A vector walk of the top levels the CPU runs. The private field keeps other modules from
/// making one: only `TopWalk::for_path` and (in tests) `TopWalk::available` do, after checking the
/// CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TopWalk(Isa);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
}

impl TopWalk {
    /// The vector walk of `path`, if it has one and the CPU runs it.
    pub(crate) fn for_path(path: ScoringPath) -> Option<TopWalk> {
        match path {
            ScoringPath::Avx512 if is_x86_feature_detected!("avx512f") => {
                Some(TopWalk(Isa::Avx512))
            }
            ScoringPath::Avx2 if is_x86_feature_detected!("avx2") => Some(TopWalk(Isa::Avx2)),
            _ => None,
        }
    }

    /// Every vector walk this CPU runs, for tests that compare them.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<TopWalk> {
        [ScoringPath::Avx512, ScoringPath::Avx2]
            .into_iter()
            .filter_map(TopWalk::for_path)
            .collect()
    }

    /// Walks all 16 lanes of every group of `pass` (whole groups of `group_len` values) through
    /// the first [`TOP_LEVELS`] levels of `tree`, and writes each lane's position in the next
    /// level (below `2^TOP_LEVELS`) to `out`, one entry per group.
    ///
    /// # Safety
    /// `tree` points at a tree of a `Scorer` with at least `TOP_LEVELS` levels, and `group_len`
    /// is that scorer's `n_features * LANES`.
    #[inline(always)]
    pub(crate) unsafe fn top_levels(
        self,
        tree: *const u64,
        pass: &[u32],
        group_len: usize,
        out: &mut [[u32; LANES]],
    ) {
        // SAFETY: a `TopWalk` exists only when the CPU has its instructions; the rest is the
        // caller's.
        unsafe {
            match self.0 {
                Isa::Avx512 => top_levels_avx512(tree, pass, group_len, out),
                Isa::Avx2 => top_levels_avx2(tree, pass, group_len, out),
            }
        }
    }
}

/// # Safety
/// As [`TopWalk::top_levels`], on a CPU with AVX-512F. A node's byte offset is at most
/// `(n_features - 1) * 64`, so the 64 bytes loaded from it lie inside its group.
#[target_feature(enable = "avx512f")]
unsafe fn top_levels_avx512(
    tree: *const u64,
    pass: &[u32],
    group_len: usize,
    out: &mut [[u32; LANES]],
) {
    let one = _mm512_set1_epi32(1);
    for (group, positions) in pass.chunks_exact(group_len).zip(out) {
        let group = group.as_ptr().cast::<u8>();
        let mut position = _mm512_setzero_si512();
        for level in 0..TOP_LEVELS {
            let first = (1usize << level) - 1;
            let mut right: __mmask16 = 0;
            for node_idx in 0..1usize << level {
                // SAFETY: node `first + node_idx` is in the tree's top `TOP_LEVELS` levels.
                let node = unsafe { *tree.add(first + node_idx) };
                // SAFETY: the column lies inside the group (see above).
                let column = unsafe { _mm512_loadu_si512(group.add((node >> 32) as usize).cast()) };
                let here = _mm512_cmpeq_epi32_mask(position, _mm512_set1_epi32(node_idx as i32));
                // `threshold < value`, for the lanes at this node only.
                right |= _mm512_mask_cmplt_epu32_mask(
                    here,
                    _mm512_set1_epi32(node as u32 as i32),
                    column,
                );
            }
            position = _mm512_add_epi32(position, position);
            position = _mm512_mask_add_epi32(position, right, position, one);
        }
        // SAFETY: `positions` has room for 16 u32.
        unsafe { _mm512_storeu_si512(positions.as_mut_ptr().cast(), position) };
    }
}

/// # Safety
/// As [`TopWalk::top_levels`], on a CPU with AVX2. The 16 lanes are two halves of eight; AVX2
/// compares signed integers, so both keys get their top bit flipped first, which turns the
/// unsigned order of the keys into the signed order.
#[target_feature(enable = "avx2")]
unsafe fn top_levels_avx2(
    tree: *const u64,
    pass: &[u32],
    group_len: usize,
    out: &mut [[u32; LANES]],
) {
    let flip = _mm256_set1_epi32(i32::MIN);
    for (group, positions) in pass.chunks_exact(group_len).zip(out) {
        let group = group.as_ptr().cast::<u8>();
        let mut low = _mm256_setzero_si256();
        let mut high = _mm256_setzero_si256();
        for level in 0..TOP_LEVELS {
            let first = (1usize << level) - 1;
            // All bits set in the lanes that go right.
            let mut right_low = _mm256_setzero_si256();
            let mut right_high = _mm256_setzero_si256();
            for node_idx in 0..1usize << level {
                // SAFETY: node `first + node_idx` is in the tree's top `TOP_LEVELS` levels.
                let node = unsafe { *tree.add(first + node_idx) };
                // SAFETY: the 64-byte column lies inside the group (see `top_levels_avx512`).
                let (column_low, column_high) = unsafe {
                    let column = group.add((node >> 32) as usize);
                    (
                        _mm256_loadu_si256(column.cast()),
                        _mm256_loadu_si256(column.add(32).cast()),
                    )
                };
                let threshold = _mm256_set1_epi32((node as u32 ^ 1 << 31) as i32);
                let here = _mm256_set1_epi32(node_idx as i32);
                let goes_right = |position, column| {
                    _mm256_and_si256(
                        _mm256_cmpeq_epi32(position, here),
                        _mm256_cmpgt_epi32(_mm256_xor_si256(column, flip), threshold),
                    )
                };
                right_low = _mm256_or_si256(right_low, goes_right(low, column_low));
                right_high = _mm256_or_si256(right_high, goes_right(high, column_high));
            }
            // `2p - (-1)` for the lanes that go right.
            low = _mm256_sub_epi32(_mm256_add_epi32(low, low), right_low);
            high = _mm256_sub_epi32(_mm256_add_epi32(high, high), right_high);
        }
        // SAFETY: `positions` has room for 16 u32.
        unsafe {
            _mm256_storeu_si256(positions.as_mut_ptr().cast(), low);
            _mm256_storeu_si256(positions.as_mut_ptr().add(8).cast(), high);
        }
    }
}
