//! Streaming metric accumulators: the backtest feeds every bar's equity and every closed trade,
//! and the metrics come out at the end without storing the curve. The formulas are those
//! documented on [`domain::Metrics`].

use domain::Metrics;
use domain::metrics::RATIO_CAP;

/// Most bars [`Accumulator::bars`] takes at once.
pub(crate) const BLOCK: usize = 64;

/// A bar's return from the previous equity (0 after a wiped-out account).
#[inline(always)]
fn ratio(equity: f64, prev: f64) -> f64 {
    // Divided whatever `prev` is, then selected: a select, not a branch, so the compiler
    // divides several bars at once.
    let r = equity / prev - 1.0;
    if prev > 0.0 { r } else { 0.0 }
}

#[derive(Debug)]
pub(crate) struct Accumulator {
    initial: f64,
    prev_equity: f64,
    peak: f64,
    /// `peak * (1 - max_drawdown)`: equity below it is a new deepest drawdown.
    floor: f64,
    max_drawdown: f64,
    sum_r: f64,
    sum_r2: f64,
    sum_down2: f64,
    bars: usize,
    bars_in_market: usize,
    closed: usize,
    wins: usize,
    gross_profit: f64,
    gross_loss: f64,
}

impl Accumulator {
    pub(crate) fn new(initial: f64) -> Self {
        Self {
            initial,
            prev_equity: initial,
            peak: initial,
            floor: initial,
            max_drawdown: 0.0,
            sum_r: 0.0,
            sum_r2: 0.0,
            sum_down2: 0.0,
            bars: 0,
            bars_in_market: 0,
            closed: 0,
            wins: 0,
            gross_profit: 0.0,
            gross_loss: 0.0,
        }
    }

    /// Consecutive bars' closing equities (at most [`BLOCK`]), `in_market` of which held a
    /// position over their bar. In loops the compiler runs several bars at a time where it can:
    /// the bars' returns first (independent divisions), then their running sums in bar order
    /// (the same additions as one bar at a time, bit for bit) with the block's lowest and highest
    /// equity, so the drawdown is walked bar by bar only in a block that makes a new peak or a
    /// new low.
    #[inline(always)]
    pub(crate) fn bars(&mut self, equity: &[f64], in_market: usize) {
        let n = equity.len().min(BLOCK);
        if n == 0 {
            return;
        }
        let equity = &equity[..n];
        let mut returns = [0.0; BLOCK];
        returns[0] = ratio(equity[0], self.prev_equity);
        for ((r, &e), &prev) in returns[1..n].iter_mut().zip(&equity[1..]).zip(equity) {
            *r = ratio(e, prev);
        }
        self.prev_equity = equity[n - 1];
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (&r, &e) in returns[..n].iter().zip(equity) {
            self.sum_r += r;
            self.sum_r2 += r * r;
            // The sign of a bar's return is a coin toss: no branch on it. Adding 0.0 leaves
            // the (non-negative) sum unchanged, bit for bit.
            let down = r.min(0.0);
            self.sum_down2 += down * down;
            lo = if e < lo { e } else { lo };
            hi = if e > hi { e } else { hi };
        }
        // Skipped only when no bar can pass either test below (a NaN equity passes neither
        // there nor here).
        if !(hi <= self.peak && lo >= self.floor) {
            for &e in equity {
                if e > self.peak {
                    self.peak = e;
                    self.floor = e * (1.0 - self.max_drawdown);
                } else if e < self.floor {
                    // Below the deepest drawdown seen so far (one division only on new lows).
                    self.max_drawdown = 1.0 - e / self.peak;
                    self.floor = e;
                }
            }
        }
        self.bars += n;
        self.bars_in_market += in_market;
    }

    /// One closed trade's P&L after costs.
    #[inline]
    pub(crate) fn trade(&mut self, pnl: f64) {
        self.closed += 1;
        if pnl > 0.0 {
            self.wins += 1;
            self.gross_profit += pnl;
        } else {
            self.gross_loss -= pnl;
        }
    }

    pub(crate) fn finish(&self, buy_and_hold_return: f64, periods_per_year: f64) -> Metrics {
        let n = self.bars as f64;
        let final_equity = self.prev_equity;
        let total_return = final_equity / self.initial - 1.0;
        let years = n / periods_per_year;
        let cagr = if final_equity <= 0.0 {
            -1.0
        } else if years > 0.0 {
            (final_equity / self.initial).powf(1.0 / years) - 1.0
        } else {
            0.0
        };
        let mean = if n > 0.0 { self.sum_r / n } else { 0.0 };
        let sd = if n > 1.0 {
            ((self.sum_r2 - self.sum_r * mean) / (n - 1.0))
                .max(0.0)
                .sqrt()
        } else {
            0.0
        };
        let annual = periods_per_year.sqrt();
        let sharpe = if sd > 0.0 { mean / sd * annual } else { 0.0 };
        let downside = if n > 0.0 {
            (self.sum_down2 / n).sqrt()
        } else {
            0.0
        };
        let sortino = if downside > 0.0 {
            (mean / downside * annual).clamp(-RATIO_CAP, RATIO_CAP)
        } else if mean > 0.0 {
            RATIO_CAP
        } else {
            0.0
        };
        let profit_factor = if self.gross_loss > 0.0 {
            (self.gross_profit / self.gross_loss).min(RATIO_CAP)
        } else if self.gross_profit > 0.0 {
            RATIO_CAP
        } else {
            0.0
        };
        let ratio = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        Metrics {
            success_rate: ratio(self.wins, self.closed),
            execution_time: 0.0,
            total_return,
            cagr,
            sharpe,
            sortino,
            max_drawdown: self.max_drawdown,
            profit_factor,
            num_trades: self.closed as f64,
            exposure: ratio(self.bars_in_market, self.bars),
            buy_and_hold_return,
        }
    }
}
