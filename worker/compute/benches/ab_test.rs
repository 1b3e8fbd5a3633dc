//! The A/B test's statistics (criterion): `compute::ab_test::paired_test` with the product's
//! default settings (2,000 resamples, block length `ceil(n^(1/3))`, seed 42).
//!
//! - `ab_test/paired_1000` and `ab_test/paired_10000`: 1,000 and 10,000 paired per-bar returns,
//!   one thread (the whole test: both statistics, their resampled differences, the percentile
//!   CIs and the centered p-values).
//!
//! The returns are deterministic (an LCG; `scripts/peers/bench_ab_bootstrap.py` regenerates the
//! same numbers for the peers): A is a random walk's hourly returns, B is A mixed with a shifted
//! copy of itself plus a small drift, so the two are paired and correlated as two versions of a
//! tool over the same bars are.
//!
//! Run: `cargo bench -p compute --bench ab_test`.

use std::hint::black_box;

use compute::ab_test::paired_test;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::ab_test::AbTestSettings;

/// Hourly bars a year, the annualization of the Sharpe ratios.
const PERIODS_PER_YEAR: f64 = 8_760.0;

/// Paired returns of `n` bars: A from an LCG random walk, B = 0.8 A + 0.2 A shifted by 7 bars +
/// 0.0001 (the peer script computes the same numbers).
fn paired_returns(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let a: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.02
        })
        .collect();
    let b = (0..n)
        .map(|i| 0.8 * a[i] + 0.2 * a[(i + 7) % n] + 0.000_1)
        .collect();
    (a, b)
}

fn paired(c: &mut Criterion) {
    let settings = AbTestSettings::default();
    let mut group = c.benchmark_group("ab_test");
    group.sample_size(20);
    for n in [1_000, 10_000] {
        let (a, b) = paired_returns(n);
        // Printed once, to set beside the peers' (scripts/peers/bench_ab_bootstrap.py).
        let r = paired_test(&a, &b, PERIODS_PER_YEAR, &settings).expect("valid series");
        for (name, d) in [("mean", &r.mean_return), ("sharpe", &r.sharpe)] {
            eprintln!(
                "n={n} block={} {name}: diff {:+.6e} CI [{:+.6e}, {:+.6e}] p {:.4}",
                r.test.block_length, d.difference, d.ci_low, d.ci_high, d.p_value
            );
        }
        group.throughput(Throughput::Elements((n * settings.resamples) as u64));
        group.bench_function(format!("paired_{n}"), |bench| {
            bench.iter(|| {
                paired_test(
                    black_box(&a),
                    black_box(&b),
                    PERIODS_PER_YEAR,
                    black_box(&settings),
                )
                .expect("the paired series are valid")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, paired);
criterion_main!(benches);
