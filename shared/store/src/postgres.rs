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

/// The advisory lock one worker holds while it vacuums or analyzes the jobs table.
const MAINTENANCE_LOCK: i64 = 0x006a_6f62_736d_6e74; // "jobsmnt"

impl PgStore {
    /// [`JobStore::maintain_jobs`]: with autovacuum off, what autovacuum would do for the jobs
    /// table, at thresholds suited to a queue (a tenth of its rows dead, a twentieth changed).
    async fn maintain_jobs_table(&self) -> StoreResult<JobsMaintenance> {
        let mut conn = self.pool.acquire().await?;
        let (autovacuum,): (String,) = sqlx::query_as("SELECT current_setting('autovacuum')")
            .fetch_one(&mut *conn)
            .await?;
        if autovacuum == "on" {
            return Ok(JobsMaintenance::Automatic);
        }
        let counts: Option<(i64, i64, f32)> = sqlx::query_as(
            "SELECT s.n_dead_tup, s.n_mod_since_analyze, c.reltuples \
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
             WHERE s.relid = 'jobs'::regclass",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some((dead, changed, rows)) = counts else {
            return Ok(JobsMaintenance::NotNeeded);
        };
        // `reltuples` is -1 before the first analysis.
        let rows = f64::from(rows.max(0.0));
        let (statement, done) = if dead as f64 > 1_000.0 + 0.1 * rows {
            ("VACUUM (ANALYZE) jobs", JobsMaintenance::Vacuumed)
        } else if changed as f64 > 50.0 + 0.05 * rows {
            ("ANALYZE jobs", JobsMaintenance::Analyzed)
        } else {
            return Ok(JobsMaintenance::NotNeeded);
        };
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(MAINTENANCE_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(JobsMaintenance::Busy);
        }
        let result = sqlx::query(statement).execute(&mut *conn).await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MAINTENANCE_LOCK)
            .execute(&mut *conn)
            .await?;
        result?;
        Ok(done)
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
