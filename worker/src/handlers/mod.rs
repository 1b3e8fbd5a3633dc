//! Job handlers, one per kind: load the inputs from the store, run the pure computation off the
//! async runtime (`spawn_blocking`), and return the result. The runtime (`crate::runtime`)
//! claims, times out, retries and records; a handler only says what happened through
//! [`JobError`].

mod ab_test;
mod evaluate;
mod noop;
mod optimize;
mod promote;
mod recheck;
mod train;
mod verify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use shared::domain::certificate::CertifiedArtifact;
use shared::jobs::{FailureKind, Job, JobFailure, JobKind, JobPayload};
use shared::store::{JobEffect, Store, StoreError};

use crate::engine::EngineError;
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

impl JobOutput {
    /// A typed result (one of `shared::jobs`' result types, or the evaluation's) with no other
    /// change.
    ///
    /// # Errors
    /// [`JobError::Internal`] when the result cannot be written as JSON.
    pub fn of<T: Serialize>(result: &T) -> Result<Self, JobError> {
        Self::with_effect(result, None)
    }

    /// A typed result and the change to apply with it.
    ///
    /// # Errors
    /// [`JobError::Internal`] when the result cannot be written as JSON.
    pub fn with_effect<T: Serialize>(
        result: &T,
        effect: Option<JobEffect>,
    ) -> Result<Self, JobError> {
        let result = serde_json::to_value(result).map_err(|e| JobError::Internal {
            detail: "the job's result could not be written".into(),
            cause: e.to_string(),
        })?;
        Ok(Self { result, effect })
    }
}

/// How a job attempt went wrong, classified by what a retry can do about it.
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
    /// Something that may work next time (the store unreachable, a deadlock, a concurrent
    /// change): retried with backoff up to the job's max attempts.
    #[error("transient failure: {detail}")]
    Transient {
        /// What failed, as the job's error shows it.
        detail: String,
        /// The whole cause chain, for the log (not shown to the job's owner).
        cause: Option<String>,
    },
    /// Something a retry would meet again (a corrupt stored row, a refused write, a panic in
    /// the computation): failed at once, with the cause chain logged for the operator.
    #[error("internal failure: {detail}")]
    Internal {
        /// What failed, as the job's error shows it.
        detail: String,
        /// The whole cause chain, for the log (not shown to the job's owner).
        cause: String,
    },
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

    pub(crate) fn transient(detail: impl Into<String>) -> Self {
        JobError::Transient {
            detail: detail.into(),
            cause: None,
        }
    }

    /// The cause chain to log for this failure, when there is more than its detail.
    pub fn cause(&self) -> Option<&str> {
        match self {
            JobError::Transient { cause, .. } => cause.as_deref(),
            JobError::Internal { cause, .. } => Some(cause),
            JobError::Invalid { .. } | JobError::Canceled => None,
        }
    }

    /// What the job keeps as its `error`.
    pub fn failure(&self) -> JobFailure {
        match self {
            JobError::Invalid { title, detail } => {
                JobFailure::new(FailureKind::InvalidInput, title.clone(), detail.clone())
            }
            JobError::Transient { detail, .. } => {
                JobFailure::new(FailureKind::Transient, "Transient failure", detail.clone())
            }
            JobError::Internal { detail, .. } => {
                JobFailure::new(FailureKind::Internal, "Internal failure", detail.clone())
            }
            JobError::Canceled => {
                JobFailure::new(FailureKind::Canceled, "Canceled", "the job was canceled")
            }
        }
    }
}

/// A computation's error as the job's, under `title`: a raised stop is [`JobError::Canceled`],
/// anything else the input's fault.
pub(crate) fn engine_error(title: &'static str) -> impl Fn(EngineError) -> JobError {
    move |e| match e {
        EngineError::Stopped => JobError::Canceled,
        other => JobError::invalid(title, other.to_string()),
    }
}

