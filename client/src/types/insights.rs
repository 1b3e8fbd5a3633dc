//! Reviews, A/B tests of versions and forecasts: what the API answers and what the calls send.
//! The A/B test's result, the renter comparison and the forecasts are the domain's own types.

use chrono::{DateTime, Utc};
use domain::jobs::JobStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use domain::ab_test::{AbTestResult, DiffStat, RenterComparison, Verdict, VersionRenters};
pub use domain::forecast::{
    DemandForecast, Forecast, ForecastScope, ForecastStatus, RevenueForecast,
};

/// A review of a tool. Its text is as its author wrote it: escape it where you render it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Review {
    /// Id.
    pub id: Uuid,
    /// The tool reviewed.
    pub tool_id: Uuid,
    /// The author's account id.
    pub author_id: Uuid,
    /// Stars, 1-5.
    pub rating: i16,
    /// Title.
    pub title: String,
    /// Body (may be empty).
    pub body: String,
    /// The creator's reply.
    pub reply: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Other members (`replied_at`, `hidden`, `updated_at`...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An account's open report of a review to the operators.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewReport {
    /// The review reported.
    pub review_id: Uuid,
    /// Who reported it (the caller).
    pub reporter_id: Uuid,
    /// Why, as given.
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What `update_review` changes: the fields left `None` stay.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReviewUpdate {
    /// Stars, 1-5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Title (1-120 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body (up to 5,000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What `start_ab_test` sends: the two versions, the creator's datasets, and the test's
/// settings (`None` for the server's defaults).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AbTestRequest {
    /// The control.
    pub version_a: i32,
    /// The treatment.
    pub version_b: i32,
    /// The caller's datasets, traded in this order.
    pub dataset_ids: Vec<Uuid>,
    /// Significance level (default 0.05).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Bootstrap resamples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resamples: Option<usize>,
    /// Block length in bars (default chosen from the number of bars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_length: Option<usize>,
    /// Seed of the resampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Folds and costs, as the API takes them (`{"folds": {...}, "costs": {...}}`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AbTestRequest {
    /// Version `a` against version `b` on `datasets`, with the default settings.
    pub fn new(a: i32, b: i32, datasets: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            version_a: a,
            version_b: b,
            dataset_ids: datasets.into_iter().collect(),
            ..Self::default()
        }
    }
}

/// An A/B test of two versions of a tool. Its id is its job's: follow it with
/// [`Client::wait_for_job`](crate::Client::wait_for_job) or
/// [`Client::watch_job`](crate::Client::watch_job).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AbTest {
    /// Id (its job's).
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The control.
    pub version_a: i32,
    /// The treatment.
    pub version_b: i32,
    /// The datasets.
    pub dataset_ids: Vec<Uuid>,
    /// Its job's status.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing, or why it stopped.
    pub message: Option<String>,
    /// The conclusion, once succeeded.
    pub verdict: Option<Verdict>,
    /// The result, once succeeded (only when read one by one, not in listings).
    pub result: Option<AbTestResult>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Other members (`error`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
