//! The forest's scoring layout, derived from its trees once after fitting or loading, and the
//! block walk that sums every row's path lengths over all trees: a portable version, and x86 SIMD
//! versions (in `scoring_x86`) chosen at run time when the CPU has AVX-512 or AVX2.
//!
//! Why a separate layout: the serialised [`Tree`] stays the simple complete binary tree that
//! `leaf_of` walks, while scoring reads structures shaped for the walk. For each tree, level `d` of
//! the tree occupies `max(2^d, 16)` slots (padded, so a SIMD walk can load a whole level of up to
//! 16 nodes into one register and pick each lane's node with a permute instead of a gather), in
//! two parallel arrays: the thresholds, and each node's feature pre-multiplied by [`LANES`]. Rows
//! are scored in groups of 16 that are first transposed to column-major order, so lane `l`'s value
//! of feature `f` sits at `f * LANES + l`: a step is "load node, load `group[offset + lane]`,
//! compare, `p = 2p + (value > threshold)`" with `p` the position of the lane's node in its level.
//!
//! Every path of a complete tree has exactly `depth` steps, so all lanes of a group reach the leaf
//! level together, and each row's sum gets its trees' leaf values added in tree order, exactly as
//! `Tree::leaf_of` summed one tree after another: results are bit-identical whichever walk runs.

use crate::tree::Tree;

/// Rows walked together through a tree: one 16-lane group (a single AVX-512 register of `u32`).
pub(crate) const LANES: usize = 16;

/// Lanes the portable walk interleaves: enough independent paths to hide a step's latency, few
/// enough that every position stays in a register.
const WALK_LANES: usize = 8;

/// Groups scored per pass over the trees: 16 groups of 11 features are 11 KiB, so a pass keeps
/// its rows in L1 while each tree is read once from L2.
const PASS_GROUPS: usize = 16;

/// The forest's trees in scoring layout (see the module docs).
///
/// Invariants, established by [`Scorer::new`] and relied on by the unchecked walks: `1 <= depth
/// <= 24`; `nodes` holds `2 * stride` entries per tree with `stride = level_start(depth)`, the
/// first `stride` being byte offsets of a feature column in a group, each at most `(n_features -
/// 1) * LANES * 4`, then `stride` threshold keys; `leaves` holds `2^depth` values per tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    n_features: usize,
    depth: u32,
    n_trees: usize,
    nodes: Vec<u32>,
    leaves: Vec<f64>,
}

/// A `u32` that orders finite `f32` values as `<` does: `a > b` exactly when
/// `order_key(a) > order_key(b)`. Adding `0.0` turns `-0.0` into `+0.0` (which compares equal to
/// it) and leaves every other value unchanged; the sign bit then decides, and flipping the bits
/// of negative values makes larger magnitudes smaller. Comparing keys is one integer compare that
/// needs no float register, and the walk turns it into `2p + carry`.
pub(crate) fn order_key(value: f32) -> u32 {
    let bits = (value + 0.0).to_bits();
    if bits >> 31 == 1 { !bits } else { bits | 1 << 31 }
}

/// The first slot of `level` within a tree: levels 0 to 4 take 16 slots each (padded, so a SIMD
/// walk can load a whole level into one register), deeper levels their `2^level` nodes. For
/// `level == depth` it is the number of slots per tree.
pub(crate) const fn level_start(level: usize) -> usize {
    if level <= 4 {
        level * LANES
    } else {
        (1 << level) + 3 * LANES
    }
}

