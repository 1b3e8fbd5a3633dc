//! A/B tests of tool versions: what a creator asks for ([`AbTestSettings`]) and what the
//! `ab_test` job answers ([`AbTestResult`]). Both versions are evaluated on the same datasets
//! and the same walk-forward folds; their per-bar out-of-sample returns are paired bar by bar,
//! and the differences are tested with a circular block bootstrap (the computation is the
//! worker's `compute::ab_test`; the contract lives here, where the API and the worker both
//! see it). [`renters`] aggregates what renters' sessions recorded of either version.

pub mod renters;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::evaluation::{ConfigError, EvalConfig};

pub use renters::{
    MIN_RENTERS, RenterComparison, RenterRecord, Summary, VersionAggregate, VersionRenters,
    compare_renters,
};

/// Most datasets in one A/B test.
pub const MAX_DATASETS: usize = 10;
/// Fewest bootstrap resamples.
pub const MIN_RESAMPLES: usize = 100;
/// Most bootstrap resamples.
pub const MAX_RESAMPLES: usize = 20_000;

/// The name of the test, as every result states it.
pub const TEST_NAME: &str = "circular block bootstrap (Politis & Romano 1992) of the paired \
    per-bar return differences, centered, two-sided, percentile confidence intervals";

/// The block length rule, as every result states it.
pub const BLOCK_LENGTH_RULE: &str = "ceil(n^(1/3)) for n paired bars (the order that minimizes \
    the error of block bootstrap variance estimates, Hall, Horowitz & Jing 1995), unless set";

/// How the significance test runs.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AbTestSettings {
    /// Significance level of the verdict (0.001..=0.5; 0.05).
    pub alpha: f64,
    /// Bootstrap resamples (100..=20,000; 2,000).
    pub resamples: usize,
    /// Block length in bars (default: the rule, `ceil(n^(1/3))`); at most the paired bars.
    pub block_length: Option<usize>,
    /// Seed of the resampling (0..=2^53; 42): the same seed and inputs give the same result.
    pub seed: u64,
}

impl Default for AbTestSettings {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            resamples: 2_000,
            block_length: None,
            seed: 42,
        }
    }
}

impl AbTestSettings {
    /// Checks every setting's range.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: &str| ConfigError {
            field: field.into(),
            message: message.into(),
        };
        if !(0.001..=0.5).contains(&self.alpha) {
            return Err(invalid("alpha", "must be between 0.001 and 0.5"));
        }
        if !(MIN_RESAMPLES..=MAX_RESAMPLES).contains(&self.resamples) {
            return Err(invalid("resamples", "must be between 100 and 20000"));
        }
        if self.block_length == Some(0) {
            return Err(invalid("block_length", "must be at least 1"));
        }
        if self.seed > 1 << 53 {
            return Err(invalid("seed", "must be between 0 and 2^53"));
        }
        Ok(())
    }
}

/// A statistic of each version, their difference (B minus A) and the test of that difference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiffStat {
    /// Version A's value.
    pub a: f64,
    /// Version B's value.
    pub b: f64,
    /// `b - a`.
    pub difference: f64,
    /// Lower bound of the percentile confidence interval of the difference (level `1 - alpha`).
    pub ci_low: f64,
    /// Upper bound of that interval.
    pub ci_high: f64,
    /// Two-sided p-value of "no difference": the share of centered bootstrap differences at
    /// least as far from zero as the observed one, `(1 + count) / (1 + resamples)`.
    pub p_value: f64,
    /// `p_value < alpha`.
    pub significant: bool,
}

/// What the test concludes, from the Sharpe ratio difference at the chosen alpha.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// B's Sharpe ratio is significantly higher.
    BBetter,
    /// A's Sharpe ratio is significantly higher.
    ABetter,
    /// The difference is not significant.
    NoSignificantDifference,
}

/// How the test ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestInfo {
    /// The test, named ([`TEST_NAME`]).
    pub name: String,
    /// Block length used, in bars.
    pub block_length: usize,
    /// How it was chosen ([`BLOCK_LENGTH_RULE`], or "set by the request").
    pub block_length_rule: String,
    /// Resamples drawn.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// Significance level.
    pub alpha: f64,
}

/// One out-of-sample period (a fold of a dataset) with both versions' returns over it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PeriodPair {
    /// The dataset.
    pub dataset_id: Uuid,
    /// The fold (0-based).
    pub fold: usize,
    /// First bar's time, Unix seconds.
    pub start: i64,
    /// Last bar's time, Unix seconds.
    pub end: i64,
    /// Bars paired.
    pub bars: usize,
    /// Version A's compounded return over the period (traded from flat, closed at its end).
    pub return_a: f64,
    /// Version B's.
    pub return_b: f64,
    /// `return_b - return_a`.
    pub difference: f64,
}

/// A point of the paired cumulative returns over all paired bars in order (datasets, then
/// folds, then bars).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CumulativePoint {
    /// Index of the paired bar.
    pub index: usize,
    /// Version A's compounded return up to it.
    pub a: f64,
    /// Version B's.
    pub b: f64,
}

/// Result of an `ab_test` job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AbTestResult {
    /// The tool.
    pub tool_id: Uuid,
    /// The control.
    pub version_a: i32,
    /// The treatment.
    pub version_b: i32,
    /// The datasets, in the order their bars are paired.
    pub dataset_ids: Vec<Uuid>,
    /// Engine settings both versions ran with.
    pub config: EvalConfig,
    /// Paired out-of-sample bars.
    pub bars: usize,
    /// Bars per year the Sharpe ratios are annualized with (the median of the datasets').
    pub periods_per_year: f64,
    /// Per-period paired returns.
    pub periods: Vec<PeriodPair>,
    /// Mean per-bar return of each version and the test of their difference.
    pub mean_return: DiffStat,
    /// Annualized Sharpe ratio of each version's paired bars and the test of their difference.
    pub sharpe: DiffStat,
    /// How the test ran.
    pub test: TestInfo,
    /// The conclusion at `test.alpha` (from the Sharpe ratio difference).
    pub verdict: Verdict,
    /// Paired cumulative returns, thinned to at most 500 points (the last always included).
    pub cumulative: Vec<CumulativePoint>,
}
