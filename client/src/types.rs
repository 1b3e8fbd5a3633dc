//! What the API answers and what the calls send, typed. Each answer keeps the members this
//! version does not name in `extra`, so a newer server's additions are not lost.

use chrono::{DateTime, Utc};
use domain::jobs::{JobKind, JobStatus};
use domain::optimization::Method;
use domain::session::{RecordStatus, SessionConfig, SessionStatus};
use domain::standards::StandardsReport;
use domain::subscription::SubscriptionStatus;
use domain::tier::Tier;
use domain::training::TrainingMethod;
use domain::{Money, TransactionKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use domain::stats::{CreatorStats, MarketplaceStats, ToolAnalytics};

use crate::error::Problem;

mod insights;

pub use insights::*;

/// An account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Sandbox credit.
    pub balance: Money,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A new account and its key (shown once).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Signup {
    /// The account.
    pub account: Account,
    /// Its API key.
    pub api_key: String,
}

/// A tool for rent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tool {
    /// Id.
    pub id: Uuid,
    /// Its creator.
    pub creator_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// Family (`GET /v1/families`).
    pub family: String,
    /// Monthly price at the basic tier.
    pub monthly_price: Money,
    /// Lowest tier it is rented at.
    pub tier: Tier,
    /// Current parameters.
    pub parameters: Map<String, Value>,
    /// Free-form metadata.
    pub metadata: Map<String, Value>,
    /// Current version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members (standards, auto-promotion, artifact).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What `create_tool` sends. `family` may be left out: the server then takes the first family
/// whose parameters accept `parameters` (the seed's `{"threshold", "lookback_period"}` is
/// `momentum`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct NewTool {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category (`trading`, `analysis`).
    pub category: String,
    /// Family, or `None` to let the parameters choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Monthly price at the basic tier, in currency units with at most two decimals.
    pub monthly_price: f64,
    /// Lowest tier (default basic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Parameters (an object; omitted ones take the family's defaults).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub parameters: Value,
    /// Free-form metadata (an object).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub metadata: Value,
}

/// `list_tools`' filters (the seed's `category, tier, max_price, creator_id`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ToolFilter {
    /// Exact category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Exact minimum tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Monthly price at most this (currency units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
    /// Tools of this creator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<Uuid>,
    /// Exact family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// Whether the caller may use a tool, and through what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Access {
    /// May use it now.
    pub has_access: bool,
    /// `creator`, `subscription` or `none`.
    pub via: String,
    /// The subscription giving access.
    pub subscription_id: Option<Uuid>,
    /// Its tier.
    pub tier: Option<Tier>,
    /// Until when.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A subscription.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    /// Id.
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The renter.
    pub subscriber_id: Uuid,
    /// Tier.
    pub tier: Tier,
    /// `active`, `past_due`, `canceled`, `expired`.
    pub status: SubscriptionStatus,
    /// Start of the period paid for.
    pub current_period_start: DateTime<Utc>,
    /// Its end.
    pub current_period_end: DateTime<Utc>,
    /// Renews at the period's end.
    pub auto_renew: bool,
    /// Ends at the period's end.
    pub cancel_at_period_end: bool,
    /// Monthly price at its tier.
    pub price: Money,
    /// Access lasts until.
    pub access_until: DateTime<Utc>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A new subscription and what it charged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscribed {
    /// The subscription.
    pub subscription: Subscription,
    /// The charge (its periods, the creator's and the platform's shares).
    pub charge: Charge,
}

/// Money moved by a subscription or its cancellation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Charge {
    /// In all.
    pub amount: Money,
    /// Line by period.
    pub periods: Vec<Value>,
}

/// A canceled subscription and its refund.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cancellation {
    /// The subscription after the change.
    pub subscription: Subscription,
    /// What was refunded (zero when it ends at the period's end).
    pub refund: Charge,
}

