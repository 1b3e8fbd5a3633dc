//! SQLite backend (embedded mode). Write transactions start with `BEGIN IMMEDIATE`, so they take
//! the write lock up front and queue on `busy_timeout` instead of failing when two of them meet.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use uuid::Uuid;

use super::rows::{
    AccountRow, ApiKeyRow, DatasetRow, EntryRow, InvoiceRow, SubscriptionRow, ToolRow, VersionRow,
    convert,
};
use super::session_rows::{CertificateRow, RecordRow, SessionRow, SessionToolRow, TrialRow};
use super::training_rows::{ArtifactRow, TrainingRow};
use super::*;
use domain::account::{PLATFORM_ACCOUNT_ID, SANDBOX_PROVIDER_ACCOUNT_ID};
use domain::clock::{Clock, SystemClock};
use domain::dataset::{Bars, codec};
use domain::ledger::RevenueSplit;
use domain::period::{period_bounds, period_start};
use domain::stats::{
    Churn, CreatorStats, MarketplaceStats, MonthlyRevenue, SubscriberMonth, ToolAnalytics,
    ToolEarnings, ToolSummary, VersionSummary,
};
use domain::subscription::ProRata;
use domain::{AccountKind, BillingPolicy, NextCharge, SubscriptionStatus, TransactionKind};
use domain::{Artifact, TrainingRun};
use domain::{
    Certificate, OptimizationRecord, OptimizationTrial, RecordStatus, Session, SessionStatus,
    SessionTool,
};

type Db = sqlx::Sqlite;
type This = SqliteStore;
const BEGIN: &str = "BEGIN IMMEDIATE";
const KIND: DatabaseKind = DatabaseKind::Sqlite;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file, migrates it and creates system accounts.
    ///
    /// # Errors
    /// When the file cannot be opened or a migration fails.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(settings.url.expose_secret())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a process crash without losing committed transactions.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let store = Self { pool };
        store.ensure_system_accounts(SystemClock.now()).await?;
        Ok(store)
    }

    /// The connection pool (tests and tools).
    pub fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }
}

impl SqliteStore {
    /// [`JobStore::maintain_jobs`]: `PRAGMA optimize`, which refreshes the statistics SQLite's
    /// planner found missing or stale (freed pages are reused, nothing to vacuum).
    async fn maintain_jobs_table(&self) -> StoreResult<JobsMaintenance> {
        sqlx::query("PRAGMA optimize").execute(&self.pool).await?;
        Ok(JobsMaintenance::Automatic)
    }
}

macro_rules! skip_locked {
    () => {
        ""
    };
    ($t:literal) => {
        ""
    };
}

macro_rules! for_update {
    () => {
        ""
    };
}

macro_rules! month_of {
    ($col:literal) => {
        concat!("strftime('%Y-%m', ", $col, ")")
    };
}

/// Nothing on SQLite, whose planner walks the indexes of a billing batch's look-ups already
/// (see the PostgreSQL store).
#[allow(clippy::unused_async)]
async fn prefer_indexes(_tx: &mut Tx) -> StoreResult<()> {
    Ok(())
}

include!("sql/common.rs");
include!("sql/accounts.rs");
include!("sql/tools.rs");
include!("sql/subscriptions.rs");
include!("sql/billing.rs");
include!("sql/stats.rs");
include!("sql/forecast.rs");
include!("sql/datasets.rs");
include!("sql/jobs.rs");
include!("sql/job_workers.rs");
include!("sql/fleet.rs");
include!("sql/sessions.rs");
include!("sql/ab_tests.rs");
include!("sql/trainings.rs");
include!("sql/reviews.rs");
include!("sql/review_reports.rs");
