//! Behaviour of the fitted forest through the public API: score ranges and conventions, determinism
//! across seeds and thread counts, reservoir fits, serialisation and explanations.

use iforest::metrics::{roc_auc, spearman};
use iforest::{
    CacheMode, Contamination, FitError, Forest, ForestParams, Matrix, MaxSamples, Model, PathError,
    Reservoir, ScoreError, ScoringOptions, ScoringPath, Screened,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n_rows` rows of `n_features` uniform values in [0, 1), fixed by `seed`.
fn uniform_rows(n_rows: usize, n_features: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n_rows)
        .map(|_| (0..n_features).map(|_| rng.random::<f32>()).collect())
        .collect()
}

fn matrix(n_features: usize, rows: &[Vec<f32>]) -> Matrix {
    Matrix::from_rows(n_features, rows).expect("finite rows")
}

fn params(n_estimators: usize) -> ForestParams {
    ForestParams {
        n_estimators,
        ..ForestParams::default()
    }
}

fn fit(params: ForestParams, data: &Matrix) -> Forest {
    params
        .check()
        .expect("valid params")
        .fit(data)
        .expect("fit")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn scores_lie_in_minus_one_to_zero_and_decision_is_score_minus_offset(
        rows in prop::collection::vec(prop::collection::vec(-1e3f32..1e3, 3), 1..80),
        seed in 0u64..1000,
    ) {
        let data = matrix(3, &rows);
        let forest = fit(ForestParams { random_state: seed, ..params(25) }, &data);
        let scores = forest.score_samples(&data).expect("score");
        let decision = forest.decision_function(&data).expect("decide");
        for ((score, decision), row) in scores.iter().zip(&decision).zip(&rows) {
            prop_assert!((-1.0..=0.0).contains(score), "score {} out of range", score);
            prop_assert_eq!(*decision, score - forest.offset());
            prop_assert_eq!(forest.score_row(row).expect("row"), *score);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_forest(
        rows in prop::collection::vec(prop::collection::vec(-5f32..5.0, 2), 2..60),
        seed in 0u64..1000,
    ) {
        let data = matrix(2, &rows);
        let first = fit(ForestParams { random_state: seed, ..params(10) }, &data);
        let second = fit(ForestParams { random_state: seed, ..params(10) }, &data);
        prop_assert!(first == second);
    }

    #[test]
    fn an_obvious_outlier_scores_lowest(
        rows in prop::collection::vec(prop::collection::vec(0f32..1.0, 2), 50..150),
        far in 20f32..1000.0,
        seed in 0u64..1000,
    ) {
        let mut rows = rows;
        rows.push(vec![far, -far]);
        let data = matrix(2, &rows);
        let forest = fit(ForestParams { random_state: seed, ..params(50) }, &data);
        let scores = forest.score_samples(&data).expect("score");
        let outlier = *scores.last().expect("rows");
        prop_assert!(scores[..scores.len() - 1].iter().all(|score| *score > outlier));
        prop_assert!(forest.decision_function(&data).expect("decide").last() < Some(&0.0));
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let rows = uniform_rows(3000, 5, 1);
    let data = matrix(5, &rows);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| {
            let forest = fit(params(64), &data);
            let scores = forest.score_samples(&data).expect("score");
            (forest, scores)
        })
    };
    let (forest_one, scores_one) = run(1);
    let (forest_two, scores_two) = run(2);
    let (forest_three, scores_three) = run(3);
    // assert! rather than assert_eq!: a failure should not print 64 trees.
    assert!(forest_one == forest_two);
    assert!(forest_one == forest_three);
    assert_eq!(scores_one, scores_two);
    assert_eq!(scores_one, scores_three);
}

#[test]
fn different_seeds_give_different_forests() {
    let data = matrix(3, &uniform_rows(500, 3, 2));
    let first = fit(params(20), &data);
    let second = fit(
        ForestParams {
            random_state: 43,
            ..params(20)
        },
        &data,
    );
    assert_ne!(
        first.score_samples(&data).expect("score"),
        second.score_samples(&data).expect("score")
    );
}

#[test]
fn the_offset_is_the_contamination_percentile_of_training_scores() {
    let data = matrix(4, &uniform_rows(2000, 4, 3));
    let forest = fit(
        ForestParams {
            contamination: Contamination::Fraction(0.1),
            ..params(50)
        },
        &data,
    );
    let flagged = forest
        .decision_function(&data)
        .expect("decide")
        .iter()
        .filter(|decision| **decision < 0.0)
        .count();
    // numpy's linear percentile at 10 % of 2000 rows leaves 199 or 200 rows below it.
    assert!((199..=200).contains(&flagged), "{flagged} rows flagged");

    let auto = fit(
        ForestParams {
            contamination: Contamination::Auto,
            ..params(50)
        },
        &data,
    );
    assert_eq!(auto.offset(), -0.5);
}

#[test]
fn max_samples_is_resolved_as_scikit_learn_does() {
    let data = matrix(2, &uniform_rows(1000, 2, 4));
    assert_eq!(fit(params(5), &data).max_samples(), 256);
    let count = ForestParams {
        max_samples: MaxSamples::Count(5000),
        ..params(5)
    };
    assert_eq!(fit(count, &data).max_samples(), 1000);
    let fraction = ForestParams {
        max_samples: MaxSamples::Fraction(0.1),
        ..params(5)
    };
    assert_eq!(fit(fraction, &data).max_samples(), 100);
    let small = matrix(2, &uniform_rows(1, 2, 4));
    // One training row: scikit-learn's special case sets every score to -0.5.
    let single = fit(params(5), &small);
    assert_eq!(single.score_samples(&data).expect("score")[0], -0.5);
}

#[test]
fn fitting_on_all_rows_equals_fitting_from_the_same_rows_as_samples() {
    let data = matrix(3, &uniform_rows(1500, 3, 5));
    let valid = params(30).check().expect("valid");
    let direct = valid.fit(&data).expect("fit");
    let sampled = valid
        .fit_from_sample(&data, data.n_rows() as u64, &data)
        .expect("fit");
    assert!(direct == sampled);
}

#[test]
fn a_scored_fit_is_the_same_forest_and_hands_back_the_offset_samples_scores() {
    let trees = matrix(3, &uniform_rows(1500, 3, 5));
    let offset_sample = matrix(3, &uniform_rows(4000, 3, 6));
    for contamination in [Contamination::Fraction(0.01), Contamination::Auto] {
        let valid = ForestParams {
            contamination,
            ..params(30)
        }
        .check()
        .expect("valid");
        let plain = valid
            .fit_from_sample(&trees, 1500, &offset_sample)
            .expect("fit");
        let (scored, scores) = valid
            .fit_from_sample_scored(&trees, 1500, &offset_sample)
            .expect("fit");
        assert!(plain == scored, "{contamination:?}");
        let walked = scored.score_samples(&offset_sample).expect("score");
        assert_eq!(scores.len(), offset_sample.n_rows());
        assert!(
            scores
                .iter()
                .zip(&walked)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{contamination:?}: the fit's scores are not score_samples'"
        );
    }
}

#[test]
fn a_reservoir_fit_agrees_with_a_fit_on_every_row() {
    // Two dense clusters and a sprinkle of far points, 60,000 rows in all.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for row_idx in 0..60_000 {
        let outlier = row_idx % 500 == 0;
        let centre = if row_idx % 2 == 0 { 0.0 } else { 10.0 };
        let spread = if outlier { 30.0 } else { 1.0 };
        rows.push(
            (0..4)
                .map(|_| centre + spread * (rng.random::<f32>() - 0.5))
                .collect::<Vec<f32>>(),
        );
        labels.push(outlier);
    }
    let data = matrix(4, &rows);
    let valid = params(100).check().expect("valid");
    let full = valid.fit(&data).expect("fit");

    let mut tree_reservoir = Reservoir::new(256 * 100, 11);
    let mut offset_reservoir = Reservoir::new(20_000, 12);
    for row in &rows {
        tree_reservoir.offer_with(|| row.clone());
        offset_reservoir.offer_with(|| row.clone());
    }
    let streamed = valid
        .fit_from_sample(
            &matrix(4, tree_reservoir.items()),
            tree_reservoir.seen(),
            &matrix(4, offset_reservoir.items()),
        )
        .expect("fit");

    let full_scores = full.score_samples(&data).expect("score");
    let streamed_scores = streamed.score_samples(&data).expect("score");
    let negated = |scores: &[f64]| scores.iter().map(|s| -s).collect::<Vec<_>>();
    let full_auc = roc_auc(&negated(&full_scores), &labels).expect("auc");
    let streamed_auc = roc_auc(&negated(&streamed_scores), &labels).expect("auc");
    assert!(
        (full_auc - streamed_auc).abs() < 0.01,
        "{full_auc} vs {streamed_auc}"
    );
    // Two full fits that differ only in their seed set the bar: the reservoir fit must agree with
    // the full fit as closely as a reseeded full fit does.
    let reseeded = ForestParams {
        random_state: 7,
        ..params(100)
    }
    .check()
    .expect("valid")
    .fit(&data)
    .expect("fit");
    let reseeded_scores = reseeded.score_samples(&data).expect("score");
    let rho_streamed = spearman(&full_scores, &streamed_scores).expect("rho");
    let rho_reseeded = spearman(&full_scores, &reseeded_scores).expect("rho");
    assert!(
        rho_streamed > rho_reseeded - 0.01,
        "rank correlation {rho_streamed}, reseeded {rho_reseeded}"
    );
    assert!(
        (full.offset() - streamed.offset()).abs() < 0.02,
        "offsets {} and {}",
        full.offset(),
        streamed.offset()
    );
}

#[test]
fn a_reservoir_smaller_than_max_samples_is_refused() {
    let sample = matrix(2, &uniform_rows(100, 2, 7));
    let valid = params(5).check().expect("valid");
    assert_eq!(
        valid.fit_from_sample(&sample, 1_000_000, &sample),
        Err(FitError::SampleTooSmall {
            needed: 256,
            available: 100
        })
    );
}

#[test]
fn a_forest_round_trips_through_json_and_a_damaged_one_is_refused() {
    let data = matrix(3, &uniform_rows(400, 3, 8));
    let model = Model::Forest(fit(params(10), &data));
    let json = serde_json::to_string(&model).expect("serialise");
    let back: Model = serde_json::from_str(&json).expect("deserialise");
    assert!(back == model, "the model changed in a JSON round trip");
    assert_eq!(
        back.score_samples(&data).expect("score"),
        model.score_samples(&data).expect("score")
    );

    // A node pointing at a feature the model does not have must not reach scoring.
    let damaged = json.replacen("\"feature\":0", "\"feature\":7", 1);
    assert_ne!(damaged, json);
    let error = serde_json::from_str::<Model>(&damaged).unwrap_err();
    assert!(error.to_string().contains("feature 7"), "{error}");
}

#[test]
fn explain_names_the_feature_that_made_a_row_anomalous() {
    // Roughly normal features (a sum of four uniforms), so their tails are sparse as real data's are.
    let rows: Vec<Vec<f32>> = uniform_rows(2000, 20, 9)
        .into_iter()
        .map(|wide| {
            wide.chunks(4)
                .map(|four| four.iter().sum::<f32>() - 2.0)
                .collect()
        })
        .collect();
    let typical = rows[0].clone();
    let mut odd = typical.clone();
    // The odd row arrives at scoring time, as in the app: it is not in the training data.
    odd[3] = 4.0;
    let data = matrix(5, &rows);
    let forest = fit(params(200), &data);

    let reasons = forest.explain(&odd).expect("explain");
    assert_eq!(reasons[0].0, 3, "reasons {reasons:?}");
    // The anomalous feature earns more than all the others together.
    let total: f64 = reasons.iter().map(|(_, weight)| weight).sum();
    assert!(reasons[0].1 > 0.5 * total, "reasons {reasons:?}");
    // Resetting any one feature of an ordinary row changes its score far less.
    let ordinary = forest.explain(&typical).expect("explain");
    assert!(
        ordinary
            .iter()
            .all(|(_, weight)| *weight < 0.5 * reasons[0].1),
        "ordinary {ordinary:?}, anomalous {reasons:?}"
    );
    assert_eq!(forest.explain(&odd).expect("explain"), reasons);
    assert_eq!(forest.outside_training_range(&odd).expect("range"), vec![3]);
    assert!(
        forest
            .outside_training_range(&typical)
            .expect("range")
            .is_empty()
    );
}

#[test]
fn max_features_below_one_restricts_each_tree() {
    let data = matrix(6, &uniform_rows(600, 6, 10));
    let forest = fit(
        ForestParams {
            max_features: 0.5,
            ..params(40)
        },
        &data,
    );
    let scores = forest.score_samples(&data).expect("score");
    assert!(scores.iter().all(|score| (-1.0..=0.0).contains(score)));
}

/// Every scoring path the CPU runs, with the cell cache on, off and automatic, gives the scores
/// `score_row` gives bit for bit (`score_row` walks each tree with `Tree::leaf_of`, the reference).
/// A path the CPU lacks must be refused with an error naming it, and is reported on the test's
/// stderr as not run (written past the test harness's capture, so `cargo test` shows it), so a
/// machine without AVX-512 never counts the AVX-512 path as passed.
#[test]
fn every_scoring_path_scores_bit_for_bit_alike_and_says_which_ran() {
    use std::io::Write as _;

    // Rows that repeat (few distinct values per feature) and rows that do not, 5,000 in all:
    // several scoring blocks, so cached cells are found across blocks.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let rows: Vec<Vec<f32>> = (0..5_000)
        .map(|idx| {
            (0..6)
                .map(|feature| match (idx % 3, feature % 2) {
                    (0, _) => rng.random::<f32>() * 10.0,
                    (_, 0) => (rng.random_range(0..5u8)) as f32,
                    _ => (idx % 7) as f32 * 0.5,
                })
                .collect()
        })
        .collect();
    let data = matrix(6, &rows);
    let forest = fit(params(60), &data);
    let reference: Vec<u64> = rows
        .iter()
        .map(|row| forest.score_row(row).expect("row").to_bits())
        .collect();
    let mut report = Vec::new();
    for path in ScoringPath::ALL {
        for cache in [CacheMode::Off, CacheMode::On, CacheMode::Auto] {
            let options = ScoringOptions {
                path: Some(path),
                cache,
            };
            match forest.score_samples_with(&data, &options) {
                Ok(scores) => {
                    assert!(path.available(), "{path} ran on a CPU without it");
                    let bits: Vec<u64> = scores.iter().map(|score| score.to_bits()).collect();
                    assert!(bits == reference, "path {path}, cache {cache} differs");
                    // Screened at the offset: the rows under it exact, the others at least it.
                    let below = forest.offset();
                    let screened = forest
                        .screen_samples_with(&data, below, &options)
                        .expect("screen");
                    let mut skipped = 0;
                    for (screened, &bits) in screened.iter().zip(&reference) {
                        match screened {
                            Screened::Exact(score) => assert_eq!(score.to_bits(), bits),
                            Screened::NotBelow => {
                                assert!(f64::from_bits(bits) >= below, "path {path}");
                                skipped += 1;
                            }
                        }
                    }
                    if cache == CacheMode::Off {
                        assert!(skipped > rows.len() / 2, "{skipped} rows screened out");
                    }
                }
                Err(ScoreError::Path(PathError::Unavailable { path: refused, .. })) => {
                    assert!(!path.available() && refused == path);
                }
                Err(error) => panic!("path {path}, cache {cache}: {error}"),
            }
        }
        report.push(if path.available() {
            format!("{path} ran")
        } else {
            format!("{path} NOT RUN (this CPU lacks it)")
        });
    }
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "iforest scoring paths: {}", report.join(", "));
    assert!(
        forest
            .distinct_cells(&data)
            .expect("width")
            .is_some_and(|cells| cells < rows.len())
    );
}
