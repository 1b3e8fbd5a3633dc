//! Sessions: a renter opens one on their own dataset, inserts tools they may use (their own, or
//! ones they hold an active subscription to) and optimizes each tool's parameters for that
//! session. Optimizations are `optimize` jobs (202); what they find changes the session's
//! parameters only, never the tool or another session. Ending a session with
//! `promote_successful` makes every passed record a promotion candidate for the tool's creator
//! (promoted at once for tools with `auto_promote`).
//!
//! Tier entitlements (`sessions.max_trials`): the free tier gets no optimization, basic up to
//! 50 trials, pro 500, enterprise 5,000 and queue priority; a creator on their own tool gets
//! `sessions.creator_max_trials`. Asking beyond is a 403 naming the limit.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::domain::session::MAX_SEED;
use shared::domain::{Account, Session, SessionConfig, SessionStatus, StudySpec, Tier, Tool};
use shared::jobs::{JobStatus, OptimizeSessionToolJob, PromoteRecordJob};
use shared::optimization::Method;
use shared::store::{NewJob, NewSession, NewSessionTool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::routes::jobs::{JobEnvelope, JobView, dispatch, draft, enqueue};
use crate::state::AppState;
use crate::views::{RecordView, SessionToolView, SessionView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(end_session))
        .routes(routes!(insert_tool))
        .routes(routes!(create_optimization))
}

/// Body of `POST /v1/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// One of the caller's datasets.
    pub dataset_id: Uuid,
    /// Settings (seed, folds, time limit, costs); omitted ones take their defaults.
    #[serde(default)]
    pub config: SessionConfig,
}

/// `{session, optimizations}`: the session with its tools and records (the records also at the
/// top level, for convenience).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEnvelope {
    /// The session.
    pub session: SessionView,
    /// Its optimization records, oldest first (the same as `session.optimizations`).
    pub optimizations: Vec<RecordView>,
}

