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
//! drift), so a grid can share one window's sums between its combinations ([`SmaTable`]) and get
//! the same targets bit for bit. The averages are compared as `sum_f * slow` against
//! `sum_s * fast`, which has the sign of `f - s` without dividing.

use std::collections::BTreeMap;

use super::Position;
use super::rolling::RollingSum;
use crate::engine::backtest::TargetSource;

/// A window's sums rolled over the closes.
#[derive(Clone, Debug)]
pub(crate) struct Rolled<'a> {
    close: &'a [f64],
    sum: RollingSum,
}

/// A window's sums read from a [`SmaTable`]: its column from the stream's next bar on.
#[derive(Clone, Debug)]
pub(crate) struct Shared<'a> {
    sums: &'a [f64],
}

/// The SmaCross targets of one series, bar after bar (bar 0 first), a block at a time.
#[derive(Clone, Debug)]
pub(crate) struct SmaStream<S> {
    fast: S,
    slow: S,
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

impl<S> SmaStream<S> {
    fn with_sums(fast: usize, slow: usize, ready: usize, sums: (S, S)) -> Self {
        Self {
            fast: sums.0,
            slow: sums.1,
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
}

impl<'a> SmaStream<Rolled<'a>> {
    /// The stream over `close`, each window rolled on the fly.
    pub(crate) fn new(close: &'a [f64], fast: usize, slow: usize) -> Self {
        let w = fast.max(slow).max(1);
        let ready = if close.len() >= w { w - 1 } else { usize::MAX };
        let rolled = |window: usize| Rolled {
            close,
            sum: if ready == usize::MAX {
                RollingSum::idle(window)
            } else {
                RollingSum::at(close, window, ready)
            },
        };
        Self::with_sums(fast, slow, ready, (rolled(fast), rolled(slow)))
    }

    /// The targets of the next `out.len()` bars.
    #[inline(always)]
    pub(crate) fn produce(&mut self, out: &mut [Position]) {
        let warm = self.warm_up(out);
        let mut i = warm;
        let close = self.fast.close;
        while i < out.len() {
            // A bar whose sums may be taken afresh, then a run of bars that only roll.
            let f = self.fast.sum.next(close);
            let s = self.slow.sum.next(close);
            out[i] = self.cross.step(f, s, self.wf, self.ws);
            i += 1;
            let run = (out.len() - i)
                .min(self.fast.sum.rolling_bars())
                .min(self.slow.sum.rolling_bars());
            let (mut sum_f, t) = self.fast.sum.state();
            let (mut sum_s, _) = self.slow.sum.state();
            let (nf, ns) = (self.fast.sum.window(), self.slow.sum.window());
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
            self.fast.sum.set(sum_f, run);
            self.slow.sum.set(sum_s, run);
            i += run;
        }
        self.t += out.len() - warm;
    }
}

impl SmaStream<Shared<'_>> {
    /// The targets of the next `out.len()` bars.
    #[inline(always)]
    pub(crate) fn produce(&mut self, out: &mut [Position]) {
        let warm = self.warm_up(out);
        let n = out.len() - warm;
        let (fast, slow) = (&self.fast.sums[..n], &self.slow.sums[..n]);
        let (wf, ws) = (self.wf, self.ws);
        let mut cross = self.cross;
        for ((target, &f), &s) in out[warm..].iter_mut().zip(fast).zip(slow) {
            *target = cross.step(f, s, wf, ws);
        }
        self.cross = cross;
        self.fast.sums = &self.fast.sums[n..];
        self.slow.sums = &self.slow.sums[n..];
        self.t += n;
    }
}

/// Every distinct window's sums over one series, computed once and shared by the combinations
/// of a grid (what a stream rolling each window itself would compute, bit for bit).
#[derive(Clone, Debug, Default)]
pub struct SmaTable {
    len: usize,
    /// Window → its sums from bar `window - 1` on.
    sums: BTreeMap<usize, Vec<f64>>,
}

impl SmaTable {
    /// The sums of every window in `windows` over `close`.
    pub fn new(close: &[f64], windows: impl IntoIterator<Item = usize>) -> Self {
        let mut sums = BTreeMap::new();
        for w in windows {
            let w = w.max(1);
            if w > close.len() || sums.contains_key(&w) {
                continue;
            }
            let mut rolling = RollingSum::at(close, w, w - 1);
            let column: Vec<f64> = (w - 1..close.len()).map(|_| rolling.next(close)).collect();
            sums.insert(w, column);
        }
        Self {
            len: close.len(),
            sums,
        }
    }

    /// Bars of the series the table was built from.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table covers no bar.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stream of SmaCross(fast, slow) over the first `end` bars, from the shared sums;
    /// `None` when a window is missing.
    pub(crate) fn stream(
        &self,
        fast: usize,
        slow: usize,
        end: usize,
    ) -> Option<SmaStream<Shared<'_>>> {
        let w = fast.max(slow).max(1);
        if end < w || end > self.len {
            return None;
        }
        let shared = |window: usize| {
            let sums = self.sums.get(&window.max(1))?;
            // Bar w - 1 is row w - window of this window's column.
            Some(Shared {
                sums: &sums[w - window.max(1)..],
            })
        };
        Some(SmaStream::with_sums(
            fast,
            slow,
            w - 1,
            (shared(fast)?, shared(slow)?),
        ))
    }
}

pub(crate) fn targets(close: &[f64], fast: usize, slow: usize, out: &mut [Position]) {
    SmaStream::new(close, fast, slow).produce(out);
}

macro_rules! target_source {
    ($sums:ty) => {
        impl TargetSource for SmaStream<$sums> {
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
    };
}

target_source!(Rolled<'_>);
target_source!(Shared<'_>);
