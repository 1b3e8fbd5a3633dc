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

pub mod ab_tests;
pub mod accounts;
pub mod billing;
pub mod config;
pub mod datasets;
pub mod fleet;
pub mod jobs;
mod operations;
pub mod postgres;
pub mod reviews;
mod rows;
mod session_rows;
pub mod sessions;
pub mod sqlite;
pub mod stats;
pub mod tools;
mod training_rows;
pub mod trainings;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::config::{DatabaseKind, DatabaseSettings};
use domain::ledger::LedgerCheck;
use domain::payments::PaymentReceipt;
use domain::{Account, Dataset, LedgerEntry, Money, Subscription, Tool, ToolVersion};

pub use ab_tests::AbTestStore;
pub use accounts::{AccountStore, ApiKeyInfo, MAX_ACTIVE_API_KEYS};
pub use billing::BillingStore;
pub use datasets::DatasetStore;
pub use fleet::{FleetStore, MAX_QUEUE_SAMPLES, QueueSample};
pub use jobs::{
    ClaimState, Dispatch, JobClaim, JobFilter, JobOutcome, JobStore, JobsMaintenance, NewJob,
    QueueCounts, WorkerInfo,
};
pub use operations::*;
pub use reviews::{NewReview, ReviewFilter, ReviewPatch, ReviewStore, ReviewVisibility};
pub use sessions::{EndedSession, JobEffect, NewSession, NewSessionTool, Promotion, SessionStore};
pub use stats::StatsStore;
pub use tools::{NewTool, ToolFilter, ToolOrder, ToolPatch, ToolStore};
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
    /// An account's limit on what it keeps (datasets, bytes, active sessions) refused the write.
    #[error("over the limit of {limit} {what}")]
    Quota {
        /// What is counted, in words (`datasets`, `bytes of datasets`, `active sessions`).
        what: &'static str,
        /// The limit.
        limit: i64,
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
        domain::error_chain_fmt(self, f)
    }
}

impl StoreError {
    /// Whether the database refused the transaction for contention with another one (a
    /// PostgreSQL serialization failure or deadlock, SQLite busy or locked): nothing was
    /// written, and the same request may succeed when tried again.
    pub fn is_contention(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => matches!(
                db.code().as_deref(),
                Some("40001" | "40P01" | "5" | "6" | "261" | "262" | "517")
            ),
            _ => false,
        }
    }

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

/// Renders the answer of an idempotent operation, stored with its key so that a retry gets the
/// first answer verbatim. The store keeps it as opaque JSON; what it means is the caller's.
pub type Render<'a, T> = &'a (dyn Fn(&T) -> Value + Send + Sync);

/// The persistence interface of the marketplace.
#[async_trait]
pub trait Store:
    AccountStore
    + ToolStore
    + BillingStore
    + DatasetStore
    + StatsStore
    + JobStore
    + FleetStore
    + SessionStore
    + TrainingStore
    + AbTestStore
    + ReviewStore
{
    /// Which backend this is.
    fn kind(&self) -> DatabaseKind;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
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
