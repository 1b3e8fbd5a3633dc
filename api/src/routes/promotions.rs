//! Optimization records and what a tool's creator does with them: read a record (the session's
//! owner, or the tool's creator without the renter's data), promote one that passed the
//! standards gate into a new permanent version, list promotion candidates, and roll a tool
//! back to an earlier version.
//!
//! Promotion re-checks the candidate against the tool's *current* version (a `promote` job: the
//! backtests run on a worker, never here). The request waits for it up to
//! `sessions.promote_wait_secs`: 201 with the new version when it passes, 422 with the report
//! when it does not; a re-check still running then is answered 202 with its job.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::domain::{Account, OptimizationTrial, RecordStatus};
use shared::jobs::{JobStatus, PromoteRecordJob, PromotionOutcome};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::routes::jobs::{JobEnvelope, accepted, enqueue, wait_for_job};
use crate::routes::tools::owned_tool;
use crate::state::AppState;
use crate::views::{RecordView, ToolView, VersionView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_optimization))
        .routes(routes!(list_trials))
        .routes(routes!(promote_optimization))
        .routes(routes!(list_promotion_candidates))
        .routes(routes!(rollback_version))
}

/// Priority of promotion re-checks: a creator waits on them, and they are short.
const PROMOTE_PRIORITY: i32 = 20;

/// `{optimization}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordEnvelope {
    /// The record.
    pub optimization: RecordView,
}

/// The record as the caller may see it: in full for the session's owner, without the renter's
/// data for the tool's creator; 404 for anyone else.
pub(crate) async fn visible_record(
    state: &AppState,
    caller: &Account,
    id: Uuid,
) -> ApiResult<RecordView> {
    let record = state
        .store
        .optimization_record(id)
        .await?
        .ok_or(ApiError::NotFound("optimization"))?;
    let tool = state.store.tool(record.tool_id).await?;
    if record.owner_id == caller.id {
        let dataset = state
            .store
            .session(record.session_id)
            .await?
            .map(|s| s.dataset_id);
        Ok(RecordView::of(&record, dataset))
    } else if tool.is_some_and(|t| t.creator_id == caller.id) {
        Ok(RecordView::of(&record, None))
    } else {
        Err(ApiError::NotFound("optimization"))
    }
}

/// An optimization record: its session's owner sees everything, the tool's creator sees
/// parameters and metrics but not the renter's dataset.
#[utoipa::path(get, path = "/v1/optimizations/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 200, body = RecordEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_optimization(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<RecordEnvelope>> {
    let view = visible_record(&state, &caller, id).await?;
    Ok(Json(RecordEnvelope { optimization: view }))
}

/// Page of `GET /v1/optimizations/{id}/trials`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrialQuery {
    /// Page size (1..=1000, default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Trials after this trial number (a previous page's `next_after`).
    pub after: Option<u64>,
}

/// `{trials, next_after}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialList {
    /// Trials in the order the search asked them.
    pub trials: Vec<OptimizationTrial>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<u64>,
}

/// Most trials a page holds.
const MAX_TRIALS_PAGE: u32 = 1_000;

/// Every trial of the record's search: parameters, in-sample score, metrics per block of the
/// search span, closed trades and the Sharpe and information ratios (the study, not only its
/// best-so-far curve). Visible to whoever may see the record.
#[utoipa::path(get, path = "/v1/optimizations/{id}/trials", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "record id"), TrialQuery),
    responses((status = 200, body = TrialList), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn list_trials(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TrialQuery>,
) -> ApiResult<Json<TrialList>> {
    visible_record(&state, &caller, id).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_TRIALS_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_TRIALS_PAGE}"),
        ));
    }
    let mut trials = state
        .store
        .optimization_trials(id, q.after, i64::from(limit) + 1)
        .await?;
    let more = trials.len() > limit as usize;
    trials.truncate(limit as usize);
    Ok(Json(TrialList {
        next_after: more.then(|| trials.last().map(|t| t.trial)).flatten(),
        trials,
    }))
}

/// A promotion that passed: the new version and the tool now.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionView {
    /// The new version, with its lineage.
    pub version: VersionView,
    /// The tool, now at that version.
    pub tool: ToolView,
    /// The record, now `promoted`.
    pub optimization: RecordView,
    /// The re-check's report against the version it replaced.
    #[schema(value_type = Object)]
    pub standards_report: Value,
}

