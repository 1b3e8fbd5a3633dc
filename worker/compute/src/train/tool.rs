//! Training a tool with one method: the time-ordered splits, the method, and the trained tool's
//! metrics on every split next to the version it started from.

use std::ops::{ControlFlow, Range};

use domain::dataset::Bars;
use domain::evaluation::EvalConfig;
use domain::standards::{StandardsConfig, gate_score};
use domain::training::{Splits, ValidationJudgment};
use domain::{Metrics, ResolvedConfig, SplitMetrics, TrainingMethod};
use serde_json::{Map, Value};

use super::LoadedModel;
use super::methods;
use crate::engine::{EngineError, Evaluator, Prepared, Strategy};

/// Fewest bars a dataset needs for training (each split must hold enough samples).
pub const MIN_BARS: usize = 200;

/// Validation folds the runs are judged on.
const VALIDATION_FOLDS: usize = 3;

/// What a method trains on.
#[derive(Clone, Copy)]
pub struct TrainInput<'a> {
    /// The creator's dataset.
    pub bars: &'a Bars,
    /// The tool's family.
    pub family: &'a str,
    /// The base version's parameters.
    pub params: &'a Map<String, Value>,
    /// The base version's artifact, if any.
    pub base_model: Option<&'a LoadedModel>,
    /// Costs and cash of every backtest (and of labels and rewards).
    pub eval: EvalConfig,
    /// The tool's standards (the judgment's score).
    pub standards: &'a StandardsConfig,
    /// The resolved config.
    pub config: &'a ResolvedConfig,
}

/// Progress and cancellation.
#[derive(Clone, Copy)]
pub struct Hooks<'a> {
    /// Progress in 0..=1 with a message, after every epoch, episode or batch of trials.
    pub progress: &'a (dyn Fn(f64, String) + Sync),
    /// Checked between steps; true stops with [`TrainError::Canceled`].
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

impl Hooks<'_> {
    /// After step `done` of `total` (epoch, episode): reports progress (5% to 90% of the job)
    /// with `message` and says whether to go on.
    pub(super) fn step(&self, done: usize, total: usize, message: String) -> ControlFlow<()> {
        (self.progress)(0.05 + 0.85 * done as f64 / total.max(1) as f64, message);
        if (self.stop)() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Why training did not finish.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    /// The input can never work (too little data, a tool the method cannot train).
    #[error("{0}")]
    Invalid(String),
    /// Stopped by [`Hooks::stop`].
    #[error("canceled")]
    Canceled,
}

impl From<EngineError> for TrainError {
    fn from(e: EngineError) -> Self {
        TrainError::Invalid(e.to_string())
    }
}

/// A trained tool and the evidence.
pub struct TrainedTool {
    /// Parameters (changed only by the optimization engine).
    pub parameters: Map<String, Value>,
    /// The new artifact (none: the base version's stays).
    pub model: Option<LoadedModel>,
    /// The trained tool's metrics per split.
    pub metrics: SplitMetrics,
    /// The base version's metrics per split.
    pub baseline: SplitMetrics,
    /// The splits.
    pub splits: Splits,
    /// The validation folds' judgment.
    pub validation: ValidationJudgment,
    /// Curves (loss, reward or best score).
    pub curves: Value,
    /// Method-specific facts.
    pub details: Value,
}

/// What a method returns before the common evaluation.
pub(super) struct Learned {
    pub(super) parameters: Map<String, Value>,
    pub(super) model: Option<LoadedModel>,
    pub(super) curves: Value,
    pub(super) details: Value,
}

/// The time-ordered splits of `n` bars: 60% train, 20% validation, 20% test.
///
/// # Errors
/// [`TrainError::Invalid`] below [`MIN_BARS`].
pub fn split(n: usize) -> Result<Splits, TrainError> {
    if n < MIN_BARS {
        return Err(TrainError::Invalid(format!(
            "the dataset has {n} bars; training needs at least {MIN_BARS}"
        )));
    }
    let (a, b) = (n * 3 / 5, n * 4 / 5);
    Ok(Splits {
        train: [0, a],
        validation: [a, b],
        test: [b, n],
    })
}