/// A line of the caller's ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Id.
    pub id: Uuid,
    /// The transaction it belongs to.
    pub transaction_id: Uuid,
    /// What moved the money.
    pub kind: TransactionKind,
    /// Signed amount (credit positive).
    pub amount: Money,
    /// What it says.
    pub memo: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A dataset of bars.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dataset {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Bars.
    pub rows: u64,
    /// First bar.
    pub start: DateTime<Utc>,
    /// Last bar.
    pub end: DateTime<Utc>,
    /// Median spacing (`1d`, `1h`...).
    pub frequency: String,
    /// `upload` or `generator`.
    pub source: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members (hash, generator, return statistics).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A session in a listing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Id.
    pub id: Uuid,
    /// Its dataset.
    pub dataset_id: Uuid,
    /// `active` or `ended`.
    pub status: SessionStatus,
    /// Settings.
    pub config: SessionConfig,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// A session with its tools and optimization records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Id.
    pub id: Uuid,
    /// Its dataset.
    pub dataset_id: Uuid,
    /// Settings.
    pub config: SessionConfig,
    /// `active` or `ended`.
    pub status: SessionStatus,
    /// Inserted tools.
    pub tools: Vec<SessionTool>,
    /// Optimization records, oldest first.
    pub optimizations: Vec<Record>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// A tool as a session holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionTool {
    /// The tool.
    pub tool_id: Uuid,
    /// Session-local parameters.
    pub parameters: Map<String, Value>,
    /// Other members (name, version, the latest job).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An optimization record: parameters before and after, the folds, the standards gate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Id (what `promote_optimization` takes).
    pub record_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// Its tool.
    pub tool_id: Uuid,
    /// The version it started from.
    pub base_version: i32,
    /// Optimizer.
    pub method: Method,
    /// Trials run.
    pub trials_run: u64,
    /// Parameters before.
    pub params_before: Map<String, Value>,
    /// Parameters after.
    pub params_after: Map<String, Value>,
    /// Overall improvement (0.15 is 15%).
    pub improvement: Option<f64>,
    /// The standards gate's report: every check, its value, threshold and verdict.
    pub standards_report: StandardsReport,
    /// `passed`, `failed`, `promoted`...
    pub status: RecordStatus,
    /// The version it became, once promoted.
    pub promoted_version: Option<i32>,
    /// Whether its tool's creator may promote it now.
    pub promotable: bool,
    /// The job that made it.
    pub job_id: Uuid,
    /// Other members (folds, search, rechecks).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `insert_tool_into_session`'s `optimization_config`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OptimizationConfig {
    /// Optimizer (default bayesian).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Trials (default the server's, capped by the tier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trials: Option<u64>,
    /// The seed's name for trials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u64>,
    /// Seed (default the session's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl OptimizationConfig {
    /// The seed's `{"epochs": n}`: `n` trials.
    pub fn epochs(n: u64) -> Self {
        Self {
            epochs: Some(n),
            ..Self::default()
        }
    }
}

/// A tool inserted into a session and, with `auto_optimize`, its optimization job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inserted {
    /// The tool as the session holds it.
    pub session_tool: SessionTool,
    /// The optimization job.
    pub job: Option<Job>,
}

/// An ended session and what it made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndedSession {
    /// The session after the change.
    pub session: Session,
    /// Records now listed for their tools' creators.
    pub candidates: Vec<Record>,
    /// Promotion jobs started for tools with auto-promotion.
    pub promotion_jobs: Vec<Job>,
}

/// A job: work on a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: Uuid,
    /// What it does.
    pub kind: JobKind,
    /// `queued`, `running`, `succeeded`, `failed`, `canceled`.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing, or why it stopped.
    pub message: Option<String>,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The output, once succeeded.
    pub result: Option<Value>,
    /// Why it failed.
    pub error: Option<Problem>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Training {
    /// Id.
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The creator's dataset.
    pub dataset_id: Uuid,
    /// How it trains.
    pub method: TrainingMethod,
    /// Status of the run (a hybrid's: of its three parts together).
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// Latest message.
    pub message: Option<String>,
    /// Its job (the first part's for a hybrid).
    pub job_id: Option<Uuid>,
    /// Why it failed.
    pub error: Option<Problem>,
    /// Metrics, curves and the learned tool, once succeeded.
    pub result: Option<Value>,
    /// A hybrid's judgment of its parts.
    pub judgment: Option<Value>,
    /// The version it became, once applied.
    pub applied_version: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members (config, parts).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A started training and its jobs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingStarted {
    /// The run.
    pub training: Training,
    /// Every job of the run (one, or three for a hybrid).
    pub jobs: Vec<Job>,
}

/// A version of a tool.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    /// Number.
    pub version: i32,
    /// Its parameters.
    pub parameters: Map<String, Value>,
    /// `created`, `promotion`, `training`, `rollback`.
    pub source: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Other members (lineage, artifact).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Envelopes the API wraps single resources in.
#[derive(Deserialize)]
pub(crate) struct Wrapped<T> {
    #[serde(
        alias = "tool",
        alias = "subscription",
        alias = "account",
        alias = "dataset",
        alias = "job",
        alias = "training",
        alias = "optimization",
        alias = "version",
        alias = "access",
        alias = "review",
        alias = "report",
        alias = "ab_test"
    )]
    pub(crate) inner: T,
}
