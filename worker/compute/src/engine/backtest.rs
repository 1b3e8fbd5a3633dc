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
//!
//! The targets come from a `TargetSource`: a series computed beforehand ([`run`]) or a signal
//! computed as the backtest goes (`engine::streamed`), read 64 bars at a time; the loop keeps
//! the account and the metrics' running sums in registers.

use std::ops::Range;

use domain::Metrics;
use domain::dataset::Bars;
use serde::Serialize;
use utoipa::ToSchema;

use super::metrics::{Accumulator, BLOCK};
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

/// The account while a range is traded. Small and `Copy`: the trading loop keeps it (and the
/// metrics' running sums) in registers, and the rare position change goes through a function
/// that takes it by value and gives it back.
#[derive(Copy, Clone, Debug)]
struct Account {
    cash: f64,
    open: Option<Open>,
    pos: Position,
}

/// Commission and slippage as fractions.
#[derive(Copy, Clone, Debug)]
struct Fees {
    commission: f64,
    slippage: f64,
}

impl Account {
    /// Equity marked at `close`.
    #[inline(always)]
    fn equity(&self, close: f64) -> f64 {
        match &self.open {
            Some(o) => self.cash + o.units * (close - o.price),
            None => self.cash,
        }
    }

    /// Closes the open trade at `price` (slippage already applied) on bar `bar`; the closed
    /// trade's P&L after costs, recorded in `trades` when `RECORD`.
    #[inline(always)]
    fn close<const RECORD: bool>(
        &mut self,
        fees: Fees,
        bars: &Bars,
        price: f64,
        bar: usize,
        trades: &mut Vec<Trade>,
    ) -> Option<f64> {
        let open = self.open.take()?;
        let gross = open.units * (price - open.price);
        let exit_fee = fees.commission * open.units.abs() * price;
        self.cash += gross - exit_fee;
        let pnl = gross - exit_fee - fees.commission * open.units.abs() * open.price;
        self.pos = 0;
        if RECORD {
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
        Some(pnl)
    }
}

/// At bar t's open, moves `account` to the target `want` (not its position) decided at bar
/// t-1's close; the P&L of the trade it closed, if any. Inlined: a call in the per-bar loop,
/// however rare, makes the loop keep its running sums in memory (every vector register is
/// the caller's to save), which cost more than the whole of this function.
#[inline(always)]
fn switch<const RECORD: bool>(
    mut account: Account,
    fees: Fees,
    bars: &Bars,
    t: usize,
    want: Position,
    trades: &mut Vec<Trade>,
) -> (Account, Option<f64>) {
    let o = bars.open[t];
    let exit = o * (1.0 - fees.slippage * f64::from(account.pos));
    let pnl = account.close::<RECORD>(fees, bars, exit, t, trades);
    if want != 0 && account.cash > 0.0 {
        let price = o * (1.0 + fees.slippage * f64::from(want));
        let units = f64::from(want) * account.cash / (price * (1.0 + fees.commission));
        account.cash -= fees.commission * units.abs() * price;
        account.open = Some(Open {
            units,
            price,
            bar: t,
        });
        account.pos = want;
    }
    (account, pnl)
}

/// Where a backtest reads its targets from, bar after bar: a computed series, or a signal
/// computed as the backtest goes (one pass over the bars instead of two).
pub(crate) trait TargetSource {
    /// Positions the source so that the next target read is bar `t`'s (a stream only moves
    /// forward: `t` is at least the bar it is at).
    fn seek(&mut self, t: usize);
    /// The targets of the next `out.len()` bars; moves past them.
    fn fill(&mut self, out: &mut [Position]);
}

/// Targets computed beforehand.
#[derive(Clone)]
struct Computed<'a> {
    targets: &'a [Position],
    t: usize,
}

