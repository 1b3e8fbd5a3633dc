//! The standards gate: whether a candidate parameter set is better enough than the baseline to
//! become a permanent tool version. A pure function of the evidence (both tools' out-of-sample
//! metrics per fold, the same comparison over resampled partitions of those bars, and the
//! search's trials) and a configuration; it returns a report with every check, its value, its
//! threshold and its verdict, and the evidence behind them.
//!
//! Relative change of a metric, direction-aware: `(candidate - baseline) / |baseline|` when
//! higher is better, `(baseline - candidate) / |baseline|` when lower is better, so a positive
//! change is always an improvement and a negative baseline is handled (-0.10 -> -0.05 in a
//! return is +50%). A zero baseline gives +100% (or -100%) for any move away from zero in the
//! good (bad) direction and 0 for a tie. Changes are clamped to +-100% so one metric cannot
//! carry the verdict. How a metric is read over several folds (pooled trades for the
//! trade-based ones) and the evidence floor are in the `aggregate` module.
//!
//! Checks, in report order:
//! - `overall_improvement`: the weighted mean of the per-metric changes >= `min_improvement`;
//! - `required:<metric>`: each required metric improves. A cost (`execution_time`, a
//!   deterministic model of the signal computation's work) that is exactly the same on both
//!   sides is reported as unchanged and passes: the parameters changed no work;
//! - `no_regression:<metric>`: no weighted metric falls by more than `max_regression`;
//! - `evidence:trades`: the candidate closes at least `min_trades` trades per fold on average;
//! - `evidence:exposure`: it is in the market at least `min_exposure` of the bars on average;
//! - `stability`: the candidate wins at least `min_fold_win_share` of the folds, where a fold is
//!   won when both tools have evidence there (trades and exposure) and the candidate's weighted
//!   change is positive, so a fold where either trades too little counts against it;
//! - `stability:runs`: the comparison is run again on other partitions of the same
//!   out-of-sample bars (seeded, shown in `runs`); at least `min_run_share` of the runs must
//!   pass the overall improvement and the fold-win share;
//! - `deflated_sharpe`: the Deflated Sharpe Ratio (see [`dsr`]) of the improvement: of the
//!   selected trial's excess returns over the baseline in the search span (its information
//!   ratio), given the number of trials the search ran and the spread of their information
//!   ratios, is at least `min_deflated_sharpe`: the improvement is larger than the best of that
//!   many trials would show by luck. The candidate's own deflated Sharpe ratio (of its returns,
//!   against the trials' Sharpe ratios) is reported beside it.
//!
//! A metric missing (NaN or infinite) on either side fails every check that needs it.

mod aggregate;
pub mod dsr;
mod redact;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Metric, Metrics};

pub use aggregate::relative_change;
use aggregate::{
    evidence_share, fold_win_share, mean_exposure, metric_change, trades, weighted_change,
    win_share,
};
pub use dsr::{DeflatedSharpe, Selection, deflated_sharpe};

/// The gate's thresholds, configurable per tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StandardsConfig {
    /// Smallest overall improvement (fraction; 0.15 = 15%).
    pub min_improvement: f64,
    /// Metrics that must improve.
    pub required: Vec<Metric>,
    /// Largest allowed fall of any weighted metric (fraction; 0.02 = 2%).
    pub max_regression: f64,
    /// Smallest share of out-of-sample folds the candidate must win.
    pub min_fold_win_share: f64,
    /// Weight of each metric in the overall improvement; metrics absent or at 0 are not judged
    /// (except when required).
    pub weights: BTreeMap<Metric, f64>,
    /// Fewest closed trades in a fold for the fold to count as evidence (and, pooled over the
    /// folds, for a trade-based metric to count as improved).
    pub min_trades: f64,
    /// Smallest share of a fold's bars in the market for the fold to count as evidence.
    pub min_exposure: f64,
    /// Smallest Deflated Sharpe Ratio of the selected trial (0 turns the check off).
    pub min_deflated_sharpe: f64,
    /// How many partitions of the out-of-sample bars the comparison runs on (the session's
    /// folds first, then seeded resamples).
    pub stability_runs: u32,
    /// Smallest share of those runs that must pass.
    pub min_run_share: f64,
}

