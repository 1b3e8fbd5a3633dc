//! Optimizing a tool's parameters for one dataset: the study maximizes the gate's own measure on
//! the in-sample walk-forward folds (the overall, weighted, direction-aware improvement over the
//! baseline, the tool's current parameters, less penalties for what the gate would refuse; see
//! [`gate_score`]); the winner is then judged against the baseline on the out-of-sample folds
//! only, by the gate. Pure: bars in, outcome out.

use std::ops::Range;

use serde_json::{Map, Value};
use shared::dataset::Bars;
use shared::domain::{Metric, Metrics};
use shared::evaluation::EvalConfig;
use shared::standards::{Noise, StandardsConfig, StandardsReport, gate_score, judge};

use super::Trial;

use super::{Space, Study, StudyConfig, run_study};
use crate::engine::{EngineError, Evaluator, Prepared, Strategy};

/// What an optimization found and what the gate said.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOptimization {
    /// The baseline's parameters (defaults filled in).
    pub params_before: Map<String, Value>,
    /// The best trial's parameters.
    pub params_after: Map<String, Value>,
    /// Trials evaluated.
    pub trials_run: u64,
    /// The best trial's in-sample score over the baseline ([`gate_score`]).
    pub best_in_sample: f64,
    /// Best in-sample score after each trial.
    pub best_curve: Vec<f64>,
    /// Out-of-sample metrics per fold of the baseline.
    pub before: Vec<Metrics>,
    /// Out-of-sample metrics per fold of the winner.
    pub after: Vec<Metrics>,
    /// The gate's verdict on the out-of-sample folds.
    pub report: StandardsReport,
}

/// What every parameter search maximizes: the gate's score ([`gate_score`]) of a candidate over
/// the baseline on fixed ranges of one series (a session's in-sample folds, a training split's
/// folds), both evaluated with the same prepared artifact.
pub(crate) struct GateObjective<'a> {
    bars: &'a Bars,
    family: &'a str,
    model: Option<&'a Prepared>,
    eval: EvalConfig,
    standards: &'a StandardsConfig,
    ranges: Vec<Range<usize>>,
    baseline: Vec<Metrics>,
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
        let baseline = Evaluator::new(bars, eval)?
            .with_model(model)
            .metrics(baseline, &ranges)?;
        Ok(Self {
            bars,
            family,
            model,
            eval,
            standards,
            ranges,
            baseline,
        })
    }

    /// The score of `params` (NaN when they cannot be evaluated: the worst).
    pub(crate) fn score(&self, params: &Map<String, Value>) -> f64 {
        let Ok(strategy) = Strategy::from_params(self.family, params) else {
            return f64::NAN;
        };
        let Ok(ev) = Evaluator::new(self.bars, self.eval) else {
            return f64::NAN;
        };
        ev.with_model(self.model)
            .metrics(&strategy, &self.ranges)
            .ok()
            .and_then(|m| gate_score(self.standards, &self.baseline, &m))
            .unwrap_or(f64::NAN)
    }
}

/// Out-of-sample judgment of a candidate against a baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgment {
    /// The baseline's out-of-sample metrics per fold.
    pub before: Vec<Metrics>,
    /// The candidate's out-of-sample metrics per fold.
    pub after: Vec<Metrics>,
    /// The gate's verdict, with the measured timing noise.
    pub report: StandardsReport,
}

/// Judges `candidate` against `baseline` (both `family` parameters) on the out-of-sample folds
/// of `bars` under `eval`, by the gate: what an optimization ends with and what a promotion
/// re-checks against the tool's current version. Both run with `model`, the version's learned
/// artifact prepared for `bars`, if any.
///
/// # Errors
/// [`EngineError`] for invalid parameters, bad settings or a series too short for the folds.
pub fn judge_out_of_sample(
    bars: &Bars,
    family: &str,
    baseline: &Map<String, Value>,
    candidate: &Map<String, Value>,
    model: Option<&Prepared>,
    eval: EvalConfig,
    standards: &StandardsConfig,
) -> Result<Judgment, EngineError> {
    let base = Strategy::from_params(family, baseline)?;
    let cand = Strategy::from_params(family, candidate)?;
    let mut evaluator = Evaluator::new(bars, eval)?.with_model(model);
    let before_eval = evaluator.evaluate(&base)?;
    let after_eval = evaluator.evaluate(&cand)?;
    let oos = |e: &crate::engine::Evaluation| -> Vec<Metrics> {
        e.folds.iter().map(|f| f.out_of_sample.metrics).collect()
    };
    let (before, after) = (oos(&before_eval), oos(&after_eval));
    let noise: Noise = [(
        Metric::ExecutionTime,
        before_eval
            .execution_time_spread
            .max(after_eval.execution_time_spread),
    )]
    .into_iter()
    .collect();
    let report = judge(&before, &after, &noise, standards);
    Ok(Judgment {
        before,
        after,
        report,
    })
}

/// Optimizes `family`'s parameters on `bars` starting from `baseline`, evaluated with `model`
/// (the version's prepared artifact, if any). `on_batch` sees the
/// trials so far after each batch (progress); `should_stop` is checked between batches.
///
/// # Errors
/// [`EngineError`] for an unknown family, invalid baseline parameters, bad settings or a series
/// too short for the folds.
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
    should_stop: impl Fn() -> bool,
) -> Result<ToolOptimization, EngineError> {
    let schema = shared::families::get(family)
        .ok_or_else(|| EngineError::UnknownFamily(family.to_owned()))?;
    let space = Space::of_family(schema);
    let base = Strategy::from_params(family, baseline)?;
    let params_before = schema
        .validate(baseline)
        .map_err(|_| EngineError::InvalidParameters("baseline".into()))?;
    let folds = Evaluator::new(bars, eval)?.folds()?;
    let in_sample: Vec<_> = folds.iter().map(|f| f.in_sample.clone()).collect();
    let objective = GateObjective::new(bars, family, &base, model, eval, standards, in_sample)?;
    let result: Study = run_study(
        &space,
        study,
        |values| objective.score(&space.params(values)),
        on_batch,
        should_stop,
    );
    let best = result.best().cloned();
    let best_curve = result.best_curve();
    // Nothing better than the baseline in sample: the baseline stays the winner.
    let (params_after, best_in_sample) = match &best {
        Some(t) if t.value > 0.0 => (space.decode(&t.unit), t.value),
        _ => (params_before.clone(), 0.0),
    };

    // The judgment: out-of-sample folds only, with the measured timing noise.
    let Judgment {
        before,
        after,
        report,
    } = judge_out_of_sample(
        bars,
        family,
        &params_before,
        &params_after,
        model,
        eval,
        standards,
    )?;
    Ok(ToolOptimization {
        params_before,
        params_after,
        trials_run: result.trials.len() as u64,
        best_in_sample,
        best_curve,
        before,
        after,
        report,
    })
}
