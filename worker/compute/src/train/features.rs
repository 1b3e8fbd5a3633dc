//! Feature and label construction for bar series (no deep-learning dependency).
//!
//! Every feature of bar `t` reads `close[..=t]` only. Rolling statistics are kept in O(n) with
//! running sums that are recomputed exactly once per window length, so rounding drift stays
//! bounded and depends only on the bar index (never on later bars).
//!
//! Columns of a row, in order:
//! 1. the last `lookback` one-bar log returns, most recent first, each divided by the rolling
//!    [`SHORT_WINDOW`]-bar standard deviation of log returns (`vol20`);
//! 2. Cutler's RSI over [`RSI_WINDOW`] price changes, scaled to `[-0.5, 0.5]` (0 when flat);
//! 3. `(close / SMA20 - 1) / vol20`;
//! 4. z-score of the close over the last [`SHORT_WINDOW`] closes;
//! 5. `vol20 / vol100 - 1`, the long volatility window being [`LONG_WINDOW`] log returns;
//! 6. the trade direction (`-1`, `0`, `+1`) when [`FeatureSpec::with_direction`] is set.
//!
//! Every value is clamped to `[-FEATURE_CLAMP, FEATURE_CLAMP]`; non-finite intermediate values
//! (zero or negative prices, zero volatility, NaN inputs) become `0`.

use std::ops::Range;

/// Window (bars) of the short volatility, the SMA and the z-score.
pub const SHORT_WINDOW: usize = 20;
/// Window (log returns) of the long volatility used by the volatility-ratio feature.
pub const LONG_WINDOW: usize = 100;
/// Number of price changes in the RSI.
pub const RSI_WINDOW: usize = 14;
/// Absolute bound of every feature value.
pub const FEATURE_CLAMP: f64 = 10.0;
/// Number of indicator columns that follow the normalized returns.
const INDICATORS: usize = 4;
/// Volatility (of log returns) below which a series counts as flat.
const VOL_EPS: f64 = 1e-8;
/// Relative dispersion of closes (std / SMA) below which the z-score counts as undefined, and
/// relative RSI sums below which the RSI counts as neutral.
const REL_EPS: f64 = 1e-7;

/// Shape of the feature rows and of the label horizon.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSpec {
    /// Number of normalized one-bar log returns in each row.
    pub lookback: usize,
    /// Bars between the decision bar `t` and the close that settles the label (`close[t +
    /// horizon]`); `0` is treated as `1`, since the label always reads the next open.
    pub horizon: usize,
    /// Whether the rows end with a direction column.
    pub with_direction: bool,
}

impl FeatureSpec {
    /// Number of columns of a row (including the direction column when `with_direction`).
    pub fn width(&self) -> usize {
        self.lookback + INDICATORS + usize::from(self.with_direction)
    }

    /// First bar index whose features are complete (every window is full).
    pub fn warmup(&self) -> usize {
        self.lookback.max(LONG_WINDOW).max(SHORT_WINDOW)
    }

    /// The label horizon actually used (`horizon`, at least 1).
    fn effective_horizon(&self) -> usize {
        self.horizon.max(1)
    }
}

/// Feature rows with their binary labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    /// Row-major features, `len() × width` values.
    pub x: Vec<f32>,
    /// Labels, `0.0` or `1.0`, one per row.
    pub y: Vec<f32>,
    /// Bar index of each row.
    pub bars: Vec<usize>,
    /// Number of columns of each row.
    pub width: usize,
}

impl Samples {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Share of rows labelled `1` (0 when empty).
    pub fn positive_share(&self) -> f64 {
        if self.y.is_empty() {
            return 0.0;
        }
        let positives = self.y.iter().filter(|&&v| v > 0.5).count();
        positives as f64 / self.y.len() as f64
    }

    fn with_capacity(width: usize, rows: usize) -> Self {
        Self {
            x: Vec::with_capacity(rows * width),
            y: Vec::with_capacity(rows),
            bars: Vec::with_capacity(rows),
            width,
        }
    }
}

/// Features of every bar (rows before warmup are all 0), row-major `n × width`, direction column
/// set to `direction` (ignored without `with_direction`).
pub fn feature_matrix(close: &[f64], spec: &FeatureSpec, direction: i8) -> Vec<f32> {
    let ind = Indicators::new(close);
    let width = spec.width();
    let mut out = Vec::with_capacity(close.len() * width);
    for t in 0..close.len() {
        if t < spec.warmup() {
            out.resize(out.len() + width, 0.0);
        } else {
            ind.push_row(t, spec, direction, &mut out);
        }
    }
    out
}