impl Default for StandardsConfig {
    fn default() -> Self {
        let weights = [
            (Metric::SuccessRate, 1.0),
            (Metric::ExecutionTime, 1.0),
            (Metric::TotalReturn, 1.0),
            (Metric::Cagr, 1.0),
            (Metric::Sharpe, 1.0),
            (Metric::Sortino, 1.0),
            (Metric::MaxDrawdown, 1.0),
            (Metric::ProfitFactor, 1.0),
        ]
        .into_iter()
        .collect();
        Self {
            min_improvement: 0.15,
            required: vec![Metric::SuccessRate, Metric::ExecutionTime],
            max_regression: 0.02,
            min_fold_win_share: 0.5,
            weights,
            min_trades: 3.0,
            min_exposure: 0.05,
            min_deflated_sharpe: 0.5,
            stability_runs: 8,
            min_run_share: 0.75,
        }
    }
}

impl StandardsConfig {
    /// Most stability runs.
    pub const MAX_STABILITY_RUNS: u32 = 32;

    /// Checks the thresholds and weights; each problem is `(field, message)` with the field
    /// named as in the configuration object.
    ///
    /// # Errors
    /// Every problem found.
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut range = |field: &str, v: f64, lo: f64, hi: f64| {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                errors.push((field.to_owned(), format!("must be between {lo} and {hi}")));
            }
        };
        range("min_improvement", self.min_improvement, -1.0, 1.0);
        range("max_regression", self.max_regression, 0.0, 1.0);
        range("min_fold_win_share", self.min_fold_win_share, 0.0, 1.0);
        range("min_trades", self.min_trades, 0.0, 10_000.0);
        range("min_exposure", self.min_exposure, 0.0, 1.0);
        range("min_deflated_sharpe", self.min_deflated_sharpe, 0.0, 1.0);
        range(
            "stability_runs",
            f64::from(self.stability_runs),
            1.0,
            f64::from(Self::MAX_STABILITY_RUNS),
        );
        range("min_run_share", self.min_run_share, 0.0, 1.0);
        for (metric, w) in &self.weights {
            if !(w.is_finite() && *w >= 0.0 && *w <= 1_000.0) {
                errors.push((
                    format!("weights.{}", metric.name()),
                    "must be between 0 and 1000".into(),
                ));
            }
        }
        if !self.weights.values().any(|w| *w > 0.0) {
            errors.push((
                "weights".into(),
                "at least one metric needs a weight".into(),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// One check of the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// `overall_improvement`, `required:<metric>`, `no_regression:<metric>`,
    /// `evidence:trades`, `evidence:exposure`, `stability`, `stability:runs` or
    /// `deflated_sharpe`.
    pub name: String,
    /// The measured value (`None` when it cannot be computed).
    pub value: Option<f64>,
    /// What it is compared with.
    pub threshold: f64,
    /// The verdict.
    pub passed: bool,
    /// Why the verdict reads as it does, when the numbers alone do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, value: Option<f64>, threshold: f64, passed: bool) -> Self {
        Self {
            name: name.into(),
            value,
            threshold,
            passed,
            note: None,
        }
    }

    fn noted(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Both tools' evidence in one out-of-sample fold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FoldEvidence {
    /// Fold number from 0.
    pub fold: usize,
    /// The baseline's closed trades.
    pub trades_before: f64,
    /// The candidate's closed trades.
    pub trades_after: f64,
    /// The baseline's share of bars in the market.
    pub exposure_before: f64,
    /// The candidate's share of bars in the market.
    pub exposure_after: f64,
    /// Both have evidence and the candidate's weighted change is positive.
    pub won: bool,
}

/// The same comparison over another partition of the out-of-sample bars.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Run {
    /// The partition's windows as `[start, end)` bar indices.
    pub windows: Vec<[usize; 2]>,
    /// The baseline's metrics per window.
    pub baseline: Vec<Metrics>,
    /// The candidate's metrics per window.
    pub candidate: Vec<Metrics>,
}

/// One run's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunReport {
    /// Run number from 0 (0: the session's own folds).
    pub run: usize,
    /// Its windows as `[start, end)` bar indices.
    pub windows: Vec<[usize; 2]>,
    /// Overall improvement over its windows.
    pub improvement: Option<f64>,
    /// Share of its windows the candidate wins.
    pub fold_win_share: Option<f64>,
    /// Both reach their thresholds.
    pub passed: bool,
}

