//! Optimizing a tool's parameters for one dataset, honestly: the search reads only the bars
//! before the first out-of-sample window (the *search span*, cut into as many blocks as there
//! are folds) and maximizes the gate's own measure there (the overall improvement over the
//! baseline less the gate's penalties, evidence floors included; see [`gate_score`]); the winner
//! is then judged against the baseline by the gate on the out-of-sample windows, which the
//! search never read, on seeded re-partitions of them, and with the deflated Sharpe ratio of
//! the search. Pure: bars in, outcome out.

use std::ops::Range;

use domain::dataset::Bars;
use domain::evaluation::{EvalConfig, Fold, blocks, out_of_sample_span, resample, search_span};
use domain::standards::dsr::moments;
use domain::standards::{
    Evidence, Run, Selection, StandardsConfig, StandardsReport, gate_score, judge,
};
use domain::{Metrics, OptimizationTrial, TrialStats};
use serde_json::{Map, Value};

use super::{Space, StudyConfig, Trial, run_study_with};
use crate::Stop;
use crate::engine::{EngineError, Evaluator, Position, Prepared, Strategy};

/// What an optimization found and what the gate said.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOptimization {
    /// The baseline's parameters (defaults filled in).
    pub params_before: Map<String, Value>,
    /// The best trial's parameters (the baseline's when no trial beat it in the search span).
    pub params_after: Map<String, Value>,
    /// Trials evaluated.
    pub trials_run: u64,
    /// The best trial's score in the search span ([`gate_score`]).
    pub best_in_sample: f64,
    /// Best score after each trial.
    pub best_curve: Vec<f64>,
    /// Every trial: parameters, score, metrics per block of the search span.
    pub trials: Vec<OptimizationTrial>,
    /// How many trials ran and how their Sharpe ratios spread (the deflated Sharpe ratio's
    /// inputs besides the winner's own returns).
    pub trial_stats: TrialStats,
    /// The bars the search read.
    pub search_span: Range<usize>,
    /// Out-of-sample metrics per fold of the baseline.
    pub before: Vec<Metrics>,
    /// Out-of-sample metrics per fold of the winner.
    pub after: Vec<Metrics>,
    /// The gate's verdict.
    pub report: StandardsReport,
}

/// What every parameter search maximizes: the gate's score ([`gate_score`]) of a candidate over
/// the baseline on fixed ranges of one series (a session's search blocks, a training split's
/// folds), both evaluated with the same prepared artifact.
pub(crate) struct GateObjective<'a> {
    bars: &'a Bars,
    family: &'a str,
    model: Option<&'a Prepared>,
    eval: EvalConfig,
    standards: &'a StandardsConfig,
    ranges: Vec<Range<usize>>,
    baseline: Vec<Metrics>,
    baseline_targets: Vec<Position>,
}

/// One trial as the objective saw it.
pub(crate) struct Scored {
    /// [`gate_score`], NaN when the parameters cannot be evaluated.
    pub(crate) score: f64,
    /// Metrics per range (empty then).
    pub(crate) metrics: Vec<Metrics>,
    /// Per-bar information ratio against the baseline over the ranges.
    pub(crate) information_ratio: Option<f64>,
}

impl<'a> GateObjective<'a> {
    /// The objective against `baseline` on `ranges`.
    ///
    /// # Errors
    /// [`EngineError`] for bad settings or a series too short for the baseline.
    pub(crate) fn new(
        bars: &'a Bars,
        family: &'a str,
        baseline: &Strategy,
        model: Option<&'a Prepared>,
        eval: EvalConfig,
        standards: &'a StandardsConfig,
        ranges: Vec<Range<usize>>,
    ) -> Result<Self, EngineError> {
        let mut evaluator = Evaluator::new(bars, eval)?.with_model(model);
        let baseline_metrics = evaluator.metrics(baseline, &ranges)?;
        let baseline_targets = evaluator.targets(baseline)?;
        Ok(Self {
            bars,
            family,
            model,
            eval,
            standards,
            ranges,
            baseline: baseline_metrics,
            baseline_targets,
        })
    }

    /// How `params` score (NaN when they cannot be evaluated: the worst), with what the score
    /// came from.
    pub(crate) fn score_with_metrics(&self, params: &Map<String, Value>) -> Scored {
        let seen = Strategy::from_params(self.family, params)
            .ok()
            .and_then(|strategy| {
                Evaluator::new(self.bars, self.eval)
                    .ok()?
                    .with_model(self.model)
                    .metrics_and_excess(&strategy, &self.ranges, &self.baseline_targets)
                    .ok()
            });
        let (metrics, excess) = seen.unwrap_or_default();
        Scored {
            score: gate_score(self.standards, &self.baseline, &metrics).unwrap_or(f64::NAN),
            metrics,
            information_ratio: excess.ratio(),
        }
    }

    /// The score of `params` (NaN when they cannot be evaluated: the worst).
    pub(crate) fn score(&self, params: &Map<String, Value>) -> f64 {
        self.score_with_metrics(params).score
    }
}

