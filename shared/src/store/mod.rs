//! Persistence behind one interface, [`Store`], used by every role. Two implementations share
//! one body of SQL: [`sqlite::SqliteStore`] (embedded mode) and [`postgres::PgStore`]
//! (distributed mode). The SQL in `sql/*.rs` is written once, in the dialect both accept
//! (`$n` placeholders, `RETURNING`, `ON CONFLICT`, partial unique indexes), and compiled into each
//! backend with `include!`, so the two can never drift apart.
//!
//! Every invariant that money depends on is enforced by the database itself: one live
//! subscription per renter and tool, one charge per subscription period, one refund per charge,
//! one stored response per idempotency key, and balances that only a conditional update
//! (`balance >= amount`) can debit.

pub mod jobs;
mod operations;
pub mod postgres;
mod rows;
mod session_rows;
pub mod sessions;
pub mod sqlite;
mod training_rows;
pub mod trainings;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::{DatabaseKind, DatabaseSettings};
use crate::dataset::Bars;
use crate::domain::ledger::LedgerCheck;
use crate::domain::stats::{CreatorStats, MarketplaceStats, ToolAnalytics};
use crate::domain::{
    Account, BillingPolicy, Dataset, LedgerEntry, Money, Subscription, Tier, Tool, ToolVersion,
};
use crate::payments::PaymentReceipt;

pub use jobs::{
    ClaimState, Dispatch, JobClaim, JobFilter, JobOutcome, JobStore, NewJob, QueueCounts,
    WorkerInfo,
};
pub use operations::*;
pub use sessions::{EndedSession, JobEffect, NewSession, NewSessionTool, Promotion, SessionStore};
pub use trainings::{
    NewArtifact, NewTraining, TrainingApplication, TrainingOutcome, TrainingStore,
};

/// Errors of the store.
#[derive(thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is not visible).
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The payer's balance is below the amount.
    #[error("insufficient funds: balance {balance}, required {required}")]
    InsufficientFunds {
        /// Balance at the time.
        balance: Money,
        /// Amount needed.
        required: Money,
    },
    /// The idempotency key was used before with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// A stored value that the domain does not accept (a bug or a manual edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl std::fmt::Debug for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error_chain_fmt(self, f)
    }
}

impl StoreError {
    /// Whether the database could not be reached (worth a retry), as opposed to a refused write.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }
}

impl StoreError {
    /// A deadlock or serialization failure between concurrent transactions: nothing was
    /// written, and running the same transaction again is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(d)) => {
                matches!(d.code().as_deref(), Some("40P01" | "40001" | "5" | "517"))
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether running the same operation again can succeed: the database unreachable, out of
    /// resources or shutting down, a deadlock or serialization failure. A missing or corrupt
    /// row, a refused write, a decoding or query error would fail the same way again.
    pub fn is_transient(&self) -> bool {
        if self.is_unavailable() || self.is_retryable() {
            return true;
        }
        match self {
            StoreError::Database(sqlx::Error::Database(d)) => d.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08), insufficient resources (53),
                // operator intervention (57: shutdown, cannot connect now); SQLite: busy (5),
                // locked (6).
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "6"
            }),
            StoreError::Database(
                sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed,
            ) => true,
            _ => false,
        }
    }
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// Renders the response (status, body) of an idempotent request, stored with its key so that
/// a retry gets the first response verbatim.
pub type Render<'a, T> = &'a (dyn Fn(&T) -> (u16, Value) + Send + Sync);

