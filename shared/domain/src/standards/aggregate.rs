//! How the gate reads metrics over several folds: each metric's value over the folds, the
//! evidence floor, and the direction-aware relative change between two tools.
//!
//! - Trade-based metrics are pooled over the folds' trades: `success_rate` is all winning trades
//!   over all trades, `profit_factor` comes from the trade-weighted mean *profit share*
//!   `pf / (1 + pf)` (gross profit over gross profit and loss, bounded in [0, 1]), so a fold
//!   with one lucky trade and no loss (a profit factor at its cap) weighs one trade, not a
//!   thousand-fold ratio. Every other metric is the mean of the folds' values.
//! - Evidence: a tool has evidence in a fold when it closes at least `min_trades` trades there
//!   and is in the market at least `min_exposure` of its bars. A trade-based metric computed
//!   from fewer than `min_trades` trades per fold (pooled) on either side cannot count as an
//!   improvement: its change is capped at 0.

use crate::metrics::RATIO_CAP;
use crate::{Direction, Metric, Metrics};

use super::StandardsConfig;

/// Whether a metric is computed from the closed trades (and so needs trades to mean anything).
pub(crate) fn trade_based(metric: Metric) -> bool {
    matches!(metric, Metric::SuccessRate | Metric::ProfitFactor)
}

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

/// Closed trades over the folds.
pub(crate) fn trades(folds: &[Metrics]) -> f64 {
    folds.iter().map(|m| m.num_trades.max(0.0)).sum()
}

/// The value of `metric` over `folds` (see the module docs); NaN for no folds.
pub(crate) fn aggregate(folds: &[Metrics], metric: Metric) -> f64 {
    if folds.is_empty() {
        return f64::NAN;
    }
    let total = trades(folds);
    match metric {
        Metric::SuccessRate => {
            if total > 0.0 {
                folds
                    .iter()
                    .map(|m| m.success_rate * m.num_trades.max(0.0))
                    .sum::<f64>()
                    / total
            } else {
                0.0
            }
        }
        Metric::ProfitFactor => {
            if total <= 0.0 {
                return 0.0;
            }
            let share = folds
                .iter()
                .map(|m| profit_share(m.profit_factor) * m.num_trades.max(0.0))
                .sum::<f64>()
                / total;
            if share >= 1.0 {
                RATIO_CAP
            } else {
                (share / (1.0 - share)).min(RATIO_CAP)
            }
        }
        _ => folds.iter().map(|m| m.get(metric)).sum::<f64>() / folds.len() as f64,
    }
}

/// Gross profit over gross profit and loss, from a profit factor (NaN stays NaN).
fn profit_share(pf: f64) -> f64 {
    if pf.is_nan() {
        f64::NAN
    } else if pf <= 0.0 {
        0.0
    } else {
        pf / (1.0 + pf)
    }
}

/// Whether one fold's metrics carry enough evidence under `config`.
pub(crate) fn has_evidence(config: &StandardsConfig, m: &Metrics) -> bool {
    m.num_trades >= config.min_trades && m.exposure >= config.min_exposure
}

/// Whether pooled trades over `folds` reach the floor for trade-based metrics.
fn enough_trades(config: &StandardsConfig, folds: &[Metrics]) -> bool {
    trades(folds) >= config.min_trades * folds.len() as f64
}

/// The change of `metric` from `baseline` to `candidate` over their folds, evidence floor
/// applied; `None` when the folds do not match or a value is missing.
pub(crate) fn metric_change(
    config: &StandardsConfig,
    metric: Metric,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    if baseline.is_empty() || baseline.len() != candidate.len() {
        return None;
    }
    let change = relative_change(
        metric,
        aggregate(baseline, metric),
        aggregate(candidate, metric),
    )?;
    let thin = trade_based(metric)
        && !(enough_trades(config, baseline) && enough_trades(config, candidate));
    Some(if thin { change.min(0.0) } else { change })
}

/// Weighted mean change over the weighted metrics; `None` if any weighted metric is missing or
/// no metric has weight.
pub(crate) fn weighted_change(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    let (mut sum, mut total) = (0.0, 0.0);
    for (&metric, &w) in config.weights.iter().filter(|(_, w)| **w > 0.0) {
        sum += w * metric_change(config, metric, baseline, candidate)?;
        total += w;
    }
    (total > 0.0).then(|| sum / total)
}

/// Share of folds the candidate wins: both tools have evidence there and the candidate's
/// weighted change is positive. A fold where either lacks evidence counts against the
/// candidate. `None` when the folds do not match.
pub(crate) fn fold_win_share(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
) -> Option<f64> {
    win_share(config, baseline, candidate, true)
}

/// [`fold_win_share`] with the baseline's evidence only required when `strict`: a search
/// scores candidates against a baseline that may trade too little in its short blocks, which
/// would penalize every candidate alike and hide the better ones.
pub(crate) fn win_share(
    config: &StandardsConfig,
    baseline: &[Metrics],
    candidate: &[Metrics],
    strict: bool,
) -> Option<f64> {
    if baseline.is_empty() || baseline.len() != candidate.len() {
        return None;
    }
    let won = baseline
        .iter()
        .zip(candidate)
        .filter(|(b, c)| {
            (!strict || has_evidence(config, b))
                && has_evidence(config, c)
                && weighted_change(config, std::slice::from_ref(b), std::slice::from_ref(c))
                    .is_some_and(|v| v > 0.0)
        })
        .count();
    Some(won as f64 / baseline.len() as f64)
}

/// Share of folds in which the tool has evidence.
pub(crate) fn evidence_share(config: &StandardsConfig, folds: &[Metrics]) -> f64 {
    if folds.is_empty() {
        return 0.0;
    }
    folds.iter().filter(|m| has_evidence(config, m)).count() as f64 / folds.len() as f64
}

/// Mean exposure over the folds.
pub(crate) fn mean_exposure(folds: &[Metrics]) -> f64 {
    aggregate(folds, Metric::Exposure)
}
