//! Small statistics the models and their evaluation need: numpy's default (linear) percentile,
//! ROC AUC with ties handled as scikit-learn's `roc_auc_score`, and Spearman rank correlation.

use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricError {
    #[error("{left} values cannot be paired with {right}")]
    LengthMismatch { left: usize, right: usize },
    #[error("roc auc needs both classes, got {positives} positives and {negatives} negatives")]
    OneClass { positives: usize, negatives: usize },
    #[error("value {index} is not a number")]
    NotANumber { index: usize },
    #[error("rank correlation needs two sequences that are not constant")]
    Constant,
}

/// numpy's `percentile(values, q)` with the default linear method, `q` in [0, 100]. NaN for no values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut values = values.to_vec();
    let n = values.len();
    // numpy divides the percentile by 100 and places it on the (n - 1) gaps between sorted values.
    let position = (q / 100.0) * (n - 1) as f64;
    let below = (position.floor() as usize).min(n - 1);
    let fraction = position - below as f64;
    // The two sorted values around the position, without sorting: the `below`-th in order, and
    // the least of those after it (a million training scores select in a fraction of a sort).
    let (_, &mut a, after) = values.select_nth_unstable_by(below, f64::total_cmp);
    let b = after.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    // numpy's `_lerp` interpolates from the nearer end to keep the result monotone.
    let difference = b - a;
    if fraction >= 0.5 {
        b - difference * (1.0 - fraction)
    } else {
        a + difference * fraction
    }
}

/// Ranks starting at 1, tied values sharing the average of their ranks.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean is (start+1+end)/2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &idx in &order[start..end] {
            ranks[idx] = rank;
        }
        start = end;
    }
    ranks
}

fn check_numbers(values: &[f64]) -> Result<(), MetricError> {
    match values.iter().position(|value| value.is_nan()) {
        Some(index) => Err(MetricError::NotANumber { index }),
        None => Ok(()),
    }
}

/// The area under the ROC curve for `scores` where higher means "positive" (anomalous), equal to
/// scikit-learn's `roc_auc_score(labels, scores)`: tied scores count one half, as the trapezoid
/// through a tied block of its ROC curve does.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64, MetricError> {
    if scores.len() != labels.len() {
        return Err(MetricError::LengthMismatch {
            left: scores.len(),
            right: labels.len(),
        });
    }
    check_numbers(scores)?;
    let positives = labels.iter().filter(|&&label| label).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricError::OneClass {
            positives,
            negatives,
        });
    }
    // Mann-Whitney U from average ranks equals the trapezoidal area with ties.
    let ranks = average_ranks(scores);
    let positive_rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|&(_, &label)| label)
        .map(|(rank, _)| rank)
        .sum();
    let (p, n) = (positives as f64, negatives as f64);
    Ok((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Spearman's rank correlation (Pearson correlation of average ranks), as `scipy.stats.spearmanr`.
pub fn spearman(a: &[f64], b: &[f64]) -> Result<f64, MetricError> {
    if a.len() != b.len() {
        return Err(MetricError::LengthMismatch {
            left: a.len(),
            right: b.len(),
        });
    }
    check_numbers(a)?;
    check_numbers(b)?;
    let (ranks_a, ranks_b) = (average_ranks(a), average_ranks(b));
    let n = a.len() as f64;
    let mean_a = ranks_a.iter().sum::<f64>() / n;
    let mean_b = ranks_b.iter().sum::<f64>() / n;
    let (mut covariance, mut variance_a, mut variance_b) = (0.0, 0.0, 0.0);
    for (x, y) in ranks_a.iter().zip(&ranks_b) {
        covariance += (x - mean_a) * (y - mean_b);
        variance_a += (x - mean_a) * (x - mean_a);
        variance_b += (y - mean_b) * (y - mean_b);
    }
    if variance_a == 0.0 || variance_b == 0.0 {
        return Err(MetricError::Constant);
    }
    Ok(covariance / (variance_a * variance_b).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn percentile_selects_the_values_a_full_sort_gives() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for n in 1..200 {
            // Few distinct values, so that ties and equal neighbours are common.
            let values: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(0..20u8)) * 0.25 - 1.0)
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, 0.1, 1.0, 33.3, 50.0, 99.9, 100.0] {
                let position = (q / 100.0) * (n - 1) as f64;
                let below = position.floor() as usize;
                let (a, b) = (sorted[below], sorted[(below + 1).min(n - 1)]);
                let fraction = position - below as f64;
                let expected = if fraction >= 0.5 {
                    b - (b - a) * (1.0 - fraction)
                } else {
                    a + (b - a) * fraction
                };
                assert_eq!(
                    percentile(&values, q).to_bits(),
                    expected.to_bits(),
                    "n {n} q {q}"
                );
            }
        }
    }

    #[test]
    fn percentile_matches_numpy() {
        // np.percentile([1, 2, 3, 4], q) for q = 0, 10, 50, 100 and [5] for q = 30.
        let values = [4.0, 1.0, 3.0, 2.0];
        close(percentile(&values, 0.0), 1.0);
        close(percentile(&values, 10.0), 1.3);
        close(percentile(&values, 50.0), 2.5);
        close(percentile(&values, 100.0), 4.0);
        close(percentile(&[5.0], 30.0), 5.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn roc_auc_handles_ties_like_scikit_learn() {
        // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        close(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).expect("auc"),
            0.75,
        );
        // roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875: one tie counts one half.
        close(
            roc_auc(&[0.5, 0.5, 0.2, 0.9], &[false, true, false, true]).expect("auc"),
            0.875,
        );
        close(
            roc_auc(&[1.0; 4], &[false, true, false, true]).expect("auc"),
            0.5,
        );
    }

    #[test]
    fn roc_auc_refuses_one_class_and_nan() {
        assert_eq!(
            roc_auc(&[0.1, 0.2], &[true, true]),
            Err(MetricError::OneClass {
                positives: 2,
                negatives: 0
            })
        );
        assert_eq!(
            roc_auc(&[0.1, f64::NAN], &[true, false]),
            Err(MetricError::NotANumber { index: 1 })
        );
    }

    #[test]
    fn spearman_uses_average_ranks() {
        close(
            spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]).expect("rho"),
            1.0,
        );
        close(
            spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).expect("rho"),
            -1.0,
        );
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).statistic == 0.9486832980505138
        close(
            spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).expect("rho"),
            0.948_683_298_050_513_9,
        );
        assert_eq!(
            spearman(&[1.0, 1.0], &[1.0, 2.0]),
            Err(MetricError::Constant)
        );
    }
}
