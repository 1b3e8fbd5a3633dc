//! The backtest: trades a target-position series over a range of bars.
//!
//! Execution model (the same as backtesting.py's `FractionalBacktest` with
//! `exclusive_orders=True`, apart from the differences listed below):
//! - the target decided at bar t's close fills at bar t+1's open; a range starting at bar `s > 0`
//!   takes the target of bar `s - 1` at bar s's open, so every fold starts from the strategy's
//!   state but from a flat account;
//! - a change of target closes the open trade and opens the new one at the same open; a long
//!   fills at `open * (1 + slippage)`, a short or a sale at `open * (1 - slippage)`;
//! - a new position uses all equity, in fractional units: `units = equity / (price * (1 + c))`,
//!   so the entry commission `c * units * price` is covered;
//! - commission `c * |units| * price` is paid on every fill (entry and exit) and counted in the
//!   trade's P&L;
//! - equity at each close is cash plus the open trade's P&L marked at the close;
//! - with `close_at_end` the trade still open at the range's last bar is closed at that bar's
//!   close (with costs) and counted; without it, it stays open, is marked to the last close and
//!   is not among the trades (backtesting.py's default, `finalize_trades=False`).
//!
//! Differences from backtesting.py: units are not rounded down to 1e-8 units, and buy-and-hold is
//! measured from the range's first close rather than from the first bar with indicators ready.

use std::ops::Range;

use domain::Metrics;
use domain::dataset::Bars;
use serde::Serialize;
use utoipa::ToSchema;

use super::metrics::Accumulator;
use super::signals::Position;

/// Trading costs, as fractions of traded value.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Costs {
    /// Paid on every fill (entry and exit), e.g. 0.002.
    pub commission: f64,
    /// Adverse price move on every fill, e.g. 0.0005.
    pub slippage: f64,
}

impl Default for Costs {
    fn default() -> Self {
        Self {
            commission: 0.002,
            slippage: 0.0,
        }
    }
}

/// How a range is traded.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BacktestConfig {
    /// Commission and slippage.
    pub costs: Costs,
    /// Starting equity.
    pub initial_cash: f64,
    /// Close the trade still open at the last bar (see the module docs).
    pub close_at_end: bool,
    /// Bars per year, for annualized metrics.
    pub periods_per_year: f64,
}

/// A closed trade.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Trade {
    /// Bar index of the entry fill.
    pub entry_bar: usize,
    /// Bar index of the exit fill.
    pub exit_bar: usize,
    /// Entry bar's time, Unix seconds.
    pub entry_time: i64,
    /// Exit bar's time, Unix seconds.
    pub exit_time: i64,
    /// Fill price of the entry (slippage included).
    pub entry_price: f64,
    /// Fill price of the exit (slippage included).
    pub exit_price: f64,
    /// Units held: positive long, negative short.
    pub size: f64,
    /// Profit or loss after both commissions.
    pub pnl: f64,
    /// `pnl` over the entry's notional value.
    pub return_pct: f64,
}

/// What a backtest produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BacktestRun {
    /// Metrics of the range (`execution_time` is left 0: the caller measures it).
    pub metrics: Metrics,
    /// Closed trades (only when recorded).
    pub trades: Vec<Trade>,
    /// Equity at each bar's close (only when recorded).
    pub equity: Vec<f64>,
}

#[derive(Copy, Clone, Debug)]
struct Open {
    units: f64,
    price: f64,
    bar: usize,
}

/// The account while a range is traded.
struct Sim<'a, const RECORD: bool> {
    bars: &'a Bars,
    commission: f64,
    slippage: f64,
    cash: f64,
    open: Option<Open>,
    pos: Position,
    acc: Accumulator,
    out: BacktestRun,
}

impl<const RECORD: bool> Sim<'_, RECORD> {
    /// Closes the open trade at `price` (slippage already applied) on bar `bar`.
    #[inline(never)]
    fn close(&mut self, price: f64, bar: usize) {
        let Some(open) = self.open.take() else {
            return;
        };
        let gross = open.units * (price - open.price);
        let exit_fee = self.commission * open.units.abs() * price;
        self.cash += gross - exit_fee;
        let pnl = gross - exit_fee - self.commission * open.units.abs() * open.price;
        self.acc.trade(pnl);
        self.pos = 0;
        if RECORD {
            self.out.trades.push(Trade {
                entry_bar: open.bar,
                exit_bar: bar,
                entry_time: self.bars.time[open.bar],
                exit_time: self.bars.time[bar],
                entry_price: open.price,
                exit_price: price,
                size: open.units,
                pnl,
                return_pct: pnl / (open.units.abs() * open.price),
            });
        }
    }

    /// At bar t's open, moves to the target `want` decided at bar t-1's close.
    #[inline(always)]
    fn decide(&mut self, t: usize, want: Position) {
        if want == self.pos {
            return;
        }
        let o = self.bars.open[t];
        self.close(o * (1.0 - self.slippage * f64::from(self.pos)), t);
        if want != 0 && self.cash > 0.0 {
            let price = o * (1.0 + self.slippage * f64::from(want));
            let units = f64::from(want) * self.cash / (price * (1.0 + self.commission));
            self.cash -= self.commission * units.abs() * price;
            self.open = Some(Open {
                units,
                price,
                bar: t,
            });
            self.pos = want;
        }
    }

    /// Records bar t's closing equity.
    #[inline(always)]
    fn mark(&mut self, t: usize, in_market: bool) {
        let equity = match &self.open {
            Some(o) => self.cash + o.units * (self.bars.close[t] - o.price),
            None => self.cash,
        };
        self.acc.bar(equity, in_market);
        if RECORD {
            self.out.equity.push(equity);
        }
    }
}

/// Trades `targets` over `range` of `bars`. `targets` must cover at least `..range.end`;
/// with `record` the trades and the equity curve are kept, otherwise only the metrics.
pub fn run(
    bars: &Bars,
    targets: &[Position],
    range: Range<usize>,
    cfg: &BacktestConfig,
    record: bool,
) -> BacktestRun {
    if record {
        simulate::<true>(bars, targets, range, cfg)
    } else {
        simulate::<false>(bars, targets, range, cfg)
    }
}

fn simulate<const RECORD: bool>(
    bars: &Bars,
    targets: &[Position],
    range: Range<usize>,
    cfg: &BacktestConfig,
) -> BacktestRun {
    if range.is_empty() {
        return BacktestRun::default();
    }
    let mut sim = Sim::<RECORD> {
        bars,
        commission: cfg.costs.commission,
        slippage: cfg.costs.slippage,
        cash: cfg.initial_cash,
        open: None,
        pos: 0,
        acc: Accumulator::new(cfg.initial_cash),
        out: BacktestRun::default(),
    };
    if RECORD {
        sim.out.equity.reserve(range.len());
    }
    let last = range.end - 1;
    for t in range.start..last {
        if t > 0 {
            sim.decide(t, targets[t - 1]);
        }
        sim.mark(t, sim.pos != 0);
    }
    if last > 0 {
        sim.decide(last, targets[last - 1]);
    }
    let in_market = sim.pos != 0;
    if cfg.close_at_end {
        let price = bars.close[last] * (1.0 - sim.slippage * f64::from(sim.pos));
        sim.close(price, last);
    }
    sim.mark(last, in_market);
    let buy_and_hold = bars.close[last] / bars.close[range.start] - 1.0;
    let mut out = sim.out;
    out.metrics = sim.acc.finish(buy_and_hold, cfg.periods_per_year);
    out
}