impl Scorer {
    /// Builds the scoring layout of `trees`, which must be complete trees of `depth` levels
    /// splitting on features below `n_features` (checked: an error names the first bad tree).
    pub(crate) fn new(trees: &[Tree], depth: u32, n_features: usize) -> Result<Scorer, String> {
        if depth == 0 || depth > 24 {
            return Err(format!("tree depth {depth} is out of range"));
        }
        if n_features == 0 || n_features > (u32::MAX as usize) / (LANES * 4) {
            return Err(format!("{n_features} features are out of range"));
        }
        let stride = level_start(depth as usize);
        let mut nodes = Vec::with_capacity(trees.len() * 2 * stride);
        let mut leaves = Vec::with_capacity(trees.len() << depth);
        for (tree_idx, tree) in trees.iter().enumerate() {
            tree.validate(depth, n_features)
                .map_err(|reason| format!("tree {tree_idx}: {reason}"))?;
            // Padding slots are never reached; they hold a pass-through node.
            let mut offsets = vec![0u32; stride];
            let mut thresholds = vec![order_key(f32::MAX); stride];
            for level in 0..depth as usize {
                let first = (1usize << level) - 1;
                for position in 0..1usize << level {
                    let node = tree.nodes[first + position];
                    let slot = level_start(level) + position;
                    // `feature < n_features` (validated), so this fits in u32 (checked above).
                    offsets[slot] = node.feature * (LANES * 4) as u32;
                    thresholds[slot] = order_key(node.threshold);
                }
            }
            nodes.extend_from_slice(&offsets);
            nodes.extend_from_slice(&thresholds);
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

    pub(crate) fn n_trees(&self) -> usize {
        self.n_trees
    }

    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    pub(crate) fn n_features(&self) -> usize {
        self.n_features
    }

    /// Tree `tree_idx`'s byte offsets and threshold keys (one entry per slot) and its leaves.
    pub(crate) fn tree_arrays(&self, tree_idx: usize) -> (&[u32], &[u32], &[f64]) {
        let stride = level_start(self.depth as usize);
        let n_leaves = 1usize << self.depth;
        let (offsets, thresholds) = self.nodes[tree_idx * 2 * stride..][..2 * stride].split_at(stride);
        (
            offsets,
            thresholds,
            &self.leaves[tree_idx * n_leaves..][..n_leaves],
        )
    }

    /// Adds every tree's path length, in tree order, to each row's entry of `sums`: `rows` is a
    /// block of `sums.len()` rows, row-major and `n_features` wide.
    pub(crate) fn accumulate(&self, kernel: Kernel, rows: &[f32], sums: &mut [f64]) {
        let n_features = self.n_features;
        assert_eq!(rows.len(), sums.len() * n_features, "rows do not match the sums");
        let group_len = n_features * LANES;
        let n_groups = sums.len().div_ceil(LANES);
        // Column-major groups; the lanes of a short last group are zero, a finite value every
        // node can compare, and their sums are dropped.
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
            match kernel {
                Kernel::Portable => self.walk_portable(pass, pass_sums),
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512(cpu) => cpu.walk(self, pass, pass_sums),
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2(cpu) => cpu.walk(self, pass, pass_sums),
            }
        }
        sums.copy_from_slice(&group_sums[..sums.len()]);
    }

    /// The walk in plain Rust, with the level loop unrolled for the usual depths.
    fn walk_portable(&self, transposed: &[u32], sums: &mut [f64]) {
        let group_len = self.n_features * LANES;
        assert!(
            transposed.len() == sums.len() / LANES * group_len && sums.len() % LANES == 0,
            "a transposed block must hold whole groups, one per 16 sums"
        );
        // SAFETY: the block holds whole groups (checked above).
        unsafe {
            match self.depth {
                1 => self.walk_portable_depth(1, transposed, sums),
                2 => self.walk_portable_depth(2, transposed, sums),
                3 => self.walk_portable_depth(3, transposed, sums),
                4 => self.walk_portable_depth(4, transposed, sums),
                5 => self.walk_portable_depth(5, transposed, sums),
                6 => self.walk_portable_depth(6, transposed, sums),
                7 => self.walk_portable_depth(7, transposed, sums),
                8 => self.walk_portable_depth(8, transposed, sums),
                9 => self.walk_portable_depth(9, transposed, sums),
                10 => self.walk_portable_depth(10, transposed, sums),
                depth => self.walk_portable_depth(depth as usize, transposed, sums),
            }
        }
    }

    /// Inlined into each arm above, so a constant `depth` unrolls the levels.
    ///
    /// # Safety
    /// `depth == self.depth`; `transposed` holds whole groups, one per `LANES` entries of `sums`.
    #[inline(always)]
    unsafe fn walk_portable_depth(&self, depth: usize, transposed: &[u32], sums: &mut [f64]) {
        let group_len = self.n_features * LANES;
        let stride = level_start(depth);
        let n_leaves = 1usize << depth;
        for tree_idx in 0..self.n_trees {
            // SAFETY: `nodes` holds `2 * stride` entries and `leaves` `2^depth` per tree.
            let (tree, leaves) = unsafe {
                (
                    self.nodes.as_ptr().add(tree_idx * 2 * stride),
                    self.leaves.as_ptr().add(tree_idx * n_leaves),
                )
            };
            for (group, group_sums) in transposed
                .chunks_exact(group_len)
                .zip(sums.chunks_exact_mut(LANES))
            {
                for (half, half_sums) in group_sums.chunks_exact_mut(WALK_LANES).enumerate() {
                    // SAFETY: the walk's contract, from this function's.
                    let position = unsafe {
                        walk_lanes(tree, depth, group.as_ptr(), half * WALK_LANES)
                    };
                    for (sum, leaf) in half_sums.iter_mut().zip(position) {
                        // SAFETY: after `depth` steps a position is below `2^depth`.
                        *sum += unsafe { *leaves.add(leaf) };
                    }
                }
            }
        }
    }
}

/// Walks lanes `first_lane..first_lane + WALK_LANES` of one group through one tree and returns
/// the leaf each lands in. A step is a load of the node's byte offset, a load of the lane's value
/// there, a compare with the node's threshold key, and `p = 2p + (threshold < value)`.
///
/// # Safety
/// `tree` points at a tree's `2 * level_start(depth)` slots in a [`Scorer`], `group` at a whole
/// group of the scorer's width, and `first_lane + WALK_LANES <= LANES`. Every read is then in
/// bounds: after `d` steps a position is below `2^d`, inside level `d`'s slots; an offset is at
/// most `(n_features - 1) * LANES * 4` bytes, and a lane adds at most `4 * (LANES - 1)`.
#[inline(always)]
unsafe fn walk_lanes(
    tree: *const u32,
    depth: usize,
    group: *const u32,
    first_lane: usize,
) -> [usize; WALK_LANES] {
    let stride = level_start(depth);
    let lanes = group.wrapping_add(first_lane).cast::<u8>();
    let mut position = [0usize; WALK_LANES];
    for level in 0..depth {
        let start = level_start(level);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: see the function's contract; the step reads only those slots and values.
        unsafe {
            x86_level_step(tree.add(start), tree.add(stride + start), lanes, &mut position);
        }
        #[cfg(not(target_arch = "x86_64"))]
        for (lane, lane_position) in position.iter_mut().enumerate() {
            // SAFETY: see the function's contract.
            unsafe {
                let offset = *tree.add(start + *lane_position) as usize;
                let value = lanes.add(offset).cast::<u32>().add(lane).read();
                let threshold = *tree.add(stride + start + *lane_position);
                *lane_position = 2 * *lane_position + usize::from(threshold < value);
            }
        }
    }
    position
}

/// Which walk scores a block. Every kernel gives bit-identical sums. The SIMD variants carry a
/// proof that the CPU has the instructions, which only run-time detection can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx512(crate::scoring_x86::Avx512),
    #[cfg(target_arch = "x86_64")]
    Avx2(crate::scoring_x86::Avx2),
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub(crate) fn detect() -> Kernel {
        Kernel::available()
            .pop()
            .unwrap_or(Kernel::Portable)
    }

