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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_does_not_drift_over_a_million_additions() {
        let mut sum = KahanSum::default();
        for _ in 0..1_000_000 {
            sum.add(0.1);
        }
        assert!((sum.value() - 100_000.0).abs() < 1e-9, "{}", sum.value());
    }
}
