//! Rolling-window primitives shared by the families, each O(1) per bar and deterministic (the
//! same additions in the same order every time, so results are bit-identical between runs).

/// A Kahan-compensated running sum: adding and removing window values for millions of bars
/// keeps the error at the level of one rounding instead of letting it drift.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct KahanSum {
    sum: f64,
    compensation: f64,
}

impl KahanSum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let y = x - self.compensation;
        let t = self.sum + y;
        self.compensation = (t - self.sum) - y;
        self.sum = t;
    }

    #[inline]
    pub(crate) fn value(&self) -> f64 {
        self.sum
    }
}

/// Rolling window sums are recomputed exactly every this many lengths of the windows summed, so
/// rounding cannot drift (at most a few thousand updates between recomputations) and the
/// recomputation costs every bar the same share of an addition, whatever the window lengths.
pub(crate) const RESYNC_WINDOWS: usize = 16;

/// The sum of the last `window` closes, bar after bar, as a function of the window alone: taken
/// afresh over the window at bars `window - 1 + k * RESYNC_WINDOWS * window` and rolled (one
/// addition of `close[t] - close[t - window]`) in between, so the value at a bar is the same, bit
/// for bit, wherever the rolling started.
#[derive(Clone, Debug)]
pub(crate) struct RollingSum {
    window: usize,
    /// The next bar whose sum is produced.
    t: usize,
    /// The next bar whose sum is taken afresh.
    fresh_at: usize,
    sum: f64,
}

impl RollingSum {
    /// Positioned so that the next [`RollingSum::next`] gives the sum at bar `t`
    /// (`t >= window - 1`, `window >= 1`); costs at most one block of additions.
    pub(crate) fn at(close: &[f64], window: usize, t: usize) -> Self {
        let window = window.max(1);
        let block = RESYNC_WINDOWS * window;
        let first = window - 1;
        let fresh = first + (t.max(first) - first) / block * block;
        let mut rolling = Self {
            window,
            t: fresh,
            fresh_at: fresh,
            sum: 0.0,
        };
        while rolling.t < t {
            rolling.next(close);
        }
        rolling
    }

    /// A sum that is never read (a series shorter than its window).
    pub(crate) fn idle(window: usize) -> Self {
        Self {
            window: window.max(1),
            t: 0,
            fresh_at: 0,
            sum: 0.0,
        }
    }

    /// Bars from the current one (excluded) that only roll, before the next fresh sum.
    #[inline(always)]
    pub(crate) fn rolling_bars(&self) -> usize {
        self.fresh_at - self.t
    }

    /// The window.
    pub(crate) fn window(&self) -> usize {
        self.window
    }

    /// The last sum produced, and the next bar; for a caller that rolls it in its own loop
    /// (at most [`RollingSum::rolling_bars`] bars) and hands back the sum with [`RollingSum::set`].
    #[inline(always)]
    pub(crate) fn state(&self) -> (f64, usize) {
        (self.sum, self.t)
    }

    /// After a caller rolled `bars` bars to `sum`.
    #[inline(always)]
    pub(crate) fn set(&mut self, sum: f64, bars: usize) {
        self.sum = sum;
        self.t += bars;
    }

    /// The sum at the current bar; moves to the next bar.
    #[inline(always)]
    pub(crate) fn next(&mut self, close: &[f64]) -> f64 {
        let t = self.t;
        if t == self.fresh_at {
            self.sum = close[t + 1 - self.window..=t].iter().sum();
            self.fresh_at += RESYNC_WINDOWS * self.window;
        } else {
            self.sum += close[t] - close[t - self.window];
        }
        self.t = t + 1;
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolling_sum_is_the_same_wherever_it_starts() {
        let close: Vec<f64> = (0..2_000).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
        let mut from_start = RollingSum::at(&close, 7, 6);
        let all: Vec<f64> = (6..close.len()).map(|_| from_start.next(&close)).collect();
        for start in [6, 7, 117, 118, 500, 1_999] {
            let mut later = RollingSum::at(&close, 7, start);
            for (t, expected) in all.iter().enumerate().skip(start - 6) {
                assert_eq!(
                    later.next(&close).to_bits(),
                    expected.to_bits(),
                    "bar {}",
                    t + 6
                );
            }
        }
        let direct: f64 = close[1_993..2_000].iter().sum();
        assert!((all[all.len() - 1] - direct).abs() < 1e-12);
    }

    #[test]
    fn compensated_sum_does_not_drift_over_a_million_additions() {
        let mut sum = KahanSum::default();
        for _ in 0..1_000_000 {
            sum.add(0.1);
        }
        assert!((sum.value() - 100_000.0).abs() < 1e-9, "{}", sum.value());
    }
}
