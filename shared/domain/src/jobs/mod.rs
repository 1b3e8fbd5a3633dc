//! Jobs: the kinds of heavy work, their queues and payloads, and the rules of a job's life
//! (statuses, attempts and backoff) that the API, the workers and the store all follow.
//!
//! The store's `jobs` row is the truth users see and the only place a job's state changes; the
//! queue (apalis) only carries a job's id to a worker. A worker *claims* a job with a conditional
//! update (queued -> running, attempts + 1, a lease) before running it, and writes the outcome
//! only while it still holds that claim, so a message delivered twice runs the job once and a
//! job whose worker died is claimed again once its lease runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

mod failure;
mod payload;
mod results;

pub use failure::{FailureKind, JobFailure};
pub use payload::{
    AbTestJob, EvaluateToolJob, JobMessage, JobPayload, NoopJob, OptimizeSessionToolJob,
    PromoteRecordJob, TrainToolJob, VerifyCertificateJob,
};
pub use results::*;

/// What a job does; each kind has its own queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Evaluate a tool version on a dataset (the engine's full evaluation).
    Evaluate,
    /// Optimize a tool's parameters for one session (in-sample search, out-of-sample judgment,
    /// an optimization record).
    Optimize,
    /// Re-check an optimization record against the tool's current version and, when it still
    /// passes, make it a new tool version.
    Promote,
    /// Re-run a promotion certificate's re-check from the certificate alone and compare its
    /// metrics bit for bit (and check the certificate's seal and chain).
    Verify,
    /// Train a tool with one method (deep learning, Q-learning or the optimization engine; a
    /// hybrid run is three of these).
    Train,
    /// Does nothing but sleep cooperatively for `sleep_ms` (operators' smoke tests and the
    /// platform's own throughput benchmark; admin only).
    Noop,
    /// Evaluate two versions of a tool on the same datasets and folds and test whether their
    /// paired out-of-sample returns differ (a block bootstrap; the creator's A/B test).
    AbTest,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 7] = [
        JobKind::Evaluate,
        JobKind::Optimize,
        JobKind::Promote,
        JobKind::Verify,
        JobKind::Train,
        JobKind::Noop,
        JobKind::AbTest,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Evaluate => "evaluate",
            JobKind::Optimize => "optimize",
            JobKind::Promote => "promote",
            JobKind::Verify => "verify",
            JobKind::Train => "train",
            JobKind::Noop => "noop",
            JobKind::AbTest => "ab_test",
        }
    }

    /// The kind called `s`.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The queue its jobs travel on (before the configured prefix).
    pub fn queue(self) -> &'static str {
        self.as_str()
    }

    /// The kind whose queue is called `name`.
    pub fn from_queue(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.queue() == name)
    }

    /// How long one attempt may run before it is failed.
    pub fn timeout(self) -> Duration {
        match self {
            JobKind::Evaluate => Duration::from_secs(300),
            // Two evaluations per dataset (at most 10 datasets) and the bootstrap.
            JobKind::AbTest => Duration::from_secs(900),
            // The session's time limit (at most an hour) bounds the search; the judgment after
            // it and loading the data take the rest.
            JobKind::Optimize => Duration::from_secs(3_900),
            JobKind::Promote | JobKind::Verify => Duration::from_secs(600),
            // Budgets are bounded by the config's limits (epochs, episodes, trials).
            JobKind::Train => Duration::from_secs(3_600),
            JobKind::Noop => Duration::from_secs(60),
        }
    }

    /// Attempts before a transient failure becomes final.
    pub fn max_attempts(self) -> i32 {
        3
    }
}

/// Where a job is in its life. `succeeded`, `failed` and `canceled` are final.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (new, or back after a transient failure or a lost worker).
    Queued,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped at the owner's request; never has a result.
    Canceled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Canceled,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    /// The status called `s`.
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled
        )
    }
}

/// A job as the store keeps it and users see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Id (UUID v7).
    pub id: Uuid,
    /// What it does.
    pub kind: JobKind,
    /// The account that asked for it.
    pub owner_id: Uuid,
    /// Where it is.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing (or why it stopped).
    pub message: Option<String>,
    /// Attempts started so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Higher runs first (enterprise work).
    pub priority: i32,
    /// The worker holding (or that last held) the job.
    pub worker_id: Option<String>,
    /// The kind's input.
    pub payload: Value,
    /// The output, once succeeded.
    pub result: Option<Value>,
    /// Why it failed (or why its last attempt did, while it waits for a retry).
    pub error: Option<JobFailure>,
    /// The owner asked to cancel; workers check it between steps.
    pub cancel_requested: bool,
    /// Not to be claimed before (backoff after a transient failure).
    pub run_after: DateTime<Utc>,
    /// The running worker's claim expires then unless renewed.
    pub lease_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// First claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a final status.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Delay before attempt `attempt + 1` after a transient failure of attempt `attempt` (1-based):
/// exponential from `base`, doubled each time, capped at `cap`.
pub fn backoff(attempt: i32, base: Duration, cap: Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(exp)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(10));
        let delays: Vec<_> = (1..=6).map(|a| backoff(a, base, cap).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn names_round_trip_and_final_statuses_are_the_three_ends() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        let finals: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled]
        );
        assert_eq!(JobKind::parse("evaluate"), Some(JobKind::Evaluate));
        assert_eq!(JobKind::parse("ab_test"), Some(JobKind::AbTest));
        assert_eq!(JobKind::from_queue("ab_test"), Some(JobKind::AbTest));
    }
}
