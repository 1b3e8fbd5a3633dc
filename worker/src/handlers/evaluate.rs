//! `evaluate`: the engine's full evaluation of one tool version on one dataset. The result is
//! `{overall, out_of_sample, folds: [{in_sample, out_of_sample, metrics}], equity_curve, trades}`
//! with the equity curve thinned to at most [`MAX_CURVE_POINTS`] points and the trade list cut
//! to the last [`MAX_TRADES`] (the counts say how many there were).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use shared::evaluation::EvalConfig;
use shared::jobs::EvaluateToolJob;
use shared::store::Store;

use super::{JobControl, JobError, blocking, check_entitlement, engine_error, load_model};
use crate::Stop;
use crate::engine::{Evaluator, Strategy};
use crate::engine::{FoldReport, RangeReport, Timing, Trade};

/// Most equity-curve points in a result.
pub(super) const MAX_CURVE_POINTS: usize = 1_000;
/// Most trades in a result.
pub(super) const MAX_TRADES: usize = 1_000;

/// One point of the thinned equity curve.
#[derive(Debug, Serialize)]
pub(super) struct CurvePoint {
    /// Index of the bar.
    bar: usize,
    /// Its timestamp.
    time: i64,
    /// Equity at its close.
    equity: f64,
}

/// Result of an `evaluate` job.
#[derive(Debug, Serialize)]
pub(super) struct EvaluationResult {
    tool_id: uuid::Uuid,
    version: i32,
    family: String,
    parameters: Map<String, Value>,
    /// The learned artifact's kind and shape, for versions that have one.
    artifact: Option<Value>,
    config: EvalConfig,
    /// Bars evaluated.
    bars: usize,
    overall: RangeReport,
    out_of_sample: RangeReport,
    folds: Vec<FoldReport>,
    timing: Timing,
    /// At most [`MAX_CURVE_POINTS`] points, the last bar always included.
    equity_curve: Vec<CurvePoint>,
    /// Points of the whole curve.
    equity_curve_points: usize,
    /// The last [`MAX_TRADES`] closed trades.
    trades: Vec<Trade>,
    /// Closed trades in all.
    trades_total: usize,
}

pub(super) async fn run(
    store: &Arc<dyn Store>,
    owner: uuid::Uuid,
    input: EvaluateToolJob,
    control: Arc<JobControl>,
) -> Result<EvaluationResult, JobError> {
    let config: EvalConfig = serde_json::from_value(input.config.clone())
        .map_err(|e| JobError::invalid("Invalid evaluation settings", e.to_string()))?;
    control.report(0.05, "loading the tool and the dataset");
    let tool = store
        .tool(input.tool_id)
        .await?
        .ok_or_else(|| JobError::invalid("Tool not found", "the tool no longer exists"))?;
    check_entitlement(store, &tool, owner).await?;
    let version = store
        .tool_versions(input.tool_id)
        .await?
        .into_iter()
        .find(|v| v.version == input.version)
        .ok_or_else(|| {
            JobError::invalid(
                "Version not found",
                format!("the tool has no version {}", input.version),
            )
        })?;
    let bars = store
        .dataset_bars(input.dataset_id)
        .await?
        .ok_or_else(|| JobError::invalid("Dataset not found", "the dataset was deleted"))?;
    let model = load_model(store, version.artifact_id).await?;
    control.check()?;
    control.report(0.2, "evaluating");
    let family = tool.family.clone();
    let versions = (tool.id, version.version);
    let artifact = model.as_ref().map(|m| m.summary());
    let result = blocking(move || {
        let canceled = || control.is_canceled();
        let stop = Stop::new(&canceled);
        let strategy = Strategy::from_params(&family, &version.parameters)
            .map_err(|e| JobError::invalid("Invalid tool", e.to_string()))?;
        let prepared = match &model {
            Some(m) => Some(m.prepare_until(&bars, stop).ok_or(JobError::Canceled)?),
            None => None,
        };
        let evaluation = Evaluator::new(&bars, config)
            .and_then(|ev| {
                ev.with_model(prepared.as_ref())
                    .evaluate_until(&strategy, stop)
            })
            .map_err(engine_error("Cannot evaluate"))?;
        control.check()?;
        let curve_len = evaluation.equity_curve.len();
        let curve: Vec<CurvePoint> = thinned(curve_len, MAX_CURVE_POINTS)
            .map(|i| CurvePoint {
                bar: i,
                time: bars.time[i],
                equity: evaluation.equity_curve[i],
            })
            .collect();
        let mut trades = evaluation.trades;
        let trades_total = trades.len();
        trades.drain(..trades_total.saturating_sub(MAX_TRADES));
        Ok(EvaluationResult {
            tool_id: versions.0,
            version: versions.1,
            family,
            parameters: version.parameters,
            artifact,
            config,
            bars: bars.len(),
            overall: evaluation.overall,
            out_of_sample: evaluation.out_of_sample,
            folds: evaluation.folds,
            timing: evaluation.timing,
            equity_curve: curve,
            equity_curve_points: curve_len,
            trades,
            trades_total,
        })
    })
    .await?;
    // Entitled when it started, and still when its result is kept.
    check_entitlement(store, &tool, owner).await?;
    Ok(result)
}

/// Indices of at most about `max` evenly spaced points of `len`, the last always included.
pub(super) fn thinned(len: usize, max: usize) -> impl Iterator<Item = usize> {
    let step = len.div_ceil(max.max(1)).max(1);
    (0..len)
        .step_by(step)
        .chain((len > 0 && !(len - 1).is_multiple_of(step)).then_some(len - 1))
}
