//! A/B tests of a tool's versions, for its creator: `POST /v1/tools/{id}/ab-tests` checks
//! everything that can be checked before the work (versions, the creator's datasets, costs,
//! folds against every dataset's length, the test's settings) and queues an `ab_test` job
//! (202); the A/B test's id is its job's. `GET .../ab-tests` lists them, `GET
//! .../ab-tests/{test_id}` answers one with its result, and `GET .../ab-tests/renters`
//! compares two versions across renters' sessions, as aggregates only and only once each
//! version has 5 distinct renters (`domain::ab_test::MIN_RENTERS`). Only the creator reaches
//! any of them: 404 when the tool is not listed, 403 for anyone else.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::ab_test::{
    AbTestResult, AbTestSettings, MAX_DATASETS, RenterComparison, Verdict, compare_renters,
};
use shared::domain::{Account, Tool};
use shared::evaluation::{EvalConfig, FoldSpec};
use shared::jobs::{AbTestJob, Job, JobKind, JobPayload, JobStatus};
use shared::store::JobFilter;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::routes::jobs::{JobView, enqueue};
use crate::state::AppState;

mod plot;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ab_test, list_ab_tests))
        .routes(routes!(compare_ab_renters))
        .routes(routes!(get_ab_test))
        .routes(routes!(plot::ab_test_plot))
}

/// Costs both versions trade with.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbCosts {
    /// Commission per fill as a fraction of traded value (default 0.002).
    pub commission: Option<f64>,
    /// Slippage per fill as a fraction of price (default 0).
    pub slippage: Option<f64>,
}

/// Body of `POST /v1/tools/{id}/ab-tests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAbTest {
    /// The control version.
    pub version_a: i32,
    /// The version compared with it.
    pub version_b: i32,
    /// 1 to 10 of the caller's datasets; both versions run on each.
    pub dataset_ids: Vec<Uuid>,
    /// Walk-forward folds (default 4 rolling folds, in-sample ratio 3); their out-of-sample
    /// windows are the paired periods.
    pub folds: Option<FoldSpec>,
    /// Costs (defaults as evaluations').
    pub costs: Option<AbCosts>,
    /// Significance level of the verdict (0.001..=0.5, default 0.05).
    pub alpha: Option<f64>,
    /// Bootstrap resamples (100..=20000, default 2000).
    pub resamples: Option<usize>,
    /// Block length in bars (default `ceil(n^(1/3))` of the paired bars).
    pub block_length: Option<usize>,
    /// Seed of the resampling (0..=2^53, default 42).
    pub seed: Option<u64>,
}

/// An A/B test as its creator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbTestView {
    /// Id (its job's).
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The control version.
    pub version_a: i32,
    /// The version compared with it.
    pub version_b: i32,
    /// The datasets.
    pub dataset_ids: Vec<Uuid>,
    /// Its job's status.
    pub status: JobStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the worker is doing, or why it stopped.
    pub message: Option<String>,
    /// Problem details, once failed.
    pub error: Option<crate::error::Problem>,
    /// The conclusion, once succeeded.
    pub verdict: Option<Verdict>,
    /// The result, once succeeded (only when one A/B test is asked for).
    pub result: Option<AbTestResult>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// `{ab_test}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbTestEnvelope {
    /// The A/B test.
    pub ab_test: AbTestView,
}

