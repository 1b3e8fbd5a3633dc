//! What an evaluation is asked to do: costs, starting equity and the walk-forward folds. The
//! API validates these before a job is created and the worker's engine runs them, so they live
//! here, where both can see them.
//!
//! Walk-forward folds: the series is cut into an initial in-sample window followed by `n`
//! consecutive out-of-sample windows of equal length that run to the last bar. Each fold pairs
//! one out-of-sample window with the in-sample window right before it: of fixed length
//! (`rolling`) or from the first bar (`anchored`).
//!
//! With `N` bars, `n` folds and in-sample ratio `k`: `oos = floor(N / (k + n))` bars per
//! out-of-sample window and `is = N - n * oos` bars in the first in-sample window (so the
//! remainder goes to in-sample and the last window ends at the last bar). Fold i's out-of-sample
//! window is `[is + i*oos, is + (i+1)*oos)`.
//!
//! A parameter search sees only the *search span*, the bars before the first out-of-sample
//! window ([`search_span`]), cut into as many blocks as there are folds ([`blocks`]); every
//! out-of-sample window lies after it, so the judgment is made on bars the search never read.
//! The gate's stability runs cut the same out-of-sample bars into other seeded partitions
//! ([`resample`]).

use std::ops::Range;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Fewest bars in an out-of-sample window.
pub const MIN_FOLD_BARS: usize = 10;
/// Most folds.
pub const MAX_FOLDS: usize = 50;

/// How in-sample windows move.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FoldScheme {
    /// A fixed-length in-sample window slides forward.
    #[default]
    Rolling,
    /// In-sample windows all start at the first bar and grow.
    Anchored,
}

/// How to cut a series into folds.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FoldSpec {
    /// Number of folds (1..=50).
    pub n: usize,
    /// Rolling or anchored.
    pub scheme: FoldScheme,
    /// Length of the first in-sample window over one out-of-sample window (0.5..=20).
    pub in_sample_ratio: f64,
}

impl Default for FoldSpec {
    fn default() -> Self {
        Self {
            n: 4,
            scheme: FoldScheme::Rolling,
            in_sample_ratio: 3.0,
        }
    }
}

/// One fold: bar index ranges (end exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Where parameters are fitted.
    pub in_sample: Range<usize>,
    /// Where they are judged.
    pub out_of_sample: Range<usize>,
}

impl FoldSpec {
    /// The folds of a series of `bars` bars.
    ///
    /// # Errors
    /// [`ConfigError`] naming `folds` when the spec is out of range or the series
    /// is too short for windows of [`MIN_FOLD_BARS`].
    pub fn split(&self, bars: usize) -> Result<Vec<Fold>, ConfigError> {
        let invalid = |message: String| ConfigError {
            field: "folds".into(),
            message,
        };
        if !(1..=MAX_FOLDS).contains(&self.n) {
            return Err(invalid(format!("n must be between 1 and {MAX_FOLDS}")));
        }
        if !(0.5..=20.0).contains(&self.in_sample_ratio) {
            return Err(invalid("in_sample_ratio must be between 0.5 and 20".into()));
        }
        let oos = (bars as f64 / (self.in_sample_ratio + self.n as f64)).floor() as usize;
        let first_is = bars.saturating_sub(self.n * oos);
        if oos < MIN_FOLD_BARS || first_is < MIN_FOLD_BARS {
            return Err(invalid(format!(
                "{bars} bars are too few for {} folds with in-sample ratio {}: every window needs at least {MIN_FOLD_BARS} bars",
                self.n, self.in_sample_ratio
            )));
        }
        Ok((0..self.n)
            .map(|i| {
                let start = first_is + i * oos;
                let in_start = match self.scheme {
                    FoldScheme::Rolling => start - first_is,
                    FoldScheme::Anchored => 0,
                };
                Fold {
                    in_sample: in_start..start,
                    out_of_sample: start..start + oos,
                }
            })
            .collect())
    }
}

/// The bars a parameter search may read: those before the first out-of-sample window.
pub fn search_span(folds: &[Fold]) -> Range<usize> {
    0..folds.first().map_or(0, |f| f.out_of_sample.start)
}

/// The span of all out-of-sample windows.
pub fn out_of_sample_span(folds: &[Fold]) -> Range<usize> {
    let start = folds.first().map_or(0, |f| f.out_of_sample.start);
    start..folds.last().map_or(start, |f| f.out_of_sample.end)
}

/// `range` cut into `n` consecutive blocks of equal length (the remainder goes to the last),
/// fewer when blocks would be shorter than [`MIN_FOLD_BARS`]; at least one.
pub fn blocks(range: Range<usize>, n: usize) -> Vec<Range<usize>> {
    let len = range.end.saturating_sub(range.start);
    let n = n.min(len / MIN_FOLD_BARS).max(1);
    let size = len / n;
    (0..n)
        .map(|i| {
            let start = range.start + i * size;
            start..if i + 1 == n { range.end } else { start + size }
        })
        .collect()
}