/// Per-bar Sharpe ratio of metrics per block: the mean of their annualized Sharpe ratios over
/// `sqrt(periods_per_year)`.
fn sharpe_per_bar(metrics: &[Metrics], periods_per_year: f64) -> Option<f64> {
    if metrics.is_empty() {
        return None;
    }
    let mean = metrics.iter().map(|m| m.sharpe).sum::<f64>() / metrics.len() as f64;
    let v = mean / periods_per_year.sqrt();
    v.is_finite().then_some(v)
}

/// The search blocks of a series' folds: the search span cut into blocks as long as an
/// out-of-sample fold (at least one), so the evidence floor and the fold-win share read the
/// same amount of data in the search as in the judgment.
fn search_blocks(folds: &[Fold]) -> Vec<Range<usize>> {
    let span = search_span(folds);
    let fold_len = folds.first().map_or(1, |f| f.out_of_sample.len().max(1));
    let k = (span.len() as f64 / fold_len as f64).round().max(1.0) as usize;
    blocks(span, k)
}

/// Out-of-sample judgment of a candidate against a baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgment {
    /// The baseline's out-of-sample metrics per fold.
    pub before: Vec<Metrics>,
    /// The candidate's out-of-sample metrics per fold.
    pub after: Vec<Metrics>,
    /// The gate's verdict.
    pub report: StandardsReport,
}

/// Judges `candidate` against `baseline` (both `family` parameters) on `bars` under `eval`, by
/// the gate: on the out-of-sample folds, on `standards.stability_runs - 1` seeded
/// re-partitions of the same bars (drawn from `seed`), and, when the candidate came from a
/// search of `trials`, with its deflated Sharpe ratio over the search span. What an
/// optimization ends with, what a promotion re-checks against the tool's current version, and
/// what a certificate's verification re-runs. Both run with `model`, the version's learned
/// artifact prepared for `bars`, if any. `stop` is checked between the judgment's passes (each
/// tool's metrics over every range, the returns, the excess returns).
///
/// # Errors
/// [`EngineError`] for invalid parameters, bad settings or a series too short for the folds;
/// [`EngineError::Stopped`] when `stop` is raised.
#[allow(clippy::too_many_arguments)]
pub fn judge_candidate(
    bars: &Bars,
    family: &str,
    baseline: &Map<String, Value>,
    candidate: &Map<String, Value>,
    model: Option<&Prepared>,
    eval: EvalConfig,
    standards: &StandardsConfig,
    seed: u64,
    trials: Option<&TrialStats>,
    stop: Stop<'_>,
) -> Result<Judgment, EngineError> {
    let check = || {
        if stop.requested() {
            Err(EngineError::Stopped)
        } else {
            Ok(())
        }
    };
    let base = Strategy::from_params(family, baseline)?;
    let cand = Strategy::from_params(family, candidate)?;
    let mut evaluator = Evaluator::new(bars, eval)?.with_model(model);
    let folds = evaluator.folds()?;
    let oos: Vec<Range<usize>> = folds.iter().map(|f| f.out_of_sample.clone()).collect();
    let span = search_span(&folds);
    let search_blocks = search_blocks(&folds);
    let partitions: Vec<Vec<Range<usize>>> = (1..standards.stability_runs)
        .map(|run| resample(out_of_sample_span(&folds), folds.len(), seed, run))
        .collect();
    // Every range in one pass per tool: folds, then each partition, then the search blocks.
    let all: Vec<Range<usize>> = oos
        .iter()
        .chain(partitions.iter().flatten())
        .chain(&search_blocks)
        .cloned()
        .collect();
    check()?;
    // The two tools' passes are independent: one each on two threads when there are two.
    let metrics_of = |strategy: &Strategy| {
        Evaluator::new(bars, eval)?
            .with_model(model)
            .metrics(strategy, &all)
    };
    let (before_all, after_all) = rayon::join(|| metrics_of(&base), || metrics_of(&cand));
    let (before_all, after_all) = (before_all?, after_all?);
    check()?;
    let n = oos.len();
    let runs: Vec<Run> = partitions
        .iter()
        .scan(n, |at, windows| {
            let range = *at..*at + windows.len();
            *at += windows.len();
            Some(Run {
                windows: windows.iter().map(|w| [w.start, w.end]).collect(),
                baseline: before_all[range.clone()].to_vec(),
                candidate: after_all[range].to_vec(),
            })
        })
        .collect();
    let (selection, absolute) = match trials {
        Some(stats) => {
            let blocks_after = &after_all[all.len() - search_blocks.len()..];
            let returns = evaluator.returns(&cand, span.clone())?;
            let (_, _, skewness, kurtosis) = moments(&returns);
            let absolute = Selection {
                of: "returns".into(),
                trials: stats.trials,
                sharpe_variance: stats.sharpe_variance,
                sharpe: sharpe_per_bar(blocks_after, evaluator.periods_per_year()),
                bars: span.len() as u64,
                skewness,
                kurtosis,
            };
            check()?;
            let base_targets = evaluator.targets(&base)?;
            let excess = evaluator.excess_returns(&cand, &search_blocks, &base_targets)?;
            let (mean, sd, skewness, kurtosis) = moments(&excess);
            let improvement = Selection {
                of: "excess returns over the baseline".into(),
                trials: stats.trials,
                sharpe_variance: stats.information_ratio_variance,
                sharpe: (sd > 0.0).then(|| mean / sd).filter(|r| r.is_finite()),
                bars: excess.len() as u64,
                skewness,
                kurtosis,
            };
            (Some(improvement), Some(absolute))
        }
        None => (None, None),
    };
    let (before, after) = (before_all[..n].to_vec(), after_all[..n].to_vec());
    let windows: Vec<[usize; 2]> = oos.iter().map(|w| [w.start, w.end]).collect();
    let report = judge(
        &Evidence {
            baseline: &before,
            candidate: &after,
            windows: &windows,
            runs: &runs,
            selection: selection.as_ref(),
            absolute: absolute.as_ref(),
        },
        standards,
    );
    Ok(Judgment {
        before,
        after,
        report,
    })
}

