//! The trainings part of the store: training runs (a hybrid run and its three parts), the
//! learned artifacts they produce, and applying a run as a new tool version.
//!
//! A run's result and artifact are written by a [`super::JobEffect::RecordTraining`], in the
//! transaction that marks its job succeeded, so a crashed or duplicated job never stores a
//! result twice or an artifact without its run.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::StoreResult;
use crate::jobs::NewJob;
pub use domain::NewArtifact;
use domain::jobs::Job;
use domain::{Artifact, ResolvedConfig, Tool, TrainingMethod, TrainingResult, TrainingRun};

/// A run to create.
#[derive(Clone, Debug)]
pub struct NewTraining {
    /// Id (chosen by the caller so a hybrid run's parts can name it).
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The creator.
    pub creator_id: Uuid,
    /// The creator's dataset.
    pub dataset_id: Uuid,
    /// The method.
    pub method: TrainingMethod,
    /// The resolved config.
    pub config: ResolvedConfig,
    /// The version it starts from.
    pub base_version: i32,
    /// The hybrid run it is part of.
    pub parent_id: Option<Uuid>,
}

/// A finished run's result (the job effect's content).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingOutcome {
    /// The run.
    pub training_id: Uuid,
    /// The job that produced it.
    pub job_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The result.
    pub result: TrainingResult,
    /// The learned artifact, if the method learns one.
    pub artifact: Option<NewArtifact>,
}

/// Applying a run: the new version's content.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingApplication {
    /// The run applied (a hybrid run's winning part).
    pub training_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The new version's parameters.
    pub parameters: Map<String, Value>,
    /// The new version's artifact: the run's, or the current version's when the run learned none.
    pub artifact_id: Option<Uuid>,
    /// Lineage of the new version (run, method, dataset hash, seed, scores).
    pub lineage: Value,
    /// Also marked applied (the hybrid run the part belongs to).
    pub parent_id: Option<Uuid>,
}

/// Training runs and artifacts in the store.
#[async_trait]
pub trait TrainingStore: Send + Sync + std::fmt::Debug {
    /// Creates runs (a hybrid run and its parts together) with the jobs that run them, each
    /// `(run id, job)`, in one transaction: all are written or none. The jobs' times are
    /// `job_now` (the platform's system clock), the runs' `now`.
    async fn create_trainings(
        &self,
        new: &[NewTraining],
        jobs: &[(Uuid, NewJob)],
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<(Vec<TrainingRun>, Vec<Job>)>;

    /// A run by id (the caller checks who may see it).
    async fn training(&self, id: Uuid) -> StoreResult<Option<TrainingRun>>;

    /// The parts of a hybrid run, in creation order.
    async fn training_parts(&self, parent: Uuid) -> StoreResult<Vec<TrainingRun>>;

    /// A tool's runs, newest first, after the cursor.
    async fn tool_trainings(
        &self,
        tool: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<TrainingRun>>;

    /// An artifact with its bytes.
    async fn artifact(&self, id: Uuid) -> StoreResult<Option<Artifact>>;

    /// Makes a new version of the tool from a finished run. `Conflict` when the run (or its
    /// hybrid run) was applied already; `NotFound` without the tool.
    async fn apply_training(
        &self,
        application: &TrainingApplication,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool>;
}
