//! `momentum`: time-series momentum over a lookback.
//!
//! Rule: `r[t] = close[t] / close[t - lookback] - 1`; the target at bar t is long when
//! `r[t] > threshold`, short when `r[t] < -threshold`, flat otherwise (including
//! `threshold = 0` with `r[t] = 0`). No decision (flat) before bar `lookback`.

use super::Position;

pub(crate) fn targets(close: &[f64], lookback: usize, threshold: f64, out: &mut [Position]) {
    for t in 0..close.len() {
        out[t] = if t < lookback {
            0
        } else {
            let r = close[t] / close[t - lookback] - 1.0;
            if r > threshold {
                1
            } else if r < -threshold {
                -1
            } else {
                0
            }
        };
    }
}