/// Promotes a record into a new permanent tool version (the tool's creator only, 403 else).
/// The record must have passed the standards gate (422 with its report otherwise); the
/// candidate is re-checked against the tool's current version on the session's out-of-sample
/// folds and on the tool's reference dataset: 201 with the new version when it passes, 422 with
/// the failing checks when not, 409 when already promoted, 202 with the job when the re-check
/// takes longer than `sessions.promote_wait_secs`.
#[utoipa::path(post, path = "/v1/optimizations/{id}/promote", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 201, body = PromotionView), (status = 202, body = JobEnvelope),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
pub(crate) async fn promote_optimization(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let record = state
        .store
        .optimization_record(id)
        .await?
        .ok_or(ApiError::NotFound("optimization"))?;
    let tool = state
        .store
        .tool(record.tool_id)
        .await?
        .ok_or(ApiError::NotFound("optimization"))?;
    // The record's owner may know it exists; anyone else but the creator finds nothing.
    if tool.creator_id != caller.id && record.owner_id != caller.id {
        return Err(ApiError::NotFound("optimization"));
    }
    if tool.creator_id != caller.id {
        return Err(ApiError::Forbidden(
            "only the tool's creator may promote its optimizations".into(),
        ));
    }
    if tool.deleted_at.is_some() {
        return Err(ApiError::Conflict("the tool was deleted".into()));
    }
    if record.status == RecordStatus::Promoted {
        return Err(ApiError::Conflict(format!(
            "already promoted to version {}",
            record.promoted_version.unwrap_or_default()
        )));
    }
    if !record.standards_report.passed {
        return Err(ApiError::StandardsFailed {
            detail: "the optimization did not pass the standards gate".into(),
            report: Box::new(record.standards_report),
        });
    }
    // Each re-check runs the creator's current parameters on the renter's data: a record
    // allows a few (the worker counts them atomically; this answers early).
    let limit = state.settings.sessions.max_rechecks_per_record;
    let renters = record.owner_id != caller.id;
    if renters && record.rechecks >= limit {
        return Err(ApiError::QuotaExceeded {
            detail: format!(
                "the record was re-checked {} times, the most a renter's record allows",
                record.rechecks
            ),
            limit: i64::from(limit),
            retry_after: None,
        });
    }
    let payload = PromoteRecordJob {
        record_id: record.id,
        auto: false,
        recheck_limit: renters.then_some(limit),
    };
    let job = enqueue(&state, caller.id, payload, PROMOTE_PRIORITY).await?;
    let job = wait_for_job(&state, job.id).await?;
    let outcome = match job.status {
        JobStatus::Succeeded => Some(
            serde_json::from_value::<PromotionOutcome>(job.result.clone().unwrap_or(Value::Null))
                .map_err(|e| ApiError::Unexpected(e.into()))?,
        ),
        _ => None,
    };
    match (job.status, outcome) {
        (JobStatus::Succeeded, Some(outcome)) if outcome.passed => {
            let version = outcome.version.ok_or_else(|| {
                ApiError::Unexpected(anyhow::anyhow!("promotion without a version"))
            })?;
            let versions = state.store.tool_versions(tool.id).await?;
            let version = versions
                .iter()
                .find(|v| v.version == version)
                .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("promoted version missing")))?;
            let tool = state
                .store
                .tool(tool.id)
                .await?
                .ok_or(ApiError::NotFound("tool"))?;
            let record = state
                .store
                .optimization_record(record.id)
                .await?
                .ok_or(ApiError::NotFound("optimization"))?;
            tracing::info!(tool_id = %tool.id, version = version.version, record_id = %record.id, "optimization promoted");
            let body = PromotionView {
                version: VersionView::for_viewer(version, true),
                tool: ToolView::from(&tool),
                optimization: RecordView::of(&record, None),
                standards_report: serde_json::to_value(&outcome.standards_report)
                    .map_err(|e| ApiError::Unexpected(e.into()))?,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        (JobStatus::Succeeded, Some(outcome)) => Err(ApiError::StandardsFailed {
            detail: format!(
                "the candidate no longer passes the standards gate against version {}",
                outcome.against_version
            ),
            report: Box::new(outcome.standards_report),
        }),
        (JobStatus::Failed | JobStatus::Canceled, _) => Err(ApiError::Conflict(
            job.error
                .as_ref()
                .map_or("the promotion's re-check did not complete", |e| {
                    e.detail.as_str()
                })
                .to_owned(),
        )),
        (JobStatus::Queued | JobStatus::Running | JobStatus::Succeeded, _) => {
            Ok(accepted(&job).into_response())
        }
    }
}

/// Page of `GET /v1/tools/{id}/promotion-candidates`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `{candidates, next_cursor}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    /// Records ready to promote, oldest first.
    pub candidates: Vec<RecordView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Records of ended sessions that passed the gate and wait for the creator's promotion.
#[utoipa::path(get, path = "/v1/tools/{id}/promotion-candidates", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), CandidateQuery),
    responses((status = 200, body = CandidateList), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
async fn list_promotion_candidates(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<CandidateQuery>,
) -> ApiResult<Json<CandidateList>> {
    let tool = owned_tool(&state, &caller, id).await?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .promotion_candidates(tool.id, after, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |r| r.id);
    Ok(Json(CandidateList {
        candidates: rows.iter().map(|r| RecordView::of(r, None)).collect(),
        next_cursor,
    }))
}

/// `{tool, version}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollbackView {
    /// The tool, now at the new version.
    pub tool: ToolView,
    /// The new version (equal to the one rolled back to).
    pub version: VersionView,
}

/// Makes a new version of the tool equal to version `n` (creator only); history is kept.
#[utoipa::path(post, path = "/v1/tools/{id}/versions/{n}/rollback", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ("n" = i32, Path, description = "version to restore")),
    responses((status = 201, body = RollbackView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
async fn rollback_version(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, n)): ApiPath<(Uuid, i32)>,
) -> ApiResult<(StatusCode, Json<RollbackView>)> {
    owned_tool(&state, &caller, id).await?;
    let tool = state
        .store
        .rollback_tool(id, n, state.now())
        .await
        .map_err(|e| match e {
            shared::store::StoreError::NotFound => ApiError::NotFound("version"),
            e => e.into(),
        })?;
    let versions = state.store.tool_versions(id).await?;
    let version = versions
        .iter()
        .find(|v| v.version == tool.current_version)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("rolled-back version missing")))?;
    tracing::info!(tool_id = %id, restored = n, version = tool.current_version, "tool rolled back");
    Ok((
        StatusCode::CREATED,
        Json(RollbackView {
            tool: ToolView::from(&tool),
            version: VersionView::for_viewer(version, true),
        }),
    ))
}
