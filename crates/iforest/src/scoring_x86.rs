//! The top levels of the scoring walk in AVX-512, for all 16 lanes of a group at once, behind a
//! token type that only run-time CPU detection creates.
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

use crate::scoring::LANES;

/// Levels walked with AVX-512 before the scalar walk takes over.
pub(crate) const TOP_LEVELS: usize = 4;

/// Proof that the CPU has AVX-512F.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx512(());

impl Avx512 {
    pub(crate) fn detect() -> Option<Avx512> {
        is_x86_feature_detected!("avx512f").then_some(Avx512(()))
    }

    /// Walks all 16 lanes of every group of `pass` (whole groups of `group_len` values) through
    /// the first `levels` levels of `tree`, and writes each lane's position in level `levels`
    /// (below `2^levels`) to `out`, one entry per group.
    ///
    /// # Safety
    /// `tree` points at a tree of a `Scorer` with at least `levels <= TOP_LEVELS` levels, and
    /// `group_len` is that scorer's `n_features * LANES`.
    pub(crate) unsafe fn top_levels(
        self,
        tree: *const u64,
        levels: usize,
        pass: &[u32],
        group_len: usize,
        out: &mut [[u32; LANES]],
    ) {
        // SAFETY: `self` exists only when the CPU has AVX-512F; the rest is the caller's.
        unsafe {
            match levels {
                5 => top_levels_avx512::<5>(tree, pass, group_len, out),
                4 => top_levels_avx512::<4>(tree, pass, group_len, out),
                3 => top_levels_avx512::<3>(tree, pass, group_len, out),
                2 => top_levels_avx512::<2>(tree, pass, group_len, out),
                1 => top_levels_avx512::<1>(tree, pass, group_len, out),
                _ => {}
            }
        }
    }
}

/// # Safety
/// As [`Avx512::top_levels`], on a CPU with AVX-512F. A node's byte offset is at most
/// `(n_features - 1) * 64`, so the 64 bytes loaded from it lie inside its group.
#[target_feature(enable = "avx512f")]
unsafe fn top_levels_avx512<const LEVELS: usize>(
    tree: *const u64,
    pass: &[u32],
    group_len: usize,
    out: &mut [[u32; LANES]],
) {
    let one = _mm512_set1_epi32(1);
    for (group, positions) in pass.chunks_exact(group_len).zip(out) {
        let group = group.as_ptr().cast::<u8>();
        let mut position = _mm512_setzero_si512();
        for level in 0..LEVELS {
            let first = (1usize << level) - 1;
            let mut right: __mmask16 = 0;
            for node_idx in 0..1usize << level {
                // SAFETY: node `first + node_idx` is in the tree's top `LEVELS` levels.
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
