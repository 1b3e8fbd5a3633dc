//! The sessions part of the store: sessions, the tools inserted into them with their
//! session-local parameters, optimization records, promotion and rollback of tool versions.
//!
//! Work that ends a job (an optimization's record, a promotion's new version) is a
//! [`JobEffect`]: the store applies it in the same transaction that marks the job succeeded,
//! and only while the worker still holds the job's claim. A worker that dies halfway, a
//! duplicate delivery or a canceled job therefore never writes a record twice or half a
//! promotion.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::StoreResult;
use crate::jobs::NewJob;
use domain::jobs::Job;
use domain::{
    Certificate, CertificateBody, OptimizationRecord, OptimizationTrial, Session, SessionConfig,
    SessionTool, Tool,
};

/// A session to open (validated by the caller).
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The renter (the caller).
    pub owner_id: Uuid,
    /// One of the owner's datasets.
    pub dataset_id: Uuid,
    /// Settings.
    pub config: SessionConfig,
}

/// A tool to insert into a session at a version.
#[derive(Clone, Debug)]
pub struct NewSessionTool {
    /// The session.
    pub session_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// Its version in force now.
    pub base_version: i32,
    /// That version's parameters (the session-local parameters until an optimization applies).
    pub parameters: Map<String, Value>,
}

/// A promotion that passed its re-check: the new version to make.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    /// The record promoted.
    pub record_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The version the re-check compared against: the promotion only happens while it is still
    /// the tool's current version (otherwise the check is out of date and runs again).
    pub against_version: i32,
    /// The new version's parameters (the record's `params_after`).
    pub parameters: Map<String, Value>,
    /// Lineage of the new version (record, session, dataset hash, seed, report); the store adds
    /// the certificate's hash.
    pub lineage: Value,
    /// The re-check's report, kept on the record.
    pub check: Value,
    /// The new version's certificate, sealed by the store (which sets when it was issued and
    /// the hash of the tool's previous certificate) in the promotion's transaction.
    pub certificate: Box<CertificateBody>,
}

/// What a job's success changes besides the job itself; applied atomically with it.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEffect {
    /// An optimization finished: store its record with every trial of its search and, when it
    /// is applied, make its parameters the session's (superseding the record applied before).
    RecordOptimization {
        /// The record.
        record: Box<OptimizationRecord>,
        /// Every trial, in order.
        trials: Vec<OptimizationTrial>,
    },
    /// A promotion re-check passed: make the new tool version and mark the record promoted.
    Promote(Box<Promotion>),
    /// A training run finished: store its result and learned artifact.
    RecordTraining(Box<super::TrainingOutcome>),
    /// A promotion re-check failed: keep its report on the record.
    RecordCheck {
        /// The record checked.
        record_id: Uuid,
        /// The re-check's report.
        check: Value,
    },
}

/// A session that just ended, with the records that became promotion candidates.
#[derive(Clone, Debug)]
pub struct EndedSession {
    /// The session after the change.
    pub session: Session,
    /// Records now `promotable` (empty unless `promote_successful`).
    pub candidates: Vec<OptimizationRecord>,
}

/// Sessions, records and versions in the store.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Opens a session.
    ///
    /// # Errors
    /// [`crate::StoreError::Quota`] when the owner has `max_active` active sessions already
    /// (counted under a lock on the owner's account row).
    async fn create_session(
        &self,
        new: &NewSession,
        max_active: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Session>;

    /// A session by id (the caller checks who may see it).
    async fn session(&self, id: Uuid) -> StoreResult<Option<Session>>;

    /// An owner's sessions, newest first, after the cursor.
    async fn list_sessions(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;

    /// Inserts a tool into an active session and, with `job`, queues its optimization in the
    /// same transaction (the tool's latest job): both are written or neither. `Conflict` when
    /// the session has ended or already holds the tool; `NotFound` without the session. The
    /// job's times are `job_now` (the platform's system clock), the tool's `now`.
    async fn insert_session_tool(
        &self,
        new: &NewSessionTool,
        job: Option<&NewJob>,
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<(SessionTool, Option<Job>)>;

    /// The tools of a session, in insertion order.
    async fn session_tools(&self, session: Uuid) -> StoreResult<Vec<SessionTool>>;

    /// Queues an optimization of a session's tool and records it as the tool's latest job, in
    /// one transaction. `NotFound` when the session does not hold the tool.
    async fn queue_session_tool_job(
        &self,
        session: Uuid,
        tool: Uuid,
        job: &NewJob,
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<Job>;

    /// Ends an active session (`Conflict` when it already ended). With `promote_successful`,
    /// every passed record not yet promoted becomes `promotable`.
    async fn end_session(
        &self,
        id: Uuid,
        promote_successful: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<EndedSession>;

    /// A record by id (the caller checks who may see it).
    async fn optimization_record(&self, id: Uuid) -> StoreResult<Option<OptimizationRecord>>;

    /// Counts `job`'s re-check of a record against `limit`: `true` when it may run (counted
    /// now, or already counted for this job by an earlier attempt), `false` when the record
    /// holds `limit` counted re-checks already (nothing changes). Atomic, so concurrent
    /// re-checks cannot overshoot. `NotFound` without the record.
    async fn count_recheck(&self, record: Uuid, job: Uuid, limit: u32) -> StoreResult<bool>;

    /// A session's records, oldest first.
    async fn session_records(&self, session: Uuid) -> StoreResult<Vec<OptimizationRecord>>;

    /// A record's trials in order, after trial `after`, at most `limit`.
    async fn optimization_trials(
        &self,
        record: Uuid,
        after: Option<u64>,
        limit: i64,
    ) -> StoreResult<Vec<OptimizationTrial>>;

    /// A tool's certificates, oldest first (the chain).
    async fn certificates(&self, tool: Uuid) -> StoreResult<Vec<Certificate>>;

    /// A tool's promotion candidates (`promotable` records), oldest first, after the cursor.
    async fn promotion_candidates(
        &self,
        tool: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<OptimizationRecord>>;

    /// Makes a new version of a (not deleted) tool equal to its version `version`; `NotFound`
    /// when either does not exist.
    async fn rollback_tool(
        &self,
        tool: Uuid,
        version: i32,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool>;
}