/// Optimizes `family`'s parameters on `bars` starting from `baseline`, evaluated with `model`
/// (the version's prepared artifact, if any). `on_batch` sees the trials so far after each
/// batch (progress). `end_search` ends the search (checked before every trial, see
/// [`run_study`](super::run_study)) and the trials so far are judged: a time limit. `cancel`
/// does that and abandons the judgment too: nothing is returned.
///
/// # Errors
/// [`EngineError`] for an unknown family, invalid baseline parameters, bad settings or a series
/// too short for the folds; [`EngineError::Stopped`] when `cancel` is raised.
#[allow(clippy::too_many_arguments)]
pub fn optimize_tool(
    bars: &Bars,
    family: &str,
    baseline: &Map<String, Value>,
    model: Option<&Prepared>,
    study: &StudyConfig,
    eval: EvalConfig,
    standards: &StandardsConfig,
    on_batch: impl FnMut(&[Trial]),
    end_search: Stop<'_>,
    cancel: Stop<'_>,
) -> Result<ToolOptimization, EngineError> {
    let search_stop = || end_search.requested() || cancel.requested();
    let schema = domain::families::get(family)
        .ok_or_else(|| EngineError::UnknownFamily(family.to_owned()))?;
    let space = Space::of_family(schema);
    let base = Strategy::from_params(family, baseline)?;
    let params_before = schema
        .validate(baseline)
        .map_err(|_| EngineError::InvalidParameters("baseline".into()))?;
    let evaluator = Evaluator::new(bars, eval)?;
    let periods_per_year = evaluator.periods_per_year();
    let folds = evaluator.folds()?;
    let span = search_span(&folds);
    let ranges = search_blocks(&folds);
    // The evidence floor is per out-of-sample fold: search blocks of another length need trades
    // at the same density.
    let fold_len = folds[0].out_of_sample.len().max(1) as f64;
    let block_len = span.len() as f64 / ranges.len() as f64;
    let search_standards = StandardsConfig {
        min_trades: standards.min_trades * block_len / fold_len,
        ..standards.clone()
    };
    let objective =
        GateObjective::new(bars, family, &base, model, eval, &search_standards, ranges)?;
    let (result, outputs) = run_study_with(
        &space,
        study,
        |values| {
            let params = space.params(values);
            let scored = objective.score_with_metrics(&params);
            (scored.score, (params, scored))
        },
        on_batch,
        Stop::new(&search_stop),
    );
    if cancel.requested() {
        return Err(EngineError::Stopped);
    }
    let trials: Vec<OptimizationTrial> = result
        .trials
        .iter()
        .zip(outputs)
        .map(|(t, (params, scored))| OptimizationTrial {
            trial: t.index,
            params,
            score: t.value.is_finite().then_some(t.value),
            num_trades: scored.metrics.iter().map(|m| m.num_trades).sum(),
            sharpe: sharpe_per_bar(&scored.metrics, periods_per_year),
            information_ratio: scored.information_ratio,
            metrics: scored.metrics,
        })
        .collect();
    let trial_stats = TrialStats::of(&trials);
    let best = result.best().cloned();
    let best_curve = result.best_curve();
    // Nothing better than the baseline in the search span: the baseline stays the winner.
    let (params_after, best_in_sample) = match &best {
        Some(t) if t.value > 0.0 => (space.decode(&t.unit), t.value),
        _ => (params_before.clone(), 0.0),
    };
    let Judgment {
        before,
        after,
        report,
    } = judge_candidate(
        bars,
        family,
        &params_before,
        &params_after,
        model,
        eval,
        standards,
        study.seed,
        Some(&trial_stats),
        cancel,
    )?;
    Ok(ToolOptimization {
        params_before,
        params_after,
        trials_run: result.trials.len() as u64,
        best_in_sample,
        best_curve,
        trials,
        trial_stats,
        search_span: span,
        before,
        after,
        report,
    })
}
