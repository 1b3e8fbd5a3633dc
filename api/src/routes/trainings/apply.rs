//! Applying a finished run as a new tool version.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use shared::domain::TrainingMethod;
use shared::store::{StoreError, TrainingApplication};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{owned_run, view};
use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::routes::tools::owned_tool;
use crate::state::AppState;
use crate::views::{ToolView, TrainingView, VersionView};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(apply_training))
}

/// `{tool, version, training}` after apply.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedTraining {
    /// The tool, now at the new version.
    pub tool: ToolView,
    /// The new version (parameters and artifact).
    pub version: VersionView,
    /// The run, now applied.
    pub training: TrainingView,
}

/// Applies a finished run as a new tool version (creator only): its parameters and its learned
/// artifact (the optimization engine keeps the base version's artifact). A hybrid run applies
/// its winning part. 409 while it runs, when it failed, or when it was applied already.
#[utoipa::path(post, path = "/v1/trainings/{id}/apply", tag = "training", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "training id")),
    responses((status = 201, body = AppliedTraining), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub(crate) async fn apply_training(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<AppliedTraining>)> {
    let run = state
        .store
        .training(id)
        .await?
        .ok_or(ApiError::NotFound("training"))?;
    // Someone else's run is not found (a 403 would say it exists).
    if run.creator_id != caller.id {
        return Err(ApiError::NotFound("training"));
    }
    owned_tool(&state, &caller, run.tool_id).await?;
    let shown = view(&state, &run).await?;
    let (applied, parent) = if run.method == TrainingMethod::Hybrid {
        let winner = shown
            .judgment
            .as_ref()
            .and_then(|j| j.winner_training_id)
            .ok_or_else(|| {
                ApiError::Conflict(
                    "the hybrid run has no winner yet (or none of its parts succeeded)".into(),
                )
            })?;
        let part = owned_run(&state, &caller, winner).await?;
        (part, Some(run.id))
    } else {
        (run.clone(), None)
    };
    let result = applied.result.clone().ok_or_else(|| {
        ApiError::Conflict(format!(
            "the training run is {}; only a finished run can be applied",
            shown.status.as_str()
        ))
    })?;
    let artifact_id = match applied.artifact_id {
        Some(a) => Some(a),
        None => state
            .store
            .tool_versions(applied.tool_id)
            .await?
            .into_iter()
            .find(|v| v.version == applied.base_version)
            .and_then(|v| v.artifact_id),
    };
    let lineage = json!({
        "training_id": applied.id,
        "hybrid_training_id": parent,
        "method": applied.method,
        "base_version": applied.base_version,
        "dataset_hash": result.dataset_hash,
        "seed": result.seed,
        "validation_score": result.validation.score,
        "artifact": result.artifact,
    });
    let application = TrainingApplication {
        training_id: applied.id,
        tool_id: applied.tool_id,
        parameters: result.parameters.clone(),
        artifact_id,
        lineage,
        parent_id: parent,
    };
    let tool = state
        .store
        .apply_training(&application, state.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound("tool"),
            e => e.into(),
        })?;
    let versions = state.store.tool_versions(tool.id).await?;
    let version = versions
        .iter()
        .find(|v| v.version == tool.current_version)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("applied version missing")))?;
    tracing::info!(training_id = %applied.id, tool_id = %tool.id, version = tool.current_version, "training applied");
    let run = owned_run(&state, &caller, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(AppliedTraining {
            tool: ToolView::from(&tool),
            version: VersionView::for_viewer(version, true),
            training: view(&state, &run).await?,
        }),
    ))
}
