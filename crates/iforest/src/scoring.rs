//! The forest's scoring layout, derived from its trees once after fitting or loading, and the walk
//! that adds every tree's path length to each row of a block.
//!
//! The serialised [`Tree`] stays the plain complete binary tree that `Tree::leaf_of` walks; the
//! scorer keeps a copy shaped for speed, so the model format does not depend on it:
//!
//! - Rows are walked in groups of [`LANES`] = 16, transposed to column-major order once per block,
//!   so lane `l`'s value of feature `f` sits at `f * 16 + l`.
//! - Values and thresholds become [`order_key`]s, `u32`s whose unsigned order is the `f32` order,
//!   so a comparison is one integer `cmp` whose carry flag is the branch taken.
//! - Each node is one `u64`: the threshold key, and the byte offset of its feature's column in a
//!   group (`feature * 16 * 4`). A step for one lane is then: load the node, load the value at
//!   `group + offset + 4 * lane`, compare, `p = 2p + carry`, where `p` is the lane's position in
//!   the current level (node `2^d - 1 + p` of the complete tree at level `d`).
//! - Eight lanes walk in lockstep, so eight independent loads are in flight; on x86-64 the step is
//!   written in assembly (baseline instructions only), because the compiler's version of the
//!   same Rust clusters the compares, spills the positions and runs twice the instructions.
//! - Where the CPU has AVX-512 or AVX2 (detected at run time), a [`TopWalk`] does the top
//!   [`TOP_LEVELS`] levels for all 16 lanes at once (`scoring_x86`), and the scalar walk carries
//!   on from the positions it reached.
//!
//! Every path of a complete tree has exactly `depth` steps, and each row's sum gets its trees' leaf
//! values added in tree order, exactly as summing `leaves[leaf_of(row)]` tree after tree does:
//! the sums are bit-identical to the simple walk. docs/isolation-forest.md ("Scoring speed") has
//! the measurements, including why walking every level with SIMD gathers lost.

use crate::tree::Tree;

#[cfg(target_arch = "x86_64")]
pub(crate) use crate::scoring_x86::TopWalk;

/// Levels walked for all 16 lanes of a group at once by a [`TopWalk`] before the scalar walk takes
/// over (measured: 3 and 5 are slower on the EPYC we build on).
pub(crate) const TOP_LEVELS: usize = 4;

/// No vector walk of the top levels on this target.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopWalk {}

#[cfg(not(target_arch = "x86_64"))]
impl TopWalk {
    pub(crate) fn detect() -> Option<TopWalk> {
        None
    }

    #[cfg(test)]
    pub(crate) fn available() -> Vec<TopWalk> {
        Vec::new()
    }

    pub(crate) unsafe fn top_levels(
        self,
        _tree: *const u64,
        _pass: &[u32],
        _group_len: usize,
        _out: &mut [[u32; LANES]],
    ) {
        match self {}
    }
}

/// Rows per transposed group.
pub(crate) const LANES: usize = 16;

/// Lanes walked in lockstep: enough independent paths to overlap the loads of a step, few enough
/// that every position stays in a register.
const WALK_LANES: usize = 8;

/// Groups scored per pass over the trees: 16 groups of 11 features are 11 KiB of values, which stay
/// in L1 while the trees stream past from L2.
const PASS_GROUPS: usize = 16;

/// A `u32` that orders finite `f32` values as `<` does: `a > b` exactly when
/// `order_key(a) > order_key(b)`. Adding `0.0` turns `-0.0` into `+0.0` (the two compare equal)
/// and leaves every other value unchanged; then the sign bit decides, and flipping all bits of a
/// negative value makes larger magnitudes smaller.
pub(crate) fn order_key(value: f32) -> u32 {
    let bits = (value + 0.0).to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// The forest's trees in scoring layout (see the module docs).
///
/// Invariants, established by [`Scorer::new`] and relied on by the unchecked walk: `1 <= depth <=
/// 24`; `nodes` holds `2^depth - 1` nodes per tree in complete-tree order, each with a byte offset
/// of at most `(n_features - 1) * LANES * 4`; `leaves` holds `2^depth` values per tree.
#[derive(Clone, PartialEq)]
pub(crate) struct Scorer {
    n_features: usize,
    depth: u32,
    n_trees: usize,
    /// Per node: the threshold key in the low half, the feature column's byte offset in the high.
    nodes: Vec<u64>,
    leaves: Vec<f64>,
}

/// A summary: the arrays are derived from the trees, which a forest's `Debug` already shows.
impl std::fmt::Debug for Scorer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Scorer")
            .field("n_features", &self.n_features)
            .field("depth", &self.depth)
            .field("n_trees", &self.n_trees)
            .field("nodes", &self.nodes.len())
            .field("leaves", &self.leaves.len())
            .finish()
    }
}

