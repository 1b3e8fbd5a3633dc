//! The jobs part of the store: the `jobs` table users see (the truth about every job) and the
//! `workers` registry operators see. Every state change is one conditional statement, so
//! concurrent workers, a re-delivered queue message or a worker that died mid-job can never
//! make a job run twice at once, finish twice, or lose its result.
//!
//! A job's life: `queued` -> (claim) `running` -> `succeeded` | `failed` | `canceled`, or back
//! to `queued` after a transient failure (with a backoff in `run_after`) or when the running
//! worker's lease expires (the worker died). Only the holder of the current claim (worker id and
//! attempt number) can report progress or write the outcome.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::StoreResult;
use domain::jobs::{Job, JobFailure, JobKind, JobStatus};

/// A job to create (validated by the caller), `queued` and due at once.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Id chosen by the caller (UUID v7).
    pub id: Uuid,
    /// Kind.
    pub kind: JobKind,
    /// The account asking.
    pub owner_id: Uuid,
    /// Higher is taken first.
    pub priority: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The kind's input.
    pub payload: Value,
}

/// Which of an owner's jobs to list.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only jobs whose payload names this tool (`tool_id`: evaluations, A/B tests).
    pub tool_id: Option<Uuid>,
}

/// The claim a worker holds on a running job: only its holder may write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobClaim {
    /// The job.
    pub job_id: Uuid,
    /// The worker.
    pub worker_id: String,
    /// The attempt the claim started (the job's `attempts` after claiming).
    pub attempt: i32,
}

/// What the holder learns when it reports progress or renews its lease.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClaimState {
    /// The claim is still this worker's (false: the lease expired and the job moved on, or the
    /// job was finished by someone else); the worker must stop and write nothing.
    pub held: bool,
    /// The owner asked to cancel.
    pub cancel_requested: bool,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobOutcome {
    /// Done: the result is stored, progress 1.
    Succeeded {
        /// The kind's output.
        result: Value,
    },
    /// Failed for good (invalid input, timed out, or attempts used up).
    Failed {
        /// Why.
        error: JobFailure,
    },
    /// Failed for a transient reason: back to `queued`, not before `run_after`. The store turns
    /// this into `Failed` when no attempt is left.
    Retry {
        /// Why this attempt failed.
        error: JobFailure,
        /// Earliest next claim.
        run_after: DateTime<Utc>,
    },
    /// Stopped because the owner asked: no result is stored.
    Canceled,
}

/// What a recovery sweep found to (re)deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// The job.
    pub job_id: Uuid,
    /// Its kind (so its queue).
    pub kind: JobKind,
}

/// What [`JobStore::maintain_jobs`] did to keep the jobs table fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobsMaintenance {
    /// The database maintains the table itself: PostgreSQL's autovacuum is on (migration 0014
    /// makes it visit a churning jobs table early), or SQLite ran `PRAGMA optimize`.
    Automatic,
    /// Nothing was due.
    NotNeeded,
    /// Another worker is maintaining the table now.
    Busy,
    /// Planner statistics were refreshed.
    Analyzed,
    /// Dead row versions were reclaimed and statistics refreshed.
    Vacuumed,
}

/// A worker process as registered by its heartbeats.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WorkerInfo {
    /// Unique per process start (host, pid and a random suffix).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Queues it takes jobs from.
    pub queues: Vec<String>,
    /// Jobs it runs at once.
    pub concurrency: i32,
    /// Jobs it holds now.
    pub in_flight: i32,
    /// Process start.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// Set when it stopped cleanly.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// Jobs of one kind by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueCounts {
    /// The kind (and queue).
    pub queue: String,
    /// Waiting.
    pub queued: i64,
    /// Held by a worker.
    pub running: i64,
    /// Finished with a result.
    pub succeeded: i64,
    /// Finished with an error.
    pub failed: i64,
    /// Canceled.
    pub canceled: i64,
}

