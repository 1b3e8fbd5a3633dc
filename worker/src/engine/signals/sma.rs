//! `sma_crossover`, the classic SmaCross of backtesting.py.
//!
//! Rule: with `f[t]` the `fast`-bar and `s[t]` the `slow`-bar simple moving average of the close,
//! a cross up at bar t is `f[t-1] < s[t-1] && f[t] > s[t]` (strict on both bars, as
//! backtesting.py's `crossover`) and makes the target long; a cross down
//! (`f[t-1] > s[t-1] && f[t] < s[t]`) makes it short. Between crosses the target holds, so the
//! tool is flat until the first cross and always in the market after it. Touching without
//! crossing (equal averages) changes nothing. The first possible decision is at bar `slow`.

use super::{Position, Scratch, rolling::sma};

pub(crate) fn targets(
    close: &[f64],
    fast: usize,
    slow: usize,
    scratch: &mut Scratch,
    out: &mut [Position],
) {
    sma(close, fast, &mut scratch.a);
    sma(close, slow, &mut scratch.b);
    let (f, s) = (&scratch.a, &scratch.b);
    let mut state: Position = 0;
    for t in 0..close.len() {
        if t >= 1 {
            // NaN compares false, so no decision is taken before both averages exist on both bars.
            if f[t - 1] < s[t - 1] && f[t] > s[t] {
                state = 1;
            } else if f[t - 1] > s[t - 1] && f[t] < s[t] {
                state = -1;
            }
        }
        out[t] = state;
    }
}