/// The gate's verdict with every check and the evidence behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StandardsReport {
    /// Every check passed.
    pub passed: bool,
    /// The overall improvement (fraction), `None` when it cannot be computed.
    pub improvement: Option<f64>,
    /// Every check in order.
    pub checks: Vec<Check>,
    /// Trades and exposure of both tools per out-of-sample fold.
    #[serde(default)]
    pub evidence: Vec<FoldEvidence>,
    /// Every stability run.
    #[serde(default)]
    pub runs: Vec<RunReport>,
    /// The Deflated Sharpe Ratio of the improvement (excess returns over the baseline) and its
    /// inputs, when the candidate came from a search.
    #[serde(default)]
    pub deflated_sharpe: Option<DeflatedSharpe>,
    /// The candidate's own Deflated Sharpe Ratio (of its returns), for information.
    #[serde(default)]
    pub deflated_sharpe_absolute: Option<DeflatedSharpe>,
}

/// What the gate judges.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// The baseline's out-of-sample metrics per fold.
    pub baseline: &'a [Metrics],
    /// The candidate's, on the same folds in the same order.
    pub candidate: &'a [Metrics],
    /// Those folds as `[start, end)` bar indices (run 0 of the report).
    pub windows: &'a [[usize; 2]],
    /// Other partitions of the same bars (the session's folds are run 0 and need not be
    /// repeated here).
    pub runs: &'a [Run],
    /// The search that selected the candidate: its excess returns over the baseline (checked).
    pub selection: Option<&'a Selection>,
    /// The same search, the candidate's own returns (reported).
    pub absolute: Option<&'a Selection>,
}

/// The overall improvement of `candidate` over `baseline` (metrics per fold, the same folds in
/// the same order): the weighted mean of the per-metric changes, evidence floor applied. What
/// the gate's `overall_improvement` check reads. `None` when the folds do not match or a
/// weighted metric is missing.
pub fn overall_change(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    weighted_change(config, baseline, candidate)
}

/// The optimizer's objective (higher is better): the overall improvement of `candidate` over
/// `baseline` (in-sample metrics per block), minus what the gate would hold against it: each
/// required metric's fall, each weighted metric's fall beyond `max_regression`, the share of
/// blocks short of `min_fold_win_share` (a block won where the candidate has evidence and
/// improves: the baseline's own evidence is the judgment's concern, and a baseline that trades
/// little in short blocks would otherwise penalize every candidate alike), and the share of
/// blocks where the candidate has no evidence (too few trades or too little time in the market). Maximizing the plain mean would
/// happily trade a required metric for the others, or settle on a tool that trades once and
/// wins; the penalties steer the search toward parameters the gate can accept. `None` when
/// [`overall_change`] is `None`.
pub fn gate_score(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    let overall = overall_change(config, baseline, candidate)?;
    let change = |m: Metric| metric_change(config, m, baseline, candidate).unwrap_or(-1.0);
    let mut penalty = 0.0;
    for &metric in &config.required {
        penalty += (-change(metric)).max(0.0);
    }
    for (&metric, _) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        penalty += (-change(metric) - config.max_regression).max(0.0);
    }
    let share = win_share(config, baseline, candidate, false).unwrap_or(0.0);
    penalty += (config.min_fold_win_share - share).max(0.0);
    penalty += 1.0 - evidence_share(config, candidate);
    Some(overall - penalty)
}

