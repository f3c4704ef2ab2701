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

use std::sync::atomic::{AtomicU64, Ordering};

use crate::cells::{CellIndex, Found, with_cache};
use crate::path::{CacheMode, ScoringPath};
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
    pub(crate) fn for_path(_path: ScoringPath) -> Option<TopWalk> {
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

/// Trees walked between two checks of whether a screened group's rows are settled: a check is
/// 16 additions and compares per group, against 16 rows by 16 trees of walking.
const SCREEN_TREES: usize = 8;

/// Groups screened together: their rows still walking are packed into as few groups as they fill.
const SCREEN_PASS_GROUPS: usize = 32;

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

/// What screening a block asks for: a sum the caller only needs to know is reached, and per row
/// whether that was proven instead of walking on (see [`Scorer::score_block`]).
pub(crate) struct Screen<'a> {
    pub(crate) floor: f64,
    pub(crate) settled: &'a mut [bool],
}

/// How a block is scored: the vector walk of the top levels, if any, and the cell cache's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) top: Option<TopWalk>,
    pub(crate) cache: CacheMode,
}

impl Plan {
    /// The plan of a path this CPU runs (checked by the caller; an unavailable one walks plain).
    pub(crate) fn new(path: ScoringPath, cache: CacheMode) -> Plan {
        Plan {
            top: TopWalk::for_path(path),
            cache,
        }
    }
}

/// Scorers made so far: each gets its own id, which names its tables in the cell caches.
static SCORERS: AtomicU64 = AtomicU64::new(0);

/// The forest's trees in scoring layout (see the module docs).
///
/// Invariants, established by [`Scorer::new`] and relied on by the unchecked walk: `1 <= depth <=
/// 24`; `nodes` holds `2^depth - 1` nodes per tree in complete-tree order, each with a byte offset
/// of at most `(n_features - 1) * LANES * 4`; `leaves` holds `2^depth` values per tree (then the
/// `rest_min` sums).
#[derive(Clone)]
pub(crate) struct Scorer {
    n_features: usize,
    depth: u32,
    n_trees: usize,
    /// Per node: the threshold key in the low half, the feature column's byte offset in the high.
    nodes: Vec<u64>,
    /// `2^depth` leaf values per tree, then `n_trees + 1` more: [`Scorer::rest_min`]'s (one
    /// allocation: a forest is held by value in enums of models, so the scorer stays small).
    leaves: Vec<f64>,
    /// The thresholds that key the cell cache; `None` when a feature has too many for a key.
    /// Boxed: a forest is held by value in enums of models.
    cells: Option<Box<CellIndex>>,
    /// Names this scorer's tables in the cell caches; a clone shares them, having the same trees.
    id: u64,
}

