//! Excess returns of one tool over another on the same bars: what the deflated Sharpe ratio of
//! an *improvement* is computed from (the Sharpe ratio of the excess returns is the candidate's
//! information ratio against the baseline).
//!
//! A first-order model of the two backtests, cheap enough to run for every trial of a search:
//! over bar t the candidate holds its target of bar t-1 and the baseline its own, so the excess
//! return is `(p_c[t-1] - p_b[t-1]) * (close[t] / close[t-1] - 1)`, less the cost of each
//! side's position changes decided at bar t-1 (`cost * (|p_c[t-1] - p_c[t-2]| - |p_b[t-1] -
//! p_b[t-2]|)`, cost = commission + slippage per unit of position changed). Without
//! compounding and with close-to-close prices instead of the next open's fills, it tracks the
//! difference of the two equity curves' returns closely and never reads a bar twice.

use std::ops::Range;

use super::signals::Position;

/// Running sums of excess returns.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct ExcessStats {
    /// Bars.
    pub n: f64,
    /// Sum of excess returns.
    pub sum: f64,
    /// Sum of their squares.
    pub sum_sq: f64,
}

impl ExcessStats {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        self.sum += x;
        self.sum_sq += x * x;
    }

    /// Mean over sample standard deviation, per bar (the information ratio); `None` with fewer
    /// than two bars or no spread (the same positions throughout).
    pub fn ratio(&self) -> Option<f64> {
        if self.n < 2.0 {
            return None;
        }
        let mean = self.sum / self.n;
        let var = (self.sum_sq - self.sum * mean) / (self.n - 1.0);
        (var > 0.0)
            .then(|| mean / var.sqrt())
            .filter(|r| r.is_finite())
    }
}

/// Calls `f` with every bar's excess return of `candidate` over `baseline` (targets over the
/// whole series) across `ranges`; the first bar of each range has none (no position held yet).
pub(crate) fn for_each(
    close: &[f64],
    candidate: &[Position],
    baseline: &[Position],
    ranges: &[Range<usize>],
    cost: f64,
    mut f: impl FnMut(f64),
) {
    let held = |p: &[Position], t: usize| f64::from(if t == 0 { 0 } else { p[t - 1] });
    for range in ranges {
        let end = range
            .end
            .min(close.len())
            .min(candidate.len())
            .min(baseline.len());
        for t in range.start + 1..end {
            let (c, b) = (held(candidate, t), held(baseline, t));
            let (c0, b0) = (held(candidate, t - 1), held(baseline, t - 1));
            let r = close[t] / close[t - 1] - 1.0;
            f((c - b) * r - cost * ((c - c0).abs() - (b - b0).abs()));
        }
    }
}

/// The running sums of [`for_each`].
pub(crate) fn stats(
    close: &[f64],
    candidate: &[Position],
    baseline: &[Position],
    ranges: &[Range<usize>],
    cost: f64,
) -> ExcessStats {
    let mut s = ExcessStats::default();
    for_each(close, candidate, baseline, ranges, cost, |x| s.add(x));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_against_flat_earns_the_moves_less_the_entry() {
        let close = [100.0, 110.0, 99.0, 99.0];
        let candidate = [1, 1, 1, 1];
        let baseline = [0, 0, 0, 0];
        let mut got = Vec::new();
        let whole = std::slice::from_ref(&(0..4));
        for_each(&close, &candidate, &baseline, whole, 0.01, |x| got.push(x));
        // Bar 1: long from bar 0's decision, +10%, less the entry cost. Then -10% and 0.
        assert_eq!(got.len(), 3);
        assert!((got[0] - (0.10 - 0.01)).abs() < 1e-12, "{got:?}");
        assert!((got[1] + 0.10).abs() < 1e-12);
        assert_eq!(got[2], 0.0);
    }

    #[test]
    fn the_same_positions_have_no_excess_and_no_ratio() {
        let close = [1.0, 2.0, 3.0, 2.0];
        let p = [1, -1, 1, 0];
        let s = stats(&close, &p, &p, std::slice::from_ref(&(0..4)), 0.002);
        assert_eq!((s.n, s.sum, s.sum_sq), (3.0, 0.0, 0.0));
        assert_eq!(s.ratio(), None);
    }

    #[test]
    fn each_range_starts_without_a_held_difference_from_before_it() {
        let close = [1.0, 1.1, 1.2, 1.3, 1.4];
        let (c, b) = ([1, 1, 1, 1, 1], [0, 0, 0, 0, 0]);
        let s = stats(&close, &c, &b, &[0..2, 2..5], 0.0);
        // Bars 1, 3 and 4: the first bar of each range is skipped.
        assert_eq!(s.n, 3.0);
    }
}
