//! Training and scoring speed: filling the tree and offset reservoirs from a 1M-row stream, the
//! per-row cost of offering to a full reservoir, fitting 200 trees from a 256 x 200 reservoir, and
//! scoring 1M rows of 10 features, and 1M rows shaped like the conn schema's 11 features (the
//! issue's "2 million rows per second on 2 cores" is read off the last one), on every walk the
//! CPU runs (`.../plain`, `.../avx2`, `.../avx512`; a walk the CPU lacks is printed as not run)
//! with the cell cache off, on and in auto mode, and 1M conn-shaped rows whose cells repeat (steady
//! polls) with the cache off, on and auto.
//!
//! Run with `cargo bench -p iforest --bench model` (`-- score` for the scoring benches only);
//! criterion prints rows per second (elements/s). `RAYON_NUM_THREADS=1` measures one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iforest::{CacheMode, ForestParams, Matrix, Reservoir, ScoringOptions, ScoringPath};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N_ROWS: usize = 1_000_000;
const N_FEATURES: usize = 10;
const TREE_RESERVOIR: usize = 256 * 200;
const OFFSET_RESERVOIR: usize = 100_000;

/// A stream of `N_ROWS` rows: a few clusters of ordinary traffic-like features, some outliers.
fn stream() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut values = Vec::with_capacity(N_ROWS * N_FEATURES);
    for row in 0..N_ROWS {
        let centre = (row % 5) as f32 * 3.0;
        let spread = if row % 1000 == 0 { 20.0 } else { 1.0 };
        values.extend((0..N_FEATURES).map(|_| centre + spread * (rng.random::<f32>() - 0.5)));
    }
    values
}

/// Width of the conn schema (src/features/schema.rs).
const CONN_FEATURES: usize = 11;

/// `N_ROWS` rows shaped like conn features: four frequency encodings (a few distinct values in
/// [0, 1)), an interval and its deviation around a few rhythms, and five log-scaled sizes and
/// counts; one row in a thousand is spread far wider.
fn conn_like_stream() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut values = Vec::with_capacity(N_ROWS * CONN_FEATURES);
    for row in 0..N_ROWS {
        let rhythm = (row % 5) as f32 * 3.0;
        let spread = if row % 1000 == 0 { 20.0 } else { 1.0 };
        for feature in 0..CONN_FEATURES {
            values.push(match feature {
                0..=3 => (rng.random_range(0..7u8) as f32) / 7.0,
                4 | 5 => rhythm + spread * (rng.random::<f32>() - 0.5),
                _ => (1.0 + rng.random::<f32>() * 1000.0 * spread).ln(),
            });
        }
    }
    values
}

/// `N_ROWS` conn-shaped rows of steady polls whose cells repeat: 400 edges, each with fixed
/// frequencies, a fixed rhythm and one of four request sizes, as a plant whose sensor rounds
/// intervals and durations to the millisecond would give.
fn repeating_polls_stream() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut values = Vec::with_capacity(N_ROWS * CONN_FEATURES);
    for row in 0..N_ROWS {
        let edge = row % 400;
        let size = rng.random_range(0..4u8) as f32;
        for feature in 0..CONN_FEATURES {
            values.push(match feature {
                0..=3 => ((edge * (feature + 3)) % 7) as f32 / 7.0,
                4 => (1.0 + (edge % 5) as f32).ln(),
                5 => 0.0,
                6 => 0.012,
                7 | 8 => (13.0 + size).ln(),
                _ => (5.0f32).ln(),
            });
        }
    }
    values
}

fn reservoirs(values: &[f32]) -> (Matrix, Matrix) {
    let mut trees = Reservoir::new(TREE_RESERVOIR, 1);
    let mut offset = Reservoir::new(OFFSET_RESERVOIR, 2);
    for row in values.chunks_exact(N_FEATURES) {
        trees.offer_with(|| row.to_vec());
        offset.offer_with(|| row.to_vec());
    }
    (
        Matrix::from_rows(N_FEATURES, trees.items()).expect("finite"),
        Matrix::from_rows(N_FEATURES, offset.items()).expect("finite"),
    )
}

