//! JSON representations of sessions, their tools and optimization records.
//!
//! A record is seen by two parties: the session's owner (the renter), who sees everything, and
//! the tool's creator, who sees parameters and metrics but never the renter's data: no dataset
//! id, only the dataset's hash (the lineage a promoted version keeps).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::domain::{
    Metrics, OptimizationRecord, RecordStatus, Session, SessionConfig, SessionStatus, SessionTool,
    Tool,
};
use shared::jobs::Job;
use shared::optimization::Method;
use shared::standards::{Check, StandardsReport};
use utoipa::ToSchema;
use uuid::Uuid;

/// One out-of-sample fold's metrics before and after.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoldMetrics {
    /// Fold number from 0 (time order).
    pub fold: usize,
    /// The baseline's metrics.
    pub before: Metrics,
    /// The optimized parameters' metrics.
    pub after: Metrics,
}

/// An optimization record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordView {
    /// Id.
    pub record_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The tool version whose parameters were the baseline.
    pub base_version: i32,
    /// The sampler.
    pub method: Method,
    /// Everything it ran with: trials asked, batch, folds, costs, time limit, gate thresholds.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Seed of every random choice.
    pub seed: u64,
    /// Trials evaluated.
    pub trials_run: u64,
    /// The baseline's parameters.
    #[schema(value_type = Object)]
    pub params_before: Map<String, Value>,
    /// The optimized parameters.
    #[schema(value_type = Object)]
    pub params_after: Map<String, Value>,
    /// Out-of-sample metrics per fold, before and after.
    pub folds: Vec<FoldMetrics>,
    /// Overall out-of-sample improvement as a fraction (0.15 = 15%).
    pub improvement: Option<f64>,
    /// The standards gate's report.
    pub standards_report: StandardsReport,
    /// `applied`, `promotable`, `rejected`, `promoted` or `superseded`.
    pub status: RecordStatus,
    /// The job that ran it.
    pub job_id: Uuid,
    /// SHA-256 of the session's dataset (never the data).
    pub dataset_hash: String,
    /// The session's dataset (its owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<Uuid>,
    /// The search: best in-sample improvement after each trial and why it stopped; on
    /// `GET /v1/optimizations/{id}`, for the session's owner only, also `equity`: the whole
    /// dataset backtested with the parameters before and after (each curve thinned to 500
    /// `[time, equity]` points with its `total_return`, the first out-of-sample time and the
    /// last 200 trades after), which `.../plots/equity.svg` draws.
    #[schema(value_type = Object)]
    pub search: Value,
    /// The version it became, once promoted.
    pub promoted_version: Option<i32>,
    /// The latest promotion re-check against the tool's current version. The tool's creator
    /// sees a re-check of a renter's record as its verdict and relative figures only: no
    /// metrics per fold, and no value for the checks whose value is an absolute figure.
    #[schema(value_type = Option<Object>)]
    pub last_check: Option<Value>,
    /// Promotion re-checks the tool's creator has run on it (at most
    /// `sessions.max_rechecks_per_record` on a renter's record).
    pub rechecks: u32,
    /// The creator may promote it (passed, not yet promoted).
    pub promotable: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A record's search without its equity curves.
fn without_equity(search: &Value) -> Value {
    let mut search = search.clone();
    if let Some(o) = search.as_object_mut() {
        o.remove("equity");
    }
    search
}

impl RecordView {
    /// The record without its equity curves (lists of records stay small; the record's own
    /// route has them).
    #[must_use]
    pub fn without_curves(mut self) -> Self {
        self.search = without_equity(&self.search);
        self
    }

