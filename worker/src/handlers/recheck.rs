//! The promotion re-check, shared by the `promote` job (which makes a version and its
//! certificate from it) and the `verify` job (which runs it again from a certificate alone):
//! the candidate against the tool's version on the session's data and, when the creator set
//! one, on the tool's reference data, both with the version's artifact.

use std::sync::Arc;

use serde_json::{Map, Value};
use shared::dataset::Bars;
use shared::domain::TrialStats;
use shared::evaluation::EvalConfig;
use shared::standards::{Check, StandardsConfig, StandardsReport};

use super::{JobError, engine_error};
use crate::Stop;
use crate::optimize::{Judgment, judge_candidate};
use crate::train::LoadedModel;

/// What a re-check runs.
pub(crate) struct RecheckInput {
    /// The session's bars.
    pub(crate) bars: Bars,
    /// The reference dataset's bars, if any.
    pub(crate) reference: Option<Bars>,
    /// The tool's family.
    pub(crate) family: String,
    /// The version's parameters.
    pub(crate) current: Map<String, Value>,
    /// The candidate's.
    pub(crate) candidate: Map<String, Value>,
    /// The version's artifact.
    pub(crate) model: Option<Arc<LoadedModel>>,
    /// The session's folds and costs.
    pub(crate) eval: EvalConfig,
    /// The gate.
    pub(crate) standards: StandardsConfig,
    /// The record's seed (its stability runs).
    pub(crate) seed: u64,
    /// The record's search (its deflated Sharpe ratio).
    pub(crate) trial_stats: Option<TrialStats>,
}

/// What a re-check found.
pub(crate) struct Recheck {
    /// On the session's data.
    pub(crate) session: Judgment,
    /// On the reference data.
    pub(crate) reference: Option<Judgment>,
}

impl Recheck {
    /// One report: the session's checks as they are, the reference dataset's prefixed
    /// `reference:`; the session's evidence, runs and deflated Sharpe ratio.
    pub(crate) fn report(&self) -> StandardsReport {
        let mut checks: Vec<Check> = self.session.report.checks.clone();
        if let Some(r) = &self.reference {
            checks.extend(r.report.checks.iter().map(|c| Check {
                name: format!("reference:{}", c.name),
                ..c.clone()
            }));
        }
        StandardsReport {
            passed: checks.iter().all(|c| c.passed),
            checks,
            ..self.session.report.clone()
        }
    }
}

/// Runs the re-check (CPU work: call it off the async runtime), checking `stop` between its
/// passes over the bars.
///
/// # Errors
/// [`JobError::Invalid`] when either dataset cannot be judged; [`JobError::Canceled`] when
/// `stop` is raised.
pub(crate) fn recheck(input: RecheckInput, stop: Stop<'_>) -> Result<Recheck, JobError> {
    // The deflated Sharpe ratio deflates by the search that ran on the session's data; the
    // reference data saw no search, so it is judged without it.
    let judge = |bars: &Bars, trial_stats: Option<&TrialStats>, title: &'static str| {
        let prepared = match &input.model {
            Some(m) => Some(m.prepare_until(bars, stop).ok_or(JobError::Canceled)?),
            None => None,
        };
        judge_candidate(
            bars,
            &input.family,
            &input.current,
            &input.candidate,
            prepared.as_ref(),
            input.eval,
            &input.standards,
            input.seed,
            trial_stats,
            stop,
        )
        .map_err(engine_error(title))
    };
    let session = judge(&input.bars, input.trial_stats.as_ref(), "Cannot re-check")?;
    let reference = input
        .reference
        .as_ref()
        .map(|bars| judge(bars, None, "Cannot re-check on the reference dataset"))
        .transpose()?;
    Ok(Recheck { session, reference })
}