fn bench(c: &mut Criterion) {
    let values = stream();
    let data = Matrix::new(N_FEATURES, values.clone()).expect("finite");
    let params = ForestParams::default().check().expect("valid");

    let mut group = c.benchmark_group("reservoir");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N_ROWS as u64));
    group.bench_function("fill_tree_and_offset_reservoirs_1m_rows", |b| {
        b.iter(|| reservoirs(black_box(&values)))
    });
    group.finish();

    // The steady-state cost of an offer once the reservoir is full: mostly skips.
    let mut group = c.benchmark_group("reservoir");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10 * N_ROWS as u64));
    group.bench_function("offer_10m_rows_keep_51200", |b| {
        b.iter(|| {
            let mut reservoir = Reservoir::new(TREE_RESERVOIR, 3);
            for row_idx in 0..10 * N_ROWS as u64 {
                reservoir.offer_with(|| black_box(row_idx));
            }
            reservoir.seen()
        })
    });
    group.finish();

    let (tree_sample, offset_sample) = reservoirs(&values);
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    group.bench_function("200_trees_from_256x200_reservoir_offset_from_100k", |b| {
        b.iter(|| {
            params
                .fit_from_sample(
                    black_box(&tree_sample),
                    N_ROWS as u64,
                    black_box(&offset_sample),
                )
                .expect("fit")
        })
    });
    group.finish();

    let forest = params
        .fit_from_sample(&tree_sample, N_ROWS as u64, &offset_sample)
        .expect("fit");
    let mut group = c.benchmark_group("score");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N_ROWS as u64));
    let fastest = ScoringOptions {
        path: Some(ScoringPath::fastest()),
        cache: CacheMode::Auto,
    };
    group.bench_function(
        format!("1m_rows_10_features_200_trees/{}", ScoringPath::fastest()),
        |b| {
            b.iter(|| {
                forest
                    .score_samples_with(black_box(&data), &fastest)
                    .expect("score")
            })
        },
    );

    // The default forest (200 trees of depth 8) fitted on conn-like rows, scoring 1M of them.
    let conn_forest = |values: &[f32], seed| {
        let conn = Matrix::new(CONN_FEATURES, values.to_vec()).expect("finite");
        let mut tree_reservoir = Reservoir::new(TREE_RESERVOIR, seed);
        for row in conn.rows() {
            tree_reservoir.offer_with(|| row.to_vec());
        }
        let sample = Matrix::from_rows(CONN_FEATURES, tree_reservoir.items()).expect("finite");
        let forest = params
            .fit_from_sample(&sample, N_ROWS as u64, &sample)
            .expect("fit");
        (conn, forest)
    };
    let (conn, forest) = conn_forest(&conn_like_stream(), 5);
    println!(
        "score: conn-like rows fall in {:?} distinct cells of {N_ROWS}",
        forest.distinct_cells(&conn).expect("width")
    );
    for path in ScoringPath::ALL {
        if !path.available() {
            println!(
                "score/1m_rows_11_conn_features_200_trees/{path}: not run (this CPU lacks it)"
            );
            continue;
        }
        for cache in [CacheMode::Off, CacheMode::On, CacheMode::Auto] {
            let options = ScoringOptions {
                path: Some(path),
                cache,
            };
            group.bench_function(
                format!("1m_rows_11_conn_features_200_trees/{path}/cache_{cache}"),
                |b| {
                    b.iter(|| {
                        forest
                            .score_samples_with(black_box(&conn), &options)
                            .expect("score")
                    })
                },
            );
        }
        // Screened as the pipeline scores: only rows under a threshold walked to the end (-0.035
        // below the offset, what `otsentry train` calibrated on the 5M-row bench log).
        let options = ScoringOptions {
            path: Some(path),
            cache: CacheMode::Auto,
        };
        let below = forest.offset() - 0.035;
        group.bench_function(
            format!("1m_rows_11_conn_features_200_trees/{path}/screened"),
            |b| {
                b.iter(|| {
                    forest
                        .screen_samples_with(black_box(&conn), below, &options)
                        .expect("score")
                })
            },
        );
    }
    let (polls, forest) = conn_forest(&repeating_polls_stream(), 7);
    println!(
        "score: repeating polls fall in {:?} distinct cells of {N_ROWS}",
        forest.distinct_cells(&polls).expect("width")
    );
    for cache in [CacheMode::Off, CacheMode::On, CacheMode::Auto] {
        let options = ScoringOptions {
            path: Some(ScoringPath::fastest()),
            cache,
        };
        group.bench_function(
            format!(
                "1m_repeating_polls_11_features_200_trees/{}/cache_{cache}",
                ScoringPath::fastest()
            ),
            |b| {
                b.iter(|| {
                    forest
                        .score_samples_with(black_box(&polls), &options)
                        .expect("score")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
