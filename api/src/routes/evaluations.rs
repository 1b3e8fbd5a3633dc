//! `POST /v1/tools/{id}/evaluations`: evaluates a tool version on one of the caller's datasets
//! as an `evaluate` job (202 with the job). Everything that can be checked before the job runs
//! is checked here (access, dataset ownership, settings, folds against the dataset's length),
//! so a job only fails for reasons that could not be known in advance.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::domain::{Direction, Metric, Tier};
use shared::evaluation::{EvalConfig, FoldSpec};
use shared::jobs::EvaluateToolJob;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::jobs::{JobEnvelope, JobView, accepted, enqueue};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_evaluation))
        .routes(routes!(create_evaluations))
        .routes(routes!(list_metrics))
}

/// A metric an evaluation reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricView {
    /// Name, as in every `metrics` object.
    pub name: &'static str,
    /// `higher` or `lower` is better.
    pub direction: Direction,
    /// What it measures.
    pub description: &'static str,
}

/// `{metrics}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricList {
    /// Every metric, in report order.
    pub metrics: Vec<MetricView>,
}

/// The metrics evaluations report and which direction is better for each (public).
#[utoipa::path(get, path = "/v1/metrics", tag = "jobs",
    responses((status = 200, body = MetricList)))]
async fn list_metrics() -> Json<MetricList> {
    Json(MetricList {
        metrics: Metric::ALL
            .into_iter()
            .map(|m| MetricView {
                name: m.name(),
                direction: m.direction(),
                description: m.description(),
            })
            .collect(),
    })
}

/// Priority of jobs run for enterprise-tier subscribers (others: 0).
pub const ENTERPRISE_PRIORITY: i32 = 10;

/// Body of `POST /v1/tools/{id}/evaluations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvaluation {
    /// One of the caller's datasets.
    pub dataset_id: Uuid,
    /// Tool version (default: the current one).
    pub version: Option<i32>,
    /// Walk-forward folds (default 4 rolling folds, in-sample ratio 3).
    pub folds: Option<FoldSpec>,
    /// Commission per fill as a fraction of traded value (default 0.002).
    pub commission: Option<f64>,
    /// Slippage per fill as a fraction of price (default 0).
    pub slippage: Option<f64>,
    /// Starting equity (default 10,000).
    pub initial_cash: Option<f64>,
}

/// Body of `POST /v1/tools/{id}/evaluations/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvaluations {
    /// 1 to 100 evaluations of the tool, each as `POST /v1/tools/{id}/evaluations` takes it.
    pub evaluations: Vec<CreateEvaluation>,
}

/// `{jobs}`: the queued jobs, in the order of the request's evaluations.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobBatch {
    /// One job per evaluation asked for.
    pub jobs: Vec<JobView>,
}

/// Most evaluations in one batch request.
pub const MAX_BATCH: usize = 100;

/// Evaluates a tool on a dataset (creator or live subscriber; the dataset must be the
/// caller's). Answers 202 with the job; its result is the engine's evaluation.
#[utoipa::path(post, path = "/v1/tools/{id}/evaluations", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")), request_body = CreateEvaluation,
    responses((status = 202, body = JobEnvelope), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
async fn create_evaluation(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateEvaluation>,
) -> ApiResult<(StatusCode, Json<JobEnvelope>)> {
    let (tool, priority) = evaluable_tool(&state, caller.id, id).await?;
    let payload = evaluation_job(&state, caller.id, &tool, body, "").await?;
    let job = enqueue(&state, caller.id, payload, priority).await?;
    Ok(accepted(&job))
}

/// Evaluates a tool on several datasets or settings in one request (1 to 100 evaluations, each
/// as `POST /v1/tools/{id}/evaluations` takes it): all are queued or none (a 422 names the
/// evaluation at fault as `evaluations[i].field`; the account's job quota must hold them all).
/// Their rows are written in one transaction and their messages pushed in bulk. Answers 202
/// with the jobs in the request's order.
#[utoipa::path(post, path = "/v1/tools/{id}/evaluations/batch", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")), request_body = CreateEvaluations,
    responses((status = 202, body = JobBatch), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
async fn create_evaluations(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateEvaluations>,
) -> ApiResult<(StatusCode, Json<JobBatch>)> {
    if body.evaluations.is_empty() || body.evaluations.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "evaluations",
            format!("must hold 1 to {MAX_BATCH} evaluations"),
        ));
    }
    let (tool, priority) = evaluable_tool(&state, caller.id, id).await?;
    let mut payloads = Vec::with_capacity(body.evaluations.len());
    for (i, item) in body.evaluations.into_iter().enumerate() {
        let at = format!("evaluations[{i}].");
        payloads.push(
            evaluation_job(&state, caller.id, &tool, item, &at)
                .await?
                .into(),
        );
    }
    let jobs = state
        .jobs
        .enqueue_many(
            state.store.as_ref(),
            caller.id,
            payloads,
            priority,
            state.job_now(),
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JobBatch {
            jobs: jobs.iter().map(JobView::from).collect(),
        }),
    ))
}

/// The tool `caller` may evaluate (its creator, or a live subscriber) and the priority of its
/// jobs.
async fn evaluable_tool(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
) -> ApiResult<(shared::domain::Tool, i32)> {
    let tool = state
        .store
        .tool(id)
        .await?
        .filter(|t| t.deleted_at.is_none() || t.creator_id == caller)
        .ok_or(ApiError::NotFound("tool"))?;
    let mut priority = 0;
    if tool.creator_id != caller {
        let sub = state.store.live_subscription(id, caller).await?;
        match sub {
            Some(s) if s.has_access(state.now()) => {
                if s.tier == Tier::Enterprise {
                    priority = ENTERPRISE_PRIORITY;
                }
            }
            _ => {
                return Err(ApiError::Forbidden(
                    "evaluating a tool needs an active subscription to it".into(),
                ));
            }
        }
    }
    Ok((tool, priority))
}

/// The job of one evaluation, checked against the caller's dataset; a 422 names its field
/// after `at` (the evaluation's place in a batch).
async fn evaluation_job(
    state: &AppState,
    caller: Uuid,
    tool: &shared::domain::Tool,
    body: CreateEvaluation,
    at: &str,
) -> ApiResult<EvaluateToolJob> {
    let field = |name: &str| format!("{at}{name}");
    let dataset = state
        .store
        .dataset(caller, body.dataset_id)
        .await?
        .ok_or_else(|| ApiError::invalid(field("dataset_id"), "no such dataset of yours"))?;
    let version = body.version.unwrap_or(tool.current_version);
    if !(1..=tool.current_version).contains(&version) {
        return Err(ApiError::invalid(
            field("version"),
            format!("must be between 1 and {}", tool.current_version),
        ));
    }
    let defaults = EvalConfig::default();
    let config = EvalConfig {
        commission: body.commission.unwrap_or(defaults.commission),
        slippage: body.slippage.unwrap_or(defaults.slippage),
        initial_cash: body.initial_cash.unwrap_or(defaults.initial_cash),
        folds: body.folds.unwrap_or(defaults.folds),
        ..defaults
    };
    config
        .validate()
        .map_err(|e| ApiError::invalid(field(&e.field), e.message))?;
    let rows = usize::try_from(dataset.rows).unwrap_or(usize::MAX);
    config
        .folds
        .split(rows)
        .map_err(|e| ApiError::invalid(field(&e.field), e.message))?;
    Ok(EvaluateToolJob {
        tool_id: tool.id,
        version,
        dataset_id: dataset.id,
        config: serde_json::to_value(config).unwrap_or(Value::Null),
    })
}
