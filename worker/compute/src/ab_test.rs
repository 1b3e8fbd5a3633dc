//! The A/B test's statistics, pure and seeded: two versions' per-bar returns over the same
//! bars, paired, and tested with a circular block bootstrap (Politis & Romano 1992) that keeps
//! the returns' autocorrelation within blocks.
//!
//! - Statistics: the mean per-bar return and the annualized Sharpe ratio (sample standard
//!   deviation; 0 when it is 0, as the engine's metrics) of each version, and their differences
//!   `B - A`.
//! - Resampling: `ceil(n / l)` blocks of `l` consecutive paired bars, each starting at a
//!   uniformly drawn bar and wrapping around the end, cut to `n` bars; the same indices are used
//!   for both versions, so the pairing survives. `l` is `ceil(n^(1/3))` unless set.
//! - Confidence intervals: percentiles `alpha/2` and `1 - alpha/2` of the resampled differences
//!   (linear interpolation between order statistics).
//! - p-value: two-sided, of the bootstrap distribution centered on the observed difference:
//!   `(1 + #{|d* - d| >= |d|}) / (1 + B)`. An observed difference of exactly 0 (an A/A test)
//!   gives 1.
//! - Random stream: SplitMix64 seeded with the settings' seed, its stream fixed by this code
//!   (not by a dependency's version or the platform), and bounded draws by rejection, so the
//!   same inputs and seed give the same result, bit for bit, everywhere.

use domain::ab_test::{AbTestSettings, BLOCK_LENGTH_RULE, DiffStat, TEST_NAME, TestInfo, Verdict};

use crate::Stop;

/// Resamples between two checks of the stop signal.
pub const STOP_CHECK_RESAMPLES: usize = 50;

/// Why the test cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AbTestError {
    /// The two series differ in length.
    #[error("the versions' paired returns differ in length ({a} and {b} bars)")]
    Unpaired {
        /// Bars of A.
        a: usize,
        /// Bars of B.
        b: usize,
    },
    /// Too few bars to test.
    #[error("{0} paired bars are too few: at least 2 are needed")]
    TooFewBars(usize),
    /// A return that is not a finite number.
    #[error("a return is not a finite number")]
    NotFinite,
    /// The caller's stop signal was raised before the resampling ended.
    #[error("stopped before the end")]
    Stopped,
}

/// What the test found.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedTest {
    /// Mean per-bar return of each version and the test of the difference.
    pub mean_return: DiffStat,
    /// Annualized Sharpe ratio of each version and the test of the difference.
    pub sharpe: DiffStat,
    /// How it ran.
    pub test: TestInfo,
    /// The conclusion from the Sharpe ratio difference.
    pub verdict: Verdict,
}

/// Tests whether `b`'s returns differ from `a`'s, paired bar by bar, with Sharpe ratios
/// annualized by `periods_per_year`.
///
/// # Errors
/// [`AbTestError`] for series of different lengths, fewer than 2 bars or non-finite returns.
pub fn paired_test(
    a: &[f64],
    b: &[f64],
    periods_per_year: f64,
    settings: &AbTestSettings,
) -> Result<PairedTest, AbTestError> {
    paired_test_until(a, b, periods_per_year, settings, Stop::NEVER)
}

