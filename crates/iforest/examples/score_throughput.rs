//! Prints how many rows per second the forest scores: 200 trees, 10 features, 1M rows.
//!
//! `cargo run --release -p iforest --example score_throughput [ROWS] [PASSES]`; set
//! `RAYON_NUM_THREADS` to choose the thread count. Wall-clock figures suffer on a busy machine, so
//! compare runs made under the same load (or read `time`'s user seconds).

use std::time::Instant;

use iforest::{ForestParams, Matrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n_rows: usize = args.next().map_or(Ok(1_000_000), |arg| arg.parse())?;
    let passes: usize = args.next().map_or(Ok(3), |arg| arg.parse())?;
    let n_features = 10;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let values: Vec<f32> = (0..n_rows * n_features)
        .map(|idx| ((idx / n_features) % 5) as f32 * 3.0 + rng.random::<f32>() - 0.5)
        .collect();
    let data = Matrix::new(n_features, values)?;
    let forest = ForestParams::default().check()?.fit(&Matrix::new(
        n_features,
        data.as_slice()[..256 * 200 * n_features].to_vec(),
    )?)?;
    let mut best = f64::MAX;
    let mut checksum = 0.0;
    for _ in 0..passes {
        let started = Instant::now();
        let scores = forest.score_samples(&data)?;
        best = best.min(started.elapsed().as_secs_f64());
        checksum += scores.iter().sum::<f64>();
    }
    println!(
        "{n_rows} rows x {n_features} features, 200 trees, {} threads: best {:.3} s = {:.0} rows/s (checksum {checksum:.3})",
        rayon::current_num_threads(),
        best,
        n_rows as f64 / best
    );
    Ok(())
}
