//! Row shapes of training runs and artifacts, for both backends.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::StoreError;
use domain::{Artifact, ResolvedConfig, TrainingMethod, TrainingResult, TrainingRun};

#[derive(sqlx::FromRow)]
pub(super) struct TrainingRow {
    id: Uuid,
    tool_id: Uuid,
    creator_id: Uuid,
    dataset_id: Uuid,
    method: String,
    config: Json<ResolvedConfig>,
    base_version: i32,
    parent_id: Option<Uuid>,
    job_id: Option<Uuid>,
    result: Option<Json<TrainingResult>>,
    artifact_id: Option<Uuid>,
    applied_version: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TrainingRow> for TrainingRun {
    type Error = StoreError;
    fn try_from(r: TrainingRow) -> Result<Self, StoreError> {
        Ok(TrainingRun {
            id: r.id,
            tool_id: r.tool_id,
            creator_id: r.creator_id,
            dataset_id: r.dataset_id,
            method: TrainingMethod::parse(&r.method)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown method {:?}", r.method)))?,
            config: r.config.0,
            base_version: r.base_version,
            parent_id: r.parent_id,
            job_id: r.job_id,
            result: r.result.map(|j| j.0),
            artifact_id: r.artifact_id,
            applied_version: r.applied_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ArtifactRow {
    id: Uuid,
    tool_id: Uuid,
    training_id: Uuid,
    kind: String,
    meta: Json<Value>,
    bytes: Vec<u8>,
    sha256: String,
    created_at: DateTime<Utc>,
}

impl From<ArtifactRow> for Artifact {
    fn from(r: ArtifactRow) -> Self {
        Artifact {
            id: r.id,
            tool_id: r.tool_id,
            training_id: r.training_id,
            kind: r.kind,
            meta: r.meta.0,
            bytes: r.bytes,
            sha256: r.sha256,
            created_at: r.created_at,
        }
    }
}
