//! The one way to queue a job. A job is a store row first (the outbox): [`Platform::draft`]
//! makes the row to write, the caller writes it in the transaction that creates whatever asked
//! for it (a session's tool, a training run) or with [`Platform::enqueue`] alone, and
//! [`Platform::dispatch`] pushes its message after the commit. A push that fails changes
//! nothing the caller must undo: the job stays queued and the workers' recovery sweep pushes
//! it again after `worker.redeliver_after_secs`.

use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{Job, JobPayload};
use shared::store::{JobStore, NewJob, StoreError};
use uuid::Uuid;

use crate::events::JobEvents;
use crate::queue::Queues;

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// Admission control: the kind's queue holds `queue.max_depth` waiting jobs already.
    #[error("the {queue} queue is full ({depth} jobs waiting); retry later")]
    Full {
        /// The queue.
        queue: &'static str,
        /// Jobs waiting in it.
        depth: i64,
    },
    /// The per-account quota: the owner has `limit` jobs queued or running already.
    #[error(
        "this account has {active} jobs queued or running, its limit is {limit}; retry when some have finished"
    )]
    Quota {
        /// Jobs of the owner queued or running.
        active: i64,
        /// The limit.
        limit: i64,
    },
    /// The payload could not be encoded (a bug).
    #[error("the job's input could not be encoded")]
    Encode(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The job platform's handle: the queues, the job events and admission control. Cheap to
/// clone; one per process.
#[derive(Clone, Debug)]
pub struct Platform {
    queues: Queues,
    events: JobEvents,
    max_depth: i64,
    max_active_per_account: i64,
}

impl Platform {
    /// A platform over the given queues and events, refusing work beyond `max_depth` waiting
    /// jobs of a kind or `max_active_per_account` queued or running jobs of one account.
    pub fn new(
        queues: Queues,
        events: JobEvents,
        max_depth: i64,
        max_active_per_account: i64,
    ) -> Self {
        Self {
            queues,
            events,
            max_depth,
            max_active_per_account,
        }
    }

    /// Connects the configured queues and events (Redis when `REDIS_URL` is set, else the
    /// embedded queue file and in-process events), with admission at `queue.max_depth`.
    ///
    /// # Errors
    /// When Redis cannot be reached at start or the queue file cannot be opened.
    pub async fn connect(settings: &shared::config::Settings) -> anyhow::Result<Self> {
        let queues = Queues::connect(settings).await?;
        let events = JobEvents::connect(settings).await?;
        Ok(Self::new(
            queues,
            events,
            settings.queue.max_depth,
            settings.queue.max_active_per_account,
        ))
    }

    /// The queues.
    pub fn queues(&self) -> &Queues {
        &self.queues
    }

    /// The job events.
    pub fn events(&self) -> &JobEvents {
        &self.events
    }

    /// The row of a new queued job of the payload's kind, to be written by the caller's
    /// transaction. Refuses when the owner is at its quota or the kind's queue is full. The
    /// checks are counts, not locks: requests racing past them at once may go over by their
    /// number, never without bound.
    ///
    /// # Errors
    /// [`EnqueueError::Quota`], [`EnqueueError::Full`], or the store failing to count.
    pub async fn draft(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payload: impl Into<JobPayload>,
        priority: i32,
    ) -> Result<NewJob, EnqueueError> {
        let payload = payload.into();
        let kind = payload.kind();
        if owner != PLATFORM_ACCOUNT_ID {
            let active = store.active_jobs(owner).await?;
            if active >= self.max_active_per_account {
                metrics::counter!("jobs_over_quota_total", "kind" => kind.as_str()).increment(1);
                return Err(EnqueueError::Quota {
                    active,
                    limit: self.max_active_per_account,
                });
            }
        }
        let depth = store.queued_jobs(kind).await?;
        if depth >= self.max_depth {
            metrics::counter!("jobs_refused_total", "kind" => kind.as_str()).increment(1);
            return Err(EnqueueError::Full {
                queue: kind.queue(),
                depth,
            });
        }
        Ok(NewJob {
            id: Uuid::now_v7(),
            kind,
            owner_id: owner,
            priority,
            max_attempts: kind.max_attempts(),
            payload: payload.to_value()?,
        })
    }

    /// Pushes the messages of jobs the caller has committed. Never fails: a message that
    /// cannot be pushed now is pushed again by the recovery sweep.
    pub async fn dispatch(&self, jobs: &[Job]) {
        for job in jobs {
            match self
                .queues
                .push(job.kind, shared::jobs::JobMessage { job_id: job.id })
                .await
            {
                Ok(()) => {
                    metrics::counter!("jobs_enqueued_total", "kind" => job.kind.as_str())
                        .increment(1);
                }
                Err(e) => {
                    metrics::counter!("jobs_push_failed_total", "kind" => job.kind.as_str())
                        .increment(1);
                    tracing::warn!(error = %e, job_id = %job.id,
                        "pushing a job's message failed; the recovery sweep will deliver it");
                }
            }
        }
    }

    /// Queues a job that no other row goes with: draft, write, dispatch.
    ///
    /// # Errors
    /// [`EnqueueError`]; nothing is queued then.
    pub async fn enqueue(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payload: impl Into<JobPayload>,
        priority: i32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Job, EnqueueError> {
        let new = self.draft(store, owner, payload, priority).await?;
        let job = store.create_job(&new, now).await?;
        self.dispatch(std::slice::from_ref(&job)).await;
        Ok(job)
    }
}