/// `{ab_tests, next_cursor}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbTestList {
    /// The tool's A/B tests, newest first (without their results).
    pub ab_tests: Vec<AbTestView>,
    /// Cursor of the next page (`null` on the last).
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/tools/{id}/ab-tests`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AbTestPage {
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Query of `GET /v1/tools/{id}/ab-tests/renters`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RenterQuery {
    /// The control version (default: the one before `version_b`, or `version_b` itself).
    pub version_a: Option<i32>,
    /// The version compared with it (default: the current one).
    pub version_b: Option<i32>,
}

/// The view of an `ab_test` job, `None` when the job is not one of `tool`'s A/B tests.
pub(crate) fn ab_test_view(job: &Job, tool: Uuid, with_result: bool) -> Option<AbTestView> {
    let Ok(JobPayload::AbTest(input)) = JobPayload::from_stored(job.kind, &job.payload) else {
        return None;
    };
    if input.tool_id != tool {
        return None;
    }
    let stored = job
        .result
        .as_ref()
        .filter(|_| job.status == JobStatus::Succeeded);
    // A list reads only the verdict, not the whole result (per-period returns and curve).
    let result: Option<AbTestResult> = stored
        .filter(|_| with_result)
        .and_then(|r| AbTestResult::deserialize(r).ok());
    let verdict = match &result {
        Some(r) => Some(r.verdict),
        None => stored.and_then(|r| Verdict::deserialize(&r["verdict"]).ok()),
    };
    let view = JobView::from(job);
    Some(AbTestView {
        id: job.id,
        tool_id: input.tool_id,
        version_a: input.version_a,
        version_b: input.version_b,
        dataset_ids: input.dataset_ids,
        status: job.status,
        progress: job.progress,
        message: job.message.clone(),
        error: view.error,
        verdict,
        result,
        created_at: job.created_at,
        finished_at: job.finished_at,
    })
}

/// The tool `caller` created: 404 when it is not listed, 403 for anyone but its creator.
pub(crate) async fn creators_tool(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Tool> {
    crate::routes::tools::creators_tool(state, caller, id, "A/B test its versions").await
}

fn check_version(tool: &Tool, field: &str, version: i32, errors: &mut Vec<FieldError>) {
    if !(1..=tool.current_version).contains(&version) {
        errors.push(FieldError::new(
            field,
            format!(
                "must be a version of the tool, 1 to {}",
                tool.current_version
            ),
        ));
    }
}

/// Starts an A/B test of two versions of a tool on the caller's datasets (the tool's creator
/// only). Answers 202 with the A/B test; its result comes with `GET .../ab-tests/{test_id}`.
#[utoipa::path(post, path = "/v1/tools/{id}/ab-tests", tag = "ab-tests", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")), request_body = CreateAbTest,
    responses((status = 202, body = AbTestEnvelope), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
pub(crate) async fn create_ab_test(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateAbTest>,
) -> ApiResult<(StatusCode, Json<AbTestEnvelope>)> {
    let tool = creators_tool(&state, &caller, id).await?;
    let mut errors = Vec::new();
    check_version(&tool, "version_a", body.version_a, &mut errors);
    check_version(&tool, "version_b", body.version_b, &mut errors);
    if body.dataset_ids.is_empty() || body.dataset_ids.len() > MAX_DATASETS {
        errors.push(FieldError::new(
            "dataset_ids",
            format!("must hold 1 to {MAX_DATASETS} datasets"),
        ));
    }
    let defaults = EvalConfig::default();
    let costs = body.costs.unwrap_or_default();
    let config = EvalConfig {
        commission: costs.commission.unwrap_or(defaults.commission),
        slippage: costs.slippage.unwrap_or(defaults.slippage),
        folds: body.folds.unwrap_or(defaults.folds),
        ..defaults
    };
    if let Err(e) = config.validate() {
        let field = match e.field.as_str() {
            "commission" | "slippage" => format!("costs.{}", e.field),
            other => other.to_owned(),
        };
        errors.push(FieldError::new(field, e.message));
    }
    let test = AbTestSettings {
        alpha: body.alpha.unwrap_or(0.05),
        resamples: body.resamples.unwrap_or(2_000),
        block_length: body.block_length,
        seed: body.seed.unwrap_or(42),
    };
    if let Err(e) = test.validate() {
        errors.push(FieldError::new(e.field, e.message));
    }
    // A spec out of range fails on any length; only then is a dataset too short for it.
    let folds_valid = match config.folds.split(1_000_000_000) {
        Ok(_) => true,
        Err(e) => {
            errors.push(FieldError::new("folds", e.message));
            false
        }
    };
    for (i, dataset_id) in body.dataset_ids.iter().enumerate().take(MAX_DATASETS) {
        let field = format!("dataset_ids[{i}]");
        if body.dataset_ids[..i].contains(dataset_id) {
            errors.push(FieldError::new(field, "is listed twice"));
            continue;
        }
        match state.store.dataset(caller.id, *dataset_id).await? {
            None => errors.push(FieldError::new(field, "no such dataset of yours")),
            Some(d) => {
                let rows = usize::try_from(d.rows).unwrap_or(usize::MAX);
                if let (true, Err(e)) = (folds_valid, config.folds.split(rows)) {
                    errors.push(FieldError::new(field, e.message));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let payload = AbTestJob {
        tool_id: tool.id,
        version_a: body.version_a,
        version_b: body.version_b,
        dataset_ids: body.dataset_ids,
        config: serde_json::to_value(config).map_err(anyhow::Error::from)?,
        test,
    };
    let job = enqueue(&state, caller.id, payload, 0).await?;
    let ab_test = ab_test_view(&job, tool.id, false).ok_or_else(|| {
        ApiError::Unexpected(anyhow::anyhow!("the queued job is not the A/B test"))
    })?;
    Ok((StatusCode::ACCEPTED, Json(AbTestEnvelope { ab_test })))
}

/// The tool's A/B tests, newest first, a page at a time (its creator only; without their
/// results).
#[utoipa::path(get, path = "/v1/tools/{id}/ab-tests", tag = "ab-tests", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), AbTestPage),
    responses((status = 200, body = AbTestList), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn list_ab_tests(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<AbTestPage>,
) -> ApiResult<Json<AbTestList>> {
    let tool = creators_tool(&state, &caller, id).await?;
    Ok(Json(tool_ab_tests(&state, &caller, tool.id, &page).await?))
}

/// A page of `caller`'s A/B tests of `tool`, newest first, without results.
pub(crate) async fn tool_ab_tests(
    state: &AppState,
    caller: &Account,
    tool: Uuid,
    page: &AbTestPage,
) -> ApiResult<AbTestList> {
    let limit = page_limit(page.limit)?;
    let before = decode_cursor(page.cursor.as_deref())?;
    let filter = JobFilter {
        status: None,
        kind: Some(JobKind::AbTest),
        tool_id: Some(tool),
    };
    let jobs = state
        .store
        .list_jobs(caller.id, &filter, before, i64::from(limit) + 1)
        .await?;
    let (jobs, next_cursor) = paginate(jobs, limit, |j| j.id);
    Ok(AbTestList {
        ab_tests: jobs
            .iter()
            .filter_map(|j| ab_test_view(j, tool, false))
            .collect(),
        next_cursor,
    })
}

/// One A/B test with its result once it succeeded (the tool's creator only).
#[utoipa::path(get, path = "/v1/tools/{id}/ab-tests/{test_id}", tag = "ab-tests", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ("test_id" = Uuid, Path, description = "A/B test id")),
    responses((status = 200, body = AbTestEnvelope), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn get_ab_test(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, test_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<AbTestEnvelope>> {
    let tool = creators_tool(&state, &caller, id).await?;
    let ab_test = find_ab_test(&state, &caller, tool.id, test_id).await?;
    Ok(Json(AbTestEnvelope { ab_test }))
}

/// One of `caller`'s A/B tests of `tool`, with its result.
pub(crate) async fn find_ab_test(
    state: &AppState,
    caller: &Account,
    tool: Uuid,
    test_id: Uuid,
) -> ApiResult<AbTestView> {
    state
        .store
        .job(test_id)
        .await?
        .filter(|j| j.owner_id == caller.id && j.kind == JobKind::AbTest)
        .and_then(|j| ab_test_view(&j, tool, true))
        .ok_or(ApiError::NotFound("A/B test"))
}

/// Compares two versions across renters' sessions (the tool's creator only): per version, the
/// distinct renters whose sessions started from it, their optimization records, and the mean
/// and median of its out-of-sample Sharpe ratio, total return and success rate on their data
/// (each renter counted once) and of the optimizations' improvement. Aggregates only, and only
/// when each version has at least 5 distinct renters; below that, how many are still needed.
/// Without versions: the current one against the one before it.
#[utoipa::path(get, path = "/v1/tools/{id}/ab-tests/renters", tag = "ab-tests", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), RenterQuery),
    responses((status = 200, body = RenterComparison), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn compare_ab_renters(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<RenterQuery>,
) -> ApiResult<Json<RenterComparison>> {
    let tool = creators_tool(&state, &caller, id).await?;
    let version_b = q.version_b.unwrap_or(tool.current_version);
    let version_a = q.version_a.unwrap_or((version_b - 1).max(1));
    let mut errors = Vec::new();
    check_version(&tool, "version_a", version_a, &mut errors);
    check_version(&tool, "version_b", version_b, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let records = state
        .store
        .renter_records(tool.id, tool.creator_id, version_a, version_b)
        .await?;
    Ok(Json(compare_renters(&records, version_a, version_b)))
}