/// Jobs and workers in the store.
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// Inserts a queued job.
    async fn create_job(&self, new: &NewJob, now: DateTime<Utc>) -> StoreResult<Job>;

    /// Inserts queued jobs in one transaction (multi-row statements), all or none; returns them
    /// in the given order.
    async fn create_jobs(&self, new: &[NewJob], now: DateTime<Utc>) -> StoreResult<Vec<Job>>;

    /// A job by id (the caller checks who may see it).
    async fn job(&self, id: Uuid) -> StoreResult<Option<Job>>;

    /// An owner's jobs, newest first, after the cursor.
    async fn list_jobs(
        &self,
        owner: Uuid,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;

    /// Jobs of `kind` waiting (`queued`), for admission control.
    async fn queued_jobs(&self, kind: JobKind) -> StoreResult<i64>;

    /// Whether any job of `kind` is queued and due at `now` (one index probe, whatever the
    /// depth): a worker whose claim found nothing tries again only while one is.
    async fn has_due_job(&self, kind: JobKind, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Jobs of `owner` queued or running, for the per-account quota.
    async fn active_jobs(&self, owner: Uuid) -> StoreResult<i64>;

    /// When `owner`'s jobs ran since `since`: one `(start, end)` per job that ran in that
    /// window (clipped to it; a running job ends `now`), for the daily compute budget.
    async fn compute_spans(
        &self,
        owner: Uuid,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>>;

    /// Claims up to `max` due queued jobs of `kind` in one statement, in fair order: the highest
    /// priority first; within a priority, the jobs of owners with the fewest jobs of this kind
    /// running (an owner's next waiting jobs taking later turns), then the oldest. Each becomes
    /// `running`, attempts + 1, held by `worker` until `now + lease`. Empty when none is due.
    /// Concurrent claims never take the same job.
    async fn claim_jobs(
        &self,
        kind: JobKind,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        max: u32,
    ) -> StoreResult<Vec<Job>>;

    /// [`Self::claim_jobs`] of one job.
    async fn claim_job(
        &self,
        kind: JobKind,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        Ok(self
            .claim_jobs(kind, worker, now, lease, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Renews the claim's lease to `now + lease` and, when given, stores progress (clamped to
    /// 0..=1) and a message. Changes nothing when the claim is no longer held.
    async fn touch_job(
        &self,
        claim: &JobClaim,
        progress: Option<(f64, Option<&str>)>,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimState>;

    /// Ends the claimed attempt. `false` (and nothing written) when the claim is no longer held.
    async fn finish_job(
        &self,
        claim: &JobClaim,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.finish_job_with(claim, outcome, None, now).await
    }

    /// Ends several claimed attempts that carry no effect, as [`Self::finish_job`] each: those
    /// that end for good (succeeded, failed, canceled) in one statement per 500, each written
    /// only while its claim is held. Returns, in order, whether each was written.
    async fn finish_jobs(
        &self,
        done: &[(JobClaim, JobOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>>;

    /// [`JobStore::finish_job`] that, when the attempt succeeded and the claim is still held,
    /// also applies `effect` in the same transaction: both happen or neither does. An effect
    /// the current state refuses (`Conflict`) writes nothing at all.
    async fn finish_job_with(
        &self,
        claim: &JobClaim,
        outcome: &JobOutcome,
        effect: Option<&super::JobEffect>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// The owner cancels: a queued job becomes `canceled` at once; a running one gets
    /// `cancel_requested` (its worker stops at the next check); a final one is left as it is.
    /// `NotFound` for anyone but the owner.
    async fn cancel_job(&self, owner: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<Job>;

    /// The recovery sweep every worker runs: running jobs whose lease expired go back to
    /// `queued` (or to `failed` when no attempt is left); then due queued jobs not delivered
    /// within `redeliver_after` (a lost message, a retry whose backoff ended, a recovered job)
    /// are marked delivered now and returned, at most `limit`, to be pushed again.
    async fn recover_jobs(
        &self,
        now: DateTime<Utc>,
        redeliver_after: Duration,
        limit: i64,
    ) -> StoreResult<Vec<Dispatch>>;

    /// Keeps the jobs table's planner statistics fresh and reclaims the row versions claims and
    /// finishes leave behind, when the database does not (PostgreSQL with autovacuum off: a
    /// table grown from empty to a million waiting jobs was planned as if empty, and a claim
    /// scanned every waiting row). One worker at a time; cheap when nothing is due.
    async fn maintain_jobs(&self) -> StoreResult<JobsMaintenance>;

    /// Records that a job's message was pushed now.
    async fn mark_delivered(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Inserts or refreshes a worker's registration.
    async fn heartbeat_worker(&self, info: &WorkerInfo) -> StoreResult<()>;

    /// Marks a worker stopped.
    async fn stop_worker(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// Workers with a heartbeat since `since` and not stopped.
    async fn live_workers(&self, since: DateTime<Utc>) -> StoreResult<Vec<WorkerInfo>>;

    /// Per kind, how many jobs are in each status (every kind listed, zeros included).
    async fn queue_counts(&self) -> StoreResult<Vec<QueueCounts>>;
}