impl Scorer {
    /// Builds the scoring layout of `trees`, which must be complete trees of `depth` levels
    /// splitting on features below `n_features` (checked: an error names the first bad tree).
    pub(crate) fn new(trees: &[Tree], depth: u32, n_features: usize) -> Result<Scorer, String> {
        if depth == 0 || depth > 24 {
            return Err(format!("tree depth {depth} is out of range"));
        }
        if n_features == 0 || n_features > u32::MAX as usize / (LANES * 4) {
            return Err(format!("{n_features} features are out of range"));
        }
        // Every tree is checked before anything is allocated: the capacity below comes from the
        // depth and the tree count, and a loaded file states both, so unchecked they could ask for
        // terabytes (a million empty trees of depth 24). Checked, it is the size of the trees
        // already held.
        for (tree_idx, tree) in trees.iter().enumerate() {
            tree.validate(depth, n_features)
                .map_err(|reason| format!("tree {tree_idx}: {reason}"))?;
        }
        let mut nodes = Vec::with_capacity(trees.len() << depth);
        let mut leaves = Vec::with_capacity(trees.len() << depth);
        for tree in trees {
            nodes.extend(tree.nodes.iter().map(|node| {
                // `feature < n_features` (validated), so the offset fits in u32 (checked above).
                let offset = u64::from(node.feature) * (LANES * 4) as u64;
                offset << 32 | u64::from(order_key(node.threshold))
            }));
            leaves.extend_from_slice(&tree.leaves);
        }
        Ok(Scorer {
            n_features,
            depth,
            n_trees: trees.len(),
            nodes,
            leaves,
        })
    }

    /// Adds every tree's path length, in tree order, to each row's entry of `sums`: `rows` holds
    /// `sums.len()` rows, row-major and `n_features` wide.
    pub(crate) fn accumulate(&self, rows: &[f32], sums: &mut [f64]) {
        self.accumulate_with::<true>(rows, sums, TopWalk::detect());
    }

