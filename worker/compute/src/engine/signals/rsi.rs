//! `rsi`: Wilder's relative strength index, traded as a contrarian signal.
//!
//! Rule: with `d[t] = close[t] - close[t-1]`, the first average gain (loss) at bar `period` is
//! the mean of the gains `max(d, 0)` (losses `max(-d, 0)`) of bars 1..=period; after that
//! `avg = (avg * (period - 1) + x) / period` (Wilder's smoothing).
//! `RSI = 100 - 100 / (1 + avg_gain / avg_loss)`, 100 when `avg_loss = 0`, 50 when both are 0.
//! The target turns long when `RSI < lower` (oversold) and short when `RSI > upper`
//! (overbought), and holds in between, so the tool stays in the market after its first signal.
//! First decision at bar `period`.

use super::Position;

/// Wilder's RSI of `close`: NaN before bar `period`.
pub(crate) fn rsi(close: &[f64], period: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(close.len(), f64::NAN);
    if period == 0 || close.len() <= period {
        return;
    }
    let p = period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for t in 1..=period {
        let d = close[t] - close[t - 1];
        gain += d.max(0.0);
        loss += (-d).max(0.0);
    }
    gain /= p;
    loss /= p;
    out[period] = index(gain, loss);
    for t in period + 1..close.len() {
        let d = close[t] - close[t - 1];
        gain = (gain * (p - 1.0) + d.max(0.0)) / p;
        loss = (loss * (p - 1.0) + (-d).max(0.0)) / p;
        out[t] = index(gain, loss);
    }
}

fn index(gain: f64, loss: f64) -> f64 {
    if loss == 0.0 {
        if gain == 0.0 { 50.0 } else { 100.0 }
    } else {
        100.0 - 100.0 / (1.0 + gain / loss)
    }
}

pub(crate) fn targets(
    close: &[f64],
    period: usize,
    lower: f64,
    upper: f64,
    scratch: &mut Vec<f64>,
    out: &mut [Position],
) {
    rsi(close, period, scratch);
    let mut state: Position = 0;
    for (t, &r) in scratch.iter().enumerate() {
        if r < lower {
            state = 1;
        } else if r > upper {
            state = -1;
        }
        out[t] = state;
    }
}
