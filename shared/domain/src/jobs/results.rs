//! What a job produces: one result type per kind, written by the worker as the job's `result`
//! and read back by the API (or shown as is by `GET /v1/jobs/{id}`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::training::{ArtifactSummary, TrainingMethod};

/// Result of [`JobKind::Promote`](super::JobKind::Promote): the re-check's verdict and, when it passed, the version made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromotionOutcome {
    /// The optimization record.
    pub record_id: Uuid,
    /// Whether the candidate passed the gate against the tool's current version.
    pub passed: bool,
    /// The version it was judged against (the tool's current one at the re-check).
    pub against_version: i32,
    /// The version created (only when it passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The gate's report of the re-check.
    pub standards_report: crate::standards::StandardsReport,
}

/// Why an optimization's search ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchStop {
    /// Every trial of the budget ran.
    Completed,
    /// The session's time limit ran out first (the trials run so far were judged).
    TimeLimit,
}

/// Result of [`JobKind::Optimize`](super::JobKind::Optimize): a summary of the optimization
/// record it wrote (the record holds the evidence).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizationSummary {
    /// The record written.
    pub record_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// Its tool.
    pub tool_id: Uuid,
    /// Trials evaluated.
    pub trials_run: u64,
    /// Out-of-sample improvement of the chosen parameters over the baseline (none when the
    /// baseline had nothing to improve on).
    pub improvement: Option<f64>,
    /// Whether the standards gate passed.
    pub passed: bool,
    /// The parameters chosen.
    pub params_after: Map<String, Value>,
    /// Why the search ended.
    pub stopped: SearchStop,
}

/// Result of [`JobKind::Train`](super::JobKind::Train): a summary of the training run it
/// completed (the run holds the full result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The run.
    pub training_id: Uuid,
    /// Its method.
    pub method: TrainingMethod,
    /// The validation split's score (none when the split was too short to judge).
    pub validation_score: Option<f64>,
    /// The learned artifact, for methods that learn one.
    pub artifact: Option<ArtifactSummary>,
}

/// Result of [`JobKind::Noop`](super::JobKind::Noop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoopResult {
    /// How long it slept.
    pub slept_ms: u64,
    /// Which attempt succeeded.
    pub attempt: i32,
}
