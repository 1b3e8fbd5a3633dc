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
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 6] = [
        JobKind::Evaluate,
        JobKind::Optimize,
        JobKind::Promote,
        JobKind::Verify,
        JobKind::Train,
        JobKind::Noop,
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

/// Why a job attempt failed, as the job keeps it. No HTTP here: the API shows it as problem
/// details, with a status and a `type` of its own scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredFailure")]
pub struct JobFailure {
    /// What kind of failure (what a retry can do about it).
    pub kind: FailureKind,
    /// Short summary.
    pub title: String,
    /// What happened this time.
    pub detail: String,
}

/// The kinds of [`JobFailure`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The input can never work (bad parameters, a missing dataset): not retried.
    InvalidInput,
    /// Might work next time (the store unreachable, a deadlock): retried with backoff.
    Transient,
    /// A retry would meet it again (a corrupt row, a refused write, a panic): not retried.
    Internal,
    /// Ran longer than the kind's timeout.
    TimedOut,
    /// Its effect no longer applied to the current state; the job runs again.
    Conflict,
    /// Stopped at the owner's request.
    Canceled,
    /// The worker running it stopped responding on the last attempt.
    WorkerLost,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 7] = [
        FailureKind::InvalidInput,
        FailureKind::Transient,
        FailureKind::Internal,
        FailureKind::TimedOut,
        FailureKind::Conflict,
        FailureKind::Canceled,
        FailureKind::WorkerLost,
    ];

    /// The name stored (`invalid_input`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::InvalidInput => "invalid_input",
            FailureKind::Transient => "transient",
            FailureKind::Internal => "internal",
            FailureKind::TimedOut => "timed_out",
            FailureKind::Conflict => "conflict",
            FailureKind::Canceled => "canceled",
            FailureKind::WorkerLost => "worker_lost",
        }
    }
}

impl JobFailure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            detail: detail.into(),
        }
    }
}

/// A stored failure: `{kind, title, detail}`, or the problem details that jobs stored before
/// (`{type, title, status, detail}`), read by the last segment of their `type`.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredFailure {
    Typed {
        kind: FailureKind,
        title: String,
        detail: String,
    },
    Problem {
        #[serde(rename = "type")]
        kind: String,
        title: String,
        #[serde(default)]
        detail: String,
    },
}

impl From<StoredFailure> for JobFailure {
    fn from(stored: StoredFailure) -> Self {
        match stored {
            StoredFailure::Typed {
                kind,
                title,
                detail,
            } => Self {
                kind,
                title,
                detail,
            },
            StoredFailure::Problem {
                kind,
                title,
                detail,
            } => {
                let kind = match kind.rsplit('/').next().unwrap_or_default() {
                    "invalid-job-input" => FailureKind::InvalidInput,
                    "transient-failure" => FailureKind::Transient,
                    "timed-out" => FailureKind::TimedOut,
                    "conflict" => FailureKind::Conflict,
                    "canceled" => FailureKind::Canceled,
                    _ if title == "Worker lost" => FailureKind::WorkerLost,
                    _ => FailureKind::Internal,
                };
                Self {
                    kind,
                    title,
                    detail,
                }
            }
        }
    }
}

/// What travels on a queue: only the id; everything else is read from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job.
    pub job_id: Uuid,
}

/// Input of [`JobKind::Evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluateToolJob {
    /// The tool.
    pub tool_id: Uuid,
    /// The version evaluated (the current one when the job was created).
    pub version: i32,
    /// The dataset (the owner's).
    pub dataset_id: Uuid,
    /// Engine settings (commission, slippage, folds, ...) as the engine reads them.
    pub config: Value,
}

/// Input of [`JobKind::Optimize`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizeSessionToolJob {
    /// The session (its dataset and settings).
    pub session_id: Uuid,
    /// The tool inserted into it.
    pub tool_id: Uuid,
    /// The study.
    pub study: crate::StudySpec,
}

/// Input of [`JobKind::Promote`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromoteRecordJob {
    /// The optimization record to promote.
    pub record_id: Uuid,
    /// Started by the tool's `auto_promote` when its session ended (not by the creator).
    pub auto: bool,
}

/// Result of [`JobKind::Promote`]: the re-check's verdict and, when it passed, the version made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromotionOutcome {
    /// The optimization record.
    pub record_id: Uuid,
    /// Whether the candidate passed the gate against the tool's current version.
    pub passed: bool,
    /// The version it was judged against (the tool's current one at the re-check).
    pub against_version: i32,
    /// The version created (only when it passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The gate's report of the re-check.
    pub standards_report: crate::standards::StandardsReport,
}

/// Input of [`JobKind::Train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainToolJob {
    /// The run (its tool, dataset, method and config).
    pub training_id: Uuid,
}

/// Input of [`JobKind::Verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyCertificateJob {
    /// The tool.
    pub tool_id: Uuid,
    /// The version whose certificate is verified.
    pub version: i32,
}

/// Input of [`JobKind::Noop`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NoopJob {
    /// How long to sleep (checking for cancellation every 10 ms).
    pub sleep_ms: u64,
    /// This job's own timeout instead of the kind's.
    pub timeout_ms: Option<u64>,
    /// Fail with a transient error on the first `fail_attempts` attempts (tests of retries).
    pub fail_attempts: i32,
}

