//! Row shapes shared by both backends and their conversion into domain types. `FromRow` derives
//! are generic over the database, so one definition serves SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use super::{ApiKeyInfo, InvoiceLine, StoreError, WorkerInfo};
use domain::dataset::stats::ReturnStats;
use domain::dataset::synth::GeneratorSpec;
use domain::jobs::{Job, JobFailure, JobKind, JobStatus};
use domain::{
    Account, AccountKind, Dataset, DatasetSource, LedgerEntry, Money, Subscription,
    SubscriptionStatus, Tier, Tool, ToolVersion, TransactionKind,
};

fn corrupt(e: String) -> StoreError {
    StoreError::Corrupt(e)
}

#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
    id: Uuid,
    name: String,
    kind: String,
    balance_cents: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            id: r.id,
            name: r.name,
            kind: AccountKind::parse(&r.kind).map_err(corrupt)?,
            balance: Money::from_cents(r.balance_cents),
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ApiKeyRow {
    id: Uuid,
    prefix: String,
    label: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKeyInfo {
    fn from(r: ApiKeyRow) -> Self {
        Self {
            id: r.id,
            prefix: r.prefix,
            label: r.label,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ToolRow {
    id: Uuid,
    creator_id: Uuid,
    name: String,
    description: String,
    category: String,
    family: String,
    price_cents: i64,
    tier: String,
    metadata: Json<Map<String, Value>>,
    current_version: i32,
    parameters: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    standards: Option<Json<domain::standards::StandardsConfig>>,
    auto_promote: bool,
    reference_dataset_id: Option<Uuid>,
    artifact_id: Option<Uuid>,
    rating_count: i64,
    rating_sum: i64,
}

impl TryFrom<ToolRow> for Tool {
    type Error = StoreError;
    fn try_from(r: ToolRow) -> Result<Self, StoreError> {
        Ok(Tool {
            id: r.id,
            creator_id: r.creator_id,
            name: r.name,
            description: r.description,
            category: r.category,
            family: r.family,
            monthly_price: Money::from_cents(r.price_cents),
            tier: Tier::parse(&r.tier).map_err(corrupt)?,
            metadata: r.metadata.0,
            current_version: r.current_version,
            parameters: r.parameters.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            standards: r.standards.map(|j| j.0),
            auto_promote: r.auto_promote,
            reference_dataset_id: r.reference_dataset_id,
            artifact_id: r.artifact_id,
            rating: domain::Rating {
                count: r.rating_count,
                sum: r.rating_sum,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct VersionRow {
    tool_id: Uuid,
    version: i32,
    parameters: Json<Map<String, Value>>,
    source: String,
    created_at: DateTime<Utc>,
    lineage: Option<Json<Value>>,
    artifact_id: Option<Uuid>,
}

impl From<VersionRow> for ToolVersion {
    fn from(r: VersionRow) -> Self {
        ToolVersion {
            tool_id: r.tool_id,
            version: r.version,
            parameters: r.parameters.0,
            source: r.source,
            created_at: r.created_at,
            lineage: r.lineage.map(|j| j.0),
            artifact_id: r.artifact_id,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SubscriptionRow {
    id: Uuid,
    tool_id: Uuid,
    subscriber_id: Uuid,
    tier: String,
    status: String,
    price_cents: i64,
    anchor_at: DateTime<Utc>,
    periods_paid: i32,
    auto_renew: bool,
    cancel_at_period_end: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    grace_until: Option<DateTime<Utc>>,
    next_retry_at: Option<DateTime<Utc>>,
    retry_count: i32,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;
    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        Ok(Subscription {
            id: r.id,
            tool_id: r.tool_id,
            subscriber_id: r.subscriber_id,
            tier: Tier::parse(&r.tier).map_err(corrupt)?,
            status: SubscriptionStatus::parse(&r.status).map_err(corrupt)?,
            price: Money::from_cents(r.price_cents),
            anchor_at: r.anchor_at,
            periods_paid: u32::try_from(r.periods_paid).map_err(|e| corrupt(e.to_string()))?,
            auto_renew: r.auto_renew,
            cancel_at_period_end: r.cancel_at_period_end,
            created_at: r.created_at,
            updated_at: r.updated_at,
            ended_at: r.ended_at,
            grace_until: r.grace_until,
            next_retry_at: r.next_retry_at,
            retry_count: u32::try_from(r.retry_count).map_err(|e| corrupt(e.to_string()))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    id: Uuid,
    transaction_id: Uuid,
    account_id: Uuid,
    amount_cents: i64,
    kind: String,
    subscription_id: Option<Uuid>,
    period_start: Option<DateTime<Utc>>,
    period_end: Option<DateTime<Utc>>,
    memo: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for LedgerEntry {
    type Error = StoreError;
    fn try_from(r: EntryRow) -> Result<Self, StoreError> {
        Ok(LedgerEntry {
            id: r.id,
            transaction_id: r.transaction_id,
            account_id: r.account_id,
            amount: Money::from_cents(r.amount_cents),
            kind: TransactionKind::parse(&r.kind).map_err(corrupt)?,
            subscription_id: r.subscription_id,
            period_start: r.period_start,
            period_end: r.period_end,
            memo: r.memo,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct InvoiceRow {
    id: Uuid,
    kind: String,
    period_start: Option<DateTime<Utc>>,
    period_end: Option<DateTime<Utc>>,
    amount_cents: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<InvoiceRow> for InvoiceLine {
    type Error = StoreError;
    fn try_from(r: InvoiceRow) -> Result<Self, StoreError> {
        let missing = || corrupt("charge or refund without a period".into());
        Ok(InvoiceLine {
            transaction_id: r.id,
            kind: TransactionKind::parse(&r.kind).map_err(corrupt)?,
            period_start: r.period_start.ok_or_else(missing)?,
            period_end: r.period_end.ok_or_else(missing)?,
            // The subscriber's entry is a debit for a charge: the invoice shows it as paid.
            amount: Money::from_cents(-r.amount_cents),
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DatasetRow {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    row_count: i64,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    frequency: String,
    periods_per_year: f64,
    content_hash: String,
    source: String,
    generator: Option<Json<GeneratorSpec>>,
    stats: Json<ReturnStats>,
    created_at: DateTime<Utc>,
}

impl TryFrom<DatasetRow> for Dataset {
    type Error = StoreError;
    fn try_from(r: DatasetRow) -> Result<Self, StoreError> {
        let source = match (r.source.as_str(), r.generator) {
            ("upload", None) => DatasetSource::Upload,
            ("generator", Some(Json(spec))) => DatasetSource::Generator(spec),
            (other, _) => {
                return Err(corrupt(format!(
                    "dataset source {other:?} with(out) a generator"
                )));
            }
        };
        Ok(Dataset {
            id: r.id,
            owner_id: r.owner_id,
            name: r.name,
            rows: u64::try_from(r.row_count).map_err(|e| corrupt(e.to_string()))?,
            start: r.start_at,
            end: r.end_at,
            frequency: r.frequency,
            periods_per_year: r.periods_per_year,
            content_hash: r.content_hash,
            source,
            stats: r.stats.0,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: Uuid,
    kind: String,
    owner_id: Uuid,
    status: String,
    progress: f64,
    message: Option<String>,
    attempts: i32,
    max_attempts: i32,
    priority: i32,
    worker_id: Option<String>,
    payload: Json<Value>,
    result: Option<Json<Value>>,
    error: Option<Json<JobFailure>>,
    cancel_requested: bool,
    run_after: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        Ok(Job {
            id: r.id,
            kind: JobKind::parse(&r.kind)
                .ok_or_else(|| corrupt(format!("job {}: unknown kind {:?}", r.id, r.kind)))?,
            owner_id: r.owner_id,
            status: JobStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("job {}: unknown status {:?}", r.id, r.status)))?,
            progress: r.progress,
            message: r.message,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            priority: r.priority,
            worker_id: r.worker_id,
            payload: r.payload.0,
            result: r.result.map(|j| j.0),
            error: r.error.map(|j| j.0),
            cancel_requested: r.cancel_requested,
            run_after: r.run_after,
            lease_until: r.lease_until,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct WorkerRow {
    id: String,
    host: String,
    queues: Json<Vec<String>>,
    concurrency: i32,
    in_flight: i32,
    started_at: DateTime<Utc>,
    heartbeat_at: DateTime<Utc>,
    stopped_at: Option<DateTime<Utc>>,
}

impl From<WorkerRow> for WorkerInfo {
    fn from(r: WorkerRow) -> Self {
        WorkerInfo {
            id: r.id,
            host: r.host,
            queues: r.queues.0,
            concurrency: r.concurrency,
            in_flight: r.in_flight,
            started_at: r.started_at,
            heartbeat_at: r.heartbeat_at,
            stopped_at: r.stopped_at,
        }
    }
}

/// Converts a list of rows.
pub(super) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
