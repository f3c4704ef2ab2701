//! One isolation tree: growing it as scikit-learn's `ExtraTreeRegressor(max_features=1,
//! splitter="random")` grows it inside `IsolationForest`, and storing it as a complete binary tree
//! in flat arrays so that scoring a row is `depth` branch-free steps.
//!
//! Layout: internal node `i` has children `2i + 1` and `2i + 2`; nodes `0 .. 2^depth - 1` are
//! internal and each of the `2^depth` leaves holds `depth_of_leaf + c(n_leaf)`. A node that
//! scikit-learn would make a leaf above the depth limit becomes a chain of pass-through nodes (a
//! `f32::MAX` threshold sends every finite row left) ending in the leaf slot that holds its value, so every
//! row takes exactly `depth` steps and no step branches on the tree's shape.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;

/// scikit-learn's `FEATURE_THRESHOLD`: a feature whose range in a node is at most this (in `f32`)
/// counts as constant there and is not split on.
const FEATURE_THRESHOLD: f32 = 1e-7;

/// The average path length of an unsuccessful binary-search-tree search among `n` points, `c(n)`,
/// exactly as scikit-learn's `_average_path_length` computes it.
pub fn average_path_length(n: usize) -> f64 {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// The depth limit scikit-learn sets for a tree grown on `max_samples` rows: `ceil(log2(max(m, 2)))`.
pub fn depth_limit(max_samples: usize) -> u32 {
    max_samples.max(2).next_power_of_two().trailing_zeros()
}

/// One split: rows whose `feature` value is `<= threshold` go left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    pub(crate) feature: u32,
    pub(crate) threshold: f32,
}

impl Node {
    /// A node that sends every row left, standing in for a leaf above the depth limit. Every value
    /// in a [`Matrix`] is finite, so none exceeds `f32::MAX`; unlike infinity it also survives JSON.
    pub(crate) const PASS_THROUGH: Node = Node {
        feature: 0,
        threshold: f32::MAX,
    };
}

/// A fitted isolation tree in complete-binary-tree layout (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    /// `2^depth - 1` internal nodes.
    pub(crate) nodes: Vec<Node>,
    /// `2^depth` leaf values: the leaf's depth plus `c(training rows in the leaf)`.
    pub(crate) leaves: Vec<f64>,
}

/// The sample and randomness one tree is grown from.
pub(crate) struct GrowInput<'a> {
    pub(crate) data: &'a Matrix,
    /// Row indices into `data`: this tree's subsample, drawn without replacement.
    pub(crate) sample: Vec<u32>,
    /// The features this tree may split on.
    pub(crate) features: Vec<u32>,
    pub(crate) depth: u32,
}

struct Grower<'a> {
    data: &'a Matrix,
    features: Vec<u32>,
    depth: u32,
    n_internal: usize,
    tree: Tree,
}

/// Grows one tree; all randomness comes from `rng`, so a tree is a pure function of its input.
pub(crate) fn grow(input: GrowInput<'_>, rng: &mut ChaCha8Rng) -> Tree {
    let n_internal = (1usize << input.depth) - 1;
    let mut grower = Grower {
        data: input.data,
        features: input.features,
        depth: input.depth,
        n_internal,
        tree: Tree {
            nodes: vec![Node::PASS_THROUGH; n_internal],
            leaves: vec![0.0; n_internal + 1],
        },
    };
    let mut sample = input.sample;
    grower.grow_node(0, 0, &mut sample, rng);
    grower.tree
}

