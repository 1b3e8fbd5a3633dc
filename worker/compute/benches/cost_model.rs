//! Calibration of `execution_time`'s cost model (`worker/compute/src/engine/cost.rs`): for every family
//! (and a family behind each kind of learned artifact), the modeled nanoseconds per bar beside
//! the wall-clock time of the same signal computation over 1,000,000 bars, median of 21 runs,
//! one thread. Also checks the model's claim that parameters do not change the work: each family
//! is timed at small and large windows.
//!
//! Run: `cargo bench -p compute --bench cost_model` (release). Copy the measured medians into
//! `ns` in `cost.rs` when they drift on a new machine kind.

use compute::engine::learned::Prepared;
use compute::engine::{EvalConfig, Evaluator, FoldSpec, Strategy};
use compute::train::ql::{self, QTable, StateSpec};

mod common;

fn main() {
    let bars = common::series(1_000_000, 3_600);
    let config = EvalConfig {
        timing_repeats: 21,
        folds: FoldSpec {
            n: 1,
            ..FoldSpec::default()
        },
        ..EvalConfig::default()
    };
    let n = bars.len();
    let meta = Prepared::MetaFilter {
        p_long: (0..n).map(|i| ((i * 37) % 100) as f32 / 100.0).collect(),
        p_short: (0..n).map(|i| ((i * 53) % 100) as f32 / 100.0).collect(),
        approve: 0.5,
    };
    let spec = StateSpec::fit(&bars.close, 0..n / 10, 5, 20, 5, 3);
    let policy = Prepared::Policy {
        table: QTable {
            q: (0..spec.states() * 3)
                .map(|i| ((i * 7919) % 13) as f64)
                .collect(),
            spec: spec.clone(),
        },
        market: ql::market(&bars.close, &spec),
    };
    let direction = Prepared::Direction {
        p_up: (0..n).map(|i| ((i * 7919) % 100) as f32 / 100.0).collect(),
    };
    let momentum = |lookback, threshold| Strategy::Momentum {
        lookback,
        threshold,
    };
    let cases: Vec<(&str, Strategy, Option<&Prepared>)> = vec![
        ("momentum(20, 0.5)", momentum(20, 0.5), None),
        ("momentum(400, 1.5)", momentum(400, 1.5), None),
        (
            "momentum_return(20, 0.02)",
            Strategy::MomentumReturn {
                lookback: 20,
                threshold: 0.02,
            },
            None,
        ),
        (
            "sma_crossover(10, 20)",
            Strategy::SmaCrossover { fast: 10, slow: 20 },
            None,
        ),
        (
            "sma_crossover(200, 500)",
            Strategy::SmaCrossover {
                fast: 200,
                slow: 500,
            },
            None,
        ),
        (
            "mean_reversion(20, 2, 0.5)",
            Strategy::MeanReversion {
                lookback: 20,
                entry_z: 2.0,
                exit_z: 0.5,
            },
            None,
        ),
        (
            "mean_reversion(400, 2, 0.5)",
            Strategy::MeanReversion {
                lookback: 400,
                entry_z: 2.0,
                exit_z: 0.5,
            },
            None,
        ),
        (
            "rsi(14, 30, 70)",
            Strategy::Rsi {
                period: 14,
                lower: 30.0,
                upper: 70.0,
            },
            None,
        ),
        (
            "rsi(100, 30, 70)",
            Strategy::Rsi {
                period: 100,
                lower: 30.0,
                upper: 70.0,
            },
            None,
        ),
        (
            "neural(0.02, 1) + network",
            Strategy::Neural {
                threshold: 0.02,
                smoothing: 1,
            },
            Some(&direction),
        ),
        (
            "neural(0.02, 20) + network",
            Strategy::Neural {
                threshold: 0.02,
                smoothing: 20,
            },
            Some(&direction),
        ),
        (
            "momentum(20, 0.5) + meta filter",
            momentum(20, 0.5),
            Some(&meta),
        ),
        (
            "momentum(20, 0.5) + Q policy",
            momentum(20, 0.5),
            Some(&policy),
        ),
    ];
    println!(
        "{:<34} {:>14} {:>16} {:>10}",
        "rule", "modeled ns/bar", "measured ns/bar", "spread"
    );
    for (name, strategy, model) in cases {
        let evaluation = Evaluator::new(&bars, config)
            .expect("valid config")
            .with_model(model)
            .evaluate(&strategy)
            .expect("evaluates");
        let t = evaluation.timing;
        // ms per 1,000 bars = ns per bar / 1,000.
        println!(
            "{:<34} {:>14.3} {:>16.3} {:>9.0}%",
            name,
            t.modeled_ms_per_1000_bars * 1e3,
            t.measured_ms_per_1000_bars * 1e3,
            t.measured_spread * 100.0
        );
    }
}
