//! `optimize`: optimizes a tool's parameters for one session. The study searches the bars before
//! the session's first out-of-sample window, starting from the inserted version's parameters;
//! the winner is judged against them by the tool's standards gate on the out-of-sample windows
//! (never read by the search), and the record is stored with every trial and the job's success
//! (a [`JobEffect`]); when it is better out of sample than what the session used, the session
//! uses its parameters from then on. The tool itself, and every other session, stay as they were.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use shared::dataset::Bars;
use shared::domain::{OptimizationRecord, RecordStatus, SessionStatus};
use shared::evaluation::EvalConfig;
use shared::jobs::{Job, OptimizationSummary, OptimizeSessionToolJob, SearchStop};
use shared::store::{JobEffect, Store};

use super::evaluate::thinned;
use super::{
    JobControl, JobError, JobOutput, blocking, check_entitlement, engine_error, load_model,
};
use crate::Stop;
use crate::engine::{Evaluator, Prepared, Strategy};
use crate::optimize::{StudyConfig, best_curve_points, optimize_tool};

/// Trials asked together and evaluated in parallel. Fixed, so a seed gives the same trials
/// whatever the number of threads or workers.
pub(crate) const BATCH: usize = 8;

pub(super) async fn run(
    store: &Arc<dyn Store>,
    job: &Job,
    input: OptimizeSessionToolJob,
    control: Arc<JobControl>,
) -> Result<JobOutput, JobError> {
    control.report(0.02, "loading the session, the tool and the dataset");
    let session = store
        .session(input.session_id)
        .await?
        .ok_or_else(|| JobError::invalid("Session not found", "the session no longer exists"))?;
    if session.status != SessionStatus::Active {
        return Err(JobError::invalid(
            "Session ended",
            "the session ended before its optimization ran",
        ));
    }
    let inserted = store
        .session_tools(session.id)
        .await?
        .into_iter()
        .find(|t| t.tool_id == input.tool_id)
        .ok_or_else(|| JobError::invalid("Tool not in session", "insert the tool first"))?;
    let tool = store
        .tool(input.tool_id)
        .await?
        .ok_or_else(|| JobError::invalid("Tool not found", "the tool no longer exists"))?;
    check_entitlement(store, &tool, session.owner_id).await?;
    let version = store
        .tool_versions(tool.id)
        .await?
        .into_iter()
        .find(|v| v.version == inserted.base_version)
        .ok_or_else(|| JobError::invalid("Version not found", "the inserted version is gone"))?;
    let dataset = store
        .dataset(session.owner_id, session.dataset_id)
        .await?
        .ok_or_else(|| {
            JobError::invalid("Dataset not found", "the session's dataset was deleted")
        })?;
    let bars = store.dataset_bars(dataset.id).await?.ok_or_else(|| {
        JobError::invalid("Dataset not found", "the session's dataset was deleted")
    })?;
    let model = load_model(store, version.artifact_id).await?;
    control.check()?;

    let standards = tool.standards();
    let eval = session.config.eval_config();
    let study = StudyConfig {
        method: input.study.method,
        trials: input.study.trials,
        seed: input.study.seed,
        batch: BATCH,
    };
    let time_limit = Duration::from_secs(session.config.time_limit_secs);
    let family = tool.family.clone();
    let baseline = version.parameters.clone();
    let config = json!({
        "method": study.method,
        "trials": study.trials,
        "seed": study.seed,
        "batch": study.batch,
        "folds": eval.folds,
        "commission": eval.commission,
        "slippage": eval.slippage,
        "initial_cash": eval.initial_cash,
        "time_limit_secs": session.config.time_limit_secs,
        "standards": standards,
    });
    control.report(0.05, format!("optimizing: 0 of {} trials", study.trials));
    let started = Instant::now();
    let outcome = blocking({
        let control = control.clone();
        let standards = standards.clone();
        move || {
            let canceled = || control.is_canceled();
            let cancel = Stop::new(&canceled);
            let prepared = match &model {
                Some(m) => Some(m.prepare_until(&bars, cancel).ok_or(JobError::Canceled)?),
                None => None,
            };
            let timed_out = AtomicBool::new(false);
            let deadline = started + time_limit;
            // Checked before every trial: the session's time limit ends the search, and the
            // trials found in time are judged.
            let time_up = || {
                if Instant::now() >= deadline {
                    timed_out.store(true, Ordering::Relaxed);
                }
                timed_out.load(Ordering::Relaxed)
            };
            let total = study.trials.max(1) as f64;
            let outcome = optimize_tool(
                &bars,
                &family,
                &baseline,
                prepared.as_ref(),
                &study,
                eval,
                &standards,
                |trials| {
                    let best = trials
                        .iter()
                        .map(|t| t.value)
                        .filter(|v| v.is_finite())
                        .fold(f64::NEG_INFINITY, f64::max);
                    control.report(
                        0.05 + 0.85 * trials.len() as f64 / total,
                        format!(
                            "optimizing: {} of {} trials, best in-sample score {:+.2}%",
                            trials.len(),
                            study.trials,
                            if best.is_finite() { best * 100.0 } else { 0.0 }
                        ),
                    );
                },
                Stop::new(&time_up),
                cancel,
            )
            .map_err(engine_error("Cannot optimize"))?;
            control.check()?;
            let curves = equity_curves(
                &bars,
                &family,
                [&outcome.params_before, &outcome.params_after],
                prepared.as_ref(),
                eval,
                cancel,
            )?;
            Ok((outcome, curves, timed_out.load(Ordering::Relaxed)))
        }
    })
    .await;
    let (outcome, curves, timed_out) = outcome?;
    // Entitled when it started, and still when its result is kept: a subscription that ended
    // while the search ran gets no record (and the session no new parameters).
    check_entitlement(store, &tool, session.owner_id).await?;

    let improvement = outcome.report.improvement;
    // Better out of sample than the baseline: the session uses it (the store also checks it
    // beats any record the session already uses).
    let status =
        if improvement.is_some_and(|i| i > 0.0) && outcome.params_after != outcome.params_before {
            RecordStatus::Applied
        } else {
            RecordStatus::Rejected
        };
    let curve = best_curve_points(&outcome.best_curve);
    let stopped = if timed_out {
        SearchStop::TimeLimit
    } else {
        SearchStop::Completed
    };
    let now = chrono::Utc::now();
    let record = OptimizationRecord {
        id: uuid::Uuid::now_v7(),
        session_id: session.id,
        tool_id: tool.id,
        owner_id: session.owner_id,
        job_id: job.id,
        base_version: inserted.base_version,
        study: input.study,
        config,
        trials_run: outcome.trials_run,
        params_before: outcome.params_before,
        params_after: outcome.params_after,
        metrics_before: outcome.before,
        metrics_after: outcome.after,
        improvement,
        standards_report: outcome.report,
        status,
        dataset_hash: dataset.content_hash,
        search: json!({
            "objective": "gate score (overall improvement less the gate's penalties, evidence floors included) over the baseline on the search span's blocks",
            "search_span": [outcome.search_span.start, outcome.search_span.end],
            "trial_stats": outcome.trial_stats,
            "best_in_sample": outcome.best_in_sample,
            "best_curve": curve,
            "stopped": stopped,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "equity": curves,
        }),
        promoted_version: None,
        last_check: None,
        rechecks: 0,
        created_at: now,
        updated_at: now,
    };
    let summary = OptimizationSummary {
        record_id: record.id,
        session_id: record.session_id,
        tool_id: record.tool_id,
        trials_run: record.trials_run,
        improvement: record.improvement,
        passed: record.standards_report.passed,
        params_after: record.params_after.clone(),
        stopped,
    };
    JobOutput::with_effect(
        &summary,
        Some(JobEffect::RecordOptimization {
            record: Box::new(record),
            trials: outcome.trials,
        }),
    )
}

