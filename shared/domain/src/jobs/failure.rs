//! Why a job attempt failed, as the job keeps it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
}