impl Grower<'_> {
    fn grow_node(&mut self, node: usize, depth: u32, sample: &mut [u32], rng: &mut ChaCha8Rng) {
        let n_rows = sample.len();
        // scikit-learn's builder: a node is a leaf at the depth limit or with fewer than
        // `min_samples_split = 2` rows; otherwise it is a leaf when no feature varies in it.
        if depth >= self.depth || n_rows < 2 {
            self.make_leaf(node, depth, n_rows);
            return;
        }
        let Some((feature, threshold)) = self.draw_split(sample, rng) else {
            self.make_leaf(node, depth, n_rows);
            return;
        };
        self.tree.nodes[node] = Node { feature, threshold };
        let n_left = partition(self.data, sample, feature, threshold);
        let (left, right) = sample.split_at_mut(n_left);
        self.grow_node(2 * node + 1, depth + 1, left, rng);
        self.grow_node(2 * node + 2, depth + 1, right, rng);
    }

    /// scikit-learn's `node_split_random` with `max_features=1`: draw features uniformly without
    /// replacement until one is not constant in the node, then a threshold uniformly in
    /// `[min, max)` of that feature. Returns `None` when every feature is constant.
    fn draw_split(&self, sample: &[u32], rng: &mut ChaCha8Rng) -> Option<(u32, f32)> {
        let mut candidates = self.features.clone();
        while !candidates.is_empty() {
            let drawn = rng.random_range(0..candidates.len());
            let feature = candidates[drawn];
            let (min, max) = min_max(self.data, sample, feature);
            if max <= min + FEATURE_THRESHOLD {
                candidates.swap_remove(drawn);
                continue;
            }
            // scikit-learn draws the threshold in f64 and compares f32 values against it. The
            // largest f32 not above the f64 threshold splits every f32 value identically.
            let unit: f64 = rng.random();
            let threshold = (f64::from(max) - f64::from(min)) * unit + f64::from(min);
            let mut threshold_f32 = threshold as f32;
            if f64::from(threshold_f32) > threshold {
                threshold_f32 = threshold_f32.next_down();
            }
            // As scikit-learn: a threshold equal to the maximum would leave the right side empty.
            if threshold_f32 >= max {
                threshold_f32 = min;
            }
            return Some((feature, threshold_f32));
        }
        None
    }

    /// Records a leaf at `depth` holding `n_rows` training rows, as a pass-through chain down to
    /// the leaf level when the leaf sits above the depth limit.
    fn make_leaf(&mut self, node: usize, depth: u32, n_rows: usize) {
        let value = f64::from(depth) + average_path_length(n_rows);
        let mut current = node;
        while current < self.n_internal {
            self.tree.nodes[current] = Node::PASS_THROUGH;
            current = 2 * current + 1;
        }
        self.tree.leaves[current - self.n_internal] = value;
    }
}

fn min_max(data: &Matrix, sample: &[u32], feature: u32) -> (f32, f32) {
    let mut min = f32::INFINITY;
    let mut max = f32::NEG_INFINITY;
    for &row in sample {
        let value = data.row(row as usize)[feature as usize];
        min = min.min(value);
        max = max.max(value);
    }
    (min, max)
}

/// Moves rows with `value <= threshold` to the front; returns how many there are.
fn partition(data: &Matrix, sample: &mut [u32], feature: u32, threshold: f32) -> usize {
    let mut n_left = 0;
    for idx in 0..sample.len() {
        if data.row(sample[idx] as usize)[feature as usize] <= threshold {
            sample.swap(n_left, idx);
            n_left += 1;
        }
    }
    n_left
}

impl Tree {
    fn n_internal(&self) -> usize {
        self.nodes.len()
    }

    /// The index (into the leaf level) of the leaf `row` lands in.
    pub(crate) fn leaf_of(&self, row: &[f32]) -> usize {
        let mut node = 0;
        while node < self.n_internal() {
            let split = self.nodes[node];
            node = 2 * node + 1 + usize::from(row[split.feature as usize] > split.threshold);
        }
        node - self.n_internal()
    }

    /// Checks the structural invariants a deserialised tree must meet before it is used, so a
    /// damaged model file cannot make scoring index out of bounds.
    pub(crate) fn validate(&self, depth: u32, n_features: usize) -> Result<(), String> {
        let n_internal = (1usize << depth) - 1;
        if self.nodes.len() != n_internal || self.leaves.len() != n_internal + 1 {
            return Err(format!(
                "tree arrays have lengths {} and {} but depth {depth} needs {} and {}",
                self.nodes.len(),
                self.leaves.len(),
                n_internal,
                n_internal + 1,
            ));
        }
        if let Some(node) = self
            .nodes
            .iter()
            .find(|node| node.feature as usize >= n_features || node.threshold.is_nan())
        {
            return Err(format!(
                "a node splits on feature {} with threshold {} but the model has {n_features} features",
                node.feature, node.threshold
            ));
        }
        if self.leaves.iter().any(|leaf| !leaf.is_finite()) {
            return Err("a leaf value is not finite".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn average_path_length_matches_scikit_learn() {
        // Values printed by sklearn.ensemble._iforest._average_path_length.
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        assert!((average_path_length(3) - 1.207_392_357_589_623).abs() < 1e-12);
        assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
    }

    #[test]
    fn depth_limit_is_ceil_log2() {
        assert_eq!(depth_limit(1), 1);
        assert_eq!(depth_limit(2), 1);
        assert_eq!(depth_limit(3), 2);
        assert_eq!(depth_limit(256), 8);
        assert_eq!(depth_limit(257), 9);
    }

    #[test]
    fn constant_data_gives_a_single_root_leaf() {
        let data = Matrix::new(2, vec![1.0; 20]).expect("valid");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let tree = grow(
            GrowInput {
                data: &data,
                sample: (0..10).collect(),
                features: vec![0, 1],
                depth: 4,
            },
            &mut rng,
        );
        // Every row passes through to the leftmost leaf, whose value is c(10) at depth 0.
        assert_eq!(tree.leaf_of(&[5.0, -3.0]), 0);
        assert_eq!(tree.leaves[0], average_path_length(10));
        assert!(tree.validate(4, 2).is_ok());
    }
}
