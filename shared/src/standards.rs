//! The standards gate: whether a candidate parameter set is better enough than the baseline to
//! become a permanent tool version. A pure function of the two tools' out-of-sample metrics per
//! fold and a configuration; it returns a report with every check, its value, its threshold and
//! its verdict.
//!
//! Relative change of a metric, direction-aware: `(candidate - baseline) / |baseline|` when
//! higher is better, `(baseline - candidate) / |baseline|` when lower is better, so a positive
//! change is always an improvement and a negative baseline is handled (-0.10 -> -0.05 in a
//! return is +50%). A zero baseline gives +100% (or -100%) for any move away from zero in the
//! good (bad) direction and 0 for a tie. Changes are clamped to +-100% so one metric cannot
//! carry the verdict. The overall value of a metric is its mean over the out-of-sample folds.
//! A noisy metric (one with a measured spread, e.g. `execution_time`) whose change stays within
//! its spread counts as unchanged (0) in the overall improvement and the fold wins, so timing
//! noise can neither carry nor sink a verdict, and the same inputs give the same improvement.
//!
//! Checks:
//! - `overall_improvement`: the weighted mean of the per-metric changes >= `min_improvement`;
//! - `required:<metric>`: each required metric improves (strictly; a noisy metric beyond its
//!   measured spread);
//! - `no_regression:<metric>`: no weighted metric falls by more than `max_regression` (a noisy
//!   one: by more than `max_regression` plus its spread);
//! - `stability`: the candidate beats the baseline (weighted mean change > 0) on at least
//!   `min_fold_win_share` of the folds.
//!
//! A metric missing (NaN or infinite) on either side fails every check that needs it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Direction, Metric, Metrics};

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
            min_fold_win_share: 2.0 / 3.0,
            weights,
        }
    }
}

impl StandardsConfig {
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
    /// `overall_improvement`, `required:<metric>`, `no_regression:<metric>` or `stability`.
    pub name: String,
    /// The measured value (`None` when a metric is missing).
    pub value: Option<f64>,
    /// What it is compared with.
    pub threshold: f64,
    /// The verdict.
    pub passed: bool,
}

/// The gate's verdict with every check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StandardsReport {
    /// Every check passed.
    pub passed: bool,
    /// The overall improvement (fraction), `None` when it cannot be computed.
    pub improvement: Option<f64>,
    /// Every check in order.
    pub checks: Vec<Check>,
}

/// Measured relative spread of noisy metrics (e.g. `execution_time`: (max - min) / median of
/// its repeats, the larger of the two sides').
pub type Noise = BTreeMap<Metric, f64>;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Direction-aware relative change, clamped to [-1, 1]; `None` when either side is missing.
pub fn relative_change(metric: Metric, baseline: f64, candidate: f64) -> Option<f64> {
    let (b, c) = (finite(baseline)?, finite(candidate)?);
    let delta = match metric.direction() {
        Direction::Higher => c - b,
        Direction::Lower => b - c,
    };
    let change = if b == 0.0 {
        if delta > 0.0 {
            1.0
        } else if delta < 0.0 {
            -1.0
        } else {
            0.0
        }
    } else {
        delta / b.abs()
    };
    Some(change.clamp(-1.0, 1.0))
}

fn mean_metrics(folds: &[Metrics], metric: Metric) -> f64 {
    if folds.is_empty() {
        return f64::NAN;
    }
    folds.iter().map(|m| m.get(metric)).sum::<f64>() / folds.len() as f64
}

/// A noisy metric's change counts only beyond its spread.
fn denoised(change: f64, spread: f64) -> f64 {
    if change.abs() <= spread { 0.0 } else { change }
}

fn spread_of(noise: &Noise, metric: Metric) -> f64 {
    noise.get(&metric).copied().unwrap_or(0.0).max(0.0)
}

/// Weighted mean change over the weighted metrics; `None` if any weighted metric is missing or
/// no metric has weight.
fn weighted_change(
    config: &StandardsConfig,
    change: impl Fn(Metric) -> Option<f64>,
) -> Option<f64> {
    let (mut sum, mut total) = (0.0, 0.0);
    for (&metric, &w) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        sum += w * change(metric)?;
        total += w;
    }
    (total > 0.0).then(|| sum / total)
}

/// The overall improvement of `candidate` over `baseline` (out-of-sample or in-sample metrics
/// per fold, the same folds in the same order): the weighted mean of the per-metric changes of
/// the fold means. What the gate's `overall_improvement` check reads, and what an optimizer
/// maximizes on in-sample folds. `None` when the folds do not match or a weighted metric is
/// missing.
pub fn overall_change(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    overall_change_with_noise(config, baseline, candidate, &Noise::new())
}

