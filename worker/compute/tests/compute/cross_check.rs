//! Cross-check against an independent implementation: backtesting.py 0.6.6's
//! `FractionalBacktest` of the classic SmaCross(10, 20) on the EURUSD hourly file (cash 10,000,
//! commission 0.002, next-open fills, all-in fractional sizing). Its 262 closed trades and stats
//! are in `testdata/reference/`. Conventions that differ are in `engine::backtest`'s docs; none
//! changes a trade.

use std::path::PathBuf;

use compute::engine::backtest::{self, BacktestConfig, Costs};
use compute::engine::{EvalConfig, Evaluator, Strategy};
use domain::dataset::Bars;

fn testdata(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The file's own simple format: `,Open,High,Low,Close,Volume` then `YYYY-MM-DD HH:MM:SS,...`.
fn eurusd() -> Bars {
    let text = testdata("EURUSD.csv");
    let mut bars = Bars::with_capacity(5_000);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let time = chrono::NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S")
            .expect("timestamp")
            .and_utc()
            .timestamp();
        let x = |i: usize| f[i].parse::<f64>().expect("number");
        bars.push(time, x(1), x(2), x(3), x(4), x(5));
    }
    bars
}

struct RefTrade {
    entry_bar: usize,
    exit_bar: usize,
    entry_price: f64,
    exit_price: f64,
    size: f64,
    pnl: f64,
}

fn reference_trades() -> Vec<RefTrade> {
    testdata("reference/EURUSD_SmaCross_10_20_fractional_trades.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let x = |i: usize| f[i].parse::<f64>().expect("number");
            RefTrade {
                entry_bar: f[0].parse().expect("bar"),
                exit_bar: f[1].parse().expect("bar"),
                entry_price: x(2),
                exit_price: x(3),
                size: x(4),
                pnl: x(5),
            }
        })
        .collect()
}

fn reference_return_pct() -> f64 {
    let stats: serde_json::Value = serde_json::from_str(&testdata(
        "reference/EURUSD_SmaCross_10_20_fractional_stats.json",
    ))
    .expect("json");
    stats["Return [%]"].as_f64().expect("return")
}

#[test]
fn sma_crossover_reproduces_backtesting_py_trade_for_trade() {
    let bars = eurusd();
    assert_eq!(bars.len(), 5_000);
    let strategy = Strategy::SmaCrossover { fast: 10, slow: 20 };
    let mut targets = Vec::new();
    strategy.targets(&bars.close, &mut Default::default(), &mut targets);
    let cfg = BacktestConfig {
        costs: Costs {
            commission: 0.002,
            slippage: 0.0,
        },
        initial_cash: 10_000.0,
        close_at_end: false,
        periods_per_year: bars.periods_per_year().expect("two bars"),
    };
    let run = backtest::run(&bars, &targets, 0..bars.len(), &cfg, true);

    let reference = reference_trades();
    assert_eq!(reference.len(), 262);
    assert_eq!(
        run.trades.len(),
        reference.len(),
        "same number of closed trades"
    );
    for (i, (ours, theirs)) in run.trades.iter().zip(&reference).enumerate() {
        assert_eq!(
            (ours.entry_bar, ours.exit_bar),
            (theirs.entry_bar, theirs.exit_bar),
            "trade {i}: entry and exit bars"
        );
        assert_eq!(
            ours.entry_price, theirs.entry_price,
            "trade {i}: entry price"
        );
        assert_eq!(ours.exit_price, theirs.exit_price, "trade {i}: exit price");
        // backtesting.py rounds units down to 1e-8; we do not. That is all that separates sizes
        // and P&L (a relative 1e-6 here).
        assert!(
            (ours.size - theirs.size).abs() <= 1e-6 * theirs.size.abs(),
            "trade {i}: size {} vs {}",
            ours.size,
            theirs.size
        );
        assert!(
            (ours.pnl - theirs.pnl).abs() <= 1e-3 + 1e-6 * theirs.pnl.abs(),
            "trade {i}: pnl {} vs {}",
            ours.pnl,
            theirs.pnl
        );
    }

    let ours = run.metrics.total_return * 100.0;
    let theirs = reference_return_pct();
    println!("total return: engine {ours:.4}%, backtesting.py {theirs:.4}%");
    assert!(
        (ours - theirs).abs() < 0.5,
        "return {ours:.4}% vs {theirs:.4}%"
    );
    let wins = reference.iter().filter(|t| t.pnl > 0.0).count() as f64 / 262.0;
    assert_eq!(run.metrics.success_rate, wins);
    assert_eq!(run.metrics.num_trades, 262.0);
}

#[test]
fn the_full_evaluation_is_bit_identical_between_runs_and_folds_tile_the_series() {
    // (The wall-clock measurement beside the modeled cost is information only.)
    let bars = eurusd();
    let strategy = Strategy::SmaCrossover { fast: 10, slow: 20 };
    let a = Evaluator::new(&bars, EvalConfig::default())
        .expect("valid config")
        .evaluate(&strategy)
        .expect("evaluates");
    let b = Evaluator::new(&bars, EvalConfig::default())
        .expect("valid config")
        .evaluate(&strategy)
        .expect("evaluates");
    // Every metric, execution_time included (a deterministic cost model).
    assert_eq!(a.overall.metrics, b.overall.metrics);
    for (x, y) in a.folds.iter().zip(&b.folds) {
        assert_eq!(x.out_of_sample.metrics, y.out_of_sample.metrics);
        assert_eq!(x.in_sample.metrics, y.in_sample.metrics);
    }
    assert_eq!(a.trades, b.trades);
    assert_eq!(a.equity_curve, b.equity_curve);
    assert!(a.overall.metrics.execution_time > 0.0);
    assert_eq!(a.folds.len(), 4);
    assert_eq!(a.folds[3].out_of_sample.end_bar, 5_000);
    assert_eq!(
        a.out_of_sample.start_bar,
        a.folds[0].out_of_sample.start_bar
    );
    assert_eq!(a.equity_curve.len(), 5_000);
}
