//! `train`: trains a tool with one method on its creator's dataset. The run's result and its
//! learned artifact are stored with the job's success (a [`JobEffect`]); the tool itself only
//! changes when the creator applies the run.

use std::sync::Arc;
use std::time::Instant;

use sha2::Digest as _;
use shared::domain::{ArtifactSummary, TrainingResult};
use shared::evaluation::EvalConfig;
use shared::jobs::{Job, TrainToolJob, TrainingSummary};
use shared::store::{JobEffect, Store, TrainingOutcome};

use super::{JobControl, JobError, JobOutput, blocking, load_model};
use crate::Stop;
use crate::train::{Hooks, TrainError, TrainInput, train_tool};

pub(super) async fn run(
    store: &Arc<dyn Store>,
    job: &Job,
    input: TrainToolJob,
    control: Arc<JobControl>,
) -> Result<JobOutput, JobError> {
    control.report(0.01, "loading the run, the tool and the dataset");
    let run = store
        .training(input.training_id)
        .await?
        .ok_or_else(|| JobError::invalid("Training not found", "the run no longer exists"))?;
    let tool = store
        .tool(run.tool_id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| JobError::invalid("Tool not found", "the tool was deleted"))?;
    let version = store
        .tool_versions(tool.id)
        .await?
        .into_iter()
        .find(|v| v.version == run.base_version)
        .ok_or_else(|| JobError::invalid("Version not found", "the base version is gone"))?;
    let dataset = store
        .dataset(run.creator_id, run.dataset_id)
        .await?
        .ok_or_else(|| JobError::invalid("Dataset not found", "the dataset was deleted"))?;
    let bars = store
        .dataset_bars(dataset.id)
        .await?
        .ok_or_else(|| JobError::invalid("Dataset not found", "the dataset was deleted"))?;
    let base_model = load_model(store, version.artifact_id).await?;
    control.check()?;

    let standards = tool.standards();
    let method = run.method;
    let config = run.config.clone();
    let seed = config.seed;
    let family = tool.family.clone();
    let started = Instant::now();
    let trained = blocking({
        let control = control.clone();
        move || {
            let progress = |p: f64, m: String| control.report(p, m);
            let stop = || control.is_canceled();
            let input = TrainInput {
                bars: &bars,
                family: &family,
                params: &version.parameters,
                base_model: base_model.as_deref(),
                eval: EvalConfig {
                    commission: config.commission,
                    slippage: config.slippage,
                    ..EvalConfig::default()
                },
                standards: &standards,
                config: &config,
            };
            let trained = train_tool(
                method,
                &input,
                Hooks {
                    progress: &progress,
                    stop: Stop::new(&stop),
                },
            )
            .map_err(|e| match e {
                TrainError::Canceled => JobError::Canceled,
                TrainError::Invalid(detail) => JobError::invalid("Cannot train", detail),
            })?;
            control.check()?;
            let artifact = trained.model.as_ref().map(|m| (m.to_artifact(), m.shape()));
            Ok((trained, artifact))
        }
    })
    .await;
    let (trained, artifact) = trained?;
    let summary = artifact.as_ref().map(|(a, shape)| ArtifactSummary {
        id: a.id,
        kind: a.kind.clone(),
        size_bytes: a.bytes.len() as u64,
        shape: shape.clone(),
        sha256: hex::encode(sha2::Sha256::digest(&a.bytes)),
    });
    let result = TrainingResult {
        method,
        parameters: trained.parameters,
        artifact: summary,
        metrics: trained.metrics,
        baseline: trained.baseline,
        splits: trained.splits,
        validation: trained.validation,
        curves: trained.curves,
        details: trained.details,
        duration_ms: started.elapsed().as_millis() as u64,
        seed,
        dataset_hash: dataset.content_hash,
    };
    let summary = TrainingSummary {
        training_id: run.id,
        method,
        validation_score: result.validation.score,
        artifact: result.artifact.clone(),
    };
    JobOutput::with_effect(
        &summary,
        Some(JobEffect::RecordTraining(Box::new(TrainingOutcome {
            training_id: run.id,
            job_id: job.id,
            tool_id: tool.id,
            result,
            artifact: artifact.map(|(a, _)| a),
        }))),
    )
}