/// Next-move samples (for a network that predicts the next move): every bar `t` in `range`
/// (`t >= warmup`) whose label reads only bars `< range.end`; label 1 when
/// `close[t + horizon] > open[t + 1]` (the move from the next fill to the horizon's close is
/// up), else 0. The direction column, if any, is 0.
///
/// Bars at or beyond `range.end` (or beyond the shorter of `open` and `close`) are never read.
pub fn direction_samples(
    open: &[f64],
    close: &[f64],
    spec: &FeatureSpec,
    range: Range<usize>,
) -> Samples {
    build_samples(
        open,
        close,
        spec,
        range,
        |_| Some(0),
        |_, entry, exit| exit > entry,
    )
}

/// Meta-labeling samples: bars `t` in `range` (`t >= warmup`) where `signal[t] != 0` and whose
/// label reads only bars `< range.end`; label 1 when taking the signal pays:
/// `d * (close[t + horizon] / open[t + 1] - 1) > 2 * cost` (`d = signal[t]`, `cost` per side, so
/// `2 * cost` is the round trip), else 0; the direction column (if any) holds `d`.
///
/// Bars beyond `signal.len()` count as flat. Bars at or beyond `range.end` are never read.
pub fn meta_samples(
    open: &[f64],
    close: &[f64],
    signal: &[i8],
    spec: &FeatureSpec,
    cost: f64,
    range: Range<usize>,
) -> Samples {
    let direction = |t: usize| match signal.get(t).copied() {
        Some(d) if d != 0 => Some(d.signum()),
        _ => None,
    };
    build_samples(open, close, spec, range, direction, |d, entry, exit| {
        let ret = f64::from(d) * (exit / entry - 1.0);
        ret.is_finite() && ret > 2.0 * cost
    })
}

/// Shared sample loop: `direction(t)` selects the bar (and its direction column), `label(d,
/// entry, exit)` decides the label from `open[t + 1]` and `close[t + horizon]`.
fn build_samples(
    open: &[f64],
    close: &[f64],
    spec: &FeatureSpec,
    range: Range<usize>,
    direction: impl Fn(usize) -> Option<i8>,
    label: impl Fn(i8, f64, f64) -> bool,
) -> Samples {
    let width = spec.width();
    let horizon = spec.effective_horizon();
    let end = range.end.min(open.len()).min(close.len());
    let start = range.start.max(spec.warmup());
    // The last usable bar reads close[t + horizon] with t + horizon < end.
    let last = end.saturating_sub(horizon);
    if start >= last {
        return Samples::with_capacity(width, 0);
    }
    // Indicators see only the bars before `end`, so nothing at or past it can leak in.
    let ind = Indicators::new(&close[..end]);
    let mut samples = Samples::with_capacity(width, last - start);
    for t in start..last {
        let Some(d) = direction(t) else { continue };
        let positive = label(d, open[t + 1], close[t + horizon]);
        ind.push_row(t, spec, d, &mut samples.x);
        samples.y.push(if positive { 1.0 } else { 0.0 });
        samples.bars.push(t);
    }
    samples
}

/// Clamps a feature and maps non-finite values to 0.
fn clean(value: f64) -> f32 {
    if value.is_finite() {
        value.clamp(-FEATURE_CLAMP, FEATURE_CLAMP) as f32
    } else {
        0.0
    }
}

/// `value / scale`, or 0 when the scale is (numerically) zero.
fn ratio(value: f64, scale: f64, eps: f64) -> f64 {
    if scale.is_finite() && scale > eps {
        value / scale
    } else {
        0.0
    }
}

/// Per-bar indicator series; every entry `i` depends on `close[..=i]` only.
struct Indicators<'a> {
    /// One-bar log returns (`ret[0] = 0`).
    ret: Vec<f64>,
    /// Standard deviation of the last `SHORT_WINDOW` log returns.
    vol_short: Vec<f64>,
    /// Standard deviation of the last `LONG_WINDOW` log returns.
    vol_long: Vec<f64>,
    /// Mean of the last `SHORT_WINDOW` closes.
    sma: Vec<f64>,
    /// Standard deviation of the last `SHORT_WINDOW` closes.
    close_std: Vec<f64>,
    /// RSI scaled to `[-0.5, 0.5]`.
    rsi: Vec<f64>,
    close: &'a [f64],
}

