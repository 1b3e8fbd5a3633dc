//! The state of the Q-learning environment: the market part (return and volatility buckets,
//! fitted on the training range) and the index of a full state.

use std::ops::Range;

/// How the market part of the state is discretized.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StateSpec {
    /// Bars of the recent return `close[t] / close[t - return_lookback] - 1`.
    pub return_lookback: usize,
    /// Window (bars) of the rolling standard deviation of one-bar returns.
    pub vol_window: usize,
    /// Ascending inner edges of the return buckets (`R - 1` values).
    pub return_edges: Vec<f64>,
    /// Ascending inner edges of the volatility buckets (`V - 1` values).
    pub vol_edges: Vec<f64>,
}

impl StateSpec {
    /// Bucket edges fitted on `range` only (quantiles of the recent return over
    /// `return_lookback` bars and of the rolling `vol_window`-bar std of one-bar returns):
    /// `return_buckets` and `vol_buckets` buckets. Features use `close[range]` alone.
    /// Lookback/window are raised to >= 1, bucket counts clamped to `1..=256` (stored as
    /// `u8`); with no usable sample the edges are all 0.
    pub fn fit(
        close: &[f64],
        range: Range<usize>,
        return_lookback: usize,
        vol_window: usize,
        return_buckets: usize,
        vol_buckets: usize,
    ) -> Self {
        let (lookback, window) = (return_lookback.max(1), vol_window.max(1));
        let end = range.end.min(close.len());
        let slice = &close[range.start.min(end)..end];
        let (mut rets, mut vols) = (Vec::new(), Vec::new());
        for t in lookback.max(window)..slice.len() {
            rets.push(recent_return(slice, t, lookback));
            vols.push(rolling_vol(slice, t, window));
        }
        Self {
            return_lookback: lookback,
            vol_window: window,
            return_edges: quantile_edges(rets, return_buckets.clamp(1, 256)),
            vol_edges: quantile_edges(vols, vol_buckets.clamp(1, 256)),
        }
    }

    /// Number of return buckets `R`.
    pub fn return_buckets(&self) -> usize {
        self.return_edges.len() + 1
    }

    /// Number of volatility buckets `V`.
    pub fn vol_buckets(&self) -> usize {
        self.vol_edges.len() + 1
    }

    /// Number of states: 3 (signal) × R × V × 3 (current position).
    pub fn states(&self) -> usize {
        9 * self.return_buckets() * self.vol_buckets()
    }

    /// First bar with a complete state: `max(return_lookback, vol_window)`.
    pub fn warmup(&self) -> usize {
        self.return_lookback.max(self.vol_window)
    }
}

/// Recent return at bar `t` (requires `t >= l`).
fn recent_return(c: &[f64], t: usize, l: usize) -> f64 {
    c[t] / c[t - l] - 1.0
}

/// Population std of the `w` one-bar returns ending at bar `t` (requires `t >= w`).
fn rolling_vol(c: &[f64], t: usize, w: usize) -> f64 {
    let (ks, n) = (t + 1 - w..t + 1, w as f64);
    let mean = ks.clone().map(|k| c[k] / c[k - 1] - 1.0).sum::<f64>() / n;
    let sq = |k: usize| (c[k] / c[k - 1] - 1.0 - mean).powi(2);
    (ks.map(sq).sum::<f64>() / n).sqrt()
}

/// `buckets - 1` inner quantile edges (linear interpolation) of the finite values.
fn quantile_edges(mut v: Vec<f64>, buckets: usize) -> Vec<f64> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return vec![0.0; buckets - 1];
    }
    (1..buckets)
        .map(|i| {
            let pos = i as f64 / buckets as f64 * (v.len() - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(v.len() - 1);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        })
        .collect()
}

/// Bucket of `x`: the number of edges `<= x` (NaN goes to bucket 0).
fn bucket(x: f64, edges: &[f64]) -> u8 {
    edges.partition_point(|e| *e <= x).min(255) as u8
}

/// Per-bar market part of the state, computed once and shared by every learner (no copies
/// per thread): bucket of the recent return and of volatility at bar t, from `close[..=t]`
/// only; and the one-bar forward return `close[t+1]/close[t]-1` used as reward.
#[derive(Clone, Debug, PartialEq)]
pub struct Market {
    /// Recent-return bucket per bar (0 before warmup).
    pub return_bucket: Vec<u8>,
    /// Volatility bucket per bar (0 before warmup).
    pub vol_bucket: Vec<u8>,
    /// One-bar forward return per bar (0 at the last bar and where not finite).
    pub next_return: Vec<f64>,
}

/// Computes the [`Market`] of a close series (buckets before `spec.warmup()` are 0).
pub fn market(close: &[f64], spec: &StateSpec) -> Market {
    let n = close.len();
    let (mut return_bucket, mut vol_bucket) = (vec![0u8; n], vec![0u8; n]);
    for t in spec.warmup()..n {
        let ret = recent_return(close, t, spec.return_lookback);
        return_bucket[t] = bucket(ret, &spec.return_edges);
        vol_bucket[t] = bucket(rolling_vol(close, t, spec.vol_window), &spec.vol_edges);
    }
    let mut next_return = vec![0.0; n];
    for (r, w) in next_return.iter_mut().zip(close.windows(2)) {
        let x = w[1] / w[0] - 1.0;
        *r = if x.is_finite() { x } else { 0.0 };
    }
    Market {
        return_bucket,
        vol_bucket,
        next_return,
    }
}

/// Index of a position (or signal) in the state by sign: -1 -> 0, 0 -> 1, +1 -> 2.
#[inline]
fn pos_index(p: i8) -> usize {
    (p.signum() + 1) as usize
}

/// State index without the position part (a multiple of 3).
#[inline]
pub(crate) fn state_base(r: usize, v: usize, signal: i8, rb: u8, vb: u8) -> usize {
    ((pos_index(signal) * r + usize::from(rb).min(r - 1)) * v + usize::from(vb).min(v - 1)) * 3
}

/// State `((signal * R + return_bucket) * V + vol_bucket) * 3 + position`, signal and
/// position mapped -1/0/+1 -> 0/1/2: a bijection onto `0..spec.states()` (larger buckets
/// are clamped to the last one).
pub fn state_index(
    spec: &StateSpec,
    signal: i8,
    return_bucket: u8,
    vol_bucket: u8,
    position: i8,
) -> usize {
    let (r, v) = (spec.return_buckets(), spec.vol_buckets());
    state_base(r, v, signal, return_bucket, vol_bucket) + pos_index(position)
}
