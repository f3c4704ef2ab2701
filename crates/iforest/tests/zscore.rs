//! The z-score model through the public API: streaming moments agree with a fit on all rows, the
//! model survives serialisation inside `Model`, and its conventions match the forest's.

use iforest::{Contamination, Matrix, Model, Moments, ZAggregate, ZScoreParams, metrics::roc_auc};
use proptest::prelude::*;

fn rows() -> Vec<[f64; 3]> {
    (0..500)
        .map(|i| {
            let i = f64::from(i);
            [(i * 0.37).sin(), (i * 0.11).cos() * 4.0, 10.0 + (i % 7.0)]
        })
        .collect()
}

#[test]
fn streaming_moments_fit_the_same_model_as_all_rows() {
    let data = Matrix::from_f64_rows(3, rows()).expect("finite");
    let valid = ZScoreParams::default().check().expect("valid");
    let direct = valid.fit(&data).expect("fit");
    let mut moments = Moments::new(3);
    for row in data.rows() {
        moments.push(row).expect("three features");
    }
    assert!(moments.push(&[1.0]).is_err());
    let streamed = valid.fit_from_moments(&moments, &data).expect("fit");
    assert_eq!(direct, streamed);
    assert_eq!(streamed.n_seen(), 500);
}

#[test]
fn a_zscore_model_round_trips_through_json() {
    let data = Matrix::from_f64_rows(3, rows()).expect("finite");
    let model = Model::ZScore(
        ZScoreParams {
            aggregate: ZAggregate::Sum,
            contamination: Contamination::Fraction(0.01),
        }
        .check()
        .expect("valid")
        .fit(&data)
        .expect("fit"),
    );
    let json = serde_json::to_string(&model).expect("serialise");
    assert!(json.contains("\"kind\":\"zscore\""), "{json}");
    let back: Model = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, model);
    assert_eq!(back.kind(), "zscore");
    assert_eq!(back.n_features(), 3);
}

#[test]
fn a_row_far_from_the_mean_is_flagged_and_explained() {
    let data = Matrix::from_f64_rows(3, rows()).expect("finite");
    let model = Model::ZScore(
        ZScoreParams::default()
            .check()
            .expect("valid")
            .fit(&data)
            .expect("fit"),
    );
    let probe = Matrix::from_f64_rows(3, [[0.0, 0.0, 13.0], [0.0, 40.0, 13.0]]).expect("finite");
    let decision = model.decision_function(&probe).expect("decide");
    assert!(decision[0] > 0.0 && decision[1] < 0.0, "{decision:?}");
    let reasons = model.explain(probe.row(1)).expect("explain");
    assert_eq!(reasons[0].0, 1);
    let scores = model.score_samples(&probe).expect("score");
    let auc = roc_auc(&[-scores[0], -scores[1]], &[false, true]).expect("auc");
    assert_eq!(auc, 1.0);
}

proptest! {
    #[test]
    fn decision_is_score_minus_offset_and_scores_are_not_positive(
        values in prop::collection::vec(-1e4f32..1e4, 4..200),
    ) {
        let n_rows = values.len() / 2;
        let data = Matrix::new(2, values[..n_rows * 2].to_vec()).expect("finite");
        let model = ZScoreParams::default().check().expect("valid").fit(&data).expect("fit");
        let scores = model.score_samples(&data).expect("score");
        let decision = model.decision_function(&data).expect("decide");
        for (score, decision) in scores.iter().zip(&decision) {
            prop_assert!(*score <= 0.0);
            prop_assert_eq!(*decision, score - model.offset());
        }
    }
}
