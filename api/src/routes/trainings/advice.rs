//! Which method and config a creator should try next.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::domain::advice::{Recommendation, RecommendationInput, recommend};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::tools::owned_tool;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(training_recommendations))
}

/// `{recommendations}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationList {
    /// Best first, each with its reason.
    pub recommendations: Vec<Recommendation>,
    /// What they were derived from.
    #[schema(value_type = Object)]
    pub basis: Value,
}

/// Query of the recommendations.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationQuery {
    /// The dataset to train on (its size shapes the advice; without it the advice says so).
    pub dataset_id: Option<Uuid>,
}

/// Which method and config to try next (creator only), from the dataset's size, the size of the
/// family's parameter space and the tool's earlier runs, each with its reason.
#[utoipa::path(get, path = "/v1/tools/{id}/training-recommendations", tag = "training",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "tool id"), RecommendationQuery),
    responses((status = 200, body = RecommendationList), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn training_recommendations(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<RecommendationQuery>,
) -> ApiResult<Json<RecommendationList>> {
    let tool = owned_tool(&state, &caller, id).await?;
    let rows = match q.dataset_id {
        Some(d) => Some(
            state
                .store
                .dataset(caller.id, d)
                .await?
                .ok_or_else(|| ApiError::invalid("dataset_id", "no such dataset of yours"))?
                .rows,
        ),
        None => None,
    };
    let history = state.store.tool_trainings(tool.id, None, 50).await?;
    let family = shared::families::get(&tool.family)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("unknown family {}", tool.family)))?;
    let input = RecommendationInput {
        family,
        dataset_rows: rows.map(|r| usize::try_from(r).unwrap_or(usize::MAX)),
        has_artifact: tool.artifact_id.is_some(),
        history: &history,
        max_trials: state.settings.sessions.creator_max_trials,
    };
    let (recommendations, basis) = recommend(&input);
    Ok(Json(RecommendationList {
        recommendations,
        basis,
    }))
}
