//! Jobs: every heavy piece of work is a job. Enqueueing writes the job's row (the truth users
//! see) and pushes its id onto the kind's queue; a push that fails removes the row again and
//! answers 503, so an acknowledged job is never lost and a refused one never runs.
//!
//! `GET /v1/jobs/{id}/events` streams Server-Sent Events: a `status` event on every change of
//! status, progress or message, then an `end` event with the final job, after which the stream
//! closes (at once for a job that already finished). The stream reads the store, so it works
//! whichever process runs the job.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::jobs::{Job, JobKind, JobPayload, JobStatus};
use shared::store::{JobFilter, NewJob};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(cancel_job))
        .routes(routes!(job_events))
}

/// A job as users see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Id.
    pub id: Uuid,
    /// What it does (`evaluate`, `noop`).
    pub kind: JobKind,
    /// The account that asked for it.
    pub owner_id: Uuid,
    /// `queued`, `running`, `succeeded`, `failed` or `canceled`.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing, or why it stopped.
    pub message: Option<String>,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Higher runs first.
    pub priority: i32,
    /// The worker holding (or that last held) it.
    pub worker_id: Option<String>,
    /// The owner asked to cancel.
    pub cancel_requested: bool,
    /// The output, once succeeded.
    pub result: Option<Value>,
    /// Problem details, once failed (or of the last failed attempt while retrying).
    pub error: Option<crate::error::Problem>,
    /// Not claimed before (backoff).
    pub run_after: DateTime<Utc>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// First claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            owner_id: j.owner_id,
            status: j.status,
            progress: j.progress,
            message: j.message.clone(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            priority: j.priority,
            worker_id: j.worker_id.clone(),
            cancel_requested: j.cancel_requested,
            result: j.result.clone(),
            error: j.error.as_ref().map(crate::error::Problem::of_job),
            run_after: j.run_after,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            updated_at: j.updated_at,
        }
    }
}

/// `{job}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobEnvelope {
    /// The job.
    pub job: JobView,
}

/// `{jobs, next_cursor}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// The caller's jobs, newest first.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

impl JobList {
    /// A page of `limit` jobs from `rows` (fetched one past the page, to know there is more).
    pub(crate) fn page(rows: Vec<Job>, limit: u32) -> Self {
        let (rows, next_cursor) = paginate(rows, limit, |j| j.id);
        Self {
            jobs: rows.iter().map(JobView::from).collect(),
            next_cursor,
        }
    }
}

/// Queues a job of the payload's kind that no other row goes with (see `platform::enqueue`
/// for jobs written with the row that asks for them). 503 when its queue is full.
pub(crate) async fn enqueue(
    state: &AppState,
    owner: Uuid,
    payload: impl Into<JobPayload>,
    priority: i32,
) -> ApiResult<Job> {
    Ok(state
        .jobs
        .enqueue(
            state.store.as_ref(),
            owner,
            payload,
            priority,
            state.job_now(),
        )
        .await?)
}

/// The row of a job to be written with the domain row that asks for it (one transaction);
/// pass the written job to [`dispatch`] after. 503 when its queue is full.
pub(crate) async fn draft(
    state: &AppState,
    owner: Uuid,
    payload: impl Into<JobPayload>,
    priority: i32,
) -> ApiResult<NewJob> {
    Ok(state
        .jobs
        .draft(state.store.as_ref(), owner, payload, priority)
        .await?)
}

/// Pushes the messages of jobs just committed (never fails: the recovery sweep delivers what
/// could not be pushed).
pub(crate) async fn dispatch(state: &AppState, jobs: &[Job]) {
    state.jobs.dispatch(jobs).await;
}

/// Waits for a job a request is answered with (a promotion's re-check, a certificate's
/// verification) to end, at most `sessions.promote_wait_secs` and never past the request
/// timeout less 5 s; returns it as it then is (still running means the caller answers 202).
/// Wakes on the job's events, not by polling.
pub(crate) async fn wait_for_job(state: &AppState, id: Uuid) -> ApiResult<Job> {
    let ceiling = state
        .settings
        .api
        .request_timeout_secs
        .saturating_sub(5)
        .max(1);
    let wait =
        std::time::Duration::from_secs(state.settings.sessions.promote_wait_secs.min(ceiling));
    state
        .jobs
        .events()
        .wait_final(state.store.as_ref(), id, wait)
        .await?
        .ok_or(ApiError::NotFound("job"))
}

/// The 202 answer of every endpoint that enqueues.
pub(crate) fn accepted(job: &Job) -> (StatusCode, Json<JobEnvelope>) {
    (StatusCode::ACCEPTED, Json(JobEnvelope { job: job.into() }))
}

async fn visible_job(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Job> {
    let job = state
        .store
        .job(id)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    match caller {
        Caller::Admin => Ok(job),
        Caller::Account(a) if a.id == job.owner_id => Ok(job),
        Caller::Account(_) => Err(ApiError::NotFound("job")),
    }
}

/// A job (its owner or the admin).
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = []), ("admin" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, body = JobEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobEnvelope>> {
    let job = visible_job(&state, &caller, id).await?;
    Ok(Json(JobEnvelope { job: (&job).into() }))
}

/// Filters of `GET /v1/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A list's `status` and `kind` filters, checked (422 naming the values that exist).
pub(crate) fn job_filter(status: Option<&str>, kind: Option<&str>) -> ApiResult<JobFilter> {
    let status = status
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "expected queued, running, succeeded, failed or canceled",
                )
            })
        })
        .transpose()?;
    let kind = kind
        .map(|k| {
            JobKind::parse(k).ok_or_else(|| {
                let known: Vec<_> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
                ApiError::invalid("kind", format!("expected one of {}", known.join(", ")))
            })
        })
        .transpose()?;
    Ok(JobFilter {
        status,
        kind,
        tool_id: None,
    })
}