pub(super) fn range(r: [usize; 2]) -> Range<usize> {
    r[0]..r[1]
}

/// `r` cut into `k` consecutive, equal parts (the last takes the remainder).
pub(super) fn chunks(r: Range<usize>, k: usize) -> Vec<Range<usize>> {
    let len = r.len() / k;
    (0..k)
        .map(|i| {
            let start = r.start + i * len;
            start..if i + 1 == k { r.end } else { start + len }
        })
        .collect()
}

fn metrics_of(
    input: &TrainInput<'_>,
    params: &Map<String, Value>,
    model: Option<&Prepared>,
    ranges: &[Range<usize>],
) -> Result<Vec<Metrics>, TrainError> {
    let strategy = Strategy::from_params(input.family, params)?;
    Ok(Evaluator::new(input.bars, input.eval)?
        .with_model(model)
        .metrics(&strategy, ranges)?)
}

fn split_metrics(m: &[Metrics]) -> SplitMetrics {
    SplitMetrics {
        train: m[0],
        validation: m[1],
        test: m[2],
    }
}

/// Trains the tool with `method` (not hybrid, which runs as its three parts).
///
/// # Errors
/// [`TrainError`].
pub fn train_tool(
    method: TrainingMethod,
    input: &TrainInput<'_>,
    hooks: Hooks<'_>,
) -> Result<TrainedTool, TrainError> {
    let splits = split(input.bars.len())?;
    let base_prepared = input.base_model.map(|m| m.prepare(input.bars));
    let learned = match method {
        TrainingMethod::DeepLearning => methods::deep_learning(input, &splits, hooks)?,
        TrainingMethod::QLearning => methods::q_learning(input, &splits, hooks)?,
        TrainingMethod::OptimizationEngine => {
            methods::optimization_engine(input, &splits, base_prepared.as_ref(), hooks)?
        }
        TrainingMethod::Hybrid => {
            return Err(TrainError::Invalid(
                "a hybrid run trains as its three parts".into(),
            ));
        }
    };
    if (hooks.stop)() {
        return Err(TrainError::Canceled);
    }
    (hooks.progress)(0.95, "evaluating the splits".into());
    let trained_prepared = match &learned.model {
        Some(m) => Some(m.prepare(input.bars)),
        None => base_prepared.clone(),
    };
    let ranges = [
        range(splits.train),
        range(splits.validation),
        range(splits.test),
    ];
    let folds = chunks(range(splits.validation), VALIDATION_FOLDS);
    let baseline = metrics_of(input, input.params, base_prepared.as_ref(), &ranges)?;
    let trained = metrics_of(
        input,
        &learned.parameters,
        trained_prepared.as_ref(),
        &ranges,
    )?;
    let base_folds = metrics_of(input, input.params, base_prepared.as_ref(), &folds)?;
    let trained_folds = metrics_of(
        input,
        &learned.parameters,
        trained_prepared.as_ref(),
        &folds,
    )?;
    Ok(TrainedTool {
        validation: ValidationJudgment {
            score: gate_score(input.standards, &base_folds, &trained_folds),
            baseline: base_folds,
            trained: trained_folds,
        },
        parameters: learned.parameters,
        model: learned.model,
        metrics: split_metrics(&trained),
        baseline: split_metrics(&baseline),
        splits,
        curves: learned.curves,
        details: learned.details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_time_ordered_and_cover_the_series() {
        let s = split(1_000).expect("long enough");
        assert_eq!(
            (s.train, s.validation, s.test),
            ([0, 600], [600, 800], [800, 1_000])
        );
        assert!(split(MIN_BARS - 1).is_err());
        assert_eq!(chunks(600..800, 3), [600..666, 666..732, 732..800]);
    }
}
