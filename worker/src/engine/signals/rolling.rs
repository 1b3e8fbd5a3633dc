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

/// Simple moving averages of `values` over `n` bars: `out[t]` is the mean of
/// `values[t+1-n..=t]`, NaN for `t < n - 1`.
pub(crate) fn sma(values: &[f64], n: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(values.len(), f64::NAN);
    if n == 0 || values.len() < n {
        return;
    }
    let mut sum = KahanSum::default();
    for (t, &x) in values.iter().enumerate() {
        sum.add(x);
        if t >= n {
            sum.add(-values[t - n]);
        }
        if t + 1 >= n {
            out[t] = sum.value() / n as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_matches_the_direct_mean_and_is_nan_during_warm_up() {
        let xs = [1.0, 2.0, 3.0, 4.0, 10.0];
        let mut out = Vec::new();
        sma(&xs, 3, &mut out);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(&out[2..], &[2.0, 3.0, 17.0 / 3.0]);
    }

    #[test]
    fn compensated_sum_does_not_drift_over_a_million_updates() {
        let xs: Vec<f64> = (0..1_000_000)
            .map(|i| 1.1 + f64::from(i % 7) * 1e-5)
            .collect();
        let mut out = Vec::new();
        sma(&xs, 20, &mut out);
        let last = &xs[xs.len() - 20..];
        let direct = last.iter().sum::<f64>() / 20.0;
        assert!(
            (out[xs.len() - 1] - direct).abs() < 1e-14,
            "{} vs {direct}",
            out[xs.len() - 1]
        );
    }
}
