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

use serde::Serialize;
use shared::dataset::Bars;
use shared::domain::Metrics;
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

#[derive(Debug)]
struct Open {
    units: f64,
    price: f64,
    bar: usize,
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
    let Costs {
        commission,
        slippage,
    } = cfg.costs;
    let mut out = BacktestRun::default();
    if range.is_empty() {
        return out;
    }
    if record {
        out.equity.reserve(range.len());
    }
    let mut acc = Accumulator::new(cfg.initial_cash);
    let mut cash = cfg.initial_cash;
    let mut open: Option<Open> = None;
    let mut pos: Position = 0;
    let last = range.end - 1;
    let close_trade = |open: Open,
                       price: f64,
                       bar: usize,
                       cash: &mut f64,
                       acc: &mut Accumulator,
                       trades: &mut Vec<Trade>| {
        let gross = open.units * (price - open.price);
        let exit_fee = commission * open.units.abs() * price;
        *cash += gross - exit_fee;
        let pnl = gross - exit_fee - commission * open.units.abs() * open.price;
        acc.trade(pnl);
        if record {
            trades.push(Trade {
                entry_bar: open.bar,
                exit_bar: bar,
                entry_time: bars.time[open.bar],
                exit_time: bars.time[bar],
                entry_price: open.price,
                exit_price: price,
                size: open.units,
                pnl,
                return_pct: pnl / (open.units.abs() * open.price),
            });
        }
    };
    for t in range.clone() {
        if t > 0 {
            let want = targets[t - 1];
            if want != pos {
                let o = bars.open[t];
                if let Some(trade) = open.take() {
                    let price = o * (1.0 - slippage * f64::from(pos));
                    close_trade(trade, price, t, &mut cash, &mut acc, &mut out.trades);
                }
                pos = 0;
                if want != 0 && cash > 0.0 {
                    let price = o * (1.0 + slippage * f64::from(want));
                    let units = f64::from(want) * cash / (price * (1.0 + commission));
                    cash -= commission * units.abs() * price;
                    open = Some(Open {
                        units,
                        price,
                        bar: t,
                    });
                    pos = want;
                }
            }
        }
        let in_market = open.is_some();
        let equity = match &open {
            Some(o) if t == last && cfg.close_at_end => {
                let price = bars.close[t] * (1.0 - slippage * f64::from(pos));
                let trade = Open { ..*o };
                close_trade(trade, price, t, &mut cash, &mut acc, &mut out.trades);
                open = None;
                cash
            }
            Some(o) => cash + o.units * (bars.close[t] - o.price),
            None => cash,
        };
        acc.bar(equity, in_market);
        if record {
            out.equity.push(equity);
        }
    }
    let buy_and_hold = bars.close[last] / bars.close[range.start] - 1.0;
    out.metrics = acc.finish(buy_and_hold, cfg.periods_per_year);
    out
}
