//! `mean_reversion`: fade moves away from a rolling mean, measured in standard deviations.
//!
//! Rule: `z[t] = (close[t] - mean[t]) / sd[t]` over the last `lookback` closes including bar t
//! (sample standard deviation, n - 1). From flat: `z < -entry_z` -> long, `z > entry_z` -> short.
//! Long: `z > entry_z` -> short, else `z >= -exit_z` -> flat. Short: `z < -entry_z` -> long,
//! else `z <= exit_z` -> flat. With `sd = 0` (a constant window) the target holds. First
//! decision at bar `lookback - 1`.
//!
//! The window sums are of deviations from the window's first close ever seen (`close[0]`), so the
//! variance does not lose precision to the price level.

use super::{Position, rolling::KahanSum};

pub(crate) fn targets(
    close: &[f64],
    lookback: usize,
    entry_z: f64,
    exit_z: f64,
    out: &mut [Position],
) {
    let Some(&anchor) = close.first() else {
        return;
    };
    let n = lookback as f64;
    let (mut sum, mut sum_sq) = (KahanSum::default(), KahanSum::default());
    let mut state: Position = 0;
    for t in 0..close.len() {
        let d = close[t] - anchor;
        sum.add(d);
        sum_sq.add(d * d);
        if t >= lookback {
            let old = close[t - lookback] - anchor;
            sum.add(-old);
            sum_sq.add(-old * old);
        }
        if t + 1 >= lookback {
            let mean = sum.value() / n;
            let var = (sum_sq.value() - sum.value() * mean) / (n - 1.0);
            if var > 0.0 {
                let z = (d - mean) / var.sqrt();
                state = match state {
                    0 if z < -entry_z => 1,
                    0 if z > entry_z => -1,
                    1 if z > entry_z => -1,
                    1 if z >= -exit_z => 0,
                    -1 if z < -entry_z => 1,
                    -1 if z <= exit_z => 0,
                    s => s,
                };
            }
        }
        out[t] = state;
    }
}