/// [`paired_test`] that checks `stop` every [`STOP_CHECK_RESAMPLES`] resamples.
///
/// # Errors
/// As [`paired_test`]; [`AbTestError::Stopped`] when `stop` is raised.
pub fn paired_test_until(
    a: &[f64],
    b: &[f64],
    periods_per_year: f64,
    settings: &AbTestSettings,
    stop: Stop<'_>,
) -> Result<PairedTest, AbTestError> {
    let n = a.len();
    if n != b.len() {
        return Err(AbTestError::Unpaired { a: n, b: b.len() });
    }
    if n < 2 {
        return Err(AbTestError::TooFewBars(n));
    }
    if a.iter().chain(b).any(|x| !x.is_finite()) {
        return Err(AbTestError::NotFinite);
    }
    let annual = if periods_per_year.is_finite() && periods_per_year > 0.0 {
        periods_per_year.sqrt()
    } else {
        1.0
    };
    let block = settings
        .block_length
        .map_or_else(|| block_length(n), |l| l.clamp(1, n));
    let resamples = settings.resamples.max(1);
    let (mean_a, mean_b) = (mean(a), mean(b));
    let (sharpe_a, sharpe_b) = (sharpe(a) * annual, sharpe(b) * annual);
    let identical = a.iter().zip(b).all(|(x, y)| x == y);
    let (mut mean_diffs, mut sharpe_diffs) = (Vec::new(), Vec::new());
    if !identical {
        let mut rng = SplitMix64::new(settings.seed);
        let (mut ra, mut rb) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut indices = Vec::with_capacity(n);
        for r in 0..resamples {
            if r % STOP_CHECK_RESAMPLES == 0 && stop.requested() {
                return Err(AbTestError::Stopped);
            }
            circular_block_indices(n, block, &mut rng, &mut indices);
            ra.clear();
            rb.clear();
            ra.extend(indices.iter().map(|&i| a[i]));
            rb.extend(indices.iter().map(|&i| b[i]));
            let (ma, mb) = (mean(&ra), mean(&rb));
            mean_diffs.push(mb - ma);
            sharpe_diffs.push((sharpe_about(&rb, mb) - sharpe_about(&ra, ma)) * annual);
        }
    }
    let alpha = settings.alpha;
    let stat = |va: f64, vb: f64, diffs: &mut Vec<f64>| {
        let difference = vb - va;
        if diffs.is_empty() {
            // Identical series: every resample's difference is exactly 0.
            return DiffStat {
                a: va,
                b: vb,
                difference,
                ci_low: 0.0,
                ci_high: 0.0,
                p_value: 1.0,
                significant: false,
            };
        }
        let p_value = centered_p_value(diffs, difference);
        diffs.sort_by(f64::total_cmp);
        DiffStat {
            a: va,
            b: vb,
            difference,
            ci_low: quantile(diffs, alpha / 2.0),
            ci_high: quantile(diffs, 1.0 - alpha / 2.0),
            p_value,
            significant: p_value < alpha,
        }
    };
    let mean_return = stat(mean_a, mean_b, &mut mean_diffs);
    let sharpe = stat(sharpe_a, sharpe_b, &mut sharpe_diffs);
    let verdict = match (sharpe.significant, sharpe.difference) {
        (true, d) if d > 0.0 => Verdict::BBetter,
        (true, d) if d < 0.0 => Verdict::ABetter,
        _ => Verdict::NoSignificantDifference,
    };
    Ok(PairedTest {
        mean_return,
        sharpe,
        verdict,
        test: TestInfo {
            name: TEST_NAME.into(),
            block_length: block,
            block_length_rule: if settings.block_length.is_some() {
                "set by the request".into()
            } else {
                BLOCK_LENGTH_RULE.into()
            },
            resamples,
            seed: settings.seed,
            alpha,
        },
    })
}

/// The default block length for `n` bars: `ceil(n^(1/3))`, at least 1.
pub fn block_length(n: usize) -> usize {
    let l = (n as f64).cbrt().ceil() as usize;
    // cbrt of a perfect cube can land a hair above the integer.
    let l = if l > 1 && (l - 1).pow(3) >= n {
        l - 1
    } else {
        l
    };
    l.clamp(1, n.max(1))
}

/// Mean (0 for an empty slice).
fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// Per-bar Sharpe ratio: mean over sample standard deviation, 0 when the deviation is 0.
pub fn sharpe(x: &[f64]) -> f64 {
    sharpe_about(x, mean(x))
}

/// [`sharpe`] of `x` whose mean `m` is known (the bootstrap has it already).
fn sharpe_about(x: &[f64], m: f64) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64;
    let sd = var.sqrt();
    if sd > 0.0 { m / sd } else { 0.0 }
}

/// The `q` quantile of sorted `x` (linear interpolation between order statistics, the
/// "type 7" rule of R and NumPy).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Two-sided p-value of `observed` against its bootstrap `resampled` values centered on it:
/// `(1 + #{|d* - d| >= |d|}) / (1 + B)`.
pub fn centered_p_value(resampled: &[f64], observed: f64) -> f64 {
    let far = resampled
        .iter()
        .filter(|&&d| (d - observed).abs() >= observed.abs())
        .count();
    (1 + far) as f64 / (1 + resampled.len()) as f64
}

/// Indices of one circular block resample of `n` bars with blocks of `block`, into `out`.
fn circular_block_indices(n: usize, block: usize, rng: &mut SplitMix64, out: &mut Vec<usize>) {
    out.clear();
    while out.len() < n {
        let start = rng.below(n as u64) as usize;
        // `start < n` and `block <= n`: one subtraction wraps (a division costs more).
        out.extend(
            (start..start + block)
                .map(|i| if i >= n { i - n } else { i })
                .take(n - out.len()),
        );
    }
}

/// Indices of a circular block resample from given block starts (what the draws produce).
pub fn blocks_from_starts(n: usize, block: usize, starts: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    for &start in starts {
        if out.len() >= n {
            break;
        }
        out.extend((0..block).map(|j| (start + j) % n).take(n - out.len()));
    }
    out
}

/// SplitMix64 (Steele, Lea & Flood 2014): the stream is fixed by this code.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in `0..bound` (`bound > 0`), unbiased by rejection.
    pub fn below(&mut self, bound: u64) -> u64 {
        let bound = bound.max(1);
        let zone = u64::MAX - (u64::MAX - bound + 1) % bound;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % bound;
            }
        }
    }
}

#[cfg(test)]
mod tests;
