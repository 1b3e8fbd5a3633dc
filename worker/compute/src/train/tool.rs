//! Training a tool with one method: the time-ordered splits, the method, and the trained tool's
//! metrics on every split next to the version it started from.

use std::ops::Range;

use domain::standards::gate_score;
use domain::training::{Splits, ValidationJudgment};
use domain::{Metrics, SplitMetrics, TrainingMethod};
use serde_json::{Map, Value};

use super::LoadedModel;
use super::input::{Hooks, TrainError, TrainInput, chunks, range, split};
use super::methods;
use crate::engine::{Evaluator, Prepared, Strategy};

/// Validation folds the runs are judged on.
const VALIDATION_FOLDS: usize = 3;

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
    let base_prepared = match input.base_model {
        Some(m) => Some(
            m.prepare_until(input.bars, hooks.stop)
                .ok_or(TrainError::Canceled)?,
        ),
        None => None,
    };
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
    hooks.check()?;
    (hooks.progress)(0.95, "evaluating the splits".into());
    let trained_prepared = match &learned.model {
        Some(m) => Some(
            m.prepare_until(input.bars, hooks.stop)
                .ok_or(TrainError::Canceled)?,
        ),
        None => base_prepared.clone(),
    };
    let ranges = [
        range(splits.train),
        range(splits.validation),
        range(splits.test),
    ];
    let folds = chunks(range(splits.validation), VALIDATION_FOLDS);
    hooks.check()?;
    let baseline = metrics_of(input, input.params, base_prepared.as_ref(), &ranges)?;
    hooks.check()?;
    let trained = metrics_of(
        input,
        &learned.parameters,
        trained_prepared.as_ref(),
        &ranges,
    )?;
    hooks.check()?;
    let base_folds = metrics_of(input, input.params, base_prepared.as_ref(), &folds)?;
    hooks.check()?;
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