impl TargetSource for Computed<'_> {
    fn seek(&mut self, t: usize) {
        self.t = t;
    }

    #[inline(always)]
    fn fill(&mut self, out: &mut [Position]) {
        out.copy_from_slice(&self.targets[self.t..self.t + out.len()]);
        self.t += out.len();
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
    let mut source = Computed { targets, t: 0 };
    if record {
        simulate::<true, _>(bars, &mut source, range, cfg)
    } else {
        simulate::<false, _>(bars, &mut source, range, cfg)
    }
}

/// The metrics of trading `source`'s targets over `range` (closed at its end as `cfg` says):
/// the source is read from bar `range.start - 1` (bar 0 for a range from 0) to
/// `range.end - 2`, so a stream can serve ranges in increasing, non-overlapping order.
pub(crate) fn metrics_of(
    bars: &Bars,
    source: &mut (impl TargetSource + Clone),
    range: Range<usize>,
    cfg: &BacktestConfig,
) -> Metrics {
    simulate::<false, _>(bars, source, range, cfg).metrics
}

fn simulate<const RECORD: bool, S: TargetSource + Clone>(
    bars: &Bars,
    source: &mut S,
    range: Range<usize>,
    cfg: &BacktestConfig,
) -> BacktestRun {
    if range.is_empty() {
        return BacktestRun::default();
    }
    let fees = Fees {
        commission: cfg.costs.commission,
        slippage: cfg.costs.slippage,
    };
    let mut account = Account {
        cash: cfg.initial_cash,
        open: None,
        pos: 0,
    };
    let mut acc = Accumulator::new(cfg.initial_cash);
    let mut out = BacktestRun::default();
    if RECORD {
        out.equity.reserve(range.len());
    }
    // A local copy, so the signal's state stays in registers too.
    let mut src = source.clone();
    src.seek(range.start.max(1) - 1);
    let last = range.end - 1;
    let mut t = range.start;
    // Bar 0 has no decision before it.
    let from = if t == 0 { 1 } else { t };
    if t == 0 && t < last {
        acc.bars(&[account.cash], 0);
        if RECORD {
            out.equity.push(account.cash);
        }
        t = 1;
    }
    // A block at a time: the block's targets (bars t-1 ..), then trading them, then the
    // metrics of the block's closing equities; three short loops over stack arrays.
    let mut wants = [0; BLOCK];
    let mut equity = [0.0; BLOCK];
    while t < last {
        let n = (last - t).min(BLOCK);
        src.fill(&mut wants[..n]);
        let mut in_market = 0;
        for ((&want, e), &close) in wants[..n]
            .iter()
            .zip(&mut equity[..n])
            .zip(&bars.close[t..t + n])
        {
            if want != account.pos {
                let pnl;
                (account, pnl) = switch::<RECORD>(account, fees, bars, t, want, &mut out.trades);
                if let Some(pnl) = pnl {
                    acc.trade(pnl);
                }
            }
            *e = account.equity(close);
            in_market += usize::from(account.pos != 0);
            t += 1;
        }
        acc.bars(&equity[..n], in_market);
        if RECORD {
            out.equity.extend_from_slice(&equity[..n]);
        }
    }
    if last >= from {
        src.fill(&mut wants[..1]);
        let want = wants[0];
        if want != account.pos {
            let pnl;
            (account, pnl) = switch::<RECORD>(account, fees, bars, last, want, &mut out.trades);
            if let Some(pnl) = pnl {
                acc.trade(pnl);
            }
        }
    }
    *source = src;
    let in_market = account.pos != 0;
    if cfg.close_at_end {
        let price = bars.close[last] * (1.0 - fees.slippage * f64::from(account.pos));
        if let Some(pnl) = account.close::<RECORD>(fees, bars, price, last, &mut out.trades) {
            acc.trade(pnl);
        }
    }
    let equity = account.equity(bars.close[last]);
    acc.bars(&[equity], usize::from(in_market));
    if RECORD {
        out.equity.push(equity);
    }
    let buy_and_hold = bars.close[last] / bars.close[range.start] - 1.0;
    out.metrics = acc.finish(buy_and_hold, cfg.periods_per_year);
    out
}
