//! Analytics: marketplace-wide (admin), per creator (the caller) and per tool (its creator).
//! Every figure is an SQL aggregate over the ledger and the store.

use axum::Json;
use axum::extract::State;
use shared::domain::stats::{CreatorStats, MarketplaceStats, ToolAnalytics};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, AdminCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(marketplace_stats))
        .routes(routes!(creator_stats))
        .routes(routes!(tool_analytics))
}

/// Tools, creators, live subscriptions by tier, MRR, revenue by month and churn (admin).
#[utoipa::path(get, path = "/v1/stats/marketplace", tag = "stats", security(("admin" = [])),
    responses((status = 200, body = MarketplaceStats), (status = 403, body = crate::error::Problem)))]
pub(crate) async fn marketplace_stats(
    _admin: AdminCaller,
    State(state): State<AppState>,
) -> ApiResult<Json<MarketplaceStats>> {
    Ok(Json(state.store.marketplace_stats(state.now()).await?))
}

/// The caller's earnings by tool and month, subscribers, churn and top tools.
#[utoipa::path(get, path = "/v1/creators/me/stats", tag = "stats", security(("bearer" = [])),
    responses((status = 200, body = CreatorStats)))]
pub(crate) async fn creator_stats(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
) -> ApiResult<Json<CreatorStats>> {
    Ok(Json(
        state.store.creator_stats(caller.id, state.now()).await?,
    ))
}

/// Subscribers over time, earnings and versions of one of the caller's tools.
#[utoipa::path(get, path = "/v1/tools/{id}/analytics", tag = "stats", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 200, body = ToolAnalytics), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn tool_analytics(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ToolAnalytics>> {
    let tool = state
        .store
        .tool(id)
        .await?
        .ok_or(ApiError::NotFound("tool"))?;
    // Analytics are the creator's: anyone else finds none.
    if tool.creator_id != caller.id {
        return Err(ApiError::NotFound("tool"));
    }
    Ok(Json(state.store.tool_analytics(&tool).await?))
}