/// SplitMix64: a tiny generator whose stream is fixed by this code, so a partition drawn today
/// is drawn the same by any later build (a certificate's verification depends on it).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Partition `run` of `span` into `n` consecutive windows with seeded random boundaries: each
/// window gets at least half of an equal share and the rest of the bars fall where uniformly
/// drawn cut points put them. The same `(span, n, seed, run)` always gives the same windows.
pub fn resample(span: Range<usize>, n: usize, seed: u64, run: u32) -> Vec<Range<usize>> {
    let len = span.end.saturating_sub(span.start);
    let n = n.max(1).min(len.max(1));
    let min_len = len / (2 * n);
    let free = len - n * min_len;
    let mut state = seed ^ u64::from(run).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut cuts: Vec<usize> = (0..n - 1)
        .map(|_| (splitmix(&mut state) % (free as u64 + 1)) as usize)
        .collect();
    cuts.sort_unstable();
    let mut start = span.start;
    let mut previous = 0;
    (0..n)
        .map(|i| {
            let extra_end = if i + 1 == n { free } else { cuts[i] };
            let end = start + min_len + (extra_end - previous);
            previous = extra_end;
            let window = start..end;
            start = end;
            window
        })
        .collect()
}

/// A setting out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ConfigError {
    /// The setting (as the API names it).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// How to evaluate.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Commission per fill, fraction of traded value (0..=0.1).
    pub commission: f64,
    /// Slippage per fill, fraction of price (0..=0.1).
    pub slippage: f64,
    /// Starting equity.
    pub initial_cash: f64,
    /// Walk-forward folds.
    pub folds: FoldSpec,
    /// How many times the signal computation is timed for `execution_time` (median; 1..=50).
    pub timing_repeats: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            commission: 0.002,
            slippage: 0.0,
            initial_cash: 10_000.0,
            folds: FoldSpec::default(),
            timing_repeats: 5,
        }
    }
}

impl EvalConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, message: &str| {
            Err(ConfigError {
                field: field.into(),
                message: message.into(),
            })
        };
        if !(0.0..=0.1).contains(&self.commission) {
            return bad("commission", "must be between 0 and 0.1");
        }
        if !(0.0..=0.1).contains(&self.slippage) {
            return bad("slippage", "must be between 0 and 0.1");
        }
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            return bad("initial_cash", "must be a positive number");
        }
        if !(1..=50).contains(&self.timing_repeats) {
            return bad("timing_repeats", "must be between 1 and 50");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_windows_tile_the_series_and_end_at_the_last_bar() {
        let spec = FoldSpec {
            n: 3,
            scheme: FoldScheme::Rolling,
            in_sample_ratio: 2.0,
        };
        let folds = spec.split(103).expect("valid");
        // oos = floor(103 / 5) = 20, first in-sample = 103 - 60 = 43.
        assert_eq!(
            folds,
            vec![
                Fold {
                    in_sample: 0..43,
                    out_of_sample: 43..63
                },
                Fold {
                    in_sample: 20..63,
                    out_of_sample: 63..83
                },
                Fold {
                    in_sample: 40..83,
                    out_of_sample: 83..103
                },
            ]
        );
    }

    #[test]
    fn anchored_windows_start_at_zero() {
        let spec = FoldSpec {
            scheme: FoldScheme::Anchored,
            ..FoldSpec::default()
        };
        let folds = spec.split(1000).expect("valid");
        assert_eq!(folds.len(), 4);
        assert!(folds.iter().all(|f| f.in_sample.start == 0));
        assert_eq!(folds[3].out_of_sample.end, 1000);
        assert!(
            folds
                .windows(2)
                .all(|w| w[0].out_of_sample.end == w[1].out_of_sample.start)
        );
    }

    #[test]
    fn the_search_span_ends_where_the_first_out_of_sample_window_starts() {
        let folds = FoldSpec::default().split(700).expect("valid");
        // oos = 100, first in-sample = 300.
        assert_eq!(search_span(&folds), 0..300);
        assert_eq!(out_of_sample_span(&folds), 300..700);
        assert_eq!(blocks(0..300, 4), vec![0..75, 75..150, 150..225, 225..300]);
        assert_eq!(blocks(0..303, 4).last(), Some(&(225..303)));
        assert_eq!(
            blocks(0..25, 4),
            vec![0..12, 12..25],
            "blocks of at least 10 bars"
        );
        assert_eq!(blocks(0..5, 4), vec![0..5]);
    }

    proptest::proptest! {
        #[test]
        fn resampled_windows_tile_the_span_and_repeat_for_a_seed(
            start in 0usize..1_000, len in 40usize..5_000, n in 1usize..8, seed: u64, run in 0u32..32,
        ) {
            let span = start..start + len;
            let w = resample(span.clone(), n, seed, run);
            proptest::prop_assert_eq!(w.len(), n);
            proptest::prop_assert_eq!(w[0].start, span.start);
            proptest::prop_assert_eq!(w[n - 1].end, span.end);
            for pair in w.windows(2) {
                proptest::prop_assert_eq!(pair[0].end, pair[1].start);
            }
            proptest::prop_assert!(w.iter().all(|r| r.len() >= len / (2 * n)));
            proptest::prop_assert_eq!(&w, &resample(span, n, seed, run));
        }
    }

    #[test]
    fn other_runs_draw_other_partitions() {
        let a = resample(300..700, 4, 7, 1);
        let b = resample(300..700, 4, 7, 2);
        let c = resample(300..700, 4, 8, 1);
        assert!(a != b && a != c, "{a:?} {b:?} {c:?}");
    }

    #[test]
    fn too_short_or_out_of_range_specs_name_the_field() {
        let e = FoldSpec::default().split(60).expect_err("too short");
        assert_eq!(e.field, "folds", "{e}");
        let e = FoldSpec {
            n: 0,
            ..FoldSpec::default()
        }
        .split(1000)
        .expect_err("n = 0");
        assert!(e.to_string().contains("between 1 and 50"), "{e}");
    }
}
