//! Job handlers, one per kind: load the inputs from the store, run the pure computation off the
//! async runtime (`spawn_blocking`), and return the result. The runtime (`crate::runtime`)
//! claims, times out, retries and records; a handler only says what happened through
//! [`JobError`].

mod evaluate;
mod noop;
mod optimize;
mod promote;
mod recheck;
mod train;
mod verify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shared::domain::certificate::CertifiedArtifact;
use shared::jobs::{Job, JobKind};
use shared::store::{JobEffect, Store, StoreError};

use crate::train::LoadedModel;

/// What a successful attempt produced: the job's result and, for jobs that change other state
/// (an optimization's record, a promotion's version), the change to apply atomically with it.
#[derive(Debug)]
pub struct JobOutput {
    /// Stored as the job's `result`.
    pub result: Value,
    /// Applied in the transaction that marks the job succeeded.
    pub effect: Option<JobEffect>,
}

impl From<Value> for JobOutput {
    fn from(result: Value) -> Self {
        Self {
            result,
            effect: None,
        }
    }
}

/// How a job attempt went wrong.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The input can never work (bad parameters, missing dataset): failed at once, no retry.
    #[error("{title}: {detail}")]
    Invalid {
        /// Short summary.
        title: String,
        /// What is wrong.
        detail: String,
    },
    /// Something that may work next time (the store or the queue unavailable): retried with
    /// backoff up to the job's max attempts.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The job saw its cancel flag and stopped.
    #[error("canceled")]
    Canceled,
}

impl JobError {
    pub(crate) fn invalid(title: &str, detail: impl Into<String>) -> Self {
        JobError::Invalid {
            title: title.into(),
            detail: detail.into(),
        }
    }

    /// Problem details (RFC 9457) for the job's `error`.
    pub fn problem(&self) -> Value {
        match self {
            JobError::Invalid { title, detail } => json!({
                "type": "https://smart-marketplace.dev/problems/invalid-job-input",
                "title": title,
                "status": 422,
                "detail": detail,
            }),
            JobError::Transient(detail) => json!({
                "type": "https://smart-marketplace.dev/problems/transient-failure",
                "title": "Transient failure",
                "status": 503,
                "detail": detail,
            }),
            JobError::Canceled => json!({
                "type": "https://smart-marketplace.dev/problems/canceled",
                "title": "Canceled",
                "status": 409,
                "detail": "the job was canceled",
            }),
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Transient(format!("store: {e}"))
    }
}

/// What a running job shares with the runtime: the cancel flag it checks between steps and the
/// latest progress it reports (the runtime writes it to the store, throttled).
#[derive(Debug, Default)]
pub struct JobControl {
    cancel: AtomicBool,
    progress: Mutex<Option<(f64, String)>>,
}

impl JobControl {
    /// Asks the job to stop at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the job should stop.
    pub fn is_canceled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Stops with [`JobError::Canceled`] when asked to.
    ///
    /// # Errors
    /// [`JobError::Canceled`].
    pub fn check(&self) -> Result<(), JobError> {
        if self.is_canceled() {
            Err(JobError::Canceled)
        } else {
            Ok(())
        }
    }

    /// Reports progress (0..=1) with a message.
    pub fn report(&self, progress: f64, message: impl Into<String>) {
        if let Ok(mut slot) = self.progress.lock() {
            *slot = Some((progress.clamp(0.0, 1.0), message.into()));
        }
    }

    /// Takes the progress reported since the last call.
    pub fn take_progress(&self) -> Option<(f64, String)> {
        self.progress.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// How long one attempt of `job` may run.
pub fn timeout(job: &Job) -> std::time::Duration {
    match job.kind {
        JobKind::Noop => job
            .payload
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .map_or(job.kind.timeout(), std::time::Duration::from_millis),
        kind => kind.timeout(),
    }
}

/// Runs one attempt of `job`.
///
/// # Errors
/// [`JobError`] as the kind's handler reports it.
pub async fn run(
    store: &Arc<dyn Store>,
    job: &Job,
    control: Arc<JobControl>,
) -> Result<JobOutput, JobError> {
    match job.kind {
        JobKind::Evaluate => evaluate::run(store, job, control).await.map(Into::into),
        JobKind::Optimize => optimize::run(store, job, control).await,
        JobKind::Promote => promote::run(store, job, control).await,
        JobKind::Verify => verify::run(store, job, control).await.map(Into::into),
        JobKind::Train => train::run(store, job, control).await,
        JobKind::Noop => noop::run(job, control).await.map(Into::into),
    }
}

/// Reads a job's payload as `T`; a payload that does not fit is invalid input.
pub(crate) fn payload<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::invalid("Invalid job payload", e.to_string()))
}

/// Loads a version's learned artifact, if it has one. An artifact that cannot be read fails the
/// job (it will not read better next time).
pub(crate) async fn load_model(
    store: &Arc<dyn Store>,
    artifact: Option<uuid::Uuid>,
) -> Result<Option<Arc<LoadedModel>>, JobError> {
    Ok(load_certified_model(store, artifact)
        .await?
        .map(|(model, _)| model))
}

/// [`load_model`] with the artifact's id and hash (what a certificate names).
pub(crate) async fn load_certified_model(
    store: &Arc<dyn Store>,
    artifact: Option<uuid::Uuid>,
) -> Result<Option<(Arc<LoadedModel>, CertifiedArtifact)>, JobError> {
    let Some(id) = artifact else {
        return Ok(None);
    };
    let artifact = store
        .artifact(id)
        .await?
        .ok_or_else(|| JobError::invalid("Artifact not found", "the version's artifact is gone"))?;
    let certified = CertifiedArtifact {
        id: artifact.id,
        sha256: artifact.sha256.clone(),
    };
    blocking(move || {
        LoadedModel::from_artifact(&artifact)
            .map(|m| Some((Arc::new(m), certified)))
            .map_err(|e| JobError::invalid("Unreadable artifact", e))
    })
    .await
}

/// Runs CPU-bound work on the blocking pool, never on a tokio worker thread (a busy tokio thread
/// would starve heartbeats and lease renewals).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| JobError::Transient(format!("the job's thread failed: {e}")))?
}
