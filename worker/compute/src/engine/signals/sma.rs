//! `sma_crossover`, the classic SmaCross of backtesting.py.
//!
//! Rule: with `f[t]` the `fast`-bar and `s[t]` the `slow`-bar simple moving average of the close,
//! a cross up at bar t is `f[t-1] < s[t-1] && f[t] > s[t]` (strict on both bars, as
//! backtesting.py's `crossover`) and makes the target long; a cross down
//! (`f[t-1] > s[t-1] && f[t] < s[t]`) makes it short. Between crosses the target holds, so the
//! tool is flat until the first cross and always in the market after it. Touching without
//! crossing (equal averages) changes nothing. The first possible decision is at bar `slow`.
//!
//! One pass: both window sums roll together (one addition and one subtraction per bar, taken
//! afresh from the window every [`RESYNC_WINDOWS`] times `fast + slow` bars so rounding cannot
//! drift, which costs each bar 1/16 of an addition per window element whatever the windows) and
//! the averages are compared as `sum_f * slow` against `sum_s * fast`, which has the sign of
//! `f - s` without dividing.

use super::Position;
use super::rolling::RESYNC_WINDOWS;

pub(crate) fn targets(close: &[f64], fast: usize, slow: usize, out: &mut [Position]) {
    let n = close.len();
    let w = fast.max(slow);
    if n < w {
        out.fill(0);
        return;
    }
    let (wf, ws) = (fast as f64, slow as f64);
    out[..w - 1].fill(0);
    let mut state: Position = 0;
    // NaN until both windows are full; NaN compares false, so no decision before.
    let mut prev = f64::NAN;
    let resync = RESYNC_WINDOWS * (fast + slow);
    let mut t = w - 1;
    while t < n {
        // Each block starts from sums taken afresh over the window, so rounding cannot drift.
        let mut sum_f: f64 = close[t + 1 - fast..=t].iter().sum();
        let mut sum_s: f64 = close[t + 1 - slow..=t].iter().sum();
        let end = (t + resync).min(n);
        loop {
            let diff = sum_f * ws - sum_s * wf;
            if prev < 0.0 && diff > 0.0 {
                state = 1;
            } else if prev > 0.0 && diff < 0.0 {
                state = -1;
            }
            prev = diff;
            out[t] = state;
            t += 1;
            if t == end {
                break;
            }
            sum_f += close[t] - close[t - fast];
            sum_s += close[t] - close[t - slow];
        }
    }
}
