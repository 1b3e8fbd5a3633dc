//! Operators' view of the job platform (admin key): live workers, per-queue counts, and a
//! `noop` job to smoke-test or measure the fleet.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{JobKind, NoopJob};
use shared::store::{QueueCounts, WorkerInfo};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::jobs::{JobEnvelope, accepted, enqueue};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workers))
        .routes(routes!(list_queues))
        .routes(routes!(create_noop_job))
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
async fn list_workers(
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
async fn list_queues(
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
