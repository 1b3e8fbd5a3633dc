//! Creator training: start a run of one method (or a hybrid of three) on one of the creator's
//! datasets, read it live (status, progress, result), cancel it, apply it as a new tool version,
//! and ask which method to try next.
//!
//! Every run is a `train` job (a hybrid run is three, so several workers share it); nothing
//! heavy happens here. Only the tool's creator may train it (403), on their own dataset (422).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::domain::{Account, TrainingConfig, TrainingMethod, TrainingRun};
use shared::jobs::{Job, TrainToolJob};
use shared::store::NewTraining;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::routes::jobs::{JobView, dispatch, draft};
use crate::routes::tools::owned_tool;
use crate::state::AppState;

pub mod advice;
pub mod apply;
use crate::views::TrainingView;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_training, list_trainings))
        .routes(routes!(get_training))
        .routes(routes!(cancel_training))
        .merge(apply::router())
        .merge(advice::router())
}

/// Body of `POST /v1/tools/{id}/trainings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTraining {
    /// `deep_learning`, `q_learning`, `optimization_engine` or `hybrid`.
    pub method: TrainingMethod,
    /// Settings of the method (every field optional; see the config schema for defaults).
    #[serde(default)]
    pub config: TrainingConfig,
    /// One of the creator's datasets.
    pub dataset_id: Uuid,
}

/// `{training, job}` (a hybrid run's `job` is its first part's; `jobs` lists all three).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingStarted {
    /// The run.
    pub training: TrainingView,
    /// Its job.
    pub job: JobView,
    /// Every job of the run (one, or three for a hybrid run).
    pub jobs: Vec<JobView>,
}

/// `{training}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingEnvelope {
    /// The run.
    pub training: TrainingView,
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingList {
    /// Runs, newest first (hybrid parts are shown inside their hybrid run).
    pub trainings: Vec<TrainingView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// The run as its creator sees it (404 for anyone else).
pub(crate) async fn owned_run(
    state: &AppState,
    caller: &Account,
    id: Uuid,
) -> ApiResult<TrainingRun> {
    state
        .store
        .training(id)
        .await?
        .filter(|t| t.creator_id == caller.id)
        .ok_or(ApiError::NotFound("training"))
}

async fn job_of(state: &AppState, id: Option<Uuid>) -> ApiResult<Option<Job>> {
    Ok(match id {
        Some(id) => state.store.job(id).await?,
        None => None,
    })
}

/// The view of a run: a single run with its job, a hybrid run with its parts.
pub(super) async fn view(state: &AppState, run: &TrainingRun) -> ApiResult<TrainingView> {
    if run.method != TrainingMethod::Hybrid {
        let job = job_of(state, run.job_id).await?;
        return Ok(TrainingView::single(run, job.as_ref()));
    }
    let mut parts = Vec::new();
    for p in state.store.training_parts(run.id).await? {
        let job = job_of(state, p.job_id).await?;
        parts.push((p, job));
    }
    Ok(TrainingView::hybrid(run, &parts))
}

/// Starts a training run (creator only): 202 with the run and its job (three jobs for a hybrid
/// run). A config field out of range or not used by the method is a 422 naming it.
#[utoipa::path(post, path = "/v1/tools/{id}/trainings", tag = "training", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")), request_body = CreateTraining,
    responses((status = 202, body = TrainingStarted), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
pub(crate) async fn create_training(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateTraining>,
) -> ApiResult<(StatusCode, Json<TrainingStarted>)> {
    let tool = owned_tool(&state, &caller, id).await?;
    let config = body
        .config
        .resolve(
            body.method,
            tool.family == "neural",
            state.settings.sessions.creator_max_trials,
        )
        .map_err(|errors| {
            ApiError::invalid_fields(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field, e.message))
                    .collect(),
            )
        })?;
    let dataset = state
        .store
        .dataset(caller.id, body.dataset_id)
        .await?
        .ok_or_else(|| ApiError::invalid("dataset_id", "no such dataset of yours"))?;
    if dataset.rows < MIN_TRAINING_BARS as u64 {
        return Err(ApiError::invalid(
            "dataset_id",
            format!(
                "the dataset has {} bars; training needs at least {MIN_TRAINING_BARS}",
                dataset.rows
            ),
        ));
    }
    let run = NewTraining {
        id: Uuid::now_v7(),
        tool_id: tool.id,
        creator_id: caller.id,
        dataset_id: dataset.id,
        method: body.method,
        config: config.clone(),
        base_version: tool.current_version,
        parent_id: None,
    };
    let mut new = vec![run.clone()];
    if body.method == TrainingMethod::Hybrid {
        new.extend(TrainingMethod::HYBRID_PARTS.map(|method| NewTraining {
            id: Uuid::now_v7(),
            method,
            parent_id: Some(run.id),
            ..run.clone()
        }));
    }
    // Every run that trains (not the hybrid run itself, which judges its parts) gets a job;
    // runs and jobs are written in one transaction: all or nothing.
    let mut drafts = Vec::new();
    for r in new.iter().filter(|t| t.method != TrainingMethod::Hybrid) {
        let job = draft(&state, caller.id, TrainToolJob { training_id: r.id }, 0).await?;
        drafts.push((r.id, job));
    }
    let (_, jobs) = state
        .store
        .create_trainings(&new, &drafts, state.now(), state.job_now())
        .await?;
    dispatch(&state, &jobs).await;
    let run = owned_run(&state, &caller, run.id).await?;
    let training = view(&state, &run).await?;
    tracing::info!(training_id = %run.id, tool_id = %tool.id, method = run.method.as_str(), "training started");
    let views: Vec<JobView> = jobs.iter().map(JobView::from).collect();
    let first = jobs
        .first()
        .map(JobView::from)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a training run without a job")))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TrainingStarted {
            training,
            job: first,
            jobs: views,
        }),
    ))
}

