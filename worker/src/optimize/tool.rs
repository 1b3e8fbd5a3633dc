//! Optimizing a tool's parameters for one dataset: the study maximizes the overall improvement
//! over the baseline (the tool's current parameters) on the in-sample walk-forward folds, the
//! same weighted, direction-aware measure the standards gate reads; the winner is then judged
//! against the baseline on the out-of-sample folds only, by the gate. Pure: bars in, outcome out.

use serde_json::{Map, Value};
use shared::dataset::Bars;
use shared::domain::{Metric, Metrics};
use shared::evaluation::EvalConfig;
use shared::standards::{Noise, StandardsConfig, StandardsReport, judge, overall_change};

use super::{Space, Study, StudyConfig, run_study};
use crate::engine::{EngineError, Evaluator, Strategy};

/// What an optimization found and what the gate said.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOptimization {
    /// The baseline's parameters (defaults filled in).
    pub params_before: Map<String, Value>,
    /// The best trial's parameters.
    pub params_after: Map<String, Value>,
    /// Trials evaluated.
    pub trials_run: u64,
    /// The best trial's in-sample improvement over the baseline.
    pub best_in_sample: f64,
    /// Best in-sample improvement after each trial.
    pub best_curve: Vec<f64>,
    /// Out-of-sample metrics per fold of the baseline.
    pub before: Vec<Metrics>,
    /// Out-of-sample metrics per fold of the winner.
    pub after: Vec<Metrics>,
    /// The gate's verdict on the out-of-sample folds.
    pub report: StandardsReport,
}

/// Optimizes `family`'s parameters on `bars` starting from `baseline`.
///
/// # Errors
/// [`EngineError`] for an unknown family, invalid baseline parameters, bad settings or a series
/// too short for the folds.
pub fn optimize_tool(
    bars: &Bars,
    family: &str,
    baseline: &Map<String, Value>,
    study: &StudyConfig,
    eval: EvalConfig,
    standards: &StandardsConfig,
    should_stop: impl Fn() -> bool,
) -> Result<ToolOptimization, EngineError> {
    let schema = shared::families::get(family)
        .ok_or_else(|| EngineError::UnknownFamily(family.to_owned()))?;
    let space = Space::of_family(schema);
    let base = Strategy::from_params(family, baseline)?;
    let params_before = schema
        .validate(baseline)
        .map_err(|_| EngineError::InvalidParameters("baseline".into()))?;
    let mut evaluator = Evaluator::new(bars, eval)?;
    let folds = evaluator.folds()?;
    let in_sample: Vec<_> = folds.iter().map(|f| f.in_sample.clone()).collect();
    let base_in_sample = evaluator.metrics(&base, &in_sample)?;

    let objective = |values: &[f64]| -> f64 {
        let params = space.params(values);
        let Ok(strategy) = Strategy::from_params(family, &params) else {
            return f64::NAN;
        };
        let Ok(mut ev) = Evaluator::new(bars, eval) else {
            return f64::NAN;
        };
        ev.metrics(&strategy, &in_sample)
            .ok()
            .and_then(|m| overall_change(standards, &base_in_sample, &m))
            .unwrap_or(f64::NAN)
    };
    let result: Study = run_study(&space, study, objective, |_| {}, should_stop);
    let best = result.best().cloned();
    let best_curve = result.best_curve();
    let (params_after, best_in_sample) = match &best {
        Some(t) => (space.decode(&t.unit), t.value),
        None => (params_before.clone(), 0.0),
    };

    // The judgment: out-of-sample folds only, with the measured timing noise.
    let winner = Strategy::from_params(family, &params_after)?;
    let before_eval = evaluator.evaluate(&base)?;
    let after_eval = evaluator.evaluate(&winner)?;
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