    /// Every kernel this CPU runs, slowest (portable) first.
    pub(crate) fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            kernels.extend(crate::scoring_x86::Avx2::detect().map(Kernel::Avx2));
            kernels.extend(crate::scoring_x86::Avx512::detect().map(Kernel::Avx512));
        }
        kernels
    }
}

/// One level for eight lanes in baseline x86-64 (no extension needed). A lane's step is four
/// instructions: load the node's byte offset, load the lane's value at it, compare the node's
/// threshold key with it (the carry flag is `threshold < value`), `adc p, p` (`p = 2p + carry`).
/// The compiler, given the same steps in Rust, clusters all compares before all updates, runs out
/// of registers and spills every position, at twice the instructions per step.
///
/// # Safety
/// For every lane `k`, `offsets` and `thresholds` must be readable at `position[k]`, and `lanes`
/// at the offset read there plus `4 * k`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn x86_level_step(
    offsets: *const u32,
    thresholds: *const u32,
    lanes: *const u8,
    position: &mut [usize; WALK_LANES],
) {
    macro_rules! step {
        ($p:literal, $disp:literal) => {
            concat!(
                "mov {t:e}, dword ptr [{offsets} + {p", $p, "}*4]\n",
                "mov {t:e}, dword ptr [{lanes} + {t} + ", $disp, "]\n",
                "cmp dword ptr [{thresholds} + {p", $p, "}*4], {t:e}\n",
                "adc {p", $p, "}, {p", $p, "}\n",
            )
        };
    }
    let [p0, p1, p2, p3, p4, p5, p6, p7] = position;
    // SAFETY: the reads are the ones the caller vouches for; nothing is written but registers.
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
            offsets = in(reg) offsets,
            thresholds = in(reg) thresholds,
            lanes = in(reg) lanes,
            t = out(reg) _,
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