    /// The record as its session's owner sees it (`dataset_id` given) or as the tool's
    /// creator does (`None`).
    pub fn of(r: &OptimizationRecord, dataset_id: Option<Uuid>) -> Self {
        Self {
            record_id: r.id,
            session_id: r.session_id,
            tool_id: r.tool_id,
            base_version: r.base_version,
            method: r.study.method,
            config: r.config.clone(),
            seed: r.study.seed,
            trials_run: r.trials_run,
            params_before: r.params_before.clone(),
            params_after: r.params_after.clone(),
            folds: r
                .metrics_before
                .iter()
                .zip(&r.metrics_after)
                .enumerate()
                .map(|(fold, (before, after))| FoldMetrics {
                    fold,
                    before: *before,
                    after: *after,
                })
                .collect(),
            improvement: r.improvement,
            standards_report: r.standards_report.clone(),
            status: r.status,
            job_id: r.job_id,
            dataset_hash: r.dataset_hash.clone(),
            dataset_id,
            search: match dataset_id {
                Some(_) => r.search.clone(),
                // Drawn from the renter's data: never the creator's to see.
                None => without_equity(&r.search),
            },
            promoted_version: r.promoted_version,
            last_check: if dataset_id.is_some() {
                r.last_check.clone()
            } else {
                r.last_check.as_ref().map(relative_check)
            },
            rechecks: r.rechecks,
            promotable: r.can_promote(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A re-check as the tool's creator sees it on a renter's record: what was compared and
/// decided, each check's verdict, and only the relative figures.
fn relative_check(check: &Value) -> Value {
    let mut seen = Map::new();
    for key in [
        "job_id",
        "against_version",
        "passed",
        "improvement",
        "reference_dataset_id",
        "checked_at",
    ] {
        if let Some(v) = check.get(key) {
            seen.insert(key.into(), v.clone());
        }
    }
    let checks = check
        .get("checks")
        .cloned()
        .and_then(|c| serde_json::from_value::<Vec<Check>>(c).ok())
        .unwrap_or_default();
    let checks: Vec<Check> = checks.iter().map(Check::relative).collect();
    seen.insert(
        "checks".into(),
        serde_json::to_value(checks).unwrap_or_default(),
    );
    Value::Object(seen)
}

/// A tool inserted into a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionToolView {
    /// The tool.
    pub tool_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its family.
    pub family: String,
    /// The version inserted (the baseline of every optimization in this session).
    pub base_version: i32,
    /// The parameters this session uses: the base version's, or the applied optimization's.
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// Whether `parameters` come from an optimization.
    pub optimized: bool,
    /// The applied record, if any.
    pub active_record_id: Option<Uuid>,
    /// The latest optimization job.
    pub last_job_id: Option<Uuid>,
    /// That job's status.
    pub last_job_status: Option<shared::jobs::JobStatus>,
    /// Inserted.
    pub inserted_at: DateTime<Utc>,
}

impl SessionToolView {
    /// The view of `inserted` (a tool of `tool`) with its latest job.
    pub fn of(inserted: &SessionTool, tool: Option<&Tool>, job: Option<&Job>) -> Self {
        Self {
            tool_id: inserted.tool_id,
            name: tool.map(|t| t.name.clone()).unwrap_or_default(),
            family: tool.map(|t| t.family.clone()).unwrap_or_default(),
            base_version: inserted.base_version,
            parameters: inserted.parameters.clone(),
            optimized: inserted.active_record_id.is_some(),
            active_record_id: inserted.active_record_id,
            last_job_id: inserted.last_job_id,
            last_job_status: job.map(|j| j.status),
            inserted_at: inserted.created_at,
        }
    }
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: Uuid,
    /// The owner.
    pub owner_id: Uuid,
    /// The owner's dataset.
    pub dataset_id: Uuid,
    /// Settings.
    pub config: SessionConfig,
    /// `active` or `ended`.
    pub status: SessionStatus,
    /// Set when it ended.
    pub promote_successful: Option<bool>,
    /// Inserted tools with their session-local parameters.
    pub tools: Vec<SessionToolView>,
    /// Optimization records, oldest first.
    pub optimizations: Vec<RecordView>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl SessionView {
    /// The view of `s` with its tools and records.
    pub fn of(s: &Session, tools: Vec<SessionToolView>, records: &[OptimizationRecord]) -> Self {
        Self {
            id: s.id,
            owner_id: s.owner_id,
            dataset_id: s.dataset_id,
            config: s.config,
            status: s.status,
            promote_successful: s.promote_successful,
            tools,
            optimizations: records
                .iter()
                .map(|r| RecordView::of(r, Some(s.dataset_id)).without_curves())
                .collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            ended_at: s.ended_at,
        }
    }
}