/// Equal trees make equal scorers, whatever their ids.
impl PartialEq for Scorer {
    fn eq(&self, other: &Scorer) -> bool {
        (self.n_features, self.depth, self.n_trees)
            == (other.n_features, other.depth, other.n_trees)
            && self.nodes == other.nodes
            && self.leaves == other.leaves
    }
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
            .field("leaves", &(self.n_trees << self.depth))
            .field(
                "cell_key_words",
                &self.cells.as_ref().map(|cells| cells.words()),
            )
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
        let mut leaves = Vec::with_capacity((trees.len() << depth) + trees.len() + 1);
        for tree in trees {
            nodes.extend(tree.nodes.iter().map(|node| {
                // `feature < n_features` (validated), so the offset fits in u32 (checked above).
                let offset = u64::from(node.feature) * (LANES * 4) as u64;
                offset << 32 | u64::from(order_key(node.threshold))
            }));
            leaves.extend_from_slice(&tree.leaves);
        }
        let mut rest_min = vec![0.0; trees.len() + 1];
        for (tree_idx, tree) in trees.iter().enumerate().rev() {
            rest_min[tree_idx] = rest_min[tree_idx + 1] + least_reachable_leaf(tree);
        }
        leaves.extend_from_slice(&rest_min);
        let splits = trees.iter().flat_map(|tree| {
            tree.nodes
                .iter()
                .map(|node| (node.feature as usize, order_key(node.threshold)))
        });
        Ok(Scorer {
            n_features,
            depth,
            n_trees: trees.len(),
            nodes,
            leaves,
            cells: CellIndex::new(n_features, splits).map(Box::new),
            id: SCORERS.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Sets each row's entry of `sums` to the sum of every tree's path length, added in tree
    /// order from zero: `rows` holds `sums.len()` rows, row-major and `n_features` wide. Rows in
    /// a cell this thread has walked before take its sum from the cell cache (see `cells`).
    ///
    /// With a `screen`, rows walked (not taken from the cache) may stop early where
    /// [`Scorer::screen_walk`] proves their sums reach the screen's floor; the screen's `settled`
    /// says which.
    pub(crate) fn score_block(
        &self,
        rows: &[f32],
        sums: &mut [f64],
        plan: Plan,
        screen: Option<Screen<'_>>,
    ) {
        sums.fill(0.0);
        let walk = |rows: &[f32], sums: &mut [f64], screen: Option<Screen<'_>>| match screen {
            Some(screen) => self.screen_walk(rows, sums, screen, plan.top),
            None => self.accumulate_with::<true>(rows, sums, plan.top),
        };
        let mut screen = screen;
        if let Some(screen) = &mut screen {
            screen.settled.fill(false);
        }
        let cells = match &self.cells {
            Some(cells) if plan.cache != CacheMode::Off => cells,
            _ => return walk(rows, sums, screen),
        };
        let (n_features, words) = (self.n_features, cells.words());
        assert_eq!(
            rows.len(),
            sums.len() * n_features,
            "rows do not match the sums"
        );
        with_cache(self.id, words, |cache| {
            if plan.cache == CacheMode::Auto && cache.skipping() {
                return walk(rows, sums, screen);
            }
            let mut keys = std::mem::take(&mut cache.keys);
            let mut misses = std::mem::take(&mut cache.misses);
            let mut followers = std::mem::take(&mut cache.followers);
            keys.clear();
            keys.resize(sums.len() * words, 0);
            misses.clear();
            followers.clear();
            let mut hits = 0;
            for (row_idx, row) in rows.chunks_exact(n_features).enumerate() {
                let (earlier, rest) = keys.split_at_mut(row_idx * words);
                let key = &mut rest[..words];
                cells.key(row, key);
                let found = match cache.lookup(key) {
                    // A mark left by a block that did not finish (a panic) is not this block's.
                    Found::Pending(miss)
                        if misses.get(miss).is_none_or(|&first| {
                            keys_of(earlier, words, first as usize) != &key[..]
                        }) =>
                    {
                        Found::Missing
                    }
                    found => found,
                };
                match found {
                    Found::Sum(sum) => {
                        sums[row_idx] = sum;
                        hits += 1;
                    }
                    Found::Pending(miss) => {
                        followers.push((row_idx as u32, miss as u32));
                        hits += 1;
                    }
                    Found::Missing => {
                        cache.insert_pending(key, misses.len());
                        misses.push(row_idx as u32);
                    }
                }
            }
            if !misses.is_empty() {
                let mut miss_rows = std::mem::take(&mut cache.miss_rows);
                let mut miss_sums = std::mem::take(&mut cache.miss_sums);
                miss_rows.clear();
                for &row_idx in &misses {
                    miss_rows
                        .extend_from_slice(&rows[row_idx as usize * n_features..][..n_features]);
                }
                miss_sums.clear();
                miss_sums.resize(misses.len(), 0.0);
                self.accumulate_with::<true>(&miss_rows, &mut miss_sums, plan.top);
                for (&row_idx, &sum) in misses.iter().zip(&miss_sums) {
                    sums[row_idx as usize] = sum;
                    cache.insert(keys_of(&keys, words, row_idx as usize), sum);
                }
                for &(row_idx, miss) in &followers {
                    sums[row_idx as usize] = miss_sums[miss as usize];
                }
                cache.miss_rows = miss_rows;
                cache.miss_sums = miss_sums;
            }
            cache.record(sums.len(), hits, plan.cache == CacheMode::Auto);
            cache.keys = keys;
            cache.misses = misses;
            cache.followers = followers;
        });
    }

    /// How many distinct cells of the forest's partition the rows fall in (`None` when the
    /// forest has no cell index).
    pub(crate) fn distinct_cells(&self, rows: &[f32]) -> Option<usize> {
        let cells = self.cells.as_ref()?;
        Some(cells.distinct_cells(rows, self.n_features))
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
        let transposed = self.transpose(rows, sums.len());
        let mut group_sums = vec![0.0f64; transposed.len() / group_len * LANES];
        group_sums[..sums.len()].copy_from_slice(sums);
        for (pass, pass_sums) in transposed
            .chunks(PASS_GROUPS * group_len)
            .zip(group_sums.chunks_mut(PASS_GROUPS * LANES))
        {
            // SAFETY: `pass` holds whole groups, one per `LANES` entries of `pass_sums`, because
            // both are cut from whole-group buffers at the same group boundaries.
            unsafe { self.walk_trees::<ASM>(0..self.n_trees, pass, pass_sums, top) };
        }
        sums.copy_from_slice(&group_sums[..sums.len()]);
    }

    /// The walk of [`Scorer::accumulate_with`] from zero sums, but a row whose sum is proven to
    /// reach the screen's floor whatever its remaining trees give stops early: its `settled`
    /// entry is then `true` and its entry of `sums` is not its sum. Every other row's sum is
    /// exact, bit for bit: its leaves are added in tree order as in the full walk. Proven means:
    /// its partial sum plus the smallest leaves the trees still to walk can give (`rest_min`)
    /// reaches the floor by a margin well past the rounding of the additions, checked every
    /// [`SCREEN_TREES`] trees. Once a quarter of the lanes walked are settled, the rows still
    /// walking are packed into fewer groups, so one slow row does not keep 15 others walking.
    fn screen_walk(
        &self,
        rows: &[f32],
        sums: &mut [f64],
        screen: Screen<'_>,
        top: Option<TopWalk>,
    ) {
        let (n_features, n_rows) = (self.n_features, sums.len());
        assert_eq!(
            rows.len(),
            n_rows * n_features,
            "rows do not match the sums"
        );
        let settled = screen.settled;
        assert_eq!(settled.len(), n_rows, "settled does not match the sums");
        // 200 additions of path lengths round by far less than a billionth of the sum.
        let floor = screen.floor + screen.floor.abs() * 1e-9 + 1e-9;
        let group_len = n_features * LANES;
        let mut transposed = self.transpose(rows, n_rows);
        let mut lane_sums = [0.0f64; SCREEN_PASS_GROUPS * LANES];
        // Per lane of the pass, the row it walks, or `SETTLED` (done, or padding).
        let mut origin = [0u32; SCREEN_PASS_GROUPS * LANES];
        const SETTLED: u32 = u32::MAX;
        for (pass_idx, pass) in transposed
            .chunks_mut(SCREEN_PASS_GROUPS * group_len)
            .enumerate()
        {
            let mut n_groups = pass.len() / group_len;
            let mut walking = 0;
            for (lane, origin) in origin.iter_mut().enumerate().take(n_groups * LANES) {
                let row = pass_idx * SCREEN_PASS_GROUPS * LANES + lane;
                *origin = if row < n_rows {
                    walking += 1;
                    row as u32
                } else {
                    SETTLED
                };
            }
            lane_sums.fill(0.0);
            let mut tree = 0;
            while tree < self.n_trees && walking > 0 {
                let end = (tree + SCREEN_TREES).min(self.n_trees);
                for (groups, group_sums) in pass[..n_groups * group_len]
                    .chunks(PASS_GROUPS * group_len)
                    .zip(lane_sums[..n_groups * LANES].chunks_mut(PASS_GROUPS * LANES))
                {
                    // SAFETY: the first `n_groups` groups of `pass` are whole groups (packing
                    // below keeps them so), one per `LANES` lane sums, cut at group boundaries.
                    unsafe { self.walk_trees::<true>(tree..end, groups, group_sums, top) };
                }
                tree = end;
                if tree == self.n_trees {
                    break;
                }
                let rest = self.rest_min(tree);
                for (origin, &sum) in origin.iter_mut().zip(&lane_sums).take(n_groups * LANES) {
                    if *origin != SETTLED && sum + rest >= floor {
                        settled[*origin as usize] = true;
                        *origin = SETTLED;
                        walking -= 1;
                    }
                }
                if walking * 4 > n_groups * LANES * 3 {
                    continue;
                }
                // Pack the walking lanes to the front; a lane only moves to a lower index, whose
                // own lane was read before.
                let mut packed = 0;
                for lane in 0..n_groups * LANES {
                    if origin[lane] == SETTLED {
                        continue;
                    }
                    if packed != lane {
                        let (from, to) =
                            (lane_start(lane, group_len), lane_start(packed, group_len));
                        for feature in 0..n_features {
                            pass[to + feature * LANES] = pass[from + feature * LANES];
                        }
                        lane_sums[packed] = lane_sums[lane];
                        origin[packed] = origin[lane];
                    }
                    packed += 1;
                }
                n_groups = packed.div_ceil(LANES);
                origin[packed..n_groups * LANES].fill(SETTLED);
            }
            for (&origin, &sum) in origin.iter().zip(&lane_sums).take(n_groups * LANES) {
                if origin != SETTLED {
                    sums[origin as usize] = sum;
                }
            }
        }
    }

    /// The least the trees from `tree` on can add to any row's sum: the sum of the smallest leaf
    /// each can give a row (0 from the last tree on).
    fn rest_min(&self, tree: usize) -> f64 {
        self.leaves[(self.n_trees << self.depth) + tree]
    }

    /// The rows of a block as order keys in groups of [`LANES`] rows, column-major within a
    /// group (see the module docs). The lanes of a short last group are zero, a finite value
    /// every node compares; their sums are dropped.
    fn transpose(&self, rows: &[f32], n_rows: usize) -> Vec<u32> {
        let group_len = self.n_features * LANES;
        let mut transposed = vec![order_key(0.0); n_rows.div_ceil(LANES) * group_len];
        for (row_idx, row) in rows.chunks_exact(self.n_features).enumerate() {
            let group = &mut transposed[(row_idx / LANES) * group_len..][..group_len];
            let lane = row_idx % LANES;
            for (feature, &value) in row.iter().enumerate() {
                group[feature * LANES + lane] = order_key(value);
            }
        }
        transposed
    }

    /// Adds the leaf values of the trees `trees` to each lane's sum, tree after tree.
    ///
    /// # Safety
    /// `trees.end <= self.n_trees`; `pass` holds whole groups, one per `LANES` entries of `sums`.
    #[inline(always)]
    unsafe fn walk_trees<const ASM: bool>(
        &self,
        trees: std::ops::Range<usize>,
        pass: &[u32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        // SAFETY: the caller's contract, and `depth` is this scorer's.
        unsafe {
            match self.depth {
                // Constant depths let the compiler unroll the levels for the usual forests
                // (`max_samples` 256 gives depth 8).
                8 => self.walk::<ASM>(8, trees, pass, sums, top),
                7 => self.walk::<ASM>(7, trees, pass, sums, top),
                6 => self.walk::<ASM>(6, trees, pass, sums, top),
                5 => self.walk::<ASM>(5, trees, pass, sums, top),
                4 => self.walk::<ASM>(4, trees, pass, sums, top),
                9 => self.walk::<ASM>(9, trees, pass, sums, top),
                10 => self.walk::<ASM>(10, trees, pass, sums, top),
                depth => self.walk::<ASM>(depth as usize, trees, pass, sums, top),
            }
        }
    }

    /// [`Scorer::walk_trees`] at a known depth.
    ///
    /// # Safety
    /// `depth == self.depth`, and [`Scorer::walk_trees`]' contract.
    #[inline(always)]
    unsafe fn walk<const ASM: bool>(
        &self,
        depth: usize,
        trees: std::ops::Range<usize>,
        transposed: &[u32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        // SAFETY: this function's contract.
        unsafe {
            match top {
                Some(top) if depth >= TOP_LEVELS => {
                    self.walk_from::<ASM, TOP_LEVELS>(depth, trees, transposed, sums, Some(top));
                }
                _ => self.walk_from::<ASM, 0>(depth, trees, transposed, sums, None),
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
        trees: std::ops::Range<usize>,
        transposed: &[u32],
        sums: &mut [f64],
        top: Option<TopWalk>,
    ) {
        let group_len = self.n_features * LANES;
        let n_nodes = (1usize << depth) - 1;
        let mut tops = [[0u32; LANES]; PASS_GROUPS];
        for tree_idx in trees {
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

/// The smallest leaf value a finite row can land on in `tree`. Not the smallest leaf: below a
/// leaf that sits above the depth limit, the complete layout has pass-through nodes (threshold
/// `f32::MAX`, which every finite value is not above) and leaves of 0 that no row reaches.
fn least_reachable_leaf(tree: &Tree) -> f64 {
    let all_left = order_key(f32::MAX);
    // Level by level from the leaves up: a node's least is its children's, or its left child's
    // when nothing goes right.
    let mut least = tree.leaves.clone();
    while least.len() > 1 {
        let parents = least.len() / 2;
        let level_nodes = &tree.nodes[parents - 1..][..parents];
        least = level_nodes
            .iter()
            .enumerate()
            .map(|(position, node)| {
                let (left, right) = (least[2 * position], least[2 * position + 1]);
                if order_key(node.threshold) >= all_left {
                    left
                } else {
                    left.min(right)
                }
            })
            .collect();
    }
    least[0]
}

/// Where lane `lane` of a pass (counted across its groups) starts: its group's start plus its
/// lane; feature `f` of it is `LANES * f` further on.
#[inline]
fn lane_start(lane: usize, group_len: usize) -> usize {
    (lane / LANES) * group_len + lane % LANES
}

/// The key of row `row_idx` in a block's keys of `words` words each.
#[inline]
fn keys_of(keys: &[u64], words: usize, row_idx: usize) -> &[u64] {
    &keys[row_idx * words..][..words]
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

        #[test]
        fn every_plan_with_and_without_the_cell_cache_equals_the_single_row_walk(
            seed in any::<u64>(),
            depth in 1u32..=9,
            n_features in 1usize..=13,
            n_trees in 1usize..=4,
            n_rows in 0usize..=70,
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let trees = random_trees(&mut rng, n_trees, depth, n_features);
            let pool: Vec<f32> = trees[0].nodes.iter().map(|node| node.threshold).collect();
            let mut rows: Vec<f32> =
                (0..n_rows * n_features).map(|_| value(&mut rng, &pool)).collect();
            // Every row again, in another order, so that cells repeat within a block and across
            // blocks; values drawn from the thresholds and the special values repeat cells too.
            let copy: Vec<f32> = rows.chunks_exact(n_features).rev().flatten().copied().collect();
            rows.extend(copy);
            let scorer = Scorer::new(&trees, depth, n_features).expect("valid trees");
            let expected: Vec<u64> = reference(&trees, &rows, n_features, &vec![0.0; 2 * n_rows])
                .iter()
                .map(|sum| sum.to_bits())
                .collect();
            let tops = std::iter::once(None).chain(TopWalk::available().into_iter().map(Some));
            for top in tops {
                for cache in [CacheMode::Off, CacheMode::On, CacheMode::Auto] {
                    // The second time, the cells are in this thread's table.
                    for time in ["first", "second"] {
                        let mut sums = vec![f64::NAN; 2 * n_rows];
                        scorer.score_block(&rows, &mut sums, Plan { top, cache }, None);
                        let bits: Vec<u64> = sums.iter().map(|sum| sum.to_bits()).collect();
                        prop_assert_eq!(&bits, &expected, "{:?} cache {}, {} time", top, cache, time);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_screened_walk_is_exact_on_every_row_it_does_not_prove_reaches_the_floor(
            seed in any::<u64>(),
            depth in 1u32..=8,
            n_features in 1usize..=12,
            n_trees in 1usize..=40,
            n_rows in 0usize..=700,
            rank in 0.0f64..=1.0,
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut trees = random_trees(&mut rng, n_trees, depth, n_features);
            // Path lengths of one magnitude, as a forest's are, so that the bound is tight and
            // an unsound one settles rows that do not reach the floor.
            for tree in &mut trees {
                for leaf in &mut tree.leaves {
                    *leaf = rng.random_range(1.0..12.0);
                }
            }
            let pool: Vec<f32> = trees[0].nodes.iter().map(|node| node.threshold).collect();
            let rows: Vec<f32> =
                (0..n_rows * n_features).map(|_| value(&mut rng, &pool)).collect();
            let scorer = Scorer::new(&trees, depth, n_features).expect("valid trees");
            let expected = reference(&trees, &rows, n_features, &vec![0.0; n_rows]);
            // A floor among the rows' own sums, so that some settle and some do not.
            let mut sorted = expected.clone();
            sorted.sort_by(f64::total_cmp);
            let floor = sorted
                .get((rank * n_rows as f64) as usize)
                .copied()
                .unwrap_or(1.0);
            let tops = std::iter::once(None).chain(TopWalk::available().into_iter().map(Some));
            for top in tops {
                for cache in [CacheMode::Off, CacheMode::Auto] {
                    let mut sums = vec![f64::NAN; n_rows];
                    let mut settled = vec![true; n_rows];
                    let screen = Screen { floor, settled: &mut settled };
                    scorer.score_block(&rows, &mut sums, Plan { top, cache }, Some(screen));
                    for (row, ((&sum, &settled), &expected)) in
                        sums.iter().zip(&settled).zip(&expected).enumerate()
                    {
                        if settled {
                            prop_assert!(
                                expected >= floor,
                                "row {} settled at floor {} but sums to {}", row, floor, expected
                            );
                        } else {
                            prop_assert_eq!(
                                sum.to_bits(), expected.to_bits(),
                                "row {} {:?} cache {}", row, top, cache
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn screening_settles_rows_that_cannot_miss_the_floor_and_no_others() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let trees = random_trees(&mut rng, 40, 6, 5);
        let scorer = Scorer::new(&trees, 6, 5).expect("valid trees");
        let rows: Vec<f32> = (0..1000 * 5)
            .map(|_| rng.random_range(-10.0..10.0))
            .collect();
        let expected = reference(&trees, &rows, 5, &[0.0; 1000]);
        let screened = |floor: f64| {
            let mut sums = vec![0.0; 1000];
            let mut settled = vec![false; 1000];
            let screen = Screen {
                floor,
                settled: &mut settled,
            };
            scorer.score_block(
                &rows,
                &mut sums,
                Plan::new(ScoringPath::Plain, CacheMode::Off),
                Some(screen),
            );
            (sums, settled)
        };
        // Leaves are not negative: every row reaches a floor of 0 after the first check.
        let (_, settled) = screened(0.0);
        assert!(settled.iter().all(|&settled| settled));
        // No row can prove an infinite floor: every sum is exact.
        let (sums, settled) = screened(f64::INFINITY);
        assert!(settled.iter().all(|&settled| !settled));
        assert_eq!(sums, expected);
    }

    #[test]
    fn the_least_leaf_a_row_can_reach_skips_the_leaves_under_a_pass_through_node() {
        let split = Node {
            feature: 0,
            threshold: 1.0,
        };
        // The root sends every finite value left; the right half's leaves are unreachable.
        let tree = Tree {
            nodes: vec![Node::PASS_THROUGH, split, split],
            leaves: vec![4.0, 3.0, 0.0, 0.0],
        };
        assert_eq!(least_reachable_leaf(&tree), 3.0);
        let tree = Tree {
            nodes: vec![split, split, split],
            leaves: vec![4.0, 3.0, 0.5, 7.0],
        };
        assert_eq!(least_reachable_leaf(&tree), 0.5);
    }

    #[test]
    fn rows_of_one_cell_are_walked_once_and_others_are_not_mixed_up() {
        // 4,000 rows of 50 distinct rows: after the first block, every row is in the table.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let trees = random_trees(&mut rng, 30, 8, 11);
        let pool: Vec<f32> = trees[1].nodes.iter().map(|node| node.threshold).collect();
        let distinct: Vec<f32> = (0..50 * 11).map(|_| value(&mut rng, &pool)).collect();
        let rows: Vec<f32> = (0..4_000)
            .flat_map(|idx| distinct[(idx * 7 % 50) * 11..][..11].to_vec())
            .collect();
        let scorer = Scorer::new(&trees, 8, 11).expect("valid trees");
        let cells = scorer.distinct_cells(&rows).expect("a cell index");
        assert!(cells <= 50, "{cells}");
        let expected = reference(&trees, &rows, 11, &[0.0; 4_000]);
        for cache in [CacheMode::On, CacheMode::Auto] {
            let mut sums = vec![0.0; 4_000];
            for (block_rows, block_sums) in rows.chunks(2048 * 11).zip(sums.chunks_mut(2048)) {
                let plan = Plan {
                    top: TopWalk::for_path(ScoringPath::fastest()),
                    cache,
                };
                scorer.score_block(block_rows, block_sums, plan, None);
            }
            assert_eq!(sums, expected, "cache {cache}");
        }
        // 8,000 rows looked up, of which at most 50 walked (the first time each cell was seen).
        let (looked_up, found) = crate::cells::counts(scorer.id).expect("a table on this thread");
        assert_eq!(looked_up, 8_000);
        assert!(found >= 8_000 - 50, "{found}");
    }

    #[test]
    fn auto_mode_stops_looking_up_rows_that_do_not_repeat_and_tries_again() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let trees = random_trees(&mut rng, 10, 8, 4);
        let scorer = Scorer::new(&trees, 8, 4).expect("valid trees");
        let plan = Plan {
            top: None,
            cache: CacheMode::Auto,
        };
        let mut sums = vec![0.0; 64];
        // Waits of 1, 2 and 4 blocks after the misses: 3 lookups in the first 10 blocks.
        for _ in 0..10 {
            // Fresh uniform values: hardly a cell twice.
            let rows: Vec<f32> = (0..64 * 4)
                .map(|_| rng.random_range(-10.0f32..10.0))
                .collect();
            scorer.score_block(&rows, &mut sums, plan, None);
            assert_eq!(sums, reference(&trees, &rows, 4, &[0.0; 64]));
        }
        let (looked_up, found) = crate::cells::counts(scorer.id).expect("a table on this thread");
        assert_eq!(looked_up, 3 * 64);
        assert!(found < 16, "{found}");
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
