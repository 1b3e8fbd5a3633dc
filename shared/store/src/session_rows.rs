//! Row shapes of sessions, their tools and optimization records, for both backends.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use super::StoreError;
use domain::optimization::Method;
use domain::standards::StandardsReport;
use domain::{
    Certificate, Metrics, OptimizationRecord, OptimizationTrial, RecordStatus, Session,
    SessionConfig, SessionStatus, SessionTool, StudySpec,
};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: Uuid,
    owner_id: Uuid,
    dataset_id: Uuid,
    config: Json<SessionConfig>,
    status: String,
    promote_successful: Option<bool>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            id: r.id,
            owner_id: r.owner_id,
            dataset_id: r.dataset_id,
            config: r.config.0,
            status: SessionStatus::parse(&r.status)
                .ok_or_else(|| corrupt("session status", &r.status))?,
            promote_successful: r.promote_successful,
            created_at: r.created_at,
            updated_at: r.updated_at,
            ended_at: r.ended_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionToolRow {
    session_id: Uuid,
    tool_id: Uuid,
    base_version: i32,
    parameters: Json<Map<String, Value>>,
    active_record_id: Option<Uuid>,
    last_job_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SessionToolRow> for SessionTool {
    fn from(r: SessionToolRow) -> Self {
        SessionTool {
            session_id: r.session_id,
            tool_id: r.tool_id,
            base_version: r.base_version,
            parameters: r.parameters.0,
            active_record_id: r.active_record_id,
            last_job_id: r.last_job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RecordRow {
    id: Uuid,
    session_id: Uuid,
    tool_id: Uuid,
    owner_id: Uuid,
    job_id: Uuid,
    base_version: i32,
    method: String,
    config: Json<Value>,
    seed: i64,
    trials_run: i64,
    params_before: Json<Map<String, Value>>,
    params_after: Json<Map<String, Value>>,
    metrics_before: Json<Vec<Metrics>>,
    metrics_after: Json<Vec<Metrics>>,
    improvement: Option<f64>,
    standards_report: Json<StandardsReport>,
    status: String,
    dataset_hash: String,
    search: Json<Value>,
    promoted_version: Option<i32>,
    last_check: Option<Json<Value>>,
    rechecks: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RecordRow> for OptimizationRecord {
    type Error = StoreError;
    fn try_from(r: RecordRow) -> Result<Self, StoreError> {
        let method = Method::parse(&r.method).ok_or_else(|| corrupt("method", &r.method))?;
        let status =
            RecordStatus::parse(&r.status).ok_or_else(|| corrupt("record status", &r.status))?;
        let trials = r
            .config
            .0
            .get("trials")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok(OptimizationRecord {
            id: r.id,
            session_id: r.session_id,
            tool_id: r.tool_id,
            owner_id: r.owner_id,
            job_id: r.job_id,
            base_version: r.base_version,
            study: StudySpec {
                method,
                trials,
                seed: u64::try_from(r.seed).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            },
            config: r.config.0,
            trials_run: u64::try_from(r.trials_run)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            params_before: r.params_before.0,
            params_after: r.params_after.0,
            metrics_before: r.metrics_before.0,
            metrics_after: r.metrics_after.0,
            improvement: r.improvement,
            standards_report: r.standards_report.0,
            status,
            dataset_hash: r.dataset_hash,
            search: r.search.0,
            promoted_version: r.promoted_version,
            last_check: r.last_check.map(|j| j.0),
            rechecks: u32::try_from(r.rechecks).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TrialRow {
    trial: i64,
    params: Json<Map<String, Value>>,
    score: Option<f64>,
    num_trades: f64,
    sharpe: Option<f64>,
    information_ratio: Option<f64>,
    metrics: Json<Vec<Metrics>>,
}

impl From<TrialRow> for OptimizationTrial {
    fn from(r: TrialRow) -> Self {
        OptimizationTrial {
            trial: u64::try_from(r.trial).unwrap_or_default(),
            params: r.params.0,
            score: r.score,
            num_trades: r.num_trades,
            sharpe: r.sharpe,
            information_ratio: r.information_ratio,
            metrics: r.metrics.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CertificateRow {
    tool_id: Uuid,
    version: i32,
    body: String,
    hash: String,
    previous_hash: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<CertificateRow> for Certificate {
    fn from(r: CertificateRow) -> Self {
        Certificate {
            tool_id: r.tool_id,
            version: r.version,
            body: r.body,
            hash: r.hash,
            previous_hash: r.previous_hash,
            created_at: r.created_at,
        }
    }
}