/// The caller's session, or 404 (also for anyone else's).
async fn owned_session(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Session> {
    state
        .store
        .session(id)
        .await?
        .filter(|s| s.owner_id == caller.id)
        .ok_or(ApiError::NotFound("session"))
}

/// The full view of a session: tools (with their latest job) and records.
async fn session_envelope(state: &AppState, session: &Session) -> ApiResult<SessionEnvelope> {
    let inserted = state.store.session_tools(session.id).await?;
    let mut tools = Vec::with_capacity(inserted.len());
    for t in &inserted {
        let tool = state.store.tool(t.tool_id).await?;
        let job = match t.last_job_id {
            Some(id) => state.store.job(id).await?,
            None => None,
        };
        tools.push(SessionToolView::of(t, tool.as_ref(), job.as_ref()));
    }
    let records = state.store.session_records(session.id).await?;
    let view = SessionView::of(session, tools, &records);
    let optimizations = records
        .iter()
        .map(|r| RecordView::of(r, Some(session.dataset_id)).without_curves())
        .collect();
    Ok(SessionEnvelope {
        session: view,
        optimizations,
    })
}

/// Opens a session on one of the caller's datasets.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", security(("bearer" = [])),
    request_body = CreateSession,
    responses((status = 201, body = SessionEnvelope), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn create_session(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiJson(body): ApiJson<CreateSession>,
) -> ApiResult<(StatusCode, Json<SessionEnvelope>)> {
    let dataset = state
        .store
        .dataset(caller.id, body.dataset_id)
        .await?
        .ok_or_else(|| ApiError::invalid("dataset_id", "no such dataset of yours"))?;
    let rows = usize::try_from(dataset.rows).unwrap_or(usize::MAX);
    body.config
        .validate(rows)
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let new = NewSession {
        owner_id: caller.id,
        dataset_id: dataset.id,
        config: body.config,
    };
    let session = state
        .store
        .create_session(
            &new,
            state.settings.sessions.max_active_per_account,
            state.now(),
        )
        .await?;
    tracing::info!(session_id = %session.id, owner_id = %caller.id, "session opened");
    Ok((
        StatusCode::CREATED,
        Json(session_envelope(&state, &session).await?),
    ))
}

/// Page of `GET /v1/sessions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A session in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSummary {
    /// Id.
    pub id: Uuid,
    /// The owner's dataset.
    pub dataset_id: Uuid,
    /// `active` or `ended`.
    pub status: SessionStatus,
    /// Settings.
    pub config: SessionConfig,
    /// Opened.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Ended.
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `{sessions, next_cursor}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The caller's sessions, newest first.
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The caller's sessions, newest first.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("bearer" = [])),
    params(SessionQuery), responses((status = 200, body = SessionList)))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionList>> {
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_sessions(caller.id, before, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |s| s.id);
    Ok(Json(SessionList {
        sessions: rows
            .iter()
            .map(|s| SessionSummary {
                id: s.id,
                dataset_id: s.dataset_id,
                status: s.status,
                config: s.config,
                created_at: s.created_at,
                ended_at: s.ended_at,
            })
            .collect(),
        next_cursor,
    }))
}

/// A session with its tools (and their session-local parameters) and optimization records
/// (its owner only).
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "session id")),
    responses((status = 200, body = SessionEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SessionEnvelope>> {
    let session = owned_session(&state, &caller, id).await?;
    Ok(Json(session_envelope(&state, &session).await?))
}

/// Body of `POST /v1/sessions/{id}/end`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndSession {
    /// Turn every passed record into a promotion candidate for its tool's creator.
    #[serde(default)]
    pub promote_successful: bool,
}

/// An ended session, the promotion candidates it made and the auto-promotions started.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedSessionView {
    /// The session after the change.
    pub session: SessionView,
    /// Records now listed for their tools' creators.
    pub candidates: Vec<RecordView>,
    /// Promotion jobs started for tools with `auto_promote`.
    pub promotion_jobs: Vec<JobView>,
}

/// Ends a session (its owner): optimizations still queued or running are canceled; with
/// `promote_successful` every passed record becomes a promotion candidate, promoted at once
/// (through the same re-check) for tools with `auto_promote`. 409 when it already ended.
#[utoipa::path(post, path = "/v1/sessions/{id}/end", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "session id")), request_body = EndSession,
    responses((status = 200, body = EndedSessionView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub(crate) async fn end_session(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(body): OptionalJson<EndSession>,
) -> ApiResult<Json<EndedSessionView>> {
    owned_session(&state, &caller, id).await?;
    // Cancel first: a worker that finds the session ended also finds its job's cancel request
    // and records the job canceled, not failed.
    for t in state.store.session_tools(id).await? {
        if let Some(job) = t.last_job_id
            && let Err(e) = state
                .store
                .cancel_job(caller.id, job, state.job_now())
                .await
        {
            tracing::warn!(error = %e, job_id = %job, "canceling a session's optimization failed");
        }
    }
    let ended = state
        .store
        .end_session(id, body.promote_successful, state.now())
        .await?;
    let mut promotion_jobs = Vec::new();
    for record in &ended.candidates {
        let Some(tool) = state.store.tool(record.tool_id).await? else {
            continue;
        };
        // Without a reference dataset (deleted since) only the creator promotes, by hand.
        if !tool.auto_promote || tool.reference_dataset_id.is_none() || tool.deleted_at.is_some() {
            continue;
        }
        let payload = PromoteRecordJob {
            record_id: record.id,
            auto: true,
            recheck_limit: None,
        };
        match enqueue(&state, tool.creator_id, payload, 0).await {
            Ok(job) => promotion_jobs.push(JobView::from(&job)),
            // The record stays a candidate: the creator can still promote it by hand.
            Err(e) => {
                tracing::warn!(error = %e, record_id = %record.id, "auto-promotion not enqueued")
            }
        }
    }
    let envelope = session_envelope(&state, &ended.session).await?;
    Ok(Json(EndedSessionView {
        session: envelope.session,
        candidates: ended
            .candidates
            .iter()
            .map(|r| RecordView::of(r, Some(ended.session.dataset_id)).without_curves())
            .collect(),
        promotion_jobs,
    }))
}

/// What the caller may ask of the optimizer on a tool.
struct Entitlement {
    /// Most trials per optimization (0: none).
    max_trials: u64,
    /// Queue priority of their optimizations.
    priority: i32,
    /// `creator` or the subscription's tier.
    label: String,
}

/// The caller's entitlement on `tool`: its creator, or a live subscriber with access now;
/// anyone else gets 403.
async fn entitlement(state: &AppState, caller: &Account, tool: &Tool) -> ApiResult<Entitlement> {
    let sessions = &state.settings.sessions;
    if tool.creator_id == caller.id {
        return Ok(Entitlement {
            max_trials: sessions.creator_max_trials,
            priority: 0,
            label: "creator".into(),
        });
    }
    match state.store.live_subscription(tool.id, caller.id).await? {
        Some(s) if s.has_access(state.now()) => Ok(Entitlement {
            max_trials: sessions.max_trials.of(s.tier),
            priority: if s.tier == Tier::Enterprise {
                sessions.enterprise_priority
            } else {
                0
            },
            label: s.tier.as_str().into(),
        }),
        _ => Err(ApiError::Forbidden(
            "using a tool in a session needs an active subscription to it".into(),
        )),
    }
}

/// How to optimize: every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizationConfig {
    /// `grid`, `random`, `bayesian` (default), `cmaes` or `local`.
    pub method: Option<Method>,
    /// Trials (default `sessions.default_trials`, capped by the tier's limit).
    pub trials: Option<u64>,
    /// The seed's name for `trials` (`{"epochs": 100}`: one trial is one epoch of the search);
    /// give one of the two.
    pub epochs: Option<u64>,
    /// Seed (default: the session's).
    pub seed: Option<u64>,
}

/// The study a request asks for, within the caller's entitlement.
fn study_spec(
    state: &AppState,
    session: &Session,
    ent: &Entitlement,
    config: &OptimizationConfig,
    field: &str,
) -> ApiResult<StudySpec> {
    if ent.max_trials == 0 {
        return Err(ApiError::Entitlement {
            detail: format!(
                "the {} tier includes no optimization; subscribe at basic or higher",
                ent.label
            ),
            limit: 0,
            tier: ent.label.clone(),
        });
    }
    let (trials_field, asked) = match (config.epochs, config.trials) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                format!("{field}.epochs"),
                "is the seed's name for trials; give trials or epochs, not both",
            ));
        }
        (Some(epochs), None) => ("epochs", Some(epochs)),
        (None, trials) => ("trials", trials),
    };
    let trials = asked.unwrap_or_else(|| {
        state
            .settings
            .sessions
            .default_trials
            .clamp(1, ent.max_trials)
    });
    if trials == 0 {
        return Err(ApiError::invalid(
            format!("{field}.{trials_field}"),
            "must be at least 1",
        ));
    }
    if trials > ent.max_trials {
        return Err(ApiError::Entitlement {
            detail: format!(
                "the {} tier allows at most {} trials per optimization; {trials} were asked",
                ent.label, ent.max_trials
            ),
            limit: ent.max_trials,
            tier: ent.label.clone(),
        });
    }
    let seed = config.seed.unwrap_or(session.config.seed);
    if seed > MAX_SEED {
        return Err(ApiError::invalid(
            format!("{field}.seed"),
            format!("must be between 0 and {MAX_SEED}"),
        ));
    }
    Ok(StudySpec {
        method: config.method.unwrap_or(Method::Bayesian),
        trials,
        seed,
    })
}

/// The job row of an optimization of `tool` in `session` (to be written with whatever asks
/// for it).
async fn draft_optimization(
    state: &AppState,
    caller: &Account,
    session: &Session,
    tool: &Tool,
    study: StudySpec,
    priority: i32,
) -> ApiResult<NewJob> {
    let payload = OptimizeSessionToolJob {
        session_id: session.id,
        tool_id: tool.id,
        study,
    };
    draft(state, caller.id, payload, priority).await
}

/// A live tool the caller may see, or 404.
async fn usable_tool(state: &AppState, id: Uuid) -> ApiResult<Tool> {
    state
        .store
        .tool(id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or(ApiError::NotFound("tool"))
}

fn active(session: &Session) -> ApiResult<()> {
    if session.status == SessionStatus::Active {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "the session has ended; open a new one".into(),
        ))
    }
}

/// Body of `POST /v1/sessions/{id}/tools`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertTool {
    /// A tool the caller created or holds an active subscription to.
    pub tool_id: Uuid,
    /// Optimize its parameters for this session at once (an `optimize` job).
    #[serde(default)]
    pub auto_optimize: bool,
    /// How to optimize (with `auto_optimize`).
    #[serde(default)]
    pub optimization_config: OptimizationConfig,
}

/// `{session_tool, job}`: the inserted tool and, with `auto_optimize`, its optimization job.
#[derive(Debug, Serialize, ToSchema)]
pub struct InsertedTool {
    /// The tool as the session holds it.
    pub session_tool: SessionToolView,
    /// The optimization job, with `auto_optimize`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobView>,
}

/// Inserts a tool's current version into a session. 403 without an active subscription to it
/// (or ownership); 409 when the session has ended or already holds it. With `auto_optimize`,
/// enqueues its optimization and answers 202.
#[utoipa::path(post, path = "/v1/sessions/{id}/tools", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "session id")), request_body = InsertTool,
    responses((status = 201, body = InsertedTool), (status = 202, body = InsertedTool),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
pub(crate) async fn insert_tool(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InsertTool>,
) -> ApiResult<(StatusCode, Json<InsertedTool>)> {
    let session = owned_session(&state, &caller, id).await?;
    active(&session)?;
    let tool = usable_tool(&state, body.tool_id).await?;
    let ent = entitlement(&state, &caller, &tool).await?;
    let job = if body.auto_optimize {
        let study = study_spec(
            &state,
            &session,
            &ent,
            &body.optimization_config,
            "optimization_config",
        )?;
        Some(draft_optimization(&state, &caller, &session, &tool, study, ent.priority).await?)
    } else {
        None
    };
    let new = NewSessionTool {
        session_id: session.id,
        tool_id: tool.id,
        base_version: tool.current_version,
        parameters: tool.parameters.clone(),
    };
    // The tool and its optimization job in one transaction: both or neither.
    let (inserted, job) = state
        .store
        .insert_session_tool(&new, job.as_ref(), state.now(), state.job_now())
        .await?;
    let Some(job) = job else {
        return Ok((
            StatusCode::CREATED,
            Json(InsertedTool {
                session_tool: SessionToolView::of(&inserted, Some(&tool), None),
                job: None,
            }),
        ));
    };
    dispatch(&state, std::slice::from_ref(&job)).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(InsertedTool {
            session_tool: SessionToolView::of(&inserted, Some(&tool), Some(&job)),
            job: Some(JobView::from(&job)),
        }),
    ))
}

/// Body of `POST /v1/sessions/{id}/tools/{tool_id}/optimizations`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOptimization {
    /// `grid`, `random`, `bayesian` (default), `cmaes` or `local`.
    pub method: Option<Method>,
    /// Trials and seed (a `method` here is used when the top level names none).
    #[serde(default)]
    pub config: OptimizationConfig,
}

/// Optimizes an inserted tool again with a chosen method (202 with the `optimize` job). 409
/// while its previous optimization is still queued or running, or when the session ended.
#[utoipa::path(post, path = "/v1/sessions/{id}/tools/{tool_id}/optimizations", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "session id"), ("tool_id" = Uuid, Path, description = "tool id")),
    request_body = CreateOptimization,
    responses((status = 202, body = JobEnvelope), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 503, body = crate::error::Problem)))]
pub(crate) async fn create_optimization(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, tool_id)): ApiPath<(Uuid, Uuid)>,
    OptionalJson(body): OptionalJson<CreateOptimization>,
) -> ApiResult<(StatusCode, Json<JobEnvelope>)> {
    let session = owned_session(&state, &caller, id).await?;
    let inserted = state
        .store
        .session_tools(session.id)
        .await?
        .into_iter()
        .find(|t| t.tool_id == tool_id)
        .ok_or(ApiError::NotFound("tool in this session"))?;
    active(&session)?;
    let tool = usable_tool(&state, tool_id).await?;
    let ent = entitlement(&state, &caller, &tool).await?;
    let config = OptimizationConfig {
        method: body.method.or(body.config.method),
        ..body.config
    };
    let study = study_spec(&state, &session, &ent, &config, "config")?;
    if let Some(last) = inserted.last_job_id
        && let Some(job) = state.store.job(last).await?
        && matches!(job.status, JobStatus::Queued | JobStatus::Running)
    {
        return Err(ApiError::Conflict(format!(
            "an optimization of this tool is already {} in this session (job {})",
            job.status.as_str(),
            job.id
        )));
    }
    let new = draft_optimization(&state, &caller, &session, &tool, study, ent.priority).await?;
    let job = state
        .store
        .queue_session_tool_job(session.id, tool.id, &new, state.now(), state.job_now())
        .await?;
    dispatch(&state, std::slice::from_ref(&job)).await;
    Ok(crate::routes::jobs::accepted(&job))
}
