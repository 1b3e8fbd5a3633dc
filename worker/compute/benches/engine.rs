//! Engine throughput (criterion).
//!
//! - `family/<name>`: signals + backtest + metrics over 1,000,000 synthetic bars, one thread
//!   (throughput in bars per second).
//! - `single/sma_crossover_2000`: one SmaCross(10, 20) backtest of a 2,000-bar daily series, one
//!   thread (the figure to set beside backtesting.py's time per backtest).
//! - `grid/sma_crossover_1000`: 1,000 SmaCross combinations on a 2,000-bar daily series, rayon
//!   on all cores (time per grid; divide by 1,000 for time per backtest).
//! - `floor/stream_2000` and `floor/stream_1m`: one streaming pass that reads every bar's open
//!   and close once, the physical floor a backtest is compared with.
//!
//! Run: `cargo bench -p compute --bench engine`.

use std::hint::black_box;

use compute::engine::{EvalConfig, Evaluator, Strategy};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::dataset::Bars;
use rayon::prelude::*;

mod common;
use common::series;

fn families(c: &mut Criterion) {
    let bars = series(1_000_000, 3_600);
    let mut group = c.benchmark_group("family");
    group.sample_size(10);
    group.throughput(Throughput::Elements(bars.len() as u64));
    let strategies = [
        (
            "momentum",
            Strategy::Momentum {
                lookback: 20,
                threshold: 0.02,
            },
        ),
        (
            "sma_crossover",
            Strategy::SmaCrossover { fast: 10, slow: 20 },
        ),
        (
            "mean_reversion",
            Strategy::MeanReversion {
                lookback: 20,
                entry_z: 2.0,
                exit_z: 0.5,
            },
        ),
        (
            "rsi",
            Strategy::Rsi {
                period: 14,
                lower: 30.0,
                upper: 70.0,
            },
        ),
    ];
    let whole = 0..bars.len();
    let all = std::slice::from_ref(&whole);
    for (name, strategy) in strategies {
        let mut evaluator = Evaluator::new(&bars, EvalConfig::default()).expect("valid config");
        group.bench_function(name, |b| {
            b.iter(|| black_box(evaluator.metrics(&strategy, all).expect("evaluates")));
        });
    }
    group.finish();
}

fn grid(c: &mut Criterion) {
    let bars = series(2_000, 86_400);
    let combos: Vec<Strategy> = (5..55)
        .flat_map(|fast| {
            (1..=20).map(move |gap| Strategy::SmaCrossover {
                fast,
                slow: fast + gap * 5,
            })
        })
        .collect();
    assert_eq!(combos.len(), 1_000);
    let whole = 0..bars.len();
    let all = std::slice::from_ref(&whole);
    let mut single = c.benchmark_group("single");
    single.throughput(Throughput::Elements(bars.len() as u64));
    let mut evaluator = Evaluator::new(&bars, EvalConfig::default()).expect("valid config");
    let classic = Strategy::SmaCrossover { fast: 10, slow: 20 };
    single.bench_function("sma_crossover_2000", |b| {
        b.iter(|| black_box(evaluator.metrics(&classic, all).expect("evaluates")));
    });
    single.finish();
    let mut group = c.benchmark_group("grid");
    group.sample_size(20);
    group.throughput(Throughput::Elements(combos.len() as u64));
    group.bench_function("sma_crossover_1000", |b| {
        b.iter(|| {
            let best = combos
                .par_iter()
                .map_init(
                    || Evaluator::new(&bars, EvalConfig::default()).expect("valid config"),
                    |ev, s| ev.metrics(s, all).expect("evaluates")[0].total_return,
                )
                .reduce(|| f64::NEG_INFINITY, f64::max);
            black_box(best)
        });
    });
    group.finish();
}

fn stream(bars: &Bars) -> f64 {
    // Two independent sums, so the pass is limited by reading, not by one add chain.
    let (mut a, mut b) = (0.0, 0.0);
    for (o, c) in bars.open.iter().zip(&bars.close) {
        a += o;
        b += c;
    }
    a + b
}

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    for (name, n) in [("stream_2000", 2_000), ("stream_1m", 1_000_000)] {
        let bars = series(n, 86_400);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(name, |b| b.iter(|| black_box(stream(black_box(&bars)))));
    }
    group.finish();
}

criterion_group!(benches, families, grid, floor);
criterion_main!(benches);
