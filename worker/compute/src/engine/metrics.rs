//! Streaming metric accumulators: the backtest feeds every bar's equity and every closed trade,
//! and the metrics come out at the end without storing the curve. The formulas are those
//! documented on [`domain::Metrics`].

use domain::Metrics;
use domain::metrics::RATIO_CAP;

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

    /// One bar's closing equity, and whether a position was held over the bar.
    #[inline(always)]
    pub(crate) fn bar(&mut self, equity: f64, in_market: bool) {
        let r = if self.prev_equity > 0.0 {
            equity / self.prev_equity - 1.0
        } else {
            0.0
        };
        self.sum_r += r;
        self.sum_r2 += r * r;
        if r < 0.0 {
            self.sum_down2 += r * r;
        }
        self.prev_equity = equity;
        if equity > self.peak {
            self.peak = equity;
            self.floor = equity * (1.0 - self.max_drawdown);
        } else if equity < self.floor {
            // Below the deepest drawdown seen so far (one division only on new lows).
            self.max_drawdown = 1.0 - equity / self.peak;
            self.floor = equity;
        }
        self.bars += 1;
        self.bars_in_market += usize::from(in_market);
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
