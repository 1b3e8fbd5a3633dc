//! What a job is given: one input type per kind and [`JobPayload`], the one type the API
//! enqueues and the worker reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::JobKind;

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

/// Input of [`JobKind::AbTest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AbTestJob {
    /// The tool (the job's owner is its creator).
    pub tool_id: Uuid,
    /// The version compared against (the control).
    pub version_a: i32,
    /// The version compared (the treatment).
    pub version_b: i32,
    /// The creator's datasets, each evaluated with both versions.
    pub dataset_ids: Vec<Uuid>,
    /// Engine settings (costs, folds) as the engine reads them, the same for both versions.
    pub config: Value,
    /// The significance test's settings.
    pub test: crate::ab_test::AbTestSettings,
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
    /// The most re-checks the creator may run on this record, this one included; `None`
    /// for automatic promotions (started by the renter's session ending, not by the
    /// creator). The worker counts the re-check against it before it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_limit: Option<u32>,
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
    /// Then hold a thread of the blocking pool this long, as CPU-bound jobs do, checking for
    /// cancellation only every `blocking_check_ms` (tests of timeouts and worker slots).
    pub blocking_ms: u64,
    /// How often the blocking part checks for cancellation (10 ms when 0).
    pub blocking_check_ms: u64,
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
    /// [`JobKind::AbTest`].
    AbTest(AbTestJob),
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
            JobPayload::AbTest(_) => JobKind::AbTest,
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
            JobPayload::AbTest(p) => serde_json::to_value(p),
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
            JobKind::AbTest => JobPayload::AbTest(read(payload)?),
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
    AbTest(AbTestJob),
);

#[cfg(test)]
mod tests {
    use super::*;

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