/// One run's improvement and fold-win share, and whether both reach their thresholds.
fn run_verdict(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> (Option<f64>, Option<f64>, bool) {
    let improvement = overall_change(config, baseline, candidate);
    let share = fold_win_share(config, baseline, candidate);
    let passed = improvement.is_some_and(|v| v >= config.min_improvement)
        && share.is_some_and(|v| v + 1e-12 >= config.min_fold_win_share);
    (improvement, share, passed)
}

/// Judges the candidate on the evidence.
pub fn judge(evidence: &Evidence<'_>, config: &StandardsConfig) -> StandardsReport {
    let (baseline, candidate) = (evidence.baseline, evidence.candidate);
    let folds_match = !baseline.is_empty() && baseline.len() == candidate.len();
    let mut checks = Vec::new();
    let improvement = overall_change(config, baseline, candidate);
    checks.push(Check::new(
        "overall_improvement",
        improvement,
        config.min_improvement,
        improvement.is_some_and(|v| v >= config.min_improvement),
    ));
    for &metric in &config.required {
        let value = metric_change(config, metric, baseline, candidate);
        let unchanged_cost = metric.is_cost()
            && folds_match
            && baseline
                .iter()
                .zip(candidate)
                .all(|(b, c)| b.get(metric) == c.get(metric));
        let check = Check::new(
            format!("required:{}", metric.name()),
            value,
            0.0,
            value.is_some_and(|v| v > 0.0) || unchanged_cost,
        );
        checks.push(if unchanged_cost {
            check.noted(format!(
                "unchanged: both parameter sets cost the same work per bar ({:.4} ms per 1,000 bars, modeled)",
                baseline[0].get(metric)
            ))
        } else {
            check
        });
    }
    for (&metric, _) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        let value = metric_change(config, metric, baseline, candidate);
        let threshold = -config.max_regression;
        checks.push(Check::new(
            format!("no_regression:{}", metric.name()),
            value,
            threshold,
            value.is_some_and(|v| v >= threshold),
        ));
    }
    let folds = candidate.len().max(1) as f64;
    let per_fold = folds_match.then(|| trades(candidate) / folds);
    checks.push(
        Check::new(
            "evidence:trades",
            per_fold,
            config.min_trades,
            per_fold.is_some_and(|v| v >= config.min_trades),
        )
        .noted("closed trades per out-of-sample fold, on average"),
    );
    let exposure = folds_match.then(|| mean_exposure(candidate));
    checks.push(
        Check::new(
            "evidence:exposure",
            exposure,
            config.min_exposure,
            exposure.is_some_and(|v| v >= config.min_exposure),
        )
        .noted("share of out-of-sample bars in the market, on average"),
    );
    let (_, wins, _) = run_verdict(config, baseline, candidate);
    checks.push(Check::new(
        "stability",
        wins,
        config.min_fold_win_share,
        // A small epsilon so that exactly two folds of three pass a two-thirds threshold.
        wins.is_some_and(|v| v + 1e-12 >= config.min_fold_win_share),
    ));
    let runs = run_reports(config, evidence);
    let run_share = runs.iter().filter(|r| r.passed).count() as f64 / runs.len() as f64;
    checks.push(
        Check::new(
            "stability:runs",
            Some(run_share),
            config.min_run_share,
            run_share + 1e-12 >= config.min_run_share,
        )
        .noted(format!(
            "{} of {} partitions of the out-of-sample bars pass",
            runs.iter().filter(|r| r.passed).count(),
            runs.len()
        )),
    );
    let deflated = evidence.selection.map(deflated_sharpe);
    if let Some(d) = &deflated {
        checks.push(
            Check::new(
                "deflated_sharpe",
                d.value,
                config.min_deflated_sharpe,
                config.min_deflated_sharpe <= 0.0
                    || d.value.is_some_and(|v| v >= config.min_deflated_sharpe),
            )
            .noted(format!(
                "the improvement's information ratio in the search span against the best of {} trials by luck",
                d.selection.trials
            )),
        );
    }
    let fold_evidence = if folds_match {
        baseline
            .iter()
            .zip(candidate)
            .enumerate()
            .map(|(fold, (b, c))| FoldEvidence {
                fold,
                trades_before: b.num_trades,
                trades_after: c.num_trades,
                exposure_before: b.exposure,
                exposure_after: c.exposure,
                won: fold_win_share(config, std::slice::from_ref(b), std::slice::from_ref(c))
                    .is_some_and(|v| v > 0.0),
            })
            .collect()
    } else {
        Vec::new()
    };
    StandardsReport {
        passed: checks.iter().all(|c| c.passed),
        improvement,
        checks,
        evidence: fold_evidence,
        runs,
        deflated_sharpe: deflated,
        deflated_sharpe_absolute: evidence.absolute.map(deflated_sharpe),
    }
}

/// Run 0 (the session's folds) and every other partition.
fn run_reports(config: &StandardsConfig, evidence: &Evidence<'_>) -> Vec<RunReport> {
    let (improvement, share, passed) = run_verdict(config, evidence.baseline, evidence.candidate);
    std::iter::once(RunReport {
        run: 0,
        windows: evidence.windows.to_vec(),
        improvement,
        fold_win_share: share,
        passed,
    })
    .chain(evidence.runs.iter().enumerate().map(|(i, run)| {
        let (improvement, share, passed) = run_verdict(config, &run.baseline, &run.candidate);
        RunReport {
            run: i + 1,
            windows: run.windows.clone(),
            improvement,
            fold_win_share: share,
            passed,
        }
    }))
    .collect()
}

#[cfg(test)]
mod tests;
