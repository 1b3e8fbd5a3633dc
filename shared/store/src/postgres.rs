//! PostgreSQL backend (distributed mode). Row locks taken by the first UPDATE of a transaction
//! serialize concurrent writers; unique indexes make duplicates fail instead of double-booking.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use sqlx::postgres::PgPoolOptions;
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

type Db = sqlx::Postgres;
type This = PgStore;
const BEGIN: &str = "BEGIN";
const KIND: DatabaseKind = DatabaseKind::Postgres;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
}

impl PgStore {
    /// Connects, migrates and creates system accounts.
    ///
    /// # Errors
    /// When the server is unreachable or a migration fails.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(settings.url.expose_secret())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let store = Self { pool };
        store.ensure_system_accounts(SystemClock.now()).await?;
        Ok(store)
    }

    /// The connection pool (tests and tools).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

macro_rules! skip_locked {
    () => {
        " FOR UPDATE SKIP LOCKED"
    };
    ($t:literal) => {
        concat!(" FOR UPDATE OF ", $t, " SKIP LOCKED")
    };
}

macro_rules! for_update {
    () => {
        " FOR NO KEY UPDATE"
    };
}

macro_rules! month_of {
    ($col:literal) => {
        concat!("to_char(", $col, " AT TIME ZONE 'UTC', 'YYYY-MM')")
    };
}

/// Makes the rest of a billing batch's transaction walk indexes. Its look-ups name up to a
/// batch of keys in tables that grow while a pass runs (the ledger doubles in a pass over a
/// backlog); a plan made while they were small kept scanning them whole, so each batch cost
/// more than the one before (100,000 renewals took 105 s, 20,000 took 2 s). Every statement of
/// the batch has an index to walk.
async fn prefer_indexes(tx: &mut Tx) -> StoreResult<()> {
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

include!("sql/common.rs");
include!("sql/accounts.rs");
include!("sql/tools.rs");
include!("sql/subscriptions.rs");
include!("sql/billing.rs");
include!("sql/stats.rs");
include!("sql/datasets.rs");
include!("sql/jobs.rs");
include!("sql/job_workers.rs");
include!("sql/sessions.rs");
include!("sql/trainings.rs");
