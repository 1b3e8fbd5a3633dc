//! The backtest's execution and cost model on hand-computed cases, through the public API.

use compute::engine::backtest::{self, BacktestConfig, Costs};
use domain::dataset::Bars;

fn bars(open: &[f64], close: &[f64]) -> Bars {
    let mut b = Bars::with_capacity(open.len());
    for (i, (&o, &c)) in open.iter().zip(close).enumerate() {
        b.push(i as i64 * 86_400, o, o.max(c), o.min(c), c, 1.0);
    }
    b
}

fn config(commission: f64, slippage: f64, close_at_end: bool) -> BacktestConfig {
    BacktestConfig {
        costs: Costs {
            commission,
            slippage,
        },
        initial_cash: 1_000.0,
        close_at_end,
        periods_per_year: 252.0,
    }
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn decisions_fill_at_the_next_open_with_commission_on_entry_and_exit() {
    let b = bars(&[10.0, 10.0, 12.0, 13.0], &[10.0, 11.0, 12.0, 11.0]);
    let targets = [1, 1, -1, -1];
    let c = 0.01;
    let run = backtest::run(&b, &targets, 0..4, &config(c, 0.0, false), true);

    // Bar 1: long at open 10 with all 1,000: units = 1000 / (10 * 1.01), entry fee c*units*10.
    let long_units = 1_000.0 / (10.0 * (1.0 + c));
    let cash_after_entry = 1_000.0 - c * long_units * 10.0;
    // Bar 3: the short decided at bar 2's close reverses the long at bar 3's open (13).
    let long_pnl = long_units * 3.0 - c * long_units * 13.0 - c * long_units * 10.0;
    let cash_after_exit = 1_000.0 + long_pnl;
    let short_units = cash_after_exit / (13.0 * (1.0 + c));
    let cash_after_short = cash_after_exit - c * short_units * 13.0;

    assert_eq!(run.trades.len(), 1, "the short is still open");
    let t = &run.trades[0];
    assert_eq!((t.entry_bar, t.exit_bar), (1, 3));
    assert_eq!((t.entry_price, t.exit_price), (10.0, 13.0));
    assert!(close_to(t.size, long_units));
    assert!(close_to(t.pnl, long_pnl), "{} vs {long_pnl}", t.pnl);
    assert!(close_to(t.return_pct, long_pnl / (long_units * 10.0)));

    let expected = [
        1_000.0,
        cash_after_entry + long_units * 1.0,
        cash_after_entry + long_units * 2.0,
        cash_after_short + short_units * (13.0 - 11.0),
    ];
    for (got, want) in run.equity.iter().zip(expected) {
        assert!(close_to(*got, want), "{got} vs {want}");
    }
    let m = run.metrics;
    assert!(close_to(m.total_return, expected[3] / 1_000.0 - 1.0));
    assert_eq!((m.num_trades, m.success_rate), (1.0, 1.0));
    assert_eq!(m.exposure, 0.75);
    assert!(close_to(m.buy_and_hold_return, 0.1));
}

#[test]
fn close_at_end_closes_the_last_trade_at_the_last_close_with_costs() {
    let b = bars(&[10.0, 10.0, 12.0, 13.0], &[10.0, 11.0, 12.0, 11.0]);
    let c = 0.01;
    let run = backtest::run(&b, &[-1, -1, -1, -1], 0..4, &config(c, 0.0, true), true);
    let units = 1_000.0 / (10.0 * (1.0 + c));
    // Short from 10 (bar 1's open) to 11 (bar 3's close).
    let pnl = -units * 1.0 - c * units * 10.0 - c * units * 11.0;
    assert_eq!(run.trades.len(), 1);
    assert_eq!(run.trades[0].size, -units);
    assert_eq!((run.trades[0].entry_bar, run.trades[0].exit_bar), (1, 3));
    assert!(close_to(run.trades[0].pnl, pnl));
    assert!(close_to(run.equity[3], 1_000.0 + pnl));
    assert_eq!(run.metrics.success_rate, 0.0);
    assert_eq!(run.metrics.profit_factor, 0.0);
}

#[test]
fn slippage_moves_every_fill_against_the_trader() {
    let b = bars(&[100.0, 100.0, 110.0, 120.0], &[100.0, 105.0, 115.0, 120.0]);
    let s = 0.01;
    let run = backtest::run(&b, &[1, 0, 0, 0], 0..4, &config(0.0, s, false), true);
    let t = &run.trades[0];
    assert!(close_to(t.entry_price, 100.0 * 1.01), "a buy pays up");
    assert!(close_to(t.exit_price, 110.0 * 0.99), "a sale gets less");
    let units = 1_000.0 / 101.0;
    assert!(close_to(t.pnl, units * (108.9 - 101.0)));
}

#[test]
fn drawdown_sharpe_and_profit_factor_follow_their_definitions() {
    // Long throughout from bar 1: equity follows the closes 100, 120, 90, 135 (no costs).
    let b = bars(
        &[100.0, 100.0, 120.0, 90.0, 135.0],
        &[100.0, 120.0, 90.0, 135.0, 135.0],
    );
    let run = backtest::run(&b, &[1, 1, 1, 0, 0], 0..5, &config(0.0, 0.0, false), true);
    let m = run.metrics;
    // Equity 1000, 1200, 900, 1350, 1350: peak 1200 to trough 900.
    assert!(close_to(m.max_drawdown, 0.25), "{}", m.max_drawdown);
    let r = [0.0, 0.2, -0.25, 0.5, 0.0];
    let mean = r.iter().sum::<f64>() / 5.0;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
    assert!(
        close_to(m.sharpe, mean / sd * 252f64.sqrt()),
        "{}",
        m.sharpe
    );
    let downside = (0.25f64 * 0.25 / 5.0).sqrt();
    assert!(close_to(m.sortino, mean / downside * 252f64.sqrt()));
    // One winning trade (closed at bar 4's open by the flat target), no loss: capped.
    assert_eq!(m.num_trades, 1.0);
    assert_eq!(m.profit_factor, domain::metrics::RATIO_CAP);
    assert!(close_to(m.cagr, 1.35f64.powf(252.0 / 5.0) - 1.0));
}

#[test]
fn a_range_starting_later_takes_the_previous_bars_target_at_its_first_open() {
    let b = bars(&[10.0, 11.0, 12.0, 13.0], &[10.5, 11.5, 12.5, 13.5]);
    let run = backtest::run(&b, &[1, 1, 1, 1], 2..4, &config(0.0, 0.0, true), true);
    assert_eq!(run.trades.len(), 1);
    assert_eq!(
        (run.trades[0].entry_bar, run.trades[0].entry_price),
        (2, 12.0)
    );
    assert_eq!(run.equity.len(), 2);
}

mod no_look_ahead {
    use compute::engine::backtest;
    use compute::engine::signals::Scratch;
    use domain::dataset::Bars;
    use proptest::prelude::*;

    fn walk(steps: &[f64]) -> Bars {
        let mut b = Bars::with_capacity(steps.len());
        let mut p = 100.0;
        for (i, r) in steps.iter().enumerate() {
            let open = p;
            p *= 1.0 + r;
            b.push(i as i64 * 3_600, open, open.max(p), open.min(p), p, 1.0);
        }
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Decisions, fills and equity up to bar t use bars up to t only: rewriting every later
        /// bar leaves the equity curve and every trade closed by t unchanged.
        #[test]
        fn rewriting_later_bars_changes_nothing_up_to_t(
            steps in prop::collection::vec(-0.03f64..0.03, 80..250),
            later in prop::collection::vec(-0.3f64..0.3, 250),
            cut in 0.0f64..1.0,
            family in 0usize..4,
        ) {
            let strategy = [
                compute::engine::Strategy::Momentum { lookback: 5, threshold: 0.01 },
                compute::engine::Strategy::SmaCrossover { fast: 3, slow: 8 },
                compute::engine::Strategy::MeanReversion { lookback: 10, entry_z: 1.0, exit_z: 0.2 },
                compute::engine::Strategy::Rsi { period: 6, lower: 35.0, upper: 65.0 },
            ][family].clone();
            let a = walk(&steps);
            let t = (cut * (steps.len() - 1) as f64) as usize;
            let mut changed_steps = steps.clone();
            for (s, r) in changed_steps[t + 1..].iter_mut().zip(&later) {
                *s = *r;
            }
            let b = walk(&changed_steps);
            let cfg = super::config(0.002, 0.001, false);
            let run = |bars: &Bars| {
                let mut targets = Vec::new();
                strategy.targets(&bars.close, &mut Scratch::default(), &mut targets);
                backtest::run(bars, &targets, 0..bars.len(), &cfg, true)
            };
            let (ra, rb) = (run(&a), run(&b));
            prop_assert_eq!(&ra.equity[..=t], &rb.equity[..=t]);
            let closed_by_t = |r: &backtest::BacktestRun| {
                r.trades.iter().filter(|x| x.exit_bar <= t).cloned().collect::<Vec<_>>()
            };
            prop_assert_eq!(closed_by_t(&ra), closed_by_t(&rb));
        }
    }
}