/// A job's input, one variant per kind: the one type the API enqueues and the worker reads, so
/// a payload cannot be written for one kind and read as another. Stored as the variant's JSON
/// next to its [`JobKind`].
#[derive(Clone, Debug, PartialEq)]
pub enum JobPayload {
    /// [`JobKind::Evaluate`].
    Evaluate(EvaluateToolJob),
    /// [`JobKind::Optimize`].
    Optimize(OptimizeSessionToolJob),
    /// [`JobKind::Promote`].
    Promote(PromoteRecordJob),
    /// [`JobKind::Verify`].
    Verify(VerifyCertificateJob),
    /// [`JobKind::Train`].
    Train(TrainToolJob),
    /// [`JobKind::Noop`].
    Noop(NoopJob),
}

impl JobPayload {
    /// The kind (and queue) of this payload.
    pub fn kind(&self) -> JobKind {
        match self {
            JobPayload::Evaluate(_) => JobKind::Evaluate,
            JobPayload::Optimize(_) => JobKind::Optimize,
            JobPayload::Promote(_) => JobKind::Promote,
            JobPayload::Verify(_) => JobKind::Verify,
            JobPayload::Train(_) => JobKind::Train,
            JobPayload::Noop(_) => JobKind::Noop,
        }
    }

    /// The JSON stored in the job's `payload`.
    ///
    /// # Errors
    /// When a value cannot be written as JSON (a non-finite number in an engine config).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        match self {
            JobPayload::Evaluate(p) => serde_json::to_value(p),
            JobPayload::Optimize(p) => serde_json::to_value(p),
            JobPayload::Promote(p) => serde_json::to_value(p),
            JobPayload::Verify(p) => serde_json::to_value(p),
            JobPayload::Train(p) => serde_json::to_value(p),
            JobPayload::Noop(p) => serde_json::to_value(p),
        }
    }

    /// Reads a stored job's payload as its kind's input.
    ///
    /// # Errors
    /// When the JSON does not fit the kind's input.
    pub fn from_stored(kind: JobKind, payload: &Value) -> Result<Self, serde_json::Error> {
        fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(v)
        }
        Ok(match kind {
            JobKind::Evaluate => JobPayload::Evaluate(read(payload)?),
            JobKind::Optimize => JobPayload::Optimize(read(payload)?),
            JobKind::Promote => JobPayload::Promote(read(payload)?),
            JobKind::Verify => JobPayload::Verify(read(payload)?),
            JobKind::Train => JobPayload::Train(read(payload)?),
            JobKind::Noop => JobPayload::Noop(read(payload)?),
        })
    }
}

macro_rules! payload_from {
    ($($variant:ident($input:ty)),* $(,)?) => {
        $(impl From<$input> for JobPayload {
            fn from(input: $input) -> Self {
                JobPayload::$variant(input)
            }
        })*
    };
}

payload_from!(
    Evaluate(EvaluateToolJob),
    Optimize(OptimizeSessionToolJob),
    Promote(PromoteRecordJob),
    Verify(VerifyCertificateJob),
    Train(TrainToolJob),
    Noop(NoopJob),
);

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
    fn failures_round_trip_and_earlier_problem_details_read_as_their_kind() {
        for kind in FailureKind::ALL {
            let failure = JobFailure::new(kind, "Title", "detail");
            let stored = serde_json::to_value(&failure).expect("serializes");
            assert_eq!(stored["kind"], kind.as_str());
            let back: JobFailure = serde_json::from_value(stored).expect("reads back");
            assert_eq!(back, failure);
        }
        let earlier = |kind: &str, title: &str| -> JobFailure {
            serde_json::from_value(serde_json::json!({
                "type": kind, "title": title, "status": 500, "detail": "d"
            }))
            .expect("reads an earlier problem")
        };
        let site = "https://smart-marketplace.dev/problems/";
        assert_eq!(
            earlier(&format!("{site}invalid-job-input"), "Bad").kind,
            FailureKind::InvalidInput
        );
        assert_eq!(
            earlier(&format!("{site}timed-out"), "Timed out").kind,
            FailureKind::TimedOut
        );
        assert_eq!(
            earlier("about:blank", "Worker lost").kind,
            FailureKind::WorkerLost
        );
        assert_eq!(earlier("about:blank", "Other").kind, FailureKind::Internal);
        assert_eq!(earlier("about:blank", "Other").detail, "d");
    }

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
    }

    #[test]
    fn a_payload_round_trips_through_its_kind_and_refuses_another_kinds_json() {
        let payload = JobPayload::from(VerifyCertificateJob {
            tool_id: Uuid::nil(),
            version: 3,
        });
        assert_eq!(payload.kind(), JobKind::Verify);
        let stored = payload.to_value().expect("json");
        assert_eq!(
            JobPayload::from_stored(JobKind::Verify, &stored).expect("reads"),
            payload
        );
        assert!(JobPayload::from_stored(JobKind::Train, &stored).is_err());
        let noop = JobPayload::from(NoopJob::default());
        assert_eq!(
            JobPayload::from_stored(JobKind::Noop, &noop.to_value().expect("json")).expect("reads"),
            noop
        );
    }
}