impl<'a> Indicators<'a> {
    fn new(close: &'a [f64]) -> Self {
        let n = close.len();
        let mut ret = vec![0.0; n];
        let mut gains = vec![0.0; n];
        let mut losses = vec![0.0; n];
        for i in 1..n {
            let (prev, cur) = (close[i - 1], close[i]);
            let r = (cur / prev).ln();
            ret[i] = if prev > 0.0 && cur > 0.0 && r.is_finite() {
                r
            } else {
                0.0
            };
            let change = cur - prev;
            if change.is_finite() {
                gains[i] = change.max(0.0);
                losses[i] = (-change).max(0.0);
            }
        }
        let vol_short = rolling_std(&ret, SHORT_WINDOW);
        let vol_long = rolling_std(&ret, LONG_WINDOW);
        let (close_sum, _) = rolling_moments(close, SHORT_WINDOW);
        let sma: Vec<f64> = close_sum.iter().map(|s| s / SHORT_WINDOW as f64).collect();
        let close_std = rolling_std(close, SHORT_WINDOW);
        let (gain_sum, _) = rolling_moments(&gains, RSI_WINDOW);
        let (loss_sum, _) = rolling_moments(&losses, RSI_WINDOW);
        let rsi = gain_sum
            .iter()
            .zip(&loss_sum)
            .zip(close)
            .map(|((&g, &l), &c)| {
                let (g, l) = (g.max(0.0), l.max(0.0));
                // Sums this small relative to the price are rounding residue of a flat window.
                if g + l > REL_EPS * c.abs() {
                    g / (g + l) - 0.5
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            ret,
            vol_short,
            vol_long,
            sma,
            close_std,
            rsi,
            close,
        }
    }

    /// Appends the `spec.width()` features of bar `t` (`t >= spec.warmup()`) to `out`.
    fn push_row(&self, t: usize, spec: &FeatureSpec, direction: i8, out: &mut Vec<f32>) {
        let vol = self.vol_short[t];
        for k in 0..spec.lookback {
            out.push(clean(ratio(self.ret[t - k], vol, VOL_EPS)));
        }
        out.push(clean(self.rsi[t]));
        let (c, sma) = (self.close[t], self.sma[t]);
        let deviation = if sma > 0.0 { c / sma - 1.0 } else { 0.0 };
        out.push(clean(ratio(deviation, vol, VOL_EPS)));
        let z_eps = REL_EPS * sma.abs().max(f64::MIN_POSITIVE);
        out.push(clean(ratio(c - sma, self.close_std[t], z_eps)));
        let vol_ratio = if vol > VOL_EPS {
            ratio(vol, self.vol_long[t], VOL_EPS) - 1.0
        } else {
            0.0
        };
        out.push(clean(vol_ratio));
        if spec.with_direction {
            out.push(f32::from(direction.signum()));
        }
    }
}

/// Rolling sums of `values` and of their squares over the last `window` entries ending at each
/// index (partial windows at the start). Runs in O(n): a running update, recomputed exactly
/// every `window` steps so that drift (and NaN) cannot persist beyond two windows.
fn rolling_moments(values: &[f64], window: usize) -> (Vec<f64>, Vec<f64>) {
    let n = values.len();
    let mut sums = Vec::with_capacity(n);
    let mut squares = Vec::with_capacity(n);
    let (mut s, mut q) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        let lo = (i + 1).saturating_sub(window);
        if i % window == 0 {
            let w = &values[lo..=i];
            s = w.iter().sum();
            q = w.iter().map(|v| v * v).sum();
        } else {
            let v = values[i];
            s += v;
            q += v * v;
            if i >= window {
                let old = values[i - window];
                s -= old;
                q -= old * old;
            }
        }
        sums.push(s);
        squares.push(q);
    }
    (sums, squares)
}

/// Population standard deviation over the last `window` entries from the rolling sums.
fn rolling_std(values: &[f64], window: usize) -> Vec<f64> {
    let (sums, squares) = rolling_moments(values, window);
    let w = window as f64;
    sums.iter()
        .zip(squares)
        .map(|(s, q)| {
            let mean = s / w;
            (q / w - mean * mean).max(0.0).sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests;
