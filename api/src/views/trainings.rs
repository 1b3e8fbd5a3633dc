//! JSON representations of training runs. A run's status and progress are its job's; a hybrid
//! run's are its three parts' (running while any runs, judged once all are final), and its
//! result is the winning part's with the judgment beside it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::hybrid::{HybridJudgment, PartScore, judge_hybrid};
use shared::domain::{ResolvedConfig, TrainingMethod, TrainingResult, TrainingRun};
use shared::jobs::{Job, JobStatus};
use utoipa::ToSchema;
use uuid::Uuid;

/// One part of a hybrid run.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingPartView {
    /// The part's run (readable on its own).
    pub id: Uuid,
    /// Its method.
    pub method: TrainingMethod,
    /// Its job's status.
    pub status: JobStatus,
    /// Its job's progress.
    pub progress: f64,
    /// Its job.
    pub job_id: Option<Uuid>,
    /// Its validation score, once finished.
    pub validation_score: Option<f64>,
}

/// A training run.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingView {
    /// Id.
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The creator's dataset.
    pub dataset_id: Uuid,
    /// The method.
    pub method: TrainingMethod,
    /// The config with every default filled in.
    pub config: ResolvedConfig,
    /// The version it started from.
    pub base_version: i32,
    /// The hybrid run it is part of.
    pub parent_id: Option<Uuid>,
    /// `queued`, `running`, `succeeded`, `failed` or `canceled`.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing (epoch, episode or trial), or why it stopped.
    pub message: Option<String>,
    /// Its job (a hybrid run's are its parts').
    pub job_id: Option<Uuid>,
    /// Problem details when it failed.
    #[schema(value_type = Option<Object>)]
    pub error: Option<crate::error::Problem>,
    /// The result, once finished (a hybrid run's: the winning part's).
    pub result: Option<TrainingResult>,
    /// A hybrid run's parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<TrainingPartView>>,
    /// A hybrid run's judgment: every part's validation score and why the winner won.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgment: Option<HybridJudgment>,
    /// The version made from it, once applied.
    pub applied_version: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

fn job_state(
    job: Option<&Job>,
) -> (
    JobStatus,
    f64,
    Option<String>,
    Option<crate::error::Problem>,
) {
    match job {
        Some(j) => (
            j.status,
            j.progress,
            j.message.clone(),
            j.error.as_ref().map(crate::error::Problem::of_job),
        ),
        None => (JobStatus::Queued, 0.0, None, None),
    }
}

impl TrainingView {
    /// A single-method run with its job.
    pub fn single(run: &TrainingRun, job: Option<&Job>) -> Self {
        let (status, progress, message, error) = job_state(job);
        // The result is stored with the job's success, so the two always agree.
        Self::base(run, status, progress, message, error, run.result.clone())
    }

    /// A hybrid run with its parts and their jobs.
    pub fn hybrid(run: &TrainingRun, parts: &[(TrainingRun, Option<Job>)]) -> Self {
        let views: Vec<TrainingPartView> = parts
            .iter()
            .map(|(p, job)| {
                let (status, progress, _, _) = job_state(job.as_ref());
                TrainingPartView {
                    id: p.id,
                    method: p.method,
                    status,
                    progress,
                    job_id: p.job_id,
                    validation_score: p.result.as_ref().and_then(|r| r.validation.score),
                }
            })
            .collect();
        let scores: Vec<PartScore> = views
            .iter()
            .map(|v| PartScore {
                method: v.method,
                training_id: v.id,
                status: v.status,
                score: v.validation_score,
            })
            .collect();
        let judgment = judge_hybrid(&scores);
        let progress = if views.is_empty() {
            0.0
        } else {
            views.iter().map(|v| v.progress).sum::<f64>() / views.len() as f64
        };
        let (status, message, result) = match &judgment {
            Some(j) => match j.winner_training_id {
                Some(w) => (
                    JobStatus::Succeeded,
                    Some(j.reason.clone()),
                    parts
                        .iter()
                        .find(|(p, _)| p.id == w)
                        .and_then(|(p, _)| p.result.clone()),
                ),
                None if views.iter().all(|v| v.status == JobStatus::Canceled) => {
                    (JobStatus::Canceled, Some(j.reason.clone()), None)
                }
                None => (JobStatus::Failed, Some(j.reason.clone()), None),
            },
            None if views.iter().any(|v| v.status != JobStatus::Queued) => (
                JobStatus::Running,
                Some(format!(
                    "{} of {} parts finished",
                    views.iter().filter(|v| v.status.is_final()).count(),
                    views.len()
                )),
                None,
            ),
            None => (JobStatus::Queued, None, None),
        };
        let mut view = Self::base(run, status, progress, message, None, result);
        view.parts = Some(views);
        view.judgment = judgment;
        view
    }

    fn base(
        run: &TrainingRun,
        status: JobStatus,
        progress: f64,
        message: Option<String>,
        error: Option<crate::error::Problem>,
        result: Option<TrainingResult>,
    ) -> Self {
        Self {
            id: run.id,
            tool_id: run.tool_id,
            dataset_id: run.dataset_id,
            method: run.method,
            config: run.config.clone(),
            base_version: run.base_version,
            parent_id: run.parent_id,
            status,
            progress,
            message,
            job_id: run.job_id,
            error,
            result,
            parts: None,
            judgment: None,
            applied_version: run.applied_version,
            created_at: run.created_at,
            updated_at: run.updated_at,
        }
    }
}
