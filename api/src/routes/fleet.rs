//! Operators' view of the job platform (admin key): live workers, per-queue counts and their
//! depth over time, every account's jobs with filters, a failed job sent back to its queue, a
//! job canceled, and a `noop` job to smoke-test or measure the fleet.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{JobKind, NoopJob};
use shared::store::{QueueCounts, QueueSample, StoreError, WorkerInfo};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AdminCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit};
use crate::routes::jobs::{JobEnvelope, JobList, accepted, dispatch, enqueue, job_filter};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workers))
        .routes(routes!(list_queues))
        .routes(routes!(queue_history))
        .routes(routes!(create_noop_job, list_all_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(cancel_any_job))
}

/// `{workers}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerList {
    /// Workers with a heartbeat within three heartbeat intervals, oldest first.
    pub workers: Vec<WorkerInfo>,
}

/// Live workers.
#[utoipa::path(get, path = "/v1/admin/workers", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = WorkerList), (status = 403, body = crate::error::Problem)))]
pub(crate) async fn list_workers(
    State(state): State<AppState>,
    _admin: AdminCaller,
) -> ApiResult<Json<WorkerList>> {
    let window = i64::try_from(state.settings.worker.heartbeat_secs.max(1) * 3).unwrap_or(15);
    let since = state.job_now() - Duration::seconds(window);
    let workers = state.store.live_workers(since).await?;
    Ok(Json(WorkerList { workers }))
}

/// `{backend, queues}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueList {
    /// `redis` or `sqlite`.
    pub backend: &'static str,
    /// Per queue (job kind), jobs by status.
    pub queues: Vec<QueueCounts>,
}

/// Jobs per queue and status.
#[utoipa::path(get, path = "/v1/admin/queues", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = QueueList), (status = 403, body = crate::error::Problem)))]
pub(crate) async fn list_queues(
    State(state): State<AppState>,
    _admin: AdminCaller,
) -> ApiResult<Json<QueueList>> {
    Ok(Json(QueueList {
        backend: state.jobs.queues().backend_name(),
        queues: state.store.queue_counts().await?,
    }))
}

/// Body of `POST /v1/admin/jobs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNoopJob {
    /// Only `noop`.
    pub kind: String,
    /// The noop job's input.
    #[serde(default)]
    pub payload: NoopJob,
    /// Higher runs first (default 0).
    #[serde(default)]
    pub priority: i32,
}

/// Enqueues a `noop` job owned by the platform account (smoke tests and benchmarks).
#[utoipa::path(post, path = "/v1/admin/jobs", tag = "admin", security(("admin" = [])),
    request_body = CreateNoopJob,
    responses((status = 202, body = JobEnvelope), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
async fn create_noop_job(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiJson(body): ApiJson<CreateNoopJob>,
) -> ApiResult<(StatusCode, Json<JobEnvelope>)> {
    if body.kind != JobKind::Noop.as_str() {
        return Err(ApiError::invalid("kind", "only noop jobs are created here"));
    }
    if body.payload.sleep_ms > 600_000 {
        return Err(ApiError::invalid(
            "payload.sleep_ms",
            "must be at most 600000",
        ));
    }
    let job = enqueue(&state, PLATFORM_ACCOUNT_ID, body.payload, body.priority).await?;
    Ok(accepted(&job))
}

/// Filters of `GET /v1/admin/queues/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// How far back, in hours (1..=720, default 24).
    #[param(minimum = 1, maximum = 720)]
    pub hours: Option<u32>,
}

/// `{interval_secs, samples}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueHistory {
    /// Seconds between samples (`MARKETPLACE_SCHEDULER_QUEUE_SAMPLE_SECS`).
    pub interval_secs: u64,
    /// Every queue's depth per sample, oldest first (at most 20,000 rows, the newest kept).
    pub samples: Vec<QueueSample>,
}

/// Each queue's depth (waiting and running jobs) over time, as the scheduler sampled it.
#[utoipa::path(get, path = "/v1/admin/queues/history", tag = "admin", security(("admin" = [])),
    params(HistoryQuery),
    responses((status = 200, body = QueueHistory), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn queue_history(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<QueueHistory>> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::invalid("hours", "must be 1 to 720"));
    }
    let since = state.job_now() - Duration::hours(i64::from(hours));
    let samples = state.store.queue_samples(since).await?;
    Ok(Json(QueueHistory {
        interval_secs: state.settings.scheduler.queue_sample_secs,
        samples,
    }))
}

/// Filters of `GET /v1/admin/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FleetJobQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this account's jobs.
    pub owner: Option<Uuid>,
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Every account's jobs, newest first, by status, kind and owner.
#[utoipa::path(get, path = "/v1/admin/jobs", tag = "admin", security(("admin" = [])),
    params(FleetJobQuery),
    responses((status = 200, body = JobList), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn list_all_jobs(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiQuery(q): ApiQuery<FleetJobQuery>,
) -> ApiResult<Json<JobList>> {
    let filter = job_filter(q.status.as_deref(), q.kind.as_deref())?;
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .fleet_jobs(q.owner, &filter, before, i64::from(limit) + 1)
        .await?;
    Ok(Json(JobList::page(rows, limit)))
}

fn job_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("job"),
        e => e.into(),
    }
}

/// Sends a failed job back to its queue with as many attempts again as its kind allows (its
/// last error stays on it until the next attempt ends). Only a `failed` job: 409 for any
/// other, so a retry sent twice runs the job once. The job runs as it was asked for: an
/// optimization's or a training's result is applied only if this run succeeds.
#[utoipa::path(post, path = "/v1/admin/jobs/{id}/retry", tag = "admin", security(("admin" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 202, body = JobEnvelope), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub(crate) async fn retry_job(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<JobEnvelope>)> {
    let job = state
        .store
        .retry_job(id, state.job_now())
        .await
        .map_err(job_not_found)?;
    metrics::counter!("jobs_retried_total", "queue" => job.kind.queue()).increment(1);
    tracing::info!(job = %job.id, kind = job.kind.as_str(), "job sent back to its queue by an operator");
    dispatch(&state, std::slice::from_ref(&job)).await;
    Ok(accepted(&job))
}

/// Cancels any account's job, as its owner can: a queued job is canceled at once, a running
/// one stops at its next check and never stores a result; a finished one is returned as it is.
#[utoipa::path(post, path = "/v1/admin/jobs/{id}/cancel", tag = "admin", security(("admin" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, body = JobEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn cancel_any_job(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobEnvelope>> {
    let job = state
        .store
        .job(id)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    let job = state
        .store
        .cancel_job(job.owner_id, id, state.job_now())
        .await
        .map_err(job_not_found)?;
    Ok(Json(JobEnvelope { job: (&job).into() }))
}
