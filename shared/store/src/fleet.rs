//! What operators do to the job platform as a whole (the admin key): every account's jobs with
//! filters, a failed job sent back to its queue, and the queues' depth kept over time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::StoreResult;
use super::jobs::JobFilter;
use domain::jobs::Job;

/// Most samples [`FleetStore::queue_samples`] returns.
pub const MAX_QUEUE_SAMPLES: i64 = 20_000;

/// One queue's depth at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueSample {
    /// When it was taken (the sampling interval's start).
    pub at: DateTime<Utc>,
    /// The queue (job kind).
    pub queue: String,
    /// Jobs waiting.
    pub queued: i64,
    /// Jobs held by a worker.
    pub running: i64,
}

/// The operators' view of the job platform.
#[async_trait]
pub trait FleetStore: Send + Sync + std::fmt::Debug {
    /// Every account's jobs (or `owner`'s), newest first, after the cursor.
    async fn fleet_jobs(
        &self,
        owner: Option<Uuid>,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;

    /// Sends a `failed` job back to its queue, due now and marked delivered (the caller pushes
    /// its message; the recovery sweep pushes it again if that push is lost), with as many
    /// attempts again as its kind allows. Its attempt count goes on from where it was, so a
    /// worker still holding an old attempt can never write over the new one. `NotFound` for
    /// an unknown id; `Conflict` for a job that is not `failed` (two retries at once: one wins).
    async fn retry_job(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Job>;

    /// Records every queue's depth at `at` (one row per queue, zeros included; a second sample
    /// at the same `at`, from another scheduler, is ignored) and drops samples older than
    /// `keep_since`. Returns how many rows were written.
    async fn sample_queues(&self, at: DateTime<Utc>, keep_since: DateTime<Utc>)
    -> StoreResult<u64>;

    /// Samples taken at or after `since`, oldest first, at most [`MAX_QUEUE_SAMPLES`] (the
    /// newest kept).
    async fn queue_samples(&self, since: DateTime<Utc>) -> StoreResult<Vec<QueueSample>>;
}