/// Most points of each equity curve a record keeps.
const RECORD_CURVE_POINTS: usize = 500;
/// Most trades of the optimized parameters a record keeps (the last ones).
const RECORD_TRADES: usize = 200;

/// The whole dataset backtested with the parameters before and after, as a record keeps it
/// (`search.equity`): each curve thinned with its total return, the out-of-sample span's first
/// time, and the last trades after. What the dashboard's equity chart draws.
fn equity_curves(
    bars: &Bars,
    family: &str,
    [before, after]: [&Map<String, Value>; 2],
    model: Option<&Prepared>,
    eval: EvalConfig,
    cancel: Stop<'_>,
) -> Result<Value, JobError> {
    let mut evaluator = Evaluator::new(bars, eval)
        .map_err(engine_error("Cannot evaluate"))?
        .with_model(model);
    let mut run = |params: &Map<String, Value>| {
        let strategy = Strategy::from_params(family, params)
            .map_err(|e| JobError::invalid("Invalid tool", e.to_string()))?;
        evaluator
            .evaluate_until(&strategy, cancel)
            .map_err(engine_error("Cannot evaluate"))
    };
    let (b, a) = (run(before)?, run(after)?);
    let points = |curve: &[f64]| -> Vec<(i64, f64)> {
        thinned(curve.len(), RECORD_CURVE_POINTS)
            .map(|i| (bars.time[i], curve[i]))
            .collect()
    };
    let trades_total = a.trades.len();
    let trades = &a.trades[trades_total.saturating_sub(RECORD_TRADES)..];
    Ok(json!({
        "initial_cash": eval.initial_cash,
        "out_of_sample_from": a.out_of_sample.start,
        "before": {"total_return": b.overall.metrics.total_return, "points": points(&b.equity_curve)},
        "after": {
            "total_return": a.overall.metrics.total_return,
            "points": points(&a.equity_curve),
            "trades": trades,
            "trades_total": trades_total,
        },
    }))
}
