//! `momentum` (family version 2): time-series momentum measured in units of volatility, so one
//! threshold means the same on a daily stock index and on hourly FX.
//!
//! Rule: with `r[i] = close[i] / close[i-1] - 1` the one-bar returns and `s[t]` their sample
//! standard deviation over the last `W = max(lookback, 20)` returns ending at bar t, the
//! lookback return `R[t] = close[t] / close[t - lookback] - 1` is read in standard deviations
//! of a `lookback`-bar return: `z[t] = R[t] / (s[t] * sqrt(lookback))`. The target at bar t is
//! long when `z[t] > threshold`, short when `z[t] < -threshold`, flat otherwise (and flat
//! while `s[t] = 0`). No decision (flat) before bar `W`.
//!
//! `momentum_return` (the legacy family, version 1): the same without the scaling, `R[t]`
//! against a threshold in raw return units; tools created before version 2 keep it.

use super::Position;
use super::rolling::KahanSum;

/// Bars of one-bar returns in the volatility estimate at least.
pub(crate) const MIN_VOL_WINDOW: usize = 20;

/// The volatility window of a lookback.
pub(crate) fn vol_window(lookback: usize) -> usize {
    lookback.max(MIN_VOL_WINDOW)
}

fn side(x: f64, threshold: f64) -> Position {
    if x > threshold {
        1
    } else if x < -threshold {
        -1
    } else {
        0
    }
}

/// Version 2: the lookback return in standard deviations.
pub(crate) fn targets(close: &[f64], lookback: usize, threshold: f64, out: &mut [Position]) {
    let w = vol_window(lookback);
    let n = w as f64;
    let scale = (lookback as f64).sqrt();
    let (mut sum, mut sum_sq) = (KahanSum::default(), KahanSum::default());
    let ret = |i: usize| close[i] / close[i - 1] - 1.0;
    for t in 0..close.len() {
        if t >= 1 {
            let r = ret(t);
            sum.add(r);
            sum_sq.add(r * r);
        }
        if t > w {
            let old = ret(t - w);
            sum.add(-old);
            sum_sq.add(-old * old);
        }
        out[t] = if t < w {
            0
        } else {
            let mean = sum.value() / n;
            let var = (sum_sq.value() - sum.value() * mean) / (n - 1.0);
            if var > 0.0 {
                let z = (close[t] / close[t - lookback] - 1.0) / (var.sqrt() * scale);
                side(z, threshold)
            } else {
                0
            }
        };
    }
}

/// Version 1 (`momentum_return`): the raw lookback return against the threshold.
pub(crate) fn return_targets(close: &[f64], lookback: usize, threshold: f64, out: &mut [Position]) {
    for t in 0..close.len() {
        out[t] = if t < lookback {
            0
        } else {
            side(close[t] / close[t - lookback] - 1.0, threshold)
        };
    }
}