/// Fewest bars of a training dataset (each split needs samples).
const MIN_TRAINING_BARS: usize = 200;

/// A tool's training runs, newest first (creator only).
#[utoipa::path(get, path = "/v1/tools/{id}/trainings", tag = "training", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ListQuery),
    responses((status = 200, body = TrainingList), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn list_trainings(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<TrainingList>> {
    owned_tool(&state, &caller, id).await?;
    let limit = page_limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let mut rows = Vec::new();
    let mut before = cursor;
    // Parts are listed inside their hybrid run: skip them while filling the page.
    loop {
        let batch = state
            .store
            .tool_trainings(id, before, i64::from(limit) + 1)
            .await?;
        let done = batch.len() <= limit as usize;
        before = batch.last().map(|t| t.id);
        rows.extend(batch.into_iter().filter(|t| t.parent_id.is_none()));
        if done || rows.len() > limit as usize {
            break;
        }
    }
    let (rows, next_cursor) = paginate(rows, limit, |t| t.id);
    let mut trainings = Vec::with_capacity(rows.len());
    for r in &rows {
        trainings.push(view(&state, r).await?);
    }
    Ok(Json(TrainingList {
        trainings,
        next_cursor,
    }))
}

/// A training run: status, progress and, once finished, the result with metrics on the
/// train/validation/test splits, curves, the artifact's summary, duration and seed (its creator;
/// 404 for anyone else).
#[utoipa::path(get, path = "/v1/trainings/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "training id")),
    responses((status = 200, body = TrainingEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_training(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TrainingEnvelope>> {
    let run = owned_run(&state, &caller, id).await?;
    Ok(Json(TrainingEnvelope {
        training: view(&state, &run).await?,
    }))
}

/// Cancels a run (every part of a hybrid run): queued jobs at once, running ones at their next
/// epoch, episode or batch of trials; a canceled run stores no result.
#[utoipa::path(post, path = "/v1/trainings/{id}/cancel", tag = "training", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "training id")),
    responses((status = 200, body = TrainingEnvelope), (status = 404, body = crate::error::Problem)))]
async fn cancel_training(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TrainingEnvelope>> {
    let run = owned_run(&state, &caller, id).await?;
    let jobs: Vec<Uuid> = if run.method == TrainingMethod::Hybrid {
        state
            .store
            .training_parts(run.id)
            .await?
            .iter()
            .filter_map(|p| p.job_id)
            .collect()
    } else {
        run.job_id.into_iter().collect()
    };
    for job in jobs {
        state
            .store
            .cancel_job(caller.id, job, state.job_now())
            .await?;
    }
    let run = owned_run(&state, &caller, id).await?;
    Ok(Json(TrainingEnvelope {
        training: view(&state, &run).await?,
    }))
}
