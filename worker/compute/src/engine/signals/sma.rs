//! `sma_crossover`, the classic SmaCross of backtesting.py.
//!
//! Rule: with `f[t]` the `fast`-bar and `s[t]` the `slow`-bar simple moving average of the close,
//! a cross up at bar t is `f[t-1] < s[t-1] && f[t] > s[t]` (strict on both bars, as
//! backtesting.py's `crossover`) and makes the target long; a cross down
//! (`f[t-1] > s[t-1] && f[t] < s[t]`) makes it short. Between crosses the target holds, so the
//! tool is flat until the first cross and always in the market after it. Touching without
//! crossing (equal averages) changes nothing. The first possible decision is at bar
//! `max(fast, slow)`.
//!
//! One pass, as a stream ([`SmaStream`]) the backtest can pull from bar by bar: each window's
//! sum rolls on its own ([`RollingSum`]: one addition and one subtraction per bar, taken afresh
//! every [`RESYNC_WINDOWS`](super::rolling::RESYNC_WINDOWS) window lengths so rounding cannot
//! drift). The averages are compared as `sum_f * slow` against `sum_s * fast`, which has the
//! sign of `f - s` without dividing.

use super::Position;
use super::rolling::RollingSum;
use crate::engine::backtest::TargetSource;

/// The SmaCross targets of one series, bar after bar (bar 0 first), a block at a time.
#[derive(Clone, Debug)]
pub(crate) struct SmaStream<'a> {
    close: &'a [f64],
    fast: RollingSum,
    slow: RollingSum,
    wf: f64,
    ws: f64,
    /// First bar with both windows full (`usize::MAX` when the series is shorter).
    ready: usize,
    /// The next bar whose target is produced.
    t: usize,
    cross: Cross,
}

/// The crossing rule's state.
#[derive(Copy, Clone, Debug)]
struct Cross {
    /// `sum_f * slow - sum_s * fast` at the previous bar; NaN before both windows are full
    /// (NaN compares false, so no decision before).
    prev: f64,
    state: Position,
}

impl Cross {
    /// The target after a bar whose window sums are `sum_f` and `sum_s`.
    #[inline(always)]
    fn step(&mut self, sum_f: f64, sum_s: f64, wf: f64, ws: f64) -> Position {
        let diff = sum_f * ws - sum_s * wf;
        // Non-short-circuit `&`: selects, not branches.
        let up = (self.prev < 0.0) & (diff > 0.0);
        let down = (self.prev > 0.0) & (diff < 0.0);
        self.state = if up { 1 } else { self.state };
        self.state = if down { -1 } else { self.state };
        self.prev = diff;
        self.state
    }
}

impl<'a> SmaStream<'a> {
    /// The stream over `close`, each window rolled on the fly.
    pub(crate) fn new(close: &'a [f64], fast: usize, slow: usize) -> Self {
        let w = fast.max(slow).max(1);
        let ready = if close.len() >= w { w - 1 } else { usize::MAX };
        let rolled = |window: usize| {
            if ready == usize::MAX {
                RollingSum::idle(window)
            } else {
                RollingSum::at(close, window, ready)
            }
        };
        Self {
            close,
            fast: rolled(fast),
            slow: rolled(slow),
            wf: fast as f64,
            ws: slow as f64,
            ready,
            t: 0,
            cross: Cross {
                prev: f64::NAN,
                state: 0,
            },
        }
    }

    /// Flat targets for the bars before both windows are full; how many of `out` it wrote.
    #[inline(always)]
    fn warm_up(&mut self, out: &mut [Position]) -> usize {
        let n = out.len().min(self.ready.saturating_sub(self.t));
        out[..n].fill(0);
        self.t += n;
        n
    }

    /// The targets of the next `out.len()` bars.
    #[inline(always)]
    pub(crate) fn produce(&mut self, out: &mut [Position]) {
        let warm = self.warm_up(out);
        let mut i = warm;
        let close = self.close;
        while i < out.len() {
            // A bar whose sums may be taken afresh, then a run of bars that only roll.
            let f = self.fast.next(close);
            let s = self.slow.next(close);
            out[i] = self.cross.step(f, s, self.wf, self.ws);
            i += 1;
            let run = (out.len() - i)
                .min(self.fast.rolling_bars())
                .min(self.slow.rolling_bars());
            let (mut sum_f, t) = self.fast.state();
            let (mut sum_s, _) = self.slow.state();
            let (nf, ns) = (self.fast.window(), self.slow.window());
            let (wf, ws) = (self.wf, self.ws);
            let mut cross = self.cross;
            let enter = &close[t..t + run];
            let leave_f = &close[t - nf..t - nf + run];
            let leave_s = &close[t - ns..t - ns + run];
            for (((target, &c), &lf), &ls) in out[i..i + run]
                .iter_mut()
                .zip(enter)
                .zip(leave_f)
                .zip(leave_s)
            {
                sum_f += c - lf;
                sum_s += c - ls;
                *target = cross.step(sum_f, sum_s, wf, ws);
            }
            self.cross = cross;
            self.fast.set(sum_f, run);
            self.slow.set(sum_s, run);
            i += run;
        }
        self.t += out.len() - warm;
    }
}

pub(crate) fn targets(close: &[f64], fast: usize, slow: usize, out: &mut [Position]) {
    SmaStream::new(close, fast, slow).produce(out);
}

impl TargetSource for SmaStream<'_> {
    fn seek(&mut self, t: usize) {
        debug_assert!(t >= self.t, "a stream only moves forward");
        let mut skipped = [0; 256];
        while self.t < t {
            let n = (t - self.t).min(skipped.len());
            self.produce(&mut skipped[..n]);
        }
    }

    #[inline(always)]
    fn fill(&mut self, out: &mut [Position]) {
        self.produce(out);
    }
}
