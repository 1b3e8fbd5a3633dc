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

use super::JobError;
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

/// Runs the re-check (CPU work: call it off the async runtime).
///
/// # Errors
/// [`JobError::Invalid`] when either dataset cannot be judged.
pub(crate) fn recheck(input: RecheckInput) -> Result<Recheck, JobError> {
    // The deflated Sharpe ratio deflates by the search that ran on the session's data; the
    // reference data saw no search, so it is judged without it.
    let judge = |bars: &Bars, trial_stats: Option<&TrialStats>| {
        let prepared = input.model.as_ref().map(|m| m.prepare(bars));
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
        )
    };
    let session = judge(&input.bars, input.trial_stats.as_ref())
        .map_err(|e| JobError::invalid("Cannot re-check", e.to_string()))?;
    let reference = input
        .reference
        .as_ref()
        .map(|bars| {
            judge(bars, None).map_err(|e| {
                JobError::invalid("Cannot re-check on the reference dataset", e.to_string())
            })
        })
        .transpose()?;
    Ok(Recheck { session, reference })
}