/// The persistence interface of the marketplace.
#[async_trait]
pub trait Store:
    jobs::JobStore + sessions::SessionStore + trainings::TrainingStore + Send + Sync + std::fmt::Debug
{
    /// Which backend this is.
    fn kind(&self) -> DatabaseKind;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Creates a user account with its first API key (stored as a hash).
    async fn create_account(
        &self,
        name: &str,
        key: &NewApiKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Account>;

    /// The account owning a (non-revoked) key hash.
    async fn account_by_key_hash(&self, key_hash: &str) -> StoreResult<Option<Account>>;

    /// An account by id.
    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>>;

    /// Books credit collected by a payment provider.
    async fn top_up(
        &self,
        account: Uuid,
        receipt: &PaymentReceipt,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, TopUp>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<TopUp>>;

    /// An account's ledger entries, newest first, after the cursor.
    async fn ledger_entries(
        &self,
        account: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LedgerEntry>>;

    /// Checks that every transaction sums to zero and every balance equals its entries.
    async fn check_ledger(&self) -> StoreResult<LedgerCheck>;

    /// Creates a tool with version 1.
    async fn create_tool(&self, tool: &NewTool, now: DateTime<Utc>) -> StoreResult<Tool>;

    /// A tool by id, deleted or not.
    async fn tool(&self, id: Uuid) -> StoreResult<Option<Tool>>;

    /// Listed (not deleted) tools, newest first.
    async fn list_tools(&self, filter: &ToolFilter, limit: i64) -> StoreResult<Vec<Tool>>;

    /// Changes a tool; a change of parameters makes a new version.
    async fn update_tool(
        &self,
        id: Uuid,
        patch: &ToolPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool>;

    /// Soft-deletes a tool.
    async fn delete_tool(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Every version of a tool, oldest first.
    async fn tool_versions(&self, id: Uuid) -> StoreResult<Vec<ToolVersion>>;

    /// Subscribes, charging the first months up front in one transaction.
    async fn create_subscription(
        &self,
        new: &NewSubscription,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, SubscriptionCreated>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<SubscriptionCreated>>;

    /// A subscription by id.
    async fn subscription(&self, id: Uuid) -> StoreResult<Option<Subscription>>;

    /// A subscriber's subscriptions, newest first.
    async fn list_subscriptions(
        &self,
        subscriber: Uuid,
        live_only: bool,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Subscription>>;

    /// The live (active or past-due) subscription of a renter to a tool.
    async fn live_subscription(
        &self,
        tool: Uuid,
        subscriber: Uuid,
    ) -> StoreResult<Option<Subscription>>;

    /// Cancels at period end, or now with a pro-rata refund of every charged period not used.
    async fn cancel_subscription(
        &self,
        id: Uuid,
        immediate: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Cancellation>;

    /// Expires live subscriptions whose paid periods ended and that will not renew: not
    /// auto-renewing, canceled at period end, or of a deleted tool; and past-due ones whose
    /// grace ended. Returns how many.
    async fn expire_lapsed_subscriptions(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Renews up to `limit` due subscriptions (period over and renewing, or past due with a
    /// retry due) in one transaction: each is charged its next period exactly once (the charge
    /// of a period is unique in the ledger), or goes past due under `policy`. On PostgreSQL the
    /// batch is claimed with `FOR UPDATE SKIP LOCKED`, so concurrent schedulers split the work.
    async fn renew_due_subscriptions(
        &self,
        now: DateTime<Utc>,
        policy: &BillingPolicy,
        creator_share_bps: u32,
        limit: i64,
    ) -> StoreResult<RenewalBatch>;

    /// The first instant after `after` at which a billing pass has something to do.
    async fn next_billing_event(&self, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>>;

    /// Turns auto-renewal on (which also withdraws a pending cancellation) or off.
    async fn set_auto_renew(
        &self,
        id: Uuid,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Subscription>;

    /// Every charge and refund of a subscription, oldest first.
    async fn invoices(&self, subscription: Uuid) -> StoreResult<Vec<InvoiceLine>>;

    /// Marketplace-wide figures for operators.
    async fn marketplace_stats(&self, now: DateTime<Utc>) -> StoreResult<MarketplaceStats>;

    /// A creator's earnings, subscribers and churn.
    async fn creator_stats(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<CreatorStats>;

    /// One tool's subscribers over time, earnings and versions.
    async fn tool_analytics(&self, tool: &Tool) -> StoreResult<ToolAnalytics>;

    /// Stores a dataset, or returns the owner's existing one with the same content hash.
    /// `true` when it was created now. Concurrent identical calls make one row.
    async fn create_dataset(
        &self,
        new: &NewDataset,
        now: DateTime<Utc>,
    ) -> StoreResult<(Dataset, bool)>;

    /// A dataset's summary, only for its owner (`None` for anyone else).
    async fn dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<Dataset>>;

    /// The owner's datasets, newest first, after the cursor.
    async fn list_datasets(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Dataset>>;

    /// A dataset's bars (for jobs; the caller checks who may use it). One row read and a
    /// decode: about 41 bytes per bar.
    async fn dataset_bars(&self, id: Uuid) -> StoreResult<Option<Bars>>;

    /// The bars of any stored dataset with this content hash (the same bars, whoever owns
    /// them): what a certificate's verification re-runs on, knowing only the hash.
    async fn dataset_bars_by_hash(&self, content_hash: &str) -> StoreResult<Option<Bars>>;

    /// Deletes the owner's dataset with its bars; `NotFound` for anyone else.
    async fn delete_dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<()>;
}

/// Connects to the configured store, runs its migrations and creates the system accounts.
///
/// # Errors
/// When the URL is invalid, the database is unreachable or a migration fails.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Arc<dyn Store>> {
    let kind = settings.kind()?;
    Ok(match kind {
        DatabaseKind::Sqlite => Arc::new(sqlite::SqliteStore::connect(settings).await?),
        DatabaseKind::Postgres => Arc::new(postgres::PgStore::connect(settings).await?),
    })
}

/// Fields of a tool at creation (validated by the caller).
#[derive(Clone, Debug)]
pub struct NewTool {
    /// Creator (the caller).
    pub creator_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// Family.
    pub family: String,
    /// Monthly price.
    pub monthly_price: Money,
    /// Minimum tier.
    pub tier: Tier,
    /// Complete, validated parameters.
    pub parameters: Map<String, Value>,
    /// Metadata object.
    pub metadata: Map<String, Value>,
    /// The creator's standards gate (`None`: defaults).
    pub standards: Option<crate::standards::StandardsConfig>,
    /// Promote passed records of ending sessions at once.
    pub auto_promote: bool,
    /// The creator's dataset every promotion must also pass on.
    pub reference_dataset_id: Option<Uuid>,
}

/// Changes to a tool; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct ToolPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New monthly price (for new subscriptions; existing ones keep their locked price).
    pub monthly_price: Option<Money>,
    /// New minimum tier.
    pub tier: Option<Tier>,
    /// New metadata.
    pub metadata: Option<Map<String, Value>>,
    /// New complete, validated parameters (a new version when they differ).
    pub parameters: Option<Map<String, Value>>,
    /// New standards gate (`Some(None)`: back to the defaults).
    pub standards: Option<Option<crate::standards::StandardsConfig>>,
    /// New auto-promotion setting.
    pub auto_promote: Option<bool>,
    /// New reference dataset (`Some(None)`: none).
    pub reference_dataset_id: Option<Option<Uuid>>,
}

/// Filters of the tool listing.
#[derive(Clone, Debug, Default)]
pub struct ToolFilter {
    /// Exact category.
    pub category: Option<String>,
    /// Exact family.
    pub family: Option<String>,
    /// Exact minimum tier.
    pub tier: Option<Tier>,
    /// Monthly price at most this.
    pub max_price: Option<Money>,
    /// Created by this account.
    pub creator_id: Option<Uuid>,
    /// Only tools older than this id (cursor).
    pub before: Option<Uuid>,
}