/// A store error classified: only what can succeed on a retry is transient (the database
/// unreachable or shutting down, a deadlock or serialization failure, a concurrent change); a
/// row that is gone is invalid input; a corrupt row or a refused write fails at once.
impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        let cause = format!("{e:?}");
        match &e {
            StoreError::NotFound => JobError::invalid(
                "Not found",
                "a row the job needs no longer exists (deleted or ended meanwhile)",
            ),
            _ if matches!(e, StoreError::Conflict(_)) || e.is_transient() => JobError::Transient {
                detail: format!("store: {e}"),
                cause: Some(cause),
            },
            _ => JobError::Internal {
                detail: format!("store: {e}"),
                cause,
            },
        }
    }
}

/// What a running job shares with the runtime: the cancel flag it checks between steps (and
/// hands to the computation as its `compute::Stop`, checked inside its loops) and the latest
/// progress it reports (the runtime writes it to the store, throttled). The runtime raises the
/// flag on a cancel request, a lost claim or the job's timeout.
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
    let input = JobPayload::from_stored(job.kind, &job.payload)
        .map_err(|e| JobError::invalid("Invalid job payload", e.to_string()))?;
    match input {
        JobPayload::Evaluate(input) => {
            JobOutput::of(&evaluate::run(store, job.owner_id, input, control).await?)
        }
        JobPayload::Optimize(input) => optimize::run(store, job, input, control).await,
        JobPayload::Promote(input) => promote::run(store, job, input, control).await,
        JobPayload::Verify(input) => JobOutput::of(&verify::run(store, input, control).await?),
        JobPayload::Train(input) => train::run(store, job, input, control).await,
        JobPayload::Noop(input) => JobOutput::of(&noop::run(job, input, control).await?),
        JobPayload::AbTest(input) => {
            JobOutput::of(&ab_test::run(store, job.owner_id, input, control).await?)
        }
    }
}

/// Whether `account` may still use `tool`: as its creator, or through a live subscription.
/// The API checked this when the job was queued; a subscription canceled (or expired by the
/// billing pass) since then stops the job before it runs, so work never outlives the
/// entitlement that allowed it. Statuses, not the clock, decide: the billing pass is the one
/// that ends subscriptions on time.
pub(crate) async fn check_entitlement(
    store: &Arc<dyn Store>,
    tool: &shared::domain::Tool,
    account: uuid::Uuid,
) -> Result<(), JobError> {
    if tool.creator_id == account {
        return Ok(());
    }
    match store.live_subscription(tool.id, account).await? {
        Some(_) => Ok(()),
        None => Err(JobError::invalid(
            "No longer entitled",
            "the subscription that allowed this job has ended or was canceled",
        )),
    }
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
/// The job's tracing span follows the work onto that thread. A panic there is a bug that a
/// retry would meet again: the job fails at once.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| {
            if e.is_panic() {
                JobError::Internal {
                    detail: "the job's computation panicked".into(),
                    cause: format!("{e:?}"),
                }
            } else {
                JobError::transient(format!("the job's thread was stopped: {e}"))
            }
        })?
}

#[cfg(test)]
mod tests {
    use shared::store::StoreError;

    use super::JobError;

    #[test]
    fn only_store_errors_that_a_retry_can_fix_are_transient() {
        assert!(matches!(
            JobError::from(StoreError::Database(sqlx::Error::PoolTimedOut)),
            JobError::Transient { cause: Some(_), .. }
        ));
        assert!(matches!(
            JobError::from(StoreError::Conflict("the tool changed".into())),
            JobError::Transient { .. }
        ));
        assert!(matches!(
            JobError::from(StoreError::NotFound),
            JobError::Invalid { .. }
        ));
        let corrupt = JobError::from(StoreError::Corrupt("tier 'gold'".into()));
        assert!(matches!(corrupt, JobError::Internal { .. }));
        assert!(corrupt.cause().is_some_and(|c| c.contains("tier 'gold'")));
        assert_eq!(corrupt.failure().kind, shared::jobs::FailureKind::Internal);
        assert!(matches!(
            JobError::from(StoreError::Database(sqlx::Error::RowNotFound)),
            JobError::Internal { .. }
        ));
    }
}