    /// [`Scorer::accumulate`], with the assembly step (`ASM`, on x86-64) or the Rust one.
    fn accumulate_with<const ASM: bool>(
        &self,
        rows: &[f32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        let n_features = self.n_features;
        assert_eq!(
            rows.len(),
            sums.len() * n_features,
            "rows do not match the sums"
        );
        let group_len = n_features * LANES;
        let n_groups = sums.len().div_ceil(LANES);
        // The lanes of a short last group are zero, a finite value every node compares; their
        // sums are dropped.
        let mut transposed = vec![order_key(0.0); n_groups * group_len];
        for (row_idx, row) in rows.chunks_exact(n_features).enumerate() {
            let group = &mut transposed[(row_idx / LANES) * group_len..][..group_len];
            let lane = row_idx % LANES;
            for (feature, &value) in row.iter().enumerate() {
                group[feature * LANES + lane] = order_key(value);
            }
        }
        let mut group_sums = vec![0.0f64; n_groups * LANES];
        group_sums[..sums.len()].copy_from_slice(sums);
        for (pass, pass_sums) in transposed
            .chunks(PASS_GROUPS * group_len)
            .zip(group_sums.chunks_mut(PASS_GROUPS * LANES))
        {
            // SAFETY: `pass` holds whole groups, one per `LANES` entries of `pass_sums`, because
            // both are cut from whole-group buffers at the same group boundaries.
            unsafe {
                match self.depth {
                    // Constant depths let the compiler unroll the levels for the usual forests
                    // (`max_samples` 256 gives depth 8).
                    8 => self.walk::<ASM>(8, pass, pass_sums, top),
                    7 => self.walk::<ASM>(7, pass, pass_sums, top),
                    6 => self.walk::<ASM>(6, pass, pass_sums, top),
                    5 => self.walk::<ASM>(5, pass, pass_sums, top),
                    4 => self.walk::<ASM>(4, pass, pass_sums, top),
                    9 => self.walk::<ASM>(9, pass, pass_sums, top),
                    10 => self.walk::<ASM>(10, pass, pass_sums, top),
                    depth => self.walk::<ASM>(depth as usize, pass, pass_sums, top),
                }
            }
        }
        sums.copy_from_slice(&group_sums[..sums.len()]);
    }

    /// Adds every tree's leaf value to each lane's sum, tree after tree.
    ///
    /// # Safety
    /// `depth == self.depth`; `transposed` holds whole groups, one per `LANES` entries of `sums`.
    #[inline(always)]
    unsafe fn walk<const ASM: bool>(
        &self,
        depth: usize,
        transposed: &[u32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        // SAFETY: this function's contract.
        unsafe {
            match top {
                Some(top) if depth >= TOP_LEVELS => {
                    self.walk_from::<ASM, TOP_LEVELS>(depth, transposed, sums, Some(top));
                }
                _ => self.walk_from::<ASM, 0>(depth, transposed, sums, None),
            }
        }
    }

    /// [`Scorer::walk`], the top `FIRST` levels by `top` (`FIRST` is 0 without one).
    ///
    /// # Safety
    /// As [`Scorer::walk`]; `depth >= FIRST`, and `top` is `Some` when `FIRST` is not 0.
    #[inline(always)]
    unsafe fn walk_from<const ASM: bool, const FIRST: usize>(
        &self,
        depth: usize,
        transposed: &[u32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        let group_len = self.n_features * LANES;
        let n_nodes = (1usize << depth) - 1;
        let mut tops = [[0u32; LANES]; PASS_GROUPS];
        for tree_idx in 0..self.n_trees {
            // SAFETY: `nodes` holds `n_nodes` and `leaves` `n_nodes + 1` entries per tree.
            let (tree, leaves) = unsafe {
                (
                    self.nodes.as_ptr().add(tree_idx * n_nodes),
                    self.leaves.as_ptr().add(tree_idx * (n_nodes + 1)),
                )
            };
            // The top levels for all 16 lanes at once, for the whole pass before the scalar
            // walks read the positions back (reading them right after the vector store that
            // wrote them stalls).
            if let Some(top) = top {
                // SAFETY: `tree` is a whole tree of this scorer with `depth >= TOP_LEVELS`
                // levels, and `group_len` is its width times `LANES`.
                unsafe { top.top_levels(tree, transposed, group_len, &mut tops) };
            }
            for ((group, group_sums), top) in transposed
                .chunks_exact(group_len)
                .zip(sums.chunks_exact_mut(LANES))
                .zip(&tops)
            {
                for (half, half_sums) in group_sums.chunks_exact_mut(WALK_LANES).enumerate() {
                    let mut positions = [0usize; WALK_LANES];
                    if FIRST > 0 {
                        for (position, &start) in
                            positions.iter_mut().zip(&top[half * WALK_LANES..])
                        {
                            *position = start as usize;
                        }
                    }
                    // SAFETY: `tree` is a whole tree of this scorer, `group` a whole group of
                    // its width, `half * WALK_LANES + WALK_LANES <= LANES`, and each position
                    // is below `2^FIRST` (zero, or from the top levels' walk).
                    unsafe {
                        walk_lanes::<ASM>(
                            tree,
                            FIRST..depth,
                            group.as_ptr(),
                            half * WALK_LANES,
                            &mut positions,
                        )
                    };
                    for (sum, &leaf) in half_sums.iter_mut().zip(&positions) {
                        // SAFETY: after `depth` steps a position is below `2^depth`.
                        *sum += unsafe { *leaves.add(leaf) };
                    }
                }
            }
        }
    }
}

/// Walks lanes `first_lane..first_lane + WALK_LANES` of one group through `levels` of one tree,
/// from `positions` in the first of those levels to the leaf each lane lands in.
///
/// # Safety
/// `tree` points at the `2^depth - 1` nodes of a tree in a [`Scorer`] of width `n`, with
/// `levels.end == depth`; each position is below `2^levels.start`; `group` points at a whole group
/// of width `n`, and `first_lane + WALK_LANES <= LANES`. Every read is then in bounds: before
/// level `d` a position is below `2^d`, so node `2^d - 1 + p` is in the tree; an offset is at most
/// `(n - 1) * LANES * 4` bytes, and a lane adds at most `4 * (LANES - 1)`.
#[inline(always)]
unsafe fn walk_lanes<const ASM: bool>(
    tree: *const u64,
    levels: std::ops::Range<usize>,
    group: *const u32,
    first_lane: usize,
    positions: &mut [usize; WALK_LANES],
) {
    // SAFETY: within the group (the contract).
    let lanes = unsafe { group.add(first_lane) }.cast::<u8>();
    for level in levels {
        // SAFETY: level `level` starts at node `2^level - 1` of the tree.
        let level_nodes = unsafe { tree.add((1 << level) - 1) };
        #[cfg(target_arch = "x86_64")]
        if ASM {
            // SAFETY: the reads the function's contract vouches for.
            unsafe { x86_level_step(level_nodes, lanes, positions) };
            continue;
        }
        // SAFETY: as above.
        unsafe { level_step(level_nodes, lanes, positions) };
    }
}

/// One level for the walking lanes, in Rust.
///
/// # Safety
/// For every lane `k`, `level_nodes` must be readable at `positions[k]`, and `lanes` at the byte
/// offset that node holds plus `4 * k`.
#[inline(always)]
unsafe fn level_step(level_nodes: *const u64, lanes: *const u8, positions: &mut [usize]) {
    for (lane, position) in positions.iter_mut().enumerate() {
        // SAFETY: the function's contract.
        let (node, value) = unsafe {
            let node = *level_nodes.add(*position);
            let offset = (node >> 32) as usize;
            (node, lanes.add(offset).cast::<u32>().add(lane).read())
        };
        *position = 2 * *position + usize::from((node as u32) < value);
    }
}

/// One level for eight lanes in baseline x86-64 (no extension needed). A lane's step is five
/// instructions: load the node, copy and shift out its byte offset, compare its threshold key with
/// the lane's value there (the carry flag is `threshold < value`), `adc p, p` (`p = 2p + carry`).
///
/// # Safety
/// As [`level_step`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn x86_level_step(
    level_nodes: *const u64,
    lanes: *const u8,
    positions: &mut [usize; WALK_LANES],
) {
    macro_rules! step {
        ($p:literal, $lane_bytes:literal) => {
            concat!(
                "mov {node}, qword ptr [{nodes} + {p",
                $p,
                "}*8]\n",
                "mov {offset}, {node}\n",
                "shr {offset}, 32\n",
                "cmp {node:e}, dword ptr [{lanes} + {offset} + ",
                $lane_bytes,
                "]\n",
                "adc {p",
                $p,
                "}, {p",
                $p,
                "}\n",
            )
        };
    }
    let [p0, p1, p2, p3, p4, p5, p6, p7] = positions;
    // SAFETY: the reads are the ones the caller vouches for; only registers are written.
    unsafe {
        std::arch::asm!(
            step!(0, 0),
            step!(1, 4),
            step!(2, 8),
            step!(3, 12),
            step!(4, 16),
            step!(5, 20),
            step!(6, 24),
            step!(7, 28),
            nodes = in(reg) level_nodes,
            lanes = in(reg) lanes,
            node = out(reg) _,
            offset = out(reg) _,
            p0 = inout(reg) *p0,
            p1 = inout(reg) *p1,
            p2 = inout(reg) *p2,
            p3 = inout(reg) *p3,
            p4 = inout(reg) *p4,
            p5 = inout(reg) *p5,
            p6 = inout(reg) *p6,
            p7 = inout(reg) *p7,
            options(pure, readonly, nostack),
        );
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::tree::Node;

    /// Values that stress the comparisons: both zeros, the smallest subnormal, the extremes of
    /// `f32`, and values equal to thresholds (the same pool feeds rows and thresholds).
    const SPECIAL: [f32; 9] = [
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        f32::MAX,
        f32::MIN,
        1e30,
        -1e30,
    ];

    fn value(rng: &mut ChaCha8Rng, pool: &[f32]) -> f32 {
        match rng.random_range(0..4) {
            0 => SPECIAL[rng.random_range(0..SPECIAL.len())],
            1 => pool[rng.random_range(0..pool.len())],
            _ => rng.random_range(-10.0f32..10.0),
        }
    }

    /// Random complete trees: random features and thresholds, some pass-through nodes, and
    /// leaves of very different magnitudes, so that summing in another order would show.
    fn random_trees(
        rng: &mut ChaCha8Rng,
        n_trees: usize,
        depth: u32,
        n_features: usize,
    ) -> Vec<Tree> {
        let pool: Vec<f32> = (0..8).map(|_| rng.random_range(-10.0f32..10.0)).collect();
        let n_internal = (1usize << depth) - 1;
        (0..n_trees)
            .map(|_| Tree {
                nodes: (0..n_internal)
                    .map(|_| Node {
                        feature: rng.random_range(0..n_features as u32),
                        threshold: value(rng, &pool),
                    })
                    .collect(),
                leaves: (0..=n_internal)
                    .map(|_| rng.random::<f64>() * 10f64.powi(rng.random_range(-3..17)))
                    .collect(),
            })
            .collect()
    }

    /// What the walk must reproduce bit for bit: each tree's leaf added in tree order.
    fn reference(trees: &[Tree], rows: &[f32], n_features: usize, start: &[f64]) -> Vec<f64> {
        rows.chunks_exact(n_features)
            .zip(start)
            .map(|(row, &start)| {
                trees
                    .iter()
                    .fold(start, |sum, tree| sum + tree.leaves[tree.leaf_of(row)])
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn order_keys_order_finite_values_as_floats_do(a in any::<u32>(), b in any::<u32>()) {
            let (a, b) = (f32::from_bits(a), f32::from_bits(b));
            prop_assume!(a.is_finite() && b.is_finite());
            prop_assert_eq!(a > b, order_key(a) > order_key(b));
            prop_assert_eq!(a == b, order_key(a) == order_key(b));
        }

        #[test]
        fn every_walk_equals_the_single_row_walk_bit_for_bit(
            seed in any::<u64>(),
            depth in 1u32..=9,
            n_features in 1usize..=13,
            n_trees in 1usize..=4,
            n_rows in 0usize..=70,
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let trees = random_trees(&mut rng, n_trees, depth, n_features);
            let pool: Vec<f32> = trees[0].nodes.iter().map(|node| node.threshold).collect();
            let rows: Vec<f32> = (0..n_rows * n_features).map(|_| value(&mut rng, &pool)).collect();
            let start: Vec<f64> = (0..n_rows).map(|_| rng.random_range(-1e3..1e3)).collect();
            let scorer = Scorer::new(&trees, depth, n_features).expect("valid trees");
            let expected = reference(&trees, &rows, n_features, &start);
            let mut walks: Vec<(String, bool, Option<TopWalk>)> =
                vec![("rust".into(), false, None), ("assembly".into(), true, None)];
            for top in TopWalk::available() {
                walks.push((format!("{top:?} top levels"), false, Some(top)));
                walks.push((format!("{top:?} top levels and assembly"), true, Some(top)));
            }
            for (name, asm, top) in walks {
                let mut sums = start.clone();
                if asm {
                    scorer.accumulate_with::<true>(&rows, &mut sums, top);
                } else {
                    scorer.accumulate_with::<false>(&rows, &mut sums, top);
                }
                let bits: Vec<u64> = sums.iter().map(|sum| sum.to_bits()).collect();
                let expected_bits: Vec<u64> = expected.iter().map(|sum| sum.to_bits()).collect();
                prop_assert_eq!(bits, expected_bits, "the {} walk differs", name);
            }
        }
    }

    #[test]
    fn every_vector_walk_of_the_top_levels_equals_the_scalar_walk() {
        let available = TopWalk::available();
        eprintln!("vector walks of the top levels on this CPU: {available:?}");
        // 300 rows (18 full groups and a short one) through 20 depth-8 trees: more than one pass.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let trees = random_trees(&mut rng, 20, 8, 11);
        let pool: Vec<f32> = trees[3].nodes.iter().map(|node| node.threshold).collect();
        let rows: Vec<f32> = (0..300 * 11).map(|_| value(&mut rng, &pool)).collect();
        let scorer = Scorer::new(&trees, 8, 11).expect("valid trees");
        let mut scalar = vec![0.0; 300];
        scorer.accumulate_with::<true>(&rows, &mut scalar, None);
        assert_eq!(scalar, reference(&trees, &rows, 11, &[0.0; 300]));
        for top in available {
            let mut sums = vec![0.0; 300];
            scorer.accumulate_with::<true>(&rows, &mut sums, Some(top));
            assert_eq!(sums, scalar, "{top:?}");
        }
    }

    #[test]
    fn a_tree_splitting_on_a_missing_feature_is_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut trees = random_trees(&mut rng, 2, 3, 4);
        trees[1].nodes[5].feature = 4;
        let error = Scorer::new(&trees, 3, 4).expect_err("feature 4 of 4");
        assert!(error.starts_with("tree 1: "), "{error}");
        assert!(Scorer::new(&trees, 0, 4).is_err());
    }
}
