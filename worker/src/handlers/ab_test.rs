//! `ab_test`: a creator's A/B test of two versions of a tool. Both versions are evaluated on
//! every dataset with the same settings and folds; each fold's out-of-sample bars are traded
//! from flat by each version and their per-bar returns paired; `compute::ab_test` tests the
//! differences (a seeded circular block bootstrap). The result is a [`AbTestResult`].

use std::sync::Arc;

use shared::domain::ab_test::{AbTestResult, CumulativePoint, PeriodPair};
use shared::evaluation::EvalConfig;
use shared::jobs::AbTestJob;
use shared::store::Store;

use super::evaluate::thinned;
use super::{JobControl, JobError, blocking, engine_error, load_model};
use crate::Stop;
use crate::engine::{Evaluator, Strategy};
use crate::train::LoadedModel;
use compute::ab_test::AbTestError;

/// Most points of the paired cumulative returns in a result.
const MAX_CUMULATIVE_POINTS: usize = 500;

/// One version, ready to evaluate.
struct Side {
    parameters: serde_json::Map<String, serde_json::Value>,
    model: Option<Arc<LoadedModel>>,
}

pub(super) async fn run(
    store: &Arc<dyn Store>,
    owner: uuid::Uuid,
    input: AbTestJob,
    control: Arc<JobControl>,
) -> Result<AbTestResult, JobError> {
    let config: EvalConfig = serde_json::from_value(input.config.clone())
        .map_err(|e| JobError::invalid("Invalid evaluation settings", e.to_string()))?;
    control.report(0.05, "loading the tool, its versions and the datasets");
    let tool = store
        .tool(input.tool_id)
        .await?
        .ok_or_else(|| JobError::invalid("Tool not found", "the tool no longer exists"))?;
    if tool.creator_id != owner {
        return Err(JobError::invalid(
            "Not the creator",
            "only the tool's creator may A/B test its versions",
        ));
    }
    let versions = store.tool_versions(input.tool_id).await?;
    let mut sides = Vec::with_capacity(2);
    for wanted in [input.version_a, input.version_b] {
        let version = versions
            .iter()
            .find(|v| v.version == wanted)
            .ok_or_else(|| {
                JobError::invalid(
                    "Version not found",
                    format!("the tool has no version {wanted}"),
                )
            })?;
        sides.push(Side {
            parameters: version.parameters.clone(),
            model: load_model(store, version.artifact_id).await?,
        });
    }
    let mut datasets = Vec::with_capacity(input.dataset_ids.len());
    for id in &input.dataset_ids {
        let bars = store
            .dataset_bars(*id)
            .await?
            .ok_or_else(|| JobError::invalid("Dataset not found", "a dataset was deleted"))?;
        datasets.push((*id, bars));
    }
    control.check()?;
    control.report(0.2, "evaluating both versions");
    let family = tool.family.clone();
    let settings = input.test;
    let control_in = Arc::clone(&control);
    let result = blocking(move || {
        let canceled = || control_in.is_canceled();
        let stop = Stop::new(&canceled);
        let mut periods = Vec::new();
        let (mut paired_a, mut paired_b) = (Vec::new(), Vec::new());
        let mut per_year = Vec::new();
        for (dataset_id, bars) in &datasets {
            let mut returns: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
            for (side, out) in sides.iter().zip(returns.iter_mut()) {
                let strategy = Strategy::from_params(&family, &side.parameters)
                    .map_err(|e| JobError::invalid("Invalid tool", e.to_string()))?;
                let prepared = match &side.model {
                    Some(m) => Some(m.prepare_until(bars, stop).ok_or(JobError::Canceled)?),
                    None => None,
                };
                let mut ev = Evaluator::new(bars, config)
                    .map_err(engine_error("Cannot evaluate"))?
                    .with_model(prepared.as_ref());
                per_year.push(ev.periods_per_year());
                for fold in ev.folds().map_err(engine_error("Cannot evaluate"))? {
                    control_in.check()?;
                    out.push(
                        ev.returns(&strategy, fold.out_of_sample)
                            .map_err(engine_error("Cannot evaluate"))?,
                    );
                }
            }
            let folds = config
                .folds
                .split(bars.len())
                .map_err(|e| JobError::invalid("Invalid folds", e.message))?;
            let [ra, rb] = returns;
            for (i, ((fa, fb), fold)) in ra.iter().zip(&rb).zip(&folds).enumerate() {
                let (return_a, return_b) = (compounded(fa), compounded(fb));
                let range = fold.out_of_sample.clone();
                periods.push(PeriodPair {
                    dataset_id: *dataset_id,
                    fold: i,
                    start: bars.time[range.start],
                    end: bars.time[range.end - 1],
                    bars: fa.len().min(fb.len()),
                    return_a,
                    return_b,
                    difference: return_b - return_a,
                });
                let n = fa.len().min(fb.len());
                paired_a.extend_from_slice(&fa[..n]);
                paired_b.extend_from_slice(&fb[..n]);
            }
        }
        control_in.check()?;
        per_year.sort_by(f64::total_cmp);
        let periods_per_year = per_year.get(per_year.len() / 2).copied().unwrap_or(252.0);
        control_in.report(0.8, "testing the difference");
        let tested = compute::ab_test::paired_test_until(
            &paired_a,
            &paired_b,
            periods_per_year,
            &settings,
            stop,
        )
        .map_err(|e| match e {
            AbTestError::Stopped => JobError::Canceled,
            other => JobError::invalid("Cannot test", other.to_string()),
        })?;
        let cumulative = cumulative(&paired_a, &paired_b);
        Ok(AbTestResult {
            tool_id: input.tool_id,
            version_a: input.version_a,
            version_b: input.version_b,
            dataset_ids: input.dataset_ids,
            config,
            bars: paired_a.len(),
            periods_per_year,
            periods,
            mean_return: tested.mean_return,
            sharpe: tested.sharpe,
            test: tested.test,
            verdict: tested.verdict,
            cumulative,
        })
    })
    .await?;
    control.report(1.0, "tested");
    Ok(result)
}

/// `prod(1 + r) - 1`.
fn compounded(returns: &[f64]) -> f64 {
    returns.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0
}

/// Both versions' compounded returns after each paired bar, thinned.
fn cumulative(a: &[f64], b: &[f64]) -> Vec<CumulativePoint> {
    let (mut ga, mut gb) = (1.0, 1.0);
    let full: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            ga *= 1.0 + x;
            gb *= 1.0 + y;
            (ga - 1.0, gb - 1.0)
        })
        .collect();
    thinned(full.len(), MAX_CUMULATIVE_POINTS)
        .map(|i| CumulativePoint {
            index: i,
            a: full[i].0,
            b: full[i].1,
        })
        .collect()
}