/// The caller's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])), params(JobQuery),
    responses((status = 200, body = JobList), (status = 422, body = crate::error::Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> ApiResult<Json<JobList>> {
    let filter = job_filter(q.status.as_deref(), q.kind.as_deref())?;
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_jobs(caller.id, &filter, before, i64::from(limit) + 1)
        .await?;
    Ok(Json(JobList::page(rows, limit)))
}

/// Cancels a job (its owner): a queued job is canceled at once, a running one stops at its
/// next check and never stores a result; a finished one is returned as it is.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, body = JobEnvelope), (status = 404, body = crate::error::Problem)))]
async fn cancel_job(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobEnvelope>> {
    let job = state
        .store
        .cancel_job(caller.id, id, state.job_now())
        .await
        .map_err(|e| match e {
            shared::store::StoreError::NotFound => ApiError::NotFound("job"),
            e => e.into(),
        })?;
    Ok(Json(JobEnvelope { job: (&job).into() }))
}

/// How often an event stream re-reads its job when no event woke it (an event lost with a
/// Redis restart delays the stream by this much at most).
const EVENT_FALLBACK: Duration = Duration::from_secs(2);

/// Live status, progress and the final result as Server-Sent Events (its owner or the admin).
/// A stream wakes on the job's events (the worker publishes when it starts the job, at each
/// progress flush and when an attempt ends). Each caller may hold
/// `api.max_event_streams_per_account` streams (429 beyond); a stream ends after
/// `api.event_stream_max_secs` and the client reconnects.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "jobs", security(("bearer" = []), ("admin" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, description = "text/event-stream of `status` events, then one `end` event"),
        (status = 404, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Subscribe before the first read, so a change between the two is not missed.
    let events = state.jobs.events().subscribe();
    let first = visible_job(&state, &caller, id).await?;
    let holder = match &caller {
        Caller::Account(a) => a.id,
        Caller::Admin => Uuid::nil(),
    };
    let max = state.settings.api.max_event_streams_per_account;
    let slot = state
        .streams
        .take(holder, max)
        .ok_or_else(|| ApiError::QuotaExceeded {
            detail: format!("{max} event streams are open already; close one first"),
            limit: i64::try_from(max).unwrap_or(i64::MAX),
            retry_after: Some(5),
        })?;
    let lifetime = Duration::from_secs(state.settings.api.event_stream_max_secs);
    let stream = event_stream(
        state,
        StreamState {
            id: first.id,
            pending: Some(first),
            last: None,
            done: false,
            events,
            deadline: tokio::time::Instant::now() + lifetime,
            _slot: slot,
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn event(name: &str, job: &Job) -> Event {
    let body = serde_json::to_string(&JobEnvelope { job: job.into() }).unwrap_or_default();
    Event::default().event(name).data(body)
}

type EventKey = (JobStatus, u64, Option<String>);

/// What one event stream carries between events.
struct StreamState {
    /// The job.
    id: Uuid,
    /// A read not yet shown.
    pending: Option<Job>,
    /// What was last shown.
    last: Option<EventKey>,
    /// The `end` event was sent.
    done: bool,
    /// Every job's events.
    events: tokio::sync::broadcast::Receiver<Uuid>,
    /// When the stream ends regardless.
    deadline: tokio::time::Instant,
    /// Given back when the stream is dropped.
    _slot: crate::streams::StreamSlot,
}

/// Waits for an event of job `id` (or a lagged receiver, which may have missed one).
async fn next_event_of(events: &mut tokio::sync::broadcast::Receiver<Uuid>, id: Uuid) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(job) if job == id => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

fn event_stream(
    state: AppState,
    first: StreamState,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(first, move |mut st| {
        let state = state.clone();
        async move {
            if st.done {
                return None;
            }
            loop {
                let current = match st.pending.take() {
                    Some(j) => j,
                    None => {
                        let now = tokio::time::Instant::now();
                        if now >= st.deadline {
                            return None;
                        }
                        let wait = EVENT_FALLBACK.min(st.deadline - now);
                        let id = st.id;
                        let _ = tokio::time::timeout(wait, next_event_of(&mut st.events, id)).await;
                        match state.store.job(id).await {
                            Ok(Some(j)) => j,
                            Ok(None) => return None,
                            Err(_) => continue,
                        }
                    }
                };
                let key = (
                    current.status,
                    current.progress.to_bits(),
                    current.message.clone(),
                );
                if current.status.is_final() {
                    st.last = Some(key);
                    st.done = true;
                    return Some((Ok(event("end", &current)), st));
                }
                if st.last.as_ref() != Some(&key) {
                    st.last = Some(key);
                    return Some((Ok(event("status", &current)), st));
                }
            }
        }
    })
}