/// [`overall_change`] where each noisy metric's change counts only beyond its spread (what
/// the gate's `overall_improvement` check reads).
pub fn overall_change_with_noise(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
    noise: &Noise,
) -> Option<f64> {
    if baseline.is_empty() || baseline.len() != candidate.len() {
        return None;
    }
    weighted_change(config, |m| {
        relative_change(m, mean_metrics(baseline, m), mean_metrics(candidate, m))
            .map(|c| denoised(c, spread_of(noise, m)))
    })
}

/// The optimizer's objective (higher is better): the overall improvement of `candidate` over
/// `baseline` (in-sample metrics per fold), minus what the gate would hold against it: each
/// required metric's fall, each weighted metric's fall beyond `max_regression`, and the share
/// of folds short of `min_fold_win_share`. Maximizing the plain mean would happily trade a
/// required metric for the others (a tool that never trades "improves" every loss-making
/// metric of a losing baseline while its success rate drops to 0); the penalties steer the
/// search toward parameters the gate can accept. `None` when [`overall_change`] is `None`.
pub fn gate_score(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    let overall = overall_change(config, baseline, candidate)?;
    let change = |m: Metric| {
        relative_change(m, mean_metrics(baseline, m), mean_metrics(candidate, m)).unwrap_or(-1.0)
    };
    let mut penalty = 0.0;
    for &metric in &config.required {
        penalty += (-change(metric)).max(0.0);
    }
    for (&metric, _) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        penalty += (-change(metric) - config.max_regression).max(0.0);
    }
    let won = baseline
        .iter()
        .zip(candidate)
        .filter(|(b, c)| {
            weighted_change(config, |m| relative_change(m, b.get(m), c.get(m)))
                .is_some_and(|v| v > 0.0)
        })
        .count();
    let share = won as f64 / baseline.len() as f64;
    penalty += (config.min_fold_win_share - share).max(0.0);
    Some(overall - penalty)
}

/// Judges `candidate` against `baseline`, both given as out-of-sample metrics per fold (the same
/// folds in the same order).
pub fn judge(
    baseline: &[Metrics],
    candidate: &[Metrics],
    noise: &Noise,
    config: &StandardsConfig,
) -> StandardsReport {
    let folds_match = !baseline.is_empty() && baseline.len() == candidate.len();
    let overall = |metric: Metric| {
        if !folds_match {
            return None;
        }
        relative_change(
            metric,
            mean_metrics(baseline, metric),
            mean_metrics(candidate, metric),
        )
    };
    let mut checks = Vec::new();
    let improvement = overall_change_with_noise(config, baseline, candidate, noise);
    checks.push(Check {
        name: "overall_improvement".into(),
        value: improvement,
        threshold: config.min_improvement,
        passed: improvement.is_some_and(|v| v >= config.min_improvement),
    });
    for &metric in &config.required {
        let spread = spread_of(noise, metric);
        let value = overall(metric);
        checks.push(Check {
            name: format!("required:{}", metric.name()),
            value,
            threshold: spread,
            passed: value.is_some_and(|v| v > spread),
        });
    }
    for (&metric, _) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        let spread = spread_of(noise, metric);
        let threshold = -(config.max_regression + spread);
        let value = overall(metric);
        checks.push(Check {
            name: format!("no_regression:{}", metric.name()),
            value,
            threshold,
            passed: value.is_some_and(|v| v >= threshold),
        });
    }
    let wins = folds_match.then(|| {
        let won = baseline
            .iter()
            .zip(candidate)
            .filter(|(b, c)| {
                weighted_change(config, |m| {
                    relative_change(m, b.get(m), c.get(m)).map(|x| denoised(x, spread_of(noise, m)))
                })
                .is_some_and(|v| v > 0.0)
            })
            .count();
        won as f64 / baseline.len() as f64
    });
    checks.push(Check {
        name: "stability".into(),
        value: wins,
        threshold: config.min_fold_win_share,
        // A small epsilon so that exactly two folds of three pass a two-thirds threshold.
        passed: wins.is_some_and(|v| v + 1e-12 >= config.min_fold_win_share),
    });
    StandardsReport {
        passed: checks.iter().all(|c| c.passed),
        improvement,
        checks,
    }
}

#[cfg(test)]
mod tests;
